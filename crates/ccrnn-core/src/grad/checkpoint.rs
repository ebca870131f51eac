//! Checkpointed backpropagation through time: the forward pass keeps only the state `h` (and
//! each trial's noise generator) at every `every`-th step; the backward pass recomputes one
//! window of `every + 1` steps at a time from its checkpoint and sweeps it backwards with the
//! same adjoint code as [`super::bptt`].
//!
//! Memory falls from the plain pass's stored values (`k B T N`, `k` = 2 to 5 arrays, see
//! [`super::arrays_for_grad`]) to `5 B (every + 1) N` for the window plus
//! `B N T / every` for the checkpoints (least near `every ≈ √(5 T)`), at the price of a second
//! forward pass. The recomputed windows repeat the forward pass's arithmetic and noise exactly,
//! so the gradients equal plain backpropagation's (the weight and readout gradients are summed
//! window by window, so they agree to rounding).

use super::bptt::{BackState, Chunk, Partial, Window, combine, output_grad_chunks, zero_frozen};
use crate::kernels::{Write, matmul};
use crate::loss::output_loss;
use crate::simulate::{
    ChunkMut, Gather, NeuronConsts, NoiseStreams, check_inputs, chunk_size, earliest_error, run_window,
};
use crate::trajectory::Steps;
use crate::{GroupSet, Model, ParamGrad, ParamGroup, Real, Result, SimOptions, Stimulus, Target};
use ndarray::{Array2, Array3, ArrayView3, Axis, s};
use rayon::prelude::*;

/// The stored rows of one window of one chunk (`Bc × S × N` each).
type WindowBuf<F> = Steps<Array3<F>>;

impl<F: Real> WindowBuf<F> {
    fn shape(&mut self, dim: (usize, usize, usize)) {
        for x in self.as_mut().into_array() {
            if x.dim() != dim {
                *x = Array3::zeros(dim);
            }
        }
    }
    fn chunk_mut(&mut self) -> ChunkMut<'_, F> {
        self.as_mut().map(|x| x.view_mut())
    }
}

/// The windows of a trial of `t` steps: their first steps; window `w` holds `rows(w)` steps
/// and the next one starts on its last.
struct Windows {
    starts: Vec<usize>,
    every: usize,
    t: usize,
}

impl Windows {
    fn new(t: usize, every: usize) -> Self {
        let every = every.max(1);
        let mut starts = vec![0];
        while starts[starts.len() - 1] + every < t.saturating_sub(1) {
            starts.push(starts[starts.len() - 1] + every);
        }
        Self { starts, every, t }
    }
    fn rows(&self, w: usize) -> usize {
        (self.every + 1).min(self.t - self.starts[w])
    }
}

/// What the forward pass keeps of one chunk of trials.
struct Kept<F> {
    /// `h` at each window's first step (`Bc × N`).
    h: Vec<Array2<F>>,
    /// The trials' noise generators at each window's first step.
    rngs: Vec<NoiseStreams>,
    /// What the loss compares: the recorded neurons' activity or the readout, `Bc × T × ·`.
    pred: Array3<F>,
}

/// Everything a chunk's passes share.
struct Ctx<'a, F: Real> {
    m: &'a Model<F>,
    k: NeuronConsts<F>,
    stim: &'a Stimulus<F>,
    opts: &'a SimOptions,
    win: Windows,
    recorded: Option<&'a [usize]>,
    cs: usize,
}

impl<F: Real> Ctx<'_, F> {
    /// Recomputes window `w` of chunk `c` from its checkpoint into `buf`, gathering the
    /// recorded neurons' activity into `gather` if given.
    fn window(
        &self,
        c: usize,
        w: usize,
        h: &Array2<F>,
        rngs: &mut NoiseStreams,
        buf: &mut WindowBuf<F>,
        gather: Option<Gather<F>>,
    ) -> Result<()> {
        let first = c * self.cs;
        let bc = h.nrows();
        let (s0, rows) = (self.win.starts[w], self.win.rows(w));
        buf.shape((bc, rows, self.m.n()));
        buf.h.index_axis_mut(Axis(1), 0).assign(h);
        let u = self.stim.u.slice(s![first..first + bc, s0..s0 + rows, ..]);
        run_window(self.m, &self.k, u, rngs, first, s0, self.opts, buf.chunk_mut(), gather)
    }

    fn forward(&self, c: usize) -> Result<Kept<F>> {
        let (m, n, t) = (self.m, self.m.n(), self.win.t);
        let first = c * self.cs;
        let bc = self.cs.min(self.stim.trials() - first);
        let mut rngs = NoiseStreams::new(self.opts.seed, first, bc);
        let mut h = match &self.stim.h0 {
            Some(h0) => h0.slice(s![first..first + bc, ..]).to_owned(),
            None => Array2::from_shape_fn((bc, n), |(_, i)| m.params.h0[i]),
        };
        let width = self.recorded.map_or(m.n_out(), |r| r.len());
        let mut kept = Kept {
            h: Vec::new(),
            rngs: Vec::new(),
            pred: Array3::zeros((bc, t, width)),
        };
        let mut buf = WindowBuf::default();
        for w in 0..self.win.starts.len() {
            kept.h.push(h.clone());
            kept.rngs.push(rngs.clone());
            // the recorded neurons are gathered while simulating, the readout after the window
            let gather = self.recorded.map(|idx| Gather {
                idx,
                out: kept.pred.view_mut(),
            });
            self.window(c, w, &h, &mut rngs, &mut buf, gather)?;
            let (s0, rows) = (self.win.starts[w], self.win.rows(w));
            if self.recorded.is_none() {
                for j in 0..bc {
                    let a = buf.a.index_axis(Axis(0), j);
                    let p = kept.pred.slice_mut(s![j, s0..s0 + rows, ..]);
                    matmul(Write::Overwrite, p, a, m.w_out.view());
                }
            }
            h = buf.h.index_axis(Axis(1), rows - 1).to_owned();
        }
        Ok(kept)
    }

    /// The backward sweep of chunk `c`, window by window from the last; also `Σ_t a_tᵀ ȳ_t`
    /// when the readout is trained.
    fn backward(
        &self,
        c: usize,
        kept: &Kept<F>,
        grads: OutputGrads<F>,
        groups: GroupSet,
    ) -> Result<(Partial<F>, Array2<F>)> {
        let (m, t) = (self.m, self.win.t);
        let bc = kept.h[0].nrows();
        let w_out_t = m.w_out.t().as_standard_layout().into_owned();
        let rec = self.recorded.unwrap_or(&[]);
        let mut st = BackState::new(m, bc, m.n(), groups);
        let mut w_out = Array2::zeros(m.w_out.dim());
        let mut buf = WindowBuf::default();
        for w in (0..self.win.starts.len()).rev() {
            let mut rngs = kept.rngs[w].clone();
            self.window(c, w, &kept.h[w], &mut rngs, &mut buf, None)?;
            let (s0, rows) = (self.win.starts[w], self.win.rows(w));
            let end = if s0 + rows == t { t } else { s0 + rows - 1 };
            let chunk = Chunk {
                stored: buf.as_ref().map(|x| x.view()),
                act_bar: grads.act,
                y_bar: grads.y,
            };
            super::bptt::back_window(
                &mut st,
                m,
                &self.k,
                rec,
                &w_out_t,
                &chunk,
                Window { t0: s0, end, total: t },
            );
            if grads.want_w_out
                && let Some(yb) = grads.y
            {
                for j in 0..bc {
                    let a = buf.a.slice(s![j, 0..end - s0, ..]);
                    matmul(Write::Accumulate, w_out.view_mut(), a.t(), yb.slice(s![j, s0..end, ..]));
                }
            }
        }
        Ok((st.finish(), w_out))
    }
}

/// One chunk's output gradients (indexed by global step).
#[derive(Clone, Copy)]
struct OutputGrads<'a, F> {
    act: Option<ArrayView3<'a, F>>,
    y: Option<ArrayView3<'a, F>>,
    want_w_out: bool,
}

/// Like [`super::loss_and_grad`] (simulate, MSE against `target`, backpropagate), storing only
/// every `every`-th state and recomputing the rest window by window. `every ≥ T − 1` keeps
/// everything in one window (plain backpropagation with a second forward pass).
pub fn loss_and_grad_checkpointed<F: Real>(
    model: &Model<F>,
    stim: &Stimulus<F>,
    target: &Target<F>,
    opts: &SimOptions,
    groups: GroupSet,
    every: usize,
) -> Result<(F, ParamGrad<F>)> {
    check_inputs(model, stim, opts)?;
    let (b, t, _) = stim.u.dim();
    target.validate(model, b, t)?;
    let cs = chunk_size(b);
    let ctx = Ctx {
        m: model,
        k: NeuronConsts::of(model),
        stim,
        opts,
        win: Windows::new(t, every),
        recorded: target.recorded().map(|r| r.indices()),
        cs,
    };
    let n_chunks = b.div_ceil(cs);
    let kept = earliest_error((0..n_chunks).into_par_iter().map(|c| ctx.forward(c)).collect())?;
    let views: Vec<_> = kept.iter().map(|k| k.pred.view()).collect();
    let pred = ndarray::concatenate(Axis(0), &views).expect("chunks share T and width");
    let (l, out_grad) = output_loss(pred, target)?;
    let want_w = groups.contains(ParamGroup::W);
    let act = output_grad_chunks(out_grad.activity.as_ref().map(|s| &s.1), b, cs);
    let y = output_grad_chunks(out_grad.y_bar.as_ref(), b, cs);
    let want_w_out = groups.contains(ParamGroup::WOut);
    let results: Vec<Result<(Partial<F>, Array2<F>)>> = (0..n_chunks)
        .into_par_iter()
        .map(|c| {
            let grads = OutputGrads {
                act: act[c],
                y: y[c],
                want_w_out,
            };
            ctx.backward(c, &kept[c], grads, groups)
        })
        .collect();
    let (partials, w_outs): (Vec<_>, Vec<_>) = earliest_error(results)?.into_iter().unzip();
    let mut out = combine(model, partials, want_w);
    for w in w_outs {
        out.w_out += &w;
    }
    zero_frozen(&mut out, groups);
    out.observation = out_grad.observation;
    Ok((l, out.for_stimulus(stim)))
}

/// Whether to checkpoint a batch of `b` trials of `t` steps of an `n`-neuron network whose
/// plain backpropagation stores `arrays` values per trial, step and neuron (see
/// [`arrays_for_grad`](super::arrays_for_grad)), under a memory budget of `budget` bytes: `None` when the stored
/// trajectory (`arrays B T N` values) fits, else the interval `√(5 T)` that needs least memory
/// (windows store all five arrays: `(5 (every + 1) + T / every) B N` values; recomputation
/// costs one forward pass whatever the interval).
pub fn checkpoint_interval(
    b: usize,
    t: usize,
    n: usize,
    arrays: usize,
    bytes_per_value: usize,
    budget: usize,
) -> Option<usize> {
    if arrays * t * b * n * bytes_per_value <= budget {
        return None;
    }
    Some(((5 * t) as f64).sqrt().round().max(1.0) as usize)
}
