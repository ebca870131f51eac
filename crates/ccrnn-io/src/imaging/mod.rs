//! Calcium-imaging recordings as labs have them: frames at their own times, regions of interest
//! (ROIs) with labels, missing values. One reader per format, all giving an [`Imaging`]:
//!
//! | format | what is read | frame times | ROI labels |
//! |---|---|---|---|
//! | NWB 2.x (`.nwb`, HDF5) | a `RoiResponseSeries` under `/processing/ophys/DfOverF` or `.../Fluorescence` (`data × conversion + offset`) | `timestamps`, or `starting_time` and its `rate` | a column of the series' `PlaneSegmentation` (by default the first of `neuron_name`, `label`, `name`, `roi_name`, `cell_type`), else its `id`s |
//! | suite2p folder (`plane0/`) | `F − 0.7 · Fneu` of the ROIs `iscell.npy` accepts | `k / fs`, `fs` from `ops.npy` or given | the suite2p ROI index (`"0"`, `"1"`, …) |
//! | `.npz` | `signal` (frames × ROIs) | `times`, or `rate` | `labels` (a string array) |
//! | `.csv` | one column per ROI | the first column, `time` (seconds) | the header |
//!
//! NWB files are read by a pure-Rust HDF5 decoder (`hdf5-reader`), so neither the command
//! line nor the Python package needs the HDF5 C library. Times are in seconds; the signal in
//! the file's units (ΔF/F, fluorescence); NaN marks a missing value (a frame dropped, a neuron
//! not segmented); infinities are refused. ROIs are matched to the model's neurons by their
//! labels ([`Matching`]).

mod inputs;
mod labelled;
mod matching;
mod nwb;
mod sessions;
mod suite2p;

pub use inputs::{Inputs, read_inputs};
pub use matching::{Matching, read_label_table};
pub use sessions::{ObserveOptions, Sessions, assemble};

use crate::{Error, Result};
use ndarray::{Array1, Array2};
use std::path::{Path, PathBuf};

/// A calcium-imaging recording: `F` frames of `R` ROIs.
#[derive(Debug, Clone, PartialEq)]
pub struct Imaging {
    /// The file (or folder) read.
    pub path: PathBuf,
    /// What was read in it, e.g. `NWB /processing/ophys/DfOverF/RoiResponseSeries`.
    pub source: String,
    /// Frame times in seconds, strictly increasing (length F).
    pub times: Array1<f64>,
    /// Signal, `F × R` (NaN = missing).
    pub signal: Array2<f32>,
    /// One label per ROI (length R), unique.
    pub labels: Vec<String>,
    /// The signal's unit as the file states it (empty if it does not).
    pub unit: String,
}

/// How to read an imaging file; the defaults read every format as documented.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadOptions {
    /// NWB: the `RoiResponseSeries` to read, by name or path (`None`: the only one; a file
    /// with several lists them in the error).
    pub series: Option<String>,
    /// NWB: the `PlaneSegmentation` column holding the ROI labels (`None`: the first of the
    /// usual names, else the ROI ids).
    pub label_column: Option<String>,
    /// Frame rate in Hz: suite2p (instead of `ops.npy`'s `fs`); ignored by formats that carry
    /// their own times, unless they carry none.
    pub frame_rate: Option<f64>,
    /// suite2p: the neuropil coefficient (`F − c · Fneu`).
    pub neuropil: f64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            series: None,
            label_column: None,
            frame_rate: None,
            neuropil: 0.7,
        }
    }
}

/// The formats [`read_imaging`] knows, by what the path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// NWB 2.x (HDF5).
    Nwb,
    /// A suite2p output folder.
    Suite2p,
    /// A labelled `.npz`.
    Npz,
    /// A labelled CSV.
    Csv,
}

impl Format {
    /// The format of `path`: a folder is suite2p's, else by extension (`.nwb`/`.h5`/`.hdf5`,
    /// `.npz`, `.csv`/`.tsv`).
    pub fn of(path: &Path) -> Result<Self> {
        if path.is_dir() {
            return Ok(Format::Suite2p);
        }
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default();
        match ext.as_str() {
            "nwb" | "h5" | "hdf5" => Ok(Format::Nwb),
            "npz" => Ok(Format::Npz),
            "csv" | "tsv" => Ok(Format::Csv),
            _ => Err(Error::format(
                path,
                "not an imaging file ccrnn reads: expected an .nwb file, a suite2p folder, a labelled .npz or a .csv",
            )),
        }
    }
}

/// Reads an imaging recording in any of the [module](self)'s formats, checking it.
pub fn read_imaging(path: &Path, opts: &ReadOptions) -> Result<Imaging> {
    if !path.exists() {
        return Err(Error::io(path, std::io::Error::from(std::io::ErrorKind::NotFound)));
    }
    let im = match Format::of(path)? {
        Format::Nwb => nwb::read(path, opts)?,
        Format::Suite2p => suite2p::read(path, opts)?,
        Format::Npz => labelled::read_npz(path, opts)?,
        Format::Csv => labelled::read_csv(path)?,
    };
    im.validate()?;
    Ok(im)
}

impl Imaging {
    /// Frames F.
    pub fn frames(&self) -> usize {
        self.times.len()
    }

    /// ROIs R.
    pub fn rois(&self) -> usize {
        self.labels.len()
    }

    /// Checks shapes, times (finite, strictly increasing), values (finite or NaN) and labels
    /// (non-empty, unique), naming the source and the offending frame, ROI or label.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::format(&self.path, format!("{}: {m}", self.source)));
        let (f, r) = self.signal.dim();
        if f == 0 || r == 0 {
            return bad(format!("{f} frames × {r} ROIs: need at least one of each"));
        }
        if self.times.len() != f {
            return bad(format!("{} frame times for {f} frames", self.times.len()));
        }
        if self.labels.len() != r {
            return bad(format!("{} ROI labels for {r} ROIs", self.labels.len()));
        }
        if let Some(k) = self.times.iter().position(|t| !t.is_finite()) {
            return bad(format!("frame {k}'s time is {}", self.times[k]));
        }
        if let Some(k) = (1..f).find(|&k| self.times[k] <= self.times[k - 1]) {
            return bad(format!(
                "frame times must increase: frame {k} at {} s follows {} s",
                self.times[k],
                self.times[k - 1]
            ));
        }
        if let Some(((k, m), v)) = self.signal.indexed_iter().find(|(_, v)| v.is_infinite()) {
            return bad(format!("ROI {:?} at frame {k} is {v}", self.labels[m]));
        }
        if let Some(m) = self.labels.iter().position(|l| l.trim().is_empty()) {
            return bad(format!("ROI {m} has an empty label"));
        }
        let mut seen = std::collections::HashMap::new();
        for (m, l) in self.labels.iter().enumerate() {
            if let Some(first) = seen.insert(l.to_ascii_lowercase(), m) {
                return bad(format!("ROIs {first} and {m} have the same label {l:?}"));
            }
        }
        Ok(())
    }

    /// The mean frame rate in Hz (frames over the recording's span).
    pub fn frame_rate(&self) -> f64 {
        let f = self.frames();
        if f < 2 {
            return f64::NAN;
        }
        (f - 1) as f64 / (self.times[f - 1] - self.times[0])
    }

    /// The fraction of missing (NaN) entries.
    pub fn missing_fraction(&self) -> f64 {
        self.signal.iter().filter(|v| v.is_nan()).count() as f64 / self.signal.len().max(1) as f64
    }
}

/// Frame times `start + k / rate` for `frames` frames, refusing a rate that is not positive.
fn times_from_rate(path: &Path, what: &str, start: f64, rate: f64, frames: usize) -> Result<Array1<f64>> {
    if !(rate.is_finite() && rate > 0.0) {
        return Err(Error::format(
            path,
            format!("{what}: frame rate {rate} Hz is not positive"),
        ));
    }
    Ok(Array1::from_iter((0..frames).map(|k| start + k as f64 / rate)))
}

#[cfg(test)]
mod tests;
