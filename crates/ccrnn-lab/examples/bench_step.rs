//! Time of one full training step (forward, backpropagation and Adam on all 60 trials) on the
//! paper's setting: N = 300 E/I network, T = 400 steps, M = 30 recorded neurons, f32, σ = 0.002.
//!
//!     cargo run --release -p ccrnn-lab --example bench_step -- [--n 300] [--trials 60] [--reps 20] [--reproducible 1]
//!
//! Prints one JSON line: median seconds per step (and the fastest step), of the gradient alone
//! (`loss_and_grad`: simulation keeping only what backpropagation reads, loss, backpropagation)
//! and of a plain simulation that stores the whole trajectory.
//! `bench/run.sh` runs it next to the PyTorch reference in `bench/torch_step.py`.

use ccrnn_core::{GroupSet, ParamGroup, SimOptions, Trajectory, loss_and_grad, simulate_into};
use ccrnn_fit::student::{random_recorded, student_init};
use ccrnn_fit::{Adam, Data, FitProblem, IterState, Solver};
use ccrnn_lab::{EiSpec, SineTask};
use ndarray::Axis;
use std::time::Instant;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn main() {
    let mut n = 300;
    let mut trials = 60;
    let mut reps = 20;
    let noise: f64 = std::env::var("CCRNN_BENCH_NOISE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0.002);
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let v: usize = it
            .next()
            .and_then(|s| s.parse().ok())
            .expect("flag needs an integer value");
        match f.as_str() {
            "--n" => n = v,
            "--trials" => trials = v,
            "--reps" => reps = v,
            "--reproducible" => ccrnn_core::kernels::set_reproducible(v != 0),
            _ => panic!("unknown flag {f}"),
        }
    }
    let (teacher, _) = EiSpec { n, ..EiSpec::default() }.generate(1).expect("teacher");
    let teacher = teacher.cast::<f32>();
    let task = SineTask {
        trials,
        ..SineTask::default()
    };
    let (stim, _) = task.generate::<f32>(2).unwrap();
    let rec = random_recorded(n, 30.min(n), 3).unwrap();
    let mut traj = Trajectory::default();
    simulate_into(&teacher, &stim, &SimOptions::noisy(0.002, 4), &mut traj).unwrap();
    let data = traj.a.select(Axis(2), rec.indices());
    let student = student_init(&teacher, 0.5, 5);
    let groups = GroupSet::of(&[ParamGroup::Gain, ParamGroup::Bias]);

    // the gradient, and a plain simulation
    let (mut tg, mut tf) = (vec![], vec![]);
    let target = ccrnn_core::Target::Activity {
        recorded: &rec,
        data: data.view(),
    };
    let mut lean = Trajectory::default();
    for k in 0..reps {
        let opts = SimOptions::noisy(noise, k as u64);
        let t0 = Instant::now();
        let g = loss_and_grad(&student, &stim, &target, &opts, groups, &mut lean).unwrap();
        let t1 = Instant::now();
        simulate_into(&student, &stim, &opts, &mut traj).unwrap();
        let t2 = Instant::now();
        std::hint::black_box(g);
        tg.push((t1 - t0).as_secs_f64());
        tf.push((t2 - t1).as_secs_f64());
    }
    // whole step through the fitting machinery
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
    .unwrap();
    let adam = Adam::new(1e-3, Some(2.0));
    let mut state = IterState::new(student.theta(groups));
    let mut ts = vec![];
    for _ in 0..reps {
        let t0 = Instant::now();
        state = adam.next_iter(&mut problem, state).unwrap().into_state();
        ts.push(t0.elapsed().as_secs_f64());
    }
    let min = ts.iter().copied().fold(f64::INFINITY, f64::min);
    println!(
        "{{\"impl\": \"ccrnn\", \"n\": {n}, \"trials\": {trials}, \"steps\": 400, \"threads\": {}, \"step_s\": {:.5}, \"step_min_s\": {:.5}, \"grad_s\": {:.5}, \"simulate_s\": {:.5}}}",
        rayon::current_num_threads(),
        median(ts),
        min,
        median(tg),
        median(tf)
    );
}
