//! # ccrnn-fit
//!
//! Fitting ccrnn models: the problem / solver / executor / observer split of argmin.
//!
//! * a [`Problem`] gives a minibatch cost and its gradient at θ ([`FitProblem`]: any model,
//!   any trainable groups, fitted to recorded activity or to a readout);
//! * a [`Solver`] turns one [`IterState`] into the next, or says it has converged ([`Step`]):
//!   [`Adam`] with gradient-norm clipping, [`Lbfgs`] full-batch quasi-Newton, [`GaussNewton`]
//!   Hessian-free Levenberg–Marquardt; [`Method`] chooses; each keeps its buffers in its own
//!   [`SolverState`];
//! * an [`Executor`] owns the loop: step budget, early stopping and convergence, [`Observer`]s
//!   (which may end the run with [`Flow::Stop`]; wrapped in [`Every`] to run every n steps, and
//!   shown the final state) and resumption from a saved [`IterState`];
//! * [`student`] builds the paper's students, [`metrics`] scores them against a teacher.
//!
//! This crate neither parses command lines nor chooses file paths.
#![deny(missing_docs)]

pub mod config;
pub mod error;
pub mod executor;
pub mod metrics;
pub mod problem;
pub mod selection;
pub mod solver;
pub mod student;

pub use config::{FitConfig, FitOutcome, GAUSS_NEWTON_STEPS, ValidFitConfig, fit};
pub use error::{Error, Result};
pub use executor::{Convergence, EarlyStop, Every, Executor, Flow, History, IterState, Observer, Termination};
pub use metrics::{Scores, evaluate};
pub use problem::{Data, FitProblem, Problem};
pub use solver::{Adam, CostAt, GaussNewton, Lbfgs, Method, MethodKind, Solver, SolverState, Step};
