//! The configuration file: one TOML format with optional sections `[teacher]`, `[student]`,
//! `[fit]` and `[demo]` (the libraries' [`TeacherConfig`], [`StudentConfig`], [`FitConfig`]
//! and [`DemoConfig`]); each command reads the sections it needs. Unknown keys are errors
//! naming the key, the line and the file. Commented examples: `ccrnn config init <preset>`.

use crate::args::Preset;
use anyhow::Result;
use ccrnn_fit::FitConfig;
use ccrnn_fit::student::StudentConfig;
use ccrnn_lab::{DemoConfig, TeacherConfig};
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
    use ccrnn_lab::TeacherKind;
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
