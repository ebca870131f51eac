//! Scores of a student against its teacher (SCIENCE.md §6), on noise-free rollouts.

use ccrnn_core::{Model, NeuronSet, Real, Result, SimOptions, Stimulus, Trajectory, simulate};
use ndarray::{Array3, Axis};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

/// Errors of a student, recorded and unrecorded neurons separately. Recorded values are NaN
/// for a readout-only student (M = 0).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scores {
    /// Number of recorded neurons (0: fitted to the readout only).
    pub m: usize,
    /// MSE of the recorded neurons' activity.
    pub recorded_mse: f64,
    /// MSE of the unrecorded neurons' activity.
    pub unrecorded_mse: f64,
    /// 1 − mean |ρ| over recorded neurons.
    pub recorded_corr_err: f64,
    /// 1 − mean |ρ| over unrecorded neurons.
    pub unrecorded_corr_err: f64,
    /// MSE of the readout against the teacher's readout.
    pub readout_mse: f64,
    /// RMS over neurons of g⁺_student − g⁺_teacher.
    pub gain_rmse: f64,
    /// RMS over neurons of b_student − b_teacher.
    pub bias_rmse: f64,
    /// Recorded neurons the student fits poorly: 1 − ρ > [`POOR_FIT`] between its trace and the
    /// teacher's (a student neuron that stays constant counts as ρ = 0), where the teacher's
    /// trace varies (SD above [`ACTIVE_SD`] of the median recorded neuron's).
    pub poorly_fitted: Vec<usize>,
}

/// The 1 − ρ above which a recorded neuron counts as poorly fitted.
pub const POOR_FIT: f64 = 0.5;
/// A teacher neuron whose trace's SD is below this fraction of the median recorded neuron's
/// is taken as silent (any fit of it is as good as any other).
pub const ACTIVE_SD: f64 = 1e-3;

/// The chance level: the same errors between the teacher and the teacher with neuron labels
/// shuffled, averaged over random permutations.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Baseline {
    /// Activity MSE with shuffled labels.
    pub shuffle_mse: f64,
    /// 1 − mean |ρ| with shuffled labels.
    pub shuffle_corr_err: f64,
    /// Gain RMS error with shuffled labels.
    pub shuffle_gain_rmse: f64,
    /// Bias RMS error with shuffled labels.
    pub shuffle_bias_rmse: f64,
}

/// Mean squared difference over columns `cols` (pairs `(i in x, j in y)`).
fn mse_pairs<F: Real>(x: &Array3<F>, y: &Array3<F>, pairs: &[(usize, usize)]) -> f64 {
    if pairs.is_empty() {
        return f64::NAN;
    }
    let (b, t, _) = x.dim();
    let mut s = 0.0;
    for bb in 0..b {
        for tt in 0..t {
            for &(i, j) in pairs {
                let d = x[(bb, tt, i)].as_f64() - y[(bb, tt, j)].as_f64();
                s += d * d;
            }
        }
    }
    s / (b * t * pairs.len()) as f64
}

/// Pearson correlation of two traces; `None` if either is constant.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len() as f64;
    let mx = x.iter().sum::<f64>() / n;
    let my = y.iter().sum::<f64>() / n;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (da, db) = (a - mx, b - my);
        sxy += da * db;
        sxx += da * da;
        syy += db * db;
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    Some(sxy / (sxx * syy).sqrt())
}

fn trace<F: Real>(x: &Array3<F>, i: usize) -> Vec<f64> {
    x.index_axis(Axis(2), i).iter().map(|v| v.as_f64()).collect()
}

/// 1 − mean |ρ| over pairs; pairs where either trace is constant are left out (a silent neuron
/// has no correlation). NaN if no pair is left.
fn corr_err_pairs<F: Real>(x: &Array3<F>, y: &Array3<F>, pairs: &[(usize, usize)]) -> f64 {
    let rhos: Vec<f64> = pairs
        .iter()
        .filter_map(|&(i, j)| pearson(&trace(x, i), &trace(y, j)))
        .collect();
    if rhos.is_empty() {
        return f64::NAN;
    }
    1.0 - rhos.iter().map(|r| r.abs()).sum::<f64>() / rhos.len() as f64
}

fn sd(x: &[f64]) -> f64 {
    let n = x.len().max(1) as f64;
    let m = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / n).sqrt()
}

/// How well one recorded neuron is fitted: its trace in the student against the data's.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct NeuronFit {
    /// The neuron (model index).
    pub neuron: usize,
    /// Mean squared difference of the traces.
    pub mse: f64,
    /// 1 − ρ (Pearson, signed) of the traces; a student neuron that stays constant counts as
    /// ρ = 0, so 1.
    pub corr_err: f64,
    /// SD of the data's trace (over trials and steps).
    pub data_sd: f64,
    /// 1 − ρ > [`POOR_FIT`] where the data's trace varies (SD above [`ACTIVE_SD`] of the
    /// median over the neurons compared).
    pub poor: bool,
}

/// Each recorded neuron's fit: `pairs` of (column in `student`, column in `data`), the first
/// naming the neuron. Both arrays are trials × steps × columns; NaN entries of `data`
/// (missing values) are left out.
pub fn neuron_fits<F: Real>(student: &Array3<F>, data: &Array3<F>, pairs: &[(usize, usize)]) -> Vec<NeuronFit> {
    let fits: Vec<NeuronFit> = pairs
        .iter()
        .map(|&(i, j)| {
            // entries missing from the data (NaN) are left out of both traces
            let (s, t): (Vec<f64>, Vec<f64>) = trace(student, i)
                .into_iter()
                .zip(trace(data, j))
                .filter(|(_, t)| !t.is_nan())
                .unzip();
            NeuronFit {
                neuron: i,
                mse: s.iter().zip(&t).map(|(a, b)| (a - b) * (a - b)).sum::<f64>() / s.len().max(1) as f64,
                corr_err: 1.0 - pearson(&s, &t).unwrap_or(0.0),
                data_sd: sd(&t),
                poor: false,
            }
        })
        .collect();
    let mut sds: Vec<f64> = fits.iter().map(|f| f.data_sd).collect();
    sds.sort_by(f64::total_cmp);
    let floor = ACTIVE_SD * sds.get(sds.len() / 2).copied().unwrap_or(0.0);
    fits.into_iter()
        .map(|f| NeuronFit {
            poor: f.data_sd > floor && f.corr_err > POOR_FIT,
            ..f
        })
        .collect()
}

/// The recorded neurons (`pairs` of student and teacher columns) that `student` fits poorly
/// (see [`Scores::poorly_fitted`]).
fn poorly_fitted<F: Real>(student: &Array3<F>, teacher: &Array3<F>, pairs: &[(usize, usize)]) -> Vec<usize> {
    neuron_fits(student, teacher, pairs)
        .into_iter()
        .filter(|f| f.poor)
        .map(|f| f.neuron)
        .collect()
}

fn rms(v: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = v.fold((0.0, 0usize), |(s, n), x| (s + x * x, n + 1));
    (s / n.max(1) as f64).sqrt()
}

/// Scores `student` against `teacher` on `stim` (noise-free rollouts). `reference` is the
/// teacher's noise-free trajectory on `stim` (simulate it once and reuse it across students).
pub fn evaluate<F: Real>(
    teacher: &Model<F>,
    reference: &Trajectory<F>,
    student: &Model<F>,
    stim: &Stimulus<F>,
    recorded: &NeuronSet,
) -> Result<Scores> {
    let s = simulate(student, stim, &SimOptions::noiseless())?;
    let n = teacher.n();
    let rec: Vec<(usize, usize)> = recorded.indices().iter().map(|&i| (i, i)).collect();
    let unrec: Vec<(usize, usize)> = recorded.complement(n).indices().iter().map(|&i| (i, i)).collect();
    let gp = |m: &Model<F>, i: usize| m.params.g[i].max(F::zero()).as_f64();
    let ydiff = &s.y - &reference.y;
    Ok(Scores {
        m: recorded.len(),
        recorded_mse: mse_pairs(&s.a, &reference.a, &rec),
        unrecorded_mse: mse_pairs(&s.a, &reference.a, &unrec),
        recorded_corr_err: corr_err_pairs(&s.a, &reference.a, &rec),
        unrecorded_corr_err: corr_err_pairs(&s.a, &reference.a, &unrec),
        readout_mse: ydiff.iter().map(|d| d.as_f64().powi(2)).sum::<f64>() / ydiff.len().max(1) as f64,
        gain_rmse: rms((0..n).map(|i| gp(student, i) - gp(teacher, i))),
        bias_rmse: rms((0..n).map(|i| (student.params.b[i] - teacher.params.b[i]).as_f64())),
        poorly_fitted: poorly_fitted(&s.a, &reference.a, &rec),
    })
}

/// The shuffled-label baseline over the neurons in `neurons` (usually the unrecorded ones),
/// averaged over `n_perm` random permutations of all neuron labels.
pub fn shuffle_baseline<F: Real>(
    teacher: &Model<F>,
    reference: &Trajectory<F>,
    neurons: &NeuronSet,
    n_perm: usize,
    seed: u64,
) -> Baseline {
    let n = teacher.n();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut mse, mut corr, mut gr, mut br) = (0.0, 0.0, 0.0, 0.0);
    let gp = |i: usize| teacher.params.g[i].max(F::zero()).as_f64();
    for _ in 0..n_perm {
        let mut perm: Vec<usize> = (0..n).collect();
        perm.shuffle(&mut rng);
        let pairs: Vec<(usize, usize)> = neurons.indices().iter().map(|&i| (i, perm[i])).collect();
        mse += mse_pairs(&reference.a, &reference.a, &pairs);
        corr += corr_err_pairs(&reference.a, &reference.a, &pairs);
        gr += rms((0..n).map(|i| gp(i) - gp(perm[i])));
        br += rms((0..n).map(|i| (teacher.params.b[i] - teacher.params.b[perm[i]]).as_f64()));
    }
    let k = n_perm.max(1) as f64;
    Baseline {
        shuffle_mse: mse / k,
        shuffle_corr_err: corr / k,
        shuffle_gain_rmse: gr / k,
        shuffle_bias_rmse: br / k,
    }
}
