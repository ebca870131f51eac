//! Losses: mean squared error on recorded neurons' activity or on the readout, and the output
//! gradient `∂L/∂a` (and `∂L/∂y`) they hand to backpropagation.

use crate::error::{check_finite, check_shape};
use crate::{Error, Model, NeuronSet, Observation, Real, Result, Trajectory};
use ndarray::{Array3, ArrayView3, Axis};
use rayon::prelude::*;

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
    /// A recording of the recorded neurons seen through an observation model (frames of its
    /// own, missing values, an indicator filter, a scale and offset: [`crate::observe`]);
    /// column `m` of the observation is neuron `recorded.indices()[m]`. The loss is the mean
    /// squared error over the observed entries; gradients and Gauss–Newton products also cover
    /// the observation's trainable parameters, after the model's (see
    /// [`crate::ParamGrad::observation`]).
    Observed {
        /// The recorded neurons.
        recorded: &'a NeuronSet,
        /// Their observation: frames, data and the observation model.
        obs: &'a Observation<F>,
    },
}

/// The gradient of the loss with respect to the simulation's outputs, kept in the compact form
/// each loss produces (backpropagation expands it row by row, never as a dense `B × T × N`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OutputGrad<F> {
    /// `∂L/∂a` on recorded neurons: their indices and a `B × T × M` array.
    pub activity: Option<(Vec<usize>, Array3<F>)>,
    /// `∂L/∂y`, `B × T × n_out`, for readout losses.
    pub y_bar: Option<Array3<F>>,
    /// `∂L/∂φ` of an observation model's trainable parameters ([`Target::Observed`]; empty
    /// otherwise), passed through to [`crate::ParamGrad::observation`].
    pub observation: Vec<F>,
}

impl<F: Real> OutputGrad<F> {
    /// Checks the output gradient's shapes against a trajectory's `B × T` and the model.
    pub(crate) fn validate(&self, model: &Model<F>, b: usize, t: usize) -> Result<()> {
        if let Some((idx, v)) = &self.activity {
            check_shape("output_grad.activity", &[b, t, idx.len()], v.shape())?;
            if let Some(&i) = idx.iter().find(|&&i| i >= model.n()) {
                return Err(Error::invalid(
                    "output_grad.activity",
                    format!("neuron index {i} out of range"),
                ));
            }
        }
        if let Some(y) = &self.y_bar {
            check_shape("output_grad.y_bar", &[b, t, model.n_out()], y.shape())?;
        }
        Ok(())
    }
}

impl<F: Real> Target<'_, F> {
    /// The recorded neurons of an activity or observed target.
    pub fn recorded(&self) -> Option<&NeuronSet> {
        match self {
            Target::Activity { recorded, .. } | Target::Observed { recorded, .. } => Some(recorded),
            Target::Readout { .. } => None,
        }
    }

    /// Trainable parameters the target adds to the model's (an observation model's).
    pub fn n_params(&self) -> usize {
        match self {
            Target::Observed { obs, .. } => obs.n_params(),
            _ => 0,
        }
    }

    /// Checks the recorded neurons against the model.
    fn validate_recorded(&self, model: &Model<F>) -> Result<()> {
        let Some(recorded) = self.recorded() else {
            return Ok(());
        };
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
        Ok(())
    }

    /// Checks the target's shape and values against a trajectory's `B × T` and the model.
    pub fn validate(&self, model: &Model<F>, b: usize, t: usize) -> Result<()> {
        match self {
            Target::Activity { recorded, data } => {
                self.validate_recorded(model)?;
                check_shape("target.activity", &[b, t, recorded.len()], data.shape())?;
                check_finite(
                    "target.activity",
                    data.as_standard_layout().as_slice().expect("standard layout"),
                )
            }
            Target::Readout { data } => {
                check_shape("target.readout", &[b, t, model.n_out()], data.shape())?;
                check_finite(
                    "target.readout",
                    data.as_standard_layout().as_slice().expect("standard layout"),
                )
            }
            Target::Observed { recorded, obs } => {
                self.validate_recorded(model)?;
                obs.validate()?;
                let (ob, of, om) = obs.data.dim();
                check_shape("observation.data (trials, columns)", &[b, recorded.len()], &[ob, om])?;
                if obs.frames.steps() != t {
                    return Err(Error::invalid(
                        "observation.frames",
                        format!(
                            "read frames off {} steps, the simulation has {t} ({of} frames)",
                            obs.frames.steps()
                        ),
                    ));
                }
                Ok(())
            }
        }
    }
}

/// Mean squared error `L = mean over trials, steps and channels of (x − target)²`, and its seed.
pub fn loss<F: Real>(model: &Model<F>, traj: &Trajectory<F>, target: &Target<F>) -> Result<(F, OutputGrad<F>)> {
    if traj.a.is_empty() && !traj.dphi.is_empty() {
        return Err(Error::invalid(
            "trajectory",
            "`a` was not stored by this simulation (it kept only what a gradient needs)",
        ));
    }
    let (b, t, _) = traj.a.dim();
    target.validate(model, b, t)?;
    let pred = match target.recorded() {
        Some(recorded) => gather_columns(&traj.a, recorded.indices()),
        None => traj.y.clone(),
    };
    output_loss(pred, target)
}

/// The loss and seed of predictions `pred` already in the target's form (the recorded neurons'
/// activity `B × T × M`, or the readout), shapes checked by the caller.
pub(crate) fn output_loss<F: Real>(pred: Array3<F>, target: &Target<F>) -> Result<(F, OutputGrad<F>)> {
    let data = match target {
        Target::Activity { data, .. } | Target::Readout { data } => data,
        Target::Observed { recorded, obs } => {
            let (l, a_bar, observation) = obs.loss_and_grad(pred.view())?;
            return Ok((
                l,
                OutputGrad {
                    activity: Some((recorded.indices().to_vec(), a_bar)),
                    y_bar: None,
                    observation,
                },
            ));
        }
    };
    let scale = 1.0 / pred.len().max(1) as f64;
    let two_s = F::lit(2.0 * scale);
    // per trial, in parallel: the output gradient 2s (x − target) in place of the predictions,
    // and the sum of squares in four interleaved f64 partial sums (a vector register); the
    // trials' sums are added in trial order, so the loss does not depend on the thread count
    let mut bar = pred;
    let trials: Vec<_> = bar.axis_iter_mut(Axis(0)).zip(data.axis_iter(Axis(0))).collect();
    let sums: Vec<f64> = trials
        .into_par_iter()
        .map(|(mut x, d)| {
            let d = d.as_standard_layout();
            let (x, d) = (
                x.as_slice_mut().expect("own array"),
                d.as_slice().expect("standard layout"),
            );
            let mut acc = [0.0f64; 4];
            let (mut xs, mut ds) = (x.chunks_exact_mut(4), d.chunks_exact(4));
            for (xc, dc) in (&mut xs).zip(&mut ds) {
                for k in 0..4 {
                    let e = xc[k] - dc[k];
                    acc[k] += e.as_f64() * e.as_f64();
                    xc[k] = e * two_s;
                }
            }
            for (xe, &de) in xs.into_remainder().iter_mut().zip(ds.remainder()) {
                let e = *xe - de;
                acc[0] += e.as_f64() * e.as_f64();
                *xe = e * two_s;
            }
            (acc[0] + acc[1]) + (acc[2] + acc[3])
        })
        .collect();
    let sum: f64 = sums.iter().sum();
    let seed = match target.recorded() {
        Some(recorded) => OutputGrad {
            activity: Some((recorded.indices().to_vec(), bar)),
            ..Default::default()
        },
        None => OutputGrad {
            y_bar: Some(bar),
            ..Default::default()
        },
    };
    Ok((F::lit(sum * scale), seed))
}

/// `x[.., .., idx]` gathered row by row (ndarray's `select` on the last axis is strided and slow).
pub(crate) fn gather_columns<F: Real>(x: &Array3<F>, idx: &[usize]) -> Array3<F> {
    let (b, t, n) = x.dim();
    let src = x.as_slice().expect("trajectories are standard layout");
    let mut out = Vec::with_capacity(b * t * idx.len());
    for row in src.chunks_exact(n) {
        out.extend(idx.iter().map(|&i| row[i]));
    }
    Array3::from_shape_vec((b, t, idx.len()), out).expect("shape matches")
}
