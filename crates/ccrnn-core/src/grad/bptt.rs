//! Backpropagation through time, by hand.
//!
//! With x_t = h_t + b_x, a_t = g_a ⊙ φ(x_t) and h_{t+1} = (1 − α) h_t + α (g_i ⊙ z_t + b_i),
//! z_t = W a_t + u_t W_in (g_a, b_x, g_i, b_i as in [`crate::GainPlacement`]), the adjoints run
//! backwards from t = T − 1:
//!
//! ```text
//! ā_t = ∂L/∂a_t + Wᵀ d_{t+1},        d_{t+1} = g_i ⊙ α ⊙ h̄_{t+1}
//! h̄_t = (1 − α) ⊙ h̄_{t+1} + ā_t ⊙ g_a ⊙ φ′(x_t)
//! ```
//!
//! and the parameter gradients are sums over trials and steps of local terms (see the code).
//! Trials are processed in the same fixed chunks as the forward pass and the partial sums are
//! added in chunk order, so the result does not depend on the thread count.

use crate::simulate::{NeuronConsts, chunk_size};
use crate::{
    Beta, Error, GainPlacement, GroupSet, Model, ParamGrad, ParamGroup, Real, Result, Seed,
    Trajectory,
};
use ndarray::linalg::general_mat_mul;
use ndarray::{Array1, Array2, Array3, ArrayView3, Axis};
use rayon::prelude::*;

/// Per-chunk partial sums.
struct Partial<F> {
    g: Array1<F>,
    b: Array1<F>,
    tau: Array1<F>,
    beta: Array1<F>,
    h0: Array1<F>,
    w: Vec<F>,
}

/// Gradient of the loss whose seed is `seed` with respect to the groups in `groups`, given the
/// trajectory the forward pass stored. Frozen groups are returned as zeros (W as empty).
pub fn bptt<F: Real>(
    model: &Model<F>,
    traj: &Trajectory<F>,
    seed: &Seed<F>,
    groups: GroupSet,
) -> Result<ParamGrad<F>> {
    let (b, t, n) = traj.a.dim();
    if seed.a_bar.dim() != (b, t, n) {
        return Err(Error::shape("seed.a_bar", &[b, t, n], seed.a_bar.shape()));
    }
    let want_w = groups.contains(ParamGroup::W);
    let k = NeuronConsts::of(model);
    let cs = chunk_size(b);
    let jobs: Vec<_> = traj
        .h
        .axis_chunks_iter(Axis(0), cs)
        .zip(traj.a.axis_chunks_iter(Axis(0), cs))
        .zip(traj.z.axis_chunks_iter(Axis(0), cs))
        .zip(seed.a_bar.axis_chunks_iter(Axis(0), cs))
        .collect();
    let partials: Vec<Partial<F>> = jobs
        .into_par_iter()
        .map(|(((h, a), z), ab)| backward_chunk(model, &k, h, a, z, ab, want_w))
        .collect();

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
    };
    for p in partials {
        out.g += &p.g;
        out.b += &p.b;
        out.tau += &p.tau;
        out.beta += &p.beta;
        out.h0 += &p.h0;
        for (acc, v) in out.w.iter_mut().zip(&p.w) {
            *acc = *acc + *v;
        }
    }
    // d g⁺ / d g = 1 for g > 0, else 0.
    out.g.zip_mut_with(&model.params.g, |dg, &g| {
        if g <= F::zero() {
            *dg = F::zero()
        }
    });
    if let Beta::Global(_) = model.params.beta {
        out.beta = Array1::from_elem(1, out.beta.sum());
    }
    if groups.contains(ParamGroup::WOut)
        && let Some(yb) = &seed.y_bar
    {
        let a2 = traj
            .a
            .view()
            .into_shape_with_order((b * t, n))
            .expect("contiguous");
        let y2 = yb
            .view()
            .into_shape_with_order((b * t, model.n_out()))
            .expect("contiguous");
        general_mat_mul(F::one(), &a2.t(), &y2, F::zero(), &mut out.w_out);
    }
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
    Ok(out)
}

/// Backward pass over one chunk of trials.
fn backward_chunk<F: Real>(
    m: &Model<F>,
    k: &NeuronConsts<F>,
    h: ArrayView3<F>,
    a: ArrayView3<F>,
    z: ArrayView3<F>,
    a_bar: ArrayView3<F>,
    want_w: bool,
) -> Partial<F> {
    let (bc, steps, n) = h.dim();
    let act = m.activation;
    let pre = m.gain == GainPlacement::Presynaptic;
    let tau = &m.params.tau;
    let mut p = Partial {
        g: Array1::zeros(n),
        b: Array1::zeros(n),
        tau: Array1::zeros(n),
        beta: Array1::zeros(n),
        h0: Array1::zeros(n),
        w: if want_w {
            vec![F::zero(); m.coupling.pattern().nnz()]
        } else {
            Vec::new()
        },
    };
    let mut hbar = Array2::<F>::zeros((bc, n));
    let mut abar = Array2::<F>::zeros((bc, n));
    let mut d = Array2::<F>::zeros((bc, n));
    // d_{t+1} stored next to a_t, for the weight gradient Σ_t d_{t+1} a_tᵀ.
    let mut d_store = if want_w {
        Array3::<F>::zeros((bc, steps, n))
    } else {
        Array3::zeros((0, 0, 0))
    };

    for t in (0..steps).rev() {
        let last = t + 1 == steps;
        abar.assign(&a_bar.index_axis(Axis(1), t));
        if !last {
            m.coupling.backward_acc(d.view(), abar.view_mut());
        }
        for j in 0..bc {
            for i in 0..n {
                let hv = h[(j, t, i)];
                let (phi, dphi, dbeta) = act.eval(hv + k.bx[i], k.beta[i]);
                let ab = abar[(j, i)];
                let e = ab * k.ga[i] * dphi;
                let hb_next = hbar[(j, i)];
                let al = k.alpha[i];
                if pre {
                    p.g[i] = p.g[i] + ab * phi;
                    p.b[i] = p.b[i] + e;
                    p.beta[i] = p.beta[i] + ab * k.ga[i] * dbeta;
                } else {
                    p.beta[i] = p.beta[i] + ab * dbeta;
                }
                if last {
                    hbar[(j, i)] = e;
                } else {
                    let zv = z[(j, t, i)];
                    if !pre {
                        p.g[i] = p.g[i] + hb_next * al * zv;
                        p.b[i] = p.b[i] + hb_next * al;
                    }
                    let incr = k.gi[i] * zv + k.bi[i] - hv;
                    p.tau[i] = p.tau[i] - al / tau[i] * hb_next * incr;
                    hbar[(j, i)] = e + (F::one() - al) * hb_next;
                }
            }
        }
        if t > 0 {
            for j in 0..bc {
                for i in 0..n {
                    d[(j, i)] = k.gi[i] * k.alpha[i] * hbar[(j, i)];
                }
            }
            if want_w {
                d_store.index_axis_mut(Axis(1), t - 1).assign(&d);
            }
        }
    }
    p.h0 = hbar.sum_axis(Axis(0));
    if want_w {
        let d2 = d_store
            .view()
            .into_shape_with_order((bc * steps, n))
            .expect("contiguous");
        let a2 = a
            .into_shape_with_order((bc * steps, n))
            .expect("contiguous chunk");
        m.coupling.weight_grad_acc(d2, a2, &mut p.w);
    }
    p
}
