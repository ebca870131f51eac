//! `ccrnn demo`: the paper's Figures 1–2 on a built-in teacher. An E/I network is generated
//! and trained on the sine task from a fixed seed; students start from the teacher's permuted
//! gains and biases and are fitted to the readout only or to M recorded neurons; each is scored
//! on held-out trials against the teacher and the shuffle baseline.

use super::study_report::{student_progress, students_bar, write_study};
use super::{finish, fit_observer};
use crate::args::DemoArgs;
use crate::configs::ConfigFile;
use crate::table;
use crate::ui::Ui;
use crate::ui::{out, outln};
use anyhow::{Context, Result, anyhow};
use ccrnn_core::{SimOptions, simulate};
use ccrnn_lab::{DemoConfig, Teacher, run_study};
use serde_json::json;
use std::time::Instant;

pub fn run(a: DemoArgs, ui: &Ui) -> Result<i32> {
    let t_all = Instant::now();
    let cfg = match &a.config {
        Some(path) => ConfigFile::read_valid(path)?
            .demo
            .ok_or_else(|| anyhow!("{}: no [demo] section", path.display()))?,
        None if a.quick => DemoConfig::quick(a.seed),
        None => DemoConfig::full(a.seed),
    };
    cfg.validate()?;
    let inputs: Vec<&std::path::Path> = a.config.iter().map(|p| p.as_path()).collect();
    let file = ConfigFile {
        demo: Some(cfg.clone()),
        ..ConfigFile::default()
    };
    let mut run = crate::run::start("demo", &a.out, cfg.seed, &inputs, &file)?;
    ui.say(format!(
        "run directory: {} (staged until the run ends)",
        run.target().display()
    ));

    // 1. The teacher, and the trials its students are fitted on and scored on.
    let seed = cfg.seed;
    ui.say(format!(
        "teacher: E/I network, N = {}, seed {seed}, trained on the sine task",
        cfg.teacher.n
    ));
    let (spec, trials) = cfg.teacher();
    let bar = ui.bar(cfg.teacher_training.steps, "training teacher");
    let mut metric_err = None;
    let mut on_teacher = fit_observer(&bar, &mut run, json!({"phase": "teacher"}), &mut metric_err);
    let mut every = ccrnn_fit::Every(cfg.teacher_training.report_every, &mut on_teacher);
    let t0 = Instant::now();
    let built = spec
        .build(seed, trials, Some(&mut every))
        .context("training the teacher")?;
    drop(on_teacher); // ends the observer's borrows of the run directory
    bar.finish_and_clear();
    if let Some(e) = metric_err.take() {
        return Err(e.into());
    }
    let teacher_seconds = t0.elapsed().as_secs_f64();
    let teacher_steps = built.training.as_ref().map_or(0, |t| t.state.step);
    let Teacher {
        model: teacher,
        train,
        heldout,
        ..
    } = &built;
    ccrnn_io::save_model(&run.file("teacher.npz"), teacher, None)?;
    let ref_held = simulate(teacher, heldout, &SimOptions::noiseless())?;
    let task_mse = built.task_mse(&ref_held.y).unwrap_or(f64::NAN);
    ui.say(format!(
        "  leading eigenvalue of the linearisation {:.3}; trained {teacher_steps} steps in {teacher_seconds:.0} s; task MSE on held-out trials {task_mse:.4}",
        built.leading_eigenvalue.unwrap_or(f64::NAN)
    ));

    // 2. The students.
    let ms = cfg.study.ms.clone();
    let reps = cfg.study.replicates.max(1);
    let cap = cfg.study.fit.steps;
    let bar = students_bar(ui, &cfg.study, "students");
    let mut progress = student_progress(&bar, &mut run, &cfg.study, "student", &mut metric_err);
    ui.say(format!(
        "students: M = {ms:?} (0 = readout only), {reps} replicate(s) each (own recorded neurons and initial point); {}",
        cfg.study.fit.describe()
    ));
    let res = run_study(teacher, train, heldout, &cfg.study, &mut progress)?;
    drop(progress);
    bar.finish_and_clear();
    if let Some(e) = metric_err.take() {
        return Err(e.into());
    }

    // 3. Results.
    let rows = write_study(&run, teacher, &ms, &res, heldout, &ref_held, None)?;
    let n = teacher.n();
    let seconds = t_all.elapsed().as_secs_f64();
    let doc = json!({
        "command": "demo",
        "n": n,
        "seed": seed,
        "teacher_steps": teacher_steps,
        "teacher_task_mse": task_mse,
        "teacher_seconds": teacher_seconds,
        "student_fit": cfg.study.fit.describe(),
        "student_method": cfg.study.fit.method.name(),
        "student_max_steps": cap,
        "replicates": reps,
        "rows": rows,
        "shuffle_mse": res.baseline.shuffle_mse,
        "shuffle_corr_err": res.baseline.shuffle_corr_err,
        "shuffle_gain_rmse": res.baseline.shuffle_gain_rmse,
        "shuffle_bias_rmse": res.baseline.shuffle_bias_rmse,
        "seconds": seconds,
    });
    run.write("result.json", serde_json::to_string_pretty(&doc)?.as_bytes())?;
    finish(run, doc, ui, |dir| {
        outln!(
            "\nN = {n} E/I teacher (task MSE {task_mse:.4}); students: {}; {reps} replicate(s) per M; scores on held-out trials, noise-free\n",
            cfg.study.fit.describe()
        )?;
        out!("{}", table::render_study(&rows, Some(&res.baseline)))?;
        outln!(
            "\nwrote {} (table.csv, result.json, plots error_vs_m / loss / traces .svg .png) in {seconds:.0} s",
            dir.display()
        )?;
        Ok(())
    })
}
