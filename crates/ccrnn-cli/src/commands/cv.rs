//! `ccrnn cv`: cross-validation on held-out neurons of imaging recordings. Writes `cv.csv`
//! (each held-out neuron under each model: fold, neuron, label, correlation, explained
//! variance), `heldout.npz` (the connectome student's held-out prediction of every recorded
//! neuron beside the measured signal), `summary.json`, and plots: the scores per model
//! (`cv.png`) and held-out traces, measured vs predicted (`heldout_traces.png`).

use super::{finish, load_model};
use crate::args::CvArgs;
use crate::configs::ConfigFile;
use crate::plots::{self, Panel, Series, color};
use crate::table;
use crate::ui::{Ui, outln};
use anyhow::Result;
use ccrnn_fit::MethodKind;
use ccrnn_fit::student::StudentConfig;
use ccrnn_io::npz::write_npz;
use ccrnn_lab::recordings::cv::{CvConfig, CvModel, CvResult, Summary, cross_validate};
use ndarray::Array1;
use serde_json::json;
use std::path::PathBuf;

/// One row of `cv.csv`.
#[derive(serde::Serialize)]
struct Row<'a> {
    model: &'a str,
    fold: usize,
    neuron: usize,
    label: &'a str,
    corr: f64,
    explained_variance: f64,
}

pub fn run(a: CvArgs, ui: &Ui) -> Result<i32> {
    let mut fc = a.solver.recipe(None, MethodKind::GaussNewton);
    if let Some(t) = &a.train {
        fc.train = t.clone();
    }
    fc.seed = a.seed;
    fc.validate()?;
    let mut student = StudentConfig::default();
    if let Some(i) = a.init {
        student.init = i;
    }
    student.validate()?;
    let mf = load_model(&a.model)?;
    let keys = mf.neuron_keys();
    let loaded = super::imaging::load_sessions(&a.imaging, &a.read, &a.observe, &mf, ui)?;
    let m = loaded.sessions.recorded.len();
    if a.folds < 2 || a.folds > m {
        anyhow::bail!("--folds {}: need 2 ≤ k ≤ {m} (the recorded neurons)", a.folds);
    }
    let cfg = CvConfig {
        folds: a.folds,
        seed: a.seed,
        models: a.models.clone(),
        fit: fc.clone(),
        student: student.clone(),
    };
    let cfg_file = ConfigFile {
        student: Some(student),
        fit: Some(fc.clone()),
        ..ConfigFile::default()
    };
    let mut inputs: Vec<&std::path::Path> = vec![a.model.as_path()];
    inputs.extend(a.imaging.iter().map(PathBuf::as_path));
    inputs.extend(a.read.label_table.as_deref());
    inputs.extend(a.observe.inputs.iter().map(PathBuf::as_path));
    let run = crate::run::start("cv", &a.out, a.seed, &inputs, &cfg_file)?;
    let fits_per_fold = a.models.iter().filter(|k| **k != CvModel::Shuffled).count().max(1);
    ui.say(format!(
        "cross-validating {} on {m} recorded neurons in {} folds: {} fits of {} {} steps",
        a.models.iter().map(|k| k.name()).collect::<Vec<_>>().join(", "),
        a.folds,
        a.folds * fits_per_fold,
        fc.steps,
        fc.method.name()
    ));
    let bar = ui.bar((a.folds * fits_per_fold) as u64, "fits");
    let t0 = std::time::Instant::now();
    let mut started = 0;
    let result = cross_validate(&mf.model, &loaded, &cfg, &mut |k, f| {
        // called as each fit starts: the ones before it are done
        bar.set_position(started);
        bar.set_message(format!("{} fold {}", k.name(), f + 1));
        started += 1;
    })?;
    bar.finish_and_clear();
    let seconds = t0.elapsed().as_secs_f64();
    let rows: Vec<Row> = result
        .scores
        .iter()
        .map(|s| Row {
            model: s.model,
            fold: s.fold,
            neuron: s.neuron,
            label: &keys[s.neuron],
            corr: s.corr,
            explained_variance: s.explained_variance,
        })
        .collect();
    run.write("cv.csv", &table::csv(&rows)?)?;
    let summaries = result.summary();
    save_heldout(&run, &result, &loaded)?;
    plot(&run, &result, &summaries, &loaded, &keys)?;
    let doc = json!({
        "command": "cv", "folds": a.folds, "recorded": m, "neurons": mf.model.n(),
        "method": fc.method.name(), "steps": fc.steps, "seconds": seconds,
        "models": summaries, "fold_neurons": result.folds,
    });
    run.write("summary.json", serde_json::to_string_pretty(&doc)?.as_bytes())?;
    finish(run, doc, ui, |dir| {
        outln!(
            "held-out neurons: {m} recorded neurons of a {}-neuron model in {} folds ({:.1} s)",
            mf.model.n(),
            a.folds,
            seconds
        )?;
        outln!(
            "{:<15} {:>8} {:>8} {:>19} {:>11} {:>9}",
            "model",
            "median ρ",
            "mean ρ",
            "folds' median ρ",
            "median EV",
            "time (s)"
        )?;
        for s in &summaries {
            outln!(
                "{:<15} {:>8.3} {:>8.3} {:>19} {:>11.3} {:>9.1}",
                s.model,
                s.median_corr,
                s.mean_corr,
                format!("[{:.3}, {:.3}]", s.fold_median_corr_range.0, s.fold_median_corr_range.1),
                s.median_explained_variance,
                s.seconds
            )?;
        }
        outln!(
            "per neuron: {}; plots: cv.png, heldout_traces.png",
            dir.join("cv.csv").display()
        )
    })
}

/// `heldout.npz`: `times` (B × F, s), `measured` and `predicted` (B × F × M, the connectome
/// student's held-out prediction), `recorded` (M), `fold` (M: the fold that held each out).
fn save_heldout(run: &ccrnn_io::RunDir, r: &CvResult, loaded: &ccrnn_lab::recordings::Loaded) -> Result<()> {
    let Some(pred) = &r.predicted else { return Ok(()) };
    let rec = loaded.sessions.recorded.indices();
    let fold: Vec<i64> = rec
        .iter()
        .map(|i| r.folds.iter().position(|f| f.contains(i)).map_or(-1, |f| f as i64))
        .collect();
    let times = ccrnn_lab::recordings::session_times(loaded);
    write_npz(&run.file("heldout.npz"), |z| {
        z.add("times", &times)?;
        z.add("measured", &loaded.sessions.obs.data)?;
        z.add("predicted", pred)?;
        z.add("recorded", &Array1::from_iter(rec.iter().map(|&i| i as i64)))?;
        z.add("fold", &Array1::from(fold))
    })?;
    Ok(())
}

fn plot(
    run: &ccrnn_io::RunDir,
    r: &CvResult,
    summaries: &[Summary],
    loaded: &ccrnn_lab::recordings::Loaded,
    keys: &[String],
) -> Result<()> {
    // the scores per model: every held-out neuron (points) and the median (marker)
    let names: Vec<String> = summaries.iter().map(|s| s.model.to_string()).collect();
    let mut pts = Vec::new();
    for (x, s) in summaries.iter().enumerate() {
        let of: Vec<f64> = r.scores.iter().filter(|h| h.model == s.model).map(|h| h.corr).collect();
        for (j, c) in of.iter().enumerate() {
            // a deterministic spread around the model's position
            let jitter = ((j * 7919) % 101) as f64 / 100.0 * 0.5 - 0.25;
            pts.push((x as f64 + jitter, *c));
        }
    }
    let medians: Vec<(f64, f64)> = summaries
        .iter()
        .enumerate()
        .map(|(x, s)| (x as f64, s.median_corr))
        .collect();
    let scores = Panel {
        title: "held-out neurons: correlation of prediction and signal".into(),
        x_label: "model".into(),
        y_label: "held-out correlation".into(),
        series: vec![
            Series::points("neurons", pts, color(0)),
            Series::points("median", medians, color(3)).markers(),
        ],
        log_y: false,
        log_x: false,
        x_names: Some(names),
    };
    plots::save(run, "cv", &[scores], 1, (720, 440))?;
    // held-out traces of the connectome student: best, median and worst held-out neurons
    let Some(pred) = &r.predicted else { return Ok(()) };
    let rec = loaded.sessions.recorded.indices();
    let mut conn: Vec<_> = r
        .scores
        .iter()
        .filter(|h| h.model == CvModel::Connectome.name())
        .collect();
    if conn.is_empty() {
        return Ok(());
    }
    conn.sort_by(|x, y| y.corr.total_cmp(&x.corr));
    let picks = [0, conn.len() / 2, conn.len() - 1];
    let times = ccrnn_lab::recordings::session_times(loaded);
    let data = &loaded.sessions.obs.data;
    let panels: Vec<Panel> = ["best", "median", "worst"]
        .iter()
        .zip(picks)
        .map(|(what, k)| {
            let h = conn[k];
            let c = rec.iter().position(|&i| i == h.neuron).expect("a recorded neuron");
            // the session that recorded the neuron most
            let observed = |b: usize| {
                data.index_axis(ndarray::Axis(0), b)
                    .column(c)
                    .iter()
                    .filter(|v| !v.is_nan())
                    .count()
            };
            let b = (0..data.shape()[0]).max_by_key(|&b| observed(b)).unwrap_or(0);
            let title = format!(
                "{what}: {} (held out; ρ = {:.3}; session {})",
                keys[h.neuron],
                h.corr,
                b + 1
            );
            super::imaging::trace_panel(title, &times, data, pred, b, c)
        })
        .collect();
    plots::save(run, "heldout_traces", &panels, 1, (720, 260))?;
    Ok(())
}
