//! Dense linear algebra on ndarray matrices: through faer (conversions kept in one place), or,
//! in the reproducible mode (`ccrnn_core::kernels::reproducible`), through the fixed-order
//! routines of [`fixed`], which give the same bits on every x86-64 CPU.

pub mod fixed;

use crate::{Error, Result};
use ccrnn_core::kernels::reproducible;
use faer::{Mat, Side};
use ndarray::{Array1, Array2, ArrayView2};
use num_complex::Complex64;

fn to_faer(a: ArrayView2<f64>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)])
}

fn from_faer(m: faer::MatRef<f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// Eigen-decomposition of a symmetric matrix: eigenvalues in decreasing order and the matching
/// eigenvectors as columns.
pub fn sym_eigen(a: ArrayView2<f64>, what: &str) -> Result<(Array1<f64>, Array2<f64>)> {
    if reproducible() {
        return fixed::sym_eigen(a, what);
    }
    let evd = to_faer(a)
        .self_adjoint_eigen(Side::Lower)
        .map_err(|e| Error::linalg(what, e))?;
    let n = a.nrows();
    let s = evd.S().column_vector();
    let u = evd.U();
    // faer sorts increasingly; reverse.
    let vals = Array1::from_shape_fn(n, |k| s[n - 1 - k]);
    let vecs = Array2::from_shape_fn((n, n), |(i, k)| u[(i, n - 1 - k)]);
    Ok((vals, vecs))
}

/// Thin SVD `a = U diag(s) Vᵀ`: `(U, s, V)` with `s` decreasing.
pub fn thin_svd(a: ArrayView2<f64>, what: &str) -> Result<(Array2<f64>, Array1<f64>, Array2<f64>)> {
    if reproducible() {
        return fixed::thin_svd(a, what);
    }
    let svd = to_faer(a).thin_svd().map_err(|e| Error::linalg(what, e))?;
    let s = svd.S().column_vector();
    let k = s.nrows();
    Ok((
        from_faer(svd.U()),
        Array1::from_shape_fn(k, |i| s[i]),
        from_faer(svd.V()),
    ))
}

/// Solves `a x = b` (LU with partial pivoting); fails on a singular `a`.
pub fn solve(a: ArrayView2<f64>, b: ArrayView2<f64>, what: &str) -> Result<Array2<f64>> {
    if reproducible() {
        return fixed::solve(a, b, what);
    }
    use faer::linalg::solvers::Solve;
    let lu = to_faer(a).partial_piv_lu();
    let x = from_faer(lu.solve(to_faer(b)).as_ref());
    if x.iter().all(|v| v.is_finite()) {
        Ok(x)
    } else {
        Err(Error::linalg(what, "the matrix is singular"))
    }
}

/// All eigenvalues `(re, im)` of a square matrix, in no particular order (dense; O(N³)).
pub fn eigenvalues(a: ArrayView2<f64>, what: &str) -> Result<Vec<(f64, f64)>> {
    if reproducible() {
        return Ok(fixed::eigenvalues(a, what)?.iter().map(|z| (z.re, z.im)).collect());
    }
    let ev = to_faer(a).eigenvalues().map_err(|e| Error::linalg(what, e))?;
    Ok(ev.iter().map(|z| (z.re, z.im)).collect())
}

/// Spectral radius max |λ| of a square matrix (dense eigenvalues; O(N³)).
pub fn spectral_radius(a: ArrayView2<f64>, what: &str) -> Result<f64> {
    Ok(eigenvalues(a, what)?.iter().map(|z| z.0.hypot(z.1)).fold(0.0, f64::max))
}

/// Largest real part of the eigenvalues of a square matrix (dense; O(N³)): the stability of a
/// linearisation.
pub fn leading_eigenvalue_real(a: ArrayView2<f64>, what: &str) -> Result<f64> {
    Ok(eigenvalues(a, what)?
        .iter()
        .map(|z| z.0)
        .fold(f64::NEG_INFINITY, f64::max))
}

/// The Perron root (spectral radius) of a non-negative sparse matrix given by `rows` of
/// `(column, value)`, by power iteration on `A + cI` with the shift `c` set to the current
/// estimate of the root, so that periodic matrices (eigenvalues of equal modulus, such as ±ρ)
/// converge fast instead of at a rate like `1 − 2/ρ` that looks converged long before it is;
/// relative tolerance `tol`, at most `max_iter` iterations. Only sums of non-negative terms:
/// accurate whatever the range of the weights (a dense eigensolver on such a non-normal matrix
/// is not: weights spanning 12 decades cost it 0.4 %).
pub fn perron_root(rows: &[Vec<(usize, f64)>], tol: f64, max_iter: usize) -> f64 {
    let n = rows.len();
    if n == 0 {
        return 0.0;
    }
    let mut x = vec![1.0 / (n as f64).sqrt(); n];
    let mut y = vec![0.0; n];
    let mut lambda = 0.0f64;
    for _ in 0..max_iter {
        // The shift: the current estimate (≥ 1e-300 so that a zero estimate still shifts).
        let c = lambda.max(1e-300);
        for (i, r) in rows.iter().enumerate() {
            y[i] = c * x[i] + r.iter().map(|&(j, v)| v * x[j]).sum::<f64>();
        }
        let norm = y.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        let next = norm - c; // ‖(A + cI) x‖ → ρ + c for the Perron vector
        for (xi, yi) in x.iter_mut().zip(&y) {
            *xi = yi / norm;
        }
        if (next - lambda).abs() <= tol * next.abs().max(1e-300) {
            return next;
        }
        lambda = next;
    }
    lambda
}

/// Which eigenvalue [`arnoldi_eigenvalue`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extreme {
    /// The largest real part (the stability of a linearisation).
    Rightmost,
    /// The largest modulus (the spectral radius).
    Largest,
}

/// An extreme eigenvalue `(re, im)` of the `n × n` linear map `matvec(x, y)`: `y = A x`, by the
/// Arnoldi method with explicit restarts (Krylov dimension `k`, restarted from the Ritz vector
/// of the wanted Ritz value until its residual ‖A v − λ v‖ is below `tol` · |λ|, at most
/// `restarts` times). For matrices too large for a dense eigen-decomposition (O(n²) memory,
/// O(n³) time); the start vector is fixed, so the result is deterministic.
pub fn arnoldi_eigenvalue(
    n: usize,
    mut matvec: impl FnMut(&[f64], &mut [f64]),
    which: Extreme,
    k: usize,
    tol: f64,
    restarts: usize,
) -> Result<(f64, f64)> {
    if n == 0 {
        return Err(Error::linalg("arnoldi", "empty matrix"));
    }
    let k = k.clamp(1, n);
    // A fixed start with every component non-zero (a SplitMix-like hash of the index).
    let mut start: Vec<f64> = (0..n as u64)
        .map(|i| {
            let z = i.wrapping_add(1).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            0.5 + ((z >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect();
    let mut best = (0.0, 0.0);
    for _ in 0..=restarts {
        let norm = start.iter().map(|x| x * x).sum::<f64>().sqrt();
        if norm == 0.0 || !norm.is_finite() {
            return Err(Error::linalg("arnoldi", "the start vector vanished"));
        }
        let mut v: Vec<Vec<f64>> = vec![start.iter().map(|x| x / norm).collect()];
        let mut h = Array2::<f64>::zeros((k + 1, k));
        let mut m = k;
        for j in 0..k {
            let mut w = vec![0.0; n];
            matvec(&v[j], &mut w);
            // Modified Gram–Schmidt, twice (keeps the basis orthogonal to working precision).
            for _ in 0..2 {
                for (i, vi) in v.iter().enumerate() {
                    let c: f64 = vi.iter().zip(&w).map(|(a, b)| a * b).sum();
                    h[(i, j)] += c;
                    for (wl, al) in w.iter_mut().zip(vi) {
                        *wl -= c * al;
                    }
                }
            }
            let beta = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if !beta.is_finite() {
                return Err(Error::linalg("arnoldi", "the matrix has non-finite entries"));
            }
            h[(j + 1, j)] = beta;
            if beta <= 1e-12 * h[(j, j)].abs().max(1.0) {
                m = j + 1; // an invariant subspace: the Ritz values are exact
                break;
            }
            v.push(w.into_iter().map(|x| x / beta).collect());
        }
        let key = |z: &Complex64| match which {
            Extreme::Rightmost => z.re,
            Extreme::Largest => z.norm(),
        };
        let (lam, y) = ritz_pair(Array2::from_shape_fn((m, m), |(i, j)| h[(i, j)]), key)?;
        best = (lam.re, lam.im);
        let residual = h[(m.min(k), m - 1)].abs() * y[m - 1].norm();
        if m < k || residual <= tol * lam.norm().max(1e-300) {
            break;
        }
        // Restart from the (real and imaginary parts of the) Ritz vector.
        start = (0..n)
            .map(|l| (0..m).map(|i| v[i][l] * (y[i].re + y[i].im)).sum())
            .collect();
    }
    Ok(best)
}

/// The eigenvalue of the small matrix `hm` with the largest `key` and its unit eigenvector.
fn ritz_pair(hm: Array2<f64>, key: impl Fn(&Complex64) -> f64) -> Result<(Complex64, Vec<Complex64>)> {
    let pick = |s: &[Complex64]| {
        (0..s.len())
            .max_by(|&a, &b| key(&s[a]).total_cmp(&key(&s[b])))
            .expect("m >= 1")
    };
    if reproducible() {
        let s = fixed::eigenvalues(hm.view(), "arnoldi")?;
        let lam = s[pick(&s)];
        return Ok((lam, fixed::eigenvector(hm.view(), lam)));
    }
    let evd = to_faer(hm.view()).eigen().map_err(|e| Error::linalg("arnoldi", e))?;
    let col = evd.S().column_vector();
    let s: Vec<Complex64> = col.iter().map(|z| Complex64::new(z.re, z.im)).collect();
    let k = pick(&s);
    let y = evd.U().col(k).iter().map(|z| Complex64::new(z.re, z.im)).collect();
    Ok((s[k], y))
}

#[cfg(test)]
mod arnoldi_tests {
    use super::*;

    fn dense_mv(a: &Array2<f64>) -> impl FnMut(&[f64], &mut [f64]) + '_ {
        move |x, y| {
            for (i, yi) in y.iter_mut().enumerate() {
                *yi = (0..x.len()).map(|j| a[(i, j)] * x[j]).sum();
            }
        }
    }

    #[test]
    fn arnoldi_matches_the_dense_eigenvalues() {
        use rand::SeedableRng;
        use rand_distr::{Distribution, StandardNormal};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
        let n = 300;
        // A random non-normal matrix (circular law, radius ≈ 1) plus an outlier at 1.7.
        let mut a = Array2::from_shape_fn((n, n), |_| {
            let z: f64 = StandardNormal.sample(&mut rng);
            z / (n as f64).sqrt()
        });
        let u = Array1::from_shape_fn(n, |i| if i % 2 == 0 { 1.0 } else { -1.0 } / (n as f64).sqrt());
        for i in 0..n {
            for j in 0..n {
                a[(i, j)] += 1.7 * u[i] * u[j];
            }
        }
        let ev = to_faer(a.view()).eigenvalues().unwrap();
        let right = ev.iter().map(|z| z.re).fold(f64::NEG_INFINITY, f64::max);
        let (re, _) = arnoldi_eigenvalue(n, dense_mv(&a), Extreme::Rightmost, 60, 1e-10, 50).unwrap();
        assert!((re - right).abs() < 1e-8, "arnoldi {re} vs dense {right}");
        let radius = spectral_radius(a.view(), "test").unwrap();
        let (re, im) = arnoldi_eigenvalue(n, dense_mv(&a), Extreme::Largest, 60, 1e-10, 50).unwrap();
        assert!(
            (re.hypot(im) - radius).abs() < 1e-8,
            "arnoldi {} vs dense {radius}",
            re.hypot(im)
        );
        // A small matrix is reduced exactly.
        let b = Array2::from_shape_vec((3, 3), vec![0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.5, 0.0, 0.0]).unwrap();
        let (re, _) = arnoldi_eigenvalue(3, dense_mv(&b), Extreme::Rightmost, 10, 1e-12, 0).unwrap();
        assert!((re - 0.5f64.cbrt()).abs() < 1e-10, "{re}");
    }
}
