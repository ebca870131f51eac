//! Run directories: one per run, built in a hidden staging directory beside the target and
//! renamed into place only when the run succeeds, so a failed or interrupted run never leaves
//! a partial run directory under the requested name.
//!
//! Layout: `config.toml` (the effective configuration), `meta.json` (provenance: ccrnn version,
//! command line, seed, sha256 of every input file, start and end time, thread count),
//! `metrics.jsonl` (one JSON object per line: loss curves), results (`.npz`, `.csv`), plots.

use crate::{Error, Result, out_dir, write_atomic};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// An input file and its fingerprint.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct InputFile {
    /// The path as given.
    pub path: String,
    /// SHA-256 of the content, hex.
    pub sha256: String,
    /// Size in bytes.
    pub bytes: u64,
}

/// Provenance of a run (`meta.json`).
#[derive(Debug, Clone, Serialize)]
pub struct Meta {
    /// Version of the program that made the run.
    pub ccrnn_version: String,
    /// The command line.
    pub command: Vec<String>,
    /// The run's seed.
    pub seed: u64,
    /// Input files and their hashes.
    pub inputs: Vec<InputFile>,
    /// Start time, RFC 3339 (UTC).
    pub started: String,
    /// End time, RFC 3339 (UTC).
    pub finished: Option<String>,
    /// Wall time, seconds.
    pub seconds: Option<f64>,
    /// Worker threads used.
    pub threads: usize,
    /// Whether the run was in the reproducible mode (`ccrnn_core::kernels::reproducible`): if
    /// so, its numbers are the same bit for bit on every x86-64 machine.
    pub reproducible: bool,
    /// The matrix-product kernels that ran (`ccrnn_core::kernels::matmul_path`): runs on
    /// different `gemm` paths agree to rounding, not bit for bit; `fixed-order` runs agree
    /// exactly.
    pub matmul_kernels: String,
    /// The elementwise kernels that ran (`ccrnn_core::kernels::elementwise_path`): both
    /// paths give the same numbers.
    pub elementwise_kernels: String,
}

/// SHA-256 of a file's content, hex, and its size.
pub fn sha256_file(path: &Path) -> Result<InputFile> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let k = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if k == 0 {
            break;
        }
        bytes += k as u64;
        h.update(&buf[..k]);
    }
    let sha256 = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
    Ok(InputFile {
        path: path.display().to_string(),
        sha256,
        bytes,
    })
}

/// A run directory being filled.
#[derive(Debug)]
pub struct RunDir {
    target: PathBuf,
    staging: PathBuf,
    meta: Meta,
    start: std::time::Instant,
    metrics: Option<BufWriter<File>>,
    overwrite: bool,
    done: bool,
}

impl RunDir {
    /// Starts a run whose results go to `target`. Fails before any work if `target` exists and
    /// `overwrite` is false, or if `target` is anything but a ccrnn output directory holding
    /// only what ccrnn wrote there ([`crate::out_dir`]); with `overwrite`, the old directory
    /// is replaced only when the run finishes.
    pub fn create(target: &Path, meta: Meta, overwrite: bool) -> Result<Self> {
        let staging = out_dir::stage(target, overwrite)?;
        Ok(Self {
            target: target.to_path_buf(),
            staging,
            meta,
            start: std::time::Instant::now(),
            metrics: None,
            overwrite,
            done: false,
        })
    }

    /// Provenance of a run started now.
    pub fn meta_now(version: &str, seed: u64, threads: usize) -> Meta {
        Meta {
            ccrnn_version: version.to_string(),
            command: std::env::args().collect(),
            seed,
            inputs: Vec::new(),
            started: humantime::format_rfc3339_seconds(SystemTime::now()).to_string(),
            finished: None,
            seconds: None,
            threads,
            reproducible: ccrnn_core::kernels::reproducible(),
            matmul_kernels: ccrnn_core::kernels::matmul_path().to_string(),
            elementwise_kernels: ccrnn_core::kernels::elementwise_path().to_string(),
        }
    }

    /// Where the run directory will be once finished.
    pub fn target(&self) -> &Path {
        &self.target
    }

    /// The path of file `name` inside the (staging) run directory.
    pub fn file(&self, name: &str) -> PathBuf {
        self.staging.join(name)
    }

    /// Records an input file's hash in the provenance.
    pub fn add_input(&mut self, path: &Path) -> Result<()> {
        let f = sha256_file(path)?;
        self.meta.inputs.push(f);
        Ok(())
    }

    /// Writes file `name` (atomically).
    pub fn write(&self, name: &str, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.file(name), bytes)
    }

    /// Appends one JSON object as a line of `metrics.jsonl` (in the staging directory
    /// `.NAME.partial-PID` while the run is going).
    pub fn metric<T: Serialize>(&mut self, record: &T) -> Result<()> {
        let path = self.file("metrics.jsonl");
        if self.metrics.is_none() {
            let f = File::create(&path).map_err(|e| Error::io(&path, e))?;
            self.metrics = Some(BufWriter::new(f));
        }
        let w = self.metrics.as_mut().expect("opened above");
        serde_json::to_writer(&mut *w, record).map_err(|e| Error::format(&path, e.to_string()))?;
        w.write_all(b"\n").map_err(|e| Error::io(&path, e))?;
        // Flushed line by line so that a long run can be followed (`tail -f`).
        w.flush().map_err(|e| Error::io(&path, e))
    }

    /// Writes `meta.json` and moves the directory into place; returns its final path.
    pub fn finish(mut self) -> Result<PathBuf> {
        if let Some(mut w) = self.metrics.take() {
            let path = self.file("metrics.jsonl");
            w.flush().map_err(|e| Error::io(&path, e))?;
        }
        self.meta.finished = Some(humantime::format_rfc3339_seconds(SystemTime::now()).to_string());
        self.meta.seconds = Some(self.start.elapsed().as_secs_f64());
        let json = serde_json::to_string_pretty(&self.meta).expect("meta serialises");
        self.write("meta.json", json.as_bytes())?;
        let target = out_dir::publish(&self.staging, &self.target, self.overwrite)?;
        self.done = true;
        Ok(target)
    }
}

impl Drop for RunDir {
    fn drop(&mut self) {
        if !self.done {
            self.metrics.take();
            out_dir::discard_staging(&self.staging);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmp(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ccrnn-rundir-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn dropped_run_leaves_nothing_and_finished_run_has_meta() {
        let d = tmp("a");
        let target = d.join("run");
        {
            let r = RunDir::create(&target, RunDir::meta_now("0", 1, 1), false).unwrap();
            r.write("x.txt", b"x").unwrap();
        }
        assert_eq!(std::fs::read_dir(&d).unwrap().count(), 0);
        let mut r = RunDir::create(&target, RunDir::meta_now("0", 1, 1), false).unwrap();
        r.metric(&serde_json::json!({"step": 1})).unwrap();
        r.finish().unwrap();
        let meta: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(target.join("meta.json")).unwrap()).unwrap();
        assert_eq!(meta["seed"], 1);
        assert!(meta["finished"].is_string());
        assert_eq!(
            std::fs::read_to_string(target.join("metrics.jsonl")).unwrap(),
            "{\"step\":1}\n"
        );
        assert!(RunDir::create(&target, RunDir::meta_now("0", 1, 1), false).is_err());
        std::fs::remove_dir_all(&d).unwrap();
    }

    #[test]
    fn sha256_of_known_content() {
        let d = tmp("b");
        let p = d.join("abc");
        std::fs::write(&p, b"abc").unwrap();
        let f = sha256_file(&p).unwrap();
        assert_eq!(
            f.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(f.bytes, 3);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
