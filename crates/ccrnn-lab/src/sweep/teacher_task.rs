//! Teacher tasks: build the teacher of a recipe, record what every student of it needs
//! (`teacher.npz`, `stimulus.npz`) and summarise it (`result.json`).

use super::recipe::Recipe;
use super::store::{nan_null, write_json};
use super::tasks::derive_seed;
use crate::TeacherKind;
use crate::pipeline::{Teacher, TeacherSpec, Trials};
use crate::{ChaoticSpec, EiSpec, Error, LowRankSpec, Result, SineTask};
use ccrnn_analysis::participation_ratio;
use ccrnn_core::{Model, NeuronSet, Seeds, SimOptions, Stimulus, simulate};
use ccrnn_fit::metrics::shuffle_baseline;
use ndarray::{Array2, Array3, Ix2, Ix3};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// What a teacher task measured (its `result.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TeacherSummary {
    /// Network size.
    pub n: usize,
    /// Participation ratio of the teacher's noise-free held-out activity.
    #[serde(with = "nan_null")]
    pub pr: f64,
    /// Variance of the teacher's noise-free readout on held-out trials (the scale of readout
    /// errors).
    #[serde(with = "nan_null")]
    pub readout_var: f64,
    /// Task MSE of the teacher's readout on held-out trials (E/I teachers).
    pub task_mse: Option<f64>,
    /// Shuffled-label baseline over all neurons, held-out trials: activity MSE.
    #[serde(with = "nan_null")]
    pub shuffle_mse: f64,
    /// Shuffled-label baseline: 1 − mean |ρ|.
    #[serde(with = "nan_null")]
    pub shuffle_corr_err: f64,
    /// Seed of the noise in the students' training data.
    pub data_seed: u64,
    /// Wall time, seconds.
    pub seconds: f64,
}

/// A teacher with its training and held-out stimuli.
pub struct TeacherData {
    /// The teacher (f32, as the students are fitted).
    pub model: Model<f32>,
    /// Trials the students are fitted on.
    pub train: Stimulus<f32>,
    /// Trials the students are scored on.
    pub heldout: Stimulus<f32>,
}

/// The recipe's teacher of size `n`, as a [`TeacherSpec`].
pub fn spec(recipe: &Recipe, n: usize, seed: u64) -> TeacherSpec {
    let t = &recipe.teacher;
    match t.kind {
        TeacherKind::EiTask => TeacherSpec::EiTask {
            ei: recipe.ei_spec(n),
            task: SineTask {
                steps: t.steps,
                trials: t.trials,
                ..SineTask::default()
            },
            training: ccrnn_fit::FitConfig {
                steps: t.training_steps,
                ..EiSpec::training_config(seed)
            },
        },
        TeacherKind::LowRank => TeacherSpec::LowRank {
            low_rank: LowRankSpec {
                n,
                ..LowRankSpec::default()
            },
            steps: t.steps,
        },
        TeacherKind::Chaotic => TeacherSpec::Chaotic {
            chaotic: ChaoticSpec {
                n,
                ..ChaoticSpec::default()
            },
            steps: t.steps,
        },
    }
}

/// Builds the teacher of size `n`. `progress(step, total)` follows E/I teacher training.
pub fn build(recipe: &Recipe, n: usize, seed: u64, progress: &mut dyn FnMut(u64, u64)) -> Result<Teacher> {
    let t = &recipe.teacher;
    let mut on_step = |s: &ccrnn_fit::IterState<f32>| -> ccrnn_fit::Result<()> {
        progress(s.step, t.training_steps);
        Ok(())
    };
    let mut every = ccrnn_fit::Every(EiSpec::training_config(seed).report_every, &mut on_step);
    let trials = Trials {
        train: t.trials,
        heldout: t.heldout_trials,
    };
    spec(recipe, n, seed).build(seed, trials, Some(&mut every))
}

/// Runs a teacher task: writes `teacher.npz`, `stimulus.npz`, then `result.json`.
pub fn run(
    recipe: &Recipe,
    n: usize,
    seed: u64,
    dir: &Path,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<TeacherSummary> {
    let start = Instant::now();
    let data = build(recipe, n, seed, progress)?;
    let reference = simulate(&data.model, &data.heldout, &SimOptions::noiseless())?;
    let samples = pooled(&reference.a);
    let all = NeuronSet::nonempty(&(0..n).collect::<Vec<_>>(), n)?;
    let baseline = shuffle_baseline(&data.model, &reference, &all, 20, Seeds(seed).shuffle());
    let task_mse = data.task_mse(&reference.y);
    ccrnn_io::save_model(&dir.join("teacher.npz"), &data.model, None)?;
    ccrnn_io::npz::write_npz(&dir.join("stimulus.npz"), |z| {
        for (name, s) in [("train", &data.train), ("heldout", &data.heldout)] {
            z.add(&format!("{name}_inputs"), &s.u)?;
            if let Some(h0) = &s.h0 {
                z.add(&format!("{name}_initial_state"), h0)?;
            }
        }
        Ok(())
    })?;
    let summary = TeacherSummary {
        n,
        pr: participation_ratio(samples.view()),
        readout_var: {
            let y = reference.y.mapv(|x| x as f64);
            let m = y.mean().unwrap_or(f64::NAN);
            y.mapv(|x| (x - m).powi(2)).mean().unwrap_or(f64::NAN)
        },
        task_mse,
        shuffle_mse: baseline.shuffle_mse,
        shuffle_corr_err: baseline.shuffle_corr_err,
        data_seed: derive_seed(seed, "data"),
        seconds: start.elapsed().as_secs_f64(),
    };
    write_json(&dir.join("result.json"), &summary)?;
    Ok(summary)
}

/// Loads what a finished teacher task wrote.
pub fn load(dir: &Path) -> Result<TeacherData> {
    let model = ccrnn_io::load_model(&dir.join("teacher.npz"))?.model;
    let path = dir.join("stimulus.npz");
    let mut z = ccrnn_io::npz::NpzIn::open(&path)?;
    let mut stim = |name: &str| -> Result<Stimulus<f32>> {
        let u = z
            .floats(&format!("{name}_inputs"))?
            .into_dimensionality::<Ix3>()
            .map_err(|e| Error::File(format!("{}: {name}_inputs: {e}", path.display())))?;
        let key = format!("{name}_initial_state");
        let h0 = if z.has(&key) {
            let h = z
                .floats(&key)?
                .into_dimensionality::<Ix2>()
                .map_err(|e| Error::File(format!("{}: {key}: {e}", path.display())))?;
            Some(h.mapv(|x| x as f32))
        } else {
            None
        };
        Ok(Stimulus {
            u: u.mapv(|x| x as f32),
            h0,
        })
    };
    let train = stim("train")?;
    let heldout = stim("heldout")?;
    train.validate(&model)?;
    heldout.validate(&model)?;
    Ok(TeacherData { model, train, heldout })
}

/// Trials × time × neurons activity pooled into samples × neurons.
pub fn pooled(a: &Array3<f32>) -> Array2<f64> {
    let (b, t, n) = a.dim();
    Array2::from_shape_fn((b * t, n), |(s, i)| a[[s / t, s % t, i]] as f64)
}
