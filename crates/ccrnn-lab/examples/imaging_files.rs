//! Writes the ground-truth imaging study's data (docs/recordings.md) as a lab would have it,
//! for `ccrnn fit --imaging` and `ccrnn cv`: the demo's E/I teacher (`teacher.npz`), M of its
//! neurons imaged on each training trial as in `observed_study` (GCaMP6s-like filter, 3 Hz
//! frames of a 1 s time unit, 10 % missing, a scale and offset per neuron, noise), one CSV per
//! trial (`trial_000.csv`: `time` in seconds, then one column per neuron, headed by its row
//! index), and each trial's inputs at the model's steps (`inputs_000.csv`).
//!
//!     cargo run --release -p ccrnn-lab --example imaging_files -- DIR [M=64] [quick=1] [seed=0]
//!
//! Then, e.g.: `ccrnn cv --model DIR/teacher.npz --imaging DIR/trial_*.csv --inputs
//! DIR/inputs_*.csv --one-session`.

use ccrnn_fit::student::random_recorded;
use ccrnn_lab::pipeline::record;
use ccrnn_lab::{DemoConfig, SimulatedImaging};
use ndarray::Axis;
use std::fmt::Write as _;
use std::path::PathBuf;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = PathBuf::from(args.first().ok_or("usage: imaging_files DIR [M] [quick] [seed]")?);
    let m: usize = args.get(1).map_or(Ok(64), |a| a.parse())?;
    let quick = args.get(2).is_none_or(|a| a == "1");
    let seed: u64 = args.get(3).map_or(Ok(0), |a| a.parse())?;
    std::fs::create_dir_all(&dir)?;
    let demo = if quick {
        DemoConfig::quick(seed)
    } else {
        DemoConfig::full(seed)
    };
    let (spec, trials) = demo.teacher();
    let teacher = spec.build(seed, trials, None)?;
    let model = &teacher.model;
    ccrnn_io::save_model(&dir.join("teacher.npz"), model, None)?;
    let rec = record(model, &teacher.train, demo.study.data_noise, seed ^ 0x5eed)?;
    let recorded = random_recorded(model.n(), m, seed)?;
    let a_rec = rec.a.select(Axis(2), recorded.indices());
    let imaging = SimulatedImaging::default();
    let dt = f64::from(model.dt);
    let obs = imaging.image(a_rec.view(), dt, seed ^ 0x1a6e)?;
    let period_s = 1.0 / imaging.frame_rate_hz;
    let (b, f, _) = obs.data.dim();
    let header: Vec<String> = recorded.indices().iter().map(|i| i.to_string()).collect();
    for k in 0..b {
        let mut csv = format!("time,{}\n", header.join(","));
        for fr in 0..f {
            let row: Vec<String> = (0..m)
                .map(|c| {
                    let v = obs.data[[k, fr, c]];
                    if v.is_nan() { String::new() } else { v.to_string() }
                })
                .collect();
            writeln!(csv, "{},{}", fr as f64 * period_s, row.join(","))?;
        }
        std::fs::write(dir.join(format!("trial_{k:03}.csv")), csv)?;
        let u = teacher.train.u.index_axis(Axis(0), k);
        let mut inp = format!(
            "time,{}\n",
            (0..u.ncols()).map(|c| format!("u{c}")).collect::<Vec<_>>().join(",")
        );
        for (t, row) in u.rows().into_iter().enumerate() {
            let vals: Vec<String> = row.iter().map(|v| v.to_string()).collect();
            writeln!(inp, "{},{}", t as f64 * dt * imaging.time_unit_s, vals.join(","))?;
        }
        std::fs::write(dir.join(format!("inputs_{k:03}.csv")), inp)?;
    }
    println!(
        "wrote {}: teacher.npz (N = {}), {b} trials of {f} frames of {m} neurons (trial_*.csv) and their inputs (inputs_*.csv)",
        dir.display(),
        model.n()
    );
    Ok(())
}
