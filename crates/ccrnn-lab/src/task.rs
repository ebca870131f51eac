//! The sine-generation task of the paper's Figure 1 (SCIENCE.md §3).

use crate::{Error, Result};
use ccrnn_core::{Real, Stimulus};
use ndarray::Array3;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Sine generation: a one-step pulse on one of two channels at t_I ~ U[2, 5] starts
/// y(t) = sin(ω (t − t_I)), ω = 3, which stops after 2 periods (channel 0) or 5 periods
/// (channel 1). With probability `catch_prob` a trial is a catch trial (no pulse, y = 0).
/// The pulse time is rounded to the nearest step, as in the paper's code.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SineTask {
    /// Time step (paper: 0.05).
    pub dt: f64,
    /// Steps per trial (paper: 400, i.e. 20 time units).
    pub steps: usize,
    /// Trials per batch (paper: 60).
    pub trials: usize,
    /// Angular frequency ω (paper: 3).
    pub omega: f64,
    /// Pulse time range (paper: [2, 5]).
    pub pulse_window: (f64, f64),
    /// Catch-trial probability (paper: 0.2).
    pub catch_prob: f64,
}

impl Default for SineTask {
    fn default() -> Self {
        Self {
            dt: 0.05,
            steps: 400,
            trials: 60,
            omega: 3.0,
            pulse_window: (2.0, 5.0),
            catch_prob: 0.2,
        }
    }
}

impl SineTask {
    /// Number of input channels (2).
    pub const N_IN: usize = 2;
    /// Number of outputs (1).
    pub const N_OUT: usize = 1;

    /// Checks the settings, naming the bad field.
    pub fn validate(&self) -> Result<()> {
        let bad = |f: &str, r: String| Err(Error::spec(format!("task.{f}"), r));
        if !(self.dt > 0.0 && self.dt.is_finite()) {
            return bad("dt", format!("= {}: must be > 0", self.dt));
        }
        if self.steps == 0 || self.trials == 0 {
            return bad(
                if self.trials == 0 { "trials" } else { "steps" },
                format!(
                    "need at least one trial and one step, got {} × {}",
                    self.trials, self.steps
                ),
            );
        }
        let numbers = self.trials as f64 * self.steps as f64 * (Self::N_IN + Self::N_OUT) as f64;
        if let Some(r) = ccrnn_io::memory::over_budget(numbers * 8.0) {
            return bad(
                "trials, task.steps",
                format!(
                    "inputs and targets of {} trials × {} steps {r}",
                    self.trials, self.steps
                ),
            );
        }
        if !(self.omega > 0.0 && self.omega.is_finite()) {
            return bad("omega", format!("= {}: must be > 0", self.omega));
        }
        let (a, b) = self.pulse_window;
        if !(0.0 <= a && a < b && b.is_finite()) {
            return bad("pulse_window", format!("= ({a}, {b}): need 0 <= start < end"));
        }
        if !(0.0..=1.0).contains(&self.catch_prob) {
            return bad("catch_prob", format!("= {}: must be in [0, 1]", self.catch_prob));
        }
        Ok(())
    }

    /// A batch of trials: the stimulus (`trials × steps × 2`) and the target readout
    /// (`trials × steps × 1`).
    pub fn generate<F: Real>(&self, seed: u64) -> Result<(Stimulus<F>, Array3<F>)> {
        self.validate()?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut u = Array3::zeros((self.trials, self.steps, Self::N_IN));
        let mut y = Array3::zeros((self.trials, self.steps, Self::N_OUT));
        let period = 2.0 * std::f64::consts::PI / self.omega;
        for tr in 0..self.trials {
            let t_pulse = rng.random_range(self.pulse_window.0..self.pulse_window.1);
            let c = rng.random_range(0..2usize);
            let catch = rng.random_bool(self.catch_prob);
            if catch {
                continue;
            }
            let k0 = ((t_pulse / self.dt).round() as usize).min(self.steps - 1);
            let periods = if c == 0 { 2.0 } else { 5.0 };
            let k_end = (((t_pulse + periods * period) / self.dt).round() as usize).min(self.steps);
            u[(tr, k0, c)] = F::one();
            for k in k0..k_end {
                y[(tr, k, 0)] = F::lit((self.omega * (k - k0) as f64 * self.dt).sin());
            }
        }
        Ok((Stimulus::new(u), y))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sine_task_has_the_papers_structure() {
        let task = SineTask {
            trials: 500,
            ..SineTask::default()
        };
        let (stim, y) = task.generate::<f64>(1).unwrap();
        assert!(
            SineTask { steps: 0, ..task }
                .generate::<f64>(1)
                .unwrap_err()
                .to_string()
                .contains("task.steps")
        );
        let mut catches = 0;
        for tr in 0..500 {
            let pulses: Vec<(usize, usize)> = (0..400)
                .flat_map(|k| (0..2).map(move |c| (k, c)))
                .filter(|&(k, c)| stim.u[(tr, k, c)] != 0.0)
                .collect();
            if pulses.is_empty() {
                catches += 1;
                assert!(y.index_axis(ndarray::Axis(0), tr).iter().all(|&v| v == 0.0));
                continue;
            }
            assert_eq!(pulses.len(), 1);
            let (k0, c) = pulses[0];
            let t0 = k0 as f64 * 0.05;
            assert!((2.0 - 0.025..=5.0 + 0.025).contains(&t0));
            // output runs for 2 or 5 periods of 2π/3 from the pulse, then stops
            let active = (0..400).filter(|&k| y[(tr, k, 0)] != 0.0).max().unwrap();
            let dur = (active - k0) as f64 * 0.05;
            let expect = if c == 0 { 2.0 } else { 5.0 } * 2.0 * std::f64::consts::PI / 3.0;
            assert!((dur - expect).abs() < 0.1, "trial {tr}: {dur} vs {expect}");
            assert!((y[(tr, k0 + 5, 0)] - (3.0 * 0.25f64).sin()).abs() < 1e-12);
        }
        let frac = catches as f64 / 500.0;
        assert!((0.13..0.27).contains(&frac), "catch fraction {frac}");
    }
}
