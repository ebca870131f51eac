//! Simulation of a batch of trials: the forward pass.
//!
//! Trials are independent, so they are split into fixed-size chunks simulated in parallel
//! (rayon). The chunk size depends only on the number of trials, never on the number of
//! threads, and each trial's noise comes from its own random stream `(seed, trial)`: the same
//! seed gives bit-identical trajectories whatever the thread count.

use crate::error::{check_finite, check_shape};
use crate::kernels::{activate_row, fill_normals, matmul};
use crate::{Activation, Error, Model, Real, Result};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis, ShapeBuilder, s};
use rand::{RngExt, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
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
    /// Rate φ(x_t) (x_t = h_t + b with presynaptic gain, h_t otherwise), `B × T × N`.
    pub phi: Array3<F>,
    /// Slope φ′(x_t), `B × T × N` (kept for the backward pass).
    pub dphi: Array3<F>,
    /// Readout y, `B × T × n_out`.
    pub y: Array3<F>,
}

/// Trials per parallel chunk: a function of the batch size only (never of the thread count).
/// Two chunks for the usual batch sizes (32–60 trials); at least 8 trials so that each matrix
/// product has rows enough to be efficient, at most 32 so that the GEMM kernels stream `W`
/// without repacking it.
pub(crate) fn chunk_size(trials: usize) -> usize {
    trials.div_ceil(2).clamp(8, 32)
}

/// Per-neuron constants of a model, expanded once per call and shared by the forward and
/// backward passes (all vectors of length N).
pub(crate) struct NeuronConsts<F> {
    /// Euler factor dt/τ.
    pub alpha: Vec<F>,
    /// Gain on the output side (g⁺ for presynaptic gain, else 1).
    pub ga: Vec<F>,
    /// Gain on the input side (g⁺ for postsynaptic gain, else 1).
    pub gi: Vec<F>,
    /// Threshold shift inside φ (b for presynaptic gain, else 0).
    pub bx: Vec<F>,
    /// Additive input current (b for postsynaptic gain, else 0).
    pub bi: Vec<F>,
    /// Softplus smoothness.
    pub beta: Vec<F>,
    /// Time constants.
    pub tau: Vec<F>,
    /// 1 if φ depends on β (softplus), else 0.
    pub beta_on: F,
}

impl<F: Real> NeuronConsts<F> {
    pub fn of(m: &Model<F>) -> Self {
        let n = m.n();
        let p = &m.params;
        let gplus: Vec<F> = p.g.iter().map(|g| g.max(F::zero())).collect();
        let pre = m.gain == crate::GainPlacement::Presynaptic;
        let (ones, zeros) = (vec![F::one(); n], vec![F::zero(); n]);
        Self {
            alpha: p.tau.iter().map(|&t| m.dt / t).collect(),
            ga: if pre { gplus.clone() } else { ones.clone() },
            gi: if pre { ones } else { gplus },
            bx: if pre { p.b.to_vec() } else { zeros.clone() },
            bi: if pre { zeros } else { p.b.to_vec() },
            beta: (0..n).map(|i| p.beta.of(i)).collect(),
            tau: p.tau.to_vec(),
            beta_on: if m.activation.uses_beta() { F::one() } else { F::zero() },
        }
    }
}

/// Simulates a batch of trials.
pub fn simulate<F: Real>(model: &Model<F>, stim: &Stimulus<F>, opts: &SimOptions) -> Result<Trajectory<F>> {
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
    check_inputs(model, stim, opts)?;
    let (b, t, _) = stim.u.dim();
    let n = model.n();
    for arr in [&mut traj.h, &mut traj.a, &mut traj.z, &mut traj.phi, &mut traj.dphi] {
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
        .zip(traj.phi.axis_chunks_iter_mut(Axis(0), cs))
        .zip(traj.dphi.axis_chunks_iter_mut(Axis(0), cs))
        .zip(stim.u.axis_chunks_iter(Axis(0), cs))
        .enumerate()
        .collect();
    let results: Vec<Result<()>> = jobs
        .into_par_iter()
        .map(|(c, (((((h, a), z), phi), dphi), u))| {
            let first = c * cs;
            let h0 = stim.h0.as_ref().map(|h0| h0.slice(s![first..first + u.dim().0, ..]));
            run_chunk(model, &consts, u, h0, first, opts, ChunkMut { h, a, z, phi, dphi })
        })
        .collect();
    earliest_error(results)?;
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
    matmul(false, y2.view_mut(), a2, model.w_out.view());
    Ok(())
}

/// The chunks' results, or the earliest divergence (smallest step, then trial) whichever chunk
/// found it, so that the error does not depend on the thread count.
pub(crate) fn earliest_error<T>(results: Vec<Result<T>>) -> Result<Vec<T>> {
    let mut first_err: Option<Error> = None;
    let mut ok = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Ok(v) => ok.push(v),
            Err(e) => {
                let earlier = match (&first_err, &e) {
                    (None, _) => true,
                    (
                        Some(Error::Diverged {
                            step: s0, trial: t0, ..
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
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(ok),
    }
}

/// The checks every simulation makes first: model, stimulus and noise level.
pub(crate) fn check_inputs<F: Real>(model: &Model<F>, stim: &Stimulus<F>, opts: &SimOptions) -> Result<()> {
    model.validate()?;
    stim.validate(model)?;
    if !(opts.noise_std >= 0.0 && opts.noise_std.is_finite()) {
        return Err(Error::invalid(
            "noise_std",
            format!("= {}: must be finite and >= 0", opts.noise_std),
        ));
    }
    Ok(())
}

/// Mutable views of one chunk's stored trajectory (`Bc × T × N`, contiguous).
pub(crate) struct ChunkMut<'a, F> {
    pub h: ArrayViewMut3<'a, F>,
    pub a: ArrayViewMut3<'a, F>,
    pub z: ArrayViewMut3<'a, F>,
    pub phi: ArrayViewMut3<'a, F>,
    pub dphi: ArrayViewMut3<'a, F>,
}

/// Rows `(j, t)` for all `j` of a contiguous `Bc × T × N` block, as a `Bc × N` matrix view.
pub(crate) fn step_rows<F>(flat: &[F], bc: usize, steps: usize, n: usize, t: usize) -> ArrayView2<'_, F> {
    ArrayView2::from_shape((bc, n).strides((steps * n, 1)), &flat[t * n..]).expect("row block in bounds")
}

/// Mutable version of [`step_rows`].
pub(crate) fn step_rows_mut<F>(flat: &mut [F], bc: usize, steps: usize, n: usize, t: usize) -> ArrayViewMut2<'_, F> {
    ArrayViewMut2::from_shape((bc, n).strides((steps * n, 1)), &mut flat[t * n..]).expect("row block in bounds")
}

/// Simulates one chunk of trials through all time steps.
fn run_chunk<F: Real>(
    m: &Model<F>,
    k: &NeuronConsts<F>,
    u: ArrayView3<F>,
    h0: Option<ArrayView2<F>>,
    first_trial: usize,
    opts: &SimOptions,
    mut c: ChunkMut<F>,
) -> Result<()> {
    let (bc, steps, n) = c.h.dim();
    let mut rngs = noise_rngs(opts.seed, first_trial, bc);
    {
        let h =
            c.h.as_slice_mut()
                .expect("trial chunks of a standard-layout array are contiguous");
        for j in 0..bc {
            let row = &mut h[j * steps * n..j * steps * n + n];
            match &h0 {
                Some(h0) => row.iter_mut().zip(h0.row(j)).for_each(|(x, &v)| *x = v),
                None => row.iter_mut().zip(&m.params.h0).for_each(|(x, &v)| *x = v),
            }
        }
    }
    run_window(m, k, u, &mut rngs, first_trial, 0, opts, c)
}

/// The noise streams of trials `first..first + count`.
pub(crate) fn noise_rngs(seed: u64, first: usize, count: usize) -> Vec<NoiseRng> {
    (0..count).map(|j| noise_rng(seed, first + j)).collect()
}

/// Simulates a window of `S` steps of one chunk of trials: on entry row 0 of each trial's `h`
/// holds the state at global step `first_step`; on exit all `S` rows are filled (the last row's
/// `z` excepted) and `rngs` have drawn the window's noise, ready for the next window. `u` is
/// the window's inputs (`Bc × S × n_in`). Simulating `[0, T)` in one window or in several
/// (each starting from the previous one's last row) gives the same numbers.
#[allow(clippy::too_many_arguments)]
pub(crate) fn run_window<F: Real>(
    m: &Model<F>,
    k: &NeuronConsts<F>,
    u: ArrayView3<F>,
    rngs: &mut [NoiseRng],
    first_trial: usize,
    first_step: usize,
    opts: &SimOptions,
    c: ChunkMut<F>,
) -> Result<()> {
    let (bc, steps, n) = c.h.dim();
    let (h, a, z, phi, dphi) = (flat(c.h), flat(c.a), flat(c.z), flat(c.phi), flat(c.dphi));
    let sigma = F::lit(opts.noise_std);
    let noisy = opts.noise_std > 0.0;
    let (alpha, ga, gi, bx, bi, beta) = (&k.alpha[..], &k.ga[..], &k.gi[..], &k.bx[..], &k.bi[..], &k.beta[..]);
    let mut noise = vec![F::zero(); n];
    let mut bits = vec![0u32; 2 * n.div_ceil(2)];
    let mut zc = Array2::<F>::zeros((bc, n).f());
    // Gap-junction currents L h_t of the chunk's trials (unused without gap junctions).
    let mut lh = Array2::<F>::zeros((if m.gap.is_some() { bc } else { 0 }, n));
    // Rates at t = 0; thereafter each step's rates are computed right after its state, while
    // the row is still in cache.
    for j in 0..bc {
        let r = j * steps * n..j * steps * n + n;
        activate(
            m.activation,
            ga,
            bx,
            beta,
            &h[r.clone()],
            &mut phi[r.clone()],
            &mut dphi[r.clone()],
            &mut a[r],
        );
    }
    for t in 0..steps - 1 {
        // The product goes to a column-major scratch (what the GEMM kernels write without
        // transposing, so that W is never repacked), then into the trials' rows.
        m.coupling.forward(step_rows(a, bc, steps, n, t), zc.view_mut());
        if m.n_in() > 0 {
            matmul(true, zc.view_mut(), u.index_axis(Axis(1), t), m.w_in.view());
        }
        step_rows_mut(z, bc, steps, n, t).assign(&zc);
        if let Some(g) = &m.gap {
            g.laplacian(step_rows(h, bc, steps, n, t), lh.view_mut());
        }
        for j in 0..bc {
            let o = (j * steps + t) * n;
            let (now, next) = h[o..o + 2 * n].split_at_mut(n);
            let zr = &z[o..o + n];
            for i in 0..n {
                next[i] = now[i] + alpha[i] * (gi[i] * zr[i] + bi[i] - now[i]);
            }
            if m.gap.is_some() {
                // the gap-junction term −α ⊙ L h_t, only where there is one
                for (i, (x, &l)) in next.iter_mut().zip(lh.row(j)).enumerate() {
                    *x -= alpha[i] * l;
                }
            }
            if noisy {
                fill_noise(&mut rngs[j], &mut bits, &mut noise);
                for (x, &e) in next.iter_mut().zip(&noise) {
                    *x += sigma * e;
                }
            }
            // vectorisable all-finite test; locate the culprit only on failure
            if !next.iter().fold(true, |ok, v| ok & v.is_finite()) {
                let i = next.iter().position(|v| !v.is_finite()).unwrap_or(0);
                return Err(Error::Diverged {
                    step: first_step + t + 1,
                    trial: first_trial + j,
                    neuron: i,
                    value: next[i].as_f64(),
                });
            }
            let r = o + n..o + 2 * n;
            activate(
                m.activation,
                ga,
                bx,
                beta,
                next,
                &mut phi[r.clone()],
                &mut dphi[r.clone()],
                &mut a[r],
            );
        }
    }
    Ok(())
}

/// The noise generator: xoshiro256++ (fast; each draw takes one 32-bit word).
pub(crate) type NoiseRng = Xoshiro256PlusPlus;

/// SplitMix64 finaliser: a bijective scrambler of 64-bit words.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The noise stream of trial `trial` under seed `seed`: independent of how trials are chunked.
fn noise_rng(seed: u64, trial: usize) -> NoiseRng {
    NoiseRng::seed_from_u64(splitmix64(seed) ^ splitmix64(trial as u64 ^ 0x5851_f42d_4c95_7f2d))
}

/// Fills `noise` with standard normal draws from one trial's stream.
fn fill_noise<F: Real>(rng: &mut NoiseRng, bits: &mut [u32], noise: &mut [F]) {
    rng.fill(bits);
    fill_normals(bits, noise);
}

/// Rates, slopes and activity of one row: `phi = φ(h + bx)`, `dphi = φ′(h + bx)`, `a = ga ⊙ phi`.
#[allow(clippy::too_many_arguments)]
#[inline]
fn activate<F: Real>(
    act: Activation,
    ga: &[F],
    bx: &[F],
    beta: &[F],
    h: &[F],
    phi: &mut [F],
    dphi: &mut [F],
    a: &mut [F],
) {
    activate_row(act, h, bx, beta, phi, dphi);
    for ((ai, &p), &g) in a.iter_mut().zip(phi.iter()).zip(ga) {
        *ai = g * p;
    }
}

/// A contiguous 3-D view as a flat slice (trial chunks of a standard-layout array are).
fn flat<F>(v: ArrayViewMut3<'_, F>) -> &mut [F] {
    v.into_slice()
        .expect("trial chunks of a standard-layout array are contiguous")
}
