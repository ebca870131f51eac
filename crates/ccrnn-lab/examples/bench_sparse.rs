//! Time of one training step (forward, backpropagation and Adam on g and b) of a sparse
//! network: N = 3000 E/I neurons, connection probability 0.05, 16 trials of 400 steps, M = 30
//! recorded neurons, f32, σ = 0.002, compressed-sparse-row coupling.
//!
//!     cargo run --release -p ccrnn-lab --example bench_sparse -- \
//!         [--n 3000] [--p 0.05] [--trials 16] [--reps 10] [--backend csr|dense] [--out DIR]
//!
//! `--out DIR` writes `DIR/sparse.npz` (W as CSR arrays, W_in, inputs, recorded neurons and
//! their activity) for `bench/torch_sparse.py`, which times PyTorch on the same network.
//! Prints one JSON line: median and fastest seconds per step, median per phase, and the step's
//! arithmetic in sparse products (`product_gflop`: 2 × nnz × trials × (steps − 1) for `W · a` in
//! the forward pass and as much for `Wᵀ · δ` in backpropagation).

use ccrnn_core::{
    Backend, Connectivity, GroupSet, Model, NeuronParams, ParamGroup, Pattern, SimOptions, Stimulus, Trajectory, bptt,
    loss, simulate_into,
};
use ccrnn_fit::student::{random_recorded, student_init};
use ccrnn_fit::{Adam, Data, FitProblem, IterState, Solver};
use ndarray::{Array1, Array2, Array3, Axis};
use ndarray_npy::NpzWriter;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let (mut n, mut p, mut trials, mut reps, mut backend, mut out) =
        (3000usize, 0.05f64, 16usize, 10usize, Backend::Csr, None);
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{f} needs a value"));
        match f.as_str() {
            "--n" => n = v.parse().expect("integer"),
            "--p" => p = v.parse().expect("number"),
            "--trials" => trials = v.parse().expect("integer"),
            "--reps" => reps = v.parse().expect("integer"),
            "--backend" => backend = if v == "dense" { Backend::Dense } else { Backend::Csr },
            "--out" => out = Some(std::path::PathBuf::from(v)),
            _ => panic!("unknown flag {f}"),
        }
    }
    let steps = 400;
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // E/I network: 70 % excitatory; inhibitory weights 7/3 as strong so that inputs balance
    let n_exc = n * 7 / 10;
    let signs: Vec<i8> = (0..n).map(|j| if j < n_exc { 1 } else { -1 }).collect();
    let scale = 0.5 / (n as f64 * p).sqrt();
    let (mut row_ptr, mut col, mut values) = (vec![0usize], Vec::new(), Vec::new());
    for _ in 0..n {
        for (j, &sign) in signs.iter().enumerate() {
            if rng.random_bool(p) {
                let z: f64 = rng.sample(StandardNormal);
                let s = if sign > 0 { 1.0 } else { -7.0 / 3.0 };
                col.push(j as u32);
                values.push(s * scale * z.abs());
            }
        }
        row_ptr.push(col.len());
    }
    let pattern = Pattern::new(n, row_ptr, col).expect("pattern");
    let conn = Connectivity { pattern, values, signs };
    let mut params = NeuronParams::default_for(n);
    params.g = Array1::from_shape_fn(n, |_| (1.0 + 0.4 * rng.sample::<f64, _>(StandardNormal)).abs());
    params.b = Array1::from_shape_fn(n, |_| rng.random_range(-0.1..0.1));
    let dt = 0.05;
    let w_in = Array2::from_shape_fn((2, n), |_| rng.sample::<f64, _>(StandardNormal) / dt);
    let teacher: Model<f32> = Model::builder(conn.clone())
        .backend(backend)
        .params(params)
        .w_in(w_in.clone())
        .dt(dt)
        .build()
        .expect("model")
        .cast();
    let mut u = Array3::<f32>::zeros((trials, steps, 2));
    for k in 0..trials {
        u[(k, rng.random_range(40..100), rng.random_range(0..2))] = 1.0;
    }
    let stim = Stimulus::new(u);
    let rec = random_recorded(n, 30.min(n), 3).expect("recorded");
    let mut traj = Trajectory::default();
    simulate_into(&teacher, &stim, &SimOptions::noisy(0.002, 4), &mut traj).expect("teacher");
    let data = traj.a.select(Axis(2), rec.indices());
    if let Some(dir) = &out {
        std::fs::create_dir_all(dir).expect("out dir");
        let mut z = NpzWriter::new(std::fs::File::create(dir.join("sparse.npz")).expect("sparse.npz"));
        let c32 = conn.cast::<f32>();
        let ptr: Array1<i64> = c32.pattern.row_ptr().iter().map(|&x| x as i64).collect();
        let idx: Array1<i64> = c32.pattern.col().iter().map(|&x| x as i64).collect();
        z.add_array("indptr", &ptr).unwrap();
        z.add_array("indices", &idx).unwrap();
        z.add_array("data", &Array1::from(c32.values.clone())).unwrap();
        z.add_array("w_in", &w_in.mapv(|x| x as f32)).unwrap();
        z.add_array("g", &teacher.params.g).unwrap();
        z.add_array("b", &teacher.params.b).unwrap();
        z.add_array("dt", &ndarray::arr0(dt as f32)).unwrap();
        z.add_array("u", &stim.u).unwrap();
        let rec_i: Array1<i64> = rec.indices().iter().map(|&i| i as i64).collect();
        z.add_array("recorded", &rec_i).unwrap();
        z.add_array("target", &data).unwrap();
        z.finish().unwrap();
    }
    let student = student_init(&teacher, 0.5, 5);
    let groups = GroupSet::of(&[ParamGroup::Gain, ParamGroup::Bias]);
    let target = ccrnn_core::Target::Activity {
        recorded: &rec,
        data: data.view(),
    };
    let (mut tf, mut tb) = (vec![], vec![]);
    for k in 0..reps {
        let t0 = Instant::now();
        simulate_into(&student, &stim, &SimOptions::noisy(0.002, k as u64), &mut traj).expect("simulate");
        let t1 = Instant::now();
        let (_, seed) = loss(&student, &traj, &target).expect("loss");
        let g = bptt(&student, &traj, &seed, groups).expect("bptt");
        tf.push((t1 - t0).as_secs_f64());
        tb.push(t1.elapsed().as_secs_f64());
        std::hint::black_box(g);
    }
    let mut problem = FitProblem::new(
        student.clone(),
        groups,
        stim,
        Data::Activity {
            recorded: rec.clone(),
            data,
        },
        trials,
        0.002,
        6,
    )
    .expect("problem");
    let adam = Adam::new(1e-3, Some(2.0));
    let mut state = IterState::new(student.theta(groups));
    let mut ts = vec![];
    for _ in 0..reps {
        let t0 = Instant::now();
        state = adam.next_iter(&mut problem, state).expect("step").into_state();
        ts.push(t0.elapsed().as_secs_f64());
    }
    let fastest = ts.iter().copied().fold(f64::INFINITY, f64::min);
    let gflop = 4.0 * conn.pattern.nnz() as f64 * trials as f64 * (steps - 1) as f64 / 1e9;
    println!(
        "{{\"impl\": \"ccrnn\", \"backend\": \"{backend:?}\", \"n\": {n}, \"nnz\": {}, \"trials\": {trials}, \"steps\": {steps}, \"threads\": {}, \"product_gflop\": {gflop:.2}, \"step_s\": {:.5}, \"step_min_s\": {fastest:.5}, \"forward_s\": {:.5}, \"loss_backward_s\": {:.5}}}",
        conn.pattern.nnz(),
        rayon::current_num_threads(),
        median(ts),
        median(tf),
        median(tb)
    );
}
