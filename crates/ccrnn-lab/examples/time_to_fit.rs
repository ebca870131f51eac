//! Time to fit a student, per fitting method, on the paper's setting: the N = 300 E/I teacher,
//! the sine task (60 training trials, 400 steps), M = 30 recorded neurons, the student
//! initialised as in the paper (gains and biases permuted within populations, gains halved).
//!
//!     cargo run --release -p ccrnn-lab --example time_to_fit -- \
//!         [--out DIR] [--methods adam,lbfgs,gauss-newton] [--adam-steps 7000] \
//!         [--lbfgs-steps 3000] [--gn-steps 300] [--eval-every-s 2] [--seed 1]
//!
//! `--out DIR` also writes `DIR/problem.npz` (teacher, inputs, recording, initial student,
//! held-out reference) so that `bench/torch_fit.py` fits the very same problem.
//!
//! Prints one JSON line per method: the curve of `[fit seconds, evaluations, step,
//! unrecorded MSE on held-out trials]`, sampled about every `--eval-every-s` seconds of fitting
//! (the time spent evaluating is excluded from the fit time), and the final point.

use ccrnn_core::{GroupSet, Model, ParamGroup, SimOptions, simulate};
use ccrnn_fit::student::{random_recorded, student_init};
use ccrnn_fit::{Data, FitConfig, IterState, MethodKind, evaluate, fit};
use ccrnn_lab::{EiSpec, SineTask};
use ndarray::{Array1, Axis};
use ndarray_npy::NpzWriter;
use std::time::{Duration, Instant};

struct Args {
    out: Option<std::path::PathBuf>,
    methods: Vec<MethodKind>,
    adam_steps: u64,
    lbfgs_steps: u64,
    gn_steps: u64,
    eval_every: f64,
    seed: u64,
}

fn args() -> Args {
    let mut a = Args {
        out: None,
        methods: vec![MethodKind::Adam, MethodKind::Lbfgs],
        adam_steps: 7000,
        lbfgs_steps: 3000,
        gn_steps: 300,
        eval_every: 2.0,
        seed: 1,
    };
    let mut it = std::env::args().skip(1);
    while let Some(f) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{f} needs a value"));
        match f.as_str() {
            "--out" => a.out = Some(v.into()),
            "--methods" => {
                a.methods = v
                    .split(',')
                    .map(|m| MethodKind::from_name(m).unwrap_or_else(|| panic!("unknown method {m}")))
                    .collect()
            }
            "--adam-steps" => a.adam_steps = v.parse().expect("integer"),
            "--lbfgs-steps" => a.lbfgs_steps = v.parse().expect("integer"),
            "--gn-steps" => a.gn_steps = v.parse().expect("integer"),
            "--eval-every-s" => a.eval_every = v.parse().expect("number"),
            "--seed" => a.seed = v.parse().expect("integer"),
            _ => panic!("unknown flag {f}"),
        }
    }
    a
}

fn main() {
    let a = args();
    let (teacher, _) = EiSpec::default().generate(a.seed).expect("teacher");
    let teacher: Model<f32> = teacher.cast();
    let n = teacher.n();
    let task = SineTask::default();
    let (train, _) = task.generate::<f32>(a.seed + 1).expect("task");
    let (held, _) = task.generate::<f32>(a.seed + 2).expect("task");
    let rec = random_recorded(n, 30, a.seed + 3).expect("recorded");
    let recording = simulate(&teacher, &train, &SimOptions::noisy(0.002, a.seed + 4)).expect("teacher");
    let data = recording.a.select(Axis(2), rec.indices());
    let reference = simulate(&teacher, &held, &SimOptions::noiseless()).expect("teacher");
    let init = student_init(&teacher, 0.5, a.seed + 5);

    if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir).expect("out dir");
        let f = std::fs::File::create(dir.join("problem.npz")).expect("problem.npz");
        let mut z = NpzWriter::new(f);
        let beta: Array1<f32> = (0..n).map(|i| init.params.beta.of(i)).collect();
        let rec_i: Array1<i64> = rec.indices().iter().map(|&i| i as i64).collect();
        z.add_array("w", &teacher.coupling.to_dense()).unwrap();
        z.add_array("w_in", &teacher.w_in).unwrap();
        z.add_array("tau", &init.params.tau).unwrap();
        z.add_array("beta", &beta).unwrap();
        z.add_array("h0", &init.params.h0).unwrap();
        z.add_array("dt", &ndarray::arr0(teacher.dt)).unwrap();
        z.add_array("g_init", &init.params.g).unwrap();
        z.add_array("b_init", &init.params.b).unwrap();
        z.add_array("recorded", &rec_i).unwrap();
        z.add_array("train_u", &train.u).unwrap();
        z.add_array("train_a", &data).unwrap();
        z.add_array("held_u", &held.u).unwrap();
        z.add_array("held_a", &reference.a).unwrap();
        z.finish().unwrap();
    }

    let groups = GroupSet::of(&[ParamGroup::Gain, ParamGroup::Bias]);
    // the same number bench/torch_fit.py reports at step 0: a check that both implement one model
    let initial = evaluate(&teacher, &reference, &init, &held, &rec).expect("evaluate");
    println!(
        "{{\"impl\": \"ccrnn\", \"initial_unrecorded_mse\": {:.6e}}}",
        initial.unrecorded_mse
    );
    for &method in &a.methods {
        let cfg = FitConfig {
            method,
            steps: match method {
                MethodKind::Adam => a.adam_steps,
                MethodKind::Lbfgs => a.lbfgs_steps,
                MethodKind::GaussNewton => a.gn_steps,
            },
            report_every: 1,
            ..FitConfig::paper()
        }
        .validate()
        .expect("config");
        let mut curve: Vec<(f64, u64, u64, f64)> = Vec::new();
        let start = Instant::now();
        let mut paused = Duration::ZERO;
        let mut next_eval = 0.0;
        let mut probe = init.clone();
        let mut observe = |s: &IterState<f32>| -> ccrnn_fit::Result<()> {
            let fit_s = (start.elapsed() - paused).as_secs_f64();
            if fit_s >= next_eval {
                let t0 = Instant::now();
                probe.set_theta(groups, &s.theta)?;
                let e = evaluate(&teacher, &reference, &probe, &held, &rec)?;
                curve.push((fit_s, s.evaluations, s.step, e.unrecorded_mse));
                next_eval = fit_s + a.eval_every;
                paused += t0.elapsed();
            }
            Ok(())
        };
        let out = fit(
            init.clone(),
            train.clone(),
            Data::Activity {
                recorded: rec.clone(),
                data: data.clone(),
            },
            &cfg,
            None,
            Some(&mut observe),
        )
        .expect("fit");
        let fit_s = (start.elapsed() - paused).as_secs_f64();
        let e = evaluate(&teacher, &reference, &out.model, &held, &rec).expect("evaluate");
        curve.push((fit_s, out.state.evaluations, out.state.step, e.unrecorded_mse));
        let pts: Vec<String> = curve
            .iter()
            .map(|(t, ev, st, u)| format!("[{t:.4}, {ev}, {st}, {u:.6e}]"))
            .collect();
        println!(
            "{{\"impl\": \"ccrnn\", \"method\": \"{}\", \"threads\": {}, \"seconds\": {fit_s:.4}, \"steps\": {}, \"evaluations\": {}, \"termination\": \"{:?}\", \"unrecorded_mse\": {:.6e}, \"recorded_mse\": {:.6e}, \"curve\": [{}]}}",
            method.name(),
            rayon::current_num_threads(),
            out.state.step,
            out.state.evaluations,
            out.termination,
            e.unrecorded_mse,
            e.recorded_mse,
            pts.join(", ")
        );
    }
}
