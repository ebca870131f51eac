//! The reproducible mode's dense linear algebra: textbook algorithms written so that every sum
//! runs in an order fixed by the code (the fixed-order [`dot`] and plain loops, no fused
//! multiply-adds), hence the same bits on every x86-64 CPU. faer, used otherwise, picks AVX2 or
//! AVX-512 kernels at run time, which round differently.
//!
//! Cyclic Jacobi for symmetric eigenproblems, one-sided (Hestenes) Jacobi for the SVD, LU with
//! partial pivoting for solves, and balancing + elimination to Hessenberg form + the Francis
//! double-shift QR iteration for eigenvalues of general matrices (the EISPACK `balanc`,
//! `elmhes`, `hqr` sequence). They are slower than faer's blocked routines (O(n³) with larger
//! constants), and as accurate for the sizes ccrnn meets.

// The EISPACK routines index rows and columns together, 1-based, as the published algorithms do.
#![allow(clippy::needless_range_loop)]

use crate::{Error, Result};
use ccrnn_core::kernels::fixed_order::dot;
use ndarray::{Array1, Array2, ArrayView2};

mod general;

pub use general::{eigenvalues, eigenvector};

/// Sweeps after which a Jacobi method gives up (it converges quadratically: about 10 suffice).
const MAX_SWEEPS: usize = 100;

/// Symmetric eigen-decomposition by cyclic Jacobi rotations: eigenvalues decreasing, the
/// eigenvectors as columns (only the lower triangle of `a` is read).
pub fn sym_eigen(a: ArrayView2<f64>, what: &str) -> Result<(Array1<f64>, Array2<f64>)> {
    let n = a.nrows();
    check_finite(a, what)?;
    // Row-major, full, symmetrised from the lower triangle.
    let mut m: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| if j <= i { a[(i, j)] } else { a[(j, i)] }).collect())
        .collect();
    // Eigenvectors as rows of `v` (rotated like rows of `m`), transposed at the end.
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|i| (0..n).map(|j| f64::from(u8::from(i == j))).collect())
        .collect();
    let total: f64 = m.iter().map(|r| dot(r, r)).sum();
    let mut converged = n < 2;
    for _ in 0..MAX_SWEEPS {
        if converged {
            break;
        }
        let off: f64 = (0..n).map(|i| m[i][..i].iter().map(|x| x * x).sum::<f64>()).sum();
        if off <= 1e-30 * total || off == 0.0 {
            converged = true;
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p][q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (m[p][p], m[q][q]);
                // Negligible against both diagonal entries: set to zero (as EISPACK does).
                if (app.abs() + 1e18 * apq.abs()) == app.abs() && (aqq.abs() + 1e18 * apq.abs()) == aqq.abs() {
                    m[p][q] = 0.0;
                    m[q][p] = 0.0;
                    continue;
                }
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + theta.hypot(1.0));
                let c = 1.0 / t.hypot(1.0);
                let s = t * c;
                rotate_rows(&mut m, p, q, c, s);
                for row in m.iter_mut() {
                    let (x, y) = (row[p], row[q]);
                    row[p] = c * x - s * y;
                    row[q] = s * x + c * y;
                }
                m[p][q] = 0.0;
                m[q][p] = 0.0;
                rotate_rows(&mut v, p, q, c, s);
            }
        }
    }
    if !converged {
        return Err(Error::linalg(what, "the Jacobi eigen-solver did not converge"));
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| m[j][j].total_cmp(&m[i][i]).then(i.cmp(&j)));
    let vals = Array1::from_shape_fn(n, |k| m[order[k]][order[k]]);
    let vecs = Array2::from_shape_fn((n, n), |(i, k)| v[order[k]][i]);
    Ok((vals, vecs))
}

/// Rows `p`, `q` of `m` ← `(c row_p − s row_q, s row_p + c row_q)`.
fn rotate_rows(m: &mut [Vec<f64>], p: usize, q: usize, c: f64, s: f64) {
    let (lo, hi) = m.split_at_mut(q);
    let (rp, rq) = (&mut lo[p], &mut hi[0]);
    for (x, y) in rp.iter_mut().zip(rq.iter_mut()) {
        let (a, b) = (*x, *y);
        *x = c * a - s * b;
        *y = s * a + c * b;
    }
}

/// Thin SVD `a = U diag(s) Vᵀ`: `(U, s, V)`, `s` decreasing, `k = min(m, n)` columns.
/// Columns of `U` for zero singular values are zero. A tall matrix is first reduced to its
/// triangular factor `R` by Householder QR (`a = Q R`), whose SVD one-sided Jacobi then finds
/// (`U = Q U_R`): the rotations then act on `n`-vectors, not `m`-vectors.
pub fn thin_svd(a: ArrayView2<f64>, what: &str) -> Result<(Array2<f64>, Array1<f64>, Array2<f64>)> {
    check_finite(a, what)?;
    let (m, n) = a.dim();
    if m < n {
        let (v, s, u) = thin_svd(a.t(), what)?;
        return Ok((u, s, v));
    }
    let cols: Vec<Vec<f64>> = (0..n).map(|j| a.column(j).to_vec()).collect();
    if m == n {
        return jacobi_svd(cols, m, what);
    }
    let qr = Householder::of(cols, m);
    let (ur, s, v) = jacobi_svd(qr.r(), n, what)?;
    Ok((qr.times_padded(&ur), s, v))
}

/// The Householder QR factorisation of an `m × n` matrix (`m ≥ n`), given as its columns.
struct Householder {
    m: usize,
    /// The columns after reduction: `R` in rows `..n`.
    cols: Vec<Vec<f64>>,
    /// Reflector `j`: `I − 2 v vᵀ / (vᵀv)` with `v` acting on rows `j..` (`vᵀv` = 0: none).
    reflectors: Vec<(Vec<f64>, f64)>,
}

impl Householder {
    fn of(mut cols: Vec<Vec<f64>>, m: usize) -> Self {
        let n = cols.len();
        let mut reflectors = Vec::with_capacity(n);
        for j in 0..n {
            let mut v = cols[j][j..].to_vec();
            let norm = dot(&v, &v).sqrt();
            let alpha = if v[0] > 0.0 { -norm } else { norm };
            v[0] -= alpha;
            let vv = dot(&v, &v);
            if vv > 0.0 {
                for col in cols.iter_mut().skip(j + 1) {
                    reflect(&v, vv, &mut col[j..]);
                }
                cols[j][j] = alpha;
                cols[j][j + 1..].iter_mut().for_each(|x| *x = 0.0);
            }
            reflectors.push((v, vv));
        }
        Self { m, cols, reflectors }
    }

    /// `R` (`n × n`, upper triangular) as columns.
    fn r(&self) -> Vec<Vec<f64>> {
        let n = self.cols.len();
        self.cols.iter().map(|c| c[..n].to_vec()).collect()
    }

    /// `Q [x; 0]` for an `n × k` matrix `x` (an `m × k` result).
    fn times_padded(&self, x: &Array2<f64>) -> Array2<f64> {
        let (n, k) = x.dim();
        let mut ys: Vec<Vec<f64>> = (0..k)
            .map(|c| {
                let mut y = vec![0.0; self.m];
                y[..n].iter_mut().zip(x.column(c)).for_each(|(a, b)| *a = *b);
                y
            })
            .collect();
        for (j, (v, vv)) in self.reflectors.iter().enumerate().rev() {
            if *vv > 0.0 {
                ys.iter_mut().for_each(|y| reflect(v, *vv, &mut y[j..]));
            }
        }
        Array2::from_shape_fn((self.m, k), |(i, c)| ys[c][i])
    }
}

/// `y ← y − (2 vᵀy / vᵀv) v`.
fn reflect(v: &[f64], vv: f64, y: &mut [f64]) {
    let f = 2.0 * dot(v, y) / vv;
    y.iter_mut().zip(v).for_each(|(a, b)| *a -= f * b);
}

/// One-sided (Hestenes) Jacobi SVD of the `m × n` matrix (`m ≥ n`) with columns `cols`.
fn jacobi_svd(mut cols: Vec<Vec<f64>>, m: usize, what: &str) -> Result<(Array2<f64>, Array1<f64>, Array2<f64>)> {
    let n = cols.len();
    let mut v: Vec<Vec<f64>> = (0..n)
        .map(|j| (0..n).map(|i| f64::from(u8::from(i == j))).collect())
        .collect();
    let mut converged = n < 2;
    for _ in 0..MAX_SWEEPS {
        if converged {
            break;
        }
        let mut rotated = false;
        for p in 0..n {
            for q in p + 1..n {
                let alpha = dot(&cols[p], &cols[p]);
                let beta = dot(&cols[q], &cols[q]);
                let gamma = dot(&cols[p], &cols[q]);
                if gamma == 0.0 || gamma.abs() <= 1e-15 * (alpha * beta).sqrt() {
                    continue;
                }
                rotated = true;
                let zeta = (beta - alpha) / (2.0 * gamma);
                let t = zeta.signum() / (zeta.abs() + zeta.hypot(1.0));
                let c = 1.0 / t.hypot(1.0);
                let s = t * c;
                rotate_rows(&mut cols, p, q, c, s);
                rotate_rows(&mut v, p, q, c, s);
            }
        }
        converged = !rotated;
    }
    if !converged {
        return Err(Error::linalg(what, "the Jacobi SVD did not converge"));
    }
    let norms: Vec<f64> = cols.iter().map(|c| dot(c, c).sqrt()).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&i, &j| norms[j].total_cmp(&norms[i]).then(i.cmp(&j)));
    let s = Array1::from_shape_fn(n, |k| norms[order[k]]);
    let u = Array2::from_shape_fn((m, n), |(i, k)| {
        let j = order[k];
        if norms[j] > 0.0 { cols[j][i] / norms[j] } else { 0.0 }
    });
    let vv = Array2::from_shape_fn((n, n), |(i, k)| v[order[k]][i]);
    Ok((u, s, vv))
}

/// Solves `a x = b` by LU with partial pivoting; fails on a singular `a`.
pub fn solve(a: ArrayView2<f64>, b: ArrayView2<f64>, what: &str) -> Result<Array2<f64>> {
    let n = a.nrows();
    let mut m: Vec<Vec<f64>> = a.rows().into_iter().map(|r| r.to_vec()).collect();
    let mut x: Vec<Vec<f64>> = b.rows().into_iter().map(|r| r.to_vec()).collect();
    for col in 0..n {
        let piv = (col..n)
            .max_by(|&i, &j| m[i][col].abs().total_cmp(&m[j][col].abs()).then(j.cmp(&i)))
            .expect("col < n");
        if m[piv][col] == 0.0 || !m[piv][col].is_finite() {
            return Err(Error::linalg(what, "the matrix is singular"));
        }
        m.swap(col, piv);
        x.swap(col, piv);
        for i in col + 1..n {
            let f = m[i][col] / m[col][col];
            if f == 0.0 {
                continue;
            }
            let (top, rest) = m.split_at_mut(i);
            for (dst, &src) in rest[0][col..].iter_mut().zip(&top[col][col..]) {
                *dst -= f * src;
            }
            let (top, rest) = x.split_at_mut(i);
            for (dst, &src) in rest[0].iter_mut().zip(&top[col]) {
                *dst -= f * src;
            }
        }
    }
    for col in (0..n).rev() {
        for i in 0..col {
            let f = m[i][col] / m[col][col];
            if f == 0.0 {
                continue;
            }
            let (top, rest) = x.split_at_mut(col);
            for (dst, &src) in top[i].iter_mut().zip(&rest[0]) {
                *dst -= f * src;
            }
        }
        let d = m[col][col];
        x[col].iter_mut().for_each(|v| *v /= d);
    }
    let out = Array2::from_shape_fn(b.dim(), |(i, j)| x[i][j]);
    if out.iter().all(|v| v.is_finite()) {
        Ok(out)
    } else {
        Err(Error::linalg(what, "the matrix is singular"))
    }
}

/// An error unless every entry of `a` is finite.
pub(super) fn check_finite(a: ArrayView2<f64>, what: &str) -> Result<()> {
    if a.iter().all(|v| v.is_finite()) {
        Ok(())
    } else {
        Err(Error::linalg(what, "the matrix has non-finite entries"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use num_complex::Complex64;
    use rand::SeedableRng;
    use rand_distr::{Distribution, StandardNormal};

    fn random(rows: usize, cols: usize, seed: u64) -> Array2<f64> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        Array2::from_shape_fn((rows, cols), |_| StandardNormal.sample(&mut rng))
    }

    fn faer_mat(a: &Array2<f64>) -> faer::Mat<f64> {
        faer::Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)])
    }

    #[test]
    fn jacobi_eigen_decomposes_and_matches_faer() {
        let b = random(60, 40, 1);
        let a = b.t().dot(&b) + Array2::<f64>::eye(40) * -3.0; // indefinite
        let (vals, vecs) = sym_eigen(a.view(), "test").unwrap();
        let recon = vecs.dot(&Array2::from_diag(&vals)).dot(&vecs.t());
        let err = (&recon - &a).iter().fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(err < 1e-11, "reconstruction {err:e}");
        let orth = (vecs.t().dot(&vecs) - Array2::<f64>::eye(40))
            .iter()
            .fold(0.0f64, |m, x| m.max(x.abs()));
        assert!(orth < 1e-13, "orthogonality {orth:e}");
        let want = faer_mat(&a).self_adjoint_eigenvalues(faer::Side::Lower).unwrap();
        for (k, w) in want.iter().rev().enumerate() {
            assert!((vals[k] - w).abs() < 1e-11, "{k}: {} vs {w}", vals[k]);
        }
    }

    #[test]
    fn jacobi_svd_matches_faer_wide_and_tall() {
        for (m, n) in [(50, 20), (20, 50), (30, 30), (400, 37)] {
            let a = random(m, n, 2);
            let (u, s, v) = thin_svd(a.view(), "test").unwrap();
            let recon = u.dot(&Array2::from_diag(&s)).dot(&v.t());
            let err = (&recon - &a).iter().fold(0.0f64, |x, y| x.max(y.abs()));
            assert!(err < 1e-12, "{m}×{n}: reconstruction {err:e}");
            let want = faer_mat(&a).singular_values().unwrap();
            for (k, w) in want.iter().enumerate() {
                assert!((s[k] - w).abs() < 1e-12 * want[0], "{m}×{n} {k}: {} vs {w}", s[k]);
            }
        }
        // rank 3, with exact zero columns (reflectors that do nothing)
        let mut a = random(100, 3, 11).dot(&random(3, 10, 12));
        a.column_mut(4).fill(0.0);
        let (u, s, v) = thin_svd(a.view(), "test").unwrap();
        let recon = u.dot(&Array2::from_diag(&s)).dot(&v.t());
        let err = (&recon - &a).iter().fold(0.0f64, |x, y| x.max(y.abs()));
        assert!(err < 1e-12 * s[0], "rank 3: reconstruction {err:e}");
        assert!(s[3] < 1e-13 * s[0], "rank 3: s = {s}");
    }

    #[test]
    fn lu_solves_and_refuses_singular() {
        let a = random(30, 30, 3);
        let x0 = random(30, 4, 4);
        let x = solve(a.view(), a.dot(&x0).view(), "test").unwrap();
        let err = (&x - &x0).iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(err < 1e-10, "{err:e}");
        let mut sing = a.clone();
        let r0 = sing.row(0).to_owned();
        sing.row_mut(1).assign(&r0);
        assert!(solve(sing.view(), x0.view(), "test").is_err());
    }

    #[test]
    fn qr_eigenvalues_match_faer() {
        for (n, seed) in [(1, 5), (2, 6), (7, 7), (80, 8), (200, 9)] {
            let mut a = random(n, n, seed);
            // widely ranging scales, as in connectomes
            for i in 0..n {
                a.row_mut(i).mapv_inplace(|x| x * 10f64.powi((i % 5) as i32 - 2));
            }
            let mut got = eigenvalues(a.view(), "test").unwrap();
            let mut want: Vec<Complex64> = faer_mat(&a)
                .eigenvalues()
                .unwrap()
                .iter()
                .map(|z| Complex64::new(z.re, z.im))
                .collect();
            let key = |z: &Complex64| (z.re, z.im);
            got.sort_by(|x, y| key(x).partial_cmp(&key(y)).unwrap());
            want.sort_by(|x, y| key(x).partial_cmp(&key(y)).unwrap());
            let scale = want.iter().map(|z| z.norm()).fold(0.0, f64::max);
            for (g, w) in got.iter().zip(&want) {
                assert!((g - w).norm() < 1e-9 * scale, "n {n}: {g} vs {w}");
            }
        }
    }

    #[test]
    fn inverse_iteration_finds_the_eigenvector() {
        let h = random(12, 12, 10);
        for lam in eigenvalues(h.view(), "test").unwrap() {
            let y = eigenvector(h.view(), lam);
            let res: f64 = (0..12)
                .map(|i| {
                    let hy: Complex64 = (0..12).map(|j| y[j] * h[(i, j)]).sum();
                    (hy - lam * y[i]).norm_sqr()
                })
                .sum::<f64>()
                .sqrt();
            assert!(res < 1e-9, "{lam}: residual {res:e}");
        }
    }
}
