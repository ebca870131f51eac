//! Starting a run directory for a command: default location, provenance, effective config.

use crate::args::OutArgs;
use crate::configs::ConfigFile;
use anyhow::Result;
use ccrnn_io::RunDir;
use std::path::{Path, PathBuf};

/// `runs/<command>-<YYYYMMDD>-<HHMMSS>` (UTC), with a suffix if that exists already.
fn default_dir(command: &str) -> PathBuf {
    let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let stamp: String = stamp.chars().filter(|c| c.is_ascii_digit()).collect();
    let base = format!("{command}-{}-{}", &stamp[..8], &stamp[8..14]);
    let mut dir = Path::new("runs").join(&base);
    let mut k = 2;
    while dir.exists() {
        dir = Path::new("runs").join(format!("{base}-{k}"));
        k += 1;
    }
    dir
}

/// Creates the (staging) run directory of `command`, records the hashes of `inputs` and
/// writes the effective configuration as `config.toml` (with `reproducible = true` if the run
/// is in that mode, however it was asked for).
pub fn start(command: &str, out: &OutArgs, seed: u64, inputs: &[&Path], config: &ConfigFile) -> Result<RunDir> {
    let target = out.out.clone().unwrap_or_else(|| default_dir(command));
    let meta = RunDir::meta_now(env!("CARGO_PKG_VERSION"), seed, rayon::current_num_threads());
    let mut run = RunDir::create(&target, meta, out.force)?;
    for p in inputs {
        run.add_input(p)?;
    }
    let header = format!(
        "# Effective configuration of this run (ccrnn {}); rerun with --config config.toml\n",
        env!("CARGO_PKG_VERSION")
    );
    let config = ConfigFile {
        reproducible: ccrnn_core::kernels::reproducible(),
        ..config.clone()
    };
    run.write("config.toml", (header + &ccrnn_io::to_toml(&config)).as_bytes())?;
    Ok(run)
}
