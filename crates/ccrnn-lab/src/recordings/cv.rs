//! Cross-validation on held-out neurons: the recorded neurons are split into k folds; each
//! fold's neurons are left out of a fit to the others and predicted by it. A prediction is read
//! through the observation model like the data (the indicator filter, then the least-squares
//! scale and offset of each session and held-out neuron, s ≥ 0), so the scores ask whether the
//! model predicts a neuron's time course, not its units.
//!
//! Scores per held-out neuron, over its observed entries, within sessions (each session's mean
//! taken out, as its offset is free): `corr`, the Pearson correlation of prediction and signal
//! (0 for a flat prediction); `explained_variance`, 1 − Σ(ŷ − y)² / Σ(y − ȳ_session)² (≤ 1;
//! 0 for a flat prediction).
//!
//! Models, each fitted to the same training neurons the same way:
//! - `connectome`: the model's connectome, single-neuron parameters fitted (the student);
//! - `shuffled`: the connectome student with neuron labels shuffled (each held-out neuron
//!   predicted by a random other neuron's activity): what identity is worth;
//! - `no-recurrence`: the connectome removed (W and gap junctions zero), parameters fitted;
//! - `unconstrained`: a dense unsigned network of the same size, all weights fitted; its
//!   neurons have no identity beyond the recorded ones, so each held-out neuron is matched to
//!   the unused unrecorded neuron whose prediction correlates best with it (chosen with the
//!   held-out data: an optimistic score, an upper bound for that model).

use super::Loaded;
use crate::Result;
use crate::sweep::student_task::random_connectivity;
use ccrnn_core::{Model, NeuronSet, Observation, Seeds, SimOptions, simulate};
use ccrnn_fit::metrics::pearson;
use ccrnn_fit::student::{StudentConfig, recording_order};
use ccrnn_fit::{Data, FitConfig, fit};
use ndarray::{Array3, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// A model cross-validated (see the [module documentation](self)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CvModel {
    /// The connectome student.
    Connectome,
    /// The connectome student with shuffled neuron labels.
    Shuffled,
    /// The student without recurrence.
    NoRecurrence,
    /// A dense unconstrained network, all weights fitted.
    Unconstrained,
}

impl CvModel {
    /// Every model, the connectome first.
    pub const ALL: [CvModel; 4] = [
        CvModel::Connectome,
        CvModel::Shuffled,
        CvModel::NoRecurrence,
        CvModel::Unconstrained,
    ];

    /// Its name on the command line and in tables.
    pub fn name(self) -> &'static str {
        match self {
            CvModel::Connectome => "connectome",
            CvModel::Shuffled => "shuffled",
            CvModel::NoRecurrence => "no-recurrence",
            CvModel::Unconstrained => "unconstrained",
        }
    }
}

/// What to cross-validate and how.
#[derive(Debug, Clone)]
pub struct CvConfig {
    /// Folds k (2 ≤ k ≤ recorded neurons).
    pub folds: usize,
    /// Seed of the folds, the students' starting points, the shuffle and the unconstrained
    /// network's weights (each fold its own replicate stream).
    pub seed: u64,
    /// The models, in order (the connectome student is fitted whenever `shuffled` is asked).
    pub models: Vec<CvModel>,
    /// How each model is fitted.
    pub fit: FitConfig,
    /// The students' starting point.
    pub student: StudentConfig,
}

/// One held-out neuron's score under one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldOutScore {
    /// The model's name.
    pub model: &'static str,
    /// The fold that held the neuron out.
    pub fold: usize,
    /// The neuron (model row).
    pub neuron: usize,
    /// Pearson correlation of prediction and signal.
    pub corr: f64,
    /// Variance explained around each session's mean.
    pub explained_variance: f64,
}

/// The result of [`cross_validate`].
#[derive(Debug, Clone)]
pub struct CvResult {
    /// Every held-out neuron under every model, by model then fold.
    pub scores: Vec<HeldOutScore>,
    /// Wall time of each model's fits, in seconds (`shuffled` reuses the connectome's).
    pub seconds: Vec<(CvModel, f64)>,
    /// The recorded neurons of each fold.
    pub folds: Vec<Vec<usize>>,
    /// The connectome student's held-out prediction of every recorded neuron (`B × F × M`,
    /// columns as the observation's, each from the fold that held it out), when fitted.
    pub predicted: Option<Array3<f32>>,
}

/// A model's fit to the training neurons of one fold: its noise-free activity (`B × T × N`).
fn fit_and_run(
    init: Model<f32>,
    train_groups: Option<Vec<String>>,
    loaded: &Loaded,
    train: &NeuronSet,
    obs: Observation<f32>,
    cfg: &FitConfig,
) -> Result<Array3<f32>> {
    let mut c = cfg.clone();
    if let Some(g) = train_groups {
        c.train = g;
    }
    let valid = c.validate()?;
    let data = Data::Observed {
        recorded: train.clone(),
        obs: Box::new(obs),
    };
    let out = fit(init, loaded.sessions.stim.clone(), data, &valid, None, None)?;
    Ok(simulate(&out.model, &loaded.sessions.stim, &SimOptions::noiseless())?.a)
}

/// Correlation and explained variance of one held-out neuron.
type Scores = (f64, f64);

/// Scores `a_held` (`B × T × H`, the predicted activity of the held-out columns `held`)
/// against the data through the observation model with a least-squares scale and offset.
fn score(obs: &Observation<f32>, held: &[usize], a_held: &Array3<f32>) -> Result<(Array3<f32>, Vec<Scores>)> {
    let mut o = obs.columns(held);
    o.profile_affine = true;
    o.profile(a_held.view())?;
    let pred = o.predict(a_held.view())?;
    let (b, f, h) = pred.dim();
    let scores = (0..h)
        .map(|c| {
            let (mut p, mut y, mut sess) = (Vec::new(), Vec::new(), Vec::new());
            for bi in 0..b {
                for fi in 0..f {
                    let v = o.data[[bi, fi, c]];
                    if !v.is_nan() {
                        p.push(f64::from(pred[[bi, fi, c]]));
                        y.push(f64::from(v));
                        sess.push(o.session[bi]);
                    }
                }
            }
            // within sessions: each session's mean taken out of both (its offset is free)
            let sessions = sess.iter().max().map_or(0, |m| m + 1);
            let mean = |x: &[f64]| {
                let mut acc = vec![(0.0, 0usize); sessions];
                for (v, &s) in x.iter().zip(&sess) {
                    acc[s].0 += v;
                    acc[s].1 += 1;
                }
                acc.into_iter().map(|(t, k)| t / k.max(1) as f64).collect::<Vec<f64>>()
            };
            let (mp, my) = (mean(&p), mean(&y));
            let pc: Vec<f64> = p.iter().zip(&sess).map(|(v, &s)| v - mp[s]).collect();
            let yc: Vec<f64> = y.iter().zip(&sess).map(|(v, &s)| v - my[s]).collect();
            let corr = pearson(&pc, &yc).unwrap_or(0.0);
            let tot: f64 = yc.iter().map(|v| v * v).sum();
            let res: f64 = y.iter().zip(&p).map(|(v, q)| (v - q).powi(2)).sum();
            let ev = if tot > 0.0 { 1.0 - res / tot } else { f64::NAN };
            (corr, ev)
        })
        .collect();
    Ok((pred, scores))
}

/// For each held-out column, the unused neuron (outside `used`) whose prediction correlates
/// best with it; greedy in column order.
fn best_matches(obs: &Observation<f32>, held: &[usize], a: &Array3<f32>, used: &[usize]) -> Result<Vec<usize>> {
    let n = a.shape()[2];
    let mut taken: Vec<bool> = (0..n).map(|i| used.contains(&i)).collect();
    let mut out = Vec::with_capacity(held.len());
    for &c in held {
        let free: Vec<usize> = (0..n).filter(|&i| !taken[i]).collect();
        if free.is_empty() {
            out.push(0);
            continue;
        }
        let cand = a.select(Axis(2), &free);
        let cols = vec![c; free.len()];
        let (_, s) = score(obs, &cols, &cand)?;
        let best = (0..free.len()).max_by(|&x, &y| s[x].0.total_cmp(&s[y].0)).unwrap_or(0);
        taken[free[best]] = true;
        out.push(free[best]);
    }
    Ok(out)
}

/// Cross-validates `model` (its connectome and starting parameters) on the loaded sessions;
/// `progress(model, fold)` is called before each fit.
pub fn cross_validate(
    model: &Model<f32>,
    loaded: &Loaded,
    cfg: &CvConfig,
    progress: &mut dyn FnMut(CvModel, usize),
) -> Result<CvResult> {
    let obs = &loaded.sessions.obs;
    let recorded = loaded.sessions.recorded.indices();
    let m = recorded.len();
    let n = model.n();
    if cfg.folds < 2 || cfg.folds > m {
        return Err(crate::Error::spec(
            "folds",
            format!("{} folds of {m} recorded neurons: need 2 ≤ k ≤ {m}", cfg.folds),
        ));
    }
    let order = recording_order(m, Seeds(cfg.seed).recorded_set());
    let folds: Vec<Vec<usize>> = (0..cfg.folds)
        .map(|f| {
            let mut cols: Vec<usize> = order.iter().copied().skip(f).step_by(cfg.folds).collect();
            cols.sort_unstable();
            cols
        })
        .collect();
    let wants = |k: CvModel| cfg.models.contains(&k);
    let need_connectome = wants(CvModel::Connectome) || wants(CvModel::Shuffled);
    let mut scores: Vec<(CvModel, HeldOutScore)> = Vec::new();
    let mut seconds = vec![0.0; CvModel::ALL.len()];
    let mut predicted = need_connectome.then(|| Array3::from_elem(obs.data.dim(), f32::NAN));
    for (f, held) in folds.iter().enumerate() {
        let seeds = Seeds(cfg.seed).replicate(f);
        let train_cols: Vec<usize> = (0..m).filter(|c| !held.contains(c)).collect();
        let train_neurons: Vec<usize> = train_cols.iter().map(|&c| recorded[c]).collect();
        let train = NeuronSet::new(&train_neurons, n)?;
        let held_neurons: Vec<usize> = held.iter().map(|&c| recorded[c]).collect();
        let obs_train = obs.columns(&train_cols);
        let init = cfg.student.start(model, seeds.student_init());
        let mut push = |k: CvModel, s: &[Scores]| {
            for (j, &(corr, ev)) in s.iter().enumerate() {
                scores.push((
                    k,
                    HeldOutScore {
                        model: k.name(),
                        fold: f,
                        neuron: held_neurons[j],
                        corr,
                        explained_variance: ev,
                    },
                ));
            }
        };
        if need_connectome {
            progress(CvModel::Connectome, f);
            let t0 = std::time::Instant::now();
            let a = fit_and_run(init.clone(), None, loaded, &train, obs_train.clone(), &cfg.fit)?;
            seconds[0] += t0.elapsed().as_secs_f64();
            let (pred, s) = score(obs, held, &a.select(Axis(2), &held_neurons))?;
            if let Some(p) = predicted.as_mut() {
                for (j, &c) in held.iter().enumerate() {
                    p.index_axis_mut(Axis(2), c).assign(&pred.index_axis(Axis(2), j));
                }
            }
            if wants(CvModel::Connectome) {
                push(CvModel::Connectome, &s);
            }
            if wants(CvModel::Shuffled) {
                let mut rng = ChaCha8Rng::seed_from_u64(seeds.shuffle());
                let mut perm: Vec<usize> = (0..n).collect();
                rand::seq::SliceRandom::shuffle(&mut perm[..], &mut rng);
                let shuffled: Vec<usize> = held_neurons.iter().map(|&i| perm[i]).collect();
                let (_, s) = score(obs, held, &a.select(Axis(2), &shuffled))?;
                push(CvModel::Shuffled, &s);
            }
        }
        if wants(CvModel::NoRecurrence) {
            progress(CvModel::NoRecurrence, f);
            let t0 = std::time::Instant::now();
            let mut nr = init.clone();
            crate::study::remove_recurrence(&mut nr);
            let a = fit_and_run(nr, None, loaded, &train, obs_train.clone(), &cfg.fit)?;
            seconds[2] += t0.elapsed().as_secs_f64();
            let (_, s) = score(obs, held, &a.select(Axis(2), &held_neurons))?;
            push(CvModel::NoRecurrence, &s);
        }
        if wants(CvModel::Unconstrained) {
            progress(CvModel::Unconstrained, f);
            let t0 = std::time::Instant::now();
            let mut un = init.clone();
            let mut rng = ChaCha8Rng::seed_from_u64(seeds.unconstrained_weights());
            un.coupling = random_connectivity(&un, &mut rng)?.build(un.coupling.backend());
            un.signs = vec![0; n];
            un.gap = None;
            let mut groups = cfg.fit.train.clone();
            if !groups.iter().any(|g| g == "w") {
                groups.push("w".into());
            }
            let a = fit_and_run(un, Some(groups), loaded, &train, obs_train.clone(), &cfg.fit)?;
            seconds[3] += t0.elapsed().as_secs_f64();
            let matched = best_matches(obs, held, &a, &train_neurons)?;
            let (_, s) = score(obs, held, &a.select(Axis(2), &matched))?;
            push(CvModel::Unconstrained, &s);
        }
    }
    // by model (in the configuration's order), then fold
    let mut ordered = Vec::with_capacity(scores.len());
    for k in &cfg.models {
        ordered.extend(scores.iter().filter(|(m, _)| m == k).map(|(_, s)| s.clone()));
    }
    let seconds = cfg
        .models
        .iter()
        .map(|&k| {
            let i = CvModel::ALL.iter().position(|&x| x == k).expect("a model");
            (k, if k == CvModel::Shuffled { seconds[0] } else { seconds[i] })
        })
        .collect();
    Ok(CvResult {
        scores: ordered,
        seconds,
        folds: folds
            .iter()
            .map(|cols| cols.iter().map(|&c| recorded[c]).collect())
            .collect(),
        predicted,
    })
}

/// One model's held-out scores in summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// The model's name.
    pub model: &'static str,
    /// Held-out neurons scored.
    pub neurons: usize,
    /// Median of the held-out correlations.
    pub median_corr: f64,
    /// Mean of the held-out correlations.
    pub mean_corr: f64,
    /// Spread over folds: the lowest and highest of the folds' median correlations.
    pub fold_median_corr_range: (f64, f64),
    /// Median explained variance (neurons whose signal varies).
    pub median_explained_variance: f64,
    /// Wall time of the model's fits, seconds.
    pub seconds: f64,
}

/// The median of the values that are not NaN (NaN if none).
fn median(v: &[f64]) -> f64 {
    crate::sweep::table::median(v.iter().copied().filter(|x| !x.is_nan()).collect())
}

impl CvResult {
    /// Each model's summary, in the order cross-validated.
    pub fn summary(&self) -> Vec<Summary> {
        self.seconds
            .iter()
            .map(|&(k, seconds)| {
                let of: Vec<&HeldOutScore> = self.scores.iter().filter(|s| s.model == k.name()).collect();
                let corr: Vec<f64> = of.iter().map(|s| s.corr).collect();
                let ev: Vec<f64> = of.iter().map(|s| s.explained_variance).collect();
                let fold_medians: Vec<f64> = (0..self.folds.len())
                    .map(|f| median(&of.iter().filter(|s| s.fold == f).map(|s| s.corr).collect::<Vec<_>>()))
                    .filter(|x| !x.is_nan())
                    .collect();
                Summary {
                    model: k.name(),
                    neurons: corr.len(),
                    median_corr: median(&corr),
                    mean_corr: corr.iter().sum::<f64>() / corr.len().max(1) as f64,
                    fold_median_corr_range: (
                        fold_medians.iter().copied().fold(f64::INFINITY, f64::min),
                        fold_medians.iter().copied().fold(f64::NEG_INFINITY, f64::max),
                    ),
                    median_explained_variance: median(&ev),
                    seconds,
                }
            })
            .collect()
    }
}
