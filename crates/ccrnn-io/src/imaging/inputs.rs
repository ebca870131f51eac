//! The stimulus of an imaging session at its own sampling times, held on the model's steps.

use super::{Format, Imaging, ReadOptions, labelled};
use crate::{Error, Result};
use ndarray::{Array2, ArrayViewMut2};
use std::path::Path;

/// Input channels sampled at their own times (seconds, on the recording's clock).
#[derive(Debug, Clone, PartialEq)]
pub struct Inputs {
    /// The samples, as a table: `times` (seconds), `signal` (samples × channels), `labels`
    /// (channel names).
    pub table: Imaging,
}

/// Reads inputs: an `.npz` with `inputs` (samples × channels, or a vector for one channel)
/// and `times` (seconds) or `rate` (Hz, from `start`, default 0), or a CSV `time,<channel>,…`.
/// Every value must be finite.
pub fn read_inputs(path: &Path) -> Result<Inputs> {
    let table = match Format::of(path)? {
        Format::Npz => labelled::read_npz_array(path, &ReadOptions::default(), "inputs")?,
        Format::Csv => labelled::read_csv(path)?,
        _ => {
            return Err(Error::format(
                path,
                "inputs are read from an .npz (arrays 'inputs' and 'times') or a CSV (time,<channel>,…)",
            ));
        }
    };
    table.validate()?;
    if let Some(((k, c), _)) = table.signal.indexed_iter().find(|(_, v)| v.is_nan()) {
        return Err(Error::format(
            path,
            format!(
                "input channel {:?} at sample {k} is missing (NaN): inputs must be complete",
                table.labels[c]
            ),
        ));
    }
    Ok(Inputs { table })
}

impl Inputs {
    /// Channels.
    pub fn channels(&self) -> usize {
        self.table.rois()
    }

    /// Fills `u` (steps × channels; step `k` at `start_s + k · step_s` seconds) by holding each
    /// sample until the next one (zero before the first sample).
    pub fn hold_on(&self, mut u: ArrayViewMut2<f32>, start_s: f64, step_s: f64) {
        let t = &self.table.times;
        let mut j = 0;
        for k in 0..u.nrows() {
            let now = start_s + k as f64 * step_s;
            while j < t.len() && t[j] <= now + 1e-9 * step_s {
                j += 1;
            }
            if j > 0 {
                u.row_mut(k).assign(&self.table.signal.row(j - 1));
            }
        }
    }

    /// Held on `steps` model steps as a fresh array.
    pub fn held(&self, steps: usize, start_s: f64, step_s: f64) -> Array2<f32> {
        let mut u = Array2::zeros((steps, self.channels()));
        self.hold_on(u.view_mut(), start_s, step_s);
        u
    }
}
