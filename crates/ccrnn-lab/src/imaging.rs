//! Synthetic calcium imaging of a teacher's neurons: the recordings of ground-truth studies
//! for fitting through an observation model ([`ccrnn_core::observe`]).
//!
//! A teacher's activity `a` (its steps of `dt` model time units, one model time unit lasting
//! `time_unit_s` seconds) goes through an indicator filter, is read at frames of
//! `frame_rate_hz` (each trial from its start until the last frame the steps cover), gets a
//! per-neuron scale and offset (ΔF/F-like units), Gaussian noise of `noise` times each neuron's
//! signal standard deviation, and loses a fraction `missing` of its entries at random (NaN).

use crate::{Error, Result};
use ccrnn_core::{FrameMap, Indicator, Observation, Real, Sampling};
use ndarray::{Array1, Array2, Array3, ArrayView3};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// How a synthetic imaging session is made.
#[derive(Debug, Clone, PartialEq)]
pub struct SimulatedImaging {
    /// Seconds per model time unit.
    pub time_unit_s: f64,
    /// Frames per second.
    pub frame_rate_hz: f64,
    /// The indicator, or `None` for no filter.
    pub indicator: Option<Indicator>,
    /// How frames are read off the model's steps.
    pub sampling: Sampling,
    /// Fraction of entries missing at random.
    pub missing: f64,
    /// Range of the per-neuron scales (uniform).
    pub scale: (f64, f64),
    /// Range of the per-neuron offsets (uniform).
    pub offset: (f64, f64),
    /// Noise standard deviation, relative to each neuron's clean signal's.
    pub noise: f64,
}

impl Default for SimulatedImaging {
    /// The ground truth: GCaMP6s, 3 Hz, 10 % missing, scales 0.5–2, offsets ±0.2,
    /// noise 10 % of the signal's SD, one model time unit = 1 s.
    fn default() -> Self {
        Self {
            time_unit_s: 1.0,
            frame_rate_hz: 3.0,
            indicator: Indicator::preset("gcamp6s"),
            sampling: Sampling::Instant,
            missing: 0.1,
            scale: (0.5, 2.0),
            offset: (-0.2, 0.2),
            noise: 0.1,
        }
    }
}

impl SimulatedImaging {
    /// Frame times of `trials` trials of `steps` steps of `dt`, in model time units: every
    /// `1 / frame_rate_hz` seconds from each trial's start, as many as the steps cover (with
    /// frame averaging, whole frames).
    pub fn frame_times(&self, trials: usize, steps: usize, dt: f64) -> Result<Array2<f64>> {
        if !(self.time_unit_s > 0.0 && self.frame_rate_hz > 0.0) {
            return Err(Error::spec("imaging", "time_unit_s and frame_rate_hz must be > 0"));
        }
        let period = 1.0 / (self.frame_rate_hz * self.time_unit_s);
        let end = (steps.saturating_sub(1)) as f64 * dt;
        let reach = if self.sampling == Sampling::FrameAverage {
            period
        } else {
            0.0
        };
        let frames = (0..).take_while(|&k| k as f64 * period + reach <= end + 1e-9).count();
        if frames == 0 {
            return Err(Error::spec(
                "imaging",
                format!("no frame fits in {steps} steps of {dt} model time units"),
            ));
        }
        Ok(Array2::from_shape_fn((trials, frames), |(_, k)| k as f64 * period))
    }

    /// The imaged recording of the activity `a` (`B × T × M`, steps of `dt`): an observation
    /// holding the true observation model (frozen: nothing of it is trained), one session.
    pub fn image<F: Real>(&self, a: ArrayView3<F>, dt: f64, seed: u64) -> Result<Observation<F>> {
        let (b, t, m) = a.dim();
        let times = self.frame_times(b, t, dt)?;
        let frames = FrameMap::new(times.view(), dt, t, self.sampling)?;
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let uniform = |rng: &mut ChaCha8Rng, (lo, hi): (f64, f64)| F::lit(lo + (hi - lo) * rng.random::<f64>());
        let scale = Array2::from_shape_fn((1, m), |_| uniform(&mut rng, self.scale));
        let offset = Array2::from_shape_fn((1, m), |_| uniform(&mut rng, self.offset));
        let mut obs = Observation {
            frames,
            data: Array3::zeros((b, times.dim().1, m)),
            session: vec![0; b],
            tau: self
                .indicator
                .map(|ind| Array1::from_elem(m, F::lit(ind.tau_s / self.time_unit_s))),
            rise: None,

            saturation: None,
            scale: Some(scale),
            offset: Some(offset),
            dt: F::lit(dt),
            fit_tau: false,
            profile_affine: false,
        };
        let clean = obs.predict(a)?;
        let sd: Vec<f64> = (0..m)
            .map(|i| {
                let col = clean.index_axis(ndarray::Axis(2), i);
                let mean = col.iter().map(|x| x.as_f64()).sum::<f64>() / col.len() as f64;
                (col.iter().map(|x| (x.as_f64() - mean).powi(2)).sum::<f64>() / col.len() as f64).sqrt()
            })
            .collect();
        obs.data = Array3::from_shape_fn(clean.dim(), |(bi, f, i)| {
            let noise: f64 = rng.sample(StandardNormal);
            if rng.random::<f64>() < self.missing {
                F::nan()
            } else {
                clean[(bi, f, i)] + F::lit(self.noise * sd[i] * noise)
            }
        });
        Ok(obs)
    }
}

/// The observation a student fits through, made from a recording's: the same frames, data and
/// sessions, with the indicator `tau` (model time units per column; `None`: no filter; trained
/// if `fit_tau`) and a profiled scale and offset.
pub fn student_observation<F: Real>(
    recording: &Observation<F>,
    tau: Option<Array1<F>>,
    fit_tau: bool,
) -> Observation<F> {
    Observation {
        tau,
        scale: None,
        offset: None,
        fit_tau,
        profile_affine: true,
        ..recording.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 3 Hz frames of 400 steps of 0.05 s: 7 frames per 20 steps... one every 6⅔ steps, 60 in
    /// all; about 10 % of entries missing; the noise-free, filter-free image is the affine map
    /// of the activity at the frames.
    #[test]
    fn frames_missing_values_and_the_affine_map() {
        let im = SimulatedImaging::default();
        let times = im.frame_times(2, 400, 0.05).unwrap();
        assert_eq!(times.dim(), (2, 60));
        assert!((times[(0, 3)] - 1.0).abs() < 1e-12);
        let a = Array3::from_shape_fn((2, 400, 50), |(b, t, i)| {
            ((t as f64) * 0.01 + b as f64 + i as f64).sin()
        });
        let obs = im.image(a.view(), 0.05, 1).unwrap();
        let missing = obs.data.iter().filter(|x| x.is_nan()).count() as f64 / obs.data.len() as f64;
        assert!((missing - 0.1).abs() < 0.02, "{missing}");
        let plain = SimulatedImaging {
            indicator: None,
            noise: 0.0,
            missing: 0.0,
            ..SimulatedImaging::default()
        };
        let obs = plain.image(a.view(), 0.05, 2).unwrap();
        let (s, o) = (obs.scale.as_ref().unwrap(), obs.offset.as_ref().unwrap());
        assert!(s.iter().all(|&x| (0.5..2.0).contains(&x)));
        let t = 20; // frame 20 is at 20/3 s = step 133⅓
        let x = a[(1, 133, 7)] * (2.0 / 3.0) + a[(1, 134, 7)] / 3.0;
        assert!((obs.data[(1, t, 7)] - (s[(0, 7)] * x + o[(0, 7)])).abs() < 1e-9);
    }
}
