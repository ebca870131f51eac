//! # ccrnn-core
//!
//! The connectome-constrained rate network of Beiran & Litwin-Kumar (2025), its simulation and
//! its exact gradients (hand-written backpropagation through time).
//!
//! Conventions used everywhere in ccrnn:
//!
//! * Connectivity is `W[post, pre]`: row `i` holds the synapses *onto* neuron `i`, column `j`
//!   the synapses *from* neuron `j`. Dale's law is a sign per presynaptic neuron (column).
//! * Arrays over a batch of trials are `B × T × N` (trials × time steps × neurons), trial-major,
//!   like NumPy arrays of shape `(trials, time, neurons)`. Time is in steps of `dt`.
//! * Inputs multiply from the left, `drive = u_t @ W_in` with `W_in` of shape `n_in × N`;
//!   readouts likewise, `y_t = a_t @ W_out` with `W_out` of shape `N × n_out`.
//!
//! This crate owns the maths. It reads no files, prints nothing and holds no global state but
//! the choice of kernels ([`kernels::simd::isa`], [`kernels::set_reproducible`]).
#![deny(missing_docs)]
// The hot loops index several equal-length slices in lockstep, which is clearer (and as fast)
// as zipping five iterators.
#![allow(clippy::needless_range_loop)]

pub mod activation;
pub mod connectome;
pub mod coupling;
pub mod error;
pub mod gap;
pub mod grad;
pub mod kernels;
pub mod loss;
pub mod model;
pub mod neurons;
mod noise;
pub mod observe;
pub mod params;
pub mod real;
pub mod seeds;
pub mod simulate;
pub mod trajectory;

pub use activation::Activation;
pub use connectome::Connectome;
pub use coupling::{Backend, Connectivity, Coupling, Pattern};
pub use error::{Error, Result};
pub use gap::GapJunctions;
pub use grad::{
    ParamGrad, arrays_for_grad, bptt, checkpoint_interval, gauss_newton_product, loss_and_grad,
    loss_and_grad_checkpointed, tangents,
};
pub use loss::{OutputGrad, Target, loss};
pub use model::{GainPlacement, Model, ModelBuilder};
pub use neurons::NeuronSet;
pub use observe::{FrameMap, Indicator, Observation, Sampling};
pub use params::{Beta, GroupSet, NeuronParams, ParamGroup, UnknownGroup};
pub use real::Real;
pub use seeds::Seeds;
pub use simulate::{SimOptions, Stimulus, simulate, simulate_into};
pub use trajectory::Trajectory;
