//! The outputs of a teacher–student study, shared by `demo` and `connectome study`:
//! `table.csv` (one row per student), `students.npz`, and the plots `error_vs_m` (medians over
//! replicates, each replicate a point), `loss` and `traces`.

use super::{loss_panel, trace_panels};
use crate::plots::{self, Panel, Series, color};
use crate::table::{self, ScoreRow};
use anyhow::Result;
use ccrnn_core::{Model, SimOptions, Stimulus, Trajectory, simulate};
use ccrnn_io::RunDir;
use ccrnn_lab::{Study, StudyResult};
use ndarray::{Array1, Array2};

/// Writes the study's files into `run`; `no_rec` adds the no-recurrence baseline (one row per
/// student, aligned with `res.rows`) to the error plot. Returns the table rows.
pub fn write_study(
    run: &RunDir,
    teacher: &Model<f32>,
    ms: &[usize],
    res: &StudyResult<f32>,
    heldout: &Stimulus<f32>,
    ref_held: &Trajectory<f32>,
    no_rec: Option<&[ScoreRow]>,
) -> Result<Vec<ScoreRow>> {
    let rows: Vec<ScoreRow> = res.rows.iter().map(ScoreRow::student).collect();
    run.write("table.csv", &table::csv(&rows)?)?;
    let n = teacher.n();
    let k = res.rows.len();
    let mut g = Array2::<f32>::zeros((k, n));
    let mut b = Array2::<f32>::zeros((k, n));
    let mut rec = Array2::<i64>::from_elem((k, ms.iter().copied().max().unwrap_or(0)), -1);
    let per_row = |f: fn(&ScoreRow) -> usize| Array1::from_iter(rows.iter().map(|r| f(r) as i64));
    for (i, r) in res.rows.iter().enumerate() {
        g.row_mut(i).assign(&r.model.params.g);
        b.row_mut(i).assign(&r.model.params.b);
        for (j, &x) in r.recorded.iter().enumerate() {
            rec[(i, j)] = x as i64;
        }
    }
    ccrnn_io::npz::write_npz(&run.file("students.npz"), |z| {
        z.add("m", &per_row(|r| r.m))?;
        z.add("replicate", &per_row(|r| r.replicate.unwrap_or(0)))?;
        z.add("g", &g)?;
        z.add("b", &b)?;
        z.add("recorded", &rec)?;
        z.add("teacher_g", &teacher.params.g)?;
        z.add("teacher_b", &teacher.params.b)
    })?;

    let groups = table::by_m(&rows);
    let names: Vec<String> = groups
        .iter()
        .map(|&(m, _)| if m == 0 { "readout".into() } else { m.to_string() })
        .collect();
    let slot = |m: usize| groups.iter().position(|g| g.0 == m).expect("every row's M has a group") as f64;
    let replicated = groups.iter().any(|g| g.1.len() > 1);
    let medians = |rs: &[ScoreRow], v: fn(&ScoreRow) -> f64| -> Vec<(f64, f64)> {
        table::by_m(rs)
            .iter()
            .map(|(m, g)| (slot(*m), table::median(&g.iter().map(|r| v(r)).collect::<Vec<_>>())))
            .collect()
    };
    let each = |v: fn(&ScoreRow) -> f64| -> Vec<(f64, f64)> { rows.iter().map(|r| (slot(r.m), v(r))).collect() };
    let k_slots = groups.len();
    let flat = |y: f64| vec![(-0.5, y), (k_slots as f64 - 0.5, y)];
    let what = if replicated { " (median)" } else { "" };
    // One panel per error measure: unrecorded and recorded error against M (medians over
    // replicates, each replicate a point), with the shuffle baseline and (if given) the
    // no-recurrence students.
    let panel = |title: &str,
                 y_label: &str,
                 rec: fn(&ScoreRow) -> f64,
                 unrec: fn(&ScoreRow) -> f64,
                 shuffle: f64,
                 log_y: bool| {
        let mut series = vec![
            Series::line(format!("unrecorded{what}"), medians(&rows, unrec), color(3)).markers(),
            Series::line(format!("recorded{what}"), medians(&rows, rec), color(0)).markers(),
            Series::line("shuffle", flat(shuffle), color(7)).dashed(),
        ];
        if replicated {
            series.push(Series::points("unrecorded, each replicate", each(unrec), color(3)));
            series.push(Series::points("recorded, each replicate", each(rec), color(0)));
        }
        if let Some(nr) = no_rec {
            series.push(Series::line(format!("no recurrence{what}"), medians(nr, unrec), color(1)).dashed());
        }
        Panel {
            title: title.into(),
            x_label: "recorded neurons M".into(),
            y_label: y_label.into(),
            series,
            log_y,
            log_x: false,
            x_names: Some(names.clone()),
        }
    };
    let err_panels = vec![
        panel(
            "activity error vs recorded neurons",
            "MSE (held-out trials)",
            |r| r.recorded_mse,
            |r| r.unrecorded_mse,
            res.baseline.shuffle_mse,
            true,
        ),
        panel(
            "correlation error vs recorded neurons",
            "1 − mean |ρ|",
            |r| r.recorded_corr_err,
            |r| r.unrecorded_corr_err,
            res.baseline.shuffle_corr_err,
            false,
        ),
    ];
    plots::save(run, "error_vs_m", &err_panels, 2, (560, 420))?;
    // The loss curves and traces of replicate 0 (one student per M).
    let first: Vec<&ccrnn_lab::StudentRow<f32>> = res.rows.iter().filter(|r| r.replicate == 0).collect();
    let curves: Vec<(String, &ccrnn_fit::History)> = first
        .iter()
        .map(|r| {
            let m = r.recorded.len();
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
    plots::save(run, "loss", &[loss_panel("student fits", &curves)], 1, (640, 420))?;
    let best = first.last().expect("at least one student");
    let student_traj = simulate(&best.model, heldout, &SimOptions::noiseless())?;
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
    let traces = trace_panels(ref_held, &student_traj, &best.recorded, teacher.dt as f64, trial);
    plots::save(run, "traces", &traces, 3, (400, 260))?;

    Ok(rows)
}

/// The progress observer of a study's students: `bar` (of length `fit.steps` × rows) shows the
/// student being fitted and its loss; each report becomes a `metrics.jsonl` record tagged with
/// `phase`, M and the replicate. The first failed write lands in `err`.
pub fn student_progress<'a>(
    bar: &'a indicatif::ProgressBar,
    run: &'a mut RunDir,
    study: &'a Study,
    phase: &'a str,
    err: &'a mut Option<ccrnn_io::Error>,
) -> impl FnMut(usize, &ccrnn_fit::IterState<f32>) + 'a {
    let reps = study.replicates.max(1);
    let cap = study.fit.steps;
    move |row, s| {
        let (m, r) = (study.ms[row / reps], row % reps);
        bar.set_position(cap * row as u64 + s.step.min(cap));
        let who = if m == 0 {
            "readout only".to_string()
        } else {
            format!("M = {m}")
        };
        bar.set_message(format!("{who}, replicate {}/{reps}: loss {:.5}", r + 1, s.cost));
        let rec = serde_json::json!({"phase": phase, "m": m, "replicate": r, "step": s.step, "loss": s.cost, "grad_norm": s.grad_norm});
        if let Err(e) = run.metric(&rec) {
            err.get_or_insert(e);
        }
    }
}

/// A bar for all of a study's students (see [`student_progress`]).
pub fn students_bar(ui: &crate::ui::Ui, study: &Study, what: &str) -> indicatif::ProgressBar {
    ui.bar(
        study.fit.steps * (study.ms.len() * study.replicates.max(1)) as u64,
        what,
    )
}
