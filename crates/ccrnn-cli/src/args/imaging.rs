//! Arguments for calcium-imaging recordings: how to read them and how the model sees them.

use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// How to read imaging files (NWB, suite2p folders, labelled .npz or CSV).
#[derive(Args, Debug, Clone, Default)]
pub struct ReadImagingArgs {
    /// NWB: the RoiResponseSeries to read, by name or path (default: the only DfOverF series,
    /// else the only Fluorescence one).
    #[arg(long, value_name = "NAME")]
    pub series: Option<String>,
    /// NWB: the PlaneSegmentation column holding the ROI labels (default: the first of
    /// neuron_name, label, labels, name, roi_name, cell_type; else the ROI ids).
    #[arg(long, value_name = "COLUMN")]
    pub label_column: Option<String>,
    /// Frame rate in Hz, for files that do not carry their frame times (suite2p without
    /// ops.npy, NWB series without a rate).
    #[arg(long, value_name = "HZ")]
    pub frame_rate: Option<f64>,
    /// suite2p: the neuropil coefficient c of F − c · Fneu.
    #[arg(long, default_value_t = 0.7, value_name = "C")]
    pub neuropil: f64,
    /// A CSV mapping ROI labels to the model's neurons (header, then `roi,neuron` rows; the
    /// neuron by label, body id or row index, as the model names its neurons).
    #[arg(long, value_name = "FILE")]
    pub label_table: Option<PathBuf>,
}

impl ReadImagingArgs {
    /// The reader's options.
    pub fn options(&self) -> ccrnn_io::ReadOptions {
        ccrnn_io::ReadOptions {
            series: self.series.clone(),
            label_column: self.label_column.clone(),
            frame_rate: self.frame_rate,
            neuropil: self.neuropil,
        }
    }
}

/// How a frame is read off the model's steps.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum SamplingArg {
    /// The model's value at the frame's time (linear interpolation).
    #[default]
    Instant,
    /// The model's mean over the frame's interval.
    FrameAverage,
}

/// How the model sees imaging recordings, and what drives it.
#[derive(Args, Debug, Clone)]
pub struct ObserveArgs {
    /// The sessions' stimulus at its own sampling times (seconds, on the recordings' clock):
    /// .npz with `inputs` (samples × channels) and `times` (or `rate`), or a CSV
    /// `time,<channel>,…`; each sample held until the next. One file for every session or one
    /// per --imaging file; without it the model gets no input.
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub inputs: Vec<PathBuf>,
    /// Calcium indicator: gcamp6f, gcamp6m, gcamp6s, jgcamp8f, jgcamp8m, jgcamp8s (decay
    /// time constants 0.7, 1.0, 1.25, 0.25, 0.3, 0.5 s), or none (no filter: the signal follows the activity itself).
    #[arg(long, default_value = "gcamp6s", value_name = "NAME")]
    pub indicator: String,
    /// The indicator's decay time constant in seconds (instead of the preset's).
    #[arg(long, value_name = "SECONDS")]
    pub tau_ca_s: Option<f64>,
    /// Fit the indicator's decay time constant per neuron (from the preset's).
    #[arg(long)]
    pub fit_tau_ca: bool,
    /// Seconds per model time unit (the model's τ and dt are in these units).
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub time_unit_s: f64,
    /// How a frame is read off the model's steps.
    #[arg(long, value_enum, default_value_t = SamplingArg::Instant)]
    pub sampling: SamplingArg,
    /// The files are trials of one session (one preparation): each neuron keeps one scale and
    /// offset across them. By default each file is its own session with its own.
    #[arg(long)]
    pub one_session: bool,
    /// A saturating indicator: its half-saturation constant in the model's activity units (the
    /// signal then follows x / (x + K) of the filtered activity x ≥ 0); default linear.
    #[arg(long, value_name = "K")]
    pub saturation: Option<f64>,
    /// No scale and offset: the signal is in the model's activity units (by default each
    /// session and neuron gets a least-squares scale ≥ 0 and offset).
    #[arg(long)]
    pub no_affine: bool,
}

impl ObserveArgs {
    /// The observation options, or an error naming the flag.
    pub fn options(&self) -> anyhow::Result<ccrnn_io::imaging::ObserveOptions> {
        let sampling = match self.sampling {
            SamplingArg::Instant => "instant",
            SamplingArg::FrameAverage => "frame-average",
        };
        ccrnn_io::imaging::ObserveOptions::parse(
            &self.indicator,
            self.tau_ca_s,
            self.fit_tau_ca,
            self.time_unit_s,
            sampling,
            |o| format!("--{}", o.replace('_', "-")),
        )
        .map(|o| ccrnn_io::imaging::ObserveOptions {
            one_session: self.one_session,
            saturation: self.saturation,
            affine: !self.no_affine,
            ..o
        })
        .map_err(anyhow::Error::msg)
    }
}

/// `ccrnn imaging`.
#[derive(Args, Debug)]
pub struct ImagingArgs {
    /// Imaging files: NWB, suite2p folders, labelled .npz or CSV.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    #[command(flatten)]
    pub read: ReadImagingArgs,
    /// A model whose neurons the ROIs are matched to (and the match reported).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Write the arrays read (`signal` frames × ROIs, `times` in s, `labels` as text lines,
    /// `unit`, `source`) to this .npz (FILE-0.npz, FILE-1.npz, … for several files).
    #[arg(long, value_name = "FILE.npz")]
    pub out: Option<PathBuf>,
    /// Also print everything as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `ccrnn cv`.
#[derive(Args, Debug)]
pub struct CvArgs {
    /// The model giving the connectome and the starting parameters (as for `ccrnn fit`).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Calcium-imaging recordings, one session each (as for `ccrnn fit --imaging`).
    #[arg(long, value_name = "FILE", num_args = 1.., required = true)]
    pub imaging: Vec<PathBuf>,
    #[command(flatten)]
    pub read: ReadImagingArgs,
    #[command(flatten)]
    pub observe: ObserveArgs,
    /// Folds k over the recorded neurons: each fold's neurons are held out of a fit to the rest.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Models to cross-validate, comma-separated: connectome (the student), shuffled (its
    /// neuron labels shuffled), no-recurrence (W and gap junctions removed), unconstrained (a
    /// dense network of the same size, all weights fitted; held-out neurons matched optimistically).
    #[arg(long, value_delimiter = ',', default_value = "connectome,shuffled,no-recurrence,unconstrained",
          value_parser = crate::args::by_name(&ccrnn_lab::recordings::cv::CvModel::ALL, ccrnn_lab::recordings::cv::CvModel::name))]
    pub models: Vec<ccrnn_lab::recordings::cv::CvModel>,
    /// Initial parameters: permuted (the paper's student start) or model (the file's).
    #[arg(long, value_parser = crate::args::by_name(&ccrnn_fit::student::InitKind::ALL, ccrnn_fit::student::InitKind::name))]
    pub init: Option<ccrnn_fit::student::InitKind>,
    #[command(flatten)]
    pub solver: crate::args::SolverArgs,
    /// Trainable groups of the connectome and no-recurrence students, comma-separated (the
    /// unconstrained network also trains w).
    #[arg(long, value_delimiter = ',')]
    pub train: Option<Vec<String>>,
    /// Seed of the folds, starting points, shuffle and unconstrained weights.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub out: crate::args::OutArgs,
}
