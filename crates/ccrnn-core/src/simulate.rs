//! Simulation of a batch of trials: the forward pass.
//!
//! Trials are independent, so they are split into fixed-size chunks simulated in parallel
//! (rayon). The chunk size depends only on the number of trials, never on the number of
//! threads, and each trial's noise comes from its own random stream `(seed, trial)`: the same
//! seed gives bit-identical trajectories whatever the thread count.

use crate::error::{check_finite, check_shape};
use crate::{Error, Model, Real, Result};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut3, Axis, Zip, s};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use rayon::prelude::*;

/// What drives a batch of trials: inputs `u` (`B × T × n_in`) and optionally one initial state
/// per trial (`B × N`, overriding the model's `h0`). `T` is the number of time steps simulated.
#[derive(Debug, Clone, PartialEq)]
pub struct Stimulus<F> {
    /// Inputs, `B × T × n_in` (`n_in` may be 0).
    pub u: Array3<F>,
    /// Per-trial initial states, `B × N`; `None` uses the model's `h0` for every trial.
    pub h0: Option<Array2<F>>,
}

impl<F: Real> Stimulus<F> {
    /// A stimulus from inputs only.
    pub fn new(u: Array3<F>) -> Self {
        Self { u, h0: None }
    }
    /// No input: `trials` trials of `steps` steps.
    pub fn silent(trials: usize, steps: usize) -> Self {
        Self::new(Array3::zeros((trials, steps, 0)))
    }
    /// Number of trials B.
    pub fn trials(&self) -> usize {
        self.u.shape()[0]
    }
    /// Number of time steps T.
    pub fn steps(&self) -> usize {
        self.u.shape()[1]
    }
    /// The sub-batch of the given trials (in the given order).
    pub fn select(&self, trials: &[usize]) -> Self {
        Self {
            u: self.u.select(Axis(0), trials),
            h0: self.h0.as_ref().map(|h| h.select(Axis(0), trials)),
        }
    }
    /// Checks shapes against a model and finiteness of the values.
    pub fn validate(&self, model: &Model<F>) -> Result<()> {
        let (b, t, k) = self.u.dim();
        check_shape("inputs", &[b, t, model.n_in()], &[b, t, k])?;
        if b == 0 || t == 0 {
            return Err(Error::invalid(
                "inputs",
                format!("need at least one trial and one step, got {b} × {t}"),
            ));
        }
        check_finite("inputs", self.u.iter())?;
        if let Some(h0) = &self.h0 {
            check_shape("h0 (per trial)", &[b, model.n()], h0.shape())?;
            check_finite("h0 (per trial)", h0.iter())?;
        }
        Ok(())
    }
}

/// Simulation settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimOptions {
    /// Process-noise standard deviation σ, added to `h` each step (not scaled by dt/τ).
    pub noise_std: f64,
    /// Seed of the noise; trial `k` of a batch uses stream `k` of this seed.
    pub seed: u64,
}

impl SimOptions {
    /// No noise.
    pub fn noiseless() -> Self {
        Self {
            noise_std: 0.0,
            seed: 0,
        }
    }
    /// Noise σ with a seed.
    pub fn noisy(noise_std: f64, seed: u64) -> Self {
        Self { noise_std, seed }
    }
}

/// Everything a batch of trials did, all `B × T × ·`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Trajectory<F> {
    /// State h, `B × T × N`.
    pub h: Array3<F>,
    /// Activity a (what a recording sees), `B × T × N`.
    pub a: Array3<F>,
    /// Synaptic plus external input `z_t = W a_t + u_t W_in`, `B × T × N` (last step zero).
    pub z: Array3<F>,
    /// Readout y, `B × T × n_out`.
    pub y: Array3<F>,
}

/// Trials per parallel chunk: a function of the batch size only (never of the thread count).
pub(crate) fn chunk_size(trials: usize) -> usize {
    trials.div_ceil(4).max(8)
}

/// Per-neuron constants of a model, expanded once per call.
pub(crate) struct NeuronConsts<F> {
    pub alpha: Array1<F>,
    /// Gain on the output side (g⁺ for presynaptic gain, else 1).
    pub ga: Array1<F>,
    /// Gain on the input side (g⁺ for postsynaptic gain, else 1).
    pub gi: Array1<F>,
    /// Threshold shift inside φ (b for presynaptic gain, else 0).
    pub bx: Array1<F>,
    /// Additive input current (b for postsynaptic gain, else 0).
    pub bi: Array1<F>,
    pub beta: Array1<F>,
}

impl<F: Real> NeuronConsts<F> {
    pub fn of(m: &Model<F>) -> Self {
        let n = m.n();
        let p = &m.params;
        let gplus = p.g.mapv(|g| g.max(F::zero()));
        let ones = Array1::ones(n);
        let zeros = Array1::zeros(n);
        let pre = m.gain == crate::GainPlacement::Presynaptic;
        Self {
            alpha: p.tau.mapv(|t| m.dt / t),
            ga: if pre { gplus.clone() } else { ones.clone() },
            gi: if pre { ones } else { gplus },
            bx: if pre { p.b.clone() } else { zeros.clone() },
            bi: if pre { zeros } else { p.b.clone() },
            beta: Array1::from_shape_fn(n, |i| p.beta.of(i)),
        }
    }
}

/// Simulates a batch of trials.
pub fn simulate<F: Real>(
    model: &Model<F>,
    stim: &Stimulus<F>,
    opts: &SimOptions,
) -> Result<Trajectory<F>> {
    let mut traj = Trajectory::default();
    simulate_into(model, stim, opts, &mut traj)?;
    Ok(traj)
}

/// Simulates into `traj`, reusing its arrays when their shapes already fit (no allocation).
pub fn simulate_into<F: Real>(
    model: &Model<F>,
    stim: &Stimulus<F>,
    opts: &SimOptions,
    traj: &mut Trajectory<F>,
) -> Result<()> {
    model.validate()?;
    stim.validate(model)?;
    if !(opts.noise_std >= 0.0 && opts.noise_std.is_finite()) {
        return Err(Error::invalid(
            "noise_std",
            format!("= {}: must be finite and >= 0", opts.noise_std),
        ));
    }
    let (b, t, _) = stim.u.dim();
    let n = model.n();
    for arr in [&mut traj.h, &mut traj.a, &mut traj.z] {
        if arr.dim() != (b, t, n) {
            *arr = Array3::zeros((b, t, n));
        }
    }
    if traj.y.dim() != (b, t, model.n_out()) {
        traj.y = Array3::zeros((b, t, model.n_out()));
    }
    let consts = NeuronConsts::of(model);
    let cs = chunk_size(b);
    let jobs: Vec<_> = traj
        .h
        .axis_chunks_iter_mut(Axis(0), cs)
        .zip(traj.a.axis_chunks_iter_mut(Axis(0), cs))
        .zip(traj.z.axis_chunks_iter_mut(Axis(0), cs))
        .zip(stim.u.axis_chunks_iter(Axis(0), cs))
        .enumerate()
        .collect();
    let results: Vec<Result<()>> = jobs
        .into_par_iter()
        .map(|(c, (((h, a), z), u))| {
            let first = c * cs;
            let h0 = stim
                .h0
                .as_ref()
                .map(|h0| h0.slice(s![first..first + u.dim().0, ..]));
            run_chunk(model, &consts, u, h0, first, opts, h, a, z)
        })
        .collect();
    // Report the earliest divergence (smallest step, then trial), whichever chunk found it.
    let mut first_err: Option<Error> = None;
    for r in results {
        if let Err(e) = r {
            let earlier = match (&first_err, &e) {
                (None, _) => true,
                (
                    Some(Error::Diverged {
                        step: s0,
                        trial: t0,
                        ..
                    }),
                    Error::Diverged { step, trial, .. },
                ) => (step, trial) < (s0, t0),
                _ => false,
            };
            if earlier {
                first_err = Some(e);
            }
        }
    }
    if let Some(e) = first_err {
        return Err(e);
    }
    let a2 = traj
        .a
        .view()
        .into_shape_with_order((b * t, n))
        .expect("a is contiguous");
    let mut y2 = traj
        .y
        .view_mut()
        .into_shape_with_order((b * t, model.n_out()))
        .expect("y is contiguous");
    general_mat_mul(F::one(), &a2, &model.w_out, F::zero(), &mut y2);
    Ok(())
}

/// Simulates one chunk of trials through all time steps.
#[allow(clippy::too_many_arguments)]
fn run_chunk<F: Real>(
    m: &Model<F>,
    k: &NeuronConsts<F>,
    u: ArrayView3<F>,
    h0: Option<ArrayView2<F>>,
    first_trial: usize,
    opts: &SimOptions,
    mut h: ArrayViewMut3<F>,
    mut a: ArrayViewMut3<F>,
    mut z: ArrayViewMut3<F>,
) -> Result<()> {
    let (bc, steps, _) = h.dim();
    let act = m.activation;
    let sigma = opts.noise_std;
    let noisy = sigma > 0.0;
    let mut rngs: Vec<ChaCha8Rng> = (0..bc)
        .map(|j| {
            let mut r = ChaCha8Rng::seed_from_u64(opts.seed);
            r.set_stream((first_trial + j) as u64);
            r
        })
        .collect();
    match h0 {
        Some(h0) => h.index_axis_mut(Axis(1), 0).assign(&h0),
        None => h
            .index_axis_mut(Axis(1), 0)
            .assign(&m.params.h0.view().insert_axis(Axis(0))),
    }
    for t in 0..steps {
        // a_t = ga ⊙ φ(h_t + bx)
        Zip::from(a.index_axis_mut(Axis(1), t).rows_mut())
            .and(h.index_axis(Axis(1), t).rows())
            .for_each(|ar, hr| {
                Zip::from(ar)
                    .and(hr)
                    .and(&k.bx)
                    .and(&k.ga)
                    .and(&k.beta)
                    .for_each(|a, &h, &bx, &ga, &be| *a = ga * act.phi(h + bx, be));
            });
        if t + 1 == steps {
            break;
        }
        let mut zt = z.index_axis_mut(Axis(1), t);
        m.coupling.forward(a.index_axis(Axis(1), t), zt.view_mut());
        if m.n_in() > 0 {
            general_mat_mul(
                F::one(),
                &u.index_axis(Axis(1), t),
                &m.w_in,
                F::one(),
                &mut zt,
            );
        }
        let (h_now, mut h_next) = h.multi_slice_mut((s![.., t, ..], s![.., t + 1, ..]));
        for j in 0..bc {
            let mut hn = h_next.row_mut(j);
            Zip::from(&mut hn)
                .and(h_now.row(j))
                .and(zt.row(j))
                .and(&k.alpha)
                .and(&k.gi)
                .and(&k.bi)
                .for_each(|hn, &h, &z, &al, &gi, &bi| *hn = h + al * (gi * z + bi - h));
            if noisy {
                let rng = &mut rngs[j];
                for v in hn.iter_mut() {
                    let xi: f64 = StandardNormal.sample(rng);
                    *v = *v + F::lit(sigma * xi);
                }
            }
            if let Some(i) = hn.iter().position(|v| !v.is_finite()) {
                return Err(Error::Diverged {
                    step: t + 1,
                    trial: first_trial + j,
                    neuron: i,
                    value: hn[i].as_f64(),
                });
            }
        }
    }
    Ok(())
}
