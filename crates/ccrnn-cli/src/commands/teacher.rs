//! `ccrnn teacher`: build a teacher from a preset or a configuration; the task teacher is also
//! trained. Writes `teacher.npz` (and, for the random-network teachers, `stimulus.npz`: the
//! per-trial initial states their trials start from).

use super::{finish, fit_observer, loss_panel};
use crate::args::{TeacherArgs, TeacherKind};
use crate::configs::{ConfigFile, TeacherConfig};
use crate::plots;
use crate::ui::Ui;
use crate::ui::outln;
use anyhow::{Context, Result, anyhow};
use ccrnn_core::{Seeds, SimOptions, simulate};
use ccrnn_lab::EiSpec;
use serde_json::json;

/// The effective teacher configuration: file or preset, then the command-line overrides.
fn effective(a: &TeacherArgs) -> Result<TeacherConfig> {
    let mut cfg = match &a.config {
        Some(path) => ConfigFile::read_valid(path)?
            .teacher
            .ok_or_else(|| anyhow!("{}: no [teacher] section", path.display()))?,
        None => TeacherConfig::preset(a.preset, 0),
    };
    if let Some(s) = a.seed {
        cfg.seed = s;
        if let Some(t) = &mut cfg.training {
            t.seed = s;
        }
    }
    cfg.validate()?;
    cfg.fill_defaults();
    if let Some(n) = a.n {
        match cfg.kind {
            TeacherKind::EiTask => cfg.ei.as_mut().expect("filled").n = n,
            TeacherKind::LowRank => cfg.low_rank.as_mut().expect("filled").n = n,
            TeacherKind::Chaotic => cfg.chaotic.as_mut().expect("filled").n = n,
        }
    }
    if let Some(s) = a.steps {
        match &mut cfg.training {
            Some(t) => t.steps = s,
            None => return Err(anyhow!("--steps: only the ei-task teacher is trained")),
        }
    }
    cfg.validate()?;
    Ok(cfg)
}

pub fn run(a: TeacherArgs, ui: &Ui) -> Result<i32> {
    let cfg = effective(&a)?;
    let inputs: Vec<&std::path::Path> = a.config.iter().map(|p| p.as_path()).collect();
    let file = ConfigFile {
        teacher: Some(cfg.clone()),
        ..ConfigFile::default()
    };
    let mut run = crate::run::start("teacher", &a.out, cfg.seed, &inputs, &file)?;
    let seed = cfg.seed;
    let mut summary = json!({"command": "teacher", "kind": cfg.kind, "seed": seed});
    let model = match cfg.kind {
        TeacherKind::EiTask => {
            let spec = cfg.ei.as_ref().expect("filled");
            let task = cfg.task.as_ref().expect("filled");
            let training = cfg.training.as_ref().expect("filled");
            let (raw, lam) = spec.generate(seed)?;
            ui.say(format!(
                "E/I network N = {}: leading eigenvalue of the linearisation {lam:.3}",
                spec.n
            ));
            let (stim, target) = task.generate::<f32>(Seeds(seed).teacher_task())?;
            let bar = ui.bar(training.steps, "training teacher");
            let mut err = None;
            let mut obs = fit_observer(&bar, &mut run, json!({}), &mut err);
            let mut every = ccrnn_fit::Every(training.report_every, &mut obs);
            let out = EiSpec::train(raw.cast::<f32>(), stim, target, training, Some(&mut every))
                .context("training the teacher")?;
            drop(obs); // ends the observer's borrows of the run directory
            bar.finish_and_clear();
            if let Some(e) = err {
                return Err(e.into());
            }
            let (held, held_y) = task.generate::<f32>(Seeds(seed).heldout_stimulus())?;
            let y = simulate(&out.model, &held, &SimOptions::noiseless())?.y;
            let mse = (&y - &held_y).mapv(|d| (d as f64).powi(2)).mean().unwrap_or(f64::NAN);
            plots::save(
                &run,
                "loss",
                &[loss_panel("teacher training", &[("teacher".into(), &out.history)])],
                1,
                (640, 420),
            )?;
            summary["leading_eigenvalue"] = json!(lam);
            summary["steps"] = json!(out.state.step);
            summary["final_loss"] = json!(out.state.cost);
            summary["heldout_task_mse"] = json!(mse);
            ui.say(format!(
                "trained {} steps; task MSE on held-out trials {mse:.5}",
                out.state.step
            ));
            out.model
        }
        TeacherKind::LowRank | TeacherKind::Chaotic => {
            let (m, stim) = match cfg.kind {
                TeacherKind::LowRank => cfg
                    .low_rank
                    .as_ref()
                    .expect("filled")
                    .generate(cfg.trials, cfg.steps, seed)?,
                _ => cfg
                    .chaotic
                    .as_ref()
                    .expect("filled")
                    .generate(cfg.trials, cfg.steps, seed)?,
            };
            let stim = stim.cast::<f32>();
            let m = m.cast::<f32>();
            let traj = simulate(&m, &stim, &SimOptions::noiseless())?;
            ccrnn_io::save_trajectory(&run.file("stimulus.npz"), &stim, &traj, m.dt)?;
            ui.say(format!(
                "{} trials × {} steps from random initial states in stimulus.npz",
                cfg.trials, cfg.steps
            ));
            m
        }
    };
    summary["n"] = json!(model.n());
    ccrnn_io::save_model(&run.file("teacher.npz"), &model, None)?;
    run.write("summary.json", serde_json::to_string_pretty(&summary)?.as_bytes())?;
    finish(run, summary, ui, |dir| {
        outln!("teacher saved to {}", dir.join("teacher.npz").display())?;
        Ok(())
    })
}
