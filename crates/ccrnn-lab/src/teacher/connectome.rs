//! Teachers on real connectomes (SCIENCE.md §4): weights = sign × synapse count × a scale
//! chosen so that the leading eigenvalue of the linearisation at the fixed point is a target
//! (paper: 0.9); random single-neuron parameters; inputs into a chosen set of neurons (for
//! example the sensory ones) as one-step pulses at random times.

use super::{leading_eigenvalue_real, randn};
use crate::{Error, Result};
use ccrnn_analysis::linalg::{Extreme, arnoldi_eigenvalue};
use ccrnn_core::{Backend, Beta, Connectome, GapJunctions, Model, NeuronParams, SimOptions, Stimulus, simulate};
use ndarray::{Array1, Array2, Array3, Axis};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// How a connectome becomes a teacher.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectomeTeacherSpec {
    /// Leading eigenvalue of the linearisation at the fixed point (paper: 0.9).
    pub target_eigenvalue: f64,
    /// Gain spread (g ~ 1 + gain_sd ξ, negatives redrawn).
    pub gain_sd: f64,
    /// Bias half-range (b ~ U[−r, r]).
    pub bias_range: f64,
    /// Time constant of every neuron.
    pub tau: f64,
    /// Euler step.
    pub dt: f64,
    /// Softplus smoothness.
    pub beta: f64,
    /// Input channels.
    pub n_in: usize,
    /// Readout scale (W_out ~ scale ξ / N, one output).
    pub w_out_scale: f64,
    /// Pulse times are drawn in this window (time units).
    pub pulse_window: (f64, f64),
    /// Steps per trial.
    pub steps: usize,
    /// Rescaling rounds (the fixed point moves with the scale).
    pub rounds: usize,
    /// Conductance per gap junction, relative to the chemical weight per synapse (used only
    /// when gap junctions are given to [`ConnectomeTeacherSpec::generate`]).
    pub gap_scale: f64,
}

impl Default for ConnectomeTeacherSpec {
    fn default() -> Self {
        Self {
            target_eigenvalue: 0.9,
            gain_sd: 0.4,
            bias_range: 0.1,
            tau: 1.0,
            dt: 0.05,
            beta: 1.0,
            n_in: 2,
            w_out_scale: 5.0,
            pulse_window: (2.0, 5.0),
            steps: 400,
            rounds: 12,
            gap_scale: 1.0,
        }
    }
}

/// A built connectome teacher.
#[derive(Debug, Clone)]
pub struct ConnectomeTeacher {
    /// The model (CSR backend: connectomes are sparse).
    pub model: Model<f64>,
    /// Weight per synapse.
    pub scale: f64,
    /// Leading eigenvalue of the linearisation reached.
    pub eigenvalue: f64,
}

impl ConnectomeTeacherSpec {
    /// Builds the teacher; `inputs` are the neurons the input channels drive (all if empty);
    /// `gaps` are gap junctions `(i, j, count)` (empty: none), coupled with conductance
    /// `gap_scale × scale × count`.
    pub fn generate(
        &self,
        con: &Connectome,
        inputs: &[usize],
        gaps: &[(usize, usize, f64)],
        seed: u64,
    ) -> Result<ConnectomeTeacher> {
        let n = con.n();
        if n < 2 || con.edges() == 0 {
            return Err(Error::spec("connectome", "needs at least 2 neurons and one synapse"));
        }
        if !(self.target_eigenvalue > 0.0 && self.target_eigenvalue < 1.0) {
            return Err(Error::spec(
                "target_eigenvalue",
                format!("= {}: must be in (0, 1)", self.target_eigenvalue),
            ));
        }
        if let Some(&i) = inputs.iter().find(|&&i| i >= n) {
            return Err(Error::spec("inputs", format!("neuron {i} is not in 0..{n}")));
        }
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut p = NeuronParams::default_for(n);
        p.g = Array1::from_shape_fn(n, |_| {
            loop {
                let g = 1.0 + self.gain_sd * randn(&mut rng);
                if g >= 0.0 {
                    break g;
                }
            }
        });
        p.b = Array1::from_shape_fn(n, |_| rng.random_range(-self.bias_range..=self.bias_range));
        p.tau.fill(self.tau);
        p.beta = Beta::Global(self.beta);
        let targets: Vec<usize> = if inputs.is_empty() {
            (0..n).collect()
        } else {
            inputs.to_vec()
        };
        let mut w_in = Array2::<f64>::zeros((self.n_in, n));
        for c in 0..self.n_in {
            for &i in &targets {
                w_in[(c, i)] = randn(&mut rng) / self.dt;
            }
        }
        let w_out = Array2::from_shape_fn((n, 1), |_| self.w_out_scale * randn(&mut rng) / n as f64);
        // Start small, then move the scale toward the target with damped steps (the fixed
        // point, hence the slopes, move with the scale); back off when the dynamics do not
        // settle.
        if !(self.gap_scale >= 0.0 && self.gap_scale.is_finite()) {
            return Err(Error::spec("gap_scale", format!("= {}: must be >= 0", self.gap_scale)));
        }
        let gap = |scale: f64| -> Result<Option<GapJunctions<f64>>> {
            if gaps.is_empty() {
                return Ok(None);
            }
            let k = self.gap_scale * scale;
            let scaled: Vec<_> = gaps.iter().map(|&(i, j, c)| (i, j, k * c)).collect();
            Ok(Some(GapJunctions::from_pairs(n, &scaled)?))
        };
        let build = |scale: f64| -> Result<Model<f64>> {
            Ok(Model::builder(con.connectivity::<f64>(scale)?)
                .gap_junctions(gap(scale)?)
                .backend(Backend::Csr)
                .params(p.clone())
                .w_in(w_in.clone())
                .w_out(w_out.clone())
                .dt(self.dt)
                .build()?)
        };
        let mut scale = 0.1 / con.counts.iter().cloned().fold(0.0, f64::max).max(1.0);
        let mut good: Option<(f64, f64)> = None;
        for _ in 0..self.rounds.max(1) {
            let m = build(scale)?;
            match settle(&m) {
                Ok(h) => {
                    let lam = linearisation_eigenvalue(&m, &h)?;
                    good = Some((scale, lam));
                    if (lam - self.target_eigenvalue).abs() < 1e-3 {
                        break;
                    }
                    if lam.abs() < 1e-12 {
                        return Err(Error::spec(
                            "connectome",
                            "the linearisation has no eigenvalue to scale",
                        ));
                    }
                    scale *= (self.target_eigenvalue / lam.abs()).powf(0.7);
                }
                Err(_) => {
                    let (s0, _) = good.ok_or_else(|| {
                        Error::spec(
                            "connectome teacher",
                            "the dynamics do not settle even at the smallest scale",
                        )
                    })?;
                    scale = (scale * s0).sqrt();
                }
            }
        }
        // The last scale that settled, and its eigenvalue (already computed there).
        let (scale, lam) = good.ok_or_else(|| Error::spec("connectome teacher", "no stable scale found"))?;
        // The final model at the corrected scale, h0 at its fixed point.
        let mut m = Model::builder(con.connectivity::<f64>(scale)?)
            .gap_junctions(gap(scale)?)
            .backend(Backend::Csr)
            .params(p)
            .w_in(w_in)
            .w_out(w_out)
            .dt(self.dt)
            .build()?;
        m.params.h0 = settle(&m)?;
        Ok(ConnectomeTeacher {
            model: m,
            scale,
            eigenvalue: lam,
        })
    }

    /// `trials` trials: on each channel, a one-step pulse of height 1 at a random time in the
    /// pulse window (independently per channel and trial).
    pub fn stimulus(&self, trials: usize, seed: u64) -> Stimulus<f64> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut u = Array3::<f64>::zeros((trials, self.steps, self.n_in));
        for b in 0..trials {
            for c in 0..self.n_in {
                let t = rng.random_range(self.pulse_window.0..self.pulse_window.1);
                let k = ((t / self.dt).round() as usize).min(self.steps - 1);
                u[(b, k, c)] = 1.0;
            }
        }
        Stimulus::new(u)
    }
}

/// Networks up to this size get a dense eigen-decomposition; larger ones the Arnoldi method.
pub const DENSE_EIGEN_MAX: usize = 2000;

/// Leading real eigenvalue of `W diag(g⁺ φ′(h + b)) − L` at the state `h` (`L` the gap
/// junctions' Laplacian, if any): dense (O(N³)) up to [`DENSE_EIGEN_MAX`] neurons, Arnoldi on
/// the sparse product above.
fn linearisation_eigenvalue(m: &Model<f64>, h: &Array1<f64>) -> Result<f64> {
    let n = m.n();
    let slope = Array1::from_shape_fn(n, |i| {
        m.params.g[i].max(0.0) * m.activation.dphi(h[i] + m.params.b[i], m.params.beta.of(i))
    });
    if n <= DENSE_EIGEN_MAX {
        let mut lin = &m.coupling.to_dense() * &slope.view().insert_axis(Axis(0));
        if let Some(g) = &m.gap {
            let mut l = Array2::<f64>::zeros((n, n));
            g.laplacian(Array2::<f64>::eye(n).view(), l.view_mut());
            lin -= &l;
        }
        return leading_eigenvalue_real(&lin);
    }
    let mut a = Array2::<f64>::zeros((1, n));
    let mut out = Array2::<f64>::zeros((1, n));
    let mut lx = Array2::<f64>::zeros((1, n));
    let matvec = |x: &[f64], y: &mut [f64]| {
        for (k, ak) in a.iter_mut().enumerate() {
            *ak = slope[k] * x[k];
        }
        m.coupling.forward(a.view(), out.view_mut());
        y.copy_from_slice(out.as_slice().expect("contiguous"));
        if let Some(g) = &m.gap {
            let xv = ndarray::ArrayView2::from_shape((1, n), x).expect("n values");
            g.laplacian(xv, lx.view_mut());
            y.iter_mut().zip(lx.iter()).for_each(|(v, l)| *v -= l);
        }
    };
    let (re, _) = arnoldi_eigenvalue(n, matvec, Extreme::Rightmost, 80, 1e-8, 30)
        .map_err(|e| Error::spec("linearisation", e.to_string()))?;
    Ok(re)
}

/// The state after 100 time constants without input from h = 0 (the fixed point of a stable
/// network); an error if the dynamics diverge or do not settle. Simulated in segments of
/// [`SETTLE_SEGMENT`] steps, so that memory stays O(segment × N) on large connectomes.
fn settle(m: &Model<f64>) -> Result<Array1<f64>> {
    let steps = (100.0 * m.params.tau.iter().cloned().fold(0.0, f64::max) / m.dt).ceil() as usize;
    let mut probe = m.clone();
    probe.params.h0.fill(0.0);
    let mut done = 0;
    let (mut prev, mut last) = (probe.params.h0.clone(), probe.params.h0.clone());
    while done + 1 < steps {
        let seg = SETTLE_SEGMENT.min(steps - done);
        let traj = simulate(
            &probe,
            &Stimulus::new(Array3::zeros((1, seg, m.n_in()))),
            &SimOptions::noiseless(),
        )?;
        let h = traj.h.index_axis(Axis(0), 0);
        prev = h.index_axis(Axis(0), seg - 2).to_owned();
        last = h.index_axis(Axis(0), seg - 1).to_owned();
        probe.params.h0.assign(&last);
        done += seg - 1;
    }
    let change = (&last - &prev).iter().fold(0.0f64, |a, x| a.max(x.abs()));
    if change > 1e-6 * last.iter().fold(1.0f64, |a, x| a.max(x.abs())) {
        return Err(Error::spec(
            "connectome teacher",
            "the dynamics do not settle to a fixed point at this scale",
        ));
    }
    Ok(last)
}

/// Steps per simulated segment of [`settle`].
const SETTLE_SEGMENT: usize = 200;
