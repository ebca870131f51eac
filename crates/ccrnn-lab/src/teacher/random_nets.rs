//! The random tanh teachers of Figure 3: a rank-2 limit cycle and a chaotic network.

use super::ei::{check_network_size, check_run_size};
use super::randn;
use crate::Result;
use ccrnn_core::{Activation, Connectivity, Model, NeuronParams, SimOptions, Stimulus, simulate};
use ndarray::{Array1, Array2, Array3, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The tanh network shared by both teachers: dense, no sign constraint, b = 0, no input.
fn tanh_net(j: Array2<f64>, gain_sd: f64, tau: f64, dt: f64, rng: &mut ChaCha8Rng) -> Result<Model<f64>> {
    let n = j.nrows();
    let conn = Connectivity::from_dense(j.view(), None, vec![0; n])?;
    let mut p = NeuronParams::default_for(n);
    p.g = Array1::from_shape_fn(n, |_| 1.0 + gain_sd * randn(rng));
    p.tau.fill(tau);
    let w_out = Array2::from_shape_fn((n, 1), |_| randn(rng) / n as f64);
    Ok(Model::builder(conn)
        .params(p)
        .activation(Activation::Tanh)
        .w_out(w_out)
        .dt(dt)
        .build()?)
}

/// Rank-2 teacher: J = (m1 n1ᵀ + m2 n2ᵀ)/N with n_a = Σ_b O_ab m_b + ξ_a, so that the overlaps
/// n_aᵀ m_b / N ≈ O_ab (default [[1.5, −3], [3, 1.5]], eigenvalues 1.5 ± 3i: a limit cycle);
/// tanh, g ~ 1 + 0.9 ξ (used rectified), b = 0, τ = 0.5, no input, σ = 0.001, h0 after a
/// burn-in of `burn_in` steps from a random state.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LowRankSpec {
    /// Number of neurons (paper: 100 … 1000).
    pub n: usize,
    /// Overlap matrix O.
    pub overlap: [[f64; 2]; 2],
    /// Gain spread.
    pub gain_sd: f64,
    /// Time constant.
    pub tau: f64,
    /// Time step.
    pub dt: f64,
    /// Burn-in steps before h0 is taken.
    pub burn_in: usize,
}

impl Default for LowRankSpec {
    fn default() -> Self {
        Self {
            n: 300,
            overlap: [[1.5, -3.0], [3.0, 1.5]],
            gain_sd: 0.9,
            tau: 0.5,
            dt: 0.05,
            burn_in: 400,
        }
    }
}

/// Process noise of the Figure 3 teachers.
pub const FIG3_NOISE: f64 = 0.001;

impl LowRankSpec {
    /// The teacher and a stimulus of `trials` trials of `steps` steps (no input).
    pub fn generate(&self, trials: usize, steps: usize, seed: u64) -> Result<(Model<f64>, Stimulus<f64>)> {
        check_network_size(self.n)?;
        check_run_size("teacher.trials, teacher.steps", trials, steps, self.n)?;
        check_run_size("teacher.low_rank.burn_in", 1, self.burn_in, self.n)?;
        let n = self.n;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let m: [Array1<f64>; 2] = std::array::from_fn(|_| Array1::from_shape_fn(n, |_| randn(&mut rng)));
        let o = self.overlap;
        let nv: [Array1<f64>; 2] = std::array::from_fn(|a| {
            Array1::from_shape_fn(n, |i| o[a][0] * m[0][i] + o[a][1] * m[1][i] + randn(&mut rng))
        });
        let j = Array2::from_shape_fn((n, n), |(i, k)| (m[0][i] * nv[0][k] + m[1][i] * nv[1][k]) / n as f64);
        let mut model = tanh_net(j, self.gain_sd, self.tau, self.dt, &mut rng)?;
        model.params.h0 = Array1::from_shape_fn(n, |_| randn(&mut rng));
        let burn = simulate(
            &model,
            &Stimulus::silent(1, self.burn_in.max(1)),
            &SimOptions::noisy(FIG3_NOISE, seed),
        )?;
        model.params.h0 = burn
            .h
            .index_axis(Axis(0), 0)
            .index_axis(Axis(0), self.burn_in.max(1) - 1)
            .to_owned();
        Ok((model, Stimulus::silent(trials, steps)))
    }
}

/// Chaotic teacher: J = 1.7 ξ/√N, tanh, g ~ 1 + 0.5 ξ (used rectified), b = 0, τ = 0.5,
/// trials from random initial states, σ = 0.001.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ChaoticSpec {
    /// Number of neurons (paper: 200 … 1000).
    pub n: usize,
    /// Coupling strength (× ξ/√N).
    pub coupling: f64,
    /// Gain spread.
    pub gain_sd: f64,
    /// Time constant.
    pub tau: f64,
    /// Time step.
    pub dt: f64,
}

impl Default for ChaoticSpec {
    fn default() -> Self {
        Self {
            n: 300,
            coupling: 1.7,
            gain_sd: 0.5,
            tau: 0.5,
            dt: 0.05,
        }
    }
}

impl ChaoticSpec {
    /// The teacher and a stimulus of `trials` trials (paper: 20) of `steps` steps (paper: 400)
    /// from random initial states h0 ~ N(0, 1).
    pub fn generate(&self, trials: usize, steps: usize, seed: u64) -> Result<(Model<f64>, Stimulus<f64>)> {
        check_network_size(self.n)?;
        check_run_size("teacher.trials, teacher.steps", trials, steps, self.n)?;
        let n = self.n;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let sq = (n as f64).sqrt();
        let j = Array2::from_shape_fn((n, n), |_| self.coupling * randn(&mut rng) / sq);
        let model = tanh_net(j, self.gain_sd, self.tau, self.dt, &mut rng)?;
        let mut stim = Stimulus::new(Array3::zeros((trials, steps, 0)));
        stim.h0 = Some(Array2::from_shape_fn((trials, n), |_| randn(&mut rng)));
        Ok((model, stim))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Variance over time of the activity of a trajectory's last half, averaged over neurons.
    fn late_variance(t: &ccrnn_core::Trajectory<f64>) -> f64 {
        let a = t.a.index_axis(Axis(0), 0);
        let steps = a.nrows();
        let late = a.slice(ndarray::s![steps / 2.., ..]);
        let mean = late.mean_axis(Axis(0)).unwrap();
        (&late - &mean).mapv(|x| x * x).mean().unwrap()
    }

    #[test]
    fn rank_two_teacher_oscillates_in_two_dimensions() {
        let (m, stim) = LowRankSpec {
            n: 200,
            ..LowRankSpec::default()
        }
        .generate(2, 800, 1)
        .unwrap();
        let t = simulate(&m, &stim, &SimOptions::noisy(FIG3_NOISE, 2)).unwrap();
        assert!(late_variance(&t) > 1e-3, "no sustained activity");
        // rank 2: J has two non-zero singular values
        let j = m.coupling.to_dense();
        let (_, s, _) = ccrnn_analysis::linalg::thin_svd(j.view(), "J").unwrap();
        assert!(s[2] < 1e-10 * s[0]);
    }

    #[test]
    fn chaotic_teacher_is_sensitive_to_initial_conditions() {
        // N = 400: at N = 200 most draws (8 of 10 seeds tried) settle onto a fixed point within
        // 100 time units, a finite-size effect; from N = 400 on, 10 of 10 stayed chaotic.
        let spec = ChaoticSpec {
            n: 400,
            ..ChaoticSpec::default()
        };
        let (m, mut stim) = spec.generate(1, 2000, 4).unwrap();
        let t0 = simulate(&m, &stim, &SimOptions::noiseless()).unwrap();
        stim.h0.as_mut().unwrap().mapv_inplace(|x| x + 1e-6); // every neuron: a silent one (g ≤ 0) would not spread it
        let t1 = simulate(&m, &stim, &SimOptions::noiseless()).unwrap();
        assert!(late_variance(&t0) > 1e-3);
        let d = (&t0.a.slice(ndarray::s![.., 1900.., ..]) - &t1.a.slice(ndarray::s![.., 1900.., ..])).mapv(f64::abs);
        let dmax = d.iter().cloned().fold(0.0, f64::max);
        assert!(
            dmax > 1e-2,
            "perturbation did not grow: {dmax:e}, late variance {}",
            late_variance(&t0)
        );
    }
}
