//! The outputs of a teacher–student study, shared by `demo` and `connectome study`:
//! `table.csv`, `students.npz`, and the plots `error_vs_m`, `loss` and `traces`.

use super::{loss_panel, trace_panels};
use crate::plots::{self, Panel, Series, color};
use crate::table::{self, ScoreRow};
use anyhow::Result;
use ccrnn_core::{Model, SimOptions, Stimulus, Trajectory, simulate};
use ccrnn_io::RunDir;
use ccrnn_lab::StudyResult;
use ndarray::{Array1, Array2};

/// Writes the study's files into `run`; `no_rec` adds the no-recurrence baseline (one row per
/// M, aligned with `ms`) to the error plot. Returns the table rows.
pub fn write_study(
    run: &RunDir,
    teacher: &Model<f32>,
    ms: &[usize],
    res: &StudyResult<f32>,
    heldout: &Stimulus<f32>,
    ref_held: &Trajectory<f32>,
    no_rec: Option<&[ScoreRow]>,
) -> Result<Vec<ScoreRow>> {
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
    let pos_of = |rs: &[ScoreRow], v: &dyn Fn(&ScoreRow) -> f64| -> Vec<(f64, f64)> {
        rs.iter().enumerate().map(|(i, r)| (i as f64, v(r))).collect()
    };
    let pos = |v: &dyn Fn(&ScoreRow) -> f64| pos_of(&rows, v);
    let flat = |y: f64| vec![(-0.5, y), (k as f64 - 0.5, y)];
    // One panel per error measure: unrecorded and recorded error against M, with the shuffle
    // baseline and (if given) the no-recurrence students.
    let panel = |title: &str,
                 y_label: &str,
                 rec: fn(&ScoreRow) -> f64,
                 unrec: fn(&ScoreRow) -> f64,
                 shuffle: f64,
                 log_y: bool| {
        let mut series = vec![
            Series::line("unrecorded", pos(&unrec), color(3)).markers(),
            Series::line("recorded", pos(&rec), color(0)).markers(),
            Series::line("shuffle", flat(shuffle), color(7)).dashed(),
        ];
        if let Some(nr) = no_rec {
            series.push(Series::line("no recurrence", pos_of(nr, &unrec), color(1)).dashed());
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
    let curves: Vec<(String, &ccrnn_fit::History)> = res
        .rows
        .iter()
        .zip(ms)
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
    plots::save(run, "loss", &[loss_panel("student fits", &curves)], 1, (640, 420))?;
    let best = res.rows.last().expect("at least one student");
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
