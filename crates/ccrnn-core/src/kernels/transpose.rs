//! Copying a column-major matrix into rows: the step from the coupling product, which the GEMM
//! kernels write column-major (trials contiguous), to the trials' rows of the trajectory
//! (neurons contiguous).

use crate::Real;
use ndarray::{ArrayView2, ArrayViewMut2};

/// `dst = src` for an `m × n` matrix `src` stored with unit row stride (column-major) and `dst`
/// with unit column stride (rows contiguous), that is, a transposition in memory.
///
/// `f32` goes by 8 × 8 blocks through AVX registers on CPUs that have AVX2 and FMA (the CPUs
/// whose elementwise kernels run the AVX2 copies, see [`super::simd`]); the last block of each dimension overlaps its neighbour
/// (elements written twice, with the same value), so only matrices narrower than 8 either way,
/// other layouts and `f64` take the element-by-element copy. The values are copied, not
/// computed, so both paths give the same result.
pub(crate) fn copy_transposed<F: Real>(mut dst: ArrayViewMut2<F>, src: ArrayView2<F>) {
    assert_eq!(dst.dim(), src.dim(), "copy_transposed: shape mismatch");
    #[cfg(target_arch = "x86_64")]
    if super::simd::avx2_fma() {
        let (m, n) = src.dim();
        let is_f32 = std::any::TypeId::of::<F>() == std::any::TypeId::of::<f32>();
        if is_f32 && m >= 8 && n >= 8 && src.strides()[0] == 1 && dst.strides()[1] == 1 {
            let (rs, cs) = (dst.strides()[0], src.strides()[1]);
            // SAFETY: the CPU has AVX (checked above); `F` is `f32`; both views are live, of shape m × n, with the strides
            // read here, and distinct borrows (no overlap); every block lies inside them.
            unsafe { avx::copy_transposed_f32(dst.as_mut_ptr().cast(), rs, src.as_ptr().cast(), cs, m, n) };
            return;
        }
    }
    dst.assign(&src);
}

#[cfg(target_arch = "x86_64")]
mod avx {
    use super::super::{BLOCK, block_starts};
    use std::arch::x86_64::*;

    const _: () = assert!(BLOCK == 8, "8 × 8 register blocks");

    /// # Safety
    /// Element `(j, i)` of an `m × n` matrix (`m, n ≥ 8`) is at `src + j + i·cs` and is
    /// copied to `dst + j·rs + i`; all those addresses are valid, and the two do not overlap.
    #[target_feature(enable = "avx")]
    pub(super) unsafe fn copy_transposed_f32(dst: *mut f32, rs: isize, src: *const f32, cs: isize, m: usize, n: usize) {
        for j0 in block_starts(m).map(|j| j as isize) {
            for i0 in block_starts(n).map(|i| i as isize) {
                // load columns i0..i0+8, each over rows j0..j0+8
                let c: [__m256; 8] = std::array::from_fn(|l| {
                    // SAFETY: inside the matrix by the caller's contract
                    unsafe { _mm256_loadu_ps(src.offset(j0 + (i0 + l as isize) * cs)) }
                });
                let r = transpose8(c);
                for (k, row) in r.iter().enumerate() {
                    // SAFETY: inside the matrix by the caller's contract
                    unsafe { _mm256_storeu_ps(dst.offset((j0 + k as isize) * rs + i0), *row) };
                }
            }
        }
    }

    /// 8 × 8 transpose of registers: `out[k][l] = c[l][k]`.
    #[inline]
    #[target_feature(enable = "avx")]
    fn transpose8(c: [__m256; 8]) -> [__m256; 8] {
        let t0 = _mm256_unpacklo_ps(c[0], c[1]);
        let t1 = _mm256_unpackhi_ps(c[0], c[1]);
        let t2 = _mm256_unpacklo_ps(c[2], c[3]);
        let t3 = _mm256_unpackhi_ps(c[2], c[3]);
        let t4 = _mm256_unpacklo_ps(c[4], c[5]);
        let t5 = _mm256_unpackhi_ps(c[4], c[5]);
        let t6 = _mm256_unpacklo_ps(c[6], c[7]);
        let t7 = _mm256_unpackhi_ps(c[6], c[7]);
        let s0 = _mm256_shuffle_ps::<0x44>(t0, t2);
        let s1 = _mm256_shuffle_ps::<0xee>(t0, t2);
        let s2 = _mm256_shuffle_ps::<0x44>(t1, t3);
        let s3 = _mm256_shuffle_ps::<0xee>(t1, t3);
        let s4 = _mm256_shuffle_ps::<0x44>(t4, t6);
        let s5 = _mm256_shuffle_ps::<0xee>(t4, t6);
        let s6 = _mm256_shuffle_ps::<0x44>(t5, t7);
        let s7 = _mm256_shuffle_ps::<0xee>(t5, t7);
        [
            _mm256_permute2f128_ps::<0x20>(s0, s4),
            _mm256_permute2f128_ps::<0x20>(s1, s5),
            _mm256_permute2f128_ps::<0x20>(s2, s6),
            _mm256_permute2f128_ps::<0x20>(s3, s7),
            _mm256_permute2f128_ps::<0x31>(s0, s4),
            _mm256_permute2f128_ps::<0x31>(s1, s5),
            _mm256_permute2f128_ps::<0x31>(s2, s6),
            _mm256_permute2f128_ps::<0x31>(s3, s7),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, ShapeBuilder, s};

    /// Every shape around the block size, f32 (blocked path) and f64 (plain copy), into row
    /// views with a gap between rows as the trajectory's rings have.
    #[test]
    fn transposed_copy_equals_the_plain_copy() {
        for m in [1, 7, 8, 9, 16, 30, 33] {
            for n in [1, 5, 8, 13, 24, 300] {
                let src = Array2::from_shape_fn((m, n).f(), |(j, i)| (j * 1000 + i) as f32 + 0.5);
                let mut big = Array2::<f32>::from_elem((m, n + 7), -1.0);
                copy_transposed(big.slice_mut(s![.., 2..n + 2]), src.view());
                assert_eq!(big.slice(s![.., 2..n + 2]), src, "f32 {m} × {n}");
                assert!(
                    big.slice(s![.., ..2])
                        .iter()
                        .chain(big.slice(s![.., n + 2..]))
                        .all(|&x| x == -1.0)
                );
                let src64 = src.mapv(f64::from);
                let mut dst64 = Array2::<f64>::zeros((m, n));
                copy_transposed(dst64.view_mut(), src64.view());
                assert_eq!(dst64, src64, "f64 {m} × {n}");
            }
        }
    }
}
