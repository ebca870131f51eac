//! `ccrnn config init|check`.

use crate::args::ConfigCmd;
use crate::configs::{ConfigFile, template};
use crate::ui::Ui;
use crate::ui::{out, outln};
use anyhow::Result;
use ccrnn_lab::sweep::Recipe;
use std::path::Path;

pub fn run(c: ConfigCmd, ui: &Ui) -> Result<i32> {
    match c {
        ConfigCmd::Init { preset, out } => {
            let text = template(preset);
            match out {
                Some(path) => {
                    if path.exists() {
                        anyhow::bail!("{}: already exists; not overwritten", path.display());
                    }
                    ccrnn_io::write_atomic(&path, text.as_bytes())?;
                    ui.say(format!("wrote {}", path.display()));
                }
                None => out!("{text}")?,
            }
            Ok(0)
        }
        ConfigCmd::Check { file } => check(&file, ui),
    }
}

/// `config check`: a configuration file, or a sweep recipe (what `sweep recipes --show`
/// prints), recognised by which of the two it parses as. Exits 1 on invalid values.
fn check(file: &Path, ui: &Ui) -> Result<i32> {
    let (what, text, mut detail, verdict) = match ConfigFile::read(file) {
        Ok(cfg) => {
            let sections: Vec<&str> = [
                ("teacher", cfg.teacher.is_some()),
                ("student", cfg.student.is_some()),
                ("fit", cfg.fit.is_some()),
                ("demo", cfg.demo.is_some()),
            ]
            .into_iter()
            .filter(|(_, p)| *p)
            .map(|(s, _)| s)
            .collect();
            let detail = serde_json::json!({ "sections": sections });
            let text = format!("sections: {}", sections.join(", "));
            ("configuration", text, detail, cfg.validate())
        }
        Err(config_error) => match ccrnn_io::config::read_toml_required::<Recipe>(file, "recipe") {
            Ok(recipe) => {
                let verdict = ccrnn_lab::sweep::expand(&recipe).map_err(anyhow::Error::from);
                let tasks = verdict.as_ref().map(|t| t.len()).unwrap_or(0);
                let detail = serde_json::json!({ "tasks": tasks });
                ("sweep recipe", format!("{tasks} tasks"), detail, verdict.map(|_| ()))
            }
            Err(_) => return Err(config_error),
        },
    };
    let name = file.display().to_string();
    detail["file"] = name.clone().into();
    detail["kind"] = what.into();
    detail["valid"] = verdict.is_ok().into();
    match verdict {
        Ok(()) => {
            if ui.json {
                outln!("{detail}")?;
            } else {
                outln!("{name}: valid {what} ({text})")?;
            }
            Ok(0)
        }
        Err(e) => {
            if ui.json {
                detail["error"] = e.to_string().into();
                outln!("{detail}")?;
            }
            crate::ui::err_line(format_args!("{name}: invalid {what}: {e}"));
            Ok(1)
        }
    }
}
