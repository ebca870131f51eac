//! The linear theory of recordings (SCIENCE.md §7): for a linear network with unknown biases,
//! the fixed point is `x* = (I − J)⁻¹ J b`, so a bias error `e` gives the activity error `M e`
//! with `M = (I − J)⁻¹ J`; the error vanishes once the recorded rows of M span its row space.

use crate::linalg::{solve, thin_svd};
use crate::{Error, Result};
use ndarray::{Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// `M = (I − J)⁻¹ J` for a square `J` (fails if `I − J` is singular).
pub fn linear_response(j: ArrayView2<f64>) -> Result<Array2<f64>> {
    let n = j.nrows();
    if j.ncols() != n {
        return Err(Error::invalid(
            "J",
            format!("must be square, got {} × {}", n, j.ncols()),
        ));
    }
    let a = Array2::<f64>::eye(n) - j;
    solve(a.view(), j, "(I − J)⁻¹ J")
}

/// Numerical rank: singular values above `rtol × σ_max`.
pub fn numerical_rank(m: ArrayView2<f64>, rtol: f64) -> Result<usize> {
    let (_, s, _) = thin_svd(m, "rank")?;
    let top = s.first().copied().unwrap_or(0.0);
    Ok(s.iter().filter(|&&x| x > rtol * top).count())
}

/// The example of SCIENCE.md §7: `J = g ξ/√N` truncated to `rank` of its singular components,
/// chosen at random (distinct) — so `rank(J) = rank(M) = rank`.
pub fn low_rank_random(n: usize, g: f64, rank: usize, seed: u64) -> Result<Array2<f64>> {
    if rank > n {
        return Err(Error::invalid("rank", format!("= {rank} exceeds N = {n}")));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let full = Array2::from_shape_fn((n, n), |_| {
        let x: f64 = StandardNormal.sample(&mut rng);
        g * x / (n as f64).sqrt()
    });
    let (u, s, v) = thin_svd(full.view(), "J")?;
    let mut idx: Vec<usize> = (0..n).collect();
    idx.shuffle(&mut rng);
    idx.truncate(rank);
    let us = u.select(Axis(1), &idx) * &s.select(Axis(0), &idx).insert_axis(Axis(0));
    Ok(ccrnn_core::kernels::product(us.view(), v.select(Axis(1), &idx).t()))
}
