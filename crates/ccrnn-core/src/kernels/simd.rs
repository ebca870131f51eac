//! Run-time choice of instruction set for the hot elementwise loops.
//!
//! ccrnn is built for the baseline x86-64 target (SSE2), so that the binary and the wheel run
//! on any x86-64 CPU. The time loops are written for the compiler to vectorise; [`fast`] runs
//! such a loop's body in a copy compiled for AVX2 and FMA when the CPU has them (Intel Haswell
//! 2013+, AMD Zen and later), so the wide vectors are used where they exist. The numbers are
//! the same either way: every loop computes each element by the same operations in the same
//! order (Rust never fuses a multiply and an add on its own, and never reorders a float sum),
//! only more elements at once. The matrix products choose their own kernels (the `gemm` crate).

/// Environment variable that, set to `baseline`, makes a process run the baseline copies on any
/// CPU (to compare the two paths on one machine; the numbers must not change).
pub const FORCE_BASELINE_VAR: &str = "CCRNN_ELEMENTWISE";

/// Whether this process runs the AVX2/FMA copies: the CPU has AVX2 and FMA and
/// [`FORCE_BASELINE_VAR`] is not `baseline` (decided once, then a load of a cached flag).
#[inline]
pub fn avx2_fma() -> bool {
    static CHOICE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *CHOICE.get_or_init(|| {
        let forced = std::env::var(FORCE_BASELINE_VAR).is_ok_and(|v| v == "baseline");
        #[cfg(target_arch = "x86_64")]
        let cpu = std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma");
        #[cfg(not(target_arch = "x86_64"))]
        let cpu = false;
        cpu && !forced
    })
}

/// Defines a hot function whose body runs from a copy compiled for AVX2 and FMA when
/// [`avx2_fma`] says so, from the baseline copy otherwise:
///
/// ```ignore
/// multiversion! {
///     /// Doc comment of `step`.
///     pub(crate) fn step<F: Real>(x: &mut [F], y: &[F]) { … }
/// }
/// ```
///
/// Arguments are plain names (a body that needs `mut` or a pattern rebinds them). The body is
/// `#[inline(always)]` into both copies, so each holds all of it and the `#[inline]` kernels
/// it calls (a closure called from both copies would be compiled once, for the baseline, and
/// merely called from the AVX2 one).
macro_rules! multiversion {
    ($(#[$attr:meta])* $vis:vis fn $name:ident<$($g:ident: $bound:path),*>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$attr])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                if $crate::kernels::simd::avx2_fma() {
                    // SAFETY: the CPU has AVX2 and FMA (checked just above).
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
}
pub(crate) use multiversion;
