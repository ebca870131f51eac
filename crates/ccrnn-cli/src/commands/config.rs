//! `ccrnn config init|check`.

use crate::args::ConfigCmd;
use crate::configs::{ConfigFile, template};
use crate::ui::Ui;
use crate::ui::{out, outln};
use anyhow::Result;

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
        ConfigCmd::Check { file } => {
            let cfg = ConfigFile::read(&file)?;
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
            match cfg.validate() {
                Ok(()) => {
                    if ui.json {
                        outln!(
                            "{}",
                            serde_json::json!({"file": file.display().to_string(), "valid": true, "sections": sections})
                        )?;
                    } else {
                        outln!("{}: valid (sections: {})", file.display(), sections.join(", "))?;
                    }
                    Ok(0)
                }
                Err(e) => {
                    if ui.json {
                        outln!(
                            "{}",
                            serde_json::json!({"file": file.display().to_string(), "valid": false, "error": e.to_string()})
                        )?;
                    }
                    crate::ui::err_line(format_args!("{}: invalid: {e}", file.display()));
                    Ok(1)
                }
            }
        }
    }
}
