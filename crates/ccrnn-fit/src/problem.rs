//! Fitting problems: a cost and its gradient at θ.

use crate::{Error, Result};
use ccrnn_core::{
    GroupSet, Model, NeuronSet, Observation, Real, SimOptions, Stimulus, Target, Trajectory, arrays_for_grad,
    checkpoint_interval, gauss_newton_product, loss_and_grad, loss_and_grad_checkpointed,
};
use ndarray::{Array3, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// What a solver needs from a problem.
pub trait Problem<F: Real> {
    /// Number of parameters (length of θ).
    fn n_params(&self) -> usize;
    /// The cost (minibatch loss) and its gradient at θ for training step `step`. Anything random
    /// (minibatch, noise) is derived from the problem's seed and `step`, so that a resumed run
    /// repeats exactly what an uninterrupted one does.
    fn cost_grad(&mut self, theta: &[F], step: u64) -> Result<(f64, Vec<F>)>;
    /// Projects θ back onto the feasible set (sign constraints, τ and β bounds).
    fn project(&self, theta: &mut [F]);
    /// The Gauss–Newton matrix of the cost at θ for step `step`, applied to `v`. Problems that
    /// have none say so (the default).
    fn gn_product(&mut self, theta: &[F], step: u64, v: &[F]) -> Result<Vec<F>> {
        let _ = (theta, step, v);
        Err(Error::config("fit.method", "this problem has no Gauss-Newton products"))
    }
}

/// Owned target data, `B × T × ·` over all training trials.
#[derive(Debug, Clone, PartialEq)]
pub enum Data<F> {
    /// Recorded activity: `data[b, t, m]` is neuron `recorded.indices()[m]`.
    Activity {
        /// The recorded neurons.
        recorded: NeuronSet,
        /// Their activity, `B × T × M`.
        data: Array3<F>,
    },
    /// Task readout, `B × T × n_out`.
    Readout {
        /// Target readout.
        data: Array3<F>,
    },
    /// A recording of the recorded neurons seen through an observation model (frames of its
    /// own, missing values, indicator, scale and offset: [`ccrnn_core::observe`]); column `m`
    /// is neuron `recorded.indices()[m]`. The observation's trainable parameters are fitted
    /// with the model's, after them in θ.
    Observed {
        /// The recorded neurons.
        recorded: NeuronSet,
        /// Their observation.
        obs: Box<Observation<F>>,
    },
}

impl<F: Real> Data<F> {
    /// The same data for a subset of trials.
    pub fn select(&self, trials: &[usize]) -> Self {
        match self {
            Data::Activity { recorded, data } => Data::Activity {
                recorded: recorded.clone(),
                data: data.select(Axis(0), trials),
            },
            Data::Readout { data } => Data::Readout {
                data: data.select(Axis(0), trials),
            },
            Data::Observed { recorded, obs } => Data::Observed {
                recorded: recorded.clone(),
                obs: Box::new(obs.select(trials)),
            },
        }
    }
    /// The same data in standard (C) layout, which the loss reads trial by trial as contiguous
    /// slices (copied only if it is not already).
    fn into_standard_layout(self) -> Self {
        let standard = |a: Array3<F>| {
            if a.is_standard_layout() {
                a
            } else {
                a.as_standard_layout().into_owned()
            }
        };
        match self {
            Data::Activity { recorded, data } => Data::Activity {
                recorded,
                data: standard(data),
            },
            Data::Readout { data } => Data::Readout { data: standard(data) },
            Data::Observed { recorded, mut obs } => {
                obs.data = standard(obs.data);
                Data::Observed { recorded, obs }
            }
        }
    }
    /// A borrowed [`Target`] for the core's loss.
    pub fn target(&self) -> Target<'_, F> {
        match self {
            Data::Activity { recorded, data } => Target::Activity {
                recorded,
                data: data.view(),
            },
            Data::Readout { data } => Target::Readout { data: data.view() },
            Data::Observed { recorded, obs } => Target::Observed { recorded, obs },
        }
    }
    /// Number of trials.
    pub fn trials(&self) -> usize {
        match self {
            Data::Activity { data, .. } | Data::Readout { data } => data.shape()[0],
            Data::Observed { obs, .. } => obs.data.shape()[0],
        }
    }
    /// The observation model, if the data has one.
    pub fn observation(&self) -> Option<&Observation<F>> {
        match self {
            Data::Observed { obs, .. } => Some(obs),
            _ => None,
        }
    }
    /// Trainable parameters the data adds to the model's (an observation model's).
    pub fn n_params(&self) -> usize {
        self.observation().map_or(0, |o| o.n_params())
    }
    /// Sets the data's trainable parameters (θ's part after the model's).
    fn set_params(&mut self, phi: &[F]) -> ccrnn_core::Result<()> {
        match self {
            Data::Observed { obs, .. } => obs.set_params(phi),
            _ => Ok(()),
        }
    }
}

/// Random numbers for training step `step` of a run seeded `seed`.
pub(crate) fn step_rng(seed: u64, step: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(step);
    r
}

/// Fit a model's trainable groups to data by minibatch gradient descent on the MSE.
#[derive(Debug, Clone)]
pub struct FitProblem<F: Real> {
    /// The model being fitted (its trainable groups are overwritten from θ at each step).
    pub model: Model<F>,
    /// Trainable groups; the others stay frozen.
    pub groups: GroupSet,
    /// Training stimulus, all trials.
    pub stim: Stimulus<F>,
    /// Training targets, all trials.
    pub data: Data<F>,
    /// Minibatch size (the whole batch if ≥ the number of trials).
    pub batch_size: usize,
    /// Process noise σ of the model's rollouts during training.
    pub noise_std: f64,
    /// Seed of minibatch draws and training noise.
    pub seed: u64,
    /// Bytes the stored trajectory of one evaluation may take; above it, backpropagation is
    /// checkpointed (same gradients, one more forward pass). Default 4 GiB.
    pub memory_budget: usize,
    /// What the gradient's simulation keeps (only what backpropagation reads).
    traj: Trajectory<F>,
    /// The whole trajectory that Gauss–Newton products read, and the θ and step it was
    /// simulated at (None if stale).
    gn_traj: Trajectory<F>,
    traj_at: Option<(Vec<F>, u64)>,
}

/// The minibatch (if not all trials) and noise of one evaluation.
struct Evaluation<F> {
    subset: Option<(Stimulus<F>, Data<F>)>,
    opts: SimOptions,
}

impl<F: Real> Evaluation<F> {
    /// The stimulus and data the evaluation sees, of the problem's `stim` and `data`.
    fn select<'a>(&'a self, stim: &'a Stimulus<F>, data: &'a Data<F>) -> (&'a Stimulus<F>, &'a Data<F>) {
        match &self.subset {
            Some((s, d)) => (s, d),
            None => (stim, data),
        }
    }
}

/// The default [`FitProblem::memory_budget`]: 4 GiB.
pub const DEFAULT_MEMORY_BUDGET: usize = 4 << 30;

impl<F: Real> FitProblem<F> {
    /// Builds a problem, checking that data and stimulus agree.
    pub fn new(
        model: Model<F>,
        groups: GroupSet,
        stim: Stimulus<F>,
        data: Data<F>,
        batch_size: usize,
        noise_std: f64,
        seed: u64,
    ) -> Result<Self> {
        if groups == GroupSet::NONE {
            return Err(Error::config("fit.train", "no trainable group: nothing to fit"));
        }
        stim.validate(&model)?;
        data.target().validate(&model, stim.trials(), stim.steps())?;
        if batch_size == 0 {
            return Err(Error::config("fit.batch_size", "must be >= 1"));
        }
        Ok(Self {
            model,
            groups,
            stim,
            data: data.into_standard_layout(),
            batch_size,
            noise_std,
            seed,
            memory_budget: DEFAULT_MEMORY_BUDGET,
            traj: Trajectory::default(),
            gn_traj: Trajectory::default(),
            traj_at: None,
        })
    }

    /// The parameters fitted: the model's trainable groups, then the data's (an observation
    /// model's scale, offset and indicator τ, if trained).
    pub fn theta(&self) -> Vec<F> {
        let mut th = self.model.theta(self.groups);
        if let Some(o) = self.data.observation() {
            th.extend(o.params());
        }
        th
    }

    /// Sets the model's and the data's parameters from θ (laid out as [`Self::theta`]).
    pub fn set_theta(&mut self, theta: &[F]) -> ccrnn_core::Result<()> {
        let k = self.model.theta_len(self.groups);
        if theta.len() != k + self.data.n_params() {
            return Err(ccrnn_core::Error::shape(
                "theta",
                &[k + self.data.n_params()],
                &[theta.len()],
            ));
        }
        self.model.set_theta(self.groups, &theta[..k])?;
        self.data.set_params(&theta[k..])
    }

    /// The data's observation model as fitted, for data seen through one: its trainable
    /// parameters as set, and a profiled scale and offset fixed at their values for the
    /// model's noise-free rollout of all training trials.
    pub fn fitted_observation(&self) -> ccrnn_core::Result<Option<Observation<F>>> {
        let Data::Observed { recorded, obs } = &self.data else {
            return Ok(None);
        };
        let mut obs = (**obs).clone();
        if obs.profile_affine {
            let traj = ccrnn_core::simulate(&self.model, &self.stim, &SimOptions::noiseless())?;
            obs.profile(traj.a.select(Axis(2), recorded.indices()).view())?;
        }
        Ok(Some(obs))
    }

    /// What evaluation `step` sees: its minibatch (None = all trials) and noise.
    fn evaluation(&self, step: u64) -> Evaluation<F> {
        let batch = self.batch(step);
        let noise_seed = step_rng(self.seed, step).next_u64() ^ 0x9e37_79b9_7f4a_7c15;
        let subset = (batch.len() != self.stim.trials()).then(|| (self.stim.select(&batch), self.data.select(&batch)));
        Evaluation {
            subset,
            opts: SimOptions::noisy(self.noise_std, noise_seed),
        }
    }

    /// The trials of the minibatch of step `step`.
    pub fn batch(&self, step: u64) -> Vec<usize> {
        let b = self.stim.trials();
        if self.batch_size >= b {
            return (0..b).collect();
        }
        let mut rng = step_rng(self.seed, step);
        rand::seq::index::sample(&mut rng, b, self.batch_size).into_vec()
    }

    /// The checkpoint interval of the gradient's backpropagation under the memory budget
    /// (None: the trajectory it keeps fits and is stored whole).
    pub fn checkpoint_every(&self) -> Option<usize> {
        let (b, t, n) = (
            self.batch_size.min(self.stim.trials()),
            self.stim.steps(),
            self.model.n(),
        );
        let arrays = arrays_for_grad(&self.model, self.groups, &self.data.target());
        checkpoint_interval(b, t, n, arrays, std::mem::size_of::<F>(), self.memory_budget)
    }
}

impl<F: Real> Problem<F> for FitProblem<F> {
    fn n_params(&self) -> usize {
        self.model.theta_len(self.groups) + self.data.n_params()
    }

    fn cost_grad(&mut self, theta: &[F], step: u64) -> Result<(f64, Vec<F>)> {
        let at = |source| Error::AtStep { step, source };
        self.traj_at = None; // the model is about to move away from the GN trajectory's θ
        self.set_theta(theta).map_err(at)?;
        let e = self.evaluation(step);
        let (stim, data) = e.select(&self.stim, &self.data);
        let target = data.target();
        let (l, g) = match self.checkpoint_every() {
            None => loss_and_grad(&self.model, stim, &target, &e.opts, self.groups, &mut self.traj),
            Some(every) => {
                self.traj = Trajectory::default(); // release a trajectory kept from before
                loss_and_grad_checkpointed(&self.model, stim, &target, &e.opts, self.groups, every)
            }
        }
        .map_err(at)?;
        Ok((l.as_f64(), g.flatten_all(self.groups)))
    }

    fn gn_product(&mut self, theta: &[F], step: u64, v: &[F]) -> Result<Vec<F>> {
        let at = |source| Error::AtStep { step, source };
        let fresh = matches!(&self.traj_at, Some((th, k)) if th.as_slice() == theta && *k == step);
        if !fresh {
            self.traj_at = None;
            self.set_theta(theta).map_err(at)?;
        }
        let e = self.evaluation(step);
        let (stim, data) = e.select(&self.stim, &self.data);
        let (b, t, n) = (stim.trials(), stim.steps(), self.model.n());
        if checkpoint_interval(b, t, n, 5, std::mem::size_of::<F>(), self.memory_budget).is_some() {
            let mb = (5 * b * t * n * std::mem::size_of::<F>()) >> 20;
            return Err(Error::config(
                "fit.memory_mb",
                format!(
                    "the gauss-newton method keeps the whole trajectory ({mb} MB here) and it exceeds the \
                     memory budget: raise memory_mb or use lbfgs"
                ),
            ));
        }
        if !fresh {
            ccrnn_core::simulate_into(&self.model, stim, &e.opts, &mut self.gn_traj).map_err(at)?;
            self.traj_at = Some((theta.to_vec(), step));
        }
        let target = data.target();
        gauss_newton_product(&self.model, stim, &self.gn_traj, &target, self.groups, v).map_err(at)
    }

    fn project(&self, theta: &mut [F]) {
        let k = self.model.theta_len(self.groups);
        self.model.project_theta(self.groups, &mut theta[..k]);
        if let Some(o) = self.data.observation() {
            o.project(&mut theta[k..]);
        }
    }
}
