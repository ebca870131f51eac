//! The teacher → recording → student → fit → score experiment, step by step, in one place: the
//! demo, `ccrnn teacher`, the studies ([`crate::study`]), the sweeps ([`crate::sweep`]) and
//! Python all build their experiments from these steps, with the streams of [`Seeds`].
//!
//! 1. [`TeacherSpec::build`]: the teacher network and the trials its students are fitted on and
//!    scored on;
//! 2. [`record`]: the teacher's noisy activity on the training trials (the "recording");
//! 3. [`student_data`]: what a student with a given recorded set is fitted to;
//! 4. [`fit_student`]: the fit, reporting progress;
//! 5. scoring: [`ccrnn_fit::metrics::evaluate`] against noise-free held-out rollouts.

use crate::{ChaoticSpec, EiSpec, LowRankSpec, Result, SineTask};
use ccrnn_core::{Model, NeuronSet, Real, Seeds, SimOptions, Stimulus, Trajectory, simulate};
use ccrnn_fit::{Data, FitConfig, FitOutcome, IterState, Observer, ValidFitConfig, fit};
use ndarray::{Array3, Axis};
use serde::{Deserialize, Serialize};

/// A teacher to build: the generator and its settings (tagged by `kind` when serialised).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
#[allow(clippy::large_enum_variant)] // one per experiment: the size does not matter
pub enum TeacherSpec {
    /// An E/I softplus network drawn from the seed and trained on the sine task (Figures 1, 2,
    /// 4); `training.steps = 0` keeps it untrained.
    EiTask {
        /// The network.
        ei: EiSpec,
        /// The task it is trained on (its `trials` and `steps` are the training trials').
        task: SineTask,
        /// The training recipe.
        training: FitConfig,
    },
    /// A rank-2 tanh network with a limit cycle (Figure 3a–c); trials start from random
    /// initial states and run `steps` steps.
    LowRank {
        /// The network.
        low_rank: LowRankSpec,
        /// Steps per trial.
        steps: usize,
    },
    /// A random tanh network in the chaotic regime (Figure 3d–f).
    Chaotic {
        /// The network.
        chaotic: ChaoticSpec,
        /// Steps per trial.
        steps: usize,
    },
}

/// How many trials a built teacher comes with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Trials {
    /// Trials the students are fitted on.
    pub train: usize,
    /// Trials the students are scored on.
    pub heldout: usize,
}

/// A built teacher and its trials.
#[derive(Debug, Clone)]
pub struct Teacher {
    /// The teacher network.
    pub model: Model<f32>,
    /// Trials the students are fitted on (the task teacher: its `train_stimulus` stream; the
    /// random teachers: the first `Trials::train` of their trials).
    pub train: Stimulus<f32>,
    /// Trials the students are scored on.
    pub heldout: Stimulus<f32>,
    /// The task's target readout on the held-out trials (the task teacher only).
    pub heldout_target: Option<Array3<f32>>,
    /// The task teacher's training (`None` for the random teachers and an untrained one).
    pub training: Option<FitOutcome<f32>>,
    /// The task teacher's leading eigenvalue of the linearisation, before training.
    pub leading_eigenvalue: Option<f64>,
}

impl Teacher {
    /// The task teacher's task MSE: of `y`, its noise-free readout on the held-out trials,
    /// against the task's target (`None` without a task).
    pub fn task_mse(&self, y: &Array3<f32>) -> Option<f64> {
        let d = y - self.heldout_target.as_ref()?;
        Some(d.iter().map(|x| (*x as f64).powi(2)).sum::<f64>() / d.len().max(1) as f64)
    }
}

/// Draws the E/I network of `seed` and trains it on `task` (its `teacher_task` stream) unless
/// `training.steps` is 0: the model, its training, and the leading eigenvalue before training.
pub fn trained_ei(
    ei: &EiSpec,
    task: &SineTask,
    training: &FitConfig,
    seed: u64,
    observer: Option<&mut dyn Observer<f32>>,
) -> Result<(Model<f32>, Option<FitOutcome<f32>>, f64)> {
    let (raw, lam) = ei.generate(seed)?;
    if training.steps == 0 {
        return Ok((raw.cast(), None, lam));
    }
    let (stim, target) = task.generate::<f32>(Seeds(seed).teacher_task())?;
    let out = EiSpec::train(raw.cast::<f32>(), stim, target, training, observer)?;
    Ok((out.model.clone(), Some(out), lam))
}

impl TeacherSpec {
    /// Builds the teacher of `seed` with `trials` trials to fit on and to score on.
    /// `observer` follows the task teacher's training.
    pub fn build(&self, seed: u64, trials: Trials, observer: Option<&mut dyn Observer<f32>>) -> Result<Teacher> {
        match self {
            TeacherSpec::EiTask { ei, task, training } => {
                let (model, training, lam) = trained_ei(ei, task, training, seed, observer)?;
                let with = |trials: usize| SineTask { trials, ..*task };
                let (train, _) = with(trials.train).generate::<f32>(Seeds(seed).train_stimulus())?;
                let (heldout, target) = with(trials.heldout).generate::<f32>(Seeds(seed).heldout_stimulus())?;
                Ok(Teacher {
                    model,
                    train,
                    heldout,
                    heldout_target: Some(target),
                    training,
                    leading_eigenvalue: Some(lam),
                })
            }
            TeacherSpec::LowRank { low_rank, steps } => {
                let (m, stim) = low_rank.generate(trials.train + trials.heldout, *steps, seed)?;
                Ok(random_teacher(m, stim, trials.train))
            }
            TeacherSpec::Chaotic { chaotic, steps } => {
                let (m, stim) = chaotic.generate(trials.train + trials.heldout, *steps, seed)?;
                Ok(random_teacher(m, stim, trials.train))
            }
        }
    }
}

/// A random-network teacher whose first `train` trials are for fitting, the rest for scoring.
fn random_teacher(model: Model<f64>, stim: Stimulus<f64>, train: usize) -> Teacher {
    let s = stim.cast::<f32>();
    let total = s.trials();
    Teacher {
        model: model.cast(),
        train: s.select(&(0..train).collect::<Vec<_>>()),
        heldout: s.select(&(train..total).collect::<Vec<_>>()),
        heldout_target: None,
        training: None,
        leading_eigenvalue: None,
    }
}

/// The teacher's activity on `train` with process noise of standard deviation `noise` (the
/// recording the students are fitted to), seeded by `noise_seed`.
pub fn record<F: Real>(teacher: &Model<F>, train: &Stimulus<F>, noise: f64, noise_seed: u64) -> Result<Trajectory<F>> {
    Ok(simulate(teacher, train, &SimOptions::noisy(noise, noise_seed))?)
}

/// What a student recording `set` (model indices; empty: the readout only) is fitted to: its
/// recorded neurons and their data, cut from `recording`.
pub fn student_data<F: Real>(recording: &Trajectory<F>, set: &[usize]) -> Result<(NeuronSet, Data<F>)> {
    if set.is_empty() {
        return Ok((
            NeuronSet::default(),
            Data::Readout {
                data: recording.y.clone(),
            },
        ));
    }
    let rec = NeuronSet::nonempty(set, recording.a.shape()[2])?;
    let data = recording.a.select(Axis(2), rec.indices());
    Ok((rec.clone(), Data::Activity { recorded: rec, data }))
}

/// Fits `init` to `data` on `train` by `cfg`, calling `progress` every `report_every` steps.
pub fn fit_student<F: Real>(
    init: Model<F>,
    train: &Stimulus<F>,
    data: Data<F>,
    cfg: &ValidFitConfig,
    progress: &mut dyn FnMut(&IterState<F>),
) -> Result<FitOutcome<F>> {
    let mut report = |s: &IterState<F>| -> ccrnn_fit::Result<()> {
        progress(s);
        Ok(())
    };
    let mut every = ccrnn_fit::Every(cfg.raw.report_every, &mut report);
    Ok(fit(init, train.clone(), data, cfg, None, Some(&mut every))?)
}
