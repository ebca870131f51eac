//! Recurrent connectivity `W[post, pre]`: a fixed sparsity pattern (the connectome's mask), a
//! fixed sign per presynaptic neuron (Dale's law) and the weights of the pattern's entries.
//!
//! [`Connectivity`] is the plain data; a [`Coupling`] is a backend that multiplies with it in
//! the simulation's hot loop. Two backends implement the one trait: [`DenseCoupling`] (GEMM,
//! for dense teachers) and [`CsrCoupling`] (compressed sparse rows with a precomputed
//! transpose, for real connectomes). They agree to rounding on the same network.

mod csr;
mod dense;

pub use csr::CsrCoupling;
pub use dense::DenseCoupling;

use crate::{Error, Real, Result};
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// Which coupling backend to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Backend {
    /// Dense `N × N` matrix and GEMM (best for density ≳ 5 %).
    #[default]
    Dense,
    /// Compressed sparse rows (best for sparse real connectomes).
    Csr,
}

/// The sparsity pattern of `W[post, pre]` in compressed-sparse-row form: the synapses onto
/// neuron `i` are `col[row_ptr[i]..row_ptr[i+1]]` (presynaptic indices, strictly ascending).
///
/// The order of entries defined here (row-major, ascending columns) is the canonical order of
/// weight vectors everywhere in ccrnn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    n: usize,
    row_ptr: Vec<usize>,
    col: Vec<u32>,
}

impl Pattern {
    /// Builds and validates a pattern from CSR arrays.
    pub fn new(n: usize, row_ptr: Vec<usize>, col: Vec<u32>) -> Result<Self> {
        if row_ptr.len() != n + 1 || row_ptr[0] != 0 || row_ptr[n] != col.len() {
            return Err(Error::invalid(
                "pattern.row_ptr",
                format!(
                    "must have {} entries from 0 to nnz = {} (got {} entries)",
                    n + 1,
                    col.len(),
                    row_ptr.len()
                ),
            ));
        }
        for i in 0..n {
            if row_ptr[i] > row_ptr[i + 1] {
                return Err(Error::invalid(
                    format!("pattern.row_ptr[{i}]"),
                    "must be non-decreasing",
                ));
            }
            let row = &col[row_ptr[i]..row_ptr[i + 1]];
            for (k, &j) in row.iter().enumerate() {
                if j as usize >= n {
                    return Err(Error::invalid(
                        format!("pattern row {i}"),
                        format!("presynaptic index {j} out of range (n = {n})"),
                    ));
                }
                if k > 0 && row[k - 1] >= j {
                    return Err(Error::invalid(
                        format!("pattern row {i}"),
                        "presynaptic indices must be strictly ascending (duplicate synapse?)",
                    ));
                }
            }
        }
        Ok(Self { n, row_ptr, col })
    }

    /// The pattern of all `n × n` entries.
    pub fn full(n: usize) -> Self {
        let row_ptr = (0..=n).map(|i| i * n).collect();
        let col = (0..n).flat_map(|_| 0..n as u32).collect();
        Self { n, row_ptr, col }
    }

    /// The pattern of the entries where `mask[post, pre]` is true.
    pub fn from_mask(mask: ArrayView2<bool>) -> Result<Self> {
        let (r, c) = mask.dim();
        if r != c {
            return Err(Error::shape("mask", &[r, r], &[r, c]));
        }
        let mut row_ptr = Vec::with_capacity(r + 1);
        let mut col = Vec::new();
        row_ptr.push(0);
        for i in 0..r {
            for j in 0..c {
                if mask[(i, j)] {
                    col.push(j as u32);
                }
            }
            row_ptr.push(col.len());
        }
        Ok(Self { n: r, row_ptr, col })
    }

    /// Number of neurons.
    pub fn n(&self) -> usize {
        self.n
    }
    /// Number of synapses (structural non-zeros).
    pub fn nnz(&self) -> usize {
        self.col.len()
    }
    /// Row pointers (`n + 1` entries).
    pub fn row_ptr(&self) -> &[usize] {
        &self.row_ptr
    }
    /// Presynaptic index of every entry, in canonical order.
    pub fn col(&self) -> &[u32] {
        &self.col
    }
    /// Postsynaptic index of every entry, in canonical order.
    pub fn rows(&self) -> Vec<u32> {
        let mut r = Vec::with_capacity(self.nnz());
        for i in 0..self.n {
            r.extend(std::iter::repeat_n(i as u32, self.row_ptr[i + 1] - self.row_ptr[i]));
        }
        r
    }
    /// The pattern with neurons relabelled: new index of old neuron `i` is `perm[i]`.
    /// Returns the new pattern and, for each new entry, the index of the old entry.
    pub fn permuted(&self, perm: &[usize]) -> (Pattern, Vec<usize>) {
        let mut entries: Vec<(usize, usize, usize)> = Vec::with_capacity(self.nnz());
        for i in 0..self.n {
            for k in self.row_ptr[i]..self.row_ptr[i + 1] {
                entries.push((perm[i], perm[self.col[k] as usize], k));
            }
        }
        entries.sort_unstable();
        let mut row_ptr = vec![0; self.n + 1];
        for &(i, _, _) in &entries {
            row_ptr[i + 1] += 1;
        }
        for i in 0..self.n {
            row_ptr[i + 1] += row_ptr[i];
        }
        let col = entries.iter().map(|e| e.1 as u32).collect();
        let src = entries.iter().map(|e| e.2).collect();
        (
            Pattern {
                n: self.n,
                row_ptr,
                col,
            },
            src,
        )
    }
}

/// A network's recurrent connectivity as plain data: pattern, one weight per entry (canonical
/// order) and one sign per presynaptic neuron (+1 excitatory, −1 inhibitory, 0 unconstrained).
#[derive(Debug, Clone, PartialEq)]
pub struct Connectivity<F> {
    /// Sparsity pattern (the connectome's mask).
    pub pattern: Pattern,
    /// Weight of each entry of the pattern, canonical order.
    pub values: Vec<F>,
    /// Sign of each presynaptic neuron (length `n`): +1, −1, or 0 for no constraint.
    pub signs: Vec<i8>,
}

impl<F: Real> Connectivity<F> {
    /// Connectivity from a dense `W[post, pre]`, keeping the entries where `mask` is true
    /// (all entries if `mask` is `None`).
    pub fn from_dense(w: ArrayView2<F>, mask: Option<ArrayView2<bool>>, signs: Vec<i8>) -> Result<Self> {
        let (r, c) = w.dim();
        if r != c {
            return Err(Error::shape("W", &[r, r], &[r, c]));
        }
        let pattern = match mask {
            Some(m) => {
                if m.dim() != (r, c) {
                    return Err(Error::shape("mask", &[r, c], m.shape()));
                }
                Pattern::from_mask(m)?
            }
            None => Pattern::full(r),
        };
        let rows = pattern.rows();
        let values = rows
            .iter()
            .zip(pattern.col())
            .map(|(&i, &j)| w[(i as usize, j as usize)])
            .collect();
        let c = Self { pattern, values, signs };
        c.validate()?;
        Ok(c)
    }

    /// Checks lengths, finiteness, and that every weight has its presynaptic sign (a zero weight
    /// is allowed for either sign).
    pub fn validate(&self) -> Result<()> {
        let n = self.pattern.n();
        if self.values.len() != self.pattern.nnz() {
            return Err(Error::shape("W.values", &[self.pattern.nnz()], &[self.values.len()]));
        }
        if self.signs.len() != n {
            return Err(Error::shape("signs", &[n], &[self.signs.len()]));
        }
        if let Some(j) = self.signs.iter().position(|s| !(-1..=1).contains(s)) {
            return Err(Error::invalid(format!("signs[{j}]"), "must be +1, -1 or 0"));
        }
        check_values(&self.pattern, &self.values, &self.signs)
    }

    /// Dense `W[post, pre]` (zeros outside the pattern).
    pub fn to_dense(&self) -> Array2<F> {
        let n = self.pattern.n();
        let mut w = Array2::zeros((n, n));
        for (k, (i, &j)) in self.pattern.rows().into_iter().zip(self.pattern.col()).enumerate() {
            w[(i as usize, j as usize)] = self.values[k];
        }
        w
    }

    /// Builds the chosen backend.
    pub fn build(&self, backend: Backend) -> Box<dyn Coupling<F>> {
        match backend {
            Backend::Dense => Box::new(DenseCoupling::new(self.pattern.clone(), &self.values)),
            Backend::Csr => Box::new(CsrCoupling::new(self.pattern.clone(), &self.values)),
        }
    }

    /// The same connectivity in another float type.
    pub fn cast<G: Real>(&self) -> Connectivity<G> {
        Connectivity {
            pattern: self.pattern.clone(),
            values: self.values.iter().map(|v| G::lit(v.as_f64())).collect(),
            signs: self.signs.clone(),
        }
    }
}

/// Sets weights of the wrong sign to zero (the paper's projection after each training step).
pub fn project_dale<F: Real>(pattern: &Pattern, signs: &[i8], values: &mut [F]) {
    for (v, &j) in values.iter_mut().zip(pattern.col()) {
        let s = signs[j as usize];
        if (s > 0 && *v < F::zero()) || (s < 0 && *v > F::zero()) {
            *v = F::zero();
        }
    }
}

/// A backend that multiplies batches of activity with `W` and `Wᵀ`.
///
/// Matrices of activity are `R × N` with one row per sample (trial, or trial × time step).
/// Implementations must compute each output element in an order that does not depend on the
/// number of rows, so that results do not depend on how trials are split between threads.
pub trait Coupling<F: Real>: Send + Sync {
    /// Which backend this is.
    fn backend(&self) -> Backend;
    /// The sparsity pattern.
    fn pattern(&self) -> &Pattern;
    /// The weights in canonical order.
    fn values(&self) -> Vec<F>;
    /// Replaces the weights (canonical order, length `nnz`).
    fn set_values(&mut self, values: &[F]);
    /// `out[r, i] = Σ_j W[i, j] a[r, j]` (overwrites `out`).
    fn forward(&self, a: ArrayView2<F>, out: ArrayViewMut2<F>);
    /// `out[r, j] += Σ_i W[i, j] d[r, i]` (accumulates into `out`).
    fn backward_acc(&self, d: ArrayView2<F>, out: ArrayViewMut2<F>);
    /// `grad[k] += Σ_r d[r, post_k] a[r, pre_k]` for every entry `k` (canonical order).
    fn weight_grad_acc(&self, d: ArrayView2<F>, a: ArrayView2<F>, grad: &mut [F]);
    /// Dense `W[post, pre]`.
    fn to_dense(&self) -> Array2<F>;
    /// A boxed copy.
    fn clone_box(&self) -> Box<dyn Coupling<F>>;
}

impl<F: Real> Clone for Box<dyn Coupling<F>> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

impl<F: Real> std::fmt::Debug for dyn Coupling<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "Coupling({:?}, n = {}, nnz = {})",
            self.backend(),
            self.pattern().n(),
            self.pattern().nnz()
        )
    }
}

/// Checks weights `values` (canonical order of `pattern`, with `signs` of length n): finite,
/// and of their presynaptic neuron's sign (Dale's law). The errors name the entry `W[i, j]`.
pub fn check_values<F: Real>(pattern: &Pattern, values: &[F], signs: &[i8]) -> Result<()> {
    let rows = pattern.rows();
    for (k, (&v, &j)) in values.iter().zip(pattern.col()).enumerate() {
        if !v.is_finite() {
            return Err(Error::invalid(
                format!("W[{}, {j}]", rows[k]),
                format!("= {v}: must be finite"),
            ));
        }
        let s = signs[j as usize];
        if (s > 0 && v < F::zero()) || (s < 0 && v > F::zero()) {
            return Err(Error::invalid(
                format!("W[{}, {j}]", rows[k]),
                format!("= {v}: violates Dale's law (presynaptic sign {s:+})"),
            ));
        }
    }
    Ok(())
}
