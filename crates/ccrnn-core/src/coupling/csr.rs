//! Sparse backend: compressed sparse rows, with the transpose precomputed for `Wᵀ` products.
//! How a product is computed (trials as vector lanes, four partial sums per output neuron,
//! parallel groups of output neurons fixed by the pattern) is in the documentation of `spmm`;
//! docs/sparse.md has its measurements.

use super::{Backend, Coupling, Pattern};
use crate::Real;
use ndarray::{Array2, ArrayView2, ArrayViewMut2, s};
use rayon::prelude::*;

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
    /// Parallel groups of the products with `W` and `Wᵀ` (see [`groups`]).
    groups: Vec<usize>,
    t_groups: Vec<usize>,
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
            groups: groups(pattern.row_ptr()),
            t_groups: groups(&t_ptr),
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

/// Non-zeros per parallel task of a product: above twice this, a product's output neurons are
/// split into groups of about this many synapses (boundaries that depend on the pattern alone),
/// computed in parallel. Each task then does a few tens of microseconds of work.
const TASK_NNZ: usize = 1 << 15;

/// Presynaptic neurons per parallel task of packing a large product's activity.
const PACK: usize = 1 << 12;

/// Independent partial sums per output element: four chains of additions, so that a row's
/// sum is bound by the loads, not by the latency of one chain of dependent additions (which
/// made the one-accumulator kernel three times slower).
const CHAINS: usize = 4;

/// A CSR matrix as the products read it: the entries of row `i` are `ptr[i]..ptr[i + 1]`;
/// its rows are computed in the parallel groups `groups` (see [`groups`]).
#[derive(Clone, Copy)]
struct MatrixRef<'a, F> {
    ptr: &'a [usize],
    idx: &'a [u32],
    vals: &'a [F],
    groups: &'a [usize],
}

/// `out[r, i] (=|+=) Σ_j M[i, j] x[r, j]` for every row `r` of `x` and every output column `i`.
///
/// Rows are taken `L` at a time (`L` = 4, 8 or 16, the fewest lanes that hold the rows left, at
/// most 16) and packed neuron-major (`xt[j]` holds the block's values of neuron `j`), so that
/// each synapse costs one index load and one vector multiply-add for all rows of the block,
/// instead of one gather per row. Each output element is summed in the same order whatever the
/// number of rows and threads and the instruction set (synapse `k` of the row goes to partial
/// sum `k mod 4`, the partial sums are added as `(s0 + s1) + (s2 + s3)`), so results do not
/// depend on how trials are split between threads. Output neurons are split into groups of
/// about [`TASK_NNZ`] synapses computed in parallel.
fn spmm<F: Real>(m: MatrixRef<'_, F>, x: ArrayView2<F>, out: ArrayViewMut2<F>, accumulate: bool) {
    let (rows, n_in) = x.dim();
    assert_eq!(m.ptr.len(), out.ncols() + 1, "spmm: row pointers");
    assert!(
        m.idx.len() >= m.ptr[out.ncols()] && m.vals.len() >= m.ptr[out.ncols()],
        "spmm: entries"
    );
    // SAFETY of the unchecked loads in `rows_body`: every index is below `n_in`. Checked here
    // in debug builds; in release builds it is an invariant of `CsrCoupling` (its pattern was
    // validated against `n`, and the transposed indices are row numbers below `n`).
    debug_assert!(m.idx.iter().all(|&j| (j as usize) < n_in), "spmm: index out of range");
    assert_eq!(m.groups.last(), Some(&out.ncols()), "spmm: groups");
    let mut out = out;
    let p = Product { m, accumulate };
    for r0 in (0..rows).step_by(16) {
        let l = (rows - r0).min(16);
        let x = x.slice(s![r0..r0 + l, ..]);
        let out = out.slice_mut(s![r0..r0 + l, ..]);
        match l {
            1..=4 => p.block::<4>(x, out, n_in),
            5..=8 => p.block::<8>(x, out, n_in),
            _ => p.block::<16>(x, out, n_in),
        }
    }
}

/// Group boundaries over output neurons: `[0, …, n_out]`, each group holding about
/// [`TASK_NNZ`] synapses (one group for a small product).
fn groups(ptr: &[usize]) -> Vec<usize> {
    let n_out = ptr.len() - 1;
    let mut b = vec![0];
    if ptr[n_out] >= 2 * TASK_NNZ {
        for i in 1..n_out {
            if ptr[i] - ptr[*b.last().expect("non-empty")] >= TASK_NNZ {
                b.push(i);
            }
        }
    }
    b.push(n_out);
    b
}

/// One sparse product: its matrix and whether it accumulates into the output.
#[derive(Clone, Copy)]
struct Product<'a, F> {
    m: MatrixRef<'a, F>,
    accumulate: bool,
}

impl<F: Real> Product<'_, F> {
    /// The product for one block of at most `L` rows: packs the rows neuron-major, then
    /// computes the groups of output neurons, in parallel when there are several.
    fn block<const L: usize>(self, x: ArrayView2<F>, out: ArrayViewMut2<F>, n_in: usize)
    where
        [F; L]: RowsKernel<F>,
    {
        let groups = self.m.groups;
        // lanes beyond the block's rows stay zero: computed, never written
        let mut xt = vec![[F::zero(); L]; n_in];
        let pack = |j0: usize, xt: &mut [[F; L]]| {
            for (t, row) in x.rows().into_iter().enumerate() {
                for (xj, &v) in xt.iter_mut().zip(row.slice(s![j0..])) {
                    xj[t] = v;
                }
            }
        };
        if groups.len() == 2 {
            pack(0, &mut xt);
            <[F; L]>::run(self, &xt, out, 0);
            return;
        }
        // a large product packs in parallel too (a copy: the same whatever the threads)
        xt.par_chunks_mut(PACK)
            .enumerate()
            .for_each(|(b, xt)| pack(b * PACK, xt));
        let mut parts = Vec::with_capacity(groups.len() - 1);
        let mut rest = out;
        for w in groups.windows(2) {
            let (part, tail) = rest.split_at(ndarray::Axis(1), w[1] - w[0]);
            parts.push((w[0], part));
            rest = tail;
        }
        parts
            .into_par_iter()
            .for_each(|(i0, part)| <[F; L]>::run(self, &xt, part, i0));
    }
}

/// The lane kernel for blocks of `L` rows (`Self = [F; L]`): one multiversioned function per
/// lane count (the macro takes type parameters, not const ones).
trait RowsKernel<F: Real>: Sized {
    /// Output neurons `i0 .. i0 + out.ncols()` of one block.
    fn run(p: Product<'_, F>, xt: &[Self], out: ArrayViewMut2<F>, i0: usize);
}

macro_rules! rows_kernel_for {
    ($name:ident, $l:literal) => {
        crate::kernels::simd::multiversion! {
            avx512 fn $name<F: Real>(p: Product<'_, F>, xt: &[[F; $l]], out: ArrayViewMut2<F>, i0: usize) {
                rows_body::<F, $l>(p, xt, out, i0)
            }
        }
        impl<F: Real> RowsKernel<F> for [F; $l] {
            fn run(p: Product<'_, F>, xt: &[Self], out: ArrayViewMut2<F>, i0: usize) {
                $name(p, xt, out, i0)
            }
        }
    };
}
rows_kernel_for!(rows4, 4);
rows_kernel_for!(rows8, 8);
rows_kernel_for!(rows16, 16);

/// The body of the lane kernels: for each output neuron `i0 + c`, the `L` lanes' sums over its
/// synapses in [`CHAINS`] partial sums.
#[inline(always)]
fn rows_body<F: Real, const L: usize>(p: Product<'_, F>, xt: &[[F; L]], out: ArrayViewMut2<F>, i0: usize) {
    let mut out = out;
    let l = out.nrows();
    let m = p.m;
    for c in 0..out.ncols() {
        let r = m.ptr[i0 + c]..m.ptr[i0 + c + 1];
        let (vals, idx) = (&m.vals[r.clone()], &m.idx[r]);
        let mut part = [[F::zero(); L]; CHAINS];
        let whole = vals.len() / CHAINS * CHAINS;
        for (v, j) in vals[..whole]
            .chunks_exact(CHAINS)
            .zip(idx[..whole].chunks_exact(CHAINS))
        {
            for u in 0..CHAINS {
                // SAFETY: every index is below `xt.len()` (see `spmm`).
                let xj = unsafe { xt.get_unchecked(j[u] as usize) };
                for t in 0..L {
                    part[u][t] += v[u] * xj[t];
                }
            }
        }
        for (&v, &j) in vals[whole..].iter().zip(&idx[whole..]) {
            // SAFETY: as above.
            let xj = unsafe { xt.get_unchecked(j as usize) };
            for t in 0..L {
                part[0][t] += v * xj[t];
            }
        }
        for t in 0..l {
            let s = (part[0][t] + part[1][t]) + (part[2][t] + part[3][t]);
            let o = &mut out[(t, c)];
            *o = if p.accumulate { *o + s } else { s };
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
        let m = MatrixRef {
            ptr: p.row_ptr(),
            idx: p.col(),
            vals: &self.values,
            groups: &self.groups,
        };
        spmm(m, a, out, false);
    }
    fn backward_acc(&self, d: ArrayView2<F>, out: ArrayViewMut2<F>) {
        let m = MatrixRef {
            ptr: &self.t_ptr,
            idx: &self.t_idx,
            vals: &self.t_values,
            groups: &self.t_groups,
        };
        spmm(m, d, out, true);
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

    /// An `n`-neuron pattern whose rows hold from none to most of the entries (so that row
    /// lengths cover every remainder of the four partial sums), and values from a fixed sequence.
    fn coupling(n: usize) -> (CsrCoupling<f64>, Array2<f64>) {
        let mask = Array2::from_shape_fn((n, n), |(i, j)| (i * 7 + j * 3) % (1 + i % 5) == 0 && i % 11 != 3);
        let pattern = Pattern::from_mask(mask.view()).unwrap();
        let values: Vec<f64> = (0..pattern.nnz()).map(|k| ((k * 37 % 11) as f64 - 5.0) / 7.0).collect();
        let c = CsrCoupling::new(pattern, &values);
        let w = c.to_dense();
        (c, w)
    }

    fn activity(rows: usize, n: usize) -> Array2<f64> {
        Array2::from_shape_fn((rows, n), |(r, j)| ((r * 5 + j * 3) % 13) as f64 - 6.0)
    }

    #[test]
    fn products_match_the_dense_matrix_for_any_row_count_and_layout() {
        let (c, w) = coupling(23);
        let n = w.nrows();
        // every lane count (4, 8, 16) with and without unused lanes, and several blocks
        for rows in [1, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 33] {
            let x = activity(rows, n);
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

    /// Products big enough to be split into parallel groups give the same bits with one thread
    /// or two, and each row's result does not depend on the rows computed with it.
    #[test]
    fn products_do_not_depend_on_threads_or_rows_computed_together() {
        let (c, w) = coupling(600);
        assert!(
            c.groups.len() > 3 && c.t_groups.len() > 3,
            "the test needs parallel groups"
        );
        let x = activity(21, w.nrows());
        let run = |threads: usize, x: ArrayView2<f64>| {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            pool.install(|| {
                let mut f = Array2::zeros(x.dim());
                c.forward(x, f.view_mut());
                let mut b = Array2::zeros(x.dim());
                c.backward_acc(x, b.view_mut());
                (f, b)
            })
        };
        let (f1, b1) = run(1, x.view());
        let (f2, b2) = run(2, x.view());
        assert!(f1 == f2 && b1 == b2, "results differ between 1 and 2 threads");
        let tol = 1e-12 * w.iter().fold(0.0f64, |m, v| m.max(v.abs())) * w.nrows() as f64 * 6.0;
        assert!((&f1 - &x.dot(&w.t())).iter().all(|d| d.abs() < tol), "forward vs dense");
        assert!((&b1 - &x.dot(&w)).iter().all(|d| d.abs() < tol), "backward vs dense");
        for (r0, r1) in [(0, 1), (3, 8), (5, 21), (16, 21)] {
            let (f, b) = run(2, x.slice(s![r0..r1, ..]));
            assert!(f == f1.slice(s![r0..r1, ..]), "forward of rows {r0}..{r1}");
            assert!(b == b1.slice(s![r0..r1, ..]), "backward of rows {r0}..{r1}");
        }
    }

    /// A network wider than one packing task (several parallel packing chunks): products equal
    /// a plain loop over the synapses to rounding, on 1 and 2 threads alike.
    #[test]
    fn wide_products_match_a_plain_loop() {
        let n = 2 * PACK + 123;
        let (mut row_ptr, mut col) = (vec![0], vec![]);
        for i in 0..n {
            let mut js: Vec<u32> = (0..17).map(|k| ((i * 31 + k * 977 + k * k * 13) % n) as u32).collect();
            js.sort_unstable();
            js.dedup();
            col.extend(js);
            row_ptr.push(col.len());
        }
        let pattern = Pattern::new(n, row_ptr, col).unwrap();
        let values: Vec<f64> = (0..pattern.nnz()).map(|k| ((k * 37 % 11) as f64 - 5.0) / 7.0).collect();
        let c = CsrCoupling::new(pattern.clone(), &values);
        assert!(c.groups.len() > 3, "the test needs parallel groups");
        let x = activity(6, n);
        let mut want = Array2::<f64>::zeros((6, n));
        for (k, (&i, &j)) in pattern.rows().iter().zip(pattern.col()).enumerate() {
            for r in 0..6 {
                want[(r, i as usize)] += values[k] * x[(r, j as usize)];
            }
        }
        let mut outs = vec![];
        for threads in [1, 2] {
            let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
            let mut out = Array2::zeros((6, n));
            pool.install(|| c.forward(x.view(), out.view_mut()));
            assert!((&out - &want).iter().all(|d| d.abs() < 1e-12), "{threads} thread(s)");
            outs.push(out);
        }
        assert!(outs[0] == outs[1]);
    }
}
