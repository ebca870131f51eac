//! Sparse backend: compressed sparse rows, with the transpose precomputed for `Wᵀ` products.

use super::{Backend, Coupling, Pattern};
use crate::Real;
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// `W[post, pre]` in CSR form plus its transpose (CSR of `Wᵀ`, i.e. CSC of `W`).
#[derive(Debug, Clone)]
pub struct CsrCoupling<F> {
    pattern: Pattern,
    values: Vec<F>,
    /// Row pointers of `Wᵀ` (one row per presynaptic neuron).
    t_ptr: Vec<usize>,
    /// Postsynaptic index of each entry of `Wᵀ`.
    t_idx: Vec<u32>,
    /// Canonical index of each entry of `Wᵀ`.
    t_src: Vec<usize>,
    /// Values of `Wᵀ`.
    t_values: Vec<F>,
}

impl<F: Real> CsrCoupling<F> {
    /// Builds the CSR matrix and its transpose.
    pub fn new(pattern: Pattern, values: &[F]) -> Self {
        let n = pattern.n();
        let nnz = pattern.nnz();
        let mut t_ptr = vec![0usize; n + 1];
        for &j in pattern.col() {
            t_ptr[j as usize + 1] += 1;
        }
        for j in 0..n {
            t_ptr[j + 1] += t_ptr[j];
        }
        let mut fill = t_ptr.clone();
        let mut t_idx = vec![0u32; nnz];
        let mut t_src = vec![0usize; nnz];
        for i in 0..n {
            for k in pattern.row_ptr()[i]..pattern.row_ptr()[i + 1] {
                let j = pattern.col()[k] as usize;
                t_idx[fill[j]] = i as u32;
                t_src[fill[j]] = k;
                fill[j] += 1;
            }
        }
        let mut c = Self {
            pattern,
            values: vec![F::zero(); nnz],
            t_ptr,
            t_idx,
            t_src,
            t_values: vec![F::zero(); nnz],
        };
        c.set_values(values);
        c
    }
}

/// `Σ_k vals[k] x[idx[k]]` for one sparse row.
#[inline(always)]
fn sparse_dot<F: Real>(vals: &[F], idx: &[u32], x: &[F]) -> F {
    let mut s = F::zero();
    for (v, &j) in vals.iter().zip(idx) {
        s += *v * x[j as usize];
    }
    s
}

/// Runs `f(row_in, row_out)` over matching rows, copying through a buffer when a row is not
/// contiguous in memory.
fn for_rows<F: Real>(x: ArrayView2<F>, mut out: ArrayViewMut2<F>, mut f: impl FnMut(&[F], &mut [F])) {
    let n_out = out.ncols();
    let mut xbuf: Vec<F> = Vec::new();
    let mut obuf: Vec<F> = vec![F::zero(); n_out];
    for (xr, mut or) in x.rows().into_iter().zip(out.rows_mut()) {
        let xs: &[F] = match xr.to_slice() {
            Some(s) => s,
            None => {
                xbuf.clear();
                xbuf.extend(xr.iter().copied());
                &xbuf
            }
        };
        match or.as_slice_mut() {
            Some(os) => f(xs, os),
            None => {
                obuf.iter_mut().zip(or.iter()).for_each(|(b, &o)| *b = o);
                f(xs, &mut obuf);
                or.iter_mut().zip(&obuf).for_each(|(o, &b)| *o = b);
            }
        }
    }
}

impl<F: Real> Coupling<F> for CsrCoupling<F> {
    fn backend(&self) -> Backend {
        Backend::Csr
    }
    fn pattern(&self) -> &Pattern {
        &self.pattern
    }
    fn values(&self) -> Vec<F> {
        self.values.clone()
    }
    fn set_values(&mut self, values: &[F]) {
        assert_eq!(values.len(), self.pattern.nnz(), "set_values: wrong length");
        self.values.copy_from_slice(values);
        for (tv, &k) in self.t_values.iter_mut().zip(&self.t_src) {
            *tv = values[k];
        }
    }
    fn forward(&self, a: ArrayView2<F>, out: ArrayViewMut2<F>) {
        let rp = self.pattern.row_ptr();
        let col = self.pattern.col();
        for_rows(a, out, |x, o| {
            for (i, oi) in o.iter_mut().enumerate() {
                let r = rp[i]..rp[i + 1];
                *oi = sparse_dot(&self.values[r.clone()], &col[r], x);
            }
        });
    }
    fn backward_acc(&self, d: ArrayView2<F>, out: ArrayViewMut2<F>) {
        for_rows(d, out, |x, o| {
            for (j, oj) in o.iter_mut().enumerate() {
                let r = self.t_ptr[j]..self.t_ptr[j + 1];
                *oj += sparse_dot(&self.t_values[r.clone()], &self.t_idx[r], x);
            }
        });
    }
    fn weight_grad_acc(&self, d: ArrayView2<F>, a: ArrayView2<F>, grad: &mut [F]) {
        let rp = self.pattern.row_ptr();
        let col = self.pattern.col();
        let mut abuf: Vec<F> = Vec::new();
        for (dr, ar) in d.rows().into_iter().zip(a.rows()) {
            let xs: &[F] = match ar.to_slice() {
                Some(s) => s,
                None => {
                    abuf.clear();
                    abuf.extend(ar.iter().copied());
                    &abuf
                }
            };
            for (i, &di) in dr.iter().enumerate() {
                if di == F::zero() {
                    continue;
                }
                for k in rp[i]..rp[i + 1] {
                    grad[k] += di * xs[col[k] as usize];
                }
            }
        }
    }
    fn to_dense(&self) -> Array2<F> {
        let n = self.pattern.n();
        let mut w = Array2::zeros((n, n));
        for (k, i) in self.pattern.rows().into_iter().enumerate() {
            w[(i as usize, self.pattern.col()[k] as usize)] = self.values[k];
        }
        w
    }
    fn clone_box(&self) -> Box<dyn Coupling<F>> {
        Box::new(self.clone())
    }
}
