//! The reproducible mode's matrix product: every element of the result is one sum over `k`
//! taken in order (`((0 + l₀r₀) + l₁r₁) + …`, each product rounded before it is added, no
//! fused multiply-add), so its value is fixed by the inputs alone. Vector units only change how
//! many elements are computed at once, never the order within one, so the numbers are the same
//! bit for bit on every x86-64 CPU (SSE2, AVX2 or AVX-512) and whatever the blocking.
//!
//! The `gemm` crate, by contrast, sums in blocks whose shape depends on the CPU's registers, so
//! AVX2 and AVX-512 machines round differently (by a few units in the last place, which a
//! chaotic network or a long fit amplifies).

use super::simd::multiversion;
use crate::Real;
use ndarray::{ArrayView2, ArrayViewMut2};

/// Columns of the result a micro-tile spans (one AVX-512 register of `f32`).
const NR: usize = 16;
/// Rows of the result a micro-tile spans (at most; [`tile`] has copies for 1 to 4).
const MR: usize = 4;

/// `dst = keep · dst + lhs · rhs` for `keep ∈ {0, 1}`, each element summed over `k` in order
/// (see the module). With `keep`, the sum is formed first and then added to `dst`. Any strides;
/// `rhs` whose rows are not contiguous is copied to a row-major buffer first (callers that can
/// pass a row-major twin should, to save the copy).
pub fn matmul<F: Real>(keep: bool, dst: ArrayViewMut2<F>, lhs: ArrayView2<F>, rhs: ArrayView2<F>) {
    let (m, _, n) = product_dims(&dst, &lhs, &rhs);
    if m == 0 || n == 0 {
        return;
    }
    if rhs.strides()[1] == 1 || n == 1 {
        rows_kernel(keep, dst, lhs, rhs);
    } else {
        let packed = rhs.as_standard_layout();
        rows_kernel(keep, dst, lhs, packed.view());
    }
}

/// `(m, k, n)` of the product `dst (m × n) = lhs (m × k) · rhs (k × n)`; panics, naming the
/// three shapes, if they do not fit together.
pub(crate) fn product_dims<F>(
    dst: &ArrayViewMut2<F>,
    lhs: &ArrayView2<F>,
    rhs: &ArrayView2<F>,
) -> (usize, usize, usize) {
    let (m, k) = lhs.dim();
    let (k2, n) = rhs.dim();
    assert!(
        k == k2 && dst.dim() == (m, n),
        "matmul: shape mismatch {:?} · {:?} → {:?}",
        lhs.dim(),
        rhs.dim(),
        dst.dim()
    );
    (m, k, n)
}

multiversion! {
    avx512
    /// The product for an `rhs` whose rows are contiguous, in tiles of `MR × NR`.
    fn rows_kernel<F: Real>(keep: bool, dst: ArrayViewMut2<F>, lhs: ArrayView2<F>, rhs: ArrayView2<F>) {
        let mut dst = dst;
        let (m, n) = dst.dim();
        let mut i0 = 0;
        while i0 < m {
            let rows = MR.min(m - i0);
            let mut j0 = 0;
            while j0 < n {
                let cols = NR.min(n - j0);
                let at = Tile { i0, j0, cols };
                match (rows, cols == NR) {
                    (4, true) => tile::<F, 4, true>(keep, &mut dst, lhs, rhs, at),
                    (4, false) => tile::<F, 4, false>(keep, &mut dst, lhs, rhs, at),
                    (3, _) => tile::<F, 3, false>(keep, &mut dst, lhs, rhs, at),
                    (2, _) => tile::<F, 2, false>(keep, &mut dst, lhs, rhs, at),
                    _ => tile::<F, 1, false>(keep, &mut dst, lhs, rhs, at),
                }
                j0 += cols;
            }
            i0 += rows;
        }
    }
}

/// Where a tile sits: its first row and column, and its width (`≤ NR`).
#[derive(Clone, Copy)]
struct Tile {
    i0: usize,
    j0: usize,
    cols: usize,
}

/// One tile of `R` rows and `at.cols ≤ NR` columns (`FULL`: exactly `NR`): accumulators `R × NR` in registers, one
/// broadcast of `lhs[i, k]` per row and one row of `rhs` per `k` (a narrower edge tile reads
/// its row into a zero-padded copy, so every tile runs the same full-width code).
#[inline(always)]
fn tile<F: Real, const R: usize, const FULL: bool>(
    keep: bool,
    dst: &mut ArrayViewMut2<F>,
    lhs: ArrayView2<F>,
    rhs: ArrayView2<F>,
    at: Tile,
) {
    let Tile { i0, j0, cols } = at;
    let k = lhs.ncols();
    let mut acc = [[F::zero(); NR]; R];
    let (rs, ls) = (rhs.strides()[0], [lhs.strides()[0], lhs.strides()[1]]);
    let (rp, lp) = (rhs.as_ptr(), lhs.as_ptr());
    for kk in 0..k {
        // SAFETY: `kk < k`, `j0 + cols <= n` and `i0 + R <= m`: every element read is inside
        // the views, whose rows of `rhs` are contiguous (stride 1 along them).
        let row = unsafe { rp.offset(kk as isize * rs + j0 as isize) };
        let r: [F; NR] = if FULL {
            unsafe { *(row as *const [F; NR]) }
        } else {
            let mut r = [F::zero(); NR];
            for (c, x) in r.iter_mut().enumerate().take(cols) {
                *x = unsafe { *row.add(c) };
            }
            r
        };
        let mut l = [F::zero(); R];
        for (ii, x) in l.iter_mut().enumerate() {
            *x = unsafe { *lp.offset((i0 + ii) as isize * ls[0] + kk as isize * ls[1]) };
        }
        for ii in 0..R {
            for c in 0..NR {
                acc[ii][c] += l[ii] * r[c];
            }
        }
    }
    for (ii, row) in acc.iter().enumerate() {
        for (c, &v) in row.iter().enumerate().take(cols) {
            let d = &mut dst[(i0 + ii, j0 + c)];
            *d = if keep { *d + v } else { v };
        }
    }
}

/// `Σ x[i] y[i]` in a fixed order: eight partial sums (`i mod 8`), each taken in order, then
/// added pairwise `((s₀+s₁)+(s₂+s₃))+((s₄+s₅)+(s₆+s₇))`. Vectorises on any x86-64 CPU while
/// giving the same bits everywhere; the reproducible linear algebra's inner product.
#[inline]
pub fn dot(x: &[f64], y: &[f64]) -> f64 {
    let n = x.len().min(y.len());
    let (x, y) = (&x[..n], &y[..n]);
    let mut s = [0.0f64; 8];
    let chunks = n / 8;
    for c in 0..chunks {
        for l in 0..8 {
            s[l] += x[8 * c + l] * y[8 * c + l];
        }
    }
    for i in 8 * chunks..n {
        s[i - 8 * chunks] += x[i] * y[i];
    }
    ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder, s};
    use rand::{Rng, SeedableRng};

    /// The definition, written as plainly as possible.
    fn naive(keep: bool, dst: &Array2<f32>, lhs: ArrayView2<f32>, rhs: ArrayView2<f32>) -> Array2<f32> {
        Array2::from_shape_fn(dst.dim(), |(i, j)| {
            let mut acc = 0.0f32;
            for k in 0..lhs.ncols() {
                acc += lhs[(i, k)] * rhs[(k, j)];
            }
            if keep { dst[(i, j)] + acc } else { acc }
        })
    }

    #[test]
    fn every_element_is_the_in_order_sum_bit_for_bit() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut draw =
            |shape: (usize, usize)| Array2::from_shape_fn(shape, |_| (rng.next_u32() >> 8) as f32 / 8_388_608.0 - 1.0);
        for &(m, k, n) in &[(1, 1, 1), (3, 7, 5), (4, 16, 16), (9, 33, 37), (13, 64, 50), (5, 0, 6)] {
            let (a, b, d0) = (draw((m, k)), draw((k, n)), draw((m, n)));
            // rhs row-major and column-major, lhs transposed, dst column-major
            let bt = b.t().as_standard_layout().to_owned();
            let at = a.t().as_standard_layout().to_owned();
            for keep in [false, true] {
                let want = naive(keep, &d0, a.view(), b.view());
                let mut got = d0.clone();
                matmul(keep, got.view_mut(), a.view(), b.view());
                assert_eq!(got, want, "{m}×{k}×{n} keep {keep}");
                let mut got = d0.clone();
                matmul(keep, got.view_mut(), at.t(), bt.t());
                assert_eq!(got, want, "{m}×{k}×{n} keep {keep}, transposed inputs");
                let mut got = Array2::<f32>::zeros((m, n).f());
                got.assign(&d0);
                matmul(keep, got.view_mut(), a.view(), b.view());
                assert_eq!(got, want, "{m}×{k}×{n} keep {keep}, column-major dst");
            }
        }
        // strided views (every other row and column of a larger array)
        let (big_a, big_b) = (draw((20, 30)), draw((30, 40)));
        let (a, b) = (big_a.slice(s![..;2, ..;2]), big_b.slice(s![..;2, ..;2]));
        let want = naive(false, &Array2::zeros((10, 20)), a, b);
        let mut got = Array2::zeros((10, 20));
        matmul(false, got.view_mut(), a, b);
        assert_eq!(got, want);
    }

    #[test]
    fn dot_is_the_documented_sum() {
        let x: Vec<f64> = (0..29).map(|i| (i as f64 * 0.37).sin()).collect();
        let y: Vec<f64> = (0..29).map(|i| (i as f64 * 0.11).cos()).collect();
        let mut s = [0.0; 8];
        for i in 0..29 {
            s[i % 8] += x[i] * y[i];
        }
        let want = ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
        assert_eq!(dot(&x, &y).to_bits(), want.to_bits());
    }
}
