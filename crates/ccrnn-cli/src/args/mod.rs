//! Command-line arguments (clap).

use ccrnn_fit::MethodKind;
use ccrnn_fit::student::InitKind;
use ccrnn_lab::TeacherKind;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// A flag's value parser for a library enum, by the names the library gives its values (the
/// names a configuration file uses): `--help` lists them and clap refuses any other.
pub(crate) fn by_name<T: Copy + Send + Sync + 'static>(
    all: &'static [T],
    name: fn(T) -> &'static str,
) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(all.iter().map(|&v| name(v))).map(move |s| {
        *all.iter()
            .find(|&&v| name(v) == s)
            .expect("clap accepts only the listed names")
    })
}

mod connectome;
mod imaging;
pub use connectome::*;
pub use imaging::*;

/// Connectome-constrained recurrent networks: build a rate network on a connectome, fit its
/// single-neuron parameters to recorded neurons by backpropagation through time, and predict
/// the unrecorded ones (Beiran & Litwin-Kumar, Nat. Neurosci. 2025).
#[derive(Parser, Debug)]
#[command(name = "ccrnn", version, propagate_version = true)]
pub struct Cli {
    /// No messages or progress bars on stderr.
    #[arg(long, global = true)]
    pub quiet: bool,
    /// Print one JSON document on stdout (for scripts) instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long, global = true, value_name = "N")]
    pub threads: Option<usize>,
    /// Reproducible mode: fixed-order matrix products and linear algebra, so that a seed gives
    /// the same numbers bit for bit on every x86-64 machine (AVX2 or AVX-512); slower. A config
    /// or recipe can ask for it too (`reproducible = true`).
    #[arg(long, global = true)]
    pub reproducible: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// The paper's headline result on a built-in teacher, no files needed: students fitted to
    /// the readout and to M recorded neurons predict the unrecorded ones better as M grows.
    Demo(DemoArgs),
    /// Build (and, for the task teacher, train) a teacher network; saves teacher.npz.
    Teacher(TeacherArgs),
    /// Run a saved model on a task, on inputs from a file, or without input; saves
    /// trajectory.npz.
    Simulate(SimulateArgs),
    /// Fit a student to a recording; saves student.npz and the loss curve.
    Fit(FitArgs),
    /// Score a student against a teacher on held-out trials (recorded vs unrecorded error).
    Eval(EvalArgs),
    /// Write an example configuration, or check one.
    #[command(subcommand)]
    Config(ConfigCmd),
    /// Theory: Gauss–Newton spectrum (stiff and sloppy directions), dimensionality.
    #[command(subcommand)]
    Analyze(AnalyzeCmd),
    /// Rank the neurons to record next (greedy on the model's sensitivities).
    Prioritize(PrioritizeArgs),
    /// Read calcium-imaging recordings (NWB, suite2p, labelled .npz or CSV), describe them,
    /// match their ROIs to a model's neurons and write their arrays.
    Imaging(ImagingArgs),
    /// Cross-validate on held-out neurons: k folds over the recorded neurons of imaging
    /// recordings, each predicted by models fitted to the others (the connectome student and
    /// baselines: shuffled labels, no recurrence, an unconstrained network).
    Cv(CvArgs),
    /// Read a connectome file and describe it.
    #[command(subcommand)]
    Connectome(ConnectomeCmd),
    /// The paper's experiments as sweeps: recipes expanded into tasks, run in parallel,
    /// resumable, merged into one table.
    #[command(subcommand)]
    Sweep(SweepCmd),
    /// A Markdown and HTML report on sweep results: one section per claim of the paper, with
    /// plots, numbers and whether the claim held.
    Report(ReportArgs),
}

#[derive(Subcommand, Debug)]
pub enum SweepCmd {
    /// List the built-in recipes, or print one as TOML (`--show NAME`) to copy and edit.
    Recipes(RecipesArgs),
    /// Run every task of a recipe not yet done, J at a time; rerun the same command to resume
    /// after an interruption.
    Run(SweepRunArgs),
    /// Write (and with --submit, submit) Slurm job arrays running a recipe's tasks on a
    /// cluster; the same directory layout and results as `sweep run`.
    Slurm(SlurmArgs),
    /// Run one task of a sweep directory by its index in tasks.json (for job arrays).
    RunTask(RunTaskArgs),
    /// Done / started / failed / missing tasks of a sweep directory.
    Status(SweepDirArgs),
    /// Merge the finished tasks into DIR/results.csv and DIR/results.npz.
    Collect(SweepDirArgs),
}

#[derive(Args, Debug)]
pub struct RecipesArgs {
    /// Print this recipe as TOML.
    #[arg(long, value_name = "NAME")]
    pub show: Option<String>,
    /// Scale of the printed recipe.
    #[arg(long, default_value = "small")]
    pub scale: String,
}

/// Which recipe: shared by `sweep run` and `sweep slurm`.
#[derive(Args, Debug)]
pub struct RecipeArgs {
    /// A built-in recipe name (see `ccrnn sweep recipes`) or a recipe TOML file.
    pub recipe: String,
    /// Scale of a built-in recipe: `small` (minutes) or `paper`.
    #[arg(long, default_value = "small")]
    pub scale: String,
    /// Override the recipe's seed.
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Args, Debug)]
pub struct SweepRunArgs {
    #[command(flatten)]
    pub recipe: RecipeArgs,
    /// Sweep directory (default: runs/NAME-SCALE). Rerunning into it resumes.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Tasks run at the same time (default: 1; each task uses all --threads).
    #[arg(long, short = 'j', default_value_t = 1,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub jobs: usize,
}

#[derive(Args, Debug)]
pub struct SlurmArgs {
    #[command(flatten)]
    pub recipe: RecipeArgs,
    /// Sweep directory, on a file system the compute nodes share.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit per array element (Slurm syntax, e.g. 2:00:00).
    #[arg(long)]
    pub time: Option<String>,
    /// Memory per array element (e.g. 4G).
    #[arg(long)]
    pub mem: Option<String>,
    /// Threads per task.
    #[arg(long, default_value_t = 1)]
    pub cpus_per_task: usize,
    /// Tasks run one after another by each array element.
    #[arg(long, default_value_t = 1)]
    pub tasks_per_job: usize,
    /// At most this many array elements at once.
    #[arg(long)]
    pub throttle: Option<usize>,
    /// Only the tasks not done yet (failed, killed, never run).
    #[arg(long)]
    pub only_missing: bool,
    /// Submit with sbatch (teachers, then students after them) and print the job ids.
    #[arg(long)]
    pub submit: bool,
}

#[derive(Args, Debug)]
pub struct RunTaskArgs {
    /// The sweep directory (made by `sweep run` or `sweep slurm`).
    pub dir: PathBuf,
    /// Index of the task in DIR/tasks.json (0-based).
    #[arg(long)]
    pub index: usize,
}

#[derive(Args, Debug)]
pub struct SweepDirArgs {
    /// The sweep directory.
    pub dir: PathBuf,
}

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// A sweep directory, or a directory holding sweep directories.
    pub dir: PathBuf,
    /// Where to write report.md, report.html and the plots (default: DIR/report).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Which sensitivities enter a theory computation.
#[derive(Args, Debug, Clone)]
pub struct SensArgs {
    /// Parameter groups of θ, comma-separated (g, b, tau, beta, h0, w).
    #[arg(long, value_delimiter = ',', default_value = "g,b")]
    pub groups: Vec<String>,
    /// Use every N-th time step of the rollouts.
    #[arg(long, default_value_t = 10)]
    pub time_stride: usize,
}

#[derive(Subcommand, Debug)]
pub enum AnalyzeCmd {
    /// Gauss–Newton matrix H = Σ_t J_tᵀ J_t (J_t = ∂a(t)/∂θ) of a model, its spectrum, and
    /// optionally a student's parameter error projected on its eigenvectors.
    Hessian(HessianArgs),
    /// Participation ratio of the activity covariance of a model's rollouts or a recording.
    Dimension(DimensionArgs),
}

#[derive(Args, Debug)]
pub struct HessianArgs {
    /// The model (the teacher: θ* for the error projection).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Rows of J: these neurons only (default: the student's recorded neurons, else all).
    #[arg(long, value_delimiter = ',')]
    pub neurons: Option<Vec<usize>>,
    /// A fitted student: project θ_student − θ_model on the eigenvectors.
    #[arg(long, value_name = "FILE")]
    pub student: Option<PathBuf>,
    /// The student's starting point, to report the error removed along stiff and sloppy
    /// directions (a model file, e.g. the fit's initial model).
    #[arg(long, value_name = "FILE", requires = "student")]
    pub initial: Option<PathBuf>,
    #[command(flatten)]
    pub sens: SensArgs,
    #[command(flatten)]
    pub stim: StimArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Args, Debug)]
pub struct DimensionArgs {
    /// A model to simulate (noise-free) on the chosen stimulus.
    #[arg(
        long,
        value_name = "FILE",
        required_unless_present = "recording",
        conflicts_with = "recording"
    )]
    pub model: Option<PathBuf>,
    /// A recording (its `activity`) instead of a model.
    #[arg(long, value_name = "FILE")]
    pub recording: Option<PathBuf>,
    #[command(flatten)]
    pub stim: StimArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Args, Debug)]
pub struct PrioritizeArgs {
    /// The model whose sensitivities guide the choice (a fitted student, or a prior model).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// Neurons already recorded (default: the model file's `recorded`, if any).
    #[arg(long, value_delimiter = ',')]
    pub recorded: Option<Vec<usize>>,
    /// Directions kept per neuron from its sensitivity block.
    #[arg(long, default_value_t = 4)]
    pub k_max: usize,
    /// Linear theory instead of sensitivities: rows of M = (I − J)⁻¹ J with J = W diag(g⁺)
    /// (a linear network's response of the fixed point to bias errors).
    #[arg(long)]
    pub linear: bool,
    /// Random orders averaged in the comparison curve.
    #[arg(long, default_value_t = 10)]
    pub random_orders: u64,
    /// Seed of the random orders.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub sens: SensArgs,
    #[command(flatten)]
    pub stim: StimArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

/// Where a run's directory goes.
#[derive(Args, Debug, Clone)]
pub struct OutArgs {
    /// Run directory to create (default: runs/COMMAND-DATE-TIME).
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Replace the run directory if it exists (only once the run has succeeded).
    #[arg(long)]
    pub force: bool,
}

#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Reduced size (N = 100, fewer steps): under a minute.
    #[arg(long)]
    pub quick: bool,
    /// Seed of the teacher, the task trials and the students.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// A configuration file with a `[demo]` section (see `ccrnn config init demo`).
    #[arg(long, value_name = "FILE", conflicts_with = "quick")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Args, Debug)]
pub struct TeacherArgs {
    /// Which teacher (ignored with --config): ei-task (the E/I Dale's-law network trained on
    /// the sine task, Figure 1), low-rank (a rank-2 tanh network with a limit cycle, Figure 3)
    /// or chaotic (a chaotic random tanh network, Figure 3).
    #[arg(long, default_value_t = TeacherKind::EiTask, value_parser = by_name(&TeacherKind::ALL, TeacherKind::name))]
    pub preset: TeacherKind,
    /// A configuration file with a `[teacher]` section (see `ccrnn config init teacher-ei`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Seed (overrides the configuration's).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Number of neurons (overrides the configuration's).
    #[arg(long)]
    pub n: Option<usize>,
    /// Training steps of the task teacher (overrides the configuration's).
    #[arg(long)]
    pub steps: Option<u64>,
    #[command(flatten)]
    pub out: OutArgs,
}

/// Axis order of 3-d arrays in input files.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LayoutArg {
    /// trials × time × neurons (ccrnn's and the paper's)
    #[default]
    TrialsMajor,
    /// time × trials × neurons
    TimeMajor,
}

impl From<LayoutArg> for ccrnn_io::Layout {
    fn from(l: LayoutArg) -> Self {
        match l {
            LayoutArg::TrialsMajor => ccrnn_io::Layout::TrialsMajor,
            LayoutArg::TimeMajor => ccrnn_io::Layout::TimeMajor,
        }
    }
}

/// What drives the network: a file, the sine task, or nothing.
#[derive(Args, Debug, Clone)]
pub struct StimArgs {
    /// Inputs from a file: `.npz` with `inputs` (B × T × n_in) and optionally `initial_state`
    /// (B × N), e.g. a trajectory or recording; or a `.npy` of inputs.
    #[arg(long, value_name = "FILE", conflicts_with = "sine_task")]
    pub inputs: Option<PathBuf>,
    /// Axis order of the inputs file.
    #[arg(long, value_enum, default_value_t = LayoutArg::TrialsMajor)]
    pub layout: LayoutArg,
    /// Drive the network with trials of the sine task (models with 2 inputs).
    #[arg(long)]
    pub sine_task: bool,
    /// Trials (sine task or no input).
    #[arg(long, default_value_t = 20)]
    pub trials: usize,
    /// Time steps per trial (no input; the sine task has its own 400).
    #[arg(long, default_value_t = 400)]
    pub steps: usize,
    /// Seed of the task trials.
    #[arg(long, default_value_t = 300)]
    pub stim_seed: u64,
}

#[derive(Args, Debug)]
pub struct SimulateArgs {
    /// The model (.npz, as written by `ccrnn teacher` or `ccrnn fit`).
    pub model: PathBuf,
    #[command(flatten)]
    pub stim: StimArgs,
    /// Process noise σ: N(0, σ²) added to every neuron's state at every step.
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true)]
    pub noise: f64,
    /// Seed of the noise.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    #[command(flatten)]
    pub out: OutArgs,
}

/// The optimiser and its budget, each overriding what a configuration (or the command's
/// default method) says.
#[derive(Args, Debug, Clone, Default)]
pub struct SolverArgs {
    /// Optimiser: adam (minibatches, the paper's recipe), lbfgs (full batch, quasi-Newton;
    /// reaches a given error many times sooner) or gauss-newton (full batch, Hessian-free
    /// Gauss–Newton with Levenberg–Marquardt damping). Full-batch methods stop when converged.
    #[arg(long, value_parser = by_name(&MethodKind::ALL, MethodKind::name))]
    pub method: Option<MethodKind>,
    /// Optimiser steps: Adam's steps, or the full-batch methods' cap on iterations.
    #[arg(long)]
    pub steps: Option<u64>,
    /// Learning rate (Adam's step size; L-BFGS's first step).
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
}

impl SolverArgs {
    /// The fitting recipe: `base` if given (a configuration's `[fit]`), else the defaults of
    /// `--method` or of `default`; then `--method`, `--steps` and `--lr` override.
    pub fn recipe(&self, base: Option<&ccrnn_fit::FitConfig>, default: ccrnn_fit::MethodKind) -> ccrnn_fit::FitConfig {
        let mut fc = match base {
            Some(f) => f.clone(),
            None => ccrnn_fit::FitConfig::for_method(self.method.unwrap_or(default)),
        };
        if let Some(m) = self.method {
            fc.method = m;
        }
        if let Some(s) = self.steps {
            fc.steps = s;
        }
        if let Some(lr) = self.lr {
            fc.lr = lr;
        }
        fc
    }
}

#[derive(Args, Debug)]
pub struct FitArgs {
    /// The model giving the connectome (W, mask, signs), inputs and readout weights, and the
    /// initial parameters (see --init).
    #[arg(long, value_name = "FILE")]
    pub model: PathBuf,
    /// The recording: `.npz` with `activity` (B × T × M), `recorded` (M indices), `inputs`,
    /// optionally `readout`; or a trajectory written by `ccrnn simulate`.
    #[arg(long, value_name = "FILE", required_unless_present = "imaging")]
    pub recording: Option<PathBuf>,
    /// Calcium-imaging recordings instead (NWB, suite2p folder, labelled .npz or CSV; one
    /// session each, fitted jointly): ROIs matched to the model's neurons by label, frames at
    /// their own times, missing values left out, seen through the indicator and a per-session
    /// scale and offset.
    #[arg(long, value_name = "FILE", num_args = 1.., conflicts_with_all = ["recording", "readout", "neurons", "m"])]
    pub imaging: Vec<PathBuf>,
    #[command(flatten)]
    pub read: ReadImagingArgs,
    #[command(flatten)]
    pub observe: ObserveArgs,
    /// Axis order of the recording's 3-d arrays.
    #[arg(long, value_enum, default_value_t = LayoutArg::TrialsMajor)]
    pub layout: LayoutArg,
    /// Fit only these recorded neurons (comma-separated model indices).
    #[arg(long, value_delimiter = ',', value_name = "I,J,…", conflicts_with_all = ["m", "readout"])]
    pub neurons: Option<Vec<usize>>,
    /// Fit M neurons drawn at random (seeded) from those recorded.
    #[arg(long, conflicts_with = "readout")]
    pub m: Option<usize>,
    /// Fit the readout only (the recording's `readout`).
    #[arg(long)]
    pub readout: bool,
    /// A configuration file with `[fit]` and `[student]` sections (see `ccrnn config init fit`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Initial parameters (overrides the configuration's): permuted (the paper's: the model's
    /// gains permuted within E and within I and scaled by gain_factor, biases permuted) or model
    /// (the model's parameters as they are).
    #[arg(long, value_parser = by_name(&InitKind::ALL, InitKind::name))]
    pub init: Option<InitKind>,
    #[command(flatten)]
    pub solver: SolverArgs,
    /// Memory (MiB) one evaluation's stored trajectory may take before backpropagation is
    /// checkpointed (overrides the configuration's; default 4096).
    #[arg(long, value_name = "MIB")]
    pub memory_mb: Option<f64>,
    /// Trainable groups, comma-separated: g, b, tau, beta, h0, w_out, w (overrides).
    #[arg(long, value_delimiter = ',')]
    pub train: Option<Vec<String>>,
    /// Seed of initialisation, neuron choice, minibatches and noise (overrides).
    #[arg(long)]
    pub seed: Option<u64>,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// The teacher (.npz).
    #[arg(long, value_name = "FILE")]
    pub teacher: PathBuf,
    /// The fitted student (.npz from `ccrnn fit`; its `recorded` says which neurons it saw).
    #[arg(long, value_name = "FILE")]
    pub student: PathBuf,
    /// Recorded neurons, if the student file does not list them (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub neurons: Option<Vec<usize>>,
    #[command(flatten)]
    pub stim: StimArgs,
    #[command(flatten)]
    pub out: OutArgs,
}

/// Example configurations.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Preset {
    /// The E/I task teacher.
    TeacherEi,
    /// The rank-2 teacher.
    TeacherLowRank,
    /// The chaotic teacher.
    TeacherChaotic,
    /// Fitting a student.
    Fit,
    /// The demo.
    Demo,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// Write a commented example configuration (to stdout, or --out FILE).
    Init {
        preset: Preset,
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Check a configuration file: exit 0 if valid, 1 if a value is invalid, 2 if unreadable.
    Check { file: PathBuf },
}

/// `--threshold`: a synapse count, finite and ≥ 0.
fn synapse_threshold(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("{s:?} is not a number"))?;
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(format!("{v}: a synapse count must be finite and >= 0"))
    }
}
