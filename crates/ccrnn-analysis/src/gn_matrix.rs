//! The Gauss–Newton matrix of the activity, `H = Σ_{trials, t} J_tᵀ J_t` with
//! `J_t = ∂a(t)/∂θ` (rows: the chosen neurons), built from forward-mode tangents along every
//! coordinate of θ, and its spectrum: stiff directions (large eigenvalues) are fixed by the
//! data, sloppy ones are not.

use crate::linalg::{sym_eigen, thin_svd};
use crate::{Error, Result};
use ccrnn_core::{GroupSet, Model, ParamGroup, Stimulus, tangents};
use ndarray::{Array1, Array2, ArrayView1, Axis};
use rayon::prelude::*;

/// Which entries of the sensitivities enter.
#[derive(Debug, Clone)]
pub struct GnOptions {
    /// Parameter groups of θ (paper: g and b).
    pub groups: GroupSet,
    /// Neurons whose activity rows enter (`None`: all; with M recorded neurons, those).
    pub rows: Option<Vec<usize>>,
    /// Use every `time_stride`-th step (1 = all).
    pub time_stride: usize,
    /// Skip the first steps (transient of the initial state).
    pub t_start: usize,
}

impl Default for GnOptions {
    fn default() -> Self {
        Self {
            groups: GroupSet::of(&[ParamGroup::Gain, ParamGroup::Bias]),
            rows: None,
            time_stride: 10,
            t_start: 0,
        }
    }
}

impl GnOptions {
    fn validate(&self, n: usize) -> Result<()> {
        if self.time_stride == 0 {
            return Err(Error::invalid("time_stride", "must be >= 1"));
        }
        if let Some(r) = &self.rows
            && let Some(&i) = r.iter().find(|&&i| i >= n)
        {
            return Err(Error::invalid("rows", format!("neuron {i} is not in 0..{n}")));
        }
        Ok(())
    }
    fn uses(&self, t: usize) -> bool {
        t >= self.t_start && (t - self.t_start).is_multiple_of(self.time_stride)
    }
}

/// Runs the tangents of every θ coordinate for each trial (in parallel over trials) and folds
/// `f(acc, t, δa)` over the used steps; partial results come back in trial order.
fn per_trial<T: Send>(
    model: &Model<f64>,
    stim: &Stimulus<f64>,
    opts: &GnOptions,
    init: impl Fn() -> T + Sync,
    f: impl Fn(&mut T, ndarray::ArrayView2<f64>) + Sync,
) -> Result<Vec<T>> {
    opts.validate(model.n())?;
    stim.validate(model)?;
    let p = model.theta_len(opts.groups);
    let dirs = Array2::<f64>::eye(p);
    (0..stim.trials())
        .into_par_iter()
        .map(|b| {
            let mut acc = init();
            tangents(model, &stim.select(&[b]), opts.groups, dirs.view(), &mut |_, t, da| {
                if opts.uses(t) {
                    match &opts.rows {
                        Some(r) => f(&mut acc, da.select(Axis(1), r).view()),
                        None => f(&mut acc, da),
                    }
                }
            })?;
            Ok(acc)
        })
        .collect()
}

/// `H` (`P × P`, P = θ length of `opts.groups`) on the noise-free rollouts of `stim`.
pub fn gauss_newton(model: &Model<f64>, stim: &Stimulus<f64>, opts: &GnOptions) -> Result<Array2<f64>> {
    let p = model.theta_len(opts.groups);
    let parts = per_trial(
        model,
        stim,
        opts,
        || Array2::<f64>::zeros((p, p)),
        |h, da| ccrnn_core::kernels::matmul(ccrnn_core::kernels::Write::Accumulate, h.view_mut(), da, da.t()),
    )?;
    let mut h = Array2::<f64>::zeros((p, p));
    for part in parts {
        h += &part;
    }
    Ok(h)
}

/// Each neuron's sensitivity block (its rows of `J_t` over trials and used steps), compressed
/// to its `k_max` leading directions: `C_i = diag(s) Vᵀ` (`k × P`, `C_iᵀ C_i ≈ J_iᵀ J_i`).
/// Directions below `1e-10 × s_max` of that neuron are dropped. The candidates of
/// [`greedy_order`](crate::greedy_order) for nonlinear networks.
pub fn neuron_blocks(
    model: &Model<f64>,
    stim: &Stimulus<f64>,
    opts: &GnOptions,
    k_max: usize,
) -> Result<Vec<Array2<f64>>> {
    let n = model.n();
    let p = model.theta_len(opts.groups);
    let rows: Vec<usize> = opts.rows.clone().unwrap_or_else(|| (0..n).collect());
    let used = (0..stim.steps()).filter(|&t| opts.uses(t)).count();
    let per_neuron = used * stim.trials();
    let bytes = rows.len() as f64 * per_neuron as f64 * p as f64 * 8.0;
    if bytes > 4e9 {
        return Err(Error::invalid(
            "time_stride",
            format!(
                "the sensitivity blocks would take {:.1} GB: use fewer trials or a larger stride",
                bytes / 1e9
            ),
        ));
    }
    // Per trial: for each neuron, its rows (used steps × P).
    let parts = per_trial(
        model,
        stim,
        opts,
        || vec![Vec::<f64>::new(); rows.len()],
        |acc, da| {
            for (k, col) in da.axis_iter(Axis(1)).enumerate() {
                acc[k].extend(col.iter());
            }
        },
    )?;
    rows.par_iter()
        .enumerate()
        .map(|(k, _)| {
            let mut flat = Vec::with_capacity(per_neuron * p);
            for part in &parts {
                flat.extend_from_slice(&part[k]);
            }
            let block = Array2::from_shape_vec((flat.len() / p, p), flat).expect("rows of length P");
            compress(block.view(), k_max)
        })
        .collect()
}

fn compress(block: ndarray::ArrayView2<f64>, k_max: usize) -> Result<Array2<f64>> {
    let (_, s, v) = thin_svd(block, "sensitivity block")?;
    let top = s.first().copied().unwrap_or(0.0);
    let k = s.iter().take(k_max).filter(|&&x| x > 1e-10 * top && x > 0.0).count();
    Ok(Array2::from_shape_fn((k, block.ncols()), |(r, c)| s[r] * v[(c, r)]))
}

/// Eigen-decomposition of a Gauss–Newton matrix, eigenvalues decreasing.
#[derive(Debug, Clone)]
pub struct Spectrum {
    /// Eigenvalues, decreasing (clipped at 0: H is positive semi-definite up to rounding).
    pub values: Array1<f64>,
    /// Eigenvectors as columns, matching `values`.
    pub vectors: Array2<f64>,
}

impl Spectrum {
    /// Decomposes `h`.
    pub fn of(h: &Array2<f64>) -> Result<Self> {
        let (values, vectors) = sym_eigen(h.view(), "Gauss–Newton spectrum")?;
        Ok(Self {
            values: values.mapv(|x| x.max(0.0)),
            vectors,
        })
    }

    /// Decades between the largest eigenvalue and the smallest one above `1e-14 λ_max`.
    pub fn decades(&self) -> f64 {
        let top = self.values[0];
        let low = self
            .values
            .iter()
            .copied()
            .filter(|&x| x > 1e-14 * top)
            .fold(f64::INFINITY, f64::min);
        (top / low).log10()
    }

    /// Number of leading eigenvalues holding a fraction `frac` of the trace: the number of
    /// parameter combinations the data constrain (an estimate of the recordings' worth needed).
    pub fn n_stiff(&self, frac: f64) -> usize {
        let total: f64 = self.values.sum();
        let mut acc = 0.0;
        for (k, &v) in self.values.iter().enumerate() {
            acc += v;
            if acc >= frac * total {
                return k + 1;
            }
        }
        self.values.len()
    }

    /// Components of a parameter error `e` along each eigenvector (`Vᵀ e`).
    pub fn project(&self, e: ArrayView1<f64>) -> Array1<f64> {
        self.vectors.t().dot(&e)
    }

    /// Fraction of the initial error `e0` removed in the end error `e1` along eigenvectors
    /// `range` (indices into the decreasing order): `1 − ‖V_rᵀ e1‖² / ‖V_rᵀ e0‖²`.
    pub fn removed_fraction(&self, e0: ArrayView1<f64>, e1: ArrayView1<f64>, range: std::ops::Range<usize>) -> f64 {
        let (p0, p1) = (self.project(e0), self.project(e1));
        let norm = |p: &Array1<f64>| p.slice(ndarray::s![range.clone()]).iter().map(|x| x * x).sum::<f64>();
        1.0 - norm(&p1) / norm(&p0)
    }
}
