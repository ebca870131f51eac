//! `ccrnn demo`: the paper's Figures 1–2 on a built-in teacher. An E/I network is generated
//! and trained on the sine task from a fixed seed; students start from the teacher's permuted
//! gains and biases and are fitted to the readout only or to M recorded neurons; each is scored
//! on held-out trials against the teacher and the shuffle baseline.

use super::{finish, fit_observer, loss_panel, trace_panels};
use crate::args::DemoArgs;
use crate::configs::{ConfigFile, DemoConfig};
use crate::plots::{self, Panel, Series, color};
use crate::table::{self, ScoreRow};
use crate::ui::Ui;
use anyhow::{Context, Result, anyhow};
use ccrnn_core::{SimOptions, simulate};
use ccrnn_fit::IterState;
use ccrnn_lab::{EiSpec, run_study};
use ndarray::{Array1, Array2};
use serde_json::json;
use std::time::Instant;

pub fn run(a: DemoArgs, ui: &Ui) -> Result<i32> {
    let t_all = Instant::now();
    let cfg = match &a.config {
        Some(path) => ConfigFile::read(path)?
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

    // 1. The teacher.
    let seed = cfg.seed;
    let (raw, lam) = cfg.teacher.generate(seed)?;
    ui.say(format!(
        "teacher: E/I network, N = {}, seed {seed}; leading eigenvalue of the linearisation {lam:.3}",
        cfg.teacher.n
    ));
    let (task_stim, task_y) = cfg.task.generate::<f32>(seed.wrapping_add(100))?;
    let bar = ui.bar(cfg.teacher_training.steps, "training teacher");
    let mut metric_err = None;
    let mut on_teacher = fit_observer(&bar, &mut run, json!({"phase": "teacher"}), &mut metric_err);
    let mut every = ccrnn_fit::Every(cfg.teacher_training.report_every, &mut on_teacher);
    let t0 = Instant::now();
    let trained = EiSpec::train(
        raw.cast::<f32>(),
        task_stim,
        task_y,
        &cfg.teacher_training,
        Some(&mut every),
    )
    .context("training the teacher")?;
    drop(on_teacher); // ends the observer's borrows of the run directory
    bar.finish_and_clear();
    if let Some(e) = metric_err.take() {
        return Err(e.into());
    }
    let teacher = trained.model;
    let teacher_seconds = t0.elapsed().as_secs_f64();
    ccrnn_io::save_model(&run.file("teacher.npz"), &teacher, None)?;

    let (train, _) = cfg.task.generate::<f32>(seed.wrapping_add(200))?;
    let (heldout, held_y) = cfg.task.generate::<f32>(seed.wrapping_add(300))?;
    let ref_held = simulate(&teacher, &heldout, &SimOptions::noiseless())?;
    let task_mse = (&ref_held.y - &held_y)
        .mapv(|d| (d as f64).powi(2))
        .mean()
        .unwrap_or(f64::NAN);
    ui.say(format!(
        "  trained {} steps in {teacher_seconds:.0} s; task MSE on held-out trials {task_mse:.4}",
        trained.state.step
    ));

    // 2. The students.
    let ms = cfg.study.ms.clone();
    let steps = cfg.study.fit.steps;
    let bars: Vec<_> = ms
        .iter()
        .map(|&m| {
            let label = if m == 0 {
                "readout only".to_string()
            } else {
                format!("student M = {m}")
            };
            ui.bar(steps, &label)
        })
        .collect();
    let mut progress = |row: usize, s: &IterState<f32>| {
        bars[row].set_position(s.step);
        bars[row].set_message(format!("loss {:.5}", s.cost));
        if s.step >= steps {
            bars[row].finish_and_clear();
        }
        let rec = json!({"phase": "student", "m": ms[row], "step": s.step, "loss": s.cost, "grad_norm": s.grad_norm});
        if let Err(e) = run.metric(&rec) {
            metric_err.get_or_insert(e);
        }
    };
    ui.say(format!(
        "students: M = {:?} (0 = readout only), {steps} Adam steps each, lr {}",
        ms, cfg.study.fit.lr
    ));
    let res = run_study(&teacher, &train, &heldout, &cfg.study, &mut progress)?;
    for b in &bars {
        b.finish_and_clear();
    }
    if let Some(e) = metric_err.take() {
        return Err(e.into());
    }

    // 3. Results.
    let rows: Vec<ScoreRow> = res
        .rows
        .iter()
        .map(|r| ScoreRow::new(&r.heldout, Some(r.steps), Some(r.seconds)))
        .collect();
    run.write("table.csv", &table::csv(&rows)?)?;
    let n = teacher.n();
    let k = res.rows.len();
    let mut g = Array2::<f32>::zeros((k, n));
    let mut b = Array2::<f32>::zeros((k, n));
    let mut rec = Array2::<i64>::from_elem((k, ms.iter().copied().max().unwrap_or(0)), -1);
    for (i, r) in res.rows.iter().enumerate() {
        g.row_mut(i).assign(&r.model.params.g);
        b.row_mut(i).assign(&r.model.params.b);
        for (j, &x) in r.recorded.iter().enumerate() {
            rec[(i, j)] = x as i64;
        }
    }
    ccrnn_io::npz::write_npz(&run.file("students.npz"), |z| {
        z.add("m", &Array1::from_iter(ms.iter().map(|&m| m as i64)))?;
        z.add("g", &g)?;
        z.add("b", &b)?;
        z.add("recorded", &rec)?;
        z.add("teacher_g", &teacher.params.g)?;
        z.add("teacher_b", &teacher.params.b)
    })?;

    let names: Vec<String> = ms
        .iter()
        .map(|&m| if m == 0 { "readout".into() } else { m.to_string() })
        .collect();
    let pos = |v: &dyn Fn(&ScoreRow) -> f64| -> Vec<(f64, f64)> {
        rows.iter().enumerate().map(|(i, r)| (i as f64, v(r))).collect()
    };
    let flat = |y: f64| vec![(-0.5, y), (k as f64 - 0.5, y)];
    let err_panels = vec![
        Panel {
            title: "activity error vs recorded neurons".into(),
            x_label: "recorded neurons M".into(),
            y_label: "MSE (held-out trials)".into(),
            series: vec![
                Series::line("unrecorded", pos(&|r| r.unrecorded_mse), color(3)).markers(),
                Series::line("recorded", pos(&|r| r.recorded_mse), color(0)).markers(),
                Series::line("shuffle", flat(res.baseline.shuffle_mse), color(7)).dashed(),
            ],
            log_y: true,
            x_names: Some(names.clone()),
        },
        Panel {
            title: "correlation error vs recorded neurons".into(),
            x_label: "recorded neurons M".into(),
            y_label: "1 − mean |ρ|".into(),
            series: vec![
                Series::line("unrecorded", pos(&|r| r.unrecorded_corr_err), color(3)).markers(),
                Series::line("recorded", pos(&|r| r.recorded_corr_err), color(0)).markers(),
                Series::line("shuffle", flat(res.baseline.shuffle_corr_err), color(7)).dashed(),
            ],
            log_y: false,
            x_names: Some(names),
        },
    ];
    plots::save(&run, "error_vs_m", &err_panels, 2, (560, 420))?;
    let curves: Vec<(String, &ccrnn_fit::History)> = res
        .rows
        .iter()
        .zip(&ms)
        .map(|(r, &m)| {
            (
                if m == 0 {
                    "readout".to_string()
                } else {
                    format!("M = {m}")
                },
                &r.history,
            )
        })
        .collect();
    plots::save(&run, "loss", &[loss_panel("student fits", &curves)], 1, (640, 420))?;
    let best = res.rows.last().expect("at least one student");
    let student_traj = simulate(&best.model, &heldout, &SimOptions::noiseless())?;
    let trial = (0..heldout.trials())
        .max_by(|&i, &j| {
            let e = |t: usize| {
                heldout
                    .u
                    .index_axis(ndarray::Axis(0), t)
                    .iter()
                    .map(|x| x.abs())
                    .sum::<f32>()
            };
            e(i).total_cmp(&e(j))
        })
        .unwrap_or(0);
    let traces = trace_panels(&ref_held, &student_traj, &best.recorded, teacher.dt as f64, trial);
    plots::save(&run, "traces", &traces, 3, (400, 260))?;

    let seconds = t_all.elapsed().as_secs_f64();
    let doc = json!({
        "command": "demo",
        "n": n,
        "seed": seed,
        "teacher_steps": trained.state.step,
        "teacher_task_mse": task_mse,
        "teacher_seconds": teacher_seconds,
        "student_steps": steps,
        "rows": rows,
        "shuffle_mse": res.baseline.shuffle_mse,
        "shuffle_corr_err": res.baseline.shuffle_corr_err,
        "shuffle_gain_rmse": res.baseline.shuffle_gain_rmse,
        "shuffle_bias_rmse": res.baseline.shuffle_bias_rmse,
        "seconds": seconds,
    });
    run.write("result.json", serde_json::to_string_pretty(&doc)?.as_bytes())?;
    finish(run, doc, ui, |dir| {
        println!(
            "\nN = {n} E/I teacher (task MSE {task_mse:.4}); students fitted {steps} steps; scores on held-out trials, noise-free\n"
        );
        print!("{}", table::render(&rows, Some(&res.baseline)));
        println!(
            "\nwrote {} (table.csv, result.json, plots error_vs_m / loss / traces .svg .png) in {seconds:.0} s",
            dir.display()
        );
    })
}
