//! Exact gradients of a loss with respect to the model's parameter groups.
//!
//! [`bptt`] is reverse mode (backpropagation through time, written by hand); the gradient of
//! every group is exact to rounding and checked against central finite differences in the
//! tests; [`loss_and_grad_checkpointed`] is the same with only every k-th state stored.
//! [`tangents`] is forward mode: trajectory sensitivities along many directions at once;
//! [`gauss_newton_product`] chains one tangent and one backward pass into `G v`.

mod bptt;
mod checkpoint;
mod gn_product;
mod tangent;

pub use bptt::bptt;
pub use checkpoint::{checkpoint_interval, loss_and_grad_checkpointed};
pub use gn_product::gauss_newton_product;
pub use tangent::tangents;

use crate::loss::output_loss;
use crate::simulate::{Gather, simulate_keep};
use crate::trajectory::Keep;
use crate::{GroupSet, Model, ParamGroup, Real, Result, SimOptions, Stimulus, Target, Trajectory};
use ndarray::{Array1, Array2, Array3};

/// Gradient of a loss with respect to each parameter group (frozen groups hold zeros).
#[derive(Debug, Clone, PartialEq)]
pub struct ParamGrad<F> {
    /// ∂L/∂g (N).
    pub g: Array1<F>,
    /// ∂L/∂b (N).
    pub b: Array1<F>,
    /// ∂L/∂τ (N).
    pub tau: Array1<F>,
    /// ∂L/∂β (1 for a global β, else N).
    pub beta: Array1<F>,
    /// ∂L/∂h0 (N). From [`bptt`]: the gradient of the initial states summed over trials; from
    /// [`loss_and_grad`] and the other stimulus-aware functions: zero when the stimulus sets
    /// per-trial initial states (the model's h0 is then not used).
    pub h0: Array1<F>,
    /// ∂L/∂W_out (N × n_out).
    pub w_out: Array2<F>,
    /// ∂L/∂W for the pattern's entries, canonical order (empty if W is frozen).
    pub w: Vec<F>,
    /// ∂L/∂φ of an observation model's trainable parameters ([`crate::Target::Observed`]),
    /// laid out as [`crate::Observation::params`]; empty for other targets.
    pub observation: Vec<F>,
}

impl<F: Real> ParamGrad<F> {
    /// Zeros the h0 gradient when `stim` sets per-trial initial states: the model's h0 then
    /// does not act (what [`bptt`] returns there is the initial states' gradient).
    pub(crate) fn for_stimulus(mut self, stim: &Stimulus<F>) -> Self {
        if stim.h0.is_some() {
            self.h0.fill(F::zero());
        }
        self
    }

    /// The model's gradient laid out like [`Model::theta`] for the same groups.
    pub fn flatten(&self, groups: GroupSet) -> Vec<F> {
        let mut v = Vec::new();
        for g in groups.groups() {
            match g {
                ParamGroup::Gain => v.extend(self.g.iter()),
                ParamGroup::Bias => v.extend(self.b.iter()),
                ParamGroup::Tau => v.extend(self.tau.iter()),
                ParamGroup::Beta => v.extend(self.beta.iter()),
                ParamGroup::H0 => v.extend(self.h0.iter()),
                ParamGroup::WOut => v.extend(self.w_out.iter()),
                ParamGroup::W => v.extend(self.w.iter()),
            }
        }
        v
    }

    /// [`Self::flatten`] followed by the observation model's part (if any): the layout of the
    /// parameters a fit to a [`crate::Target::Observed`] trains.
    pub fn flatten_all(&self, groups: GroupSet) -> Vec<F> {
        let mut v = self.flatten(groups);
        v.extend(self.observation.iter());
        v
    }
}

/// How many `B × T × N` arrays [`loss_and_grad`] stores for the gradient of `groups` on a loss
/// like `target` (2 for the usual student: `phi` and `dphi`; at most 5).
pub fn arrays_for_grad<F: Real>(model: &Model<F>, groups: GroupSet, target: &Target<F>) -> usize {
    Keep::for_loss_and_grad(model, groups, target).count()
}

/// Simulates `stim` into `traj`, evaluates the loss on `target` and backpropagates it: the loss
/// and the gradient of the given groups.
///
/// `traj` keeps only what backpropagation of `groups` reads (for the usual student, gains and
/// biases with presynaptic gain: `phi` and `dphi`); the other arrays are left empty. Use
/// [`crate::simulate_into`] for a whole trajectory.
pub fn loss_and_grad<F: Real>(
    model: &Model<F>,
    stim: &Stimulus<F>,
    target: &Target<F>,
    opts: &SimOptions,
    groups: GroupSet,
    traj: &mut Trajectory<F>,
) -> Result<(F, ParamGrad<F>)> {
    let keep = Keep::for_loss_and_grad(model, groups, target);
    let (l, out_grad) = match target {
        // the recorded neurons' activity is gathered during the simulation
        Target::Activity { recorded, .. } | Target::Observed { recorded, .. } if !keep.a => {
            // (the stimulus itself is validated by the simulation)
            target.validate(model, stim.trials(), stim.steps())?;
            let idx = recorded.indices();
            let mut pred = Array3::zeros((stim.trials(), stim.steps(), idx.len()));
            let gather = Gather {
                idx,
                out: pred.view_mut(),
            };
            simulate_keep(model, stim, opts, keep, Some(gather), traj)?;
            output_loss(pred, target)?
        }
        _ => {
            simulate_keep(model, stim, opts, keep, None, traj)?;
            crate::loss(model, traj, target)?
        }
    };
    Ok((l, bptt(model, traj, &out_grad, groups)?.for_stimulus(stim)))
}
