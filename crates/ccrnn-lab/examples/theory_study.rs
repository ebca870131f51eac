//! The paper's Figures 7–8 on the N = 300 E/I teacher (issue 6's closing-note experiments):
//!
//! (a) the Gauss–Newton spectrum of the teacher (g, b; all neurons) and, for students fitted to
//!     M = 4, 16, 64 random neurons, the fraction of the initial parameter error removed along
//!     the top 10 % and the bottom 50 % of the eigenvectors of their own H (recorded rows);
//! (b) students fitted on the neurons chosen by the best, random and worst greedy orders
//!     (sensitivities of the teacher), M ∈ {2, 4, 8, 16, 32}, several seeds: unrecorded error.
//!
//!     cargo run --release -p ccrnn-lab --example theory_study -- [--teacher runs/demo/teacher.npz]
//!         [--seeds 3] [--method gauss-newton] [--steps S] [--out theory.json]
//!
//! Without `--teacher`, the demo's teacher is rebuilt (seed 0, 700 training steps). Students
//! are fitted by Gauss–Newton until converged (at most 50 iterations, or `--steps`);
//! `--method adam` is the paper's recipe (7000 steps, lr 1e-3).

use ccrnn_analysis::{GnOptions, Spectrum, Strategy, gauss_newton, greedy_order, neuron_blocks};
use ccrnn_core::{GroupSet, Model, ParamGroup, Seeds};
use ccrnn_fit::FitConfig;
use ccrnn_fit::student::{random_recorded, student_init};
use ccrnn_lab::{EiSpec, SineTask, Study, run_study_on};
use ndarray::Array1;
use std::time::Instant;

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn theta(m: &Model<f32>) -> Array1<f64> {
    Array1::from_iter(m.theta(gb()).into_iter().map(f64::from))
}

fn gb() -> GroupSet {
    GroupSet::of(&[ParamGroup::Gain, ParamGroup::Bias])
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let t_all = Instant::now();
    let seeds: u64 = arg("--seeds", 3);
    let method_name: String = arg("--method", "gauss-newton".to_string());
    let method = ccrnn_fit::MethodKind::from_name(&method_name)
        .ok_or_else(|| format!("--method {method_name}: expected adam, lbfgs or gauss-newton"))?;
    let base = FitConfig::for_method(method);
    let steps: u64 = arg("--steps", base.steps);
    let out: String = arg("--out", "theory.json".to_string());
    let task = SineTask::default();
    let teacher: Model<f32> = match std::env::args().skip_while(|a| a != "--teacher").nth(1) {
        Some(p) => ccrnn_io::load_model(std::path::Path::new(&p))?.model,
        None => {
            let (raw, _) = EiSpec::default().generate(0)?;
            let (s, y) = task.generate::<f32>(100)?;
            let cfg = FitConfig {
                steps: 700,
                ..EiSpec::training_config(0)
            };
            EiSpec::train(raw.cast::<f32>(), s, y, &cfg, None)?.model
        }
    };
    let n = teacher.n();
    let (train, _) = task.generate::<f32>(200)?;
    let (heldout, _) = task.generate::<f32>(300)?;
    let t64 = teacher.cast::<f64>();
    let sens_stim = task.generate::<f64>(200)?.0.select(&(0..8).collect::<Vec<_>>());
    let gn = GnOptions::default(); // g and b, every 10th step

    // (a) spectrum of the teacher and stiff/sloppy error removal.
    let t0 = Instant::now();
    let h_all = gauss_newton(&t64, &sens_stim, &gn)?;
    let spec = Spectrum::of(&h_all)?;
    eprintln!(
        "Gauss–Newton (P = {}, 8 trials, every 10th step): {:.1} s",
        h_all.nrows(),
        t0.elapsed().as_secs_f64()
    );
    println!(
        "(a) teacher H over all neurons: λ_max {:.3e}, spans {:.1} decades; {} / {} / {} eigenvalues hold 90 / 99 / 99.9 % of the trace",
        spec.values[0],
        spec.decades(),
        spec.n_stiff(0.9),
        spec.n_stiff(0.99),
        spec.n_stiff(0.999)
    );
    let fit = FitConfig { steps, ..base };
    eprintln!("students: {}", fit.describe());
    let study = Study {
        fit: fit.clone(),
        ..Study::default()
    };
    let init = student_init(&teacher, study.gain_factor, Seeds(study.seed).student_init());
    let e0 = theta(&init) - theta(&teacher);
    let p = e0.len();
    let sets: Vec<Vec<usize>> = [4, 16, 64]
        .iter()
        .map(|&m| random_recorded(n, m, Seeds(study.seed).recorded_set()).map(|s| s.indices().to_vec()))
        .collect::<Result<_, _>>()?;
    let res = run_study_on(&teacher, &train, &heldout, &study, &sets, &mut |_, _| {})?;
    let mut part_a = Vec::new();
    println!("     M   top 10 % removed   bottom 50 % removed   all removed   unrecorded MSE");
    for (set, row) in sets.iter().zip(&res.rows) {
        let h = gauss_newton(
            &t64,
            &sens_stim,
            &GnOptions {
                rows: Some(set.clone()),
                ..gn.clone()
            },
        )?;
        let sp = Spectrum::of(&h)?;
        let e1 = theta(&row.model) - theta(&teacher);
        let top = sp.removed_fraction(e0.view(), e1.view(), 0..p / 10);
        let bottom = sp.removed_fraction(e0.view(), e1.view(), p / 2..p);
        let all = sp.removed_fraction(e0.view(), e1.view(), 0..p);
        println!(
            "{:>6} {:>18.3} {:>21.3} {:>13.3} {:>16.3}",
            set.len(),
            top,
            bottom,
            all,
            row.heldout.unrecorded_mse
        );
        part_a.push(serde_json::json!({"m": set.len(), "decades": sp.decades(), "top10_removed": top, "bottom50_removed": bottom, "all_removed": all, "unrecorded_mse": row.heldout.unrecorded_mse}));
    }

    // (b) recording orders from the teacher's sensitivities.
    let t0 = Instant::now();
    let blocks = neuron_blocks(&t64, &sens_stim, &gn, 4)?;
    let mut h_blocks = ndarray::Array2::<f64>::zeros((p, p));
    for b in &blocks {
        h_blocks += &b.t().dot(b);
    }
    let best = greedy_order(&blocks, h_blocks.view(), Strategy::Best, &[])?;
    let worst = greedy_order(&blocks, h_blocks.view(), Strategy::Worst, &[])?;
    eprintln!("blocks and greedy orders: {:.1} s", t0.elapsed().as_secs_f64());
    let ms = [2usize, 4, 8, 16, 32];
    let mut part_b = Vec::new();
    println!(
        "\n(b) unrecorded MSE (held-out trials) by recording order; {}",
        fit.describe()
    );
    println!(
        "  seed  order      predicted@M={:?}    unrecorded MSE @ M = {:?}",
        ms, ms
    );
    for seed in 0..seeds {
        let random = greedy_order(&blocks, h_blocks.view(), Strategy::Random(1000 + seed), &[])?;
        for (name, order) in [("best", &best), ("random", &random), ("worst", &worst)] {
            let sets: Vec<Vec<usize>> = ms.iter().map(|&m| order.order[..m].to_vec()).collect();
            let st = Study {
                seed,
                fit: FitConfig { seed, ..fit.clone() },
                ..Study::default()
            };
            let r = run_study_on(&teacher, &train, &heldout, &st, &sets, &mut |_, _| {})?;
            let unrec: Vec<f64> = r.rows.iter().map(|x| x.heldout.unrecorded_mse).collect();
            let pred: Vec<f64> = ms.iter().map(|&m| order.remaining[m - 1]).collect();
            println!(
                "  {seed:>4}  {name:<7} {}   {}",
                pred.iter().map(|x| format!("{x:.3}")).collect::<Vec<_>>().join(" "),
                unrec.iter().map(|x| format!("{x:8.3}")).collect::<Vec<_>>().join(" ")
            );
            part_b.push(serde_json::json!({"seed": seed, "order": name, "ms": ms, "predicted_remaining": pred, "unrecorded_mse": unrec, "neurons": order.order[..32]}));
        }
    }
    let doc = serde_json::json!({
        "eigenvalues": spec.values.to_vec(), "decades": spec.decades(),
        "stiff_sloppy": part_a, "orders": part_b, "seconds": t_all.elapsed().as_secs_f64(),
    });
    std::fs::write(&out, serde_json::to_string_pretty(&doc)?)?;
    eprintln!("wrote {out}; total {:.0} s", t_all.elapsed().as_secs_f64());
    Ok(())
}
