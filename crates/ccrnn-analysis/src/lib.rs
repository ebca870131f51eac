//! The paper's theory (SCIENCE.md §7) as tools: Gauss–Newton matrices of the activity with
//! respect to the parameters and their spectra ([`gn_matrix`]), dimensionality
//! ([`dimension`]), the linear theory of recordings ([`linear`]) and greedy recording orders for
//! linear and nonlinear networks ([`greedy`]).
//!
//! Works in f64 on noise-free rollouts. Trains nothing, reads no files, prints nothing.
#![deny(missing_docs)]

pub mod dimension;
mod error;
pub mod gn_matrix;
pub mod greedy;
pub mod linalg;
pub mod linear;

pub use dimension::participation_ratio;
pub use error::{Error, Result};
pub use gn_matrix::{GnOptions, Spectrum, gauss_newton, neuron_blocks};
pub use greedy::{RecordingOrder, RecordingPlan, Strategy, greedy_order, recording_plan};
pub use linear::{linear_response, low_rank_random, numerical_rank};
