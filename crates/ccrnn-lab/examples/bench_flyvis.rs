//! Scale on the fly visual system (flyvis wiring, expanded onto its column lattice).
//!
//!     cargo run --release -p ccrnn-lab --example bench_flyvis -- simulate [--extent 89] [--trials 1] [--steps 20]
//!     cargo run --release -p ccrnn-lab --example bench_flyvis -- student [--extent 15] [--trials 4] \
//!         [--steps 400] [--m 1000] [--memory-mb 4096] [--reps 3]
//!
//! `simulate`: time per simulation step of the whole lattice (CSR coupling, f32).
//! `student`: a student (g and b free) fitted to `--m` recorded neurons: time per training step
//! (forward, backpropagation, Adam update; checkpointed when the trajectory exceeds
//! `--memory-mb`); its peak memory is that of the training steps (the process's high-water
//! mark is reset after the teacher's recording is made). The network's weights are the synapse counts times one scale that keeps
//! the dynamics contracting (0.5 / the largest summed input of a neuron); inputs drive the
//! photoreceptors R1–R8. Prints one JSON line with the times and the process's peak resident
//! memory (VmHWM).

use ccrnn_core::{Backend, GroupSet, Model, NeuronParams, ParamGroup, SimOptions, Stimulus, simulate};
use ccrnn_fit::student::random_recorded;
use ccrnn_fit::{Adam, Data, FitProblem, IterState, Solver};
use ccrnn_io::connectome::{Lattice, LoadOptions, Source, load_connectome};
use ndarray::{Array1, Array2, Array3, Axis};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::time::Instant;

fn peak_rss_mb() -> f64 {
    let s = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    s.lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "simulate".into());
    let student = mode == "student";
    let (mut extent, mut trials, mut steps, mut m, mut memory_mb, mut reps) = (
        if student { 15 } else { 89 },
        if student { 4 } else { 1 },
        if student { 400 } else { 20 },
        1000,
        4096.0,
        3,
    );
    while let Some(f) = args.next() {
        let v = args.next().unwrap_or_else(|| panic!("{f} needs a value"));
        match f.as_str() {
            "--extent" => extent = v.parse().expect("integer"),
            "--trials" => trials = v.parse().expect("integer"),
            "--steps" => steps = v.parse().expect("integer"),
            "--m" => m = v.parse().expect("integer"),
            "--memory-mb" => memory_mb = v.parse().expect("number"),
            "--reps" => reps = v.parse().expect("integer"),
            _ => panic!("unknown flag {f}"),
        }
    }
    let t0 = Instant::now();
    let opts = LoadOptions {
        lattice: Lattice {
            extent,
            ..Lattice::default()
        },
        ..LoadOptions::default()
    };
    let (con, _) = load_connectome(&Source::Builtin("flyvis".into()), &opts).expect("flyvis");
    let load_s = t0.elapsed().as_secs_f64();
    let n = con.n();
    let mut row_sum = vec![0.0f64; n];
    for (i, r) in con.pattern.rows().into_iter().enumerate() {
        row_sum[r as usize] += con.counts[i];
    }
    let scale = 0.5 / row_sum.iter().fold(0.0f64, |a, &b| a.max(b));
    let conn = con.connectivity::<f32>(scale).expect("connectivity");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut p = NeuronParams::<f32>::default_for(n);
    p.g = Array1::from_shape_fn(n, |_| rng.random_range(0.6f32..1.4));
    p.b = Array1::from_shape_fn(n, |_| rng.random_range(-0.1f32..0.1));
    let inputs: Vec<usize> = (0..n).filter(|&i| con.labels[i].starts_with('R')).collect();
    let mut w_in = Array2::<f32>::zeros((2, n));
    for &i in &inputs {
        w_in[(rng.random_range(0..2), i)] = 20.0;
    }
    let model = Model::builder(conn)
        .backend(Backend::Csr)
        .params(p)
        .w_in(w_in)
        .dt(0.05)
        .build()
        .expect("model");
    let mut u = Array3::<f32>::zeros((trials, steps, 2));
    for k in 0..trials {
        for t in steps / 10..steps / 10 + 5 {
            u[(k, t, k % 2)] = 1.0;
        }
    }
    let stim = Stimulus::new(u);
    let built_s = t0.elapsed().as_secs_f64() - load_s;
    let threads = rayon::current_num_threads();
    if !student {
        let t1 = Instant::now();
        let traj = simulate(&model, &stim, &SimOptions::noiseless()).expect("simulate");
        let s = t1.elapsed().as_secs_f64();
        let a_max = traj.a.iter().fold(0.0f32, |a, &b| a.max(b.abs()));
        println!(
            "{{\"mode\": \"simulate\", \"extent\": {extent}, \"neurons\": {n}, \"synapses_pairs\": {}, \"trials\": {trials}, \"steps\": {steps}, \"threads\": {threads}, \"load_s\": {load_s:.2}, \"build_s\": {built_s:.2}, \"step_s\": {:.5}, \"max_activity\": {a_max:.4}, \"peak_mb\": {:.0}}}",
            con.edges(),
            s / (steps - 1) as f64,
            peak_rss_mb()
        );
        return;
    }
    let teacher_traj = simulate(&model, &stim, &SimOptions::noisy(0.002, 2)).expect("teacher");
    let rec = random_recorded(n, m, 3).expect("recorded");
    let data = teacher_traj.a.select(Axis(2), rec.indices());
    drop(teacher_traj);
    let mut init = model.clone();
    init.params.g.mapv_inplace(|g| 0.5 * g);
    let groups = GroupSet::of(&[ParamGroup::Gain, ParamGroup::Bias]);
    let mut problem = FitProblem::new(
        init.clone(),
        groups,
        stim,
        Data::Activity { recorded: rec, data },
        trials,
        0.002,
        4,
    )
    .expect("problem");
    problem.memory_budget = (memory_mb * 1048576.0) as usize;
    let every = problem.checkpoint_every();
    // peak memory of the training steps alone (not of building the teacher's recording):
    // writing 5 to clear_refs resets VmHWM to the current resident size
    let setup_peak = peak_rss_mb();
    let _ = std::fs::write("/proc/self/clear_refs", "5");
    let adam = Adam::new(1e-3, Some(2.0));
    let mut state = IterState::new(init.theta(groups));
    let mut ts = Vec::new();
    for _ in 0..reps {
        let t1 = Instant::now();
        state = adam.next_iter(&mut problem, state).expect("step").into_state();
        ts.push(t1.elapsed().as_secs_f64());
    }
    println!(
        "{{\"mode\": \"student\", \"extent\": {extent}, \"neurons\": {n}, \"recorded\": {m}, \"trials\": {trials}, \"steps\": {steps}, \"threads\": {threads}, \"checkpoint_every\": {}, \"train_step_s\": {:.3}, \"loss\": {:.4e}, \"setup_peak_mb\": {setup_peak:.0}, \"peak_mb\": {:.0}}}",
        every.map_or("null".to_string(), |k| k.to_string()),
        median(ts),
        state.cost,
        peak_rss_mb()
    );
}
