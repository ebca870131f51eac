//! Fits to a lab's recordings: calcium-imaging files read as sessions of one fit (what the
//! command line's `fit --imaging` and Python's `fit_imaging` share), and what a fitted student
//! predicts at the frames, recorded and unrecorded neurons alike.

pub mod cv;

use crate::{Error, Result};
use ccrnn_core::{Model, Observation, SimOptions, simulate};
use ccrnn_fit::metrics::{NeuronFit, neuron_fits};
use ccrnn_io::imaging::{ObserveOptions, Sessions, assemble, read_inputs, read_label_table};
use ccrnn_io::npz::write_npz;
use ccrnn_io::{Imaging, ModelFile, ReadOptions, read_imaging};
use ndarray::{Array1, Array2, Array3, Axis};
use std::path::{Path, PathBuf};

/// Which files make the sessions and how they are seen.
#[derive(Debug, Clone, Default)]
pub struct ImagingSetup {
    /// Imaging files, one session each.
    pub files: Vec<PathBuf>,
    /// How to read them.
    pub read: ReadOptions,
    /// A CSV from ROI labels to the model's neurons.
    pub label_table: Option<PathBuf>,
    /// The sessions' stimulus files (none, one for all, or one per session).
    pub inputs: Vec<PathBuf>,
    /// How the model sees them.
    pub observe: ObserveOptions,
}

/// The recordings read and the sessions assembled from them.
#[derive(Debug, Clone)]
pub struct Loaded {
    /// One per file.
    pub recordings: Vec<Imaging>,
    /// What the fit needs.
    pub sessions: Sessions,
}

fn io(e: ccrnn_io::Error) -> Error {
    Error::File(e.to_string())
}

/// Reads the files of `setup` and assembles them for a fit of `model`.
pub fn load(setup: &ImagingSetup, model: &ModelFile) -> Result<Loaded> {
    let recordings = setup
        .files
        .iter()
        .map(|f| read_imaging(f, &setup.read))
        .collect::<ccrnn_io::Result<Vec<_>>>()
        .map_err(io)?;
    let table = setup
        .label_table
        .as_deref()
        .map(read_label_table)
        .transpose()
        .map_err(io)?;
    let inputs = setup
        .inputs
        .iter()
        .map(|f| read_inputs(f))
        .collect::<ccrnn_io::Result<Vec<_>>>()
        .map_err(io)?;
    let sessions = assemble(
        &recordings,
        &inputs,
        &model.model,
        &model.neuron_keys(),
        table.as_ref(),
        &setup.observe,
    )
    .map_err(io)?;
    Ok(Loaded { recordings, sessions })
}

/// The frame times of every session in seconds from its first frame (`B × F`; NaN pads).
pub fn session_times(loaded: &Loaded) -> Array2<f64> {
    let f = loaded.sessions.obs.data.shape()[1];
    let mut times = Array2::from_elem((loaded.recordings.len(), f), f64::NAN);
    for (b, r) in loaded.recordings.iter().enumerate() {
        for (k, &t) in r.times.iter().enumerate() {
            times[[b, k]] = t - r.times[0];
        }
    }
    times
}

/// What a fitted student predicts at the recordings' frames.
#[derive(Debug, Clone)]
pub struct Prediction {
    /// Frame times, seconds from each session's first frame (`B × F`; NaN pads).
    pub times: Array2<f64>,
    /// The recorded neurons' measured signal (`B × F × M`, NaN missing).
    pub measured: Array3<f32>,
    /// Their predicted signal: activity through the fitted observation model (`B × F × M`).
    pub predicted: Array3<f32>,
    /// Every neuron's activity at the frames (`B × F × N`): the prediction of the unrecorded.
    pub activity: Array3<f32>,
    /// The recorded neurons (the columns of `measured`).
    pub recorded: Vec<usize>,
    /// The fitted observation model.
    pub observation: Observation<f32>,
    /// Each recorded neuron's fit (predicted vs measured, missing frames left out).
    pub fits: Vec<NeuronFit>,
}

/// Simulates `model` (noise-free) on the sessions and reads it through `obs`, the fitted
/// observation model (its scale and offset profiled if they are not set).
pub fn predict(model: &Model<f32>, loaded: &Loaded, obs: &Observation<f32>) -> Result<Prediction> {
    let sessions = &loaded.sessions;
    let traj = simulate(model, &sessions.stim, &SimOptions::noiseless())?;
    let rec = sessions.recorded.indices().to_vec();
    let a_rec = traj.a.select(Axis(2), &rec);
    let mut obs = obs.clone();
    if obs.profile_affine {
        obs.profile(a_rec.view())?;
    }
    let predicted = obs.predict(a_rec.view())?;
    let activity = obs.frames.read(traj.a.view());
    let pairs: Vec<(usize, usize)> = (0..rec.len()).map(|c| (c, c)).collect();
    let fits = neuron_fits(&predicted, &obs.data, &pairs)
        .into_iter()
        .map(|f| NeuronFit {
            neuron: rec[f.neuron],
            ..f
        })
        .collect();
    Ok(Prediction {
        times: session_times(loaded),
        measured: obs.data.clone(),
        predicted,
        activity,
        recorded: rec,
        observation: obs,
        fits,
    })
}

impl Prediction {
    /// Writes `path` (.npz): `times`, `measured`, `predicted`, `activity`, `recorded`, and the
    /// observation model's `scale` and `offset` (sessions × M) and `tau_ca` (M, model time
    /// units) where it has them.
    pub fn save(&self, path: &Path) -> Result<()> {
        write_npz(path, |z| {
            z.add("times", &self.times)?;
            z.add("measured", &self.measured)?;
            z.add("predicted", &self.predicted)?;
            z.add("activity", &self.activity)?;
            z.add("recorded", &Array1::from_iter(self.recorded.iter().map(|&i| i as i64)))?;
            if let (Some(s), Some(o)) = (&self.observation.scale, &self.observation.offset) {
                z.add("scale", s)?;
                z.add("offset", o)?;
            }
            if let Some(t) = &self.observation.tau {
                z.add("tau_ca", t)?;
            }
            Ok(())
        })
        .map_err(io)
    }
}
