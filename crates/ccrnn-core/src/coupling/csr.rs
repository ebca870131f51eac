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

/// Rows of activity multiplied together: 8 `f32` fill one AVX2 register.
const LANES: usize = 8;

crate::kernels::simd::multiversion! {
    /// `out[r, i] (=|+=) Σ_k vals[k] x[r, idx[k]]` over `k ∈ ptr[i]..ptr[i+1]`, for every row `r`
    /// of `x` and every output column `i`.
    ///
    /// Rows are taken `LANES` at a time and packed neuron-major (`xt[j]` holds the block's values of
    /// neuron `j`), so that each synapse costs one index load and one vector multiply-add for all
    /// rows of the block, instead of one gather per row. Each output element is summed over `k` in
    /// the same order whatever the number of rows, so results do not depend on how trials are
    /// split between threads.
    fn spmm<F: Real>(
        ptr: &[usize],
        idx: &[u32],
        vals: &[F],
        x: ArrayView2<F>,
        out: ArrayViewMut2<F>,
        accumulate: bool,
    ) {
        let mut out = out;
        let (rows, n_in) = x.dim();
        let n_out = out.ncols();
        debug_assert_eq!(ptr.len(), n_out + 1);
        let mut xt = vec![[F::zero(); LANES]; n_in];
        for r0 in (0..rows).step_by(LANES) {
            let l = LANES.min(rows - r0);
            for t in 0..l {
                for (xj, &v) in xt.iter_mut().zip(x.row(r0 + t)) {
                    xj[t] = v;
                }
            }
            for i in 0..n_out {
                let mut acc = [F::zero(); LANES];
                let r = ptr[i]..ptr[i + 1];
                for (v, &j) in vals[r.clone()].iter().zip(&idx[r]) {
                    let xj = &xt[j as usize];
                    for t in 0..LANES {
                        acc[t] += *v * xj[t];
                    }
                }
                // lanes ≥ l hold the previous block's values: computed, never written
                for (t, &a) in acc.iter().enumerate().take(l) {
                    let o = &mut out[(r0 + t, i)];
                    *o = if accumulate { *o + a } else { a };
                }
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
        let p = &self.pattern;
        spmm(p.row_ptr(), p.col(), &self.values, a, out, false);
    }
    fn backward_acc(&self, d: ArrayView2<F>, out: ArrayViewMut2<F>) {
        spmm(&self.t_ptr, &self.t_idx, &self.t_values, d, out, true);
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

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::ShapeBuilder;

    /// A 13-neuron pattern with about a third of the entries, and values from a fixed sequence.
    fn coupling() -> (CsrCoupling<f64>, Array2<f64>) {
        let n = 13;
        let mask = Array2::from_shape_fn((n, n), |(i, j)| (i * 7 + j * 3) % 3 == 0);
        let pattern = Pattern::from_mask(mask.view()).unwrap();
        let values: Vec<f64> = (0..pattern.nnz()).map(|k| ((k * 37 % 11) as f64 - 5.0) / 7.0).collect();
        let c = CsrCoupling::new(pattern, &values);
        let w = c.to_dense();
        (c, w)
    }

    #[test]
    fn products_match_the_dense_matrix_for_any_row_count_and_layout() {
        let (c, w) = coupling();
        let n = w.nrows();
        for rows in [1, 7, 8, 9, 17, 24] {
            let x = Array2::from_shape_fn((rows, n), |(r, j)| ((r * 5 + j * 3) % 13) as f64 - 6.0);
            let xt = x.t().to_owned(); // the same values in a non-contiguous row layout below
            for col_major in [false, true] {
                let shape = (rows, n);
                let mut out = if col_major {
                    Array2::zeros(shape.f())
                } else {
                    Array2::zeros(shape)
                };
                c.forward(xt.t(), out.view_mut());
                let want = x.dot(&w.t());
                assert!((&out - &want).iter().all(|d| d.abs() < 1e-12), "forward, {rows} rows");
                out.fill(1.0);
                c.backward_acc(x.view(), out.view_mut());
                let want = x.dot(&w) + 1.0;
                assert!((&out - &want).iter().all(|d| d.abs() < 1e-12), "backward, {rows} rows");
            }
        }
    }
}
