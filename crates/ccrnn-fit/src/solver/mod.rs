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
    /// Evaluates the problem at `state.theta` and makes one update: [`Step::Moved`] with the
    /// state after it, or [`Step::Converged`] when the solver can lower the loss no further.
    fn next_iter(&self, problem: &mut dyn Problem<F>, state: IterState<F>) -> Result<Step<F>>;
    /// Where the loss a step records in [`IterState::cost`] was measured.
    fn cost_at(&self) -> CostAt {
        CostAt::End
    }
}

/// Where a step measured the loss it records in [`IterState::cost`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CostAt {
    /// At the θ the step started from (Adam: the minibatch loss whose gradient made the update).
    Start,
    /// At the θ the step ended with, `IterState::theta` (the full-batch solvers: the loss of the
    /// accepted point).
    End,
}

/// What one step of a solver did.
#[derive(Debug, Clone, PartialEq)]
pub enum Step<F> {
    /// The step was taken (for Gauss–Newton, possibly a rejected step that only raised the
    /// damping): carry on from this state.
    Moved(IterState<F>),
    /// No further decrease of the loss is possible (a minimum to the precision of the loss):
    /// the state before the step, with the evaluations the step spent counted.
    Converged(IterState<F>),
}

impl<F> Step<F> {
    /// The state, whatever the step did.
    pub fn into_state(self) -> IterState<F> {
        match self {
            Step::Moved(s) | Step::Converged(s) => s,
        }
    }
}

/// Each solver's own buffers, so that a saved [`IterState`] resumes exactly. Empty
/// ([`SolverState::Fresh`]) before the first step; a state of another solver is ignored (the
/// solver starts its buffers afresh).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(tag = "solver", rename_all = "kebab-case")]
pub enum SolverState<F> {
    /// No buffers yet.
    #[default]
    Fresh,
    /// Adam's first and second moments (each one value per parameter).
    Adam {
        /// First moment.
        m: Vec<F>,
        /// Second moment.
        v: Vec<F>,
    },
    /// L-BFGS: the gradient at θ and the curvature pairs `(s, y)`, oldest first.
    Lbfgs {
        /// ∇f(θ).
        gradient: Vec<F>,
        /// Curvature pairs (step, change of gradient).
        pairs: Vec<(Vec<F>, Vec<F>)>,
    },
    /// Gauss–Newton: the gradient at θ, the damping λ and the last step (the next
    /// conjugate-gradient solve starts from it).
    GaussNewton {
        /// ∇f(θ).
        gradient: Vec<F>,
        /// Levenberg–Marquardt damping (at the model's precision); `None` before the first
        /// solve.
        lambda: Option<F>,
        /// The last accepted step; `None` before one.
        last_step: Option<Vec<F>>,
    },
}

impl<F> SolverState<F> {
    /// The full-batch gradient at θ, for the solvers that keep one (the convergence test of
    /// [`crate::Convergence`] reads it); `None` for Adam and before the first step.
    pub fn gradient(&self) -> Option<&[F]> {
        match self {
            SolverState::Lbfgs { gradient, .. } | SolverState::GaussNewton { gradient, .. } => Some(gradient),
            SolverState::Fresh | SolverState::Adam { .. } => None,
        }
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
    fn next_iter(&self, problem: &mut dyn Problem<F>, state: IterState<F>) -> Result<Step<F>> {
        match self {
            Method::Adam(a) => a.next_iter(problem, state),
            Method::Lbfgs(l) => l.next_iter(problem, state),
            Method::GaussNewton(g) => g.next_iter(problem, state),
        }
    }
    fn cost_at(&self) -> CostAt {
        match self {
            Method::Adam(a) => Solver::<F>::cost_at(a),
            Method::Lbfgs(l) => Solver::<F>::cost_at(l),
            Method::GaussNewton(g) => Solver::<F>::cost_at(g),
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

/// For the full-batch methods starting afresh (no buffers of their own, or no known cost):
/// evaluates the loss at the state's θ into `cost` and returns its gradient.
pub(super) fn fresh_gradient<F: Real>(problem: &mut dyn Problem<F>, s: &mut IterState<F>) -> Result<Vec<f64>> {
    let (f, g) = evaluate(problem, &s.theta)?.ok_or_else(|| Error::Diverged {
        step: s.step,
        what: "the loss at the starting parameters is not finite".into(),
    })?;
    s.evaluations += 1;
    s.cost = f;
    Ok(g)
}

/// f64 values as the model's precision.
pub(super) fn to_f<F: Real>(v: &[f64]) -> Vec<F> {
    v.iter().map(|&x| F::lit(x)).collect()
}

/// The model's precision as f64.
pub(super) fn to_f64<F: Real>(v: &[F]) -> Vec<f64> {
    v.iter().map(|x| x.as_f64()).collect()
}

/// `aᵀb` in f64.
pub(super) fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}
