//! The linear example of SCIENCE.md §7 (the paper's Figure 8a): N = 300, J = 1.4 ξ/√N truncated
//! to 60 random singular components, M = (I − J)⁻¹ J; predicted remaining error of the best,
//! random (mean of 20) and worst greedy orders.
//!
//!     cargo run --release -p ccrnn-lab --example linear_theory

use ccrnn_analysis::{Strategy, greedy_order, linear_response, low_rank_random, numerical_rank};
use ndarray::{Array2, Axis};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t0 = std::time::Instant::now();
    let j = low_rank_random(300, 1.4, 60, 31)?;
    let m = linear_response(j.view())?;
    let rank = numerical_rank(m.view(), 1e-9)?;
    let h = m.t().dot(&m);
    let blocks: Vec<Array2<f64>> = m
        .axis_iter(Axis(0))
        .map(|r| r.to_owned().insert_axis(Axis(0)))
        .collect();
    let best = greedy_order(&blocks, h.view(), Strategy::Best, &[])?;
    let worst = greedy_order(&blocks, h.view(), Strategy::Worst, &[])?;
    let randoms: Vec<_> = (0..20)
        .map(|s| greedy_order(&blocks, h.view(), Strategy::Random(s), &[]))
        .collect::<Result<_, _>>()?;
    println!("N = 300, rank M = {rank}; predicted remaining error (fraction of ‖M‖_F²)");
    println!("{:>5} {:>10} {:>14} {:>10}", "M", "best", "random(20)", "worst");
    for k in [1, 2, 5, 10, 20, 40, 55, rank - 1, rank, rank + 1] {
        let r = randoms.iter().map(|o| o.remaining[k - 1]).sum::<f64>() / randoms.len() as f64;
        println!(
            "{k:>5} {:>10.2e} {:>14.2e} {:>10.2e}",
            best.remaining[k - 1],
            r,
            worst.remaining[k - 1]
        );
    }
    eprintln!("{:.2} s", t0.elapsed().as_secs_f64());
    Ok(())
}
