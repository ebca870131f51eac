//! The `connectome` subcommands' arguments: a connectome file and how to read it, and how it
//! becomes a teacher.

use super::{OutArgs, SolverArgs, synapse_threshold};
use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Subcommand, Debug)]
pub enum ConnectomeCmd {
    /// Neurons, synapses, edges, sign fractions, degree statistics, spectral radius, and what
    /// reading dropped or merged.
    Info(ConnectomeInfoArgs),
    /// The teacher–student study on a connectome (the paper's Figure 5): a teacher with the
    /// connectome's weights (scaled to a stable linearisation, random gains and biases, pulse
    /// inputs into chosen neurons), students fitted to M random neurons, unrecorded error
    /// against the shuffle and no-recurrence baselines.
    Study(ConnectomeStudyArgs),
    /// A teacher on a connectome alone (the first step of `study`): `teacher.npz` (body ids
    /// kept), training and held-out pulse stimuli with the teacher's activity
    /// (`stimulus.npz`, `heldout.npz`), and the time per simulation step.
    Teacher(ConnectomeTeacherArgs),
}

/// How a connectome becomes a teacher.
#[derive(Args, Debug, Clone)]
pub struct ConnectomeTeacherOpts {
    /// Neurons with these labels receive the inputs (comma-separated; default: all neurons).
    #[arg(long, value_delimiter = ',')]
    pub input_label: Vec<String>,
    /// Neurons with these labels are inhibitory (a sign rule for files without transmitters,
    /// e.g. `LN` for the larval brain's local neurons).
    #[arg(long, value_delimiter = ',')]
    pub inhibitory_label: Vec<String>,
    /// Gap junctions (electrical synapses) as an edge list with the connectome's ids
    /// (`pre,post,weight`, direction ignored), or `celegans` for the bundled worm's: the
    /// teacher gets the coupling term −L h (L their Laplacian); students inherit it.
    #[arg(long, value_name = "FILE")]
    pub gap_junctions: Option<PathBuf>,
    /// Conductance per gap junction relative to the chemical weight per synapse.
    #[arg(long, default_value_t = 1.0, requires = "gap_junctions")]
    pub gap_scale: f64,
    /// Trials of the training and of the held-out stimulus.
    #[arg(long, default_value_t = 60)]
    pub trials: usize,
    /// Seed of the teacher and stimuli (and of the students).
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct ConnectomeTeacherArgs {
    #[command(flatten)]
    pub source: ConnectomeSource,
    #[command(flatten)]
    pub teacher: ConnectomeTeacherOpts,
    #[command(flatten)]
    pub out: OutArgs,
}

#[derive(Args, Debug)]
pub struct ConnectomeStudyArgs {
    #[command(flatten)]
    pub source: ConnectomeSource,
    #[command(flatten)]
    pub teacher: ConnectomeTeacherOpts,
    /// Recorded neurons per student; 0 = fitted to the readout only.
    #[arg(long, value_delimiter = ',', default_value = "0,4,16,64")]
    pub ms: Vec<usize>,
    /// Students per M, each with its own recorded neurons and initial point; the table shows
    /// the median and range.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..))]
    pub replicates: u64,
    /// How the students are fitted (default: Gauss–Newton until converged, at most 50
    /// iterations; `--method adam --steps 7000 --lr 0.001` is the paper's recipe).
    #[command(flatten)]
    pub solver: SolverArgs,
    /// Skip the no-recurrence baseline (students with W and any gap junctions removed).
    #[arg(long)]
    pub skip_no_recurrence: bool,
    #[command(flatten)]
    pub out: OutArgs,
}

/// A connectome file and how to read it.
#[derive(Args, Debug, Clone)]
pub struct ConnectomeSource {
    /// Edge list (`.csv` or `.csv.gz`: FlyWire/Codex connections, neuPrint
    /// traced-total-connections, generic pre,post,weight), a dense `.npy`/`.npz` matrix, a flyvis
    /// type-level wiring `.json[.gz]`, or a bundled connectome: celegans, larva-mb-left,
    /// larva-mb-right, flyvis.
    pub file: PathBuf,
    /// Node table (ids, labels, transmitters): neuPrint traced-neurons.csv, a nodes.csv, ….
    #[arg(long, value_name = "FILE")]
    pub nodes: Option<PathBuf>,
    /// Keep a neuron pair only with at least this many synapses (FlyWire users often use 5;
    /// the default keeps every pair with a positive count).
    #[arg(long, default_value_t = 0.0, allow_negative_numbers = true, value_parser = synapse_threshold)]
    pub threshold: f64,
    /// flyvis wiring: radius of the hexagonal column lattice (15: 721 columns, 45,669 neurons).
    #[arg(long, default_value_t = 15)]
    pub extent: u32,
    /// flyvis wiring: synapses assumed in each gap of a receptive field (0: none).
    #[arg(long, default_value_t = 1.0)]
    pub n_syn_fill: f64,
    /// Keep self-connections (dropped by default).
    #[arg(long)]
    pub self_loops: bool,
    /// Sign of glutamate (−1 in Drosophila, +1 in vertebrates).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub glutamate_sign: i8,
    /// Sign of neurons without a transmitter (0 = unconstrained).
    #[arg(long, default_value_t = 0, allow_negative_numbers = true)]
    pub unknown_sign: i8,
    /// Keep only the rows of these neuropils (edge lists with a `neuropil` column).
    #[arg(long, value_delimiter = ',')]
    pub neuropil: Vec<String>,
    /// Keep only the neurons with these labels (re-indexed contiguously; ids kept).
    #[arg(long, value_delimiter = ',')]
    pub keep_label: Vec<String>,
    /// Keep only the neurons with these body ids (also combined with --keep-label).
    #[arg(long, value_delimiter = ',')]
    pub keep_ids: Vec<u64>,
}

#[derive(Args, Debug)]
pub struct ConnectomeInfoArgs {
    #[command(flatten)]
    pub source: ConnectomeSource,
}
