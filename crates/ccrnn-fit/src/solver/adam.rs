//! Adam, the paper's optimiser.

use super::{CostAt, Solver, SolverState, Step};
use crate::{Error, IterState, Problem, Result};
use ccrnn_core::Real;

/// Adam (Kingma & Ba), as in PyTorch, with optional clipping of the gradient's Euclidean norm
/// (PyTorch's `clip_grad_norm_`) before the update. θ is projected onto the feasible set after
/// each update. Its moments live in [`SolverState::Adam`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adam {
    /// Learning rate (> 0).
    pub lr: f64,
    /// First-moment decay (default 0.9).
    pub beta1: f64,
    /// Second-moment decay (default 0.999).
    pub beta2: f64,
    /// Denominator offset (default 1e-8).
    pub eps: f64,
    /// Maximum gradient norm; `None` for no clipping.
    pub clip: Option<f64>,
}

impl Adam {
    /// Adam with PyTorch's defaults and the given learning rate and clip.
    pub fn new(lr: f64, clip: Option<f64>) -> Self {
        Self {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            clip,
        }
    }
}

impl<F: Real> Solver<F> for Adam {
    fn next_iter(&self, problem: &mut dyn Problem<F>, mut s: IterState<F>) -> Result<Step<F>> {
        let n = s.theta.len();
        let (cost, mut g) = problem.cost_grad(&s.theta, s.step)?;
        if !cost.is_finite() {
            return Err(Error::Diverged {
                step: s.step,
                what: format!("loss = {cost}"),
            });
        }
        let norm = g.iter().map(|x| x.as_f64().powi(2)).sum::<f64>().sqrt();
        if !norm.is_finite() {
            let k = g.iter().position(|x| !x.is_finite()).unwrap_or(0);
            return Err(Error::Diverged {
                step: s.step,
                what: format!("gradient[{k}] = {}", g[k]),
            });
        }
        if let Some(c) = self.clip
            && norm > c
        {
            let f = F::lit(c / (norm + 1e-6));
            g.iter_mut().for_each(|x| *x *= f);
        }
        let (mut m, mut v) = match std::mem::take(&mut s.solver) {
            SolverState::Adam { m, v } if m.len() == n && v.len() == n => (m, v),
            _ => (vec![F::zero(); n], vec![F::zero(); n]),
        };
        let t = (s.step + 1) as i32;
        let (b1, b2) = (F::lit(self.beta1), F::lit(self.beta2));
        let bc1 = F::lit(1.0 - self.beta1.powi(t));
        let bc2 = F::lit(1.0 - self.beta2.powi(t));
        let (lr, eps) = (F::lit(self.lr), F::lit(self.eps));
        for (((th, gi), mi), vi) in s.theta.iter_mut().zip(&g).zip(&mut m).zip(&mut v) {
            *mi = b1 * *mi + (F::one() - b1) * *gi;
            *vi = b2 * *vi + (F::one() - b2) * *gi * *gi;
            let mh = *mi / bc1;
            let vh = *vi / bc2;
            *th -= lr * mh / (vh.sqrt() + eps);
        }
        s.solver = SolverState::Adam { m, v };
        problem.project(&mut s.theta);
        s.step += 1;
        s.evaluations += 1;
        s.cost = cost;
        s.grad_norm = norm;
        Ok(Step::Moved(s))
    }
    /// The minibatch loss whose gradient made the update: at the θ before it.
    fn cost_at(&self) -> CostAt {
        CostAt::Start
    }
}
