//! Greedy recording orders (SCIENCE.md §7, the paper's Figure 8).
//!
//! Each candidate neuron `i` is a block `C_i` (`k_i × P`) of sensitivities of its activity to
//! the parameters: one row of `M = (I − J)⁻¹ J` in the linear theory, or the compressed
//! stacked sensitivities `∂a_i/∂θ` of a nonlinear network. Recording it constrains the
//! parameter error along the row space of `C_i`. With the metric `H` (`MᵀM`, or the
//! Gauss–Newton matrix), a parameter error uniformly spread over θ produces an activity error
//! `tr H`; once the directions `Q` are constrained, `tr H (I − QQᵀ)` remains.
//!
//! Repeat: project every candidate's block onto the orthogonal complement of the directions
//! already constrained; its score is the fraction of `tr H` along its new directions,
//! `tr(H Π_i) / tr H`; take the best (or worst, or a random) candidate with new directions;
//! remove them. The running sum of scores predicts the remaining error, which reaches zero once
//! the chosen blocks span the row space of all blocks (`rank M` recordings in the linear
//! theory). For one-row blocks this is exactly the paper's rule
//! `score_i = n_iᵀ MᵀM n_i / ‖M‖_F²`.

use crate::linalg::sym_eigen;
use crate::{Error, Result};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Which candidate to take at each step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Strategy {
    /// The largest score.
    Best,
    /// The smallest non-zero score.
    Worst,
    /// A uniformly random candidate with new directions (seeded).
    Random(u64),
}

/// A recording order and its predicted error curve.
#[derive(Debug, Clone, Serialize)]
pub struct RecordingOrder {
    /// Neurons in the order to record (every candidate not already recorded; those with
    /// nothing new to add come last, in index order).
    pub order: Vec<usize>,
    /// Fraction of `tr H` each recording removes.
    pub scores: Vec<f64>,
    /// Predicted remaining error (fraction of `tr H`) after each recording.
    pub remaining: Vec<f64>,
    /// Predicted remaining error before the first (after the already recorded neurons).
    pub initial: f64,
}

/// A candidate's residual block `R` (`k × P`) and `Y = R H`.
struct Cand {
    r: Array2<f64>,
    y: Array2<f64>,
    scale2: f64,
}

/// Relative size below which a residual direction counts as already constrained.
const TOL: f64 = 1e-7;

impl Cand {
    /// Orthonormal new directions (rows) of the residual, and the score `tr(H Π)`.
    fn directions(&self) -> Result<(Array2<f64>, f64)> {
        let g = ccrnn_core::kernels::product(self.r.view(), self.r.t());
        let (vals, vecs) = sym_eigen(g.view(), "candidate residual")?;
        let keep: Vec<usize> = (0..vals.len()).filter(|&k| vals[k] > TOL * TOL * self.scale2).collect();
        let mut w = Array2::<f64>::zeros((keep.len(), self.r.ncols()));
        let mut score = 0.0;
        for (row, &k) in keep.iter().enumerate() {
            let e = vecs.column(k);
            let dir = e.dot(&self.r) / vals[k].sqrt();
            let hy = e.dot(&self.y) / vals[k].sqrt(); // (H dir)ᵀ
            score += dir.dot(&hy);
            w.row_mut(row).assign(&dir);
        }
        Ok((w, score))
    }

    /// Removes the unit direction `w` (with `hw = H w`).
    fn deflate(&mut self, w: &Array1<f64>, hw: &Array1<f64>) {
        let rw = self.r.dot(w);
        for (k, mut row) in self.r.axis_iter_mut(Axis(0)).enumerate() {
            row.scaled_add(-rw[k], w);
        }
        for (k, mut row) in self.y.axis_iter_mut(Axis(0)).enumerate() {
            row.scaled_add(-rw[k], hw);
        }
    }
}

/// The greedy order over `blocks` (one per candidate neuron, `k_i × P`) in the metric `h`
/// (`P × P`, symmetric positive semi-definite), after the neurons `already` recorded.
pub fn greedy_order(
    blocks: &[Array2<f64>],
    h: ArrayView2<f64>,
    strategy: Strategy,
    already: &[usize],
) -> Result<RecordingOrder> {
    let p = h.nrows();
    if h.ncols() != p {
        return Err(Error::invalid("H", "must be square"));
    }
    if let Some((i, b)) = blocks.iter().enumerate().find(|(_, b)| b.ncols() != p) {
        return Err(Error::invalid(
            format!("block {i}"),
            format!("has {} columns, H is {p} × {p}", b.ncols()),
        ));
    }
    if let Some(&i) = already.iter().find(|&&i| i >= blocks.len()) {
        return Err(Error::invalid(
            "already recorded",
            format!("neuron {i} is not in 0..{}", blocks.len()),
        ));
    }
    let trace = h.diag().sum();
    if trace <= 0.0 || !trace.is_finite() {
        return Err(Error::invalid("H", format!("trace = {trace}: nothing to predict")));
    }
    let mut cands: Vec<Cand> = blocks
        .iter()
        .map(|b| Cand {
            r: b.clone(),
            y: ccrnn_core::kernels::product(b.view(), h.view()),
            scale2: b.iter().map(|x| x * x).sum(),
        })
        .collect();
    let mut rng = match strategy {
        Strategy::Random(seed) => Some(ChaCha8Rng::seed_from_u64(seed)),
        _ => None,
    };
    let mut taken = vec![false; blocks.len()];
    let mut remaining = 1.0;
    let take = |i: usize, cands: &mut Vec<Cand>, taken: &mut Vec<bool>| -> Result<f64> {
        let (w, score) = cands[i].directions()?;
        for dir in w.axis_iter(Axis(0)) {
            let dir = dir.to_owned();
            let hw = h.dot(&dir);
            for (j, c) in cands.iter_mut().enumerate() {
                if !taken[j] {
                    c.deflate(&dir, &hw);
                }
            }
        }
        taken[i] = true;
        Ok(score / trace)
    };
    for &i in already {
        if !taken[i] {
            remaining -= take(i, &mut cands, &mut taken)?;
        }
    }
    let initial = remaining.max(0.0);
    let mut order = Vec::new();
    let mut scores = Vec::new();
    let mut curve = Vec::new();
    loop {
        let mut avail: Vec<(usize, f64)> = Vec::new();
        for (i, c) in cands.iter().enumerate() {
            if !taken[i] {
                let (w, s) = c.directions()?;
                if w.nrows() > 0 {
                    avail.push((i, s / trace));
                }
            }
        }
        if avail.is_empty() {
            break;
        }
        let pick = match (strategy, &mut rng) {
            (Strategy::Best, _) => avail.iter().copied().max_by(|a, b| a.1.total_cmp(&b.1)),
            (Strategy::Worst, _) => avail.iter().copied().min_by(|a, b| a.1.total_cmp(&b.1)),
            (Strategy::Random(_), Some(r)) => avail.choose(r).copied(),
            (Strategy::Random(_), None) => unreachable!("rng made for Random"),
        };
        let (i, _) = pick.expect("non-empty");
        let s = take(i, &mut cands, &mut taken)?;
        remaining -= s;
        order.push(i);
        scores.push(s);
        curve.push(remaining.max(0.0));
    }
    // Candidates with nothing new: the error is already what their recording would leave.
    for (i, _) in taken.iter().enumerate().filter(|(_, t)| !**t) {
        {
            order.push(i);
            scores.push(0.0);
            curve.push(remaining.max(0.0));
        }
    }
    Ok(RecordingOrder {
        order,
        scores,
        remaining: curve,
        initial,
    })
}

/// The comparison that says how much choosing the recordings buys (SCIENCE.md §7): the greedy
/// order, the order that takes the least informative neuron first, and the mean over random
/// orders.
#[derive(Debug, Clone, Serialize)]
pub struct RecordingPlan {
    /// The greedy order (largest score first).
    pub best: RecordingOrder,
    /// The order that takes the smallest non-zero score first.
    pub worst: RecordingOrder,
    /// The predicted remaining error after each recording, averaged over the random orders.
    pub random_mean: Vec<f64>,
    /// How many random orders were averaged.
    pub random_orders: usize,
}

/// The metric `H = Σ_i B_iᵀ B_i` of the candidates' blocks, then the best, worst and
/// `random_orders` random orders (at least one; order `k` seeded by
/// `Seeds(seed).random_order(k)`) after the neurons `already` recorded. The command line's
/// `prioritize` and Python's `ccrnn.prioritize` both call this.
pub fn recording_plan(
    blocks: &[Array2<f64>],
    already: &[usize],
    random_orders: u64,
    seed: u64,
) -> Result<RecordingPlan> {
    let p = blocks.first().map_or(0, |b| b.ncols());
    let mut h = Array2::<f64>::zeros((p, p));
    for b in blocks {
        ccrnn_core::kernels::matmul(ccrnn_core::kernels::Write::Accumulate, h.view_mut(), b.t(), b.view());
    }
    let best = greedy_order(blocks, h.view(), Strategy::Best, already)?;
    let worst = greedy_order(blocks, h.view(), Strategy::Worst, already)?;
    let randoms = (0..random_orders.max(1))
        .map(|k| {
            let order_seed = ccrnn_core::Seeds(seed).random_order(k);
            greedy_order(blocks, h.view(), Strategy::Random(order_seed), already)
        })
        .collect::<Result<Vec<_>>>()?;
    let random_mean = (0..best.order.len())
        .map(|i| randoms.iter().map(|o| o.remaining[i]).sum::<f64>() / randoms.len() as f64)
        .collect();
    Ok(RecordingPlan {
        best,
        worst,
        random_mean,
        random_orders: randoms.len(),
    })
}
