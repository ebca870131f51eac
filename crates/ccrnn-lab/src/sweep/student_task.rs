//! Student tasks: one student of the grid, built from its teacher (with the grid's variations:
//! β mismatch, trained β, connectome noise, unconstrained weights), fitted and scored.

use super::recipe::{BetaTraining, Recipe};
use super::store::{nan_null, write_json};
use super::tasks::{StudentSpec, Task};
use super::teacher_task::{TeacherData, TeacherSummary};
use crate::Result;
use crate::pipeline::{fit_student, record, student_data};
use ccrnn_core::{Beta, Connectivity, Model, NeuronSet, Pattern, Seeds, SimOptions, simulate};
use ccrnn_fit::student::{random_recorded, student_init};
use ccrnn_fit::{Data, FitConfig, evaluate};
use ndarray::{Array1, Array2, Array3, Axis};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::time::Instant;

/// What a student task measured (its `result.json`): one row of the sweep's table.
/// Values that do not apply are NaN (`null` in the JSON): recorded errors of a readout-only
/// student, β of a tanh network.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudentResult {
    /// Task id.
    pub id: String,
    /// The grid point.
    pub spec: StudentSpec,
    /// MSE of the recorded neurons' activity, held-out trials.
    #[serde(with = "nan_null")]
    pub recorded_mse: f64,
    /// MSE of the unrecorded neurons' activity, held-out trials.
    #[serde(with = "nan_null")]
    pub unrecorded_mse: f64,
    /// 1 − mean |ρ| over recorded neurons.
    #[serde(with = "nan_null")]
    pub recorded_corr_err: f64,
    /// 1 − mean |ρ| over unrecorded neurons.
    #[serde(with = "nan_null")]
    pub unrecorded_corr_err: f64,
    /// MSE of the readout against the teacher's.
    #[serde(with = "nan_null")]
    pub readout_mse: f64,
    /// RMS gain error.
    #[serde(with = "nan_null")]
    pub gain_rmse: f64,
    /// RMS bias error.
    #[serde(with = "nan_null")]
    pub bias_rmse: f64,
    /// The student's β before fitting (mean over neurons).
    #[serde(with = "nan_null")]
    pub beta_start: f64,
    /// The student's β after fitting (mean over neurons).
    #[serde(with = "nan_null")]
    pub beta_final: f64,
    /// The teacher's β.
    #[serde(with = "nan_null")]
    pub beta_teacher: f64,
    /// The teacher's shuffle baseline: unrecorded MSE and 1 − |ρ| with labels shuffled.
    #[serde(with = "nan_null")]
    pub shuffle_mse: f64,
    /// See `shuffle_mse`.
    #[serde(with = "nan_null")]
    pub shuffle_corr_err: f64,
    /// Variance of the teacher's readout on held-out trials.
    #[serde(with = "nan_null")]
    pub teacher_readout_var: f64,
    /// Participation ratio of the teacher's activity.
    #[serde(with = "nan_null")]
    pub teacher_pr: f64,
    /// Last recorded minibatch loss.
    #[serde(with = "nan_null")]
    pub final_loss: f64,
    /// Optimiser steps run.
    pub steps: u64,
    /// Loss-and-gradient evaluations (and Gauss–Newton products) of the fit.
    #[serde(default)]
    pub evaluations: u64,
    /// Why the fit stopped (`converged`, `max-steps`, …: [`ccrnn_fit::Termination::name`]).
    #[serde(default)]
    pub termination: String,
    /// Whether the fit converged ([`ccrnn_fit::Termination::converged`]); a fit that ran out
    /// of steps has not, and its scores are those of an unfinished fit.
    #[serde(default)]
    pub converged: bool,
    /// Wall time of the task, seconds.
    #[serde(with = "nan_null")]
    pub seconds: f64,
    /// `(step, minibatch loss)` every `fit.report_every` steps.
    pub loss_curve: Vec<(u64, f64)>,
}

fn mean_beta(m: &Model<f32>) -> f64 {
    if !m.activation.uses_beta() {
        return f64::NAN;
    }
    let v = m.params.beta.to_vec();
    v.iter().map(|&b| b as f64).sum::<f64>() / v.len().max(1) as f64
}

/// The teacher's weights × (1 + σξ) (wrong signs clipped to 0), plus each absent synapse
/// (i ≠ j) with probability σ, signed as its presynaptic neuron (random sign for unsigned
/// neurons) with the magnitude of a randomly chosen existing synapse.
pub fn noisy_connectivity(m: &Model<f32>, sigma: f64, rng: &mut ChaCha8Rng) -> Result<Connectivity<f32>> {
    let conn = m.connectivity();
    let n = m.n();
    let mut w = conn.to_dense();
    let mut mask = Array2::from_elem((n, n), false);
    for (row, (lo, hi)) in conn.pattern.row_ptr().windows(2).map(|p| (p[0], p[1])).enumerate() {
        for k in lo..hi {
            mask[[row, conn.pattern.col()[k] as usize]] = true;
        }
    }
    let mags: Vec<f32> = conn.values.iter().map(|v| v.abs()).filter(|v| *v > 0.0).collect();
    for i in 0..n {
        for j in 0..n {
            if mask[[i, j]] {
                let xi: f64 = StandardNormal.sample(rng);
                let v = w[[i, j]] * (1.0 + sigma * xi) as f32;
                let s = conn.signs[j];
                w[[i, j]] = if (s > 0 && v < 0.0) || (s < 0 && v > 0.0) {
                    0.0
                } else {
                    v
                };
            } else if i != j && !mags.is_empty() && rng.random::<f64>() < sigma {
                let mag = mags[rng.random_range(0..mags.len())];
                let s = match conn.signs[j] {
                    0 if rng.random::<bool>() => -1.0,
                    0 => 1.0,
                    s => s as f32,
                };
                w[[i, j]] = s * mag;
                mask[[i, j]] = true;
            }
        }
    }
    Ok(Connectivity::from_dense(
        w.view(),
        Some(mask.view()),
        conn.signs.clone(),
    )?)
}

/// A dense unsigned connectivity drawn N(0, s²) with s the RMS of the teacher's `W` over all
/// N² entries (same overall coupling strength, no structure).
pub fn random_connectivity(m: &Model<f32>, rng: &mut ChaCha8Rng) -> Result<Connectivity<f32>> {
    let n = m.n();
    let values = m.coupling.values();
    let rms = (values.iter().map(|&v| (v as f64).powi(2)).sum::<f64>() / (n * n) as f64).sqrt();
    let vals: Vec<f32> = (0..n * n)
        .map(|_| {
            let xi: f64 = StandardNormal.sample(rng);
            (rms * xi) as f32
        })
        .collect();
    Ok(Connectivity {
        pattern: Pattern::full(n),
        values: vals,
        signs: vec![0; n],
    })
}

/// The student's initial model and the names of its trainable groups.
pub fn initial_student(
    teacher: &Model<f32>,
    recipe: &Recipe,
    spec: &StudentSpec,
    seed: u64,
) -> Result<(Model<f32>, Vec<String>)> {
    let mut s = student_init(teacher, recipe.student.gain_factor, Seeds(seed).student_init());
    let mut train = recipe.fit.train.clone();
    let mut rng = ChaCha8Rng::seed_from_u64(Seeds(seed).unconstrained_weights());
    if spec.connectome_noise > 0.0 {
        s.coupling = noisy_connectivity(&s, spec.connectome_noise, &mut rng)?.build(s.coupling.backend());
    }
    if spec.unconstrained {
        s.coupling = random_connectivity(&s, &mut rng)?.build(s.coupling.backend());
        s.signs = vec![0; s.n()];
        train.push("w".into());
    }
    let beta0 = spec.beta.map(|b| b as f32).unwrap_or_else(|| s.params.beta.of(0));
    s.params.beta = match spec.beta_training {
        BetaTraining::PerNeuron => Beta::PerNeuron(Array1::from_elem(s.n(), beta0)),
        _ => Beta::Global(beta0),
    };
    if spec.beta_training != BetaTraining::Fixed {
        train.push("beta".into());
    }
    train.dedup();
    Ok((s, train))
}

/// Mean squared difference between teacher neuron `i` and student neuron `j` over all samples.
fn trace_distance(t: &Array3<f32>, s: &Array3<f32>, i: usize, j: usize) -> f64 {
    let ti = t.index_axis(Axis(2), i);
    let sj = s.index_axis(Axis(2), j);
    ti.iter()
        .zip(sj.iter())
        .map(|(a, b)| ((a - b) as f64).powi(2))
        .sum::<f64>()
        / ti.len().max(1) as f64
}

/// For unconstrained students, whose neurons have no identity beyond the recorded ones: each
/// unrecorded teacher neuron, in index order, is matched to the closest (MSE on the held-out
/// trials) still unmatched unrecorded student neuron. Returns the student relabelled so that
/// student neuron i plays teacher neuron i.
pub fn match_unrecorded(
    teacher_a: &Array3<f32>,
    student: &Model<f32>,
    data: &TeacherData,
    recorded: &NeuronSet,
) -> Result<Model<f32>> {
    let n = student.n();
    let s = simulate(student, &data.heldout, &SimOptions::noiseless())?;
    let unrec = recorded.complement(n);
    let mut free: Vec<usize> = unrec.indices().to_vec();
    let mut perm: Vec<usize> = (0..n).collect(); // perm[old student neuron] = new label
    for &i in unrec.indices() {
        let (k, _) = free
            .iter()
            .enumerate()
            .map(|(k, &j)| (k, trace_distance(teacher_a, &s.a, i, j)))
            .fold((0, f64::INFINITY), |best, c| if c.1 < best.1 { c } else { best });
        let j = free.swap_remove(k);
        perm[j] = i;
    }
    Ok(student.permuted(&perm)?)
}

/// What a student task fits, before fitting: its initial model, its recorded neurons and their
/// data (the teacher's noisy recording on the training trials), and the recipe's fit
/// configuration with the task's seed and trainable groups.
pub struct Prepared {
    /// The student before fitting.
    pub init: Model<f32>,
    /// The recorded neurons (empty: the readout only).
    pub recorded: NeuronSet,
    /// What the student is fitted to.
    pub data: Data<f32>,
    /// How (not yet validated, so that a caller can change it first).
    pub fit: FitConfig,
}

/// Builds a student task's [`Prepared`] from its teacher: the one place that decides a task's
/// initial student, recorded set and fitting configuration from its seed.
pub fn prepare(
    recipe: &Recipe,
    seed: u64,
    spec: &StudentSpec,
    data: &TeacherData,
    summary: &TeacherSummary,
) -> Result<Prepared> {
    let teacher = &data.model;
    let (init, train) = initial_student(teacher, recipe, spec, seed)?;
    let recording = record(teacher, &data.train, recipe.teacher.data_noise, summary.data_seed)?;
    let set = if spec.m == 0 {
        Vec::new()
    } else {
        random_recorded(teacher.n(), spec.m, Seeds(seed).recorded_set())?
            .indices()
            .to_vec()
    };
    let (recorded, data) = student_data(&recording, &set)?;
    let fit = FitConfig {
        seed,
        train,
        ..recipe.fit.clone()
    };
    Ok(Prepared {
        init,
        recorded,
        data,
        fit,
    })
}

/// Runs a student task and writes its `result.json`. `progress(step, total, loss)` follows
/// the fit.
pub fn run(
    recipe: &Recipe,
    task: &Task,
    spec: &StudentSpec,
    data: &TeacherData,
    summary: &TeacherSummary,
    dir: &Path,
    progress: &mut dyn FnMut(u64, u64, f64),
) -> Result<StudentResult> {
    let id = task.id.as_str();
    let start = Instant::now();
    let teacher = &data.model;
    let Prepared {
        init,
        recorded,
        data: fit_data,
        fit,
    } = prepare(recipe, task.seed, spec, data, summary)?;
    let cfg = fit.validate()?;
    let total = cfg.raw.steps;
    let beta_start = mean_beta(&init);
    let out = fit_student(init, &data.train, fit_data, &cfg, &mut |s| {
        progress(s.step, total, s.cost)
    })?;
    let reference = simulate(teacher, &data.heldout, &SimOptions::noiseless())?;
    let student = if spec.unconstrained {
        match_unrecorded(&reference.a, &out.model, data, &recorded)?
    } else {
        out.model.clone()
    };
    let scores = evaluate(teacher, &reference, &student, &data.heldout, &recorded)?;
    let h = &out.history;
    let result = StudentResult {
        id: id.to_string(),
        spec: spec.clone(),
        recorded_mse: scores.recorded_mse,
        unrecorded_mse: scores.unrecorded_mse,
        recorded_corr_err: scores.recorded_corr_err,
        unrecorded_corr_err: scores.unrecorded_corr_err,
        readout_mse: scores.readout_mse,
        gain_rmse: scores.gain_rmse,
        bias_rmse: scores.bias_rmse,
        beta_start,
        beta_final: mean_beta(&out.model),
        beta_teacher: mean_beta(teacher),
        shuffle_mse: summary.shuffle_mse,
        shuffle_corr_err: summary.shuffle_corr_err,
        teacher_readout_var: summary.readout_var,
        teacher_pr: summary.pr,
        final_loss: h.loss.last().copied().unwrap_or(f64::NAN),
        steps: out.state.step,
        evaluations: out.state.evaluations,
        termination: out.termination.name().to_string(),
        converged: out.termination.converged(),
        seconds: start.elapsed().as_secs_f64(),
        loss_curve: h.step.iter().copied().zip(h.loss.iter().copied()).collect(),
    };
    write_json(&dir.join("result.json"), &result)?;
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::EiSpec;
    use ccrnn_core::Stimulus;

    fn teacher() -> Model<f32> {
        EiSpec {
            n: 30,
            ..EiSpec::default()
        }
        .generate(1)
        .unwrap()
        .0
        .cast()
    }

    #[test]
    fn connectome_noise_keeps_signs_and_adds_about_sigma_of_the_absent_synapses() {
        let t = teacher();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let same = noisy_connectivity(&t, 0.0, &mut rng).unwrap();
        assert_eq!(same.to_dense(), t.coupling.to_dense());
        let sigma = 0.1;
        let noisy = noisy_connectivity(&t, sigma, &mut rng).unwrap();
        let (w0, w) = (t.coupling.to_dense(), noisy.to_dense());
        let n = t.n();
        let absent = (0..n * n)
            .filter(|&k| k / n != k % n && w0[[k / n, k % n]] == 0.0)
            .count();
        let added = (0..n * n)
            .filter(|&k| w0[[k / n, k % n]] == 0.0 && w[[k / n, k % n]] != 0.0)
            .count();
        let expect = sigma * absent as f64;
        assert!(
            (added as f64 - expect).abs() < 4.0 * expect.sqrt(),
            "{added} vs {expect}"
        );
        for j in 0..n {
            let s = t.signs[j] as f32;
            assert!(
                w.column(j).iter().all(|&x| x * s >= 0.0),
                "column {j} breaks Dale's law"
            );
        }
        let changed = w0.iter().zip(w.iter()).filter(|(a, b)| **a != 0.0 && a != b).count();
        assert!(changed > 0);
    }

    #[test]
    fn greedy_matching_undoes_a_relabelling_of_the_unrecorded_neurons() {
        let t = teacher();
        let n = t.n();
        let recorded = NeuronSet::nonempty(&[0, 1, 2], n).unwrap();
        // Student = teacher with its unrecorded neurons relabelled (reversed).
        let mut perm: Vec<usize> = (0..n).collect();
        perm[3..].reverse();
        let student = t.permuted(&perm).unwrap();
        let stim = Stimulus::new(ndarray::Array3::from_shape_fn((2, 60, t.n_in()), |(b, s, c)| {
            if s == 5 + 10 * b && c == b % t.n_in() {
                20.0
            } else {
                0.0
            }
        }));
        let data = TeacherData {
            model: t.clone(),
            train: stim.clone(),
            heldout: stim.clone(),
        };
        let reference = simulate(&t, &stim, &SimOptions::noiseless()).unwrap();
        let before = evaluate(&t, &reference, &student, &stim, &recorded).unwrap();
        let matched = match_unrecorded(&reference.a, &student, &data, &recorded).unwrap();
        let after = evaluate(&t, &reference, &matched, &stim, &recorded).unwrap();
        assert!(before.unrecorded_mse > 1e-6, "the relabelling changes the score");
        assert!(after.unrecorded_mse < 1e-10, "{}", after.unrecorded_mse);
        assert!(after.gain_rmse < 1e-6);
    }
}
