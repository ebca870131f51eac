//! Solvers: one step from an [`IterState`] to the next.
//!
//! * [`Adam`]: stochastic first-order steps on minibatches, the paper's recipe;
//! * [`Lbfgs`]: full-batch quasi-Newton steps with a backtracking line search, for the small
//!   parameter vectors of students (about 2N values), where curvature pays;
//! * [`GaussNewton`]: full-batch Hessian-free Gauss–Newton with Levenberg–Marquardt damping
//!   (conjugate gradients on Gauss–Newton–vector products).
//!
//! [`Method`] is the choice between them that configurations and the command line make.

mod adam;
mod gauss_newton;
mod lbfgs;

pub use adam::Adam;
pub use gauss_newton::GaussNewton;
pub use lbfgs::Lbfgs;

use crate::{Error, IterState, Problem, Result};
use ccrnn_core::Real;
use serde::{Deserialize, Serialize};

/// A solver only knows how to make one step.
pub trait Solver<F: Real> {
    /// Evaluates the problem at `state.theta` and returns the state after one update.
    fn next_iter(&self, problem: &mut dyn Problem<F>, state: IterState<F>) -> Result<IterState<F>>;
    /// The full-batch gradient at `state.theta`, for solvers that keep it (the convergence
    /// test of [`crate::Convergence`] reads it); `None` for minibatch solvers.
    fn gradient<'s>(&self, state: &'s IterState<F>) -> Option<&'s [F]> {
        let _ = state;
        None
    }
}

/// The fitting method, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MethodKind {
    /// Adam on minibatches (the paper's recipe).
    #[default]
    Adam,
    /// Full-batch L-BFGS.
    Lbfgs,
    /// Full-batch Hessian-free Gauss–Newton / Levenberg–Marquardt.
    #[serde(rename = "gauss-newton")]
    GaussNewton,
}

impl MethodKind {
    /// Every method.
    pub const ALL: [MethodKind; 3] = [MethodKind::Adam, MethodKind::Lbfgs, MethodKind::GaussNewton];
    /// The name used in configurations and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            MethodKind::Adam => "adam",
            MethodKind::Lbfgs => "lbfgs",
            MethodKind::GaussNewton => "gauss-newton",
        }
    }
    /// The method of a name, if there is one.
    pub fn from_name(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.name() == s)
    }
    /// Whether every evaluation uses all trials (the configured minibatch size is ignored).
    pub fn full_batch(self) -> bool {
        self != MethodKind::Adam
    }
}

/// A configured solver of either kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Method {
    /// See [`Adam`].
    Adam(Adam),
    /// See [`Lbfgs`].
    Lbfgs(Lbfgs),
    /// See [`GaussNewton`].
    GaussNewton(GaussNewton),
}

impl Method {
    /// Which kind this is.
    pub fn kind(&self) -> MethodKind {
        match self {
            Method::Adam(_) => MethodKind::Adam,
            Method::Lbfgs(_) => MethodKind::Lbfgs,
            Method::GaussNewton(_) => MethodKind::GaussNewton,
        }
    }
}

impl<F: Real> Solver<F> for Method {
    fn next_iter(&self, problem: &mut dyn Problem<F>, state: IterState<F>) -> Result<IterState<F>> {
        match self {
            Method::Adam(a) => a.next_iter(problem, state),
            Method::Lbfgs(l) => l.next_iter(problem, state),
            Method::GaussNewton(g) => g.next_iter(problem, state),
        }
    }
    fn gradient<'s>(&self, state: &'s IterState<F>) -> Option<&'s [F]> {
        match self {
            Method::Adam(_) => None,
            // Both keep ∇f(θ) first in their buffers.
            Method::Lbfgs(_) | Method::GaussNewton(_) => state.moments.first().map(|g| g.as_slice()),
        }
    }
}

/// The problem key of every evaluation of the full-batch methods (minibatch and noise of
/// "step 0"), so that their objective is one deterministic function of θ.
pub(super) const EVAL_KEY: u64 = 0;

/// Full-batch cost and gradient at θ; a simulation that diverges there counts as an infinite
/// cost (`None`: the caller shortens its step) rather than ending the run.
pub(super) fn evaluate<F: Real>(problem: &mut dyn Problem<F>, theta: &[F]) -> Result<Option<(f64, Vec<f64>)>> {
    match problem.cost_grad(theta, EVAL_KEY) {
        Ok((f, g)) => {
            let g: Vec<f64> = g.iter().map(|x| x.as_f64()).collect();
            Ok((f.is_finite() && g.iter().all(|x| x.is_finite())).then_some((f, g)))
        }
        Err(Error::AtStep {
            source: ccrnn_core::Error::Diverged { .. },
            ..
        }) => Ok(None),
        Err(e) => Err(e),
    }
}

/// For the full-batch methods: evaluates the state's θ unless the state already holds its cost
/// and gradient (`moments[0]`), and then starts `moments` afresh with the gradient.
pub(super) fn ensure_gradient<F: Real>(problem: &mut dyn Problem<F>, s: &mut IterState<F>) -> Result<()> {
    if s.moments.is_empty() || !s.cost.is_finite() {
        let (f, g) = evaluate(problem, &s.theta)?.ok_or_else(|| Error::Diverged {
            step: s.step,
            what: "the loss at the starting parameters is not finite".into(),
        })?;
        s.evaluations += 1;
        s.cost = f;
        s.moments = vec![g.iter().map(|&x| F::lit(x)).collect()];
    }
    Ok(())
}

/// `aᵀb` in f64.
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
