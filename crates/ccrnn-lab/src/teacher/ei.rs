//! The E/I task teacher of Figure 1: a random Dale's-law network, redrawn until stable, then
//! trained on the sine task.

use super::randn;
use crate::{Error, Result, SineTask};
use ccrnn_core::{Beta, Connectivity, Model, NeuronParams, Real, SimOptions, Stimulus, simulate};
use ccrnn_fit::{Data, FitConfig, FitOutcome, Observer, fit};
use ndarray::{Array1, Array2, Axis};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Parameters of the E/I teacher generator. Defaults are the paper's (N = 300, 70 % E, mask
/// density 0.5, W0 = C ⊙ (2.4 ξ/√N + 1/N), inhibitory columns × 4, g ~ 1 + 0.4 ξ,
/// b ~ U[−0.1, 0.1], W_out ~ 5 ξ/N, W_in ~ ξ/dt, softplus β = 1, τ = 1, dt = 0.05).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EiSpec {
    /// Number of neurons.
    pub n: usize,
    /// Fraction of excitatory neurons (the first ⌊frac·N⌉ indices).
    pub frac_exc: f64,
    /// Connection probability of the mask.
    pub p_conn: f64,
    /// Scale of the random part of W (× ξ/√N).
    pub w_scale: f64,
    /// Factor on inhibitory columns.
    pub inh_factor: f64,
    /// Gain spread (g ~ 1 + gain_sd ξ, negatives redrawn).
    pub gain_sd: f64,
    /// Bias half-range (b ~ U[−r, r]).
    pub bias_range: f64,
    /// Readout scale (W_out ~ scale ξ / N).
    pub w_out_scale: f64,
    /// Time step.
    pub dt: f64,
    /// Time constant of every neuron.
    pub tau: f64,
    /// Softplus smoothness.
    pub beta: f64,
    /// Redraws allowed before giving up.
    pub max_draws: usize,
}

impl Default for EiSpec {
    fn default() -> Self {
        Self {
            n: 300,
            frac_exc: 0.7,
            p_conn: 0.5,
            w_scale: 2.4,
            inh_factor: 4.0,
            gain_sd: 0.4,
            bias_range: 0.1,
            w_out_scale: 5.0,
            dt: 0.05,
            tau: 1.0,
            beta: 1.0,
            max_draws: 200,
        }
    }
}

/// Refuses a teacher network of fewer than 2 neurons or of more than this machine can hold.
pub fn check_network_size(n: usize) -> Result<()> {
    if n < 2 {
        return Err(Error::spec("teacher.n", format!("= {n}: must be >= 2")));
    }
    match ccrnn_io::memory::network_over_budget(n) {
        Some(r) => Err(Error::spec("teacher.n", r)),
        None => Ok(()),
    }
}

/// Refuses a run of `trials × steps` trials of `n` neurons that this machine cannot hold;
/// `field` names the setting (`"teacher.trials"`).
pub fn check_run_size(field: &str, trials: usize, steps: usize, n: usize) -> Result<()> {
    match ccrnn_io::memory::run_over_budget(trials, steps, n) {
        Some(r) => Err(Error::spec(field, r)),
        None => Ok(()),
    }
}

/// Largest real part of the eigenvalues of a square matrix (see
/// [`ccrnn_analysis::linalg::leading_eigenvalue_real`]).
pub fn leading_eigenvalue_real(m: &Array2<f64>) -> Result<f64> {
    ccrnn_analysis::linalg::leading_eigenvalue_real(m.view(), "linearisation")
        .map_err(|e| Error::spec("linearisation", format!("eigenvalue solver failed: {e}")))
}

impl EiSpec {
    /// Checks the settings, naming the bad field.
    pub fn validate(&self) -> Result<()> {
        check_network_size(self.n)?;
        if !(0.0..=1.0).contains(&self.frac_exc) {
            return Err(Error::spec("teacher.frac_exc", "must be in [0, 1]"));
        }
        if !(0.0..=1.0).contains(&self.p_conn) {
            return Err(Error::spec("teacher.p_conn", "must be in [0, 1]"));
        }
        for (f, v) in [("dt", self.dt), ("tau", self.tau), ("beta", self.beta)] {
            if !(v > 0.0 && v.is_finite()) {
                return Err(Error::spec(format!("teacher.{f}"), format!("= {v}: must be > 0")));
            }
        }
        Ok(())
    }

    /// One random draw (not checked for stability).
    fn draw(&self, rng: &mut ChaCha8Rng) -> Result<Model<f64>> {
        let n = self.n;
        let n_exc = (self.frac_exc * n as f64).round() as usize;
        let signs: Vec<i8> = (0..n).map(|j| if j < n_exc { 1 } else { -1 }).collect();
        let sq = (n as f64).sqrt();
        let mask = Array2::from_shape_fn((n, n), |_| rng.random_bool(self.p_conn));
        let mut w = Array2::from_shape_fn((n, n), |_| self.w_scale * randn(rng) / sq + 1.0 / n as f64);
        for (j, mut col) in w.axis_iter_mut(Axis(1)).enumerate() {
            let s = signs[j] as f64;
            col.mapv_inplace(|x| {
                let x = if s < 0.0 { x * self.inh_factor } else { x };
                if x * s < 0.0 { 0.0 } else { x }
            });
        }
        w.zip_mut_with(&mask, |x, &m| {
            if !m {
                *x = 0.0
            }
        });
        let conn = Connectivity::from_dense(w.view(), Some(mask.view()), signs)?;
        let mut p = NeuronParams::default_for(n);
        p.g = Array1::from_shape_fn(n, |_| {
            loop {
                let g = 1.0 + self.gain_sd * randn(rng);
                if g >= 0.0 {
                    break g;
                }
            }
        });
        p.b = Array1::from_shape_fn(n, |_| rng.random_range(-self.bias_range..=self.bias_range));
        p.tau.fill(self.tau);
        p.beta = Beta::Global(self.beta);
        let w_in = Array2::from_shape_fn((SineTask::N_IN, n), |_| randn(rng) / self.dt);
        let w_out = Array2::from_shape_fn((n, SineTask::N_OUT), |_| self.w_out_scale * randn(rng) / n as f64);
        Ok(Model::builder(conn)
            .params(p)
            .w_in(w_in)
            .w_out(w_out)
            .dt(self.dt)
            .build()?)
    }

    /// Draws networks until one has a stable fixed point without input (largest real
    /// eigenvalue of W diag(g⁺ φ′(h* + b)) ≤ 1, and the dynamics settle); returns it with
    /// h0 = h* and that eigenvalue.
    pub fn generate(&self, seed: u64) -> Result<(Model<f64>, f64)> {
        self.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut last = f64::NAN;
        for _ in 0..self.max_draws {
            let mut m = self.draw(&mut rng)?;
            let Some(h_star) = fixed_point(&m)? else {
                continue;
            };
            let slope = Array1::from_shape_fn(m.n(), |i| {
                let gp = m.params.g[i].max(0.0);
                gp * m.activation.dphi(h_star[i] + m.params.b[i], m.params.beta.of(i))
            });
            let lin = &m.coupling.to_dense() * &slope.view().insert_axis(Axis(0));
            last = leading_eigenvalue_real(&lin)?;
            if last <= 1.0 {
                m.params.h0 = h_star;
                return Ok((m, last));
            }
        }
        Err(Error::Unstable {
            tries: self.max_draws,
            last,
        })
    }

    /// The paper's teacher-training recipe: Adam lr 1e-3, clip 5, batch 32, 1400 steps,
    /// σ = 0.01, training W (non-zeros, signs kept), g, b, h0 and W_out on the readout.
    pub fn training_config(seed: u64) -> FitConfig {
        FitConfig {
            steps: 1400,
            lr: 1e-3,
            clip: 5.0,
            batch_size: 32,
            noise_std: 0.01,
            seed,
            train: ["w", "g", "b", "h0", "w_out"].map(String::from).to_vec(),
            report_every: 50,
            target_loss: None,
            patience: None,
            ..FitConfig::paper()
        }
    }

    /// Trains a generated teacher on the task's target readout.
    pub fn train<F: Real>(
        model: Model<F>,
        stim: Stimulus<F>,
        target: ndarray::Array3<F>,
        cfg: &FitConfig,
        observer: Option<&mut dyn Observer<F>>,
    ) -> Result<FitOutcome<F>> {
        let valid = cfg.validate()?;
        Ok(fit(
            model,
            stim,
            Data::Readout { data: target },
            &valid,
            None,
            observer,
        )?)
    }
}

/// The fixed point reached from h = 0 without input, or `None` if the dynamics do not settle
/// (oscillation, chaos) within 200 time constants.
fn fixed_point(m: &Model<f64>) -> Result<Option<Array1<f64>>> {
    let steps = (200.0 * m.params.tau.iter().cloned().fold(0.0, f64::max) / m.dt).ceil() as usize;
    let mut probe = m.clone();
    probe.params.h0.fill(0.0);
    let stim = Stimulus::new(ndarray::Array3::zeros((1, steps, m.n_in())));
    let traj = match simulate(&probe, &stim, &SimOptions::noiseless()) {
        Ok(t) => t,
        Err(ccrnn_core::Error::Diverged { .. }) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let h = traj.h.index_axis(Axis(0), 0);
    let last = h.index_axis(Axis(0), steps - 1).to_owned();
    let prev = h.index_axis(Axis(0), steps - 2);
    let change = (&last - &prev).iter().fold(0.0f64, |a, x| a.max(x.abs()));
    let scale = last.iter().fold(1.0f64, |a, x| a.max(x.abs()));
    Ok((change <= 1e-9 * scale / m.dt).then_some(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ei_teacher_obeys_dale_and_is_stable() {
        let spec = EiSpec {
            n: 60,
            ..EiSpec::default()
        };
        let (m, lam) = spec.generate(3).unwrap();
        assert!(lam <= 1.0);
        let w = m.coupling.to_dense();
        for j in 0..60 {
            let s = m.signs[j] as f64;
            assert!(w.column(j).iter().all(|&x| x * s >= 0.0));
        }
        assert_eq!(m.signs.iter().filter(|&&s| s > 0).count(), 42);
        let density = m.coupling.pattern().nnz() as f64 / 3600.0;
        assert!((0.4..0.6).contains(&density));
        assert!(m.params.g.iter().all(|&g| g >= 0.0));
        // h0 is the fixed point: no drift without input
        let t = simulate(
            &m,
            &Stimulus::new(ndarray::Array3::zeros((1, 50, 2))),
            &SimOptions::noiseless(),
        )
        .unwrap();
        let drift = (&t.h.index_axis(Axis(1), 49) - &t.h.index_axis(Axis(1), 0))
            .iter()
            .fold(0.0f64, |a, x| a.max(x.abs()));
        assert!(drift < 1e-6, "drift {drift}");
        // same seed, same teacher
        let (m2, _) = spec.generate(3).unwrap();
        assert_eq!(m2.coupling.values(), m.coupling.values());
    }
}
