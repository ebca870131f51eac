//! `ccrnn teacher`: build a teacher from a preset or a configuration; the task teacher is also
//! trained. Writes `teacher.npz` (and, for the random-network teachers, `stimulus.npz`: the
//! per-trial initial states their trials start from).

use super::{finish, fit_observer, loss_panel};
use crate::args::TeacherArgs;
use crate::configs::ConfigFile;
use crate::plots;
use crate::ui::Ui;
use crate::ui::outln;
use anyhow::{Context, Result, anyhow};
use ccrnn_core::{SimOptions, simulate};
use ccrnn_lab::{TeacherConfig, TeacherKind};
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
        cfg.set_n(n);
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
    let training = cfg.training.clone().filter(|_| cfg.kind == TeacherKind::EiTask);
    let bar = match &training {
        Some(t) => ui.bar(t.steps, "training teacher"),
        None => indicatif::ProgressBar::hidden(),
    };
    let mut err = None;
    let mut obs = fit_observer(&bar, &mut run, json!({}), &mut err);
    let mut every = ccrnn_fit::Every(training.as_ref().map_or(1, |t| t.report_every), &mut obs);
    let built = cfg
        .spec()
        .build(seed, cfg.trials(), Some(&mut every))
        .context("building the teacher")?;
    drop(obs); // ends the observer's borrows of the run directory
    bar.finish_and_clear();
    if let Some(e) = err {
        return Err(e.into());
    }
    if let Some(out) = &built.training {
        let y = simulate(&built.model, &built.heldout, &SimOptions::noiseless())?.y;
        let mse = built.task_mse(&y).unwrap_or(f64::NAN);
        plots::save(
            &run,
            "loss",
            &[loss_panel("teacher training", &[("teacher".into(), &out.history)])],
            1,
            (640, 420),
        )?;
        summary["leading_eigenvalue"] = json!(built.leading_eigenvalue);
        summary["steps"] = json!(out.state.step);
        summary["final_loss"] = json!(out.state.cost);
        summary["heldout_task_mse"] = json!(mse);
        ui.say(format!(
            "E/I network N = {}: leading eigenvalue of the linearisation {:.3}; trained {} steps; task MSE on held-out trials {mse:.5}",
            built.model.n(),
            built.leading_eigenvalue.unwrap_or(f64::NAN),
            out.state.step
        ));
    } else {
        let traj = simulate(&built.model, &built.train, &SimOptions::noiseless())?;
        ccrnn_io::save_trajectory(&run.file("stimulus.npz"), &built.train, &traj, built.model.dt)?;
        ui.say(format!(
            "{} trials × {} steps from random initial states in stimulus.npz",
            cfg.trials, cfg.steps
        ));
    }
    let model = built.model;
    summary["n"] = json!(model.n());
    ccrnn_io::save_model(&run.file("teacher.npz"), &model, None)?;
    run.write("summary.json", serde_json::to_string_pretty(&summary)?.as_bytes())?;
    finish(run, summary, ui, |dir| {
        outln!("teacher saved to {}", dir.join("teacher.npz").display())?;
        Ok(())
    })
}
