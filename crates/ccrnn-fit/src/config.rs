//! Fitting configuration, validated once, and the one-call [`fit`].

use crate::{
    Adam, Convergence, Data, EarlyStop, Error, Executor, FitProblem, GaussNewton, History, IterState, Lbfgs, Method,
    MethodKind, Observer, Result, Termination,
};
use ccrnn_core::{GroupSet, Model, Observation, Real, Stimulus};
use serde::{Deserialize, Serialize};

/// How to fit. The default is full-batch L-BFGS for 1000 iterations, training g and b with
/// σ = 0.002 rollouts: chosen by measurement (`bench/run.sh`: on the paper's N = 300 setting
/// it reaches the unrecorded error of the paper's recipe about 70 times sooner, and ends
/// 2.5 times lower). [`FitConfig::paper`] is the paper's student recipe (SCIENCE.md §5): Adam,
/// lr 1e-3, gradient-norm clip 2, minibatches of 32 trials, 7000 steps; the Adam fields below
/// hold its values in both.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FitConfig {
    /// The optimiser: `adam` (minibatches, the paper's recipe), `lbfgs` (full batch,
    /// quasi-Newton with a line search) or `gauss-newton` (full batch, Hessian-free
    /// Gauss–Newton with Levenberg–Marquardt damping); `lr`, `clip` and `batch_size` apply to
    /// Adam only.
    pub method: MethodKind,
    /// Number of optimiser steps (L-BFGS and Gauss–Newton: iterations, each one or more
    /// evaluations).
    pub steps: u64,
    /// Adam learning rate.
    pub lr: f64,
    /// Adam's gradient-norm clip (0 = no clipping).
    pub clip: f64,
    /// Trials per Adam minibatch.
    pub batch_size: usize,
    /// Process noise σ of the rollouts during training.
    pub noise_std: f64,
    /// Seed of minibatches and training noise.
    pub seed: u64,
    /// Trainable groups, by name: `g`, `b`, `tau`, `beta`, `h0`, `w_out`, `w`.
    pub train: Vec<String>,
    /// Record the loss every this many steps.
    pub report_every: u64,
    /// Stop once the minibatch loss is at or below this.
    pub target_loss: Option<f64>,
    /// Stop after this many steps without a relative improvement of 1e-3.
    pub patience: Option<u64>,
    /// Memory (MiB) the stored trajectory of one evaluation may take; larger batches are
    /// backpropagated with checkpoints (same gradients, one more forward pass).
    pub memory_mb: f64,
    /// Full-batch methods: the fit has converged when the loss fell by less than a relative
    /// `tol_loss` over the last `tol_window` steps, or the projected gradient's norm is at most
    /// `tol_grad` times its first value after a step that lowered the loss by less than a
    /// relative `tol_loss` ([`crate::Convergence`]); `steps` caps the fit, and a
    /// fit that reaches the cap is reported as not converged. 0 turns a test off.
    pub tol_loss: f64,
    /// See `tol_loss`.
    pub tol_window: u64,
    /// See `tol_loss`.
    pub tol_grad: f64,
}

/// Default iterations of the Gauss–Newton method (each about 10–50 evaluations; on the
/// N = 300 benchmark the unrecorded error stops improving after about 50).
pub const GAUSS_NEWTON_STEPS: u64 = 50;

impl Default for FitConfig {
    fn default() -> Self {
        Self {
            method: MethodKind::Lbfgs,
            steps: 1000,
            ..Self::paper()
        }
    }
}

impl FitConfig {
    /// A method's defaults: [`FitConfig::paper`] for Adam, [`FitConfig::default`] for L-BFGS,
    /// and for Gauss–Newton the same with fewer (costlier) iterations.
    pub fn for_method(method: MethodKind) -> Self {
        match method {
            MethodKind::Adam => Self::paper(),
            MethodKind::Lbfgs => Self::default(),
            MethodKind::GaussNewton => Self {
                method,
                steps: GAUSS_NEWTON_STEPS,
                ..Self::default()
            },
        }
    }

    /// The paper's student recipe: Adam, lr 1e-3, clip 2, minibatches of 32, 7000 steps,
    /// σ = 0.002, train g and b.
    pub fn paper() -> Self {
        Self {
            method: MethodKind::Adam,
            steps: 7000,
            lr: 1e-3,
            clip: 2.0,
            batch_size: 32,
            noise_std: 0.002,
            seed: 0,
            train: vec!["g".into(), "b".into()],
            report_every: 10,
            target_loss: None,
            patience: None,
            memory_mb: 4096.0,
            tol_loss: Convergence::default().rel_loss,
            tol_window: Convergence::default().window,
            tol_grad: Convergence::default().rel_grad,
        }
    }
}

impl FitConfig {
    /// One line saying how students are fitted (for logs and reports): the method, its cap,
    /// and for full-batch methods the stopping rule.
    pub fn describe(&self) -> String {
        match self.method {
            MethodKind::Adam => format!(
                "Adam, {} steps, lr {}, minibatches of {} (the paper's recipe{})",
                self.steps,
                self.lr,
                self.batch_size,
                if self.steps == 7000 && self.lr == 1e-3 {
                    ""
                } else {
                    ", shortened"
                }
            ),
            m => format!(
                "{}, until converged (loss down < {:e} relative over {} iterations, or projected gradient < {:e} of its first after a quiet step), at most {} iterations",
                if m == MethodKind::Lbfgs {
                    "L-BFGS"
                } else {
                    "Gauss–Newton"
                },
                self.tol_loss,
                self.tol_window,
                self.tol_grad,
                self.steps
            ),
        }
    }
}

/// A checked [`FitConfig`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidFitConfig {
    /// The configuration as given.
    pub raw: FitConfig,
    /// Trainable groups.
    pub groups: GroupSet,
    /// The solver.
    pub method: Method,
    /// Early stopping.
    pub stop: EarlyStop,
}

impl FitConfig {
    /// Checks every field; errors name it (`fit.lr = -1: must be > 0`).
    pub fn validate(&self) -> Result<ValidFitConfig> {
        let pos = |name: &str, v: f64| {
            if v > 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(Error::config(format!("fit.{name}"), format!("= {v}: must be > 0")))
            }
        };
        pos("lr", self.lr)?;
        pos("memory_mb", self.memory_mb)?;
        if !(self.clip >= 0.0 && self.clip.is_finite()) {
            return Err(Error::config(
                "fit.clip",
                format!("= {}: must be >= 0 (0 = off)", self.clip),
            ));
        }
        if !(self.noise_std >= 0.0 && self.noise_std.is_finite()) {
            return Err(Error::config(
                "fit.noise_std",
                format!("= {}: must be >= 0", self.noise_std),
            ));
        }
        if self.steps == 0 {
            return Err(Error::config(
                "fit.steps",
                "= 0: must be >= 1 (a fit of no steps fits nothing)",
            ));
        }
        if self.batch_size == 0 {
            return Err(Error::config("fit.batch_size", "= 0: must be >= 1"));
        }
        if self.report_every == 0 {
            return Err(Error::config("fit.report_every", "= 0: must be >= 1"));
        }
        let groups = GroupSet::parse(&self.train).map_err(|e| Error::config("fit.train", e.to_string()))?;
        if groups == GroupSet::NONE {
            return Err(Error::config("fit.train", "empty: nothing to fit"));
        }
        if let Some(t) = self.target_loss {
            pos("target_loss", t)?;
        }
        for (name, v) in [("tol_loss", self.tol_loss), ("tol_grad", self.tol_grad)] {
            if !(0.0..1.0).contains(&v) {
                return Err(Error::config(
                    format!("fit.{name}"),
                    format!("= {v}: must be in [0, 1) (0 = off)"),
                ));
            }
        }
        if self.tol_window == 0 && self.tol_loss > 0.0 {
            return Err(Error::config(
                "fit.tol_window",
                "= 0: must be >= 1 when fit.tol_loss > 0",
            ));
        }
        Ok(ValidFitConfig {
            raw: self.clone(),
            groups,
            method: match self.method {
                MethodKind::Adam => Method::Adam(Adam::new(self.lr, (self.clip > 0.0).then_some(self.clip))),
                MethodKind::Lbfgs => Method::Lbfgs(Lbfgs::default()),
                MethodKind::GaussNewton => Method::GaussNewton(GaussNewton::default()),
            },
            stop: EarlyStop {
                target_loss: self.target_loss,
                patience: self.patience,
                min_rel_improvement: 1e-3,
                converge: (self.method.full_batch() && (self.tol_loss > 0.0 || self.tol_grad > 0.0)).then_some(
                    Convergence {
                        window: self.tol_window,
                        rel_loss: self.tol_loss,
                        rel_grad: self.tol_grad,
                    },
                ),
            },
        })
    }
}

/// The result of [`fit`].
#[derive(Debug, Clone)]
pub struct FitOutcome<F: Real> {
    /// The fitted model.
    pub model: Model<F>,
    /// The final state (save it to resume).
    pub state: IterState<F>,
    /// Why the run stopped.
    pub termination: Termination,
    /// Loss every `report_every` steps.
    pub history: History,
    /// The fitted observation model, for data seen through one ([`Data::Observed`]).
    pub observation: Option<Observation<F>>,
}

/// Fits `model`'s trainable groups to `data` on `stim`, starting from `resume` if given (a
/// state saved from an earlier run of the same problem) or from the model's current values.
pub fn fit<F: Real>(
    model: Model<F>,
    stim: Stimulus<F>,
    data: Data<F>,
    cfg: &ValidFitConfig,
    resume: Option<IterState<F>>,
    observer: Option<&mut dyn Observer<F>>,
) -> Result<FitOutcome<F>> {
    let c = &cfg.raw;
    let batch = if c.method.full_batch() {
        usize::MAX
    } else {
        c.batch_size
    };
    let mut problem = FitProblem::new(model, cfg.groups, stim, data, batch, c.noise_std, c.seed)?;
    problem.memory_budget = (c.memory_mb * 1048576.0) as usize;
    let state = resume.unwrap_or_else(|| IterState::new(problem.theta()));
    let mut history = crate::Every(c.report_every, History::default());
    let (state, termination) = {
        let mut ex = Executor::new(&mut problem, &cfg.method, c.steps)
            .early_stop(cfg.stop)
            .observe(&mut history);
        if let Some(o) = observer {
            ex = ex.observe(o);
        }
        ex.run(state)?
    };
    problem.set_theta(&state.theta)?;
    Ok(FitOutcome {
        observation: problem.fitted_observation()?,
        model: problem.model,
        state,
        termination,
        history: history.1,
    })
}
