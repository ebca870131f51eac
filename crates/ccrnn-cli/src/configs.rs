//! The configuration file: one TOML format with optional sections `[teacher]`, `[student]`,
//! `[fit]` and `[demo]`; each command reads the sections it needs. Unknown keys are errors
//! naming the key, the line and the file. Commented examples: `ccrnn config init <preset>`.

use crate::args::{InitKind, Preset, TeacherKind};
use anyhow::{Result, bail};
use ccrnn_fit::FitConfig;
use ccrnn_lab::{ChaoticSpec, EiSpec, LowRankSpec, SineTask, Study, TeacherSpec, Trials};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A whole configuration file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub teacher: Option<TeacherConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub student: Option<StudentConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fit: Option<FitConfig>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub demo: Option<DemoConfig>,
    /// Run in the reproducible mode (as `--reproducible`): the same numbers bit for bit on
    /// every x86-64 machine, AVX2 or AVX-512, at some cost in speed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reproducible: bool,
}

impl ConfigFile {
    /// Reads `path` (syntax, unknown keys and types are checked here; values by `validate`).
    pub fn read(path: &Path) -> Result<Self> {
        Ok(ccrnn_io::config::read_toml_required(path, "configuration")?)
    }

    /// Reads `path` and checks every value in it; errors name the file. A file that sets
    /// `reproducible = true` turns the reproducible mode on for this process.
    pub fn read_valid(path: &Path) -> Result<Self> {
        let file = Self::read(path)?;
        file.validate()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        crate::commands::reproducible_if(file.reproducible);
        Ok(file)
    }

    /// Checks every value of every section present.
    pub fn validate(&self) -> Result<()> {
        if let Some(t) = &self.teacher {
            t.validate()?;
        }
        if let Some(s) = &self.student {
            s.validate()?;
        }
        if let Some(f) = &self.fit {
            f.validate()?;
        }
        if let Some(d) = &self.demo {
            d.validate()?;
        }
        Ok(())
    }
}

/// A teacher: its kind, seed and the generator settings of that kind.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TeacherConfig {
    pub kind: TeacherKind,
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
    /// Steps per trial of that stimulus.
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

    pub fn validate(&self) -> Result<()> {
        let stray = |name: &str, present: bool, kind: &str| -> Result<()> {
            if present {
                bail!("teacher.{name}: only used with kind = \"{kind}\"")
            }
            Ok(())
        };
        let ei = self.kind == TeacherKind::EiTask;
        stray("ei", self.ei.is_some() && !ei, "ei-task")?;
        stray("task", self.task.is_some() && !ei, "ei-task")?;
        stray("training", self.training.is_some() && !ei, "ei-task")?;
        stray(
            "low_rank",
            self.low_rank.is_some() && self.kind != TeacherKind::LowRank,
            "low-rank",
        )?;
        stray(
            "chaotic",
            self.chaotic.is_some() && self.kind != TeacherKind::Chaotic,
            "chaotic",
        )?;
        if let Some(f) = &self.training {
            f.validate()?;
        }
        if self.trials == 0 || self.steps == 0 {
            bail!("teacher.trials, teacher.steps: must be >= 1")
        }
        // the network, the task and the sizes, with the defaults of the sections left out (as
        // the run will fill them)
        use ccrnn_lab::teacher::{check_network_size, check_run_size};
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

/// How a student starts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StudentConfig {
    /// `permuted` (the paper's) or `model` (the model file's parameters as they are).
    pub init: InitKind,
    /// With `permuted`: initial gains are the permuted ones × this (paper: 0.5).
    pub gain_factor: f64,
}

impl Default for StudentConfig {
    fn default() -> Self {
        Self {
            init: InitKind::Permuted,
            gain_factor: 0.5,
        }
    }
}

impl StudentConfig {
    pub fn validate(&self) -> Result<()> {
        if !(self.gain_factor > 0.0 && self.gain_factor.is_finite()) {
            bail!("student.gain_factor = {}: must be > 0", self.gain_factor)
        }
        Ok(())
    }
}

/// Trials of the demo students' recording (and of their held-out trials).
const DEMO_STUDENT_TRIALS: usize = 20;
/// At most this many Gauss–Newton iterations per demo student.
const DEMO_GN_STEPS: u64 = 30;

/// The demo: an E/I teacher trained on the sine task, then the teacher–student study.
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
                    ..FitConfig::for_method(ccrnn_fit::MethodKind::GaussNewton)
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
            ..FitConfig::for_method(ccrnn_fit::MethodKind::Lbfgs)
        };
        c
    }

    pub fn validate(&self) -> Result<()> {
        self.teacher.validate()?;
        self.task.validate()?;
        if self.student_trials == 0 {
            bail!("demo.student_trials = 0: must be >= 1")
        }
        if self.study.replicates == 0 {
            bail!("demo.study.replicates = 0: must be >= 1")
        }
        ccrnn_lab::teacher::check_run_size(
            "demo.student_trials, demo.task.steps",
            self.student_trials,
            self.task.steps,
            self.teacher.n,
        )?;
        self.teacher_training.validate()?;
        self.study.fit.validate()?;
        ccrnn_lab::teacher::check_run_size(
            "demo.task.trials, demo.task.steps",
            self.task.trials,
            self.task.steps,
            self.teacher.n,
        )?;
        if let Some(&m) = self.study.ms.iter().find(|&&m| m > self.teacher.n) {
            bail!(
                "demo.study.ms: M = {m} exceeds the {} neurons of the teacher",
                self.teacher.n
            )
        }
        if self.study.ms.is_empty() {
            bail!("demo.study.ms: give at least one M (0 = readout only)")
        }
        Ok(())
    }
}

/// A commented example configuration.
pub fn template(preset: Preset) -> &'static str {
    match preset {
        Preset::TeacherEi => include_str!("../templates/teacher-ei.toml"),
        Preset::TeacherLowRank => include_str!("../templates/teacher-low-rank.toml"),
        Preset::TeacherChaotic => include_str!("../templates/teacher-chaotic.toml"),
        Preset::Fit => include_str!("../templates/fit.toml"),
        Preset::Demo => include_str!("../templates/demo.toml"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    #[test]
    fn every_template_parses_and_validates() {
        for p in Preset::value_variants() {
            let c: ConfigFile = ccrnn_io::config::parse_toml(Path::new("template"), template(*p))
                .unwrap_or_else(|e| panic!("{p:?}: {e}"));
            c.validate().unwrap_or_else(|e| panic!("{p:?}: {e}"));
        }
    }

    fn parse(p: Preset) -> ConfigFile {
        ccrnn_io::config::parse_toml(Path::new("template"), template(p)).unwrap()
    }

    /// The values the templates show are the values the program uses.
    #[test]
    fn templates_show_the_defaults() {
        assert_eq!(parse(Preset::Demo).demo.unwrap(), DemoConfig::full(0));
        let t = parse(Preset::TeacherEi).teacher.unwrap();
        assert_eq!(t, TeacherConfig::preset(TeacherKind::EiTask, 0));
        let mut t = parse(Preset::TeacherLowRank).teacher.unwrap();
        t.fill_defaults();
        assert_eq!(t, TeacherConfig::preset(TeacherKind::LowRank, 0));
        let mut t = parse(Preset::TeacherChaotic).teacher.unwrap();
        t.fill_defaults();
        assert_eq!(t, TeacherConfig::preset(TeacherKind::Chaotic, 0));
        let f = parse(Preset::Fit);
        assert_eq!(f.fit.unwrap(), FitConfig::default());
        assert_eq!(f.student.unwrap(), StudentConfig::default());
    }

    #[test]
    fn effective_configs_round_trip_through_toml() {
        let c = ConfigFile {
            teacher: Some(TeacherConfig::preset(TeacherKind::EiTask, 3)),
            student: Some(StudentConfig::default()),
            fit: Some(FitConfig::default()),
            demo: Some(DemoConfig::quick(1)),
            reproducible: true,
        };
        let text = ccrnn_io::to_toml(&c);
        let back: ConfigFile = ccrnn_io::config::parse_toml(Path::new("x"), &text).unwrap();
        assert_eq!(ccrnn_io::to_toml(&back), text);
        back.validate().unwrap();
    }
}
