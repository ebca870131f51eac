//! Losses: mean squared error on recorded neurons' activity or on the readout, and the seed
//! `∂L/∂a` (and `∂L/∂y`) they hand to backpropagation.

use crate::error::{check_finite, check_shape};
use crate::kernels::matmul;
use crate::{Error, Model, NeuronSet, Real, Result, Trajectory};
use ndarray::{Array3, ArrayView3};

/// What the loss compares the simulation with.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a, F> {
    /// Activity of the recorded neurons: `data` is `B × T × M`, column `m` holding neuron
    /// `recorded.indices()[m]`.
    Activity {
        /// The recorded neurons.
        recorded: &'a NeuronSet,
        /// Their activity, `B × T × M`.
        data: ArrayView3<'a, F>,
    },
    /// The task readout: `data` is `B × T × n_out`.
    Readout {
        /// Target readout, `B × T × n_out`.
        data: ArrayView3<'a, F>,
    },
}

/// The gradient of the loss with respect to the simulation's outputs.
#[derive(Debug, Clone, PartialEq)]
pub struct Seed<F> {
    /// `∂L/∂a`, `B × T × N` (includes the readout's contribution `∂L/∂y W_outᵀ`).
    pub a_bar: Array3<F>,
    /// `∂L/∂y`, `B × T × n_out`, for readout losses (needed for the `W_out` gradient).
    pub y_bar: Option<Array3<F>>,
}

impl<F: Real> Target<'_, F> {
    /// Checks the target's shape and values against a trajectory's `B × T` and the model.
    pub fn validate(&self, model: &Model<F>, b: usize, t: usize) -> Result<()> {
        match self {
            Target::Activity { recorded, data } => {
                if recorded.is_empty() {
                    return Err(Error::invalid("recorded", "empty set: record at least one neuron"));
                }
                if let Some(&i) = recorded.indices().last()
                    && i >= model.n()
                {
                    return Err(Error::invalid(
                        "recorded",
                        format!("neuron index {i} out of range (network has {} neurons)", model.n()),
                    ));
                }
                check_shape("target.activity", &[b, t, recorded.len()], data.shape())?;
                check_finite("target.activity", data.iter())
            }
            Target::Readout { data } => {
                check_shape("target.readout", &[b, t, model.n_out()], data.shape())?;
                check_finite("target.readout", data.iter())
            }
        }
    }
}

/// Mean squared error `L = mean over trials, steps and channels of (x − target)²`, and its seed.
pub fn loss<F: Real>(model: &Model<F>, traj: &Trajectory<F>, target: &Target<F>) -> Result<(F, Seed<F>)> {
    let (b, t, n) = traj.a.dim();
    target.validate(model, b, t)?;
    match target {
        Target::Activity { recorded, data } => {
            let idx = recorded.indices();
            let scale = 1.0 / (b * t * idx.len()) as f64;
            let two_s = F::lit(2.0 * scale);
            let mut a_bar = Array3::zeros((b, t, n));
            let mut sum = 0.0f64;
            for bb in 0..b {
                for tt in 0..t {
                    for (m, &i) in idx.iter().enumerate() {
                        let e = traj.a[(bb, tt, i)] - data[(bb, tt, m)];
                        sum += e.as_f64() * e.as_f64();
                        a_bar[(bb, tt, i)] = two_s * e;
                    }
                }
            }
            Ok((F::lit(sum * scale), Seed { a_bar, y_bar: None }))
        }
        Target::Readout { data } => {
            let k = model.n_out();
            let scale = 1.0 / (b * t * k) as f64;
            let two_s = F::lit(2.0 * scale);
            let mut sum = 0.0f64;
            let mut y_bar = &traj.y - data;
            for e in y_bar.iter_mut() {
                sum += e.as_f64() * e.as_f64();
                *e = two_s * *e;
            }
            let mut a_bar = Array3::zeros((b, t, n));
            {
                let yb = y_bar.view().into_shape_with_order((b * t, k)).expect("contiguous");
                let mut ab = a_bar.view_mut().into_shape_with_order((b * t, n)).expect("contiguous");
                matmul(false, ab.view_mut(), yb, model.w_out.t());
            }
            Ok((
                F::lit(sum * scale),
                Seed {
                    a_bar,
                    y_bar: Some(y_bar),
                },
            ))
        }
    }
}
