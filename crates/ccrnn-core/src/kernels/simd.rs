//! Run-time choice of instruction set for the hot elementwise loops.
//!
//! ccrnn is built for the baseline x86-64 target (SSE2), so that the binary and the wheel run
//! on any x86-64 CPU. The time loops are written for the compiler to vectorise; `multiversion!` runs
//! such a loop's body in a copy compiled for AVX2 and FMA when the CPU has them (Intel Haswell
//! 2013+, AMD Zen and later), so the wide vectors are used where they exist. The numbers are
//! the same either way: every loop computes each element by the same operations in the same
//! order (Rust never fuses a multiply and an add on its own, and never reorders a float sum),
//! only more elements at once. The matrix products choose their own kernels (the `gemm` crate),
//! except in the reproducible mode, whose product is one of these loops too.

/// Environment variable that caps the instruction set of ccrnn's own kernels, to compare the
/// paths on one machine (the numbers must not change): `baseline` runs the SSE2 copies on any
/// CPU, `avx2` the AVX2/FMA copies at most (no AVX-512). Unset or any other value: the best the
/// CPU has. The `gemm` and `faer` crates choose their kernels themselves and ignore it.
pub const KERNELS_VAR: &str = "CCRNN_KERNELS";

/// The instruction sets ccrnn's kernels have copies for, in increasing order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Isa {
    /// The x86-64 baseline (SSE2): every x86-64 CPU.
    Baseline,
    /// AVX2 and FMA (Intel Haswell 2013+, AMD Zen and later).
    Avx2Fma,
    /// AVX-512 F/VL on top of AVX2 (Intel Skylake-SP and later servers, AMD Zen 4+).
    Avx512,
}

impl Isa {
    /// The name recorded in run directories.
    pub fn name(self) -> &'static str {
        match self {
            Isa::Baseline => "baseline",
            Isa::Avx2Fma => "avx2-fma",
            Isa::Avx512 => "avx512",
        }
    }
}

/// The instruction set this process's kernels run: what the CPU has, capped by
/// [`KERNELS_VAR`] (decided once, then a load of a cached value).
#[inline]
pub fn isa() -> Isa {
    static CHOICE: std::sync::OnceLock<Isa> = std::sync::OnceLock::new();
    *CHOICE.get_or_init(|| {
        #[cfg(target_arch = "x86_64")]
        let cpu = {
            use std::arch::is_x86_feature_detected as has;
            if !(has!("avx2") && has!("fma")) {
                Isa::Baseline
            } else if has!("avx512f") && has!("avx512vl") {
                Isa::Avx512
            } else {
                Isa::Avx2Fma
            }
        };
        #[cfg(not(target_arch = "x86_64"))]
        let cpu = Isa::Baseline;
        let cap = match std::env::var(KERNELS_VAR).as_deref() {
            Ok("baseline") => Isa::Baseline,
            Ok("avx2") => Isa::Avx2Fma,
            _ => Isa::Avx512,
        };
        cpu.min(cap)
    })
}

/// Whether this process runs the AVX2/FMA (or wider) copies.
#[inline]
pub fn avx2_fma() -> bool {
    isa() >= Isa::Avx2Fma
}

/// Defines a hot function whose body runs from a copy compiled for AVX2 and FMA when
/// [`avx2_fma`] says so, from the baseline copy otherwise (`multiversion! { avx512 fn … }`
/// adds an AVX-512 copy, run when [`isa`] is [`Isa::Avx512`]):
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
    // `avx512` first: a third copy, compiled for AVX-512 (for kernels that gain from it).
    (avx512 $($def:tt)*) => {
        $crate::kernels::simd::multiversion!(@copies true, $($def)*);
    };
    (@copies $wide:literal, $(#[$attr:meta])* $vis:vis fn $name:ident<$($g:ident: $bound:path),*>($($arg:ident: $ty:ty),* $(,)?) $(-> $ret:ty)? $body:block) => {
        $(#[$attr])*
        #[allow(clippy::too_many_arguments)]
        $vis fn $name<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
            #[inline(always)]
            #[allow(clippy::too_many_arguments)]
            fn body<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? $body
            #[cfg(target_arch = "x86_64")]
            {
                use $crate::kernels::simd::{Isa, isa};
                #[target_feature(enable = "avx512f,avx512vl,avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx512<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                #[target_feature(enable = "avx2,fma")]
                #[allow(clippy::too_many_arguments)]
                fn avx2<$($g: $bound),*>($($arg: $ty),*) $(-> $ret)? {
                    body($($arg),*)
                }
                // SAFETY: the CPU has these instruction sets (checked by `isa`).
                if $wide && isa() == Isa::Avx512 {
                    return unsafe { avx512($($arg),*) };
                }
                if isa() >= Isa::Avx2Fma {
                    return unsafe { avx2($($arg),*) };
                }
            }
            body($($arg),*)
        }
    };
    ($($def:tt)*) => {
        $crate::kernels::simd::multiversion!(@copies false, $($def)*);
    };
}
pub(crate) use multiversion;
