//! Simulation of a batch of trials: the forward pass.
//!
//! Trials are independent, so they are split into fixed-size chunks simulated in parallel
//! (rayon). The chunk size depends only on the number of trials, never on the number of
//! threads, and each trial's noise comes from its own random stream `(seed, trial)`: the same
//! seed gives bit-identical trajectories whatever the thread count.

use crate::error::{check_finite, check_shape};
use crate::kernels::{THIN_DRIVE, Write, activate_row, add_drive, copy_transposed, matmul};
pub(crate) use crate::noise::NoiseStreams;
pub(crate) use crate::trajectory::ChunkMut;
use crate::trajectory::{Keep, RowsMut, Steps};
use crate::{Error, Model, Real, Result, Trajectory};
use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut3, Axis, ShapeBuilder, s};
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
    /// The same stimulus in another float type (f32 → f64 is exact; f64 → f32 rounds to
    /// nearest).
    pub fn cast<G: Real>(&self) -> Stimulus<G> {
        Stimulus {
            u: self.u.mapv(|x| G::lit(x.as_f64())),
            h0: self.h0.as_ref().map(|h| h.mapv(|x| G::lit(x.as_f64()))),
        }
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
    /// Every β is 1 (softplus then skips scaling by it, which would be exact).
    pub unit_beta: bool,
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
            unit_beta: (0..n).all(|i| p.beta.of(i) == F::one()),
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
    simulate_keep(model, stim, opts, Keep::ALL, None, traj)
}

/// Recorded neurons' activity gathered while simulating: `a[.., .., idx]` into `out`
/// (`B × T × M`, or one chunk's `Bc × T × M`, indexed by global step).
pub(crate) struct Gather<'a, F> {
    pub idx: &'a [usize],
    pub out: ArrayViewMut3<'a, F>,
}

/// Simulates into `traj`, storing for every step only the arrays in `keep` (the others are
/// left empty) and the readout only if `a` is kept; with `gather`, also copies the recorded
/// neurons' activity out of each step's row while it is in cache.
pub(crate) fn simulate_keep<F: Real>(
    model: &Model<F>,
    stim: &Stimulus<F>,
    opts: &SimOptions,
    keep: Keep,
    gather: Option<Gather<'_, F>>,
    traj: &mut Trajectory<F>,
) -> Result<()> {
    check_inputs(model, stim, opts)?;
    let (b, t, _) = stim.u.dim();
    let n = model.n();
    for (arr, kept) in traj.steps_mut().zip(keep).into_array() {
        let shape = if kept { (b, t, n) } else { (0, 0, 0) };
        if arr.dim() != shape {
            *arr = Array3::zeros(shape);
        }
    }
    let y_shape = if keep.a { (b, t, model.n_out()) } else { (0, 0, 0) };
    if traj.y.dim() != y_shape {
        traj.y = Array3::zeros(y_shape);
    }
    let consts = NeuronConsts::of(model);
    let cs = chunk_size(b);
    let chunks = b.div_ceil(cs);
    let (idx, mut gather_out) = match gather {
        Some(g) => (g.idx, Some(g.out)),
        None => (&[][..], None),
    };
    let gathers: Vec<Option<Gather<F>>> = match &mut gather_out {
        Some(out) => out
            .axis_chunks_iter_mut(Axis(0), cs)
            .map(|out| Some(Gather { idx, out }))
            .collect(),
        None => (0..chunks).map(|_| None).collect(),
    };
    let stored = traj.steps_mut().map(|x| stored_parts(x, cs, chunks)).transpose();
    let jobs: Vec<_> = stored
        .into_iter()
        .zip(stim.u.axis_chunks_iter(Axis(0), cs))
        .zip(gathers)
        .enumerate()
        .collect();
    // rings for the arrays not stored: two rows of h (now and next), one of the others
    let ring_rows = Steps {
        h: 2,
        ..Steps::splat(1)
    };
    let results: Vec<Result<()>> = jobs
        .into_par_iter()
        .map(|(c, ((parts, u), gather))| {
            let first = c * cs;
            let bc = u.dim().0;
            let mut rings = parts.zip(ring_rows).map(|(x, r)| Ring::new(x, (bc, r, n)));
            let h0 = stim.h0.as_ref().map(|h0| h0.slice(s![first..first + bc, ..]));
            run_chunk(
                model,
                &consts,
                u,
                h0,
                first,
                opts,
                rings.as_mut().map(|r| r.view_mut()),
                gather,
            )
        })
        .collect();
    earliest_error(results)?;
    if keep.a {
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
        matmul(Write::Overwrite, y2.view_mut(), a2, model.w_out.view());
    }
    Ok(())
}

/// The trial chunks of a stored array, or `None` per chunk for an array not stored (empty).
fn stored_parts<F>(x: &mut Array3<F>, cs: usize, chunks: usize) -> Vec<Option<ArrayViewMut3<'_, F>>> {
    if x.is_empty() {
        (0..chunks).map(|_| None).collect()
    } else {
        x.axis_chunks_iter_mut(Axis(0), cs).map(Some).collect()
    }
}

/// A chunk's array: its part of the stored trajectory, or a ring the job owns.
enum Ring<'a, F> {
    Stored(ArrayViewMut3<'a, F>),
    Own(Array3<F>),
}

impl<'a, F: Real> Ring<'a, F> {
    /// The stored part if there is one, else a ring of the given shape.
    fn new(stored: Option<ArrayViewMut3<'a, F>>, shape: (usize, usize, usize)) -> Self {
        match stored {
            Some(v) => Ring::Stored(v),
            None => Ring::Own(Array3::zeros(shape)),
        }
    }
    fn view_mut(&mut self) -> ArrayViewMut3<'_, F> {
        match self {
            Ring::Stored(v) => v.view_mut(),
            Ring::Own(x) => x.view_mut(),
        }
    }
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

/// Simulates one chunk of trials through all time steps.
#[allow(clippy::too_many_arguments)]
fn run_chunk<F: Real>(
    m: &Model<F>,
    k: &NeuronConsts<F>,
    u: ArrayView3<F>,
    h0: Option<ArrayView2<F>>,
    first_trial: usize,
    opts: &SimOptions,
    mut c: ChunkMut<F>,
    gather: Option<Gather<F>>,
) -> Result<()> {
    let bc = u.dim().0;
    let mut rngs = NoiseStreams::new(opts.seed, first_trial, bc);
    let n = m.n();
    let r = c.h.dim().1;
    let h = c.h.as_slice_mut().expect("trial chunks are contiguous");
    for j in 0..bc {
        let row = &mut h[j * r * n..j * r * n + n];
        match &h0 {
            Some(h0) => row.iter_mut().zip(h0.row(j)).for_each(|(x, &v)| *x = v),
            None => row.iter_mut().zip(&m.params.h0).for_each(|(x, &v)| *x = v),
        }
    }
    run_window(m, k, u, &mut rngs, first_trial, 0, opts, c, gather)
}

crate::kernels::simd::multiversion! {
    /// Simulates a window of `S` steps of one chunk of trials (`S` = the steps of `u`, the
    /// window's inputs, `Bc × S × n_in`): on entry row 0 of each trial's `h` holds the state at
    /// global step `first_step`; on exit all `S` rows are filled (the last row's `z` excepted) and
    /// `rngs` have drawn the window's noise, ready for the next window. Arrays of fewer than `S`
    /// rows are rings (see [`RowsMut`]): `h` needs two rows, the others one. Simulating `[0, T)`
    /// in one window or in several (each starting from the previous one's last row) gives the
    /// same numbers.
    pub(crate) fn run_window<F: Real>(
        m: &Model<F>,
        k: &NeuronConsts<F>,
        u: ArrayView3<F>,
        rngs: &mut NoiseStreams,
        first_trial: usize,
        first_step: usize,
        opts: &SimOptions,
        c: ChunkMut<F>,
        gather: Option<Gather<F>>,
    ) -> Result<()> {
        let (bc, steps, _) = u.dim();
        let n = m.n();
        let (mut h, mut z) = (RowsMut::of(c.h), RowsMut::of(c.z));
        let mut rates = Rates {
            a: RowsMut::of(c.a),
            phi: RowsMut::of(c.phi),
            dphi: RowsMut::of(c.dphi),
            gather: gather.map(|g| {
                let steps = g.out.dim().1;
                (
                    g.idx,
                    g.out.into_slice().expect("gathered activity is contiguous"),
                    steps,
                )
            }),
            first_step,
        };
        let sigma = F::lit(opts.noise_std);
        let noisy = opts.noise_std > 0.0;
        let mut noise = vec![F::zero(); if noisy { bc * n } else { 0 }];
        let mut zc = Array2::<F>::zeros((bc, n).f());
        // Gap-junction currents L h_t of the chunk's trials (unused without gap junctions).
        let mut lh = Array2::<F>::zeros((if m.gap.is_some() { bc } else { 0 }, n));
        for (j, out) in rates.rows(0).into_iter().enumerate() {
            fill_rates(m, k, h.row(j, 0), out);
        }
        // A stimulus of one or two channels is added to each trial's row once it is out of the
        // product; more channels go through GEMM.
        let thin = m.n_in() <= THIN_DRIVE;
        let w_in: Vec<Vec<F>> = if thin {
            m.w_in.rows().into_iter().map(|r| r.to_vec()).collect()
        } else {
            vec![]
        };
        for t in 0..steps - 1 {
            // The product goes to a column-major scratch (what the GEMM kernels write without
            // transposing, so that W is never repacked), then into the trials' rows.
            m.coupling.forward(rates.a.block(bc, t), zc.view_mut());
            if !thin {
                matmul(Write::Accumulate, zc.view_mut(), u.index_axis(Axis(1), t), m.w_in.view());
            }
            copy_transposed(z.block_mut(bc, t), zc.view());
            if thin {
                for j in 0..bc {
                    let mut drive = [F::zero(); THIN_DRIVE];
                    for (c, x) in drive[..m.n_in()].iter_mut().enumerate() {
                        *x = u[(j, t, c)];
                    }
                    add_drive(z.row_mut(j, t), &drive[..m.n_in()], &w_in);
                }
            }
            if let Some(g) = &m.gap {
                g.laplacian(h.block(bc, t), lh.view_mut());
            }
            if noisy {
                rngs.draw(n);
            }
            let rngs: &NoiseStreams = rngs;
            let lh_rows: Vec<&[F]> = match m.gap {
                Some(_) => lh.as_slice().expect("contiguous").chunks(n).collect(),
                None => vec![&[]; bc],
            };
            let noise_rows = per_trial(&mut noise, bc, n);
            let trials: Vec<TrialStep<F>> = h
                .now_next_rows(t)
                .zip(z.rows(t))
                .zip(lh_rows)
                .zip(noise_rows)
                .zip(rates.rows(t + 1))
                .map(|(((((now, next), z), lh), noise), out)| TrialStep {
                    now,
                    next,
                    z,
                    lh,
                    noise,
                    out,
                })
                .collect();
            let step = |(j, s): (usize, TrialStep<F>)| update_trial(m, k, rngs, j, sigma, s);
            // each trial's update is its own, so running them in parallel (for networks large
            // enough to gain from it) gives the same numbers as running them in turn
            let bad: Vec<Option<usize>> = if n >= PAR_TRIAL_MIN && bc > 1 {
                trials.into_par_iter().enumerate().map(step).collect()
            } else {
                trials.into_iter().enumerate().map(step).collect()
            };
            if let Some((j, i)) = bad.iter().enumerate().find_map(|(j, b)| b.map(|i| (j, i))) {
                return Err(Error::Diverged {
                    step: first_step + t + 1,
                    trial: first_trial + j,
                    neuron: i,
                    value: h.row(j, t + 1)[i].as_f64(),
                });
            }
        }
        Ok(())
    }
}

/// The arrays each step's state is turned into, and the recorded activity copied out of them.
struct Rates<'a, 'g, F> {
    a: RowsMut<'a, F>,
    phi: RowsMut<'a, F>,
    dphi: RowsMut<'a, F>,
    /// The recorded neurons, where their activity goes (a contiguous `Bc × T × M`), and `T`.
    gather: Option<(&'g [usize], &'g mut [F], usize)>,
    /// Global step of the window's row 0.
    first_step: usize,
}

impl<F: Real> Rates<'_, '_, F> {
    /// Every trial's rows at step `t` (window row), in trial order.
    fn rows(&mut self, t: usize) -> Vec<RateRows<'_, F>> {
        let bc = self.a.trials();
        let idx = self.gather.as_ref().map(|g| g.0).unwrap_or(&[]);
        let gathered = match &mut self.gather {
            Some((idx, out, steps)) if !idx.is_empty() => {
                let (m, o) = (idx.len(), self.first_step + t);
                out.chunks_mut(*steps * m).map(|x| &mut x[o * m..(o + 1) * m]).collect()
            }
            _ => per_trial(&mut [], bc, 0),
        };
        self.phi
            .rows_mut(t)
            .zip(self.dphi.rows_mut(t))
            .zip(self.a.rows_mut(t))
            .zip(gathered)
            .map(|(((phi, dphi), a), gathered)| RateRows {
                phi,
                dphi,
                a,
                idx,
                gathered,
            })
            .collect()
    }
}

/// Trials whose elementwise updates run in parallel when a chunk's network has at least this
/// many neurons (below it the per-step cost of splitting outweighs the gain; the numbers are
/// the same either way).
const PAR_TRIAL_MIN: usize = 8192;

/// A flat `Bc × N` buffer's rows, or `bc` empty slices for an empty buffer.
fn per_trial<F>(buf: &mut [F], bc: usize, n: usize) -> Vec<&mut [F]> {
    if buf.is_empty() {
        (0..bc).map(|_| <&mut [F]>::default()).collect()
    } else {
        buf.chunks_mut(n).collect()
    }
}

/// One trial's rates, slopes and activity at one step, and where its recorded neurons'
/// activity goes (`gathered`, empty without gathering).
struct RateRows<'a, F> {
    phi: &'a mut [F],
    dphi: &'a mut [F],
    a: &'a mut [F],
    idx: &'a [usize],
    gathered: &'a mut [F],
}

/// Rates, slopes and activity of one trial's row from its state `h`, computed right after the
/// state while the row is in cache, and the recorded neurons' activity.
#[inline(always)]
fn fill_rates<F: Real>(m: &Model<F>, k: &NeuronConsts<F>, h: &[F], out: RateRows<F>) {
    let RateRows {
        phi,
        dphi,
        a,
        idx,
        gathered,
    } = out;
    activate_row(m.activation, h, &k.bx, &k.beta, k.unit_beta, phi, dphi);
    for ((ai, &p), &g) in a.iter_mut().zip(phi.iter()).zip(&k.ga) {
        *ai = g * p;
    }
    for (o, &i) in gathered.iter_mut().zip(idx) {
        *o = a[i];
    }
}

/// One trial's rows for the step `t → t + 1`: the state now and next, the synaptic input `z_t`
/// (drive included), the gap-junction current `L h_t` and a buffer for the noise (both empty
/// when absent), and the rates of step `t + 1`.
struct TrialStep<'a, F> {
    now: &'a [F],
    next: &'a mut [F],
    z: &'a [F],
    lh: &'a [F],
    noise: &'a mut [F],
    out: RateRows<'a, F>,
}

crate::kernels::simd::multiversion! {
    /// Trial `j`'s step: `h_{t+1} = h_t + α ⊙ (g_i ⊙ z_t + b_i − h_t) − α ⊙ L h_t + σ ε`, then its
    /// rates. Returns the first neuron whose new state is not finite (its rates are then not
    /// computed).
    fn update_trial<F: Real>(
        m: &Model<F>,
        k: &NeuronConsts<F>,
        rngs: &NoiseStreams,
        j: usize,
        sigma: F,
        s: TrialStep<'_, F>,
    ) -> Option<usize> {
        let TrialStep { now, next, z, lh, noise, out } = s;
        let n = next.len();
        // equal-length slices, so that the loop runs without bounds checks and vectorises
        let (now, next, zr) = (&now[..n], &mut next[..n], &z[..n]);
        let (alpha, gi, bi) = (&k.alpha[..n], &k.gi[..n], &k.bi[..n]);
        for i in 0..n {
            next[i] = now[i] + alpha[i] * (gi[i] * zr[i] + bi[i] - now[i]);
        }
        if !lh.is_empty() {
            // the gap-junction term −α ⊙ L h_t, only where there is one
            for (i, (x, &l)) in next.iter_mut().zip(lh).enumerate() {
                *x -= alpha[i] * l;
            }
        }
        if !noise.is_empty() {
            rngs.normals(j, noise);
            for (x, &e) in next.iter_mut().zip(noise.iter()) {
                *x += sigma * e;
            }
        }
        // vectorisable all-finite test; locate the culprit only on failure
        if !next.iter().fold(true, |ok, v| ok & v.is_finite()) {
            return Some(next.iter().position(|v| !v.is_finite()).unwrap_or(0));
        }
        fill_rates(m, k, next, out);
        None
    }
}
