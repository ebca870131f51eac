//! Fitting students from Python (with a progress callback and a clean keyboard interrupt),
//! scoring them, and the paper's study.

use crate::model::Model;
use crate::{bad, err};
use ccrnn_core::{NeuronSet, SimOptions, Stimulus, simulate};
use ccrnn_fit::selection::{Choice, Refusal, Selection, Spelling, select};
use ccrnn_fit::student::StudentConfig;
use ccrnn_fit::{Data, FitConfig, Flow, IterState, Observer};
use ccrnn_lab::{Study, run_study};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray2, PyReadonlyArray3};
use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;
use pyo3::types::PyDict;

/// Watches a fit: calls `callback(step, loss)` every `every` steps and checks for Ctrl-C every
/// step (stopping the fit cleanly).
pub(crate) struct Progress {
    callback: Option<Py<PyAny>>,
    every: u64,
    pending: Option<PyErr>,
    pub(crate) interrupted: bool,
}

impl Progress {
    pub(crate) fn new(callback: Option<Py<PyAny>>, every: u64) -> Self {
        Self {
            callback,
            every: every.max(1),
            pending: None,
            interrupted: false,
        }
    }
    /// The error the callback raised, if any.
    pub(crate) fn finish(&mut self) -> PyResult<()> {
        match self.pending.take() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }
}

impl Observer<f32> for Progress {
    fn observe(&mut self, s: &IterState<f32>) -> ccrnn_fit::Result<Flow> {
        Python::attach(|py| {
            if let Err(e) = py.check_signals() {
                if e.is_instance_of::<PyKeyboardInterrupt>(py) {
                    self.interrupted = true;
                } else {
                    self.pending = Some(e);
                }
                return Ok(Flow::Stop);
            }
            if let Some(cb) = &self.callback
                && (s.step == 1 || s.step.is_multiple_of(self.every))
                && let Err(e) = cb.call1(py, (s.step, s.cost))
            {
                if e.is_instance_of::<PyKeyboardInterrupt>(py) {
                    self.interrupted = true;
                } else {
                    self.pending = Some(e);
                }
                return Ok(Flow::Stop);
            }
            Ok(Flow::Continue)
        })
    }
}

/// What `fit` returns.
#[pyclass(module = "ccrnn", frozen, get_all)]
pub struct FitResult {
    /// The fitted student (its `recorded` lists the neurons it was fitted to).
    pub model: Py<Model>,
    /// Training steps at which the loss was logged, `(K,)` int64.
    pub steps: Py<PyArray1<i64>>,
    /// Minibatch loss at those steps, `(K,)` float64.
    pub losses: Py<PyArray1<f64>>,
    /// Steps taken.
    pub final_step: u64,
    /// Minibatch loss of the last step.
    pub final_loss: f64,
    /// Why the fit ended: MaxSteps, TargetReached, NoImprovement or Stopped.
    pub termination: String,
    /// True if a keyboard interrupt stopped the fit (the model then holds the parameters of
    /// the lowest loss seen).
    pub interrupted: bool,
    /// Wall time of the fit.
    pub seconds: f64,
    /// For fits to imaging recordings (`fit_imaging`): what the student predicts at the
    /// frames, a dict (see `fit_imaging`); else None.
    pub prediction: Option<Py<PyAny>>,
}

/// Fits `student`'s parameters (default: gains and biases) to a recording by
/// backpropagation through time. `method="lbfgs"` (the default, as on the command line):
/// full-batch L-BFGS with a line search, 1000 iterations (`lr`, `clip`, `batch_size` do not
/// apply), many times faster to a given error. `method="gauss-newton"`: full-batch
/// Hessian-free Gauss–Newton with Levenberg–Marquardt damping, 50 iterations.
/// `method="adam"` (PyTorch semantics) is the paper's recipe: 7000 steps, lr 1e-3,
/// minibatches of 32 trials, gradient norm clipped at 2.
/// Both roll out with process noise σ = 0.002 during training.
///
/// `recording`: a dict (e.g. `Model.simulate`'s, or `np.load` of a `.npz` the command line
/// wrote) with `inputs` `(trials, time, n_in)`, `activity` `(trials, time, M or N)` and
/// optionally `recorded` (the neurons of the activity's columns), `readout`,
/// `initial_state` `(trials, N)`. Without `recorded`, N columns are neurons 0..N and fewer need
/// `recorded=[…]` naming them (the command line's rule, with its messages). Which neurons to
/// fit: `recorded=[i, j, …]`, or `m=M` random ones (seeded), or `readout=True` (the task output
/// only). `init`: `permuted` (the paper's
/// student: gains and biases permuted within E and I, gains × `gain_factor`) or `model` (start
/// from `student` as it is). Returns a `FitResult`. Ctrl-C stops the fit and keeps the best
/// parameters so far.
#[pyfunction]
#[pyo3(signature = (student, recording, *, recorded=None, m=None, readout=false, method="lbfgs", steps=None, lr=None, batch_size=None, clip=None, noise=None, train=None, seed=0, init="permuted", gain_factor=0.5, callback=None, report_every=10))]
#[allow(clippy::too_many_arguments)]
pub fn fit(
    py: Python<'_>,
    student: &Model,
    recording: &Bound<'_, PyDict>,
    recorded: Option<Vec<usize>>,
    m: Option<usize>,
    readout: bool,
    method: &str,
    steps: Option<u64>,
    lr: Option<f64>,
    batch_size: Option<usize>,
    clip: Option<f64>,
    noise: Option<f64>,
    train: Option<Vec<String>>,
    seed: u64,
    init: &str,
    gain_factor: f64,
    callback: Option<Py<PyAny>>,
    report_every: u64,
) -> PyResult<FitResult> {
    let cfg = fit_config(method, steps, lr, batch_size, clip, noise, seed, train, report_every)?;
    let valid = cfg.validate().map_err(err)?;
    let model = &student.inner;
    let n = model.n();
    let get3 = |key: &str| -> PyResult<Option<ndarray::Array3<f32>>> {
        match recording.get_item(key)? {
            Some(v) => {
                let a: PyReadonlyArray3<'_, f32> = v.extract().map_err(|_| {
                    bad(format!(
                        "recording[{key:?}]: expected a float32 array (trials, time, ·)"
                    ))
                })?;
                Ok(Some(a.as_array().to_owned()))
            }
            None => Ok(None),
        }
    };
    let inputs = get3("inputs")?.ok_or_else(|| bad("recording: no 'inputs' (trials, time, n_in)"))?;
    let h0 = match recording.get_item("initial_state")? {
        Some(v) => {
            let a: PyReadonlyArray2<'_, f32> = v
                .extract()
                .map_err(|_| bad("recording['initial_state']: expected a float32 array (trials, N)"))?;
            Some(a.as_array().to_owned())
        }
        None => None,
    };
    let stim = Stimulus { u: inputs, h0 };
    let (set, data) = if readout {
        let y = get3("readout")?.ok_or_else(|| bad("readout=True needs recording['readout']"))?;
        (NeuronSet::default(), Data::Readout { data: y })
    } else {
        let act = get3("activity")?.ok_or_else(|| bad("recording: no 'activity' (or readout=True)"))?;
        let labels: Option<Vec<usize>> = match recording.get_item("recorded")? {
            Some(v) => Some(
                v.extract()
                    .map_err(|_| bad("recording['recorded']: expected a list of neuron indices"))?,
            ),
            None => None,
        };
        let choice = Choice {
            neurons: recorded.as_deref(),
            m,
            seed,
        };
        let Selection { set, columns } = select(n, act.shape()[2], labels.as_deref(), choice, Spelling::PYTHON)
            .map_err(|e| match e {
                Refusal::Recording(m) => bad(format!("recording: {m}")),
                Refusal::Choice(m) => bad(m),
            })?;
        let data = act.select(ndarray::Axis(2), &columns);
        (set.clone(), Data::Activity { recorded: set, data })
    };
    let start = start_point(student, init, gain_factor, seed)?;
    Ok(run_fit(py, student, start, stim, data, &valid, set, callback, report_every)?.0)
}

/// The fit's configuration from `fit`'s keyword arguments (unset values: the chosen method's
/// defaults; Adam's are the paper's recipe).
#[allow(clippy::too_many_arguments)]
pub(crate) fn fit_config(
    method: &str,
    steps: Option<u64>,
    lr: Option<f64>,
    batch_size: Option<usize>,
    clip: Option<f64>,
    noise: Option<f64>,
    seed: u64,
    train: Option<Vec<String>>,
    report_every: u64,
) -> PyResult<FitConfig> {
    let method = ccrnn_fit::MethodKind::from_name(method).ok_or_else(|| {
        bad(format!(
            "method {method:?}: expected \"adam\", \"lbfgs\" or \"gauss-newton\""
        ))
    })?;
    let d = FitConfig::for_method(method);
    Ok(FitConfig {
        method,
        steps: steps.unwrap_or(d.steps),
        lr: lr.unwrap_or(d.lr),
        batch_size: batch_size.unwrap_or(d.batch_size),
        clip: clip.unwrap_or(d.clip),
        noise_std: noise.unwrap_or(d.noise_std),
        seed,
        train: train.unwrap_or(d.train),
        report_every,
        ..FitConfig::default()
    })
}

/// The student's starting point: `init` (`permuted` or `model`) with `gain_factor`.
pub(crate) fn start_point(
    student: &Model,
    init: &str,
    gain_factor: f64,
    seed: u64,
) -> PyResult<ccrnn_core::Model<f32>> {
    let start_cfg = StudentConfig {
        init: init.parse().map_err(err)?,
        gain_factor,
    };
    start_cfg.validate().map_err(err)?;
    Ok(start_cfg.start(&student.inner, seed))
}

/// Runs a fit with the GIL released, reporting to `callback`; returns what Python sees and
/// the full outcome.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_fit(
    py: Python<'_>,
    student: &Model,
    start: ccrnn_core::Model<f32>,
    stim: Stimulus<f32>,
    data: Data<f32>,
    valid: &ccrnn_fit::ValidFitConfig,
    set: NeuronSet,
    callback: Option<Py<PyAny>>,
    report_every: u64,
) -> PyResult<(FitResult, ccrnn_fit::FitOutcome<f32>)> {
    let mut progress = Progress::new(callback, report_every);
    let t0 = std::time::Instant::now();
    let mut out = py
        .detach(|| ccrnn_fit::fit(start, stim, data, valid, None, Some(&mut progress)))
        .map_err(err)?;
    let seconds = t0.elapsed().as_secs_f64();
    progress.finish()?;
    // the parameters of the lowest loss seen, paired with the θ it was measured at
    if progress.interrupted && !out.state.best_theta.is_empty() {
        out.model.set_theta(valid.groups, &out.state.best_theta).map_err(err)?;
    }
    let result = Model {
        inner: out.model.clone(),
        ids: student.ids.clone(),
        labels: student.labels.clone(),
        recorded: Some(set.indices().to_vec()),
    };
    let r = FitResult {
        model: Py::new(py, result)?,
        steps: out
            .history
            .step
            .iter()
            .map(|&s| s as i64)
            .collect::<Vec<_>>()
            .into_pyarray(py)
            .unbind(),
        losses: out.history.loss.clone().into_pyarray(py).unbind(),
        final_step: out.state.step,
        final_loss: out.state.cost,
        termination: format!("{:?}", out.termination),
        interrupted: progress.interrupted,
        seconds,
        prediction: None,
    };
    Ok((r, out))
}

/// A serialisable value as Python objects (a struct or map as a dict; NaN stays a float).
pub(crate) fn to_dict<'py>(py: Python<'py>, v: &impl serde::Serialize) -> PyResult<Bound<'py, PyAny>> {
    pythonize::pythonize(py, v).map_err(err)
}

fn stimulus(inputs: PyReadonlyArray3<'_, f32>, h0: Option<PyReadonlyArray2<'_, f32>>) -> Stimulus<f32> {
    Stimulus {
        u: inputs.as_array().to_owned(),
        h0: h0.map(|h| h.as_array().to_owned()),
    }
}

/// Scores `student` against `teacher` on noise-free trials of `inputs` (SCIENCE.md §6): a dict
/// with recorded/unrecorded MSE and 1 − mean |ρ|, readout MSE, gain and bias RMS errors.
/// `recorded` defaults to the student's.
#[pyfunction]
#[pyo3(signature = (teacher, student, inputs, *, recorded=None, h0=None))]
pub fn evaluate<'py>(
    py: Python<'py>,
    teacher: &Model,
    student: &Model,
    inputs: PyReadonlyArray3<'_, f32>,
    recorded: Option<Vec<usize>>,
    h0: Option<PyReadonlyArray2<'_, f32>>,
) -> PyResult<Bound<'py, PyAny>> {
    let stim = stimulus(inputs, h0);
    let rec = recorded.or_else(|| student.recorded.clone()).unwrap_or_default();
    let set = NeuronSet::new(&rec, teacher.inner.n()).map_err(err)?;
    if student.inner.n() != teacher.inner.n() {
        return Err(bad(format!(
            "student has {} neurons, teacher {}",
            student.inner.n(),
            teacher.inner.n()
        )));
    }
    let scores = py
        .detach(|| {
            let reference = simulate(&teacher.inner, &stim, &SimOptions::noiseless())?;
            ccrnn_fit::metrics::evaluate(&teacher.inner, &reference, &student.inner, &stim, &set)
        })
        .map_err(err)?;
    to_dict(py, &scores)
}

/// The shuffled-label baseline (SCIENCE.md §6): the teacher's own activity with neuron labels
/// permuted `n_perm` times, over all neurons: a dict of MSE, 1 − |ρ|, gain and bias RMS errors.
#[pyfunction]
#[pyo3(signature = (teacher, inputs, *, n_perm=20, seed=0, h0=None))]
pub fn shuffle_baseline<'py>(
    py: Python<'py>,
    teacher: &Model,
    inputs: PyReadonlyArray3<'_, f32>,
    n_perm: usize,
    seed: u64,
    h0: Option<PyReadonlyArray2<'_, f32>>,
) -> PyResult<Bound<'py, PyAny>> {
    let stim = stimulus(inputs, h0);
    let all: Vec<usize> = (0..teacher.inner.n()).collect();
    let set = NeuronSet::new(&all, teacher.inner.n()).map_err(err)?;
    let base = py
        .detach(|| {
            let reference = simulate(&teacher.inner, &stim, &SimOptions::noiseless())?;
            Ok::<_, ccrnn_core::Error>(ccrnn_fit::metrics::shuffle_baseline(
                &teacher.inner,
                &reference,
                &set,
                n_perm,
                seed,
            ))
        })
        .map_err(err)?;
    to_dict(py, &base)
}

/// `m` random neurons of `n` (seeded; nested across `m` for one seed), sorted.
#[pyfunction]
#[pyo3(signature = (n, m, *, seed=0))]
pub fn random_recorded(n: usize, m: usize, seed: u64) -> PyResult<Vec<usize>> {
    Ok(ccrnn_fit::student::random_recorded(n, m, seed)
        .map_err(err)?
        .indices()
        .to_vec())
}

/// The paper's study on `teacher` (what `ccrnn demo` runs after training its teacher): for each
/// M in `ms`, `replicates` students fitted to M random neurons (0: the readout only; each
/// replicate its own neurons and initial point) on noisy rollouts of `train_inputs`, scored on
/// noise-free `heldout_inputs`, and the shuffle baseline. `method`: "gauss-newton" (default:
/// full batch, until converged, at most `steps` iterations, default 50), "lbfgs", or "adam"
/// (the paper's optimiser: `steps` default 7000, learning rate `lr`). Returns a dict: `rows`
/// (one dict of held-out scores per student, by M then replicate, with `recorded`,
/// `replicate`, `steps`, `stopped`, `seconds`, `poorly_fitted`) and `baseline`.
/// `callback(row, step, loss)` reports progress.
#[pyfunction]
#[pyo3(signature = (teacher, train_inputs, heldout_inputs, *, ms=None, method="gauss-newton", steps=None, lr=None, replicates=1, seed=0, callback=None))]
#[allow(clippy::too_many_arguments)]
pub fn study<'py>(
    py: Python<'py>,
    teacher: &Model,
    train_inputs: PyReadonlyArray3<'_, f32>,
    heldout_inputs: PyReadonlyArray3<'_, f32>,
    ms: Option<Vec<usize>>,
    method: &str,
    steps: Option<u64>,
    lr: Option<f64>,
    replicates: usize,
    seed: u64,
    callback: Option<Py<PyAny>>,
) -> PyResult<Bound<'py, PyAny>> {
    let kind = ccrnn_fit::MethodKind::from_name(method).ok_or_else(|| {
        bad(format!(
            "method = {method:?}: use \"gauss-newton\", \"lbfgs\" or \"adam\""
        ))
    })?;
    if replicates == 0 {
        return Err(bad("replicates = 0: must be >= 1"));
    }
    let base = FitConfig::for_method(kind);
    let st = Study {
        ms: ms.unwrap_or_else(|| vec![0, 1, 4, 16, 64]),
        fit: FitConfig {
            steps: steps.unwrap_or(base.steps),
            lr: lr.unwrap_or(base.lr),
            seed,
            report_every: if kind == ccrnn_fit::MethodKind::Adam { 10 } else { 1 },
            ..base
        },
        seed,
        replicates,
        ..Study::default()
    };
    let (train, held) = (stimulus(train_inputs, None), stimulus(heldout_inputs, None));
    let mut pending: Option<PyErr> = None;
    let mut progress = |row: usize, s: &IterState<f32>| {
        if let Some(cb) = &callback
            && pending.is_none()
        {
            Python::attach(|py| {
                if let Err(e) = cb.call1(py, (row, s.step, s.cost)) {
                    pending = Some(e);
                }
            });
        }
    };
    let res = py
        .detach(|| run_study(&teacher.inner, &train, &held, &st, &mut progress))
        .map_err(err)?;
    if let Some(e) = pending {
        return Err(e);
    }
    /// One row of the returned dict: the held-out scores, then who the student is.
    #[derive(serde::Serialize)]
    struct Row<'a> {
        #[serde(flatten)]
        heldout: &'a ccrnn_fit::Scores,
        recorded: &'a [usize],
        replicate: usize,
        stopped: &'static str,
        steps: u64,
        seconds: f64,
    }
    let rows: Vec<Row> = res
        .rows
        .iter()
        .map(|r| Row {
            heldout: &r.heldout,
            recorded: &r.recorded,
            replicate: r.replicate,
            stopped: r.termination.name(),
            steps: r.steps,
            seconds: r.seconds,
        })
        .collect();
    #[derive(serde::Serialize)]
    struct Out<'a> {
        rows: Vec<Row<'a>>,
        baseline: &'a ccrnn_fit::metrics::Baseline,
    }
    to_dict(
        py,
        &Out {
            rows,
            baseline: &res.baseline,
        },
    )
}
