//! Single-neuron nonlinearities φ, their slope ∂φ/∂x and their smoothness derivative ∂φ/∂β.

use crate::Real;

/// The rate nonlinearity φ of a neuron.
///
/// Only [`Activation::Softplus`] uses the smoothness β; for the others ∂φ/∂β = 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Activation {
    /// φ_β(x) = (1/β) log(1 + e^{βx}), computed as (max(z, 0) + log1p(e^{−|z|}))/β with z = βx,
    /// which never overflows and is exact to rounding for every z (for z ≳ 30 the log1p term
    /// underflows to a negligible correction, so the branch is linear). Large β → ReLU.
    /// φ′ = σ(βx); ∂φ/∂β = (x σ(βx) − φ)/β.
    Softplus,
    /// φ(x) = max(x, 0); φ′ = 1 for x > 0, else 0.
    Relu,
    /// φ(x) = tanh x; φ′ = 1 − tanh² x.
    Tanh,
    /// φ(x) = x; φ′ = 1.
    Linear,
    /// φ(x) = 1/(1 + e^{−x}); φ′ = φ(1 − φ).
    Sigmoid,
}

/// Logistic function, stable for any sign of `z`.
#[inline(always)]
fn logistic<F: Real>(z: F) -> F {
    if z >= F::zero() {
        F::one() / (F::one() + (-z).exp())
    } else {
        let e = z.exp();
        e / (F::one() + e)
    }
}

impl Activation {
    /// All names accepted by [`Activation::from_name`].
    pub const NAMES: [&'static str; 5] = ["softplus", "relu", "tanh", "linear", "sigmoid"];

    /// Parses a lower-case name (`"softplus"`, `"relu"`, `"tanh"`, `"linear"`, `"sigmoid"`).
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "softplus" => Self::Softplus,
            "relu" => Self::Relu,
            "tanh" => Self::Tanh,
            "linear" => Self::Linear,
            "sigmoid" => Self::Sigmoid,
            _ => return None,
        })
    }

    /// The lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Softplus => "softplus",
            Self::Relu => "relu",
            Self::Tanh => "tanh",
            Self::Linear => "linear",
            Self::Sigmoid => "sigmoid",
        }
    }

    /// φ(x) with smoothness β.
    #[inline(always)]
    pub fn phi<F: Real>(self, x: F, beta: F) -> F {
        match self {
            Self::Softplus => F::softplus_logistic(beta * x).0 / beta,
            Self::Relu => x.max(F::zero()),
            Self::Tanh => x.tanh(),
            Self::Linear => x,
            Self::Sigmoid => logistic(x),
        }
    }

    /// ∂φ/∂x.
    #[inline(always)]
    pub fn dphi<F: Real>(self, x: F, beta: F) -> F {
        self.eval(x, beta).1
    }

    /// (φ, ∂φ/∂x, ∂φ/∂β) at once, sharing the exponentials.
    #[inline(always)]
    pub fn eval<F: Real>(self, x: F, beta: F) -> (F, F, F) {
        match self {
            Self::Softplus => {
                let (sp, s) = F::softplus_logistic(beta * x);
                let phi = sp / beta;
                (phi, s, (x * s - phi) / beta)
            }
            Self::Relu => {
                if x > F::zero() {
                    (x, F::one(), F::zero())
                } else {
                    (F::zero(), F::zero(), F::zero())
                }
            }
            Self::Tanh => {
                let t = x.tanh();
                (t, F::one() - t * t, F::zero())
            }
            Self::Linear => (x, F::one(), F::zero()),
            Self::Sigmoid => {
                let s = logistic(x);
                (s, s * (F::one() - s), F::zero())
            }
        }
    }

    /// True if φ depends on β (only softplus).
    pub fn uses_beta(self) -> bool {
        matches!(self, Self::Softplus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softplus_is_stable_and_exact() {
        let a = Activation::Softplus;
        // huge positive: linear branch, no overflow
        assert_eq!(a.phi(1e4_f64, 1.0), 1e4);
        assert!(a.phi(1e30_f32, 5.0).is_finite());
        // huge negative: tiny positive, no underflow to NaN
        let v = a.phi(-800.0_f64, 1.0);
        assert!((0.0..1e-300).contains(&v));
        // moderate values against the naive formula
        for &x in &[-3.0_f64, -0.5, 0.0, 0.7, 4.0] {
            for &b in &[0.25_f64, 1.0, 4.0] {
                let naive = (1.0 + (b * x).exp()).ln() / b;
                assert!((a.phi(x, b) - naive).abs() < 1e-14);
            }
        }
    }

    #[test]
    fn f32_softplus_kernel_is_accurate() {
        let mut worst_sp = 0.0f64;
        let mut worst_sg = 0.0f64;
        let mut z = -120.0f64;
        while z < 120.0 {
            let (sp32, sg32) = f32::softplus_logistic(z as f32);
            let (sp64, sg64) = f64::softplus_logistic(z as f32 as f64);
            // relative error where the value is representable in f32, absolute below that
            let rel = |a: f64, b: f64| (a - b).abs() / b.abs().max(1e-30);
            if sp64 > 1e-35 {
                worst_sp = worst_sp.max(rel(sp32 as f64, sp64));
            }
            if sg64 > 1e-35 {
                worst_sg = worst_sg.max(rel(sg32 as f64, sg64));
            }
            z += 0.0137;
        }
        assert!(
            worst_sp < 1e-6 && worst_sg < 1e-6,
            "softplus {worst_sp:e}, logistic {worst_sg:e}"
        );
    }

    #[test]
    fn derivatives_match_finite_differences() {
        for act in [
            Activation::Softplus,
            Activation::Relu,
            Activation::Tanh,
            Activation::Linear,
            Activation::Sigmoid,
        ] {
            for &x in &[-2.3_f64, -0.4, 0.3, 1.7, 35.0, -35.0] {
                for &b in &[0.5_f64, 1.0, 3.0] {
                    let (p, dx, db) = act.eval(x, b);
                    assert!((p - act.phi(x, b)).abs() < 1e-14);
                    let h = 1e-6;
                    let fdx = (act.phi(x + h, b) - act.phi(x - h, b)) / (2.0 * h);
                    let fdb = (act.phi(x, b + h) - act.phi(x, b - h)) / (2.0 * h);
                    assert!((dx - fdx).abs() < 1e-7, "{act:?} dx at {x}: {dx} vs {fdx}");
                    assert!((db - fdb).abs() < 1e-7, "{act:?} dβ at {x},{b}: {db} vs {fdb}");
                }
            }
        }
    }
}
