//! The paper's students (SCIENCE.md §5): same connectome, unknown single-neuron parameters.

use crate::Error;
use ccrnn_core::{Model, NeuronSet, Real, Result, Seeds};
use ndarray::Array1;
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

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

/// How a student's parameters start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InitKind {
    /// The paper's: the model's gains permuted within E and within I and scaled by
    /// `gain_factor`, biases permuted ([`student_init`]).
    Permuted,
    /// Start from the model's parameters as they are.
    Model,
}

impl InitKind {
    /// Every kind.
    pub const ALL: [InitKind; 2] = [InitKind::Permuted, InitKind::Model];

    /// The name in configurations, on the command line and in Python.
    pub fn name(self) -> &'static str {
        match self {
            InitKind::Permuted => "permuted",
            InitKind::Model => "model",
        }
    }
}

impl std::str::FromStr for InitKind {
    type Err = Error;
    fn from_str(s: &str) -> std::result::Result<Self, Error> {
        Self::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| Error::config("init", format!("= {s:?}: expected permuted or model")))
    }
}

/// How a student starts (the `[student]` section of a configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudentConfig {
    /// `permuted` (the paper's) or `model` (the model file's parameters as they are).
    pub init: InitKind,
    /// With `permuted`: initial gains are the permuted ones × this (paper: 0.5).
    pub gain_factor: f64,
}

impl Default for StudentConfig {
    fn default() -> Self {
        Self {
            init: InitKind::Permuted,
            gain_factor: 0.5,
        }
    }
}

impl StudentConfig {
    /// Checks every value; errors name the field.
    pub fn validate(&self) -> std::result::Result<(), Error> {
        if !(self.gain_factor > 0.0 && self.gain_factor.is_finite()) {
            return Err(Error::config(
                "student.gain_factor",
                format!("= {}: must be > 0", self.gain_factor),
            ));
        }
        Ok(())
    }

    /// The student of `model` that a fit with seed `fit_seed` starts from (its
    /// [`Seeds::student_init`] stream draws the permutations).
    pub fn start<F: Real>(&self, model: &Model<F>, fit_seed: u64) -> Model<F> {
        match self.init {
            InitKind::Permuted => student_init(model, self.gain_factor, Seeds(fit_seed).student_init()),
            InitKind::Model => model.clone(),
        }
    }
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
