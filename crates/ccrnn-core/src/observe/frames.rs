//! Frames: reading a recording's frame times off the model's time steps.
//!
//! The model's trajectory is taken as piecewise linear between its steps (step `k` at model
//! time `k·dt`). A frame is a linear functional of it: the value at the frame's time
//! ([`Sampling::Instant`], linear interpolation between the two steps around it) or its mean
//! over the frame's interval, from the frame's time to the next frame's
//! ([`Sampling::FrameAverage`], the exact integral of the piecewise-linear trace; the last
//! frame of a trial lasts as long as the one before it). Both are a few weights on
//! neighbouring steps, stored per frame, so reading frames and its transpose (what gradients
//! need) are sparse products.

use crate::{Error, Real, Result};
use ndarray::{Array3, ArrayView2, ArrayView3, Axis, s};

/// How a frame's value is read off the model's trajectory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sampling {
    /// The value at the frame's time (linear interpolation between steps).
    #[default]
    Instant,
    /// The mean over the frame's interval (until the next frame).
    FrameAverage,
}

impl Sampling {
    /// The name used in configurations and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Sampling::Instant => "instant",
            Sampling::FrameAverage => "frame-average",
        }
    }

    /// The sampling called `name` (`instant` or `frame-average`), or `None`.
    pub fn from_name(name: &str) -> Option<Self> {
        [Sampling::Instant, Sampling::FrameAverage]
            .into_iter()
            .find(|s| s.name().eq_ignore_ascii_case(name))
    }
}

/// The frames of a batch of trials as weights on model steps: frame `f` of trial `b` is
/// `Σ w · x[b, k, ·]` over its entries `(k, w)`. Trials may have different numbers of frames;
/// the batch is `B × F` with `F` the largest, and a trial's missing frames have no entries.
#[derive(Debug, Clone, PartialEq)]
pub struct FrameMap {
    trials: usize,
    frames: usize,
    steps: usize,
    /// Entries of frame `(b, f)`: `entries[ptr[b·F + f]..ptr[b·F + f + 1]]`.
    ptr: Vec<usize>,
    entries: Vec<(usize, f64)>,
}

impl FrameMap {
    /// Frames at `times` (`B × F`, in model time units from each trial's start, increasing
    /// within a trial; NaN after a trial's last frame), read off trajectories of `steps` steps
    /// of `dt`. Fails on a frame outside the simulated steps, times that do not increase, or
    /// frames closer together than one model step (`dt` too coarse for the frame rate).
    pub fn new(times: ArrayView2<f64>, dt: f64, steps: usize, sampling: Sampling) -> Result<Self> {
        let (trials, frames) = times.dim();
        if !(dt > 0.0 && dt.is_finite()) || steps == 0 {
            return Err(Error::invalid(
                "frames",
                format!("need dt > 0 and at least one step, got dt = {dt}, {steps} steps"),
            ));
        }
        let end = (steps - 1) as f64 * dt;
        let mut ptr = vec![0];
        let mut entries = Vec::new();
        for (b, row) in times.axis_iter(Axis(0)).enumerate() {
            let n = row.iter().take_while(|t| !t.is_nan()).count();
            let row: Vec<f64> = row.iter().take(n).copied().collect();
            if let Some(f) = times.row(b).iter().skip(n).position(|t| !t.is_nan()) {
                return Err(Error::invalid(
                    "frame times",
                    format!(
                        "trial {b}: frame {} has a time after a missing one (NaN only pads the end)",
                        n + f
                    ),
                ));
            }
            for (f, &t) in row.iter().enumerate() {
                if !(t.is_finite() && t >= 0.0) {
                    return Err(Error::invalid(
                        "frame times",
                        format!("trial {b}, frame {f}: time {t} (must be finite and >= 0)"),
                    ));
                }
                if f > 0 && t - row[f - 1] < dt * (1.0 - 1e-9) {
                    return Err(Error::invalid(
                        "frame times",
                        format!(
                            "trial {b}, frames {} and {f} are {} model time units apart, less than the model's step dt = {dt}: \
                             the model cannot represent this frame rate (use a smaller dt)",
                            f - 1,
                            t - row[f - 1]
                        ),
                    ));
                }
            }
            for f in 0..frames {
                if f < n {
                    let (t0, t1) = match sampling {
                        Sampling::Instant => (row[f], row[f]),
                        Sampling::FrameAverage => {
                            let len = match (row.get(f + 1), f) {
                                (Some(&next), _) => next - row[f],
                                (None, 0) => dt,
                                (None, _) => row[f] - row[f - 1],
                            };
                            (row[f], row[f] + len)
                        }
                    };
                    if t1 > end * (1.0 + 1e-12) + 1e-12 {
                        return Err(Error::invalid(
                            "frame times",
                            format!(
                                "trial {b}, frame {f} reaches model time {t1}, after the last simulated step ({end} = {} steps of {dt})",
                                steps - 1
                            ),
                        ));
                    }
                    frame_weights(t0.min(end), t1.min(end), dt, steps, &mut entries);
                }
                ptr.push(entries.len());
            }
        }
        Ok(Self {
            trials,
            frames,
            steps,
            ptr,
            entries,
        })
    }

    /// Trials B.
    pub fn trials(&self) -> usize {
        self.trials
    }
    /// Frames per trial (the largest), F.
    pub fn frames(&self) -> usize {
        self.frames
    }
    /// Model steps T the frames are read from.
    pub fn steps(&self) -> usize {
        self.steps
    }
    /// Whether frame `f` of trial `b` exists.
    pub fn has(&self, b: usize, f: usize) -> bool {
        let r = b * self.frames + f;
        self.ptr[r + 1] > self.ptr[r]
    }

    /// Every weight as `(trial, frame, step, weight)`.
    fn weights(&self) -> impl Iterator<Item = (usize, usize, usize, f64)> + '_ {
        (0..self.trials * self.frames).flat_map(move |r| {
            let (b, f) = (r / self.frames, r % self.frames);
            self.entries[self.ptr[r]..self.ptr[r + 1]]
                .iter()
                .map(move |&(k, w)| (b, f, k, w))
        })
    }

    /// The frames of `x` (`B × T × M` → `B × F × M`; zeros where a trial has no frame).
    pub fn read<F: Real>(&self, x: ArrayView3<F>) -> Array3<F> {
        let mut out = Array3::zeros((self.trials, self.frames, x.dim().2));
        for (b, f, k, w) in self.weights() {
            let w = F::lit(w);
            out.slice_mut(s![b, f, ..])
                .zip_mut_with(&x.slice(s![b, k, ..]), |o, &v| *o += w * v);
        }
        out
    }

    /// The transpose of [`Self::read`]: `B × F × M` → `B × T × M`.
    pub fn read_t<F: Real>(&self, y: ArrayView3<F>) -> Array3<F> {
        let mut out = Array3::zeros((self.trials, self.steps, y.dim().2));
        for (b, f, k, w) in self.weights() {
            let w = F::lit(w);
            out.slice_mut(s![b, k, ..])
                .zip_mut_with(&y.slice(s![b, f, ..]), |o, &v| *o += w * v);
        }
        out
    }

    /// The frames of a subset of trials (in the given order).
    pub fn select(&self, trials: &[usize]) -> Self {
        let mut ptr = vec![0];
        let mut entries = Vec::new();
        for &b in trials {
            for f in 0..self.frames {
                let r = b * self.frames + f;
                entries.extend_from_slice(&self.entries[self.ptr[r]..self.ptr[r + 1]]);
                ptr.push(entries.len());
            }
        }
        Self {
            trials: trials.len(),
            frames: self.frames,
            steps: self.steps,
            ptr,
            entries,
        }
    }
}

/// Appends the weights on steps of the mean of the piecewise-linear trace over `[t0, t1]`
/// (its value at `t0` when `t0 = t1`).
fn frame_weights(t0: f64, t1: f64, dt: f64, steps: usize, out: &mut Vec<(usize, f64)>) {
    let last = steps - 1;
    let start = out.len();
    let mut add = |k: usize, w: f64| {
        if w != 0.0 {
            match out[start..].iter_mut().find(|e| e.0 == k) {
                Some(e) => e.1 += w,
                None => out.push((k, w)),
            }
        }
    };
    if t1 <= t0 {
        let x = t0 / dt;
        let k = (x.floor() as usize).min(last);
        let frac = x - k as f64;
        if k == last || frac <= 0.0 {
            add(k, 1.0);
        } else {
            add(k, 1.0 - frac);
            add(k + 1, frac);
        }
        return;
    }
    let len = t1 - t0;
    let (x0, x1) = (t0 / dt, t1 / dt);
    let first = (x0.floor() as usize).min(last.saturating_sub(1));
    let mut k = first;
    while k < last && (k as f64) < x1 {
        // the segment [k, k + 1] in units of dt, overlapped by [x0, x1]
        let (u, v) = ((x0 - k as f64).max(0.0), (x1 - k as f64).min(1.0));
        if v > u {
            // ∫ (1 − s) ds and ∫ s ds over [u, v], times dt, over the interval's length
            let w_hi = (v * v - u * u) / 2.0;
            let w_lo = (v - u) - w_hi;
            add(k, w_lo * dt / len);
            add(k + 1, w_hi * dt / len);
        }
        k += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2, array};

    /// On a linear trace x(t) = 2 + 3t the instant frames read its values and the averages
    /// its mean over each interval, for frames on and between steps.
    #[test]
    fn frames_of_a_linear_trace_are_exact() {
        let (dt, steps) = (0.1, 41);
        let x = Array3::from_shape_fn((1, steps, 1), |(_, k, _)| 2.0 + 3.0 * k as f64 * dt);
        let times = array![[0.0, 0.33, 1.0, 2.51, 3.2]];
        let inst = FrameMap::new(times.view(), dt, steps, Sampling::Instant).unwrap();
        let y = inst.read(x.view());
        for (f, &t) in times.row(0).iter().enumerate() {
            assert!((y[(0, f, 0)] - (2.0 + 3.0 * t)).abs() < 1e-12, "frame {f}");
        }
        let avg = FrameMap::new(times.view(), dt, steps, Sampling::FrameAverage).unwrap();
        let y = avg.read(x.view());
        let t: Array1<f64> = times.row(0).to_owned();
        for f in 0..5 {
            let len = if f < 4 { t[f + 1] - t[f] } else { t[4] - t[3] };
            let mid = t[f] + len / 2.0;
            assert!((y[(0, f, 0)] - (2.0 + 3.0 * mid)).abs() < 1e-12, "frame {f}");
        }
    }

    /// `read_t` is the transpose of `read`: ⟨read x, y⟩ = ⟨x, read_t y⟩, and trials of different
    /// lengths read nothing past their last frame.
    #[test]
    fn transpose_and_ragged_trials() {
        let (dt, steps) = (0.05, 60);
        let times = array![[0.0, 0.4, 0.8, 1.2, f64::NAN], [0.13, 0.5, 0.9, 1.3, 1.7]];
        for s in [Sampling::Instant, Sampling::FrameAverage] {
            let map = FrameMap::new(times.view(), dt, steps, s).unwrap();
            assert!(!map.has(0, 4) && map.has(1, 4));
            let x = Array3::from_shape_fn((2, steps, 3), |(b, k, m)| ((b * 7 + k * 3 + m) as f64).sin());
            let y = Array3::from_shape_fn((2, 5, 3), |(b, f, m)| ((b + 2 * f + 5 * m) as f64).cos());
            let lhs = (&map.read(x.view()) * &y).sum();
            let rhs = (&x * &map.read_t(y.view())).sum();
            assert!((lhs - rhs).abs() < 1e-10, "{s:?}: {lhs} vs {rhs}");
            assert_eq!(map.read(x.view()).slice(ndarray::s![0, 4, ..]).sum(), 0.0);
            let sel = map.select(&[1]);
            assert_eq!(
                sel.read(x.view().slice(ndarray::s![1..2, .., ..])),
                map.read(x.view()).slice(ndarray::s![1..2, .., ..])
            );
        }
    }

    /// Frames faster than the model's step, times that go back, a frame after the last step and
    /// a time after a NaN are errors naming the trial and frame.
    #[test]
    fn bad_frame_times_are_errors() {
        let cases: [(Array2<f64>, &str); 4] = [
            (array![[0.0, 0.01]], "less than the model's step"),
            (array![[0.5, 0.2]], "less than the model's step"),
            (array![[0.0, 5.0]], "after the last simulated step"),
            (array![[0.0, f64::NAN, 0.3]], "after a missing one"),
        ];
        for (times, what) in cases {
            let err = FrameMap::new(times.view(), 0.05, 21, Sampling::Instant)
                .unwrap_err()
                .to_string();
            assert!(err.contains(what) && err.contains("trial 0"), "{err}");
        }
    }
}
