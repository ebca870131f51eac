//! Models as `.npz` archives that NumPy reads directly.
//!
//! | array | shape, dtype | meaning |
//! |---|---|---|
//! | `W` | N × N, float32 | effective weights `W[post, pre]` (zeros off the mask) |
//! | `mask` | N × N, uint8 | 1 where a synapse exists (the connectome) |
//! | `W_indptr`, `W_indices`, `W_data` | N + 1, nnz (int64), nnz (float32) | instead of `W` and `mask` for sparse networks (density < 25 %): CSR rows = post, `scipy.sparse.csr_matrix((W_data, W_indices, W_indptr))` |
//! | `signs` | N, int8 | presynaptic sign: +1 E, −1 I, 0 unconstrained |
//! | `g`, `b`, `tau`, `h0` | N, float32 | gains, biases, time constants, initial state |
//! | `beta` | scalar or N, float32 | softplus smoothness (global or per neuron) |
//! | `W_in` | n_in × N, float32 | input weights (drive = `u_t @ W_in`) |
//! | `W_out` | N × n_out, float32 | readout weights (`y_t = a_t @ W_out`) |
//! | `dt` | scalar, float32 | Euler step, in the time units of τ |
//! | `activation` | uint8 text | `softplus`, `relu`, `tanh`, `linear` or `sigmoid` |
//! | `gain_placement` | uint8 text | `presynaptic` or `postsynaptic` |
//! | `recorded` | M, int64 (optional) | neurons a student was fitted to |
//! | `neuron_ids` | N, uint64 (optional) | connectome body ids of the rows |
//! | `neuron_labels` | uint8 text, one line per row (optional) | neuron names (`AVAL`, a cell type): `bytes(z["neuron_labels"]).decode().split("\n")`; a NumPy string array is read too |
//! | `gap_pairs`, `gap_g` | K × 2 (int64), K (float32) (optional) | gap junctions: neurons `(i, j)` coupled with conductance `g` (each unordered pair once, i < j) |
//!
//! Reading is lenient where NumPy users are: float64 is accepted for float arrays, any integer
//! type for `mask`, `signs` and `recorded`; `W_eff`/`sign`/`w_out` (the paper's fixture names)
//! are accepted as aliases; `tau` may be a scalar; a missing `mask` means the non-zeros of `W`, a
//! missing `signs` means unconstrained, missing `W_in`/`W_out` mean no input/readout, a
//! missing `activation` means softplus and a missing `gain_placement` presynaptic.

use crate::npz::{NpzIn, write_npz};
use crate::{Error, Result};
use ccrnn_core::{Activation, Beta, Connectivity, GainPlacement, Model, NeuronParams, Pattern};
use ndarray::{Array1, Array2, ArrayD, Ix1, Ix2};
use std::path::Path;

/// A model with the optional list of neurons it was fitted to.
#[derive(Debug, Clone)]
pub struct ModelFile {
    /// The model.
    pub model: Model<f32>,
    /// Recorded neurons (students), if stored.
    pub recorded: Option<Vec<usize>>,
    /// Connectome body ids of the rows, if the model was built on a connectome.
    pub ids: Option<Vec<u64>>,
    /// Names of the rows (worm neuron names, cell types), if the connectome gave them.
    pub labels: Option<Vec<String>>,
}

impl ModelFile {
    /// What recordings' ROI labels are matched against, one per row: the neuron labels if
    /// the file has them, else the body ids, else the row indices.
    pub fn neuron_keys(&self) -> Vec<String> {
        match (&self.labels, &self.ids) {
            (Some(l), _) => l.clone(),
            (None, Some(ids)) => ids.iter().map(u64::to_string).collect(),
            (None, None) => (0..self.model.n()).map(|i| i.to_string()).collect(),
        }
    }

    /// What [`Self::neuron_keys`] are: `labels`, `body ids` or `row indices`.
    pub fn neuron_keys_kind(&self) -> &'static str {
        match (&self.labels, &self.ids) {
            (Some(_), _) => "labels",
            (None, Some(_)) => "body ids",
            (None, None) => "row indices",
        }
    }
}

/// What a model file stores as the neuron labels of a connectome's rows: its neuron names
/// (`AVAL`) if it has them, else its type labels; `None` when it has neither (or a label holds
/// a line break, which the file's text cannot).
pub fn connectome_labels(con: &ccrnn_core::Connectome) -> Option<Vec<String>> {
    let has = |v: &[String]| v.iter().any(|l| !l.is_empty()) && !v.iter().any(|l| l.contains('\n'));
    if has(&con.names) {
        Some(con.names.clone())
    } else {
        has(&con.labels).then(|| con.labels.clone())
    }
}

fn gain_name(g: GainPlacement) -> &'static str {
    match g {
        GainPlacement::Presynaptic => "presynaptic",
        GainPlacement::Postsynaptic => "postsynaptic",
    }
}

/// Saves `model` (and the recorded set of a student) to `path`, atomically.
pub fn save_model(path: &Path, model: &Model<f32>, recorded: Option<&[usize]>) -> Result<()> {
    save_model_with_ids(path, model, recorded, None, None)
}

/// Like [`save_model`], also storing the connectome body id (`neuron_ids`) and the name
/// (`neuron_labels`) of every row.
pub fn save_model_with_ids(
    path: &Path,
    model: &Model<f32>,
    recorded: Option<&[usize]>,
    ids: Option<&[u64]>,
    labels: Option<&[String]>,
) -> Result<()> {
    if let Some(ids) = ids
        && ids.len() != model.n()
    {
        return Err(Error::format(
            path,
            format!("{} neuron ids for {} neurons", ids.len(), model.n()),
        ));
    }
    if let Some(labels) = labels {
        if labels.len() != model.n() {
            return Err(Error::format(
                path,
                format!("{} neuron labels for {} neurons", labels.len(), model.n()),
            ));
        }
        if let Some(l) = labels.iter().find(|l| l.contains('\n')) {
            return Err(Error::format(path, format!("neuron label {l:?} contains a line break")));
        }
    }
    let n = model.n();
    let p = model.coupling.pattern();
    let sparse = p.nnz() * 4 < n * n;
    write_npz(path, |z| {
        if sparse {
            z.add("W_indptr", &Array1::from_iter(p.row_ptr().iter().map(|&k| k as i64)))?;
            z.add("W_indices", &Array1::from_iter(p.col().iter().map(|&j| j as i64)))?;
            z.add("W_data", &Array1::from(model.coupling.values()))?;
        } else {
            let mut mask = Array2::<u8>::zeros((n, n));
            for (i, &j) in p.rows().into_iter().zip(p.col()) {
                mask[(i as usize, j as usize)] = 1;
            }
            z.add("W", &model.coupling.to_dense())?;
            z.add("mask", &mask)?;
        }
        z.add("signs", &Array1::from(model.signs.clone()))?;
        z.add("g", &model.params.g)?;
        z.add("b", &model.params.b)?;
        z.add("tau", &model.params.tau)?;
        z.add("h0", &model.params.h0)?;
        match &model.params.beta {
            Beta::Global(b) => z.add("beta", &ndarray::arr0(*b))?,
            Beta::PerNeuron(v) => z.add("beta", v)?,
        }
        z.add("W_in", &model.w_in)?;
        z.add("W_out", &model.w_out)?;
        z.add("dt", &ndarray::arr0(model.dt))?;
        z.add_text("activation", model.activation.name())?;
        z.add_text("gain_placement", gain_name(model.gain))?;
        if let Some(r) = recorded {
            z.add("recorded", &Array1::from_iter(r.iter().map(|&i| i as i64)))?;
        }
        if let Some(ids) = ids {
            z.add("neuron_ids", &Array1::from(ids.to_vec()))?;
        }
        if let Some(labels) = labels {
            z.add_text("neuron_labels", &labels.join("\n"))?;
        }
        if let Some(g) = &model.gap {
            let pairs: Vec<(usize, usize, f64)> = g.pairs().into_iter().filter(|(i, j, _)| i < j).collect();
            let ij = Array2::from_shape_fn(
                (pairs.len(), 2),
                |(k, c)| if c == 0 { pairs[k].0 } else { pairs[k].1 } as i64,
            );
            z.add("gap_pairs", &ij)?;
            z.add("gap_g", &Array1::from_iter(pairs.iter().map(|p| p.2 as f32)))?;
        }
        Ok(())
    })
}

fn to_f32<D: ndarray::Dimension>(a: ndarray::Array<f64, D>) -> ndarray::Array<f32, D> {
    a.mapv(|x| x as f32)
}

fn vector(z: &mut NpzIn, name: &str, n: usize) -> Result<Array1<f32>> {
    let a = z.floats_shaped(name, &[Some(n)], &["neurons"])?;
    Ok(to_f32(a.into_dimensionality::<Ix1>().expect("checked")))
}

/// A scalar or an N-vector, as a vector.
fn scalar_or_vector(z: &mut NpzIn, name: &str, n: usize) -> Result<ArrayD<f32>> {
    let a = to_f32(z.floats(name)?);
    if a.ndim() == 0 || (a.ndim() == 1 && a.len() == n) {
        Ok(a)
    } else {
        Err(Error::format(
            z.path(),
            format!(
                "array '{name}': expected a scalar or {n} neurons, got shape {:?}",
                a.shape()
            ),
        ))
    }
}

/// Loads a model saved by [`save_model`] (or any `.npz` with the same arrays), checking every
/// shape and value; errors name the file and the array.
pub fn load_model(path: &Path) -> Result<ModelFile> {
    let mut z = NpzIn::open(path)?;
    // W: sparse CSR arrays, or dense W with an optional mask.
    enum Weights {
        Sparse(Vec<usize>, Vec<u32>, Vec<f32>),
        Dense(Array2<f32>, Array2<bool>),
    }
    let (n, weights) = if z.has("W_data") {
        let indptr = z.integers("W_indptr")?;
        let indices = z.integers("W_indices")?;
        let data = to_f32(z.floats("W_data")?);
        let n = indptr.len().saturating_sub(1);
        if n == 0 {
            return Err(Error::format(
                path,
                format!(
                    "array 'W_indptr': {} entries: a model needs at least one neuron (N + 1 entries)",
                    indptr.len()
                ),
            ));
        }
        let as_usize = |name: &str, v: i64| {
            usize::try_from(v).map_err(|_| Error::format(path, format!("array '{name}': negative entry {v}")))
        };
        let indptr: Vec<usize> = indptr.iter().map(|&v| as_usize("W_indptr", v)).collect::<Result<_>>()?;
        let indices: Vec<u32> = indices
            .iter()
            .map(|&v| {
                u32::try_from(v)
                    .map_err(|_| Error::format(path, format!("array 'W_indices': entry {v} is not an index")))
            })
            .collect::<Result<_>>()?;
        if data.len() != indices.len() {
            return Err(Error::format(
                path,
                format!("'W_data' has {} entries but 'W_indices' {}", data.len(), indices.len()),
            ));
        }
        (n, Weights::Sparse(indptr, indices, data.iter().copied().collect()))
    } else {
        let w_name = z.first_of(&["W", "W_eff"]).ok_or_else(|| {
            Error::format(
                path,
                format!("no array 'W' or 'W_data' (the file holds: {})", z.names().join(", ")),
            )
        })?;
        let w = z.floats(w_name)?;
        if w.ndim() != 2 || w.shape()[0] != w.shape()[1] {
            crate::npz::check_shape(path, w_name, w.shape(), &[None, None], &["N post", "N pre (square)"])?;
            let (rows, cols) = (w.shape()[0], w.shape()[1]);
            return Err(Error::format(
                path,
                format!("array '{w_name}': expected a square N post × N pre matrix, got {rows} × {cols}"),
            ));
        }
        let n = w.shape()[0];
        if n == 0 {
            return Err(Error::format(
                path,
                format!("array '{w_name}': 0 × 0: a model needs at least one neuron"),
            ));
        }
        let w = to_f32(w.into_dimensionality::<Ix2>().expect("checked"));
        let mask = if z.has("mask") {
            let m = z.integers("mask")?;
            crate::npz::check_shape(path, "mask", m.shape(), &[Some(n), Some(n)], &["post", "pre"])?;
            if let Some(k) = m.iter().position(|v| !matches!(*v, 0 | 1)) {
                let (i, j, v) = (k / n, k % n, m.iter().nth(k).expect("found"));
                return Err(Error::format(
                    path,
                    format!("array 'mask': entry [{i}, {j}] = {v}: must be 0 (no synapse) or 1"),
                ));
            }
            m.into_dimensionality::<Ix2>().expect("checked").mapv(|x| x != 0)
        } else {
            w.mapv(|x| x != 0.0)
        };
        (n, Weights::Dense(w, mask))
    };
    let signs = match z.first_of(&["signs", "sign"]) {
        Some(name) => {
            let s = z.integers(name)?;
            crate::npz::check_shape(path, name, s.shape(), &[Some(n)], &["neurons"])?;
            s.iter()
                .enumerate()
                .map(|(j, &v)| match v {
                    -1..=1 => Ok(v as i8),
                    _ => Err(Error::format(
                        path,
                        format!("array '{name}'[{j}] = {v}: must be +1, -1 or 0"),
                    )),
                })
                .collect::<Result<Vec<i8>>>()?
        }
        None => vec![0; n],
    };
    let mut p = NeuronParams::<f32>::default_for(n);
    p.g = vector(&mut z, "g", n)?;
    p.b = vector(&mut z, "b", n)?;
    p.h0 = vector(&mut z, "h0", n)?;
    let tau = scalar_or_vector(&mut z, "tau", n)?;
    p.tau = if tau.ndim() == 0 {
        Array1::from_elem(n, tau[[]])
    } else {
        tau.into_dimensionality::<Ix1>().expect("checked")
    };
    let beta = scalar_or_vector(&mut z, "beta", n)?;
    p.beta = if beta.ndim() == 0 {
        Beta::Global(beta[[]])
    } else {
        Beta::PerNeuron(beta.into_dimensionality::<Ix1>().expect("checked"))
    };
    let w_in = if z.has("W_in") {
        let a = z.floats("W_in")?;
        let rows = a.shape().first().copied().unwrap_or(0);
        crate::npz::check_shape(path, "W_in", a.shape(), &[Some(rows), Some(n)], &["inputs", "neurons"])?;
        to_f32(a.into_dimensionality::<Ix2>().expect("checked"))
    } else {
        Array2::zeros((0, n))
    };
    let w_out = match z.first_of(&["W_out", "w_out"]) {
        Some(name) => {
            let a = to_f32(z.floats(name)?);
            match a.ndim() {
                1 if a.len() == n => a.into_shape_with_order((n, 1)).expect("contiguous"),
                2 if a.shape()[0] == n => a.into_dimensionality::<Ix2>().expect("checked"),
                _ => {
                    return Err(Error::format(
                        path,
                        format!(
                            "array '{name}': expected {n} neurons × outputs, got shape {:?}",
                            a.shape()
                        ),
                    ));
                }
            }
        }
        None => Array2::zeros((n, 0)),
    };
    let dt = z.floats_shaped("dt", &[], &[])?[[]] as f32;
    let activation = if z.has("activation") {
        let name = z.text("activation")?;
        Activation::from_name(&name).ok_or_else(|| {
            Error::format(
                path,
                format!(
                    "array 'activation' = {name:?}: expected one of {}",
                    Activation::NAMES.join(", ")
                ),
            )
        })?
    } else {
        Activation::Softplus
    };
    let gain = if z.has("gain_placement") {
        match z.text("gain_placement")?.as_str() {
            "presynaptic" => GainPlacement::Presynaptic,
            "postsynaptic" => GainPlacement::Postsynaptic,
            other => {
                return Err(Error::format(
                    path,
                    format!("array 'gain_placement' = {other:?}: expected presynaptic or postsynaptic"),
                ));
            }
        }
    } else {
        GainPlacement::Presynaptic
    };
    let recorded = if z.has("recorded") {
        Some(z.indices("recorded", n)?)
    } else {
        None
    };
    // one entry per neuron, if stored
    let per_neuron = |name: &str, len: usize, what: &str| {
        if len == n {
            Ok(())
        } else {
            Err(Error::format(
                path,
                format!("array '{name}': {len} {what} for {n} neurons"),
            ))
        }
    };
    let ids = if z.has("neuron_ids") {
        let a = z.ids("neuron_ids")?;
        per_neuron("neuron_ids", a.len(), "ids")?;
        Some(a)
    } else {
        None
    };
    let labels = if z.has("neuron_labels") {
        let l = z.strings("neuron_labels")?;
        per_neuron("neuron_labels", l.len(), "labels")?;
        Some(l)
    } else {
        None
    };
    let conn = match weights {
        Weights::Dense(w, mask) => Connectivity::from_dense(w.view(), Some(mask.view()), signs),
        Weights::Sparse(indptr, indices, values) => Pattern::new(n, indptr, indices).and_then(|pattern| {
            let c = Connectivity { pattern, values, signs };
            c.validate().map(|_| c)
        }),
    }
    .map_err(|e| Error::core(path, e))?;
    let gap = if z.has("gap_pairs") {
        let ij = z.integers("gap_pairs")?;
        let k = ij.shape().first().copied().unwrap_or(0);
        crate::npz::check_shape(
            path,
            "gap_pairs",
            ij.shape(),
            &[Some(k), Some(2)],
            &["junctions", "pair"],
        )?;
        let g = vector(&mut z, "gap_g", k)?;
        let idx = |v: i64| {
            usize::try_from(v)
                .ok()
                .filter(|&i| i < n)
                .ok_or_else(|| Error::format(path, format!("array 'gap_pairs': neuron {v} is not in 0..{n}")))
        };
        let pairs = (0..k)
            .map(|r| Ok((idx(ij[[r, 0]])?, idx(ij[[r, 1]])?, g[r] as f64)))
            .collect::<Result<Vec<_>>>()?;
        Some(ccrnn_core::GapJunctions::from_pairs(n, &pairs).map_err(|e| Error::core(path, e))?)
    } else {
        None
    };
    let model = Model::builder(conn)
        .gap_junctions(gap)
        .params(p)
        .activation(activation)
        .gain(gain)
        .w_in(w_in)
        .w_out(w_out)
        .dt(dt)
        .build()
        .map_err(|e| Error::core(path, e))?;
    Ok(ModelFile {
        model,
        recorded,
        ids,
        labels,
    })
}
