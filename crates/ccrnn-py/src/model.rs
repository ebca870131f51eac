//! `ccrnn.Model`: the rate network, built from arrays or a connectome, saved and loaded as the
//! command line's `.npz`, simulated on NumPy inputs; the paper's sine task and E/I teacher.

use crate::connectome::Connectome;
use crate::fitting::Progress;
use crate::{bad, err};
use ccrnn_core::{
    Activation, Backend, Beta, Connectivity, GainPlacement, NeuronParams, SimOptions, Stimulus, simulate,
};
use ccrnn_lab::{EiSpec, SineTask};
use numpy::{IntoPyArray, PyArray1, PyArray2, PyArray3, PyReadonlyArray1, PyReadonlyArray2, PyReadonlyArray3};
use pyo3::prelude::*;
use pyo3::types::PyDict;
use std::path::PathBuf;

/// A connectome-constrained rate network (float32), SCIENCE.md §2:
/// `h[t+1] = h[t] + dt/τ (−h[t] + W a[t] + u[t] @ W_in)`, `a = g⁺ φ_β(h + b)`, `y = a @ W_out`.
#[pyclass(module = "ccrnn")]
#[derive(Clone)]
pub struct Model {
    pub(crate) inner: ccrnn_core::Model<f32>,
    pub(crate) ids: Option<Vec<u64>>,
    pub(crate) labels: Option<Vec<String>>,
    pub(crate) recorded: Option<Vec<usize>>,
}

impl Model {
    pub(crate) fn wrap(inner: ccrnn_core::Model<f32>) -> Self {
        Self {
            inner,
            ids: None,
            labels: None,
            recorded: None,
        }
    }
}

/// Single-neuron parameters and the rest of a model, from keyword arguments.
#[allow(clippy::too_many_arguments)]
fn assemble(
    conn: Connectivity<f32>,
    backend: Backend,
    g: Option<PyReadonlyArray1<'_, f32>>,
    b: Option<PyReadonlyArray1<'_, f32>>,
    tau: Option<PyReadonlyArray1<'_, f32>>,
    beta: Option<Bound<'_, PyAny>>,
    h0: Option<PyReadonlyArray1<'_, f32>>,
    w_in: Option<PyReadonlyArray2<'_, f32>>,
    w_out: Option<PyReadonlyArray2<'_, f32>>,
    dt: f32,
    activation: &str,
    gain: &str,
) -> PyResult<ccrnn_core::Model<f32>> {
    let n = conn.pattern.n();
    let mut p = NeuronParams::default_for(n);
    for (name, src, dst) in [
        ("g", g, &mut p.g),
        ("b", b, &mut p.b),
        ("tau", tau, &mut p.tau),
        ("h0", h0, &mut p.h0),
    ] {
        if let Some(a) = src {
            let a = a.as_array();
            if a.len() != n {
                return Err(bad(format!("{name}: expected {n} neurons, got {}", a.len())));
            }
            dst.assign(&a);
        }
    }
    p.beta = match beta {
        None => Beta::Global(1.0),
        Some(v) => match v.extract::<f32>() {
            Ok(x) => Beta::Global(x),
            Err(_) => {
                let a: PyReadonlyArray1<'_, f32> = v
                    .extract()
                    .map_err(|_| bad("beta: expected a float or a float32 array of N values"))?;
                Beta::PerNeuron(a.as_array().to_owned())
            }
        },
    };
    let activation = Activation::from_name(activation).ok_or_else(|| {
        bad(format!(
            "activation {activation:?}: expected softplus, relu, tanh, linear or sigmoid"
        ))
    })?;
    let gain = match gain {
        "presynaptic" => GainPlacement::Presynaptic,
        "postsynaptic" => GainPlacement::Postsynaptic,
        other => return Err(bad(format!("gain {other:?}: expected presynaptic or postsynaptic"))),
    };
    let mut bld = ccrnn_core::Model::builder(conn)
        .backend(backend)
        .params(p)
        .activation(activation)
        .gain(gain)
        .dt(dt);
    if let Some(w) = w_in {
        bld = bld.w_in(w.as_array().to_owned());
    }
    if let Some(w) = w_out {
        bld = bld.w_out(w.as_array().to_owned());
    }
    bld.build().map_err(err)
}

#[pymethods]
impl Model {
    /// A model from a dense weight matrix `weights` `(N, N)`, `W[post, pre]`, float32.
    /// `mask` (bool `(N, N)`): which synapses exist (default: the non-zeros of `weights`);
    /// `signs` (int8 `(N,)`): presynaptic signs (+1, −1, 0 = unconstrained; default 0).
    /// Neuron parameters `g`, `b`, `tau`, `h0` (float32 `(N,)`; defaults 1, 0, 1, 0), `beta` (a
    /// float or `(N,)`), `w_in` `(n_in, N)`, `w_out` `(N, n_out)`, `dt` (time units of τ),
    /// `activation` (softplus, relu, tanh, linear, sigmoid), `gain` (presynaptic or
    /// postsynaptic), `backend` (dense or csr).
    #[new]
    #[pyo3(signature = (weights, *, mask=None, signs=None, g=None, b=None, tau=None, beta=None, h0=None, w_in=None, w_out=None, dt=0.05, activation="softplus", gain="presynaptic", backend="dense"))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        weights: PyReadonlyArray2<'_, f32>,
        mask: Option<PyReadonlyArray2<'_, bool>>,
        signs: Option<PyReadonlyArray1<'_, i8>>,
        g: Option<PyReadonlyArray1<'_, f32>>,
        b: Option<PyReadonlyArray1<'_, f32>>,
        tau: Option<PyReadonlyArray1<'_, f32>>,
        beta: Option<Bound<'_, PyAny>>,
        h0: Option<PyReadonlyArray1<'_, f32>>,
        w_in: Option<PyReadonlyArray2<'_, f32>>,
        w_out: Option<PyReadonlyArray2<'_, f32>>,
        dt: f32,
        activation: &str,
        gain: &str,
        backend: &str,
    ) -> PyResult<Self> {
        let w = weights.as_array();
        let n = w.nrows();
        let signs = match signs {
            Some(s) => s.as_array().to_vec(),
            None => vec![0; n],
        };
        let mask = mask.as_ref().map(|m| m.as_array());
        let conn = Connectivity::from_dense(w, mask, signs).map_err(err)?;
        let backend = match backend {
            "dense" => Backend::Dense,
            "csr" => Backend::Csr,
            other => return Err(bad(format!("backend {other:?}: expected dense or csr"))),
        };
        let m = assemble(conn, backend, g, b, tau, beta, h0, w_in, w_out, dt, activation, gain)?;
        Ok(Self::wrap(m))
    }

    /// A model on a connectome: `W = sign(pre) × count × scale` (CSR backend), the connectome's
    /// ids kept; other keyword arguments as for `Model(...)`.
    #[staticmethod]
    #[pyo3(signature = (connectome, *, scale=1.0, g=None, b=None, tau=None, beta=None, h0=None, w_in=None, w_out=None, dt=0.05, activation="softplus", gain="presynaptic"))]
    #[allow(clippy::too_many_arguments)]
    fn from_connectome(
        connectome: &Connectome,
        scale: f64,
        g: Option<PyReadonlyArray1<'_, f32>>,
        b: Option<PyReadonlyArray1<'_, f32>>,
        tau: Option<PyReadonlyArray1<'_, f32>>,
        beta: Option<Bound<'_, PyAny>>,
        h0: Option<PyReadonlyArray1<'_, f32>>,
        w_in: Option<PyReadonlyArray2<'_, f32>>,
        w_out: Option<PyReadonlyArray2<'_, f32>>,
        dt: f32,
        activation: &str,
        gain: &str,
    ) -> PyResult<Self> {
        if !(scale.is_finite() && scale > 0.0) {
            return Err(bad(format!("scale = {scale}: must be > 0")));
        }
        let conn = connectome.inner.connectivity::<f32>(scale).map_err(err)?;
        let m = assemble(
            conn,
            Backend::Csr,
            g,
            b,
            tau,
            beta,
            h0,
            w_in,
            w_out,
            dt,
            activation,
            gain,
        )?;
        Ok(Self {
            inner: m,
            ids: Some(connectome.inner.ids.clone()),
            labels: ccrnn_io::model_file::connectome_labels(&connectome.inner),
            recorded: None,
        })
    }

    /// Reads a model file written by the command line or by `save`.
    #[staticmethod]
    fn load(py: Python<'_>, path: PathBuf) -> PyResult<Self> {
        let f = py.detach(|| ccrnn_io::load_model(&path)).map_err(err)?;
        Ok(Self {
            inner: f.model,
            ids: f.ids,
            labels: f.labels,
            recorded: f.recorded,
        })
    }

    /// Writes the model as `.npz` (the command line's format; NumPy reads it).
    fn save(&self, py: Python<'_>, path: PathBuf) -> PyResult<()> {
        py.detach(|| {
            ccrnn_io::save_model_with_ids(
                &path,
                &self.inner,
                self.recorded.as_deref(),
                self.ids.as_deref(),
                self.labels.as_deref(),
            )
        })
        .map_err(err)
    }

    /// Simulates trials. `inputs`: float32 `(trials, time, n_in)` (`n_in` may be 0); `h0`:
    /// per-trial initial states `(trials, N)` (default: the model's); `noise`: process noise σ
    /// added to h each step, from `seed` (trial k uses stream k: the same seed gives the same
    /// numbers whatever the thread count). Returns a dict of float32 arrays: `activity`, `h`
    /// `(trials, time, N)`, `readout` `(trials, time, n_out)` and the `inputs` (and
    /// `initial_state` if given): a recording `fit` takes as it is.
    #[pyo3(signature = (inputs, *, h0=None, noise=0.0, seed=0))]
    fn simulate<'py>(
        &self,
        py: Python<'py>,
        inputs: PyReadonlyArray3<'_, f32>,
        h0: Option<PyReadonlyArray2<'_, f32>>,
        noise: f64,
        seed: u64,
    ) -> PyResult<Bound<'py, PyDict>> {
        let stim = Stimulus {
            u: inputs.as_array().to_owned(),
            h0: h0.map(|h| h.as_array().to_owned()),
        };
        let d = PyDict::new(py);
        d.set_item("inputs", stim.u.clone().into_pyarray(py))?;
        if let Some(h0) = &stim.h0 {
            d.set_item("initial_state", h0.clone().into_pyarray(py))?;
        }
        let traj = py
            .detach(|| simulate(&self.inner, &stim, &SimOptions::noisy(noise, seed)))
            .map_err(err)?;
        d.set_item("activity", traj.a.into_pyarray(py))?;
        d.set_item("h", traj.h.into_pyarray(py))?;
        d.set_item("readout", traj.y.into_pyarray(py))?;
        Ok(d)
    }

    /// Number of neurons N.
    #[getter]
    fn n(&self) -> usize {
        self.inner.n()
    }
    /// Number of input channels.
    #[getter]
    fn n_in(&self) -> usize {
        self.inner.n_in()
    }
    /// Number of readout channels.
    #[getter]
    fn n_out(&self) -> usize {
        self.inner.n_out()
    }
    /// Euler step.
    #[getter]
    fn dt(&self) -> f32 {
        self.inner.dt
    }
    /// Nonlinearity name.
    #[getter]
    fn activation(&self) -> &'static str {
        self.inner.activation.name()
    }
    /// Gains, `(N,)` float32.
    #[getter]
    fn g<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.inner.params.g.clone().into_pyarray(py)
    }
    /// Biases, `(N,)` float32.
    #[getter]
    fn b<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.inner.params.b.clone().into_pyarray(py)
    }
    /// Time constants, `(N,)` float32.
    #[getter]
    fn tau<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.inner.params.tau.clone().into_pyarray(py)
    }
    /// Initial state, `(N,)` float32.
    #[getter]
    fn h0<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<f32>> {
        self.inner.params.h0.clone().into_pyarray(py)
    }
    /// Softplus smoothness: a float (global) or `(N,)` float32 (per neuron).
    #[getter]
    fn beta(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(match &self.inner.params.beta {
            Beta::Global(b) => b.into_pyobject(py)?.into_any().unbind(),
            Beta::PerNeuron(v) => v.clone().into_pyarray(py).into_any().unbind(),
        })
    }
    /// Input weights, `(n_in, N)` float32.
    #[getter]
    fn w_in<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        self.inner.w_in.clone().into_pyarray(py)
    }
    /// Readout weights, `(N, n_out)` float32.
    #[getter]
    fn w_out<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        self.inner.w_out.clone().into_pyarray(py)
    }
    /// Presynaptic signs, `(N,)` int8.
    #[getter]
    fn signs<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i8>> {
        PyArray1::from_vec(py, self.inner.signs.clone())
    }
    /// Connectome body ids of the rows (uint64), if built on a connectome.
    #[getter]
    fn ids<'py>(&self, py: Python<'py>) -> Option<Bound<'py, PyArray1<u64>>> {
        self.ids.clone().map(|v| PyArray1::from_vec(py, v))
    }
    /// Neuron names of the rows (worm names, cell types), if the connectome gave them.
    #[getter]
    fn labels(&self) -> Option<Vec<String>> {
        self.labels.clone()
    }
    /// Neurons a student was fitted to, if any.
    #[getter]
    fn recorded(&self) -> Option<Vec<usize>> {
        self.recorded.clone()
    }
    /// Dense weights `W[post, pre]`, `(N, N)` float32.
    fn weights<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray2<f32>> {
        self.inner.coupling.to_dense().into_pyarray(py)
    }
    fn __repr__(&self) -> String {
        format!(
            "Model(n={}, n_in={}, n_out={}, activation={:?}, synapses={})",
            self.inner.n(),
            self.inner.n_in(),
            self.inner.n_out(),
            self.inner.activation.name(),
            self.inner.coupling.pattern().nnz()
        )
    }
}

/// A float32 array of three dimensions owned by Python.
type Arr3<'py> = Bound<'py, PyArray3<f32>>;

/// Trials of the paper's sine-generation task (SCIENCE.md §3): `(inputs, targets)`, float32
/// `(trials, 400, 2)` and `(trials, 400, 1)`, from `seed`.
#[pyfunction]
#[pyo3(signature = (trials=60, *, seed=0))]
pub fn sine_task<'py>(py: Python<'py>, trials: usize, seed: u64) -> PyResult<(Arr3<'py>, Arr3<'py>)> {
    let task = SineTask {
        trials,
        ..SineTask::default()
    };
    let (stim, y) = task.generate::<f32>(seed).map_err(err)?;
    Ok((stim.u.into_pyarray(py), y.into_pyarray(py)))
}

/// The paper's E/I teacher (SCIENCE.md §4): an `n`-neuron network drawn from `seed` and
/// trained `steps` Adam steps on the sine task (the paper's recipe; the command line's demo uses
/// 700 steps). `callback(step, loss)` is called every 10 steps (e.g. a progress bar).
#[pyfunction]
#[pyo3(signature = (n=300, *, seed=0, steps=700, callback=None))]
pub fn ei_teacher(py: Python<'_>, n: usize, seed: u64, steps: u64, callback: Option<Py<PyAny>>) -> PyResult<Model> {
    let spec = EiSpec { n, ..EiSpec::default() };
    let cfg = ccrnn_fit::FitConfig {
        steps,
        ..EiSpec::training_config(seed)
    };
    let mut progress = Progress::new(callback, 10);
    let (model, _, _) = py
        .detach(|| ccrnn_lab::pipeline::trained_ei(&spec, &SineTask::default(), &cfg, seed, Some(&mut progress)))
        .map_err(err)?;
    progress.finish()?;
    Ok(Model::wrap(model))
}
