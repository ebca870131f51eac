//! The Gauss–Newton theory from Python: spectra and which neurons to record next.

use crate::fitting::to_dict;
use crate::model::Model;
use crate::{bad, err};
use ccrnn_analysis::{GnOptions, Spectrum, gauss_newton as gn, neuron_blocks, recording_plan};
use ccrnn_core::{GroupSet, Stimulus};
use numpy::{IntoPyArray, PyReadonlyArray3};
use pyo3::prelude::*;
use pyo3::types::PyDict;

fn options(groups: Option<Vec<String>>, rows: Option<Vec<usize>>, time_stride: usize) -> PyResult<GnOptions> {
    let names = groups.unwrap_or_else(|| vec!["g".into(), "b".into()]);
    let groups = GroupSet::parse(&names).map_err(|e| bad(format!("groups: {e}")))?;
    Ok(GnOptions {
        groups,
        rows,
        time_stride,
        ..GnOptions::default()
    })
}

/// The model and inputs in f64 (the theory's precision) and the options.
fn prepare(
    model: &Model,
    inputs: PyReadonlyArray3<'_, f32>,
    groups: Option<Vec<String>>,
    rows: Option<Vec<usize>>,
    time_stride: usize,
) -> PyResult<(ccrnn_core::Model<f64>, Stimulus<f64>, GnOptions)> {
    let opts = options(groups, rows, time_stride)?;
    Ok((
        model.inner.cast::<f64>(),
        Stimulus::new(inputs.as_array().mapv(f64::from)),
        opts,
    ))
}

/// The Gauss–Newton matrix `H = Σ_t J_tᵀ J_t` (`J_t = ∂a(t)/∂θ`, θ = the `groups`, rows = the
/// `neurons`, default all; every `time_stride`-th step of noise-free trials of `inputs`) and
/// its spectrum: a dict with `H` `(P, P)`, `eigenvalues` `(P,)` decreasing and `eigenvectors`
/// `(P, P)` as columns (float64).
#[pyfunction]
#[pyo3(signature = (model, inputs, *, neurons=None, groups=None, time_stride=10))]
pub fn gauss_newton<'py>(
    py: Python<'py>,
    model: &Model,
    inputs: PyReadonlyArray3<'_, f32>,
    neurons: Option<Vec<usize>>,
    groups: Option<Vec<String>>,
    time_stride: usize,
) -> PyResult<Bound<'py, PyDict>> {
    let (m, stim, opts) = prepare(model, inputs, groups, neurons, time_stride)?;
    let (h, spec) = py
        .detach(|| {
            let h = gn(&m, &stim, &opts)?;
            let s = Spectrum::of(&h)?;
            Ok::<_, ccrnn_analysis::Error>((h, s))
        })
        .map_err(err)?;
    let d = PyDict::new(py);
    d.set_item("H", h.into_pyarray(py))?;
    d.set_item("eigenvalues", spec.values.into_pyarray(py))?;
    d.set_item("eigenvectors", spec.vectors.into_pyarray(py))?;
    Ok(d)
}

/// Which neurons to record next (SCIENCE.md §7): the greedy order that removes the most
/// Gauss–Newton uncertainty, after the neurons `recorded` already. Returns a dict with
/// `order` (neurons), `scores` (fraction of tr H each removes), `remaining` (predicted remaining
/// error after each), `initial`, and the `worst` and mean `random` curves for comparison.
#[pyfunction]
#[pyo3(signature = (model, inputs, *, recorded=None, groups=None, time_stride=10, k_max=4, n_random=10, seed=0))]
#[allow(clippy::too_many_arguments)]
pub fn prioritize<'py>(
    py: Python<'py>,
    model: &Model,
    inputs: PyReadonlyArray3<'_, f32>,
    recorded: Option<Vec<usize>>,
    groups: Option<Vec<String>>,
    time_stride: usize,
    k_max: usize,
    n_random: u64,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let (m, stim, opts) = prepare(model, inputs, groups, None, time_stride)?;
    let already = recorded.unwrap_or_default();
    let out = py
        .detach(|| {
            let blocks = neuron_blocks(&m, &stim, &opts, k_max)?;
            let plan = recording_plan(&blocks, &already, n_random, seed)?;
            let (best, worst, mean) = (plan.best, plan.worst, plan.random_mean);
            Ok::<_, ccrnn_analysis::Error>(serde_json::json!({
                "order": best.order, "scores": best.scores, "remaining": best.remaining,
                "initial": best.initial, "worst": worst.remaining, "random": mean,
            }))
        })
        .map_err(err)?;
    to_dict(py, &out)
}
