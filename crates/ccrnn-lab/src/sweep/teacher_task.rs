//! Teacher tasks: build the teacher of a recipe, record what every student of it needs
//! (`teacher.npz`, `stimulus.npz`) and summarise it (`result.json`).

use super::recipe::{Recipe, TeacherKind};
use super::store::{nan_null, write_json};
use super::tasks::derive_seed;
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

fn split(stim: Stimulus<f64>, trials: usize) -> (Stimulus<f32>, Stimulus<f32>) {
    let s = stim.cast::<f32>();
    let total = s.trials();
    (
        s.select(&(0..trials).collect::<Vec<_>>()),
        s.select(&(trials..total).collect::<Vec<_>>()),
    )
}

/// Builds the teacher of size `n`. `progress(step, total)` follows E/I teacher training.
pub fn build(recipe: &Recipe, n: usize, seed: u64, progress: &mut dyn FnMut(u64, u64)) -> Result<TeacherData> {
    let t = &recipe.teacher;
    let total = t.trials + t.heldout_trials;
    match t.kind {
        TeacherKind::Ei => {
            let spec = recipe.ei_spec(n);
            let (raw, _) = spec.generate(seed)?;
            let task = SineTask {
                steps: t.steps,
                trials: t.trials,
                ..SineTask::default()
            };
            let (stim, target) = task.generate::<f32>(Seeds(seed).teacher_task())?;
            let cfg = ccrnn_fit::FitConfig {
                steps: t.training_steps,
                ..EiSpec::training_config(seed)
            };
            let mut on_step = |s: &ccrnn_fit::IterState<f32>| -> ccrnn_fit::Result<()> {
                progress(s.step, t.training_steps);
                Ok(())
            };
            let mut every = ccrnn_fit::Every(cfg.report_every, &mut on_step);
            let model = if t.training_steps == 0 {
                raw.cast::<f32>()
            } else {
                EiSpec::train(raw.cast::<f32>(), stim, target, &cfg, Some(&mut every))?.model
            };
            let (train, _) = task.generate::<f32>(Seeds(seed).train_stimulus())?;
            let held_task = SineTask {
                trials: t.heldout_trials,
                ..task
            };
            let (heldout, _) = held_task.generate::<f32>(Seeds(seed).heldout_stimulus())?;
            Ok(TeacherData { model, train, heldout })
        }
        TeacherKind::LowRank | TeacherKind::Chaotic => {
            let (m, stim) = if t.kind == TeacherKind::LowRank {
                LowRankSpec {
                    n,
                    ..LowRankSpec::default()
                }
                .generate(total, t.steps, seed)?
            } else {
                ChaoticSpec {
                    n,
                    ..ChaoticSpec::default()
                }
                .generate(total, t.steps, seed)?
            };
            let (train, heldout) = split(stim, t.trials);
            Ok(TeacherData {
                model: m.cast(),
                train,
                heldout,
            })
        }
    }
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
    let task_mse = if recipe.teacher.kind == TeacherKind::Ei {
        let task = SineTask {
            steps: recipe.teacher.steps,
            trials: recipe.teacher.heldout_trials,
            ..SineTask::default()
        };
        let (_, target) = task.generate::<f32>(Seeds(seed).heldout_stimulus())?;
        let d = &reference.y - &target;
        Some(d.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / d.len().max(1) as f64)
    } else {
        None
    };
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
