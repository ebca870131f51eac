//! Dense linear algebra on ndarray matrices through faer (conversions kept in one place).

use crate::{Error, Result};
use faer::{Mat, Side};
use ndarray::{Array1, Array2, ArrayView2};

fn to_faer(a: ArrayView2<f64>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[(i, j)])
}

fn from_faer(m: faer::MatRef<f64>) -> Array2<f64> {
    Array2::from_shape_fn((m.nrows(), m.ncols()), |(i, j)| m[(i, j)])
}

/// Eigen-decomposition of a symmetric matrix: eigenvalues in decreasing order and the matching
/// eigenvectors as columns.
pub fn sym_eigen(a: ArrayView2<f64>, what: &str) -> Result<(Array1<f64>, Array2<f64>)> {
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
    use faer::linalg::solvers::Solve;
    let lu = to_faer(a).partial_piv_lu();
    let x = from_faer(lu.solve(to_faer(b)).as_ref());
    if x.iter().all(|v| v.is_finite()) {
        Ok(x)
    } else {
        Err(Error::linalg(what, "the matrix is singular"))
    }
}

/// Spectral radius max |λ| of a square matrix (dense eigenvalues; O(N³)).
pub fn spectral_radius(a: ArrayView2<f64>, what: &str) -> Result<f64> {
    let ev = to_faer(a).eigenvalues().map_err(|e| Error::linalg(what, e))?;
    Ok(ev
        .iter()
        .map(|z| (z.re * z.re + z.im * z.im).sqrt())
        .fold(0.0, f64::max))
}

/// The Perron root (spectral radius) of a non-negative sparse matrix given by `rows` of
/// `(column, value)`, by power iteration on `A + I` (shifted so that the iteration converges
/// for periodic matrices); relative tolerance `tol`, at most `max_iter` iterations.
pub fn perron_root(rows: &[Vec<(usize, f64)>], tol: f64, max_iter: usize) -> f64 {
    let n = rows.len();
    if n == 0 {
        return 0.0;
    }
    let mut x = vec![1.0 / (n as f64).sqrt(); n];
    let mut y = vec![0.0; n];
    let mut lambda = 0.0;
    for _ in 0..max_iter {
        for (i, r) in rows.iter().enumerate() {
            y[i] = x[i] + r.iter().map(|&(j, v)| v * x[j]).sum::<f64>();
        }
        let norm = y.iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm == 0.0 {
            return 0.0;
        }
        let next = norm - 1.0; // ‖(A + I) x‖ → ρ + 1 for the Perron vector
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
