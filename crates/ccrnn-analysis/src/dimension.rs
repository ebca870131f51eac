//! Dimensionality of activity.

use ndarray::{ArrayView2, Axis};

/// Participation ratio PR = (Σλ)² / Σλ² of the covariance of `samples` (`S × N`: samples of N
/// neurons; pool trials and time steps into S). Computed from tr C and ‖C‖_F, without an
/// eigen-decomposition; between 1 (one dimension) and N (isotropic). NaN for fewer than two
/// samples or constant activity.
pub fn participation_ratio(samples: ArrayView2<f64>) -> f64 {
    let s = samples.nrows();
    if s < 2 {
        return f64::NAN;
    }
    let mean = samples.mean_axis(Axis(0)).expect("s >= 2");
    let xc = &samples - &mean.view().insert_axis(Axis(0));
    let c = ccrnn_core::kernels::product(xc.t(), xc.view()) / (s as f64 - 1.0);
    let tr = c.diag().sum();
    let fro2 = c.iter().map(|x| x * x).sum::<f64>();
    if fro2 > 0.0 { tr * tr / fro2 } else { f64::NAN }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;

    #[test]
    fn isotropic_and_one_dimensional_limits() {
        // Orthogonal ±1 patterns: covariance ∝ identity on 4 neurons → PR = 4.
        let x = Array2::from_shape_fn((8, 4), |(s, i)| if (s >> (i % 3)) & 1 == 1 { 1.0 } else { -1.0 });
        let x = {
            let mut x = x;
            for s in 0..8 {
                x[(s, 3)] = if s.count_ones() % 2 == 1 { 1.0 } else { -1.0 };
            }
            x
        };
        assert!((participation_ratio(x.view()) - 4.0).abs() < 1e-9);
        // All neurons proportional to one signal → PR = 1.
        let y = Array2::from_shape_fn((50, 6), |(s, i)| (s as f64).sin() * (i + 1) as f64);
        assert!((participation_ratio(y.view()) - 1.0).abs() < 1e-9);
    }
}
