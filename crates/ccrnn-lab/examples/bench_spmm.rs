//! Time of one sparse product `W · X` (CSR coupling, f32) against its arithmetic: N neurons,
//! `--per-row` synapses onto each from presynaptic neurons drawn from the first `--span`
//! neurons, `--rows` rows of activity (trials).
//!
//!     cargo run --release -p ccrnn-lab --example bench_spmm -- [--n 3000] [--per-row 150] \
//!         [--span 3000] [--rows 8] [--reps 200]
//!
//! Prints one JSON line: median seconds per product, nanoseconds per synapse and per row.

use ccrnn_core::{Backend, Connectivity, Pattern};
use ndarray::Array2;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn main() {
    let (mut n, mut per_row, mut span, mut rows, mut reps) = (3000usize, 150usize, 3000usize, 8usize, 200usize);
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let v: usize = it
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{f} needs an integer"));
        match f.as_str() {
            "--n" => n = v,
            "--per-row" => per_row = v,
            "--span" => span = v,
            "--rows" => rows = v,
            "--reps" => reps = v,
            _ => panic!("unknown flag {f}"),
        }
    }
    let span = span.min(n);
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let (mut row_ptr, mut col) = (vec![0usize], Vec::new());
    for _ in 0..n {
        let mut js: Vec<u32> = (0..per_row.min(span))
            .map(|_| rng.random_range(0..span as u32))
            .collect();
        js.sort_unstable();
        js.dedup();
        col.extend(js);
        row_ptr.push(col.len());
    }
    let pattern = Pattern::new(n, row_ptr, col).expect("pattern");
    let nnz = pattern.nnz();
    let values: Vec<f32> = (0..nnz).map(|_| rng.random_range(0.0..0.01)).collect();
    let conn = Connectivity {
        pattern,
        values,
        signs: vec![0; n],
    };
    let c = conn.build(Backend::Csr);
    let x = Array2::from_shape_fn((rows, n), |_| rng.random_range(0.0f32..1.0));
    let mut out = Array2::<f32>::zeros((rows, n));
    let mut t = Vec::with_capacity(reps);
    for _ in 0..reps {
        let t0 = Instant::now();
        c.forward(x.view(), out.view_mut());
        t.push(t0.elapsed().as_secs_f64());
        std::hint::black_box(&out);
    }
    t.sort_by(f64::total_cmp);
    let med = t[t.len() / 2];
    println!(
        "{{\"n\": {n}, \"nnz\": {nnz}, \"span\": {span}, \"rows\": {rows}, \"threads\": {}, \"product_s\": {med:.3e}, \"ns_per_synapse\": {:.3}, \"gflops\": {:.2}}}",
        rayon::current_num_threads(),
        med * 1e9 / nnz as f64,
        2.0 * nnz as f64 * rows as f64 / med / 1e9
    );
}
