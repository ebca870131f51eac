//! Hot elementwise kernels of the time loop: written branch-free over slices so that the
//! compiler vectorises them, and shared by the forward and backward passes.
//!
//! The matrix products live behind [`crate::Coupling`]; this module holds what no crate does:
//! the activation of a row of neurons, an `f32` softplus/logistic pair built from a
//! polynomial `exp` and a `log1p` series, and Gaussian noise by a vectorisable Box–Muller
//! transform, all without branches or calls into libm.

use crate::{Activation, Real};

pub mod fixed_order;
pub mod simd;
mod transpose;
pub(crate) mod xoshiro;
pub(crate) use transpose::copy_transposed;

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
    let shifted = x * LOG2E + SHIFTER;
    let n = shifted - SHIFTER;
    let r = (x - n * LN2_HI) - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0 + r * (1.0 / 5040.0)))))));
    // 2^n from the bits of `shifted`, whose mantissa holds 0x40_0000 + n (n ∈ [−126, 0]):
    // integer lanes only (a float-to-int `as` cast would be scalarised to handle saturation).
    let scale = f32::from_bits(shifted.to_bits().wrapping_sub(0x4b40_0000 - 127) << 23);
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

/// `ln x` for `x ∈ (0, 1]` in `f32`, branch-free: `x = m 2^e` with `m ∈ [√½, √2)`, then
/// `ln m = 2 atanh(s)`, `s = (m − 1)/(m + 1)`, summed to `s^11` (error < 1e-9 relative).
#[inline(always)]
fn ln_unit_f32(x: f32) -> f32 {
    let bits = x.to_bits();
    // exponent and mantissa in [1, 2), then folded to [√½, √2)
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    m = if big { m * 0.5 } else { m };
    e += big as i32;
    let s = (m - 1.0) / (m + 1.0);
    let s2 = s * s;
    let series = 1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0 + s2 * (1.0 / 11.0)))));
    e as f32 * std::f32::consts::LN_2 + 2.0 * s * series
}

/// Two independent standard normal draws (Box–Muller) from two random 32-bit words,
/// branch-free so that a loop over many draws vectorises with 32-bit lanes: the top 24 bits of
/// `radius` give the radius' uniform `u ∈ (0, 1]`; of `angle`, the top 2 bits give the quadrant
/// and the low 22 bits the angle within it (`θ ∈ [−π/4, π/4)`), where Taylor series of sin and
/// cos are accurate to < 2e-9.
#[inline(always)]
pub(crate) fn normal_pair_f32(radius: u32, angle: u32) -> (f32, f32) {
    let u = ((radius >> 8) + 1) as f32 * (1.0 / 16_777_216.0);
    let quadrant = angle >> 30;
    let v = (angle & 0x3f_ffff) as f32 * (1.0 / 4_194_304.0);
    let r = (-2.0 * ln_unit_f32(u)).sqrt();
    let x = std::f32::consts::FRAC_PI_2 * (v - 0.5);
    let x2 = x * x;
    let sin = x * (1.0 + x2 * (-1.0 / 6.0 + x2 * (1.0 / 120.0 + x2 * (-1.0 / 5040.0 + x2 * (1.0 / 362_880.0)))));
    let cos =
        1.0 + x2 * (-0.5 + x2 * (1.0 / 24.0 + x2 * (-1.0 / 720.0 + x2 * (1.0 / 40_320.0 + x2 * (-1.0 / 3_628_800.0)))));
    // rotate by quadrant · π/2 with selects: q = 1 → (−sin, cos), 2 → (−cos, −sin), 3 → (sin, −cos)
    let swap = quadrant & 1 == 1;
    let (c, s) = (if swap { sin } else { cos }, if swap { cos } else { sin });
    let c = if quadrant == 1 || quadrant == 2 { -c } else { c };
    let s = if quadrant >= 2 { -s } else { s };
    (r * c, r * s)
}

/// Width of the blocks of [`block_starts`]: one AVX register of `f32`.
const BLOCK: usize = 8;

/// Starts of blocks of exactly `BLOCK` elements covering `0..n` (`n ≥ BLOCK`): `0, BLOCK,
/// 2 BLOCK, …`, the last one moved back to end at `n`, so overlapping its neighbour. A loop
/// over such blocks compiles to full-width vector code with no scalar remainder (which for rows
/// of a few hundred neurons costs as much as a tenth of the vector loop); it suits kernels whose
/// every output element is computed from inputs alone (never updated in place), so that writing
/// an element twice gives the same value.
#[inline(always)]
fn block_starts(n: usize) -> impl Iterator<Item = usize> {
    debug_assert!(n >= BLOCK);
    (0..n.div_ceil(BLOCK)).map(move |b| (b * BLOCK).min(n - BLOCK))
}

/// Standard normal pairs `(first[k], second[k])` from words `(radius[k], angle[k])`.
#[inline(always)]
fn normal_pairs<F: Real>(radius: &[u32], angle: &[u32], first: &mut [F], second: &mut [F]) {
    let n = radius.len();
    let (angle, first, second) = (&angle[..n], &mut first[..n], &mut second[..n]);
    for k in 0..n {
        let (z1, z2) = normal_pair_f32(radius[k], angle[k]);
        first[k] = F::lit(z1 as f64);
        second[k] = F::lit(z2 as f64);
    }
}

/// Softplus rates and their slopes of a run of neurons (see [`activate_row`]); `UNIT`: every
/// `β` is 1.
#[inline(always)]
fn softplus_slices<F: Real, const UNIT: bool>(h: &[F], bx: &[F], beta: &[F], phi: &mut [F], dphi: &mut [F]) {
    let n = h.len();
    let (bx, beta, phi, dphi) = (&bx[..n], &beta[..n], &mut phi[..n], &mut dphi[..n]);
    for i in 0..n {
        if UNIT {
            (phi[i], dphi[i]) = F::softplus_logistic(h[i] + bx[i]);
        } else {
            let (sp, sg) = F::softplus_logistic(beta[i] * (h[i] + bx[i]));
            phi[i] = sp / beta[i];
            dphi[i] = sg;
        }
    }
}

/// [`softplus_slices`] over a row, in overlapping blocks.
#[inline(always)]
fn softplus_row<F: Real, const UNIT: bool>(h: &[F], bx: &[F], beta: &[F], phi: &mut [F], dphi: &mut [F]) {
    let n = h.len();
    if n < BLOCK {
        return softplus_slices::<F, UNIT>(h, bx, beta, phi, dphi);
    }
    for i0 in block_starts(n) {
        let r = i0..i0 + BLOCK;
        let (phi, dphi) = (&mut phi[r.clone()], &mut dphi[r.clone()]);
        softplus_slices::<F, UNIT>(&h[r.clone()], &bx[r.clone()], &beta[r], phi, dphi);
    }
}

/// Fills `out` with standard normal draws made from the random words in `words`
/// (`words.len() >= 2 ⌈len/2⌉`): with `half = ⌈len/2⌉`, pair `k` takes its radius from word
/// `k` and its angle from word `half + k`, and gives draws `k` and `k + half`. Every access is
/// contiguous, so the loop runs in full-width 32-bit SIMD lanes.
#[inline(always)]
pub(crate) fn fill_normals<F: Real>(words: &[u32], out: &mut [F]) {
    let half = out.len().div_ceil(2);
    let (first, second) = out.split_at_mut(half);
    let (radius, angle) = (&words[..half], &words[half..2 * half]);
    let pairs = second.len();
    if pairs < BLOCK {
        normal_pairs(&radius[..pairs], &angle[..pairs], first, second);
    } else {
        for k0 in block_starts(pairs) {
            let r = k0..k0 + BLOCK;
            normal_pairs(
                &radius[r.clone()],
                &angle[r.clone()],
                &mut first[r.clone()],
                &mut second[r],
            );
        }
    }
    if first.len() > second.len() {
        first[half - 1] = F::lit(normal_pair_f32(radius[half - 1], angle[half - 1]).0 as f64);
    }
}

/// For one row of neurons: `phi[i] = φ(h[i] + bx[i])` and `dphi[i] = φ′(h[i] + bx[i])` with
/// smoothness `beta[i]`; `unit_beta` says every `beta[i]` is 1, which softplus then skips
/// multiplying and dividing by (exact operations then, so the numbers are the same).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn activate_row<F: Real>(
    act: Activation,
    h: &[F],
    bx: &[F],
    beta: &[F],
    unit_beta: bool,
    phi: &mut [F],
    dphi: &mut [F],
) {
    let n = h.len();
    let (h, bx, beta, phi, dphi) = (&h[..n], &bx[..n], &beta[..n], &mut phi[..n], &mut dphi[..n]);
    match act {
        Activation::Softplus if unit_beta => softplus_row::<F, true>(h, bx, beta, phi, dphi),
        Activation::Softplus => softplus_row::<F, false>(h, bx, beta, phi, dphi),
        _ => {
            for i in 0..n {
                let (p, d, _) = act.eval(h[i] + bx[i], beta[i]);
                phi[i] = p;
                dphi[i] = d;
            }
        }
    }
}

/// Most stimulus channels whose input drive [`add_drive`] adds; a stimulus of more channels is
/// a real matrix product, left to GEMM.
pub(crate) const THIN_DRIVE: usize = 2;

/// Adds the input drive of a stimulus of at most [`THIN_DRIVE`] channels `u` (input weights
/// `w[c]`, rows of `W_in`) to one trial's row: `z[i] = (z[i] + u₀ w₀[i]) + u₁ w₁[i]`, unfused
/// and in this order, which is what the `gemm` crate computes for a product of inner dimension
/// ≤ 2 (as a scalar loop), so the numbers are the same whichever does it.
#[inline(always)]
pub(crate) fn add_drive<F: Real>(z: &mut [F], u: &[F], w: &[Vec<F>]) {
    let n = z.len();
    match *u {
        [] => {}
        [u0] => {
            let w0 = &w[0][..n];
            (0..n).for_each(|i| z[i] += u0 * w0[i]);
        }
        [u0, u1] => {
            let (w0, w1) = (&w[0][..n], &w[1][..n]);
            (0..n).for_each(|i| z[i] = (z[i] + u0 * w0[i]) + u1 * w1[i]);
        }
        _ => panic!("add_drive: {} channels (at most {THIN_DRIVE})", u.len()),
    }
}

/// Asks the CPU to bring `x` into cache ahead of use (a hint: no effect on results, a no-op
/// off x86-64). For rows that a loop will read a step later from arrays too large for the
/// cache, at strides that the hardware prefetchers do not follow.
#[inline]
pub(crate) fn prefetch<F>(x: &[F]) {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
        const LINE: usize = 64;
        let (p, bytes) = (x.as_ptr().cast::<i8>(), std::mem::size_of_val(x));
        for off in (0..bytes).step_by(LINE) {
            // SAFETY: a prefetch never faults; the address is inside `x`.
            unsafe { _mm_prefetch::<_MM_HINT_T0>(p.wrapping_add(off)) };
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = x;
}

static REPRODUCIBLE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Turns the reproducible mode on or off for the whole process (like PyTorch's
/// `torch.use_deterministic_algorithms`): on, every matrix product runs
/// [`fixed_order::matmul`], and ccrnn's linear algebra its own fixed-order routines, so that a
/// seed gives the same numbers bit for bit on every x86-64 machine, AVX2 or AVX-512 (slower:
/// no fused multiply-adds, no blocked sums). Off (the default), the products run the `gemm`
/// crate's kernels, which differ between CPUs in the last bits. Set it before any work starts.
pub fn set_reproducible(on: bool) {
    REPRODUCIBLE.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the reproducible mode is on (see [`set_reproducible`]).
#[inline]
pub fn reproducible() -> bool {
    REPRODUCIBLE.load(std::sync::atomic::Ordering::Relaxed)
}

/// Whether a matrix product overwrites its destination or adds to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    /// `dst = lhs · rhs`.
    Overwrite,
    /// `dst += lhs · rhs`.
    Accumulate,
}

/// `dst = lhs · rhs` or `dst += lhs · rhs` (`write`): through the `gemm` crate (runtime
/// dispatch to AVX2/AVX-512/NEON kernels), or in the [`reproducible`] mode by
/// [`fixed_order::matmul`]. Single-threaded: callers parallelise over trial chunks. Any strides
/// are accepted, so views into `B × T × N` arrays need no copy.
///
/// Each element of `dst` is reduced over `k` in an order that does not depend on how many
/// rows `lhs` has, so results do not depend on how trials are chunked.
pub fn matmul<F: Real>(
    write: Write,
    mut dst: ndarray::ArrayViewMut2<F>,
    lhs: ndarray::ArrayView2<F>,
    rhs: ndarray::ArrayView2<F>,
) {
    let keep = write == Write::Accumulate;
    if reproducible() {
        return fixed_order::matmul(keep, dst, lhs, rhs);
    }
    let (m, k, n) = fixed_order::product_dims(&dst, &lhs, &rhs);
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

/// `lhs · rhs` as a new row-major array, by [`matmul`] (so the reproducible mode covers it).
pub fn product<F: Real>(lhs: ndarray::ArrayView2<F>, rhs: ndarray::ArrayView2<F>) -> ndarray::Array2<F> {
    let mut out = ndarray::Array2::zeros((lhs.nrows(), rhs.ncols()));
    matmul(Write::Overwrite, out.view_mut(), lhs, rhs);
    out
}

/// The elementwise kernels this process runs: `"avx2-fma"` or `"baseline"` (SSE2); see
/// [`simd`]. Both give the same numbers.
pub fn elementwise_path() -> &'static str {
    if simd::avx2_fma() { "avx2-fma" } else { "baseline" }
}

/// The matrix-product kernels this process runs: `"fixed-order"` in the [`reproducible`] mode
/// (the same numbers on every CPU), else the `gemm` crate's: `"avx512"` (built with the
/// `avx512` feature, on a CPU that has AVX-512F), `"avx2-fma"`, or `"scalar"`. Machines on
/// different `gemm` paths sum the products in different orders, so their results agree to
/// rounding, not bit for bit; run directories record this value.
pub fn matmul_path() -> &'static str {
    if reproducible() {
        return "fixed-order";
    }
    #[cfg(target_arch = "x86_64")]
    {
        #[cfg(feature = "avx512")]
        if std::arch::is_x86_feature_detected!("avx512f") {
            return "avx512";
        }
        if std::arch::is_x86_feature_detected!("fma") {
            return "avx2-fma";
        }
    }
    "scalar"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_kernel_is_accurate() {
        let mut worst = 0.0f64;
        for k in 1..=1_000_000u32 {
            let x = k as f32 / 1_000_000.0;
            let err = (ln_unit_f32(x) as f64 - (x as f64).ln()).abs();
            worst = worst.max(err);
        }
        assert!(worst < 2e-6, "{worst:e}");
    }

    /// The input drive added row by row is bit for bit what GEMM adds (the simulation's
    /// numbers must not depend on which of the two paths a stimulus takes).
    #[test]
    fn drive_rows_equal_the_gemm_product() {
        use ndarray::{Array2, ShapeBuilder};
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let (bc, n) = (13, 37);
        for channels in 0..=THIN_DRIVE {
            let mut draw = |shape: (usize, usize)| {
                Array2::from_shape_fn(shape, |_| (rng.next_u32() >> 8) as f32 / 8_388_608.0 - 1.0)
            };
            let (z0, u, w) = (draw((bc, n)), draw((bc, channels)), draw((channels, n)));
            let mut by_gemm = Array2::<f32>::zeros((bc, n).f());
            by_gemm.assign(&z0);
            matmul(Write::Accumulate, by_gemm.view_mut(), u.view(), w.view());
            let rows: Vec<Vec<f32>> = w.rows().into_iter().map(|r| r.to_vec()).collect();
            let mut by_rows = z0.to_owned();
            for (j, mut z) in by_rows.rows_mut().into_iter().enumerate() {
                add_drive(z.as_slice_mut().unwrap(), u.row(j).as_slice().unwrap(), &rows);
            }
            let bits = |a: &Array2<f32>| a.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(&by_rows),
                bits(&by_gemm.as_standard_layout().to_owned()),
                "{channels} channels"
            );
        }
    }

    #[test]
    fn box_muller_draws_are_standard_normal() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        let n = 2_000_000;
        let words: Vec<u32> = (0..n).map(|_| rng.next_u32()).collect();
        let mut z = vec![0.0f64; n];
        fill_normals(&words, &mut z);
        let mean = z.iter().sum::<f64>() / n as f64;
        let var = z.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        let kurt = z.iter().map(|x| (x - mean).powi(4)).sum::<f64>() / n as f64 / (var * var);
        let tail = |c: f64| z.iter().filter(|x| x.abs() > c).count() as f64 / n as f64;
        assert!(mean.abs() < 3e-3, "mean {mean}");
        assert!((var - 1.0).abs() < 5e-3, "variance {var}");
        assert!((kurt - 3.0).abs() < 0.03, "kurtosis {kurt}");
        assert!((tail(1.0) - 0.317_311).abs() < 2e-3, "P(|z|>1) = {}", tail(1.0));
        assert!((tail(2.0) - 0.045_500).abs() < 8e-4, "P(|z|>2) = {}", tail(2.0));
        assert!((tail(3.0) - 0.002_700).abs() < 2e-4, "P(|z|>3) = {}", tail(3.0));
        // the two draws of a pair are uncorrelated
        let c = (0..n / 2).map(|k| z[k] * z[k + n / 2]).sum::<f64>() / (n / 2) as f64;
        assert!(c.abs() < 5e-3, "pair correlation {c}");
        // odd lengths use the first draw of one more pair
        let mut odd = vec![0.0f32; 3];
        fill_normals(&words[..4], &mut odd);
        assert_eq!(odd[1], normal_pair_f32(words[1], words[3]).0);
        assert_eq!(odd[2], normal_pair_f32(words[0], words[2]).1);
    }
}
