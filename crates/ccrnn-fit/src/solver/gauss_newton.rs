//! Hessian-free Gauss–Newton with Levenberg–Marquardt damping (Martens 2010, without the
//! minibatches): each iteration solves `(G + λ I) p = −∇f` by conjugate gradients on
//! Gauss–Newton–vector products (one forward tangent and one backward pass each, never forming
//! `G`), tries `θ + p`, and adapts `λ` by how well the quadratic model predicted the decrease.
//!
//! Full batch and deterministic like [`super::Lbfgs`]: every evaluation sees all trials and one
//! noise realisation. θ is projected onto the feasible set at every trial point.

use super::{EVAL_KEY, Solver, SolverState, Step, dot, evaluate, fresh_gradient, to_f, to_f64};
use crate::{IterState, Problem, Result};
use ccrnn_core::Real;

/// Hessian-free Gauss–Newton / Levenberg–Marquardt.
///
/// Its buffers ([`SolverState::GaussNewton`]): the gradient at θ, the damping λ and the last
/// step (the next conjugate-gradient solve starts from it), so a saved state resumes exactly.
/// [`IterState::evaluations`] counts cost-and-gradient evaluations and Gauss–Newton products
/// alike (each costs about one forward and one backward pass).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GaussNewton {
    /// Conjugate-gradient iterations per solve (default 50).
    pub max_cg: usize,
    /// The solve stops when the residual is below this fraction of the gradient's norm
    /// (default 0.1: an inexact Newton step).
    pub cg_tol: f64,
    /// Solves per iteration: a rejected step raises `λ` and solves again (default 4).
    pub max_solves: usize,
}

impl Default for GaussNewton {
    fn default() -> Self {
        Self {
            max_cg: 50,
            cg_tol: 0.1,
            max_solves: 4,
        }
    }
}

/// The smallest damping, relative to the curvature `pᵀGp / pᵀp` along the step.
const LAMBDA_FLOOR: f64 = 1e-12;

/// Counts the products made.
struct Products<'a, F: Real> {
    problem: &'a mut dyn Problem<F>,
    theta: &'a [F],
    /// The coordinates held at a bound this iteration (their rows and columns of `G` are
    /// left out).
    held: &'a [bool],
    count: u64,
}

impl<F: Real> Products<'_, F> {
    /// `G v` restricted to the free coordinates.
    fn gv(&mut self, v: &[f64]) -> Result<Vec<f64>> {
        self.count += 1;
        let vf: Vec<F> = v
            .iter()
            .zip(self.held)
            .map(|(&x, &h)| if h { F::zero() } else { F::lit(x) })
            .collect();
        let out = self.problem.gn_product(self.theta, EVAL_KEY, &vf)?;
        Ok(free(out.iter().map(|x| x.as_f64()), self.held))
    }
}

/// `v` with the held coordinates set to 0.
fn free(v: impl Iterator<Item = f64>, held: &[bool]) -> Vec<f64> {
    v.zip(held).map(|(x, &h)| if h { 0.0 } else { x }).collect()
}

/// The coordinates of `theta` that sit at a bound of the feasible set with the gradient `g`
/// pushing them out of it: a small step down the gradient, projected, leaves them where they
/// are. The step leaves them out (a projected-Newton active set), so that the quadratic model
/// it is judged by describes the step actually taken.
fn held_at_bounds<F: Real>(problem: &dyn Problem<F>, theta: &[f64], g: &[f64]) -> Vec<bool> {
    let mut probe: Vec<F> = theta
        .iter()
        .zip(g)
        .map(|(&t, &gi)| F::lit(t - gi.signum() * 1e-3 * t.abs().max(1.0)))
        .collect();
    problem.project(&mut probe);
    probe
        .iter()
        .zip(theta)
        .zip(g)
        .map(|((p, &t), &gi)| gi != 0.0 && p.as_f64() == t)
        .collect()
}

/// Conjugate gradients on `(G + λ I) x = −g` from `x0`; returns `x` and `G x`.
fn solve<F: Real>(
    prod: &mut Products<F>,
    g: &[f64],
    lambda: f64,
    x0: Option<&[f64]>,
    max_iter: usize,
    tol: f64,
) -> Result<(Vec<f64>, Vec<f64>)> {
    let n = g.len();
    let gnorm = dot(g, g).sqrt();
    let (mut x, mut gx) = match x0 {
        Some(x0) => {
            let gx0 = prod.gv(x0)?;
            (x0.to_vec(), gx0)
        }
        None => (vec![0.0; n], vec![0.0; n]),
    };
    // r = −g − (G + λ) x
    let mut r: Vec<f64> = (0..n).map(|i| -g[i] - gx[i] - lambda * x[i]).collect();
    let mut d = r.clone();
    let mut rr = dot(&r, &r);
    for _ in 0..max_iter {
        if rr.sqrt() <= tol * gnorm {
            break;
        }
        let gd = prod.gv(&d)?;
        let ad: Vec<f64> = (0..n).map(|i| gd[i] + lambda * d[i]).collect();
        let dad = dot(&d, &ad);
        if !(dad > 0.0 && dad.is_finite()) {
            break;
        }
        let a = rr / dad;
        for i in 0..n {
            x[i] += a * d[i];
            gx[i] += a * gd[i];
            r[i] -= a * ad[i];
        }
        let rr_new = dot(&r, &r);
        let beta = rr_new / rr;
        rr = rr_new;
        for i in 0..n {
            d[i] = r[i] + beta * d[i];
        }
    }
    Ok((x, gx))
}

impl<F: Real> Solver<F> for GaussNewton {
    fn next_iter(&self, problem: &mut dyn Problem<F>, mut s: IterState<F>) -> Result<Step<F>> {
        let (g_full, kept_lambda, warm) = match std::mem::take(&mut s.solver) {
            SolverState::GaussNewton {
                gradient,
                lambda,
                last_step,
            } if s.cost.is_finite() => (to_f64(&gradient), lambda, last_step),
            _ => (fresh_gradient(problem, &mut s)?, None, None),
        };
        let f0 = s.cost;
        let theta0 = s.theta.clone();
        let theta0_64 = to_f64(&theta0);
        let held = held_at_bounds(&*problem, &theta0_64, &g_full);
        let g0 = free(g_full.iter().copied(), &held);
        let gg = dot(&g0, &g0);
        if gg == 0.0 {
            s.solver = SolverState::GaussNewton {
                gradient: to_f(&g_full),
                lambda: kept_lambda,
                last_step: warm,
            };
            return Ok(Step::Converged(s));
        }
        // λ: kept from the last iteration, or first the curvature along the gradient
        // (gᵀ G g / gᵀ g), so that the first step is no longer than a Cauchy step
        let mut lambda = match kept_lambda {
            Some(l) => l.as_f64(),
            None => {
                let mut prod = Products {
                    problem: &mut *problem,
                    theta: &theta0,
                    held: &held,
                    count: 0,
                };
                let gg_g = dot(&g0, &prod.gv(&g0)?);
                s.evaluations += prod.count;
                (gg_g / gg).max(f64::MIN_POSITIVE)
            }
        };
        let warm: Option<Vec<f64>> = warm.map(|p| free(p.iter().map(|x| 0.95 * x.as_f64()), &held));
        let mut accepted = None;
        let mut last_step = f64::INFINITY;
        for attempt in 0..self.max_solves.max(1) {
            let x0 = if attempt == 0 { warm.as_deref() } else { None };
            let mut prod = Products {
                problem: &mut *problem,
                theta: &theta0,
                held: &held,
                count: 0,
            };
            let (p, gp) = solve(&mut prod, &g0, lambda, x0, self.max_cg, self.cg_tol)?;
            s.evaluations += prod.count;
            // the quadratic model's decrease (undamped), to judge λ by
            let predicted = -(dot(&g0, &p) + 0.5 * dot(&p, &gp));
            let mut trial: Vec<F> = theta0_64.iter().zip(&p).map(|(t, pi)| F::lit(t + pi)).collect();
            problem.project(&mut trial);
            let step: Vec<f64> = trial.iter().zip(&theta0_64).map(|(t, t0)| t.as_f64() - t0).collect();
            last_step = step.iter().fold(0.0f64, |m, x| m.max(x.abs()));
            let slope = dot(&g0, &step);
            let got = if slope < 0.0 {
                s.evaluations += 1;
                evaluate(problem, &trial)?
            } else {
                None // the projection turned the step uphill
            };
            // λ stays above a tiny fraction of the curvature along the step: a λ that fell to 0
            // (after hundreds of good steps) could not be raised again by a failed one
            let floor = LAMBDA_FLOOR * dot(&p, &gp) / dot(&p, &p).max(f64::MIN_POSITIVE);
            match got {
                Some((f, g)) if f < f0 && predicted > 0.0 => {
                    let rho = (f0 - f) / predicted;
                    if rho > 0.75 {
                        lambda = (lambda / 3.0).max(floor);
                    } else if rho < 0.25 {
                        lambda = (lambda * 2.0).max(floor);
                    }
                    accepted = Some((trial, p, f, g));
                    break;
                }
                _ => lambda = (lambda * 4.0).max(floor),
            }
        }
        let Some((theta, p, f, g)) = accepted else {
            // No decrease in `max_solves` tries. Converged only if the damped step has become
            // negligible against θ (no representable decrease is left); else the iteration is
            // rejected: θ stays, and the raised λ carries into the next one (a step cut short
            // by a too-small λ is not a minimum).
            let scale = theta0_64.iter().fold(1.0f64, |m, x| m.max(x.abs()));
            let converged = last_step <= 1e-12 * scale;
            s.solver = SolverState::GaussNewton {
                gradient: to_f(&g_full),
                lambda: if converged { kept_lambda } else { Some(F::lit(lambda)) },
                last_step: None,
            };
            if converged {
                return Ok(Step::Converged(s));
            }
            s.step += 1;
            return Ok(Step::Moved(s));
        };
        s.grad_norm = dot(&g, &g).sqrt();
        s.solver = SolverState::GaussNewton {
            gradient: to_f(&g),
            lambda: Some(F::lit(lambda)),
            last_step: Some(to_f(&p)),
        };
        s.theta = theta;
        s.cost = f;
        s.step += 1;
        Ok(Step::Moved(s))
    }
}
