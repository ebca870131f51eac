//! Backpropagation through time, by hand.
//!
//! With x_t = h_t + b_x, a_t = g_a ⊙ φ(x_t) and h_{t+1} = (1 − α) h_t + α (g_i ⊙ z_t + b_i),
//! z_t = W a_t + u_t W_in (g_a, b_x, g_i, b_i as in [`crate::GainPlacement`]), the adjoints run
//! backwards from t = T − 1:
//!
//! ```text
//! ā_t = ∂L/∂a_t + Wᵀ d_{t+1},        d_{t+1} = g_i ⊙ α ⊙ h̄_{t+1}
//! h̄_t = (1 − α) ⊙ h̄_{t+1} + ā_t ⊙ g_a ⊙ φ′(x_t) − L (α ⊙ h̄_{t+1})
//! ```
//!
//! (the last term only with gap junctions, whose Laplacian `L` is symmetric; see
//! [`crate::gap`]).
//!
//! and the parameter gradients are sums over trials and steps of local terms (see the code).
//! Trials are processed in the same fixed chunks as the forward pass and the partial sums are
//! added in chunk order, so the result does not depend on the thread count.

use crate::kernels::{Write, copy_transposed, matmul, prefetch};
use crate::simulate::{NeuronConsts, chunk_size};
use crate::trajectory::{Keep, Steps, chunk_views, step_rows};
use crate::{Beta, GainPlacement, GroupSet, Model, OutputGrad, ParamGrad, ParamGroup, Real, Result, Trajectory};
use ndarray::{Array1, Array2, Array3, ArrayView2, ArrayView3, Axis, ShapeBuilder, s};
use rayon::prelude::*;

/// Per-chunk partial sums.
pub(crate) struct Partial<F> {
    g: Array1<F>,
    b: Array1<F>,
    tau: Array1<F>,
    beta: Array1<F>,
    h0: Array1<F>,
    w: Vec<F>,
}

/// Gradient of the loss whose output gradient is `out_grad` with respect to the groups in `groups`, given the
/// trajectory the forward pass stored. Frozen groups are returned as zeros (W as empty).
pub fn bptt<'a, F: Real>(
    model: &Model<F>,
    traj: &'a Trajectory<F>,
    out_grad: &'a OutputGrad<F>,
    groups: GroupSet,
) -> Result<ParamGrad<F>> {
    let (b, t, n) = Keep::for_grad(model, groups).check(traj, model.n())?;
    out_grad.validate(model, b, t)?;
    let want_w = groups.contains(ParamGroup::W);
    let k = NeuronConsts::of(model);
    let cs = chunk_size(b);
    let jobs: Vec<_> = traj
        .steps()
        .map(|x| chunk_views(x, b, cs))
        .transpose()
        .into_iter()
        .zip(output_grad_chunks(out_grad.activity.as_ref().map(|s| &s.1), b, cs))
        .zip(output_grad_chunks(out_grad.y_bar.as_ref(), b, cs))
        .map(|((stored, act_bar), y_bar)| Chunk { stored, act_bar, y_bar })
        .collect();
    let recorded = out_grad.activity.as_ref().map(|s| s.0.as_slice()).unwrap_or(&[]);
    let w_out_t = model.w_out.t().as_standard_layout().into_owned();
    let partials: Vec<Partial<F>> = jobs
        .into_par_iter()
        .map(|c| backward_chunk(model, &k, recorded, &w_out_t, c, groups))
        .collect();
    let mut out = combine(model, partials, want_w);
    if groups.contains(ParamGroup::WOut)
        && let Some(yb) = &out_grad.y_bar
    {
        let a2 = traj.a.view().into_shape_with_order((b * t, n)).expect("contiguous");
        let y2 = yb
            .view()
            .into_shape_with_order((b * t, model.n_out()))
            .expect("contiguous");
        matmul(Write::Overwrite, out.w_out.view_mut(), a2.t(), y2);
    }
    zero_frozen(&mut out, groups);
    out.observation = out_grad.observation.clone();
    Ok(out)
}

/// Adds the chunks' partial sums in chunk order (so that the result does not depend on the
/// thread count) and applies the chain rule of g⁺ and of a global β. `w_out` is left zero.
pub(crate) fn combine<F: Real>(model: &Model<F>, partials: Vec<Partial<F>>, want_w: bool) -> ParamGrad<F> {
    let n = model.n();
    let zeros = || Array1::<F>::zeros(n);
    let mut out = ParamGrad {
        g: zeros(),
        b: zeros(),
        tau: zeros(),
        beta: zeros(),
        h0: zeros(),
        w_out: Array2::zeros(model.w_out.dim()),
        w: if want_w {
            vec![F::zero(); model.coupling.pattern().nnz()]
        } else {
            Vec::new()
        },
        observation: Vec::new(),
    };
    for p in partials {
        out.g += &p.g;
        out.b += &p.b;
        out.tau += &p.tau;
        out.beta += &p.beta;
        out.h0 += &p.h0;
        for (acc, v) in out.w.iter_mut().zip(&p.w) {
            *acc += *v;
        }
    }
    // d g⁺ / d g = 1 for g ≥ 0 (the right derivative at 0), else 0. Fits keep g ≥ 0 by
    // projection (Model::project_theta), so a gain pushed to 0 still sees whether growing
    // again would lower the loss: a neuron is never silenced for good by its gain.
    out.g.zip_mut_with(&model.params.g, |dg, &g| {
        if g < F::zero() {
            *dg = F::zero()
        }
    });
    if let Beta::Global(_) = model.params.beta {
        out.beta = Array1::from_elem(1, out.beta.sum());
    }
    out
}

/// Zeros the gradient of every group not in `groups`.
pub(crate) fn zero_frozen<F: Real>(out: &mut ParamGrad<F>, groups: GroupSet) {
    for g in ParamGroup::ALL {
        if !groups.contains(g) {
            match g {
                ParamGroup::Gain => out.g.fill(F::zero()),
                ParamGroup::Bias => out.b.fill(F::zero()),
                ParamGroup::Tau => out.tau.fill(F::zero()),
                ParamGroup::Beta => out.beta.fill(F::zero()),
                ParamGroup::H0 => out.h0.fill(F::zero()),
                ParamGroup::WOut => out.w_out.fill(F::zero()),
                ParamGroup::W => {}
            }
        }
    }
}

/// One chunk of the stored trajectory (`Bc × S × N` each, contiguous) and the output gradient
/// (`Bc × T × ·`, indexed by global step).
pub(crate) struct Chunk<'a, F> {
    /// The stored arrays (those not stored are empty).
    pub stored: Steps<ArrayView3<'a, F>>,
    /// ∂L/∂a of the recorded neurons, `Bc × T × M`.
    pub act_bar: Option<ArrayView3<'a, F>>,
    /// ∂L/∂y, `Bc × T × n_out`.
    pub y_bar: Option<ArrayView3<'a, F>>,
}

/// Trial chunks of an optional output-gradient array (one `None` per chunk when absent).
pub(crate) fn output_grad_chunks<'a, F>(
    x: Option<&'a Array3<F>>,
    b: usize,
    cs: usize,
) -> Vec<Option<ArrayView3<'a, F>>> {
    match x {
        Some(x) => x.axis_chunks_iter(Axis(0), cs).map(Some).collect(),
        None => vec![None; b.div_ceil(cs)],
    }
}

/// Backward pass over one chunk of trials whose whole trajectory is stored.
fn backward_chunk<F: Real>(
    m: &Model<F>,
    k: &NeuronConsts<F>,
    recorded: &[usize],
    w_out_t: &Array2<F>,
    c: Chunk<F>,
    groups: GroupSet,
) -> Partial<F> {
    let (bc, steps, n) = c.stored.dphi.dim();
    let mut st = BackState::new(m, bc, n, groups);
    back_window(
        &mut st,
        m,
        k,
        recorded,
        w_out_t,
        &c,
        Window {
            t0: 0,
            end: steps,
            total: steps,
        },
    );
    st.finish()
}

/// Which global steps a stored window holds and which of them a backward sweep processes:
/// the window's rows are steps `t0..t0 + S`; steps `t0..end` are processed, last to first.
/// `total` is the trial length T.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Window {
    pub t0: usize,
    pub end: usize,
    pub total: usize,
}

/// The adjoint state of one chunk of trials between backward windows, and its partial sums.
pub(crate) struct BackState<F> {
    bc: usize,
    n: usize,
    want_w: bool,
    /// Whether the τ and β gradients are accumulated (frozen groups are skipped: their sums
    /// would be zeroed anyway, and they cost two divisions per neuron and step).
    want_tau: bool,
    want_beta: bool,
    /// Whether the gain gradient is accumulated (it reads φ or z, which are then stored).
    want_g: bool,
    acc: Acc<F>,
    /// h̄_{t+1} of each trial (`Bc × N`).
    hbar: Vec<F>,
    /// d_{t+1} = g_i ⊙ α ⊙ h̄_{t+1} of each trial.
    d: Array2<F>,
    abar: Array2<F>,
    /// column-major scratch for `d W`.
    rec: Array2<F>,
    /// Gap junctions: L h_t, α ⊙ h̄_{t+1} and L (α ⊙ h̄_{t+1}) (empty without gap junctions).
    lh: Array2<F>,
    ahb: Array2<F>,
    lahb: Array2<F>,
    /// d_{t+1} stored next to a_t for the window's weight gradient Σ_t d_{t+1} a_tᵀ.
    d_store: Vec<F>,
    w: Vec<F>,
}

impl<F: Real> BackState<F> {
    pub(crate) fn new(m: &Model<F>, bc: usize, n: usize, groups: GroupSet) -> Self {
        let gr = if m.gap.is_some() { bc } else { 0 };
        let want_w = groups.contains(ParamGroup::W);
        Self {
            bc,
            n,
            want_w,
            want_tau: groups.contains(ParamGroup::Tau),
            want_g: groups.contains(ParamGroup::Gain),
            want_beta: groups.contains(ParamGroup::Beta) && m.activation.uses_beta(),
            acc: Acc {
                g: vec![F::zero(); n],
                b: vec![F::zero(); n],
                tau: vec![F::zero(); n],
                beta: vec![F::zero(); n],
            },
            hbar: vec![F::zero(); bc * n],
            d: Array2::zeros((bc, n)),
            abar: Array2::zeros((bc, n)),
            rec: Array2::zeros((bc, n).f()),
            lh: Array2::zeros((gr, n)),
            ahb: Array2::zeros((gr, n)),
            lahb: Array2::zeros((gr, n)),
            d_store: Vec::new(),
            w: if want_w {
                vec![F::zero(); m.coupling.pattern().nnz()]
            } else {
                Vec::new()
            },
        }
    }
}

crate::kernels::simd::multiversion! {
    /// Runs `st`'s backward sweep over steps `win.end − 1` down to `win.t0`, whose stored rows
    /// are in `c` (row `t − win.t0`); the output gradients in `c` are indexed by global step.
    pub(crate) fn back_window<F: Real>(
        st: &mut BackState<F>,
        m: &Model<F>,
        k: &NeuronConsts<F>,
        recorded: &[usize],
        w_out_t: &Array2<F>,
        c: &Chunk<F>,
        win: Window,
    ) {
        let (bc, n) = (st.bc, st.n);
        let rows = c.stored.dphi.dim().1;
        let Steps { h, a, z, phi, dphi } = c.stored.as_ref().map(fl);
        let pre = m.gain == GainPlacement::Presynaptic;
        let (alpha, gi) = (&k.alpha[..], &k.gi[..]);
        if st.want_w {
            st.d_store.clear();
            st.d_store.resize(bc * rows * n, F::zero());
        }
        for t in (win.t0..win.end).rev() {
            let lt = t - win.t0;
            let last = t + 1 == win.total;
            // the stored rows the next step reads, one per trial at a stride of T rows
            if lt > 0 {
                for j in 0..bc {
                    let o = (j * rows + lt - 1) * n;
                    for x in [h, z, phi, dphi] {
                        prefetch(row_of(x, o, n));
                    }
                }
            }
            // ā_t = ∂L/∂a_t + (d_{t+1} W); the product goes to a column-major scratch (written
            // by the GEMM kernels without transposing), then is added row by row.
            if !last {
                st.rec.fill(F::zero());
                m.coupling.backward_acc(st.d.view(), st.rec.view_mut());
                if st.want_w {
                    for j in 0..bc {
                        let o = (j * rows + lt) * n;
                        st.d_store[o..o + n].copy_from_slice(st.d.row(j).to_slice().expect("contiguous"));
                    }
                }
            }
            if last {
                st.abar.fill(F::zero());
            } else {
                copy_transposed(st.abar.view_mut(), st.rec.view());
            }
            for j in 0..bc {
                let row = st.abar.row_mut(j).into_slice().expect("contiguous");
                if let Some(ab) = &c.act_bar {
                    let abr = ab.slice(s![j, t, ..]);
                    let abr = abr.as_slice().expect("output-gradient rows are contiguous");
                    for (&i, &v) in recorded.iter().zip(abr) {
                        row[i] += v;
                    }
                }
                if let Some(yb) = &c.y_bar {
                    for (kk, wk) in w_out_t.rows().into_iter().enumerate() {
                        let y = yb[(j, t, kk)];
                        row.iter_mut().zip(wk).for_each(|(x, &w)| *x += y * w);
                    }
                }
            }
            // Gap junctions: their current L h_t (for the τ gradient) and L (α ⊙ h̄_{t+1}).
            if let (Some(g), false) = (&m.gap, last) {
                if st.want_tau {
                    g.laplacian(step_rows(h, bc, rows, n, lt), st.lh.view_mut());
                }
                for j in 0..bc {
                    for i in 0..n {
                        st.ahb[(j, i)] = alpha[i] * st.hbar[j * n + i];
                    }
                }
                g.laplacian(st.ahb.view(), st.lahb.view_mut());
            }
            for j in 0..bc {
                let o = (j * rows + lt) * n;
                // the row of each stored array (arrays not stored are empty and not read)
                let row = Row {
                    h: row_of(h, o, n),
                    z: row_of(z, o, n),
                    phi: row_of(phi, o, n),
                    dphi: row_of(dphi, o, n),
                    abar: st.abar.row(j).to_slice().expect("contiguous"),
                };
                let hb = &mut st.hbar[j * n..(j + 1) * n];
                let acc = &mut st.acc;
                // τ and β first: the τ term reads h̄_{t+1}, which back_row overwrites
                if st.want_tau && !last {
                    tau_row(&row, k, hb, &mut acc.tau);
                }
                if st.want_beta {
                    beta_row(&row, k, pre, &mut acc.beta);
                }
                match (pre, last, st.want_g) {
                    (true, true, true) => back_row::<F, true, true, true>(&row, k, hb, acc),
                    (true, true, false) => back_row::<F, true, true, false>(&row, k, hb, acc),
                    (true, false, true) => back_row::<F, true, false, true>(&row, k, hb, acc),
                    (true, false, false) => back_row::<F, true, false, false>(&row, k, hb, acc),
                    (false, true, true) => back_row::<F, false, true, true>(&row, k, hb, acc),
                    (false, true, false) => back_row::<F, false, true, false>(&row, k, hb, acc),
                    (false, false, true) => back_row::<F, false, false, true>(&row, k, hb, acc),
                    (false, false, false) => back_row::<F, false, false, false>(&row, k, hb, acc),
                }
                if m.gap.is_some() && !last {
                    // the gap term of h_{t+1}: −L (α ⊙ h̄_{t+1}) into h̄_t, and its part of the
                    // τ gradient (the drift gains −L h_t: ∂/∂τ_i adds α_i h̄_{t+1,i} (L h_t)_i / τ_i)
                    for i in 0..n {
                        hb[i] -= st.lahb[(j, i)];
                    }
                    if st.want_tau {
                        for i in 0..n {
                            acc.tau[i] += st.ahb[(j, i)] * st.lh[(j, i)] / k.tau[i];
                        }
                    }
                }
            }
            if t > 0 {
                for j in 0..bc {
                    let hb = &st.hbar[j * n..(j + 1) * n];
                    let dr = st.d.row_mut(j).into_slice().expect("contiguous");
                    for i in 0..n {
                        dr[i] = gi[i] * alpha[i] * hb[i];
                    }
                }
            }
        }
        if st.want_w {
            let d2 = ArrayView2::from_shape((bc * rows, n), &st.d_store).expect("contiguous");
            let a2 = ArrayView2::from_shape((bc * rows, n), a).expect("contiguous");
            m.coupling.weight_grad_acc(d2, a2, &mut st.w);
        }
    }
}

impl<F: Real> BackState<F> {
    /// The chunk's partial sums (h̄_0 summed over its trials is ∂L/∂h0).
    pub(crate) fn finish(self) -> Partial<F> {
        let n = self.n;
        let mut h0 = Array1::zeros(n);
        for j in 0..self.bc {
            for (x, &v) in h0.iter_mut().zip(&self.hbar[j * n..(j + 1) * n]) {
                *x += v;
            }
        }
        Partial {
            g: Array1::from(self.acc.g),
            b: Array1::from(self.acc.b),
            tau: Array1::from(self.acc.tau),
            beta: Array1::from(self.acc.beta),
            h0,
            w: self.w,
        }
    }
}

/// Per-neuron gradient accumulators of a chunk.
struct Acc<F> {
    g: Vec<F>,
    b: Vec<F>,
    tau: Vec<F>,
    beta: Vec<F>,
}

/// One trial's stored row at step t.
struct Row<'a, F> {
    h: &'a [F],
    z: &'a [F],
    phi: &'a [F],
    dphi: &'a [F],
    abar: &'a [F],
}

/// The row of step offset `o` of a stored array, or nothing if the array is not stored.
#[inline(always)]
fn row_of<F>(x: &[F], o: usize, n: usize) -> &[F] {
    x.get(o..o + n).unwrap_or(&[])
}

/// The elementwise part of one backward step for one trial: turns `hbar = h̄_{t+1}` into
/// `h̄_t` and accumulates the bias gradient and, with `GAIN`, the gain gradient. `PRE`:
/// presynaptic gain; `LAST`: t = T − 1 (no h̄_{t+1}).
#[inline(always)]
fn back_row<F: Real, const PRE: bool, const LAST: bool, const GAIN: bool>(
    r: &Row<F>,
    k: &NeuronConsts<F>,
    hbar: &mut [F],
    acc: &mut Acc<F>,
) {
    let n = hbar.len();
    // equal-length slices, so that the loop runs without bounds checks and vectorises
    let (alpha, ga) = (&k.alpha[..n], &k.ga[..n]);
    // the gain gradient reads φ (presynaptic gain) or z (postsynaptic): only those are stored
    let phi = if PRE && GAIN { &r.phi[..n] } else { &[][..] };
    let z = if PRE || LAST || !GAIN { &[][..] } else { &r.z[..n] };
    let (dphi, abar) = (&r.dphi[..n], &r.abar[..n]);
    let (acc_g, acc_b) = (&mut acc.g[..n], &mut acc.b[..n]);
    for i in 0..n {
        let ab = abar[i];
        let e = ab * ga[i] * dphi[i];
        let hb_next = hbar[i];
        if PRE {
            if GAIN {
                acc_g[i] += ab * phi[i];
            }
            acc_b[i] += e;
        }
        if LAST {
            hbar[i] = e;
        } else {
            let al = alpha[i];
            if !PRE {
                if GAIN {
                    acc_g[i] += hb_next * al * z[i];
                }
                acc_b[i] += hb_next * al;
            }
            hbar[i] = e + (F::one() - al) * hb_next;
        }
    }
}

/// The τ gradient's term of one trial's step (t < T − 1): `hbar = h̄_{t+1}`.
#[inline(always)]
fn tau_row<F: Real>(r: &Row<F>, k: &NeuronConsts<F>, hbar: &[F], acc_tau: &mut [F]) {
    let n = hbar.len();
    let (alpha, gi, bi, tau) = (&k.alpha[..n], &k.gi[..n], &k.bi[..n], &k.tau[..n]);
    let (h, z, acc_tau) = (&r.h[..n], &r.z[..n], &mut acc_tau[..n]);
    for i in 0..n {
        let incr = gi[i] * z[i] + bi[i] - h[i];
        acc_tau[i] -= alpha[i] / tau[i] * hbar[i] * incr;
    }
}

/// The smoothness gradient's term of one trial's step: `ā ⊙ g_a ⊙ ∂φ/∂β` (presynaptic gain)
/// or `ā ⊙ ∂φ/∂β`, with `∂φ/∂β = (x φ′ − φ)/β`.
#[inline(always)]
fn beta_row<F: Real>(r: &Row<F>, k: &NeuronConsts<F>, pre: bool, acc_beta: &mut [F]) {
    let n = acc_beta.len();
    let (ga, bx, beta) = (&k.ga[..n], &k.bx[..n], &k.beta[..n]);
    let (h, phi, dphi, abar) = (&r.h[..n], &r.phi[..n], &r.dphi[..n], &r.abar[..n]);
    let acc_beta = &mut acc_beta[..n];
    for i in 0..n {
        let x = h[i] + bx[i];
        let dbeta = k.beta_on * (x * dphi[i] - phi[i]) / beta[i];
        let ab = abar[i];
        if pre {
            acc_beta[i] += ab * ga[i] * dbeta;
        } else {
            acc_beta[i] += ab * dbeta;
        }
    }
}

/// A contiguous 3-D view as a flat slice.
fn fl<'a, F>(v: &ArrayView3<'a, F>) -> &'a [F] {
    v.to_slice()
        .expect("trial chunks of a standard-layout array are contiguous")
}
