//! Python bindings of ccrnn (`import ccrnn`): thin wrappers over the Rust crates, holding no
//! logic of their own. Arrays cross as NumPy arrays shaped `(trials, time, neurons)`; errors
//! are raised as `ccrnn.CcrnnError` (a `ValueError`) carrying the Rust message. Long calls
//! release the GIL.

use pyo3::prelude::*;

mod connectome;
mod fitting;
mod model;
mod recordings;
mod theory;

pyo3::create_exception!(
    _ccrnn,
    CcrnnError,
    pyo3::exceptions::PyValueError,
    "An error reported by ccrnn (bad shapes, values, files, diverging dynamics or training)."
);

/// The error and its chain of causes as one message.
pub(crate) fn err(e: impl std::error::Error) -> PyErr {
    let mut msg = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        let m = s.to_string();
        if !msg.contains(&m) {
            msg.push_str(": ");
            msg.push_str(&m);
        }
        src = s.source();
    }
    CcrnnError::new_err(msg)
}

/// A `CcrnnError` with a message.
pub(crate) fn bad(msg: impl Into<String>) -> PyErr {
    CcrnnError::new_err(msg.into())
}

/// Turns the reproducible mode on or off for this process (like PyTorch's
/// `torch.use_deterministic_algorithms`): on, matrix products and linear algebra run in a fixed
/// order, so a seed gives the same numbers bit for bit on every x86-64 machine (AVX2 or
/// AVX-512), at some cost in speed. Set it before any work.
#[pyfunction]
fn set_reproducible(on: bool) {
    ccrnn_core::kernels::set_reproducible(on);
}

/// Whether the reproducible mode is on (see `set_reproducible`).
#[pyfunction]
fn reproducible() -> bool {
    ccrnn_core::kernels::reproducible()
}

/// The named random streams of run seed `seed`, as the command line derives them (a dict:
/// teacher_task, train_stimulus, heldout_stimulus, student_init, recorded_set,
/// recording_noise, shuffle): `ccrnn.sine_task(20, seed=ccrnn.seeds(0)["heldout_stimulus"])`
/// is the demo's held-out stimulus.
#[pyfunction]
fn seeds(py: Python<'_>, seed: u64) -> PyResult<Bound<'_, pyo3::types::PyDict>> {
    let s = ccrnn_core::Seeds(seed);
    let d = pyo3::types::PyDict::new(py);
    for (k, v) in [
        ("teacher_task", s.teacher_task()),
        ("train_stimulus", s.train_stimulus()),
        ("heldout_stimulus", s.heldout_stimulus()),
        ("student_init", s.student_init()),
        ("recorded_set", s.recorded_set()),
        ("recording_noise", s.recording_noise()),
        ("shuffle", s.shuffle()),
    ] {
        d.set_item(k, v)?;
    }
    Ok(d)
}

#[pymodule]
fn _ccrnn(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CcrnnError", m.py().get_type::<CcrnnError>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<connectome::Connectome>()?;
    m.add_class::<model::Model>()?;
    m.add_class::<fitting::FitResult>()?;
    m.add_function(wrap_pyfunction!(model::sine_task, m)?)?;
    m.add_function(wrap_pyfunction!(model::ei_teacher, m)?)?;
    m.add_function(wrap_pyfunction!(fitting::fit, m)?)?;
    m.add_function(wrap_pyfunction!(fitting::evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(fitting::shuffle_baseline, m)?)?;
    m.add_function(wrap_pyfunction!(fitting::random_recorded, m)?)?;
    m.add_function(wrap_pyfunction!(fitting::study, m)?)?;
    m.add_function(wrap_pyfunction!(recordings::read_imaging, m)?)?;
    m.add_function(wrap_pyfunction!(recordings::fit_imaging, m)?)?;
    m.add_function(wrap_pyfunction!(recordings::cross_validate, m)?)?;
    m.add_function(wrap_pyfunction!(theory::gauss_newton, m)?)?;
    m.add_function(wrap_pyfunction!(theory::prioritize, m)?)?;
    m.add_function(wrap_pyfunction!(set_reproducible, m)?)?;
    m.add_function(wrap_pyfunction!(reproducible, m)?)?;
    m.add_function(wrap_pyfunction!(seeds, m)?)?;
    Ok(())
}
