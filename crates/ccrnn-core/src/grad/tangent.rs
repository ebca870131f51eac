//! Forward-mode sensitivities: the tangent of the activity trajectory along K directions in
//! θ-space at once, `δa_t = (∂a_t/∂θ) v_k`, on the noise-free rollout.
//!
//! With `x_t = h_t + b_x`, `a_t = g_a ⊙ φ_β(x_t)` and
//! `h_{t+1} = h_t + α ⊙ (g_i ⊙ z_t + b_i − h_t − L h_t)`, `z_t = W a_t + u_t W_in`, `α = dt/τ`,
//! `L` the gap junctions' Laplacian (zero without them)
//! (`g_a = g⁺, b_x = b, g_i = 1, b_i = 0` for presynaptic gain; `g_a = 1, b_x = 0, g_i = g⁺,
//! b_i = b` for postsynaptic gain), the tangents obey
//!
//! ```text
//! δa_t     = δg_a ⊙ φ + g_a ⊙ (φ′ ⊙ (δh_t + δb_x) + ∂φ/∂β ⊙ δβ)
//! δh_{t+1} = δh_t + δα ⊙ (g_i ⊙ z_t + b_i − h_t − L h_t)
//!            + α ⊙ (δg_i ⊙ z_t + g_i ⊙ δz_t + δb_i − δh_t − L δh_t)
//! δz_t     = W δa_t + δW a_t,     δα = −(α/τ) δτ,     δg = 1[g ≥ 0] δg,     δh_0 = δh0
//! ```
//!
//! The K tangents of a step are one `K × N` matrix, so `W δa_t` is one matrix product through
//! the model's [`Coupling`](crate::Coupling) (the simulator's kernel). `W_out` does not affect
//! the activity (its tangent is zero). When the stimulus sets per-trial initial states, the
//! model's `h0` is not used and its tangent is zero.

use crate::{Error, GroupSet, Model, ParamGroup, Real, Result, SimOptions, Stimulus, simulate};
use ndarray::{Array2, ArrayView2, ShapeBuilder, s};

/// The direction components of one group: `K × len` (empty if the group is not in θ).
fn group_dirs<F: Real>(model: &Model<F>, groups: GroupSet, dirs: ArrayView2<F>, g: ParamGroup) -> Option<Array2<F>> {
    let mut off = 0;
    for h in groups.groups() {
        let len = model.group_len(h);
        if h == g {
            return Some(dirs.slice(s![.., off..off + len]).to_owned());
        }
        off += len;
    }
    None
}

/// Calls `visit(trial, t, δa_t)` with the `K × N` tangent of the activity at every trial and
/// step, for the directions `dirs` (`K × θ_len`, θ laid out as [`Model::theta`] for `groups`).
/// Trials are visited in order, steps in order within a trial.
pub fn tangents<F: Real>(
    model: &Model<F>,
    stim: &Stimulus<F>,
    groups: GroupSet,
    dirs: ArrayView2<F>,
    visit: &mut dyn FnMut(usize, usize, ArrayView2<F>),
) -> Result<()> {
    let len = model.theta_len(groups);
    if dirs.ncols() != len {
        return Err(Error::shape("tangent directions", &[dirs.nrows(), len], dirs.shape()));
    }
    crate::error::check_finite("tangent directions", dirs.iter())?;
    let traj = simulate(model, stim, &SimOptions::noiseless())?;
    let (b, steps, n) = traj.a.dim();
    let k = dirs.nrows();
    let pre = model.gain == crate::GainPlacement::Presynaptic;
    let zero = || Array2::<F>::zeros((k, n));
    let get = |g| group_dirs(model, groups, dirs, g);
    let dg = get(ParamGroup::Gain).unwrap_or_else(zero);
    let db = get(ParamGroup::Bias).unwrap_or_else(zero);
    let dtau = get(ParamGroup::Tau).unwrap_or_else(zero);
    let dh0 = get(ParamGroup::H0).unwrap_or_else(zero);
    let dbeta = match get(ParamGroup::Beta) {
        Some(d) if d.ncols() == 1 => Array2::from_shape_fn((k, n), |(r, _)| d[(r, 0)]),
        Some(d) => d,
        None => zero(),
    };
    let dw = get(ParamGroup::W);
    let p = &model.params;
    let dt = model.dt;
    let gpos: Vec<F> =
        p.g.iter()
            .map(|&g| if g >= F::zero() { F::one() } else { F::zero() })
            .collect();
    let gplus: Vec<F> = p.g.iter().map(|&g| g.max(F::zero())).collect();
    let alpha: Vec<F> = p.tau.iter().map(|&t| dt / t).collect();
    // δg_a, δb_x (inside φ) and δg_i, δb_i (on the input), per placement.
    let dgpos = Array2::from_shape_fn((k, n), |(r, i)| dg[(r, i)] * gpos[i]);
    let (dga, dbx, dgi, dbi) = if pre {
        (dgpos, db.clone(), zero(), zero())
    } else {
        (zero(), zero(), dgpos, db.clone())
    };
    let ga: Vec<F> = if pre { gplus.clone() } else { vec![F::one(); n] };
    let gi: Vec<F> = if pre { vec![F::one(); n] } else { gplus };
    let bi: Vec<F> = if pre { vec![F::zero(); n] } else { p.b.to_vec() };
    let bx: Vec<F> = if pre { p.b.to_vec() } else { vec![F::zero(); n] };
    let dalpha = Array2::from_shape_fn((k, n), |(r, i)| -alpha[i] / p.tau[i] * dtau[(r, i)]);
    let (pattern_rows, pattern_cols) = (model.coupling.pattern().rows(), model.coupling.pattern().col().to_vec());

    let mut dh = Array2::<F>::zeros((k, n));
    let mut da = Array2::<F>::zeros((k, n));
    let mut dz = Array2::<F>::zeros((k, n).f());
    let mut dphi_dbeta = vec![F::zero(); n];
    // Gap junctions: L h_t and L δh_t (empty without them).
    let gr = usize::from(model.gap.is_some());
    let mut lh = Array2::<F>::zeros((gr, n));
    let mut ldh = Array2::<F>::zeros((gr * k, n));
    for trial in 0..b {
        if stim.h0.is_none() {
            dh.assign(&dh0);
        } else {
            dh.fill(F::zero());
        }
        for t in 0..steps {
            let h = traj.h.slice(s![trial, t, ..]);
            let phi = traj.phi.slice(s![trial, t, ..]);
            let dphi = traj.dphi.slice(s![trial, t, ..]);
            if model.activation.uses_beta() {
                for i in 0..n {
                    dphi_dbeta[i] = model.activation.eval(h[i] + bx[i], p.beta.of(i)).2;
                }
            }
            for r in 0..k {
                for i in 0..n {
                    da[(r, i)] = dga[(r, i)] * phi[i]
                        + ga[i] * (dphi[i] * (dh[(r, i)] + dbx[(r, i)]) + dphi_dbeta[i] * dbeta[(r, i)]);
                }
            }
            visit(trial, t, da.view());
            if t + 1 == steps {
                break;
            }
            model.coupling.forward(da.view(), dz.view_mut());
            if let Some(dw) = &dw {
                let a = traj.a.slice(s![trial, t, ..]);
                for r in 0..k {
                    for (e, (&i, &j)) in pattern_rows.iter().zip(&pattern_cols).enumerate() {
                        dz[(r, i as usize)] += dw[(r, e)] * a[j as usize];
                    }
                }
            }
            let z = traj.z.slice(s![trial, t, ..]);
            if let Some(g) = &model.gap {
                g.laplacian(h.insert_axis(ndarray::Axis(0)), lh.view_mut());
                g.laplacian(dh.view(), ldh.view_mut());
            }
            for r in 0..k {
                for i in 0..n {
                    let drive = gi[i] * z[i] + bi[i] - h[i];
                    dh[(r, i)] = dh[(r, i)]
                        + dalpha[(r, i)] * drive
                        + alpha[i] * (dgi[(r, i)] * z[i] + gi[i] * dz[(r, i)] + dbi[(r, i)] - dh[(r, i)]);
                }
            }
            if model.gap.is_some() {
                // the gap term −α ⊙ L h_t: its tangent −δα ⊙ L h_t − α ⊙ L δh_t (L δh_t taken
                // before the update), only where there is one
                for r in 0..k {
                    for i in 0..n {
                        dh[(r, i)] -= dalpha[(r, i)] * lh[(0, i)] + alpha[i] * ldh[(r, i)];
                    }
                }
            }
        }
    }
    Ok(())
}
