//! Experiment recipes: what to vary, as data (TOML). A recipe is a grid of teachers × students ×
//! replicates; [`super::tasks`] expands it into a task list.

use crate::{EiSpec, Error, Result, TeacherKind};
use ccrnn_fit::FitConfig;
use serde::{Deserialize, Serialize};

/// How the student's softplus smoothness β is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BetaTraining {
    /// β stays at its initial value.
    Fixed,
    /// One β shared by all neurons is trained.
    Shared,
    /// One β per neuron is trained.
    PerNeuron,
}

impl BetaTraining {
    /// A numeric code for tables: 0 fixed, 1 shared, 2 per neuron.
    pub fn code(self) -> u8 {
        match self {
            BetaTraining::Fixed => 0,
            BetaTraining::Shared => 1,
            BetaTraining::PerNeuron => 2,
        }
    }
    /// The name used in recipes and task ids.
    pub fn name(self) -> &'static str {
        match self {
            BetaTraining::Fixed => "fixed",
            BetaTraining::Shared => "shared",
            BetaTraining::PerNeuron => "per-neuron",
        }
    }
}

/// The teachers of a recipe: one per network size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TeacherGrid {
    /// Teacher family.
    pub kind: TeacherKind,
    /// Network sizes N (one teacher each).
    pub n: Vec<usize>,
    /// Training trials recorded from the teacher (paper: 60 for E/I, 20 for chaotic).
    pub trials: usize,
    /// Held-out trials the students are scored on.
    pub heldout_trials: usize,
    /// Time steps per trial (paper: 400; dt = 0.05).
    pub steps: usize,
    /// E/I teachers only: Adam steps on the sine task (paper recipe: 1400).
    pub training_steps: u64,
    /// Noise σ of the teacher's recorded activity (paper: 0.002 for E/I, 0.001 for Figure 3).
    /// Other network settings are the paper's ([`EiSpec`], [`crate::LowRankSpec`],
    /// [`crate::ChaoticSpec`] defaults).
    pub data_noise: f64,
}

impl Default for TeacherGrid {
    fn default() -> Self {
        Self {
            kind: TeacherKind::EiTask,
            n: vec![300],
            trials: 60,
            heldout_trials: 20,
            steps: 400,
            training_steps: 1400,
            data_noise: 0.002,
        }
    }
}

/// The students fitted to each teacher: the Cartesian product of every list, × replicates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudentGrid {
    /// Numbers of recorded neurons (0 = fitted to the task readout only). Values ≥ N are
    /// skipped for that teacher (nothing would be left unrecorded).
    pub ms: Vec<usize>,
    /// Student softplus smoothness β_s; empty = the teacher's.
    pub beta: Vec<f64>,
    /// Whether β is trained (`fixed`, `shared`, `per-neuron`).
    pub beta_training: Vec<BetaTraining>,
    /// Students whose weights are all trained from a random start, without mask or signs
    /// (scored after greedy matching of unrecorded neurons).
    pub unconstrained: Vec<bool>,
    /// Connectome noise σ: weights × (1 + σξ), absent synapses added with probability σ.
    pub connectome_noise: Vec<f64>,
    /// Initial gains are the teacher's permuted ones × this (paper: 0.5).
    pub gain_factor: f64,
}

impl Default for StudentGrid {
    fn default() -> Self {
        Self {
            ms: vec![0, 1, 4, 16, 64],
            beta: Vec::new(),
            beta_training: vec![BetaTraining::Fixed],
            unconstrained: vec![false],
            connectome_noise: vec![0.0],
            gain_factor: 0.5,
        }
    }
}

/// Estimated bytes that one task of a sweep holds while the sweep runs (its spec, id, state
/// and table row).
const TASK_BYTES: f64 = 2048.0;

/// An experiment: teachers × students × replicates, with one fitting recipe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Recipe {
    /// Name (a built-in's, or your own).
    pub name: String,
    /// Scale label (`small`, `paper`, or your own).
    pub scale: String,
    /// What the recipe tests, in one line.
    pub description: String,
    /// Seed from which every task's seed is derived.
    pub seed: u64,
    /// Students per grid point, with different seeds (initialisation, recorded neurons,
    /// minibatches).
    pub replicates: usize,
    /// The teachers.
    pub teacher: TeacherGrid,
    /// The students.
    pub student: StudentGrid,
    /// The students' fitting recipe (its `seed` is replaced by each task's).
    pub fit: FitConfig,
    /// Run every task in the reproducible mode (`ccrnn_core::kernels::set_reproducible`): the
    /// same numbers bit for bit on every x86-64 machine, AVX2 or AVX-512, at some cost in speed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub reproducible: bool,
}

impl Default for Recipe {
    fn default() -> Self {
        Self {
            name: "custom".into(),
            scale: "custom".into(),
            description: String::new(),
            seed: 0,
            replicates: 1,
            teacher: TeacherGrid::default(),
            student: StudentGrid::default(),
            fit: FitConfig::paper(),
            reproducible: false,
        }
    }
}

/// Which of the paper's experiments a recipe runs, recognised from its teacher and student
/// grids (so an edited copy of a built-in is assessed and plotted as the built-in is).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Experiment {
    /// Readout-only students (M = 0 only): Figure 1, claim 1.
    Degeneracy,
    /// Connectome and unconstrained students against M: Figure 2, claims 2–3.
    Unconstrained,
    /// Rank-2 teachers of several sizes: Figure 3a–c.
    LowRank,
    /// Chaotic teachers of several sizes: Figure 3d–f.
    Chaos,
    /// Students of several smoothness β: Figure 4, claim 5.
    Mismatch,
    /// Several connectome-noise levels: Figure 4, claim 6.
    Noise,
    /// Any other grid over M: the error against recorded neurons.
    Recordings,
}

impl Recipe {
    /// The experiment this recipe runs (the first that matches, in the order of [`Experiment`]).
    pub fn experiment(&self) -> Experiment {
        let s = &self.student;
        if s.ms == [0] {
            Experiment::Degeneracy
        } else if s.unconstrained.contains(&true) {
            Experiment::Unconstrained
        } else if self.teacher.kind == TeacherKind::LowRank {
            Experiment::LowRank
        } else if self.teacher.kind == TeacherKind::Chaotic {
            Experiment::Chaos
        } else if s.beta.len() > 1 {
            Experiment::Mismatch
        } else if s.connectome_noise.len() > 1 {
            Experiment::Noise
        } else {
            Experiment::Recordings
        }
    }

    /// Checks every field; errors name it (`recipe.student.ms: empty`).
    pub fn validate(&self) -> Result<()> {
        let bad = |f: &str, r: String| Err(Error::spec(format!("recipe.{f}"), r));
        if self.name.is_empty()
            || !self
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        {
            return bad("name", format!("{:?}: use letters, digits, '-', '_' or '.'", self.name));
        }
        if self.replicates == 0 {
            return bad("replicates", "= 0: must be >= 1".into());
        }
        let t = &self.teacher;
        if t.n.is_empty() || t.n.iter().any(|&n| n < 2) {
            return bad("teacher.n", format!("{:?}: give sizes >= 2", t.n));
        }
        if t.trials == 0 || t.heldout_trials == 0 || t.steps < 2 {
            return bad(
                "teacher",
                format!(
                    "trials = {}, heldout_trials = {}, steps = {}: need >= 1 trial and >= 2 steps",
                    t.trials, t.heldout_trials, t.steps
                ),
            );
        }
        for &n in &t.n {
            if let Some(r) = ccrnn_io::memory::network_over_budget(n) {
                return bad("teacher.n", r);
            }
            if let Some(r) = ccrnn_io::memory::run_over_budget(t.trials + t.heldout_trials, t.steps, n) {
                return bad("teacher.trials, teacher.heldout_trials, teacher.steps", r);
            }
        }
        if !(t.data_noise >= 0.0 && t.data_noise.is_finite()) {
            return bad("teacher.data_noise", format!("= {}: must be >= 0", t.data_noise));
        }
        let s = &self.student;
        for (field, empty) in [
            ("ms", s.ms.is_empty()),
            ("beta_training", s.beta_training.is_empty()),
            ("unconstrained", s.unconstrained.is_empty()),
            ("connectome_noise", s.connectome_noise.is_empty()),
        ] {
            if empty {
                return bad(&format!("student.{field}"), "empty: give at least one value".into());
            }
        }
        if let Some(b) = s.beta.iter().find(|b| !(**b > 0.0 && b.is_finite())) {
            return bad("student.beta", format!("contains {b}: must be > 0"));
        }
        if let Some(x) = s.connectome_noise.iter().find(|x| !(**x >= 0.0 && **x <= 1.0)) {
            return bad("student.connectome_noise", format!("contains {x}: must be in [0, 1]"));
        }
        if !(s.gain_factor > 0.0 && s.gain_factor.is_finite()) {
            return bad("student.gain_factor", format!("= {}: must be > 0", s.gain_factor));
        }
        let largest = t.n.iter().copied().max().unwrap_or(0);
        if let Some(m) = s.ms.iter().find(|&&m| m >= largest) {
            return bad(
                "student.ms",
                format!(
                    "M = {m} is not below any teacher size {:?}: no neuron would be left unrecorded",
                    t.n
                ),
            );
        }
        let students = [
            t.n.len(),
            s.ms.len(),
            s.beta.len().max(1),
            s.beta_training.len(),
            s.unconstrained.len(),
            s.connectome_noise.len(),
            self.replicates,
        ]
        .iter()
        .map(|&k| k as f64)
        .product::<f64>();
        if let Some(r) = ccrnn_io::memory::over_budget(students * TASK_BYTES) {
            return bad(
                "replicates",
                format!("= {}: a grid of up to {students:.3e} tasks {r}", self.replicates),
            );
        }
        if t.kind != TeacherKind::EiTask && s.ms.contains(&0) {
            return bad(
                "student.ms",
                "0 (readout only) needs a task teacher: the low-rank and chaotic teachers have no task".into(),
            );
        }
        if t.kind != TeacherKind::EiTask
            && (!s.beta.is_empty() || s.beta_training.iter().any(|b| *b != BetaTraining::Fixed))
        {
            return bad("student.beta", "β applies to softplus (E/I) teachers only".into());
        }
        self.fit.validate()?;
        Ok(())
    }

    /// The E/I network settings for a teacher of `n` neurons (the paper's otherwise).
    pub fn ei_spec(&self, n: usize) -> EiSpec {
        EiSpec { n, ..EiSpec::default() }
    }
}

/// Names of the built-in recipes, in the paper's order.
pub const BUILTIN: [&str; 6] = [
    "fig1-degeneracy",
    "fig2-recordings",
    "fig3-lowrank",
    "fig3-chaos",
    "fig4-mismatch",
    "fig4-noise",
];

/// Scales of the built-in recipes.
pub const SCALES: [&str; 2] = ["small", "paper"];

/// A built-in recipe at scale `small` (minutes on a laptop) or `paper` (the paper's grid and
/// fitting recipe).
pub fn builtin(name: &str, scale: &str) -> Result<Recipe> {
    let paper = match scale {
        "paper" => true,
        "small" => false,
        _ => {
            return Err(Error::spec(
                "scale",
                format!("{scale:?}: expected one of {}", SCALES.join(", ")),
            ));
        }
    };
    // Students are fitted to convergence by full-batch Gauss–Newton at both scales (the
    // fit's convergence test, capped at `steps`): the claims are about converged fits, and
    // short Adam fits leave outcomes at small M to floating-point rounding. Measured on the
    // small fig4-mismatch grid: Gauss–Newton converges in 50–130 iterations (1000–3000
    // evaluations) where L-BFGS had not converged after 2000. The paper's Adam recipe is
    // `FitConfig::paper()` (`method = "adam"`, lr 1e-3, clip 2, batch 32, 7000 steps).
    // Small scale: N = 60 E/I teachers trained briefly, few trials.
    let fit = FitConfig {
        steps: 200,
        report_every: 5,
        ..FitConfig::for_method(ccrnn_fit::MethodKind::GaussNewton)
    };
    let ei = |n_small: usize| TeacherGrid {
        kind: TeacherKind::EiTask,
        n: vec![if paper { 300 } else { n_small }],
        trials: if paper { 60 } else { 24 },
        heldout_trials: if paper { 20 } else { 8 },
        steps: if paper { 400 } else { 200 },
        training_steps: if paper { 1400 } else { 600 },
        data_noise: 0.002,
    };
    let mut r = Recipe {
        name: name.into(),
        scale: scale.into(),
        seed: 0,
        // Three replicates at small scale: the claims are read from medians, robust to one fit
        // in three that lands in another minimum.
        replicates: if paper { 10 } else { 3 },
        fit,
        ..Recipe::default()
    };
    match name {
        "fig1-degeneracy" => {
            r.description = "Claim 1: students fitted to the task readout alone solve the task with activity and \
                             parameters far from the teacher's"
                .into();
            r.teacher = ei(60);
            // Readout-only fits are degenerate: each replicate lands on a different solution, some
            // nearer the teacher than others, so the small scale needs several to estimate the
            // typical one (4 were a draw that float rounding could flip).
            r.replicates = if paper { 30 } else { 8 };
            r.student.ms = vec![0];
            // Readout-only fits keep the Adam recipe: the one-dimensional readout is a weak
            // signal on a degenerate landscape, where the second-order methods stall on
            // plateaus (measured at small scale: Gauss–Newton stopped at 70 % of the readout
            // variance in 1 of 2 replicates, L-BFGS at 28 %; Adam solves the task in all).
            r.fit = if paper {
                FitConfig::paper()
            } else {
                FitConfig {
                    steps: 2500,
                    lr: 1e-2,
                    batch_size: 16,
                    report_every: 25,
                    ..FitConfig::paper()
                }
            };
        }
        "fig2-recordings" => {
            r.description = "Claims 2-3: recording M neurons removes the degeneracy for connectome-constrained \
                             students but not for unconstrained ones"
                .into();
            r.teacher = ei(60);
            r.student.ms = if paper {
                vec![1, 2, 4, 8, 15, 30, 60, 100, 150, 250]
            } else {
                vec![1, 4, 16, 40]
            };
            r.student.unconstrained = vec![false, true];
        }
        "fig3-lowrank" => {
            r.description = "Claim 2: for rank-2 teachers a handful of recordings suffices whatever N; error \
                             curves collapse against M, not M/N"
                .into();
            r.teacher = TeacherGrid {
                kind: TeacherKind::LowRank,
                n: if paper {
                    vec![100, 200, 400, 1000]
                } else {
                    vec![40, 80, 160]
                },
                trials: if paper { 20 } else { 6 },
                heldout_trials: if paper { 10 } else { 4 },
                steps: if paper { 400 } else { 200 },
                training_steps: 0,
                data_noise: crate::teacher::FIG3_NOISE,
            };
            r.student.ms = if paper {
                vec![1, 2, 4, 8, 16, 32, 64]
            } else {
                vec![1, 2, 4, 8, 16]
            };
        }
        "fig3-chaos" => {
            r.description = "Claim 2: for chaotic teachers the recordings needed (M*, where unrecorded 1 - |rho| \
                             crosses 0.2) grow with N, with the dimensionality"
                .into();
            r.teacher = TeacherGrid {
                kind: TeacherKind::Chaotic,
                n: if paper {
                    vec![200, 400, 600, 800, 1000]
                } else {
                    vec![30, 60, 120]
                },
                trials: if paper { 20 } else { 8 },
                heldout_trials: if paper { 10 } else { 4 },
                steps: if paper { 400 } else { 100 },
                training_steps: 0,
                data_noise: crate::teacher::FIG3_NOISE,
            };
            r.student.ms = if paper {
                vec![1, 2, 4, 8, 16, 32, 64, 128, 256]
            } else {
                vec![1, 2, 4, 8, 16, 32, 64]
            };
        }
        "fig4-mismatch" => {
            r.description = "Claim 5: a softplus smoothness mismatch leaves an error floor; training beta removes \
                             most of it"
                .into();
            r.teacher = ei(60);
            r.student.ms = vec![if paper { 64 } else { 30 }];
            r.student.beta = vec![0.25, 0.5, 1.0, 2.0, 4.0];
            r.student.beta_training = if paper {
                vec![BetaTraining::Fixed, BetaTraining::Shared, BetaTraining::PerNeuron]
            } else {
                vec![BetaTraining::Fixed, BetaTraining::Shared]
            };
            // The floor only shows once fits converge (SCIENCE.md §9); replicates (recorded
            // sets and starting points) so that the claim rests on more than one draw.
            r.replicates = if paper { 5 } else { 3 };
        }
        "fig4-noise" => {
            r.description = "Claim 6: connectome noise (perturbed weights, spurious synapses) leaves an error floor \
                             growing with the noise level"
                .into();
            r.teacher = ei(60);
            r.student.ms = vec![if paper { 64 } else { 30 }];
            r.student.connectome_noise = vec![0.0, 0.005, 0.01, 0.02, 0.05, 0.1];
            r.replicates = if paper { 5 } else { 3 };
        }
        _ => {
            return Err(Error::spec(
                "recipe",
                format!("unknown built-in {name:?} (built-ins: {})", BUILTIN.join(", ")),
            ));
        }
    }
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_round_trip_through_toml_and_validate() {
        for name in BUILTIN {
            for scale in SCALES {
                let r = builtin(name, scale).unwrap();
                r.validate().unwrap();
                let text = ccrnn_io::to_toml(&r);
                let back: Recipe = ccrnn_io::config::parse_toml(std::path::Path::new("r.toml"), &text).unwrap();
                assert_eq!(back, r, "{name} {scale}");
            }
        }
        assert!(builtin("fig2-recordings", "huge").is_err());
        assert!(builtin("fig9", "small").is_err());
    }

    #[test]
    fn invalid_recipes_name_the_field() {
        let mut r = builtin("fig3-lowrank", "small").unwrap();
        r.student.ms = vec![0, 4];
        assert!(r.validate().unwrap_err().to_string().contains("recipe.student.ms"));
        let mut r = builtin("fig4-noise", "small").unwrap();
        r.student.connectome_noise = vec![1.5];
        assert!(r.validate().unwrap_err().to_string().contains("connectome_noise"));
        let mut r = builtin("fig1-degeneracy", "small").unwrap();
        r.replicates = 0;
        assert!(r.validate().unwrap_err().to_string().contains("recipe.replicates"));
    }
}
