//! Calcium-imaging recordings on the command line: `ccrnn imaging` (read, describe, match to a
//! model, write the arrays as NumPy reads them) and the parts of `ccrnn fit --imaging` that
//! read the files and save what the fitted student predicts at the frames.

use crate::args::{ImagingArgs, ObserveArgs, ReadImagingArgs};
use crate::plots::{self, Panel, Series, color};
use crate::ui::{Ui, outln};
use anyhow::Result;
use ccrnn_core::{Model, Observation};
use ccrnn_fit::metrics::NeuronFit;
use ccrnn_io::imaging::read_label_table;
use ccrnn_io::npz::write_npz;
use ccrnn_io::{Imaging, ModelFile, RunDir, read_imaging};
use ccrnn_lab::recordings::{self, ImagingSetup, Loaded};
use std::path::PathBuf;

/// Reads every file, reporting each and how its ROIs match the model's neurons.
pub fn load_sessions(
    files: &[PathBuf],
    read: &ReadImagingArgs,
    observe: &ObserveArgs,
    model: &ModelFile,
    ui: &Ui,
) -> Result<Loaded> {
    let setup = ImagingSetup {
        files: files.to_vec(),
        read: read.options(),
        label_table: read.label_table.clone(),
        inputs: observe.inputs.clone(),
        observe: observe.options()?,
    };
    let loaded = recordings::load(&setup, model)?;
    for (r, m) in loaded.recordings.iter().zip(&loaded.sessions.matchings) {
        ui.say(format!("{}: {}", r.path.display(), describe(r)));
        ui.say(format!(
            "  matched by the model's {}: {}",
            model.neuron_keys_kind(),
            m.summary(model.model.n())
        ));
    }
    Ok(loaded)
}

/// One line on a recording: what, how many frames and ROIs, rate, span, missing values.
fn describe(r: &Imaging) -> String {
    let f = r.frames();
    format!(
        "{}: {f} frames × {} ROIs, {:.3} Hz over {:.1} s, {:.1} % missing{}",
        r.source,
        r.rois(),
        r.frame_rate(),
        r.times[f - 1] - r.times[0],
        100.0 * r.missing_fraction(),
        if r.unit.is_empty() {
            String::new()
        } else {
            format!(", unit {:?}", r.unit)
        }
    )
}

/// Saves what a student fitted to imaging sessions predicts at the frames
/// (`prediction.npz`, see [`Prediction::save`]) and a plot of the best-fitted recorded
/// neurons' measured and predicted traces in the first session; returns each recorded
/// neuron's fit.
pub fn save_prediction(
    run: &RunDir,
    model: &Model<f32>,
    loaded: &Loaded,
    obs: &Observation<f32>,
    keys: &[String],
) -> Result<Vec<NeuronFit>> {
    let p = recordings::predict(model, loaded, obs)?;
    p.save(&run.file("prediction.npz"))?;
    let m = p.recorded.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&x, &y| p.fits[x].corr_err.total_cmp(&p.fits[y].corr_err));
    let panels: Vec<Panel> = order
        .iter()
        .take(6)
        .map(|&c| {
            let title = format!(
                "{} (neuron {}; 1 − ρ = {:.3})",
                keys[p.recorded[c]], p.recorded[c], p.fits[c].corr_err
            );
            trace_panel(title, &p.times, &p.measured, &p.predicted, 0, c)
        })
        .collect();
    plots::save(run, "traces", &panels, 2, (560, 300))?;
    Ok(p.fits)
}

/// A plot of session `b`'s measured and predicted signal of column `c` over its observed frames
/// (`times`: sessions × frames, seconds; `measured`, `predicted`: sessions × frames × columns).
pub fn trace_panel(
    title: String,
    times: &ndarray::Array2<f64>,
    measured: &ndarray::Array3<f32>,
    predicted: &ndarray::Array3<f32>,
    b: usize,
    c: usize,
) -> Panel {
    let line = |x: &ndarray::Array3<f32>| -> Vec<(f64, f64)> {
        (0..measured.shape()[1])
            .filter(|&f| !measured[[b, f, c]].is_nan())
            .map(|f| (times[[b, f]], f64::from(x[[b, f, c]])))
            .collect()
    };
    Panel {
        title,
        x_label: "time (s)".into(),
        y_label: "signal".into(),
        series: vec![
            Series::line("measured", line(measured), color(0)),
            Series::line("predicted", line(predicted), color(1)),
        ],
        log_y: false,
        log_x: false,
        x_names: None,
    }
}

/// `ccrnn imaging`: reads recordings as `ccrnn fit --imaging` does, describes them, matches
/// them to a model's neurons (`--model`), and writes each one's arrays (`--out`).
pub fn run(a: ImagingArgs, ui: &Ui) -> Result<i32> {
    let opts = a.read.options();
    let table = a.read.label_table.as_deref().map(read_label_table).transpose()?;
    let model = a.model.as_deref().map(ccrnn_io::load_model).transpose()?;
    let mut docs = Vec::new();
    for (k, f) in a.files.iter().enumerate() {
        let r = read_imaging(f, &opts)?;
        outln!("{}: {}", f.display(), describe(&r))?;
        let mut doc = serde_json::json!({
            "file": f, "source": r.source, "frames": r.frames(), "rois": r.rois(),
            "frame_rate_hz": r.frame_rate(), "missing_fraction": r.missing_fraction(),
            "unit": r.unit, "labels": r.labels,
        });
        if let Some(mf) = &model {
            let m = ccrnn_io::Matching::new(&r.labels, &mf.neuron_keys(), table.as_ref())
                .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?;
            outln!(
                "  matched by the model's {}: {}",
                mf.neuron_keys_kind(),
                m.summary(mf.model.n())
            )?;
            doc["matching"] = serde_json::to_value(&m)?;
        }
        if let Some(out) = &a.out {
            let path = if a.files.len() == 1 {
                out.clone()
            } else {
                let stem = out.file_stem().and_then(|s| s.to_str()).unwrap_or("imaging");
                out.with_file_name(format!("{stem}-{k}.npz"))
            };
            write_npz(&path, |z| {
                z.add("signal", &r.signal)?;
                z.add("times", &r.times)?;
                z.add_text("labels", &r.labels.join("\n"))?;
                z.add_text("unit", &r.unit)?;
                z.add_text("source", &r.source)
            })?;
            outln!("  arrays written to {}", path.display())?;
        }
        docs.push(doc);
    }
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&docs)?)?;
    }
    let _ = ui;
    Ok(0)
}
