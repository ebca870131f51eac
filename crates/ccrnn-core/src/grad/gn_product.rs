//! Gauss–Newton–vector products of the mean-squared-error loss: `G v = (2/K) Jᵀ (J v)`, with
//! `J = ∂(prediction)/∂θ` over every trial, step and recorded channel (`K` values), without
//! ever forming `J`.
//!
//! `J v` is one forward tangent pass along the stored trajectory (the recurrence of
//! [`crate::tangents`], here for one direction and all trials at once, trials in parallel
//! chunks with one matrix product per step, like the simulator); `Jᵀ(·)` is one backward pass
//! ([`crate::bptt`]) seeded with it. The noise of the stored trajectory is additive, so the
//! tangent of the noisy rollout obeys the same equations.

use crate::simulate::{NeuronConsts, chunk_size};
use crate::trajectory::step_rows;
use crate::{
    Coupling, Error, GainPlacement, GroupSet, Model, OutputGrad, ParamGroup, Real, Result, Stimulus, Target,
    Trajectory, bptt,
};
use ndarray::{Array2, Array3, ArrayView3, ArrayViewMut3, Axis, ShapeBuilder};
use rayon::prelude::*;

/// One direction in θ-space split into its groups (absent groups are zero).
struct Direction<F> {
    /// `δg`, already multiplied by `1[g ≥ 0]` (the chain rule of g⁺, right derivative at 0 as in
    /// [`crate::grad::bptt`]).
    g: Vec<F>,
    b: Vec<F>,
    tau: Vec<F>,
    beta: Vec<F>,
    h0: Vec<F>,
    w_out: Option<Array2<F>>,
    w: Option<Vec<F>>,
}

impl<F: Real> Direction<F> {
    fn split(model: &Model<F>, groups: GroupSet, v: &[F]) -> Self {
        let n = model.n();
        let mut d = Self {
            g: vec![F::zero(); n],
            b: vec![F::zero(); n],
            tau: vec![F::zero(); n],
            beta: vec![F::zero(); n],
            h0: vec![F::zero(); n],
            w_out: None,
            w: None,
        };
        let mut off = 0;
        for g in groups.groups() {
            let len = model.group_len(g);
            let part = &v[off..off + len];
            off += len;
            match g {
                ParamGroup::Gain => {
                    for (i, (x, &p)) in d.g.iter_mut().zip(part).enumerate() {
                        *x = if model.params.g[i] >= F::zero() { p } else { F::zero() };
                    }
                }
                ParamGroup::Bias => d.b.copy_from_slice(part),
                ParamGroup::Tau => d.tau.copy_from_slice(part),
                ParamGroup::Beta if len == 1 => d.beta.fill(part[0]),
                ParamGroup::Beta => d.beta.copy_from_slice(part),
                ParamGroup::H0 => d.h0.copy_from_slice(part),
                ParamGroup::WOut => {
                    d.w_out = Some(Array2::from_shape_vec(model.w_out.dim(), part.to_vec()).expect("length checked"))
                }
                ParamGroup::W => d.w = Some(part.to_vec()),
            }
        }
        d
    }
}

/// The Gauss–Newton matrix of the MSE loss against `target`, applied to `v` (θ laid out as
/// [`Model::theta`] for `groups`, followed for [`Target::Observed`] by the observation's
/// trainable parameters): `G v = (2/K) Jᵀ J v`, linearised along `traj`, the stored
/// trajectory of `stim` (the forward pass of the loss; noisy or not).
///
/// `G` is positive semi-definite and equals the loss's Hessian up to the terms weighted by the
/// residuals; with the gradient it defines the quadratic model that Gauss–Newton and
/// Levenberg–Marquardt steps minimise.
pub fn gauss_newton_product<F: Real>(
    model: &Model<F>,
    stim: &Stimulus<F>,
    traj: &Trajectory<F>,
    target: &Target<F>,
    groups: GroupSet,
    v: &[F],
) -> Result<Vec<F>> {
    let len = model.theta_len(groups) + target.n_params();
    if v.len() != len {
        return Err(Error::shape("Gauss-Newton direction", &[len], &[v.len()]));
    }
    crate::error::check_finite("Gauss-Newton direction", v.iter())?;
    let (b, t, n) = traj.a.dim();
    if stim.trials() != b || stim.steps() != t || n != model.n() {
        return Err(Error::shape(
            "trajectory",
            &[stim.trials(), stim.steps(), model.n()],
            &[b, t, n],
        ));
    }
    target.validate(model, b, t)?;
    let dir = Direction::split(model, groups, v);
    let consts = NeuronConsts::of(model);
    // δW as a coupling of the same pattern, for the term δW a_t
    let dcoupling = dir.w.as_ref().map(|w| {
        let mut c = model.coupling.clone();
        c.set_values(w);
        c
    });
    let mut da = Array3::<F>::zeros((b, t, n));
    let cs = chunk_size(b);
    let per_trial_h0 = stim.h0.is_some();
    let jobs: Vec<_> = da
        .axis_chunks_iter_mut(Axis(0), cs)
        .zip(traj.h.axis_chunks_iter(Axis(0), cs))
        .zip(traj.a.axis_chunks_iter(Axis(0), cs))
        .zip(traj.z.axis_chunks_iter(Axis(0), cs))
        .zip(traj.phi.axis_chunks_iter(Axis(0), cs))
        .zip(traj.dphi.axis_chunks_iter(Axis(0), cs))
        .collect();
    jobs.into_par_iter().for_each(|(((((out, h), a), z), phi), dphi)| {
        tangent_chunk(
            model,
            &consts,
            &dir,
            dcoupling.as_deref(),
            per_trial_h0,
            [h, a, z, phi, dphi],
            out,
        );
    });
    // J v in the target's form, scaled like the loss's seed: ∂L/∂pred = (2/K) residual
    let seed = match target {
        Target::Activity { recorded, .. } => {
            let jv = crate::loss::gather_columns(&da, recorded.indices());
            let scale = F::lit(2.0 / jv.len().max(1) as f64);
            OutputGrad {
                activity: Some((recorded.indices().to_vec(), jv.mapv(|x| x * scale))),
                ..Default::default()
            }
        }
        Target::Observed { recorded, obs } => {
            let idx = recorded.indices();
            let (jv, a) = (
                crate::loss::gather_columns(&da, idx),
                crate::loss::gather_columns(&traj.a, idx),
            );
            let (seed, observation) = obs.gauss_newton(a.view(), jv.view(), &v[model.theta_len(groups)..])?;
            OutputGrad {
                activity: Some((idx.to_vec(), seed)),
                y_bar: None,
                observation,
            }
        }
        Target::Readout { .. } => {
            let rows = |x: &Array3<F>| {
                x.view()
                    .into_shape_with_order((b * t, n))
                    .expect("contiguous")
                    .to_owned()
            };
            let mut jv = crate::kernels::product(rows(&da).view(), model.w_out.view());
            if let Some(dw) = &dir.w_out {
                crate::kernels::matmul(
                    crate::kernels::Write::Accumulate,
                    jv.view_mut(),
                    rows(&traj.a).view(),
                    dw.view(),
                );
            }
            let scale = F::lit(2.0 / jv.len().max(1) as f64);
            let jv = jv.mapv(|x| x * scale);
            OutputGrad {
                y_bar: Some(jv.into_shape_with_order((b, t, model.n_out())).expect("contiguous")),
                ..Default::default()
            }
        }
    };
    // with per-trial initial states the model's h0 does not act: its column of J is zero
    Ok(bptt(model, traj, &seed, groups)?.for_stimulus(stim).flatten_all(groups))
}

crate::kernels::simd::multiversion! {
    /// The tangent `δa` of one chunk of trials (`Bc × T × N`, written into `out`) along `dir`.
    fn tangent_chunk<F: Real>(
        m: &Model<F>,
        k: &NeuronConsts<F>,
        dir: &Direction<F>,
        dcoupling: Option<&dyn Coupling<F>>,
        per_trial_h0: bool,
        views: [ArrayView3<F>; 5],
        out: ArrayViewMut3<F>,
    ) {
        let ([h, a, z, phi, dphi], mut out) = (views, out);
        let (bc, steps, n) = h.dim();
        let (h, a, z, phi, dphi) = (fl(h), fl(a), fl(z), fl(phi), fl(dphi));
        let da = out.as_slice_mut().expect("trial chunks are contiguous");
        let pre = m.gain == GainPlacement::Presynaptic;
        let (alpha, ga, gi, bx, bi, beta) = (&k.alpha, &k.ga, &k.gi, &k.bx, &k.bi, &k.beta);
        let dalpha: Vec<F> = (0..n).map(|i| -alpha[i] / k.tau[i] * dir.tau[i]).collect();
        let zeros = vec![F::zero(); n];
        // δg_a, δb_x (inside φ) and δg_i, δb_i (on the input), per placement
        let (dga, dbx, dgi, dbi) = if pre {
            (&dir.g, &dir.b, &zeros, &zeros)
        } else {
            (&zeros, &zeros, &dir.g, &dir.b)
        };
        let want_beta = m.activation.uses_beta() && dir.beta.iter().any(|&x| x != F::zero());
        let mut dh = Array2::<F>::zeros((bc, n));
        if !per_trial_h0 {
            for mut row in dh.rows_mut() {
                row.iter_mut().zip(&dir.h0).for_each(|(x, &v)| *x = v);
            }
        }
        let mut dz = Array2::<F>::zeros((bc, n).f());
        let mut dzw = Array2::<F>::zeros((if dcoupling.is_some() { bc } else { 0 }, n).f());
        let gr = if m.gap.is_some() { bc } else { 0 };
        let (mut lh, mut ldh) = (Array2::<F>::zeros((gr, n)), Array2::<F>::zeros((gr, n)));
        for t in 0..steps {
            for j in 0..bc {
                let o = (j * steps + t) * n;
                let dhr = dh.row(j);
                let dhr = dhr.as_slice().expect("contiguous");
                let dar = &mut da[o..o + n];
                for i in 0..n {
                    let dbeta_term = if want_beta {
                        m.activation.eval(h[o + i] + bx[i], beta[i]).2 * dir.beta[i]
                    } else {
                        F::zero()
                    };
                    dar[i] = dga[i] * phi[o + i] + ga[i] * (dphi[o + i] * (dhr[i] + dbx[i]) + dbeta_term);
                }
            }
            if t + 1 == steps {
                break;
            }
            m.coupling.forward(step_rows(da, bc, steps, n, t), dz.view_mut());
            if let Some(dc) = dcoupling {
                dc.forward(step_rows(a, bc, steps, n, t), dzw.view_mut());
                dz += &dzw;
            }
            if let Some(g) = &m.gap {
                g.laplacian(step_rows(h, bc, steps, n, t), lh.view_mut());
                g.laplacian(dh.view(), ldh.view_mut());
            }
            for j in 0..bc {
                let o = (j * steps + t) * n;
                let mut dhr = dh.row_mut(j);
                let dhr = dhr.as_slice_mut().expect("contiguous");
                for i in 0..n {
                    let drive = gi[i] * z[o + i] + bi[i] - h[o + i];
                    let mut next =
                        dhr[i] + dalpha[i] * drive + alpha[i] * (dgi[i] * z[o + i] + gi[i] * dz[(j, i)] + dbi[i] - dhr[i]);
                    if gr > 0 {
                        // the gap term −α ⊙ L h_t: its tangent −δα ⊙ L h_t − α ⊙ L δh_t
                        next -= dalpha[i] * lh[(j, i)] + alpha[i] * ldh[(j, i)];
                    }
                    dhr[i] = next;
                }
            }
        }
    }
}

/// A contiguous 3-D view as a flat slice.
fn fl<F>(v: ArrayView3<'_, F>) -> &[F] {
    v.to_slice().expect("trial chunks are contiguous")
}
