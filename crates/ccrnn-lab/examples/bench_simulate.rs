//! Time of `simulate` on a saved model and inputs, repeated in one process (the Rust side of
//! `bench/python_overhead.py`).
//!
//!     cargo run --release -p ccrnn-lab --example bench_simulate -- MODEL.npz INPUTS.npz [REPS]
//!
//! Prints one JSON line: the median and minimum seconds of a call.

use ccrnn_core::{SimOptions, simulate};
use std::path::Path;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (model, inputs) = match args.as_slice() {
        [m, i, ..] => (Path::new(m), Path::new(i)),
        _ => {
            eprintln!("usage: bench_simulate MODEL.npz INPUTS.npz [REPS]");
            std::process::exit(2);
        }
    };
    let reps: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(15);
    let m = ccrnn_io::load_model(model).expect("model").model;
    let stim = ccrnn_io::load_stimulus(inputs, ccrnn_io::Layout::TrialsMajor, m.n(), m.n_in()).expect("inputs");
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let t0 = Instant::now();
            let traj = simulate(&m, &stim, &SimOptions::noiseless()).expect("simulate");
            let s = t0.elapsed().as_secs_f64();
            std::hint::black_box(traj);
            s
        })
        .collect();
    times.sort_by(f64::total_cmp);
    println!(
        "{{\"median_seconds\": {}, \"min_seconds\": {}, \"reps\": {reps}}}",
        times[reps / 2],
        times[0]
    );
}
