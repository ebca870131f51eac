//! Dense backend: `W` stored as an `N × N` matrix, products by GEMM.

use super::{Backend, Coupling, Pattern};
use crate::Real;
use crate::kernels::{Write, matmul};
use ndarray::{Array2, ArrayView2, ArrayViewMut2};

/// Dense `W[post, pre]` with its pattern; entries outside the pattern are zero.
///
/// `W` is kept twice, row-major and column-major, so that both products (`a Wᵀ` forward,
/// `d W` backward) read it as the GEMM kernels read fastest without repacking: each of the
/// kernel's columns a contiguous run along the summed index. (N² more values: the dense backend
/// is for networks small enough that this does not matter.)
#[derive(Debug, Clone)]
pub struct DenseCoupling<F> {
    pattern: Pattern,
    w: Array2<F>,
    /// `Wᵀ`, row-major (that is, `W` column-major).
    wt: Array2<F>,
}

impl<F: Real> DenseCoupling<F> {
    /// Builds the dense matrix from a pattern and its values (canonical order).
    pub fn new(pattern: Pattern, values: &[F]) -> Self {
        let n = pattern.n();
        let mut c = Self {
            pattern,
            w: Array2::zeros((n, n)),
            wt: Array2::zeros((n, n)),
        };
        c.set_values(values);
        c
    }
}

impl<F: Real> DenseCoupling<F> {
    /// The right factor `mᵀ` of a product, given `m` and its transpose `mt` (the same matrix
    /// stored the other way): as `m.t()` (columns contiguous) for the `gemm` crate, as `mt`
    /// (rows contiguous) for the reproducible mode's kernel, each the layout it reads fastest.
    fn layout_for_matmul<'a>(&self, m: &'a Array2<F>, mt: &'a Array2<F>) -> ArrayView2<'a, F> {
        if crate::kernels::reproducible() {
            mt.view()
        } else {
            m.t()
        }
    }
}

impl<F: Real> Coupling<F> for DenseCoupling<F> {
    fn backend(&self) -> Backend {
        Backend::Dense
    }
    fn pattern(&self) -> &Pattern {
        &self.pattern
    }
    fn values(&self) -> Vec<F> {
        let p = &self.pattern;
        let mut v = Vec::with_capacity(p.nnz());
        for i in 0..p.n() {
            for &j in &p.col()[p.row_ptr()[i]..p.row_ptr()[i + 1]] {
                v.push(self.w[(i, j as usize)]);
            }
        }
        v
    }
    fn set_values(&mut self, values: &[F]) {
        assert_eq!(values.len(), self.pattern.nnz(), "set_values: wrong length");
        let p = &self.pattern;
        for i in 0..p.n() {
            for k in p.row_ptr()[i]..p.row_ptr()[i + 1] {
                self.w[(i, p.col()[k] as usize)] = values[k];
            }
        }
        self.wt.assign(&self.w.t());
    }
    fn forward(&self, a: ArrayView2<F>, out: ArrayViewMut2<F>) {
        matmul(Write::Overwrite, out, a, self.layout_for_matmul(&self.w, &self.wt));
    }
    fn backward_acc(&self, d: ArrayView2<F>, out: ArrayViewMut2<F>) {
        matmul(Write::Accumulate, out, d, self.layout_for_matmul(&self.wt, &self.w));
    }
    fn weight_grad_acc(&self, d: ArrayView2<F>, a: ArrayView2<F>, grad: &mut [F]) {
        let n = self.pattern.n();
        let mut full = Array2::<F>::zeros((n, n));
        matmul(Write::Overwrite, full.view_mut(), d.t(), a);
        let p = &self.pattern;
        for i in 0..n {
            for k in p.row_ptr()[i]..p.row_ptr()[i + 1] {
                grad[k] += full[(i, p.col()[k] as usize)];
            }
        }
    }
    fn to_dense(&self) -> Array2<F> {
        self.w.clone()
    }
    fn clone_box(&self) -> Box<dyn Coupling<F>> {
        Box::new(self.clone())
    }
}
