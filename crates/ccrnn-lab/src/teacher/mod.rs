//! The paper's teachers (SCIENCE.md §4).

mod connectome;
mod ei;
mod random_nets;

pub use connectome::{ConnectomeTeacher, ConnectomeTeacherSpec, DENSE_EIGEN_MAX};
pub use ei::{EiSpec, check_network_size, check_run_size, leading_eigenvalue_real};
pub use random_nets::{ChaoticSpec, FIG3_NOISE, LowRankSpec};

use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// A standard normal draw.
pub(crate) fn randn(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}
