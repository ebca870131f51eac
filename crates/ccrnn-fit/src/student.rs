//! The paper's students (SCIENCE.md §5): same connectome, unknown single-neuron parameters.

use ccrnn_core::{Model, NeuronSet, Real, Result};
use ndarray::Array1;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

/// Permutes `v` within each population of neurons sharing a presynaptic sign.
fn permute_within_populations<F: Real>(v: &Array1<F>, signs: &[i8], rng: &mut ChaCha8Rng) -> Array1<F> {
    let mut out = v.clone();
    for s in [1i8, -1, 0] {
        let idx: Vec<usize> = (0..signs.len()).filter(|&i| signs[i] == s).collect();
        let mut src = idx.clone();
        src.shuffle(rng);
        for (&dst, &from) in idx.iter().zip(&src) {
            out[dst] = v[from];
        }
    }
    out
}

/// A student of `teacher`: the same W, W_in, h0, W_out, τ and β; gains are the teacher's
/// permuted within the excitatory and within the inhibitory population and multiplied by
/// `gain_factor` (paper: 0.5); biases are permuted the same way (independently).
pub fn student_init<F: Real>(teacher: &Model<F>, gain_factor: f64, seed: u64) -> Model<F> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = teacher.clone();
    s.params.g =
        permute_within_populations(&teacher.params.g, &teacher.signs, &mut rng).mapv(|g| g * F::lit(gain_factor));
    s.params.b = permute_within_populations(&teacher.params.b, &teacher.signs, &mut rng);
    s
}

/// A random order of all `n` neurons; recording the first M of it gives nested recorded sets
/// across M for one seed.
pub fn recording_order(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rng);
    order
}

/// The first `m` neurons of [`recording_order`] (`m` must be in 1..=n).
pub fn random_recorded(n: usize, m: usize, seed: u64) -> Result<NeuronSet> {
    if m > n {
        return Err(ccrnn_core::Error::invalid(
            "recorded",
            format!("M = {m} exceeds the network's {n} neurons"),
        ));
    }
    NeuronSet::nonempty(&recording_order(n, seed)[..m], n)
}
