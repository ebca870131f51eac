//! `ccrnn simulate`: run a saved model; writes `trajectory.npz` (inputs, activity, h, readout,
//! recorded = all neurons, dt), which `ccrnn fit` reads as a recording.

use super::{finish, load_model, stimulus};
use crate::args::SimulateArgs;
use crate::configs::ConfigFile;
use crate::ui::Ui;
use crate::ui::outln;
use anyhow::{Result, bail};
use ccrnn_core::{SimOptions, simulate};
use serde_json::json;

pub fn run(a: SimulateArgs, ui: &Ui) -> Result<i32> {
    if !(a.noise >= 0.0 && a.noise.is_finite()) {
        bail!("--noise = {}: must be >= 0", a.noise);
    }
    let model = load_model(&a.model)?.model;
    let stim = stimulus(&a.stim, &model)?;
    let mut inputs = vec![a.model.as_path()];
    if let Some(p) = &a.stim.inputs {
        inputs.push(p);
    }
    let mut run = crate::run::start("simulate", &a.out, a.seed, &inputs, &ConfigFile::default())?;
    let t0 = std::time::Instant::now();
    let traj = simulate(&model, &stim, &SimOptions::noisy(a.noise, a.seed))?;
    let seconds = t0.elapsed().as_secs_f64();
    ccrnn_io::save_trajectory(&run.file("trajectory.npz"), &stim, &traj, model.dt)?;
    let (b, t) = (stim.trials(), stim.steps());
    let doc = json!({
        "command": "simulate", "model": a.model.display().to_string(), "trials": b, "steps": t,
        "neurons": model.n(), "noise": a.noise, "seed": a.seed, "seconds": seconds,
        "mean_activity": traj.a.mean().unwrap_or(f32::NAN),
    });
    run.metric(&doc)?;
    finish(run, doc, ui, |dir| {
        ui.say(format!(
            "simulated {b} trials × {t} steps of {} neurons in {seconds:.2} s",
            model.n()
        ));
        outln!("trajectory saved to {}", dir.join("trajectory.npz").display())?;
        Ok(())
    })
}
