//! The configuration sections of the experiments the command line and Python share: which
//! teacher to build ([`TeacherConfig`], of a [`TeacherKind`]) and the demo ([`DemoConfig`]).
//! They are serde structs with `deny_unknown_fields`, read from TOML by `ccrnn-io`; each checks
//! every value once (`validate`), with errors that name the field (`demo.student_trials = 0:
//! must be >= 1`). How a student starts is [`ccrnn_fit::student::StudentConfig`].

use crate::teacher::{check_network_size, check_run_size};
use crate::{ChaoticSpec, EiSpec, Error, LowRankSpec, Result, SineTask, Study, TeacherSpec, Trials};
use ccrnn_fit::{FitConfig, MethodKind};
use serde::{Deserialize, Serialize};

/// Which family of teacher networks (SCIENCE.md §4); spelled `ei-task`, `low-rank`, `chaotic`
/// (recipes may also write `ei`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TeacherKind {
    /// The E/I Dale's-law softplus network trained on the sine task (Figures 1, 2, 4).
    #[serde(alias = "ei")]
    EiTask,
    /// A rank-2 tanh network with a limit cycle (Figure 3a–c).
    LowRank,
    /// A random tanh network in the chaotic regime (Figure 3d–f).
    Chaotic,
}

impl TeacherKind {
    /// Every kind, in the paper's order.
    pub const ALL: [TeacherKind; 3] = [TeacherKind::EiTask, TeacherKind::LowRank, TeacherKind::Chaotic];

    /// The name in configurations and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            TeacherKind::EiTask => "ei-task",
            TeacherKind::LowRank => "low-rank",
            TeacherKind::Chaotic => "chaotic",
        }
    }
}

impl std::fmt::Display for TeacherKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl TeacherSpec {
    /// The family of this teacher.
    pub fn kind(&self) -> TeacherKind {
        match self {
            TeacherSpec::EiTask { .. } => TeacherKind::EiTask,
            TeacherSpec::LowRank { .. } => TeacherKind::LowRank,
            TeacherSpec::Chaotic { .. } => TeacherKind::Chaotic,
        }
    }
}

/// A teacher as a configuration file gives it: its kind, seed and the generator settings of
/// that kind, each section optional (the paper's settings fill what is left out).
///
/// The file format is flat (`kind` beside optional sections) rather than the tagged
/// [`TeacherSpec`] it converts to ([`TeacherConfig::spec`]), so that a TOML error inside a
/// section keeps its line number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherConfig {
    /// The family.
    pub kind: TeacherKind,
    /// Seed of the network, its task trials and its training.
    #[serde(default)]
    pub seed: u64,
    /// E/I network settings (kind = "ei-task").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ei: Option<EiSpec>,
    /// The task it is trained on (kind = "ei-task").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task: Option<SineTask>,
    /// Its training recipe (kind = "ei-task").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub training: Option<FitConfig>,
    /// Rank-2 network settings (kind = "low-rank").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low_rank: Option<LowRankSpec>,
    /// Chaotic network settings (kind = "chaotic").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chaotic: Option<ChaoticSpec>,
    /// Trials of the stimulus saved with the random-network teachers.
    #[serde(default = "default_trials")]
    pub trials: usize,
    /// Steps per trial of that stimulus (time in units of dt).
    #[serde(default = "default_steps")]
    pub steps: usize,
}

fn default_trials() -> usize {
    20
}
fn default_steps() -> usize {
    400
}

impl TeacherConfig {
    /// The paper's settings for `kind`.
    pub fn preset(kind: TeacherKind, seed: u64) -> Self {
        let mut c = Self {
            kind,
            seed,
            ei: None,
            task: None,
            training: None,
            low_rank: None,
            chaotic: None,
            trials: default_trials(),
            steps: default_steps(),
        };
        c.fill_defaults();
        c
    }

    /// Fills the sections of this kind that the file left out with the paper's defaults.
    pub fn fill_defaults(&mut self) {
        match self.kind {
            TeacherKind::EiTask => {
                self.ei.get_or_insert_with(EiSpec::default);
                self.task.get_or_insert_with(SineTask::default);
                let seed = self.seed;
                self.training.get_or_insert_with(|| EiSpec::training_config(seed));
            }
            TeacherKind::LowRank => {
                self.low_rank.get_or_insert_with(LowRankSpec::default);
            }
            TeacherKind::Chaotic => {
                self.chaotic.get_or_insert_with(ChaoticSpec::default);
            }
        }
    }

    /// Sets the network size N of this kind's section (filling the defaults first).
    pub fn set_n(&mut self, n: usize) {
        self.fill_defaults();
        match self.kind {
            TeacherKind::EiTask => self.ei.as_mut().expect("filled").n = n,
            TeacherKind::LowRank => self.low_rank.as_mut().expect("filled").n = n,
            TeacherKind::Chaotic => self.chaotic.as_mut().expect("filled").n = n,
        }
    }

    /// The teacher to build, with the defaults of the sections left out.
    pub fn spec(&self) -> TeacherSpec {
        let mut full = self.clone();
        full.fill_defaults();
        match full.kind {
            TeacherKind::EiTask => TeacherSpec::EiTask {
                ei: full.ei.expect("filled"),
                task: full.task.expect("filled"),
                training: full.training.expect("filled"),
            },
            TeacherKind::LowRank => TeacherSpec::LowRank {
                low_rank: full.low_rank.expect("filled"),
                steps: full.steps,
            },
            TeacherKind::Chaotic => TeacherSpec::Chaotic {
                chaotic: full.chaotic.expect("filled"),
                steps: full.steps,
            },
        }
    }

    /// The trials `ccrnn teacher` builds the teacher with: the task teacher's held-out trials
    /// (to score its task), the random teachers' trials (saved as `stimulus.npz`).
    pub fn trials(&self) -> Trials {
        match (self.kind, &self.task) {
            (TeacherKind::EiTask, task) => {
                let t = task.unwrap_or_default().trials;
                Trials { train: t, heldout: t }
            }
            _ => Trials {
                train: self.trials,
                heldout: 0,
            },
        }
    }

    /// Checks every value, with the defaults of the sections left out (as the run will fill
    /// them); a section of another kind is an error naming it.
    pub fn validate(&self) -> Result<()> {
        for (name, present, kind) in [
            ("ei", self.ei.is_some(), TeacherKind::EiTask),
            ("task", self.task.is_some(), TeacherKind::EiTask),
            ("training", self.training.is_some(), TeacherKind::EiTask),
            ("low_rank", self.low_rank.is_some(), TeacherKind::LowRank),
            ("chaotic", self.chaotic.is_some(), TeacherKind::Chaotic),
        ] {
            if present && self.kind != kind {
                return Err(Error::spec(
                    format!("teacher.{name}"),
                    format!("only used with kind = \"{kind}\""),
                ));
            }
        }
        if let Some(f) = &self.training {
            f.validate()?;
        }
        if self.trials == 0 || self.steps == 0 {
            return Err(Error::spec("teacher.trials, teacher.steps", "must be >= 1"));
        }
        let mut full = self.clone();
        full.fill_defaults();
        match self.kind {
            TeacherKind::EiTask => {
                let (e, t) = (full.ei.as_ref().expect("filled"), full.task.as_ref().expect("filled"));
                e.validate()?;
                t.validate()?;
                check_run_size("teacher.task.trials, teacher.task.steps", t.trials, t.steps, e.n)?;
            }
            TeacherKind::LowRank => {
                let l = full.low_rank.as_ref().expect("filled");
                check_network_size(l.n)?;
                check_run_size("teacher.trials, teacher.steps", self.trials, self.steps, l.n)?;
                check_run_size("teacher.low_rank.burn_in", 1, l.burn_in, l.n)?;
            }
            TeacherKind::Chaotic => {
                let c = full.chaotic.as_ref().expect("filled");
                check_network_size(c.n)?;
                check_run_size("teacher.trials, teacher.steps", self.trials, self.steps, c.n)?;
            }
        }
        Ok(())
    }
}

/// Trials of the demo students' recording (and of their held-out trials).
const DEMO_STUDENT_TRIALS: usize = 20;
/// At most this many Gauss–Newton iterations per demo student.
const DEMO_GN_STEPS: u64 = 30;

/// The demo: an E/I teacher trained on the sine task, then the teacher–student study of
/// Figures 1–2 on it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DemoConfig {
    /// Seed of the teacher and its training.
    pub seed: u64,
    /// The teacher network.
    pub teacher: EiSpec,
    /// The task.
    pub task: SineTask,
    /// The teacher's training.
    pub teacher_training: FitConfig,
    /// Trials of the recording the students are fitted to (and of the held-out trials they
    /// are scored on); the teacher trains on `task.trials`.
    pub student_trials: usize,
    /// The students (M values, replicates, fitting recipe, data noise, shuffle baseline).
    pub study: Study,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self::full(0)
    }
}

impl DemoConfig {
    /// The demo at the paper's size (N = 300), shortened to run in about 5 minutes on 2 cores.
    pub fn full(seed: u64) -> Self {
        Self {
            seed,
            teacher: EiSpec::default(),
            task: SineTask::default(),
            teacher_training: FitConfig {
                steps: 700,
                ..EiSpec::training_config(seed)
            },
            student_trials: DEMO_STUDENT_TRIALS,
            study: Study {
                ms: vec![0, 1, 4, 16, 64],
                fit: FitConfig {
                    steps: DEMO_GN_STEPS,
                    seed,
                    report_every: 1,
                    ..FitConfig::for_method(MethodKind::GaussNewton)
                },
                seed,
                replicates: 3,
                ..Study::default()
            },
        }
    }

    /// The demo at N = 100 (800 teacher steps), students by L-BFGS (at most 300 iterations):
    /// about a minute on 2 cores. (At N = 100, 30 Gauss–Newton iterations leave most students
    /// far from converged, and more take too long; L-BFGS gets further in the time.)
    pub fn quick(seed: u64) -> Self {
        let mut c = Self::full(seed);
        c.teacher.n = 100;
        c.teacher_training.steps = 800;
        c.study.ms = vec![0, 1, 4, 16, 32];
        c.study.fit = FitConfig {
            steps: 300,
            seed,
            report_every: 1,
            ..FitConfig::for_method(MethodKind::Lbfgs)
        };
        c
    }

    /// The teacher to build and the trials its students are fitted on and scored on.
    pub fn teacher(&self) -> (TeacherSpec, Trials) {
        let spec = TeacherSpec::EiTask {
            ei: self.teacher.clone(),
            task: self.task,
            training: self.teacher_training.clone(),
        };
        let trials = Trials {
            train: self.student_trials,
            heldout: self.student_trials,
        };
        (spec, trials)
    }

    /// Checks every value; errors name the field.
    pub fn validate(&self) -> Result<()> {
        self.teacher.validate()?;
        self.task.validate()?;
        if self.student_trials == 0 {
            return Err(Error::spec("demo.student_trials", "= 0: must be >= 1"));
        }
        if self.study.replicates == 0 {
            return Err(Error::spec("demo.study.replicates", "= 0: must be >= 1"));
        }
        check_run_size(
            "demo.student_trials, demo.task.steps",
            self.student_trials,
            self.task.steps,
            self.teacher.n,
        )?;
        self.teacher_training.validate()?;
        self.study.fit.validate()?;
        check_run_size(
            "demo.task.trials, demo.task.steps",
            self.task.trials,
            self.task.steps,
            self.teacher.n,
        )?;
        if let Some(&m) = self.study.ms.iter().find(|&&m| m > self.teacher.n) {
            return Err(Error::spec(
                "demo.study.ms",
                format!("M = {m} exceeds the {} neurons of the teacher", self.teacher.n),
            ));
        }
        if self.study.ms.is_empty() {
            return Err(Error::spec("demo.study.ms", "give at least one M (0 = readout only)"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_spelled_as_in_configs_and_recipes_may_say_ei() {
        for k in TeacherKind::ALL {
            let v: TeacherKind = serde_json::from_value(serde_json::json!(k.name())).unwrap();
            assert_eq!(v, k);
            assert_eq!(serde_json::to_value(k).unwrap(), serde_json::json!(k.name()));
            assert_eq!(TeacherConfig::preset(k, 0).spec().kind(), k);
        }
        let ei: TeacherKind = serde_json::from_value(serde_json::json!("ei")).unwrap();
        assert_eq!(ei, TeacherKind::EiTask);
    }

    #[test]
    fn a_section_of_another_kind_is_named() {
        let mut c = TeacherConfig::preset(TeacherKind::Chaotic, 0);
        c.ei = Some(EiSpec::default());
        assert_eq!(
            c.validate().unwrap_err().to_string(),
            "teacher.ei: only used with kind = \"ei-task\""
        );
        let mut d = DemoConfig::quick(0);
        d.student_trials = 0;
        assert_eq!(
            d.validate().unwrap_err().to_string(),
            "demo.student_trials = 0: must be >= 1"
        );
    }
}
