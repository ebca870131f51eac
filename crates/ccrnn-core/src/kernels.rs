//! Hot elementwise kernels of the time loop: written branch-free over slices so that the
//! compiler vectorises them, and shared by the forward and backward passes.
//!
//! The matrix products live behind [`crate::Coupling`]; this module holds what no crate does:
//! the activation of a row of neurons, and an `f32` softplus/logistic pair built from a
//! polynomial `exp` and a `log1p` series, both without branches or calls into libm.

use crate::{Activation, Real};

/// `e^{−x}` for `x ≥ 0` in `f32`: Cody–Waite reduction to `r ∈ [−ln2/2, ln2/2]`, a degree-7
/// Taylor polynomial (relative error < 5e-9 on that interval) and a power of two built from
/// bits. Inputs beyond 87 are clamped (e^{−87} ≈ 1.6e-38, the edge of normal f32).
#[inline(always)]
fn exp_neg_f32(x: f32) -> f32 {
    const LOG2E: f32 = std::f32::consts::LOG2_E;
    const LN2_HI: f32 = 0.693_145_75;
    const LN2_LO: f32 = 1.428_606_8e-6;
    const SHIFTER: f32 = 12_582_912.0; // 1.5 · 2^23: adding it rounds to an integer
    let x = (-x).max(-87.0);
    let n = (x * LOG2E + SHIFTER) - SHIFTER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    let scale = f32::from_bits(((n as i32 + 127) as u32) << 23);
    p * scale
}

/// `(log(1 + e^z), 1/(1 + e^{−z}))` in `f32`, stable and branch-free for every `z`:
/// with `e = e^{−|z|} ∈ (0, 1]`, `log1p(e) = 2 atanh(s)`, `s = e/(2 + e) ∈ (0, 1/3]`, summed
/// to `s^15` (truncation < 1e-8 relative), so there is no cancellation for small `e`.
#[inline(always)]
pub fn softplus_logistic_f32(z: f32) -> (f32, f32) {
    let e = exp_neg_f32(z.abs());
    let s = e / (2.0 + e);
    let s2 = s * s;
    let series = 1.0
        + s2 * (1.0 / 3.0
            + s2 * (1.0 / 5.0
                + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0 + s2 * (1.0 / 13.0 + s2 * (1.0 / 15.0)))))));
    let log1p_e = 2.0 * s * series;
    let inv = 1.0 / (1.0 + e);
    let logistic = if z >= 0.0 { inv } else { e * inv };
    (z.max(0.0) + log1p_e, logistic)
}

/// For one row of neurons: `phi[i] = φ(h[i] + bx[i])` and `dphi[i] = φ′(h[i] + bx[i])` with
/// smoothness `beta[i]`.
#[inline]
pub(crate) fn activate_row<F: Real>(act: Activation, h: &[F], bx: &[F], beta: &[F], phi: &mut [F], dphi: &mut [F]) {
    let n = h.len();
    let (h, bx, beta, phi, dphi) = (&h[..n], &bx[..n], &beta[..n], &mut phi[..n], &mut dphi[..n]);
    match act {
        Activation::Softplus => {
            for i in 0..n {
                let (sp, sg) = F::softplus_logistic(beta[i] * (h[i] + bx[i]));
                phi[i] = sp / beta[i];
                dphi[i] = sg;
            }
        }
        _ => {
            for i in 0..n {
                let (p, d, _) = act.eval(h[i] + bx[i], beta[i]);
                phi[i] = p;
                dphi[i] = d;
            }
        }
    }
}

/// `dst = keep · dst + lhs · rhs` for `keep ∈ {0, 1}`, through the `gemm` crate (runtime
/// dispatch to AVX2/AVX-512/NEON kernels), single-threaded: callers parallelise over trial
/// chunks. Any strides are accepted, so views into `B × T × N` arrays need no copy.
///
/// Each element of `dst` is reduced over `k` in an order that does not depend on how many
/// rows `lhs` has, so results do not depend on how trials are chunked.
pub(crate) fn matmul<F: Real>(
    keep: bool,
    mut dst: ndarray::ArrayViewMut2<F>,
    lhs: ndarray::ArrayView2<F>,
    rhs: ndarray::ArrayView2<F>,
) {
    let (m, k) = lhs.dim();
    let (k2, n) = rhs.dim();
    assert!(
        k == k2 && dst.dim() == (m, n),
        "matmul: shape mismatch {:?} · {:?} → {:?}",
        lhs.dim(),
        rhs.dim(),
        dst.dim()
    );
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !keep {
            dst.fill(F::zero());
        }
        return;
    }
    let [dr, dc] = [dst.strides()[0], dst.strides()[1]];
    let [lr, lc] = [lhs.strides()[0], lhs.strides()[1]];
    let [rr, rc] = [rhs.strides()[0], rhs.strides()[1]];
    // SAFETY: the pointers and strides come from live ndarray views of the stated shapes, the
    // destination is uniquely borrowed and does not alias the inputs (distinct borrows).
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            dc,
            dr,
            keep,
            lhs.as_ptr(),
            lc,
            lr,
            rhs.as_ptr(),
            rc,
            rr,
            if keep { F::one() } else { F::zero() },
            F::one(),
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}
