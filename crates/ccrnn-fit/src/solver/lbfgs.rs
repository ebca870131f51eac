//! L-BFGS (Nocedal & Wright, algorithm 7.5) with a backtracking Armijo line search.
//!
//! Full batch: every evaluation sees the same trials and the same noise realisation (the
//! problem's evaluation key is fixed), so the objective is a deterministic function of θ and
//! the curvature pairs describe one function. θ is projected onto the feasible set at every
//! trial point; the pair `(s, y)` is built from the step actually taken.

use super::{Solver, SolverState, Step, dot, evaluate, fresh_gradient, to_f, to_f64};
use crate::{IterState, Problem, Result};
use ccrnn_core::Real;

/// Limited-memory BFGS.
///
/// Its buffers ([`SolverState::Lbfgs`]): the gradient at θ and the curvature pairs, oldest
/// first, so a saved state resumes exactly.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lbfgs {
    /// Number of curvature pairs kept (default 10).
    pub memory: usize,
    /// Function evaluations allowed per line search (default 20).
    pub max_evals: usize,
    /// Sufficient-decrease constant of the Armijo test (default 1e-4).
    pub c1: f64,
    /// Largest change of any parameter on the first step, before any curvature is known
    /// (default 0.1).
    pub first_step: f64,
}

impl Default for Lbfgs {
    fn default() -> Self {
        Self {
            memory: 10,
            max_evals: 20,
            c1: 1e-4,
            first_step: 0.1,
        }
    }
}

/// A curvature pair `(s, y)`: a step and the change of gradient along it.
type Pair = (Vec<f64>, Vec<f64>);

/// `H g` for the inverse-Hessian approximation of the pairs (two-loop recursion), scaled
/// initially by `sᵀy / yᵀy` of the newest pair.
fn two_loop(g: &[f64], pairs: &[Pair]) -> Vec<f64> {
    let mut q = g.to_vec();
    let mut alphas = vec![0.0; pairs.len()];
    for (k, (s, y)) in pairs.iter().enumerate().rev() {
        let rho = 1.0 / dot(y, s);
        alphas[k] = rho * dot(s, &q);
        q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= alphas[k] * yi);
    }
    if let Some((s, y)) = pairs.last() {
        let gamma = dot(s, y) / dot(y, y);
        q.iter_mut().for_each(|x| *x *= gamma);
    }
    for (k, (s, y)) in pairs.iter().enumerate() {
        let rho = 1.0 / dot(y, s);
        let beta = rho * dot(y, &q);
        q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (alphas[k] - beta) * si);
    }
    q
}

/// The buffers of a state at gradient `g` with curvature `pairs`.
fn keep<F: Real>(g: &[f64], pairs: &[Pair]) -> SolverState<F> {
    SolverState::Lbfgs {
        gradient: to_f(g),
        pairs: pairs.iter().map(|(a, b)| (to_f(a), to_f(b))).collect(),
    }
}

impl<F: Real> Solver<F> for Lbfgs {
    fn next_iter(&self, problem: &mut dyn Problem<F>, mut s: IterState<F>) -> Result<Step<F>> {
        let n = s.theta.len();
        let (g0, mut pairs): (Vec<f64>, Vec<Pair>) = match &s.solver {
            SolverState::Lbfgs { gradient, pairs } if s.cost.is_finite() => (
                to_f64(gradient),
                pairs.iter().map(|(a, b)| (to_f64(a), to_f64(b))).collect(),
            ),
            _ => (fresh_gradient(problem, &mut s)?, Vec::new()),
        };
        let f0 = s.cost;
        let theta0 = to_f64(&s.theta);
        let gmax = g0.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        if gmax == 0.0 {
            s.solver = keep(&g0, &pairs);
            return Ok(Step::Converged(s));
        }

        let mut accepted = None;
        for attempt in 0..2 {
            // quasi-Newton direction; steepest descent when there is no usable curvature (or
            // on the retry after a failed search)
            let mut d: Vec<f64> = two_loop(&g0, &pairs).iter().map(|x| -x).collect();
            if attempt == 1 || pairs.is_empty() || dot(&g0, &d) >= 0.0 {
                pairs.clear();
                d = g0.iter().map(|x| -x).collect();
            }
            let steepest = pairs.is_empty();
            let mut alpha = if pairs.is_empty() { self.first_step / gmax } else { 1.0 };
            for _ in 0..self.max_evals {
                let mut trial: Vec<F> = theta0.iter().zip(&d).map(|(t, di)| F::lit(t + alpha * di)).collect();
                problem.project(&mut trial);
                let step: Vec<f64> = trial.iter().zip(&theta0).map(|(t, t0)| t.as_f64() - t0).collect();
                let slope = dot(&g0, &step);
                if slope >= 0.0 {
                    alpha *= 0.5; // the projection turned the step uphill
                    continue;
                }
                let got = evaluate(problem, &trial)?;
                s.evaluations += 1;
                match got {
                    Some((f, g)) if f <= f0 + self.c1 * slope => {
                        accepted = Some((trial, step, f, g));
                        break;
                    }
                    Some((f, _)) => {
                        // minimiser of the quadratic through f0, the slope and f, kept in
                        // [0.1, 0.5] of the current step
                        let a_q = -slope * alpha / (2.0 * (f - f0 - slope));
                        alpha = a_q.clamp(0.1 * alpha, 0.5 * alpha);
                    }
                    None => alpha *= 0.25,
                }
            }
            if accepted.is_some() || steepest {
                break;
            }
        }
        let Some((theta, step, f, g)) = accepted else {
            // no decrease along steepest descent either: a minimum to the precision of the
            // objective
            s.solver = keep(&g0, &pairs);
            return Ok(Step::Converged(s));
        };
        let y: Vec<f64> = g.iter().zip(&g0).map(|(a, b)| a - b).collect();
        let sy = dot(&step, &y);
        if sy > 1e-10 * dot(&step, &step).sqrt() * dot(&y, &y).sqrt() {
            pairs.push((step, y));
            if pairs.len() > self.memory.max(1) {
                pairs.remove(0);
            }
        }
        s.grad_norm = dot(&g, &g).sqrt();
        s.solver = keep(&g, &pairs);
        debug_assert_eq!(theta.len(), n);
        s.theta = theta;
        s.cost = f;
        s.step += 1;
        Ok(Step::Moved(s))
    }
}
