//! `ccrnn.Connectome`: a wiring diagram from any supported file or bundled name, or from a CSR
//! matrix.

use crate::{bad, err};
use ccrnn_core::Pattern;
use ccrnn_io::connectome::{Lattice, SignRules};
use ccrnn_io::{LoadOptions, Source, load_connectome};
use numpy::{IntoPyArray, PyArray1, PyReadonlyArray1};
use pyo3::prelude::*;
use std::path::PathBuf;

/// A connectome: neurons with 64-bit ids, labels and presynaptic signs, and synapse counts on
/// a sparse pattern `W[post, pre]` (row = postsynaptic neuron).
#[pyclass(module = "ccrnn", frozen)]
pub struct Connectome {
    pub(crate) inner: ccrnn_core::Connectome,
    report: String,
}

#[pymethods]
impl Connectome {
    /// Loads a connectome file (FlyWire/Codex, neuPrint, generic edge list `.csv[.gz]`, dense
    /// `.npy`/`.npz`, flyvis `.json[.gz]`) or a bundled one (`celegans`, `larva-mb-left`,
    /// `larva-mb-right`, `flyvis`). Options as on the command line.
    #[staticmethod]
    #[pyo3(signature = (source, *, nodes=None, threshold=0.0, self_loops=false, glutamate_sign=-1, unknown_sign=0, extent=15, n_syn_fill=1.0))]
    #[allow(clippy::too_many_arguments)]
    fn load(
        py: Python<'_>,
        source: PathBuf,
        nodes: Option<PathBuf>,
        threshold: f64,
        self_loops: bool,
        glutamate_sign: i8,
        unknown_sign: i8,
        extent: u32,
        n_syn_fill: f64,
    ) -> PyResult<Self> {
        for (name, v) in [("glutamate_sign", glutamate_sign), ("unknown_sign", unknown_sign)] {
            if !(-1..=1).contains(&v) {
                return Err(bad(format!("{name} = {v}: must be -1, 0 or 1")));
            }
        }
        if !(threshold >= 0.0 && threshold.is_finite()) {
            return Err(bad(format!("threshold = {threshold}: must be >= 0")));
        }
        let opts = LoadOptions {
            threshold,
            self_loops,
            signs: SignRules {
                glutamate: glutamate_sign,
                unknown: unknown_sign,
                ..SignRules::default()
            },
            lattice: Lattice { extent, n_syn_fill },
            ..LoadOptions::default()
        };
        let src = Source::guess(&source, nodes.as_deref());
        let (inner, report) = py.detach(|| load_connectome(&src, &opts)).map_err(err)?;
        Ok(Self {
            inner,
            report: serde_json::to_string(&report).map_err(err)?,
        })
    }

    /// A connectome from a CSR matrix `W[post, pre]` of synapse counts (`data`, `indices`,
    /// `indptr` as in `scipy.sparse.csr_matrix`), presynaptic `signs` (+1, −1, 0; default 0),
    /// optional `ids` (uint64; default 0..N) and `labels`.
    #[staticmethod]
    #[pyo3(signature = (data, indices, indptr, *, signs=None, ids=None, labels=None))]
    fn from_csr(
        data: PyReadonlyArray1<'_, f64>,
        indices: PyReadonlyArray1<'_, i64>,
        indptr: PyReadonlyArray1<'_, i64>,
        signs: Option<PyReadonlyArray1<'_, i8>>,
        ids: Option<PyReadonlyArray1<'_, u64>>,
        labels: Option<Vec<String>>,
    ) -> PyResult<Self> {
        let indptr = indptr.as_array();
        let n = indptr
            .len()
            .checked_sub(1)
            .ok_or_else(|| bad("indptr: must have N + 1 entries"))?;
        let (data, indices) = (data.as_array(), indices.as_array());
        if data.len() != indices.len() {
            return Err(bad(format!(
                "data has {} entries, indices {}",
                data.len(),
                indices.len()
            )));
        }
        let as_usize = |name: &str, v: i64| usize::try_from(v).map_err(|_| bad(format!("{name}: negative entry {v}")));
        let row_ptr = indptr
            .iter()
            .map(|&v| as_usize("indptr", v))
            .collect::<PyResult<Vec<_>>>()?;
        let col = indices
            .iter()
            .map(|&v| u32::try_from(v).map_err(|_| bad(format!("indices: entry {v} out of range"))))
            .collect::<PyResult<Vec<_>>>()?;
        let pattern = Pattern::new(n, row_ptr, col).map_err(err)?;
        let mut triplets = Vec::with_capacity(data.len());
        for i in 0..n {
            for e in pattern.row_ptr()[i]..pattern.row_ptr()[i + 1] {
                triplets.push((i as u32, pattern.col()[e], data[e]));
            }
        }
        let vec_of = |name: &str, len: usize| -> PyResult<()> {
            if len != n {
                return Err(bad(format!("{name}: {len} entries for {n} neurons")));
            }
            Ok(())
        };
        let signs = match signs {
            Some(s) => {
                let s = s.as_array().to_vec();
                vec_of("signs", s.len())?;
                if let Some(x) = s.iter().find(|x| !(-1..=1).contains(*x)) {
                    return Err(bad(format!("signs: {x} is not -1, 0 or 1")));
                }
                s
            }
            None => vec![0; n],
        };
        let ids = match ids {
            Some(v) => {
                let v = v.as_array().to_vec();
                vec_of("ids", v.len())?;
                v
            }
            None => (0..n as u64).collect(),
        };
        let labels = labels.unwrap_or_else(|| vec![String::new(); n]);
        vec_of("labels", labels.len())?;
        let inner = ccrnn_core::Connectome::from_triplets(ids, labels, signs, triplets).map_err(err)?;
        Ok(Self {
            inner,
            report: "{}".into(),
        })
    }

    /// Number of neurons N.
    #[getter]
    fn n(&self) -> usize {
        self.inner.n()
    }
    /// Number of connected (post, pre) pairs.
    #[getter]
    fn n_edges(&self) -> usize {
        self.inner.edges()
    }
    /// Total synapse count.
    #[getter]
    fn synapses(&self) -> f64 {
        self.inner.synapses()
    }
    /// Body ids, `(N,)` uint64.
    #[getter]
    fn ids<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<u64>> {
        PyArray1::from_vec(py, self.inner.ids.clone())
    }
    /// Presynaptic signs, `(N,)` int8: +1 excitatory, −1 inhibitory, 0 unconstrained.
    #[getter]
    fn signs<'py>(&self, py: Python<'py>) -> Bound<'py, PyArray1<i8>> {
        PyArray1::from_vec(py, self.inner.signs.clone())
    }
    /// Type or class label of each neuron ('' if none).
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.inner.labels.clone()
    }
    /// What loading read, merged and dropped, with the files' sha256 (a JSON string).
    #[getter]
    fn report_json(&self) -> String {
        self.report.clone()
    }
    /// Synapse counts as a CSR triple `(data float64, indices int64, indptr int64)`, rows =
    /// postsynaptic: `scipy.sparse.csr_matrix(c.csr(), shape=(c.n, c.n))`.
    #[allow(clippy::type_complexity)]
    fn csr<'py>(
        &self,
        py: Python<'py>,
    ) -> (
        Bound<'py, PyArray1<f64>>,
        Bound<'py, PyArray1<i64>>,
        Bound<'py, PyArray1<i64>>,
    ) {
        let p = &self.inner.pattern;
        (
            PyArray1::from_vec(py, self.inner.counts.clone()),
            p.col().iter().map(|&j| j as i64).collect::<Vec<_>>().into_pyarray(py),
            p.row_ptr()
                .iter()
                .map(|&k| k as i64)
                .collect::<Vec<_>>()
                .into_pyarray(py),
        )
    }
    fn __repr__(&self) -> String {
        format!(
            "Connectome(n={}, edges={}, synapses={})",
            self.inner.n(),
            self.inner.edges(),
            self.inner.synapses()
        )
    }
}
