//! Ground truth for fitting through an observation model (issue "Real recordings"): the demo's
//! E/I teacher (N = 300, trained on the sine task) is recorded as a calcium-imaging lab would
//! see it — GCaMP6s-like filter, 3 Hz frames (the model at dt = 0.05 of a 1 s time unit), 10 %
//! of entries missing at random, a scale and offset per neuron, noise — and students
//! (Gauss–Newton on gains and biases) are fitted to it:
//!
//! * `clean`: to the recorded neurons' activity itself, at every step (the reference);
//! * `observed`: through the observation model (the indicator known, scale and offset fitted);
//! * `observed, τ fitted`: the same with the indicator's τ fitted too, started at GCaMP6f's;
//! * `ignores filter`: through frames, missing values, scale and offset but no indicator.
//!
//! Every student is scored on held-out trials (noise-free rollouts) against the teacher: 1 − |ρ|
//! over the unrecorded neurons, and the recorded ones.
//!
//!     cargo run --release -p ccrnn-lab --example observed_study -- [M=64] [seeds=1] [steps=100] [quick=0]
//!
//! `steps` caps the Gauss–Newton iterations; `quick=1` uses the quick demo's teacher (N = 100)
//! instead of the full one (N = 300).

use ccrnn_core::{Indicator, NeuronSet, SimOptions, simulate};
use ccrnn_fit::student::{StudentConfig, random_recorded};
use ccrnn_fit::{Data, FitConfig, MethodKind, evaluate, fit};
use ccrnn_lab::pipeline::record;
use ccrnn_lab::{DemoConfig, SimulatedImaging, student_observation};
use ndarray::{Array1, Axis};
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse()).collect::<Result<_, _>>()?;
    let m = args.first().copied().unwrap_or(64);
    let seeds = args.get(1).copied().unwrap_or(1) as u64;
    let steps = args.get(2).copied().unwrap_or(100) as u64;
    let quick = args.get(3).copied().unwrap_or(0) == 1;
    let imaging = SimulatedImaging::default();
    println!(
        "imaging: {} (τ = {} s), {} Hz ({} frames), time unit = {} s, {:.0} % missing, scales {:?}, offsets {:?}, noise {} of the signal's SD",
        imaging.indicator.map_or("none", |i| i.name),
        imaging.indicator.map_or(0.0, |i| i.tau_s),
        imaging.frame_rate_hz,
        imaging.sampling.name(),
        imaging.time_unit_s,
        100.0 * imaging.missing,
        imaging.scale,
        imaging.offset,
        imaging.noise
    );
    println!(
        "\n| seed | student | unrecorded 1 − |ρ| | recorded 1 − |ρ| | fitted τ (s, median) | loss | iterations | s |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for seed in 0..seeds {
        let demo = if quick {
            DemoConfig::quick(seed)
        } else {
            DemoConfig::full(seed)
        };
        let (spec, trials) = demo.teacher();
        let t0 = Instant::now();
        let teacher = spec.build(seed, trials, None)?;
        eprintln!("teacher {seed}: {:.0} s", t0.elapsed().as_secs_f64());
        let model = teacher.model.cast::<f64>();
        let (train, heldout) = (teacher.train.cast::<f64>(), teacher.heldout.cast::<f64>());
        let rec = record(&model, &train, demo.study.data_noise, seed ^ 0x5eed)?;
        let recorded: NeuronSet = random_recorded(model.n(), m, seed)?;
        let a_rec = rec.a.select(Axis(2), recorded.indices());
        let dt = model.dt;
        let truth = imaging.image(a_rec.view(), dt, seed ^ 0x1a6e)?;
        let init = StudentConfig::default().start(&model, seed);
        let tau_of = |ind: Indicator| Array1::from_elem(m, ind.tau_s / imaging.time_unit_s);
        let (s6s, s6f) = (
            Indicator::preset("gcamp6s").unwrap(),
            Indicator::preset("gcamp6f").unwrap(),
        );
        let cases: Vec<(&str, Data<f64>)> = vec![
            (
                "clean",
                Data::Activity {
                    recorded: recorded.clone(),
                    data: a_rec.clone(),
                },
            ),
            (
                "observed",
                Data::Observed {
                    recorded: recorded.clone(),
                    obs: Box::new(student_observation(&truth, Some(tau_of(s6s)), false)),
                },
            ),
            (
                "observed, τ fitted",
                Data::Observed {
                    recorded: recorded.clone(),
                    obs: Box::new(student_observation(&truth, Some(tau_of(s6f)), true)),
                },
            ),
            (
                "ignores filter",
                Data::Observed {
                    recorded: recorded.clone(),
                    obs: Box::new(student_observation(&truth, None, false)),
                },
            ),
        ];
        let reference = simulate(&model, &heldout, &SimOptions::noiseless())?;
        let cfg = FitConfig {
            steps,
            seed,
            ..FitConfig::for_method(MethodKind::GaussNewton)
        }
        .validate()?;
        for (name, data) in &cases {
            // the loss of the teacher itself (another noise realisation of its rollouts): the
            // floor a fit can reach
            let rollout = simulate(&model, &train, &SimOptions::noisy(demo.study.data_noise, 9))?;
            let floor = ccrnn_core::loss(&model, &rollout, &data.target())?.0;
            eprintln!("{name}: the teacher's own loss on this data (the floor) {floor:.4e}");
        }
        for (name, data) in cases {
            let t0 = Instant::now();
            let out = fit(init.clone(), train.clone(), data, &cfg, None, None)?;
            let s = evaluate(&model, &reference, &out.model, &heldout, &recorded)?;
            let tau = out.observation.as_ref().and_then(|o| o.tau.as_ref()).map(|t| {
                let mut v: Vec<f64> = t.iter().map(|x| x * imaging.time_unit_s).collect();
                v.sort_by(f64::total_cmp);
                format!("{:.2}", v[v.len() / 2])
            });
            println!(
                "| {seed} | {name} | {:.4} | {:.4} | {} | {:.3e} | {} ({:?}) | {:.0} |",
                s.unrecorded_corr_err,
                s.recorded_corr_err,
                tau.unwrap_or_else(|| "–".into()),
                out.state.cost,
                out.state.step,
                out.termination,
                t0.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}
