//! Calcium-imaging recordings from Python: `read_imaging` (the arrays of an NWB file, suite2p
//! folder, labelled .npz or CSV, as the command line reads them) and `fit_imaging` (the
//! command line's `fit --imaging`).

use crate::fitting::{FitResult, fit_config, run_fit, start_point, to_dict};
use crate::model::Model;
use crate::{bad, err};
use ccrnn_fit::Data;
use ccrnn_io::imaging::ObserveOptions;
use ccrnn_io::{ModelFile, ReadOptions, read_imaging as read_file};
use ccrnn_lab::recordings::{self, ImagingSetup};
use numpy::{IntoPyArray, PyArray1};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// The files and options of an imaging fit, checked.
#[allow(clippy::too_many_arguments)]
fn imaging_setup(
    files: Vec<PathBuf>,
    inputs: Option<Vec<PathBuf>>,
    label_table: Option<PathBuf>,
    read: ReadOptions,
    observe: ObserveOptions,
    one_session: bool,
    saturation: Option<f64>,
    affine: bool,
) -> PyResult<ImagingSetup> {
    if files.is_empty() {
        return Err(bad("files: give at least one imaging file"));
    }
    Ok(ImagingSetup {
        files,
        read,
        label_table,
        inputs: inputs.unwrap_or_default(),
        observe: ObserveOptions {
            one_session,
            saturation,
            affine,
            ..observe
        },
    })
}

/// Reads the setup's files for `student`, with the GIL released.
fn load(py: Python<'_>, student: &Model, setup: &ImagingSetup) -> PyResult<recordings::Loaded> {
    let mf = ModelFile {
        model: student.inner.clone(),
        recorded: None,
        ids: student.ids.clone(),
        labels: student.labels.clone(),
    };
    py.detach(|| recordings::load(setup, &mf)).map_err(err)
}

fn read_options(
    series: Option<String>,
    label_column: Option<String>,
    frame_rate: Option<f64>,
    neuropil: f64,
) -> ReadOptions {
    ReadOptions {
        series,
        label_column,
        frame_rate,
        neuropil,
    }
}

/// Reads a calcium-imaging recording: an NWB 2.x file (a `RoiResponseSeries` under
/// `/processing/<module>/DfOverF` or `.../Fluorescence`; `series` picks one, `label_column`
/// the ROI table's column of labels), a suite2p folder (`F − neuropil · Fneu` of the ROIs
/// `iscell.npy` accepts; frame rate from `ops.npy` or `frame_rate`), a labelled `.npz`
/// (`signal`, `labels`, `times` or `rate`) or a CSV (`time,<label>,…`). Returns a dict:
/// `signal` `(frames, ROIs)` float32 (NaN missing), `times` `(frames,)` float64 seconds,
/// `labels` (list of str), `unit`, `source`. HDF5 is read in pure Rust: no h5py needed.
#[pyfunction]
#[pyo3(signature = (path, *, series=None, label_column=None, frame_rate=None, neuropil=0.7))]
pub fn read_imaging<'py>(
    py: Python<'py>,
    path: PathBuf,
    series: Option<String>,
    label_column: Option<String>,
    frame_rate: Option<f64>,
    neuropil: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let opts = read_options(series, label_column, frame_rate, neuropil);
    let im = py.detach(|| read_file(&path, &opts)).map_err(err)?;
    let d = PyDict::new(py);
    d.set_item("signal", im.signal.into_pyarray(py))?;
    d.set_item("times", im.times.into_pyarray(py))?;
    d.set_item("labels", im.labels)?;
    d.set_item("unit", im.unit)?;
    d.set_item("source", im.source)?;
    Ok(d)
}

/// Fits `student` to calcium-imaging recordings (`files`: one session each, fitted jointly;
/// any format `read_imaging` reads), as `ccrnn fit --imaging` does. ROIs are matched to the
/// student's neurons by label (its `labels`, else its body `ids`, else row indices; through
/// `label_table`, a CSV `roi,neuron`, if given); each session starts at its first frame from
/// the model's initial state, driven by `inputs` (files with `inputs`/`times` or a CSV
/// `time,<channel>,…`: one for all sessions or one per session; none: no input). The model's
/// activity is read at the frame times (`sampling`: `instant` or `frame-average`) through the
/// `indicator` filter (`gcamp6f`, `gcamp6m`, `gcamp6s`, `jgcamp8f`/`m`/`s` or `none`;
/// `tau_ca_s` overrides its decay, `fit_tau_ca` fits it) and a scale and offset per session
/// and neuron (least squares at every step; `one_session=True`: the files are trials of one
/// session sharing them). `saturation=K`: a saturating indicator, `x / (x + K)` of the filtered
/// activity `x ≥ 0` (K in activity units). `affine=False`: no scale and offset (the signal is in
/// the model's activity units). `time_unit_s`: seconds per model time unit. Missing
/// values (NaN) are left out. Other arguments as for `fit`.
///
/// Returns a `FitResult` whose `prediction` is a dict: `times` `(sessions, frames)` seconds
/// from each session's first frame (NaN pads), `measured` and `predicted` `(sessions, frames,
/// M)` (the recorded neurons' signal), `activity` `(sessions, frames, N)` (every neuron's
/// activity at the frames: the prediction of the unrecorded ones), `recorded` (M neuron
/// indices), `scale`, `offset` `(sessions, M)`, `tau_ca` `(M,)` model time units (if
/// filtered), `one_minus_rho` `(M,)` (each recorded neuron's fit), `matchings` (per file:
/// `pairs` (ROI column, neuron), `unmatched`, `ambiguous`, `unrecorded`).
#[pyfunction]
#[pyo3(signature = (student, files, *, inputs=None, label_table=None, series=None, label_column=None, frame_rate=None, neuropil=0.7, indicator="gcamp6s", tau_ca_s=None, fit_tau_ca=false, time_unit_s=1.0, sampling="instant", one_session=false, saturation=None, affine=true, method="lbfgs", steps=None, train=None, seed=0, init="permuted", gain_factor=0.5, callback=None, report_every=10))]
#[allow(clippy::too_many_arguments)]
pub fn fit_imaging(
    py: Python<'_>,
    student: &Model,
    files: Vec<PathBuf>,
    inputs: Option<Vec<PathBuf>>,
    label_table: Option<PathBuf>,
    series: Option<String>,
    label_column: Option<String>,
    frame_rate: Option<f64>,
    neuropil: f64,
    indicator: &str,
    tau_ca_s: Option<f64>,
    fit_tau_ca: bool,
    time_unit_s: f64,
    sampling: &str,
    one_session: bool,
    saturation: Option<f64>,
    affine: bool,
    method: &str,
    steps: Option<u64>,
    train: Option<Vec<String>>,
    seed: u64,
    init: &str,
    gain_factor: f64,
    callback: Option<Py<PyAny>>,
    report_every: u64,
) -> PyResult<FitResult> {
    let setup = imaging_setup(
        files,
        inputs,
        label_table,
        read_options(series, label_column, frame_rate, neuropil),
        ObserveOptions::parse(indicator, tau_ca_s, fit_tau_ca, time_unit_s, sampling, |o| {
            o.to_string()
        })
        .map_err(bad)?,
        one_session,
        saturation,
        affine,
    )?;
    let loaded = load(py, student, &setup)?;
    let cfg = fit_config(method, steps, None, None, None, None, seed, train, report_every)?;
    let valid = cfg.validate().map_err(err)?;
    let start = start_point(student, init, gain_factor, seed)?;
    let set = loaded.sessions.recorded.clone();
    let data = Data::Observed {
        recorded: set.clone(),
        obs: Box::new(loaded.sessions.obs.clone()),
    };
    let (mut result, out) = run_fit(
        py,
        student,
        start,
        loaded.sessions.stim.clone(),
        data,
        &valid,
        set,
        callback,
        report_every,
    )?;
    let obs = out
        .observation
        .as_ref()
        .ok_or_else(|| bad("the fit returned no observation model"))?;
    let p = py
        .detach(|| recordings::predict(&out.model, &loaded, obs))
        .map_err(err)?;
    let d = PyDict::new(py);
    d.set_item("times", p.times.into_pyarray(py))?;
    d.set_item("measured", p.measured.into_pyarray(py))?;
    d.set_item("predicted", p.predicted.into_pyarray(py))?;
    d.set_item("activity", p.activity.into_pyarray(py))?;
    d.set_item("recorded", p.recorded)?;
    if let (Some(s), Some(o)) = (p.observation.scale, p.observation.offset) {
        d.set_item("scale", s.into_pyarray(py))?;
        d.set_item("offset", o.into_pyarray(py))?;
    }
    if let Some(t) = p.observation.tau {
        d.set_item("tau_ca", t.into_pyarray(py))?;
    }
    let rho: Vec<f64> = p.fits.iter().map(|f| f.corr_err).collect();
    d.set_item("one_minus_rho", PyArray1::from_vec(py, rho))?;
    d.set_item("matchings", to_dict(py, &loaded.sessions.matchings)?)?;
    result.prediction = Some(d.into_any().unbind());
    Ok(result)
}

/// Cross-validates on held-out neurons, as `ccrnn cv` does: the recorded neurons of the
/// imaging `files` (read and seen as by `fit_imaging`) are split into `folds`; each fold's
/// neurons are predicted by models fitted to the others: `models` among "connectome" (the
/// student), "shuffled" (its labels shuffled), "no-recurrence" (W and gap junctions removed),
/// "unconstrained" (a dense network, all weights fitted, held-out neurons matched
/// optimistically); default all. Fits: `method` (default Gauss–Newton), `steps`, `train`,
/// `init`, `gain_factor`, `seed` as for `fit`.
///
/// Returns a dict: `scores` (a list of dicts: model, fold, neuron, corr, explained_variance;
/// correlation and explained variance within sessions, through the observation model with a
/// least-squares scale and offset), `summary` (per model: median and mean correlation, the
/// folds' range of medians, median explained variance, seconds), `folds` (the neurons of each
/// fold), and the connectome student's held-out prediction of every recorded neuron:
/// `predicted`, `measured` `(sessions, frames, M)`, `times`, `recorded`.
#[pyfunction]
#[pyo3(signature = (student, files, *, folds=5, models=None, inputs=None, label_table=None, series=None, label_column=None, frame_rate=None, neuropil=0.7, indicator="gcamp6s", tau_ca_s=None, fit_tau_ca=false, time_unit_s=1.0, sampling="instant", one_session=false, saturation=None, affine=true, method="gauss-newton", steps=None, train=None, seed=0, init="permuted", gain_factor=0.5))]
#[allow(clippy::too_many_arguments)]
pub fn cross_validate<'py>(
    py: Python<'py>,
    student: &Model,
    files: Vec<PathBuf>,
    folds: usize,
    models: Option<Vec<String>>,
    inputs: Option<Vec<PathBuf>>,
    label_table: Option<PathBuf>,
    series: Option<String>,
    label_column: Option<String>,
    frame_rate: Option<f64>,
    neuropil: f64,
    indicator: &str,
    tau_ca_s: Option<f64>,
    fit_tau_ca: bool,
    time_unit_s: f64,
    sampling: &str,
    one_session: bool,
    saturation: Option<f64>,
    affine: bool,
    method: &str,
    steps: Option<u64>,
    train: Option<Vec<String>>,
    seed: u64,
    init: &str,
    gain_factor: f64,
) -> PyResult<Bound<'py, PyDict>> {
    use ccrnn_lab::recordings::cv::{CvConfig, CvModel, cross_validate as run};
    let models = match models {
        None => CvModel::ALL.to_vec(),
        Some(names) => names
            .iter()
            .map(|n| {
                CvModel::ALL.into_iter().find(|k| k.name() == n).ok_or_else(|| {
                    bad(format!(
                        "models: {n:?} is not one of connectome, shuffled, no-recurrence, unconstrained"
                    ))
                })
            })
            .collect::<PyResult<_>>()?,
    };
    let setup = imaging_setup(
        files,
        inputs,
        label_table,
        read_options(series, label_column, frame_rate, neuropil),
        ObserveOptions::parse(indicator, tau_ca_s, fit_tau_ca, time_unit_s, sampling, |o| {
            o.to_string()
        })
        .map_err(bad)?,
        one_session,
        saturation,
        affine,
    )?;
    let loaded = load(py, student, &setup)?;
    let fit = fit_config(method, steps, None, None, None, None, seed, train, 10)?;
    fit.validate().map_err(err)?;
    let start = ccrnn_fit::student::StudentConfig {
        init: init.parse().map_err(err)?,
        gain_factor,
    };
    start.validate().map_err(err)?;
    let cfg = CvConfig {
        folds,
        seed,
        models,
        fit,
        student: start,
    };
    let r = py
        .detach(|| run(&student.inner, &loaded, &cfg, &mut |_, _| {}))
        .map_err(err)?;
    let d = PyDict::new(py);
    d.set_item("scores", to_dict(py, &r.scores)?)?;
    d.set_item("summary", to_dict(py, &r.summary())?)?;
    d.set_item("folds", r.folds.clone())?;
    if let Some(p) = r.predicted {
        d.set_item("predicted", p.into_pyarray(py))?;
    }
    d.set_item("measured", loaded.sessions.obs.data.clone().into_pyarray(py))?;
    d.set_item("times", recordings::session_times(&loaded).into_pyarray(py))?;
    d.set_item("recorded", loaded.sessions.recorded.indices().to_vec())?;
    Ok(d)
}
