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

use crate::{IterState, Problem, Result};
use ccrnn_core::Real;
use serde::{Deserialize, Serialize};

/// A solver only knows how to make one step.
pub trait Solver<F: Real> {
    /// Evaluates the problem at `state.theta` and returns the state after one update.
    fn next_iter(&self, problem: &mut dyn Problem<F>, state: IterState<F>) -> Result<IterState<F>>;
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
}
