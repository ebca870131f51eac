//! The floating-point type parameter: `f32` for speed, `f64` for checks.

use ndarray::{LinalgScalar, ScalarOperand};
use num_traits::{Float, FromPrimitive, ToPrimitive};
use std::fmt::{Debug, Display};
use std::iter::Sum;

/// A real scalar ccrnn computes in (`f32` or `f64`).
pub trait Real:
    Float
    + LinalgScalar
    + ScalarOperand
    + FromPrimitive
    + ToPrimitive
    + Sum
    + std::ops::AddAssign
    + std::ops::SubAssign
    + std::ops::MulAssign
    + std::ops::DivAssign
    + Debug
    + Display
    + Default
    + Send
    + Sync
    + 'static
{
    /// Converts an `f64` constant (exact for `f64`, rounded for `f32`).
    fn lit(x: f64) -> Self;
    /// Converts to `f64` (exact).
    fn as_f64(self) -> f64;
    /// `(softplus(z), logistic(z))` = `(log(1 + e^z), 1/(1 + e^{−z}))`, stable for every `z`.
    /// `f64` uses the platform's `exp` and `log1p`; `f32` uses a branch-free polynomial kernel
    /// (see [`crate::kernels`]) that the compiler vectorises, accurate to a few ulp.
    fn softplus_logistic(z: Self) -> (Self, Self);
}

impl Real for f32 {
    #[inline(always)]
    fn lit(x: f64) -> Self {
        x as f32
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn softplus_logistic(z: Self) -> (Self, Self) {
        crate::kernels::softplus_logistic_f32(z)
    }
}

impl Real for f64 {
    #[inline(always)]
    fn lit(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn as_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn softplus_logistic(z: Self) -> (Self, Self) {
        let e = (-z.abs()).exp();
        let sp = z.max(0.0) + e.ln_1p();
        let inv = 1.0 / (1.0 + e);
        (sp, if z >= 0.0 { inv } else { e * inv })
    }
}
