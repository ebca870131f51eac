//! Helpers shared by the command-line tests: run the binary, expect success or a clean failure.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn ccrnn(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ccrnn"))
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the binary runs")
}

pub fn ok(dir: &Path, args: &[&str]) -> String {
    let o = ccrnn(dir, args);
    assert!(
        o.status.success(),
        "ccrnn {args:?} failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

pub fn json(dir: &Path, args: &[&str]) -> Value {
    let out = ok(dir, args);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("stdout of {args:?} is not one JSON document ({e}): {out}"))
}

/// Runs a command that must fail with exit code 2, a message containing every `needles`, and
/// no run directory left behind (the directory holds exactly the same entries as before).
pub fn fails(dir: &Path, args: &[&str], needles: &[&str]) {
    let before = entries(dir);
    let o = ccrnn(dir, args);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(
        o.status.code(),
        Some(2),
        "ccrnn {args:?}: expected exit code 2; stderr: {err}"
    );
    for n in needles {
        assert!(err.contains(n), "ccrnn {args:?}: message lacks {n:?}: {err}");
    }
    assert_eq!(entries(dir), before, "ccrnn {args:?} left files behind");
}

pub fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = walk(dir);
    v.sort();
    v
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        }
        out.push(p);
    }
    out
}

pub fn has_run_files(dir: &Path, files: &[&str]) {
    for f in ["config.toml", "meta.json"].iter().chain(files) {
        assert!(dir.join(f).is_file(), "{} lacks {f}", dir.display());
    }
    let meta: Value = serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    for key in ["ccrnn_version", "seed", "inputs", "started", "finished", "threads"] {
        assert!(!meta[key].is_null(), "meta.json lacks {key}");
    }
}

/// A tiny copy of the built-in fig2 recipe, written as users write theirs.
pub fn tiny_recipe(dir: &Path) -> PathBuf {
    let text = ok(dir, &["sweep", "recipes", "--show", "fig2-recordings"]);
    let mut text = text
        .replace("name = \"fig2-recordings\"", "name = \"tiny\"")
        .replace("training_steps = 600", "training_steps = 30")
        .replace("trials = 24", "trials = 6")
        .replace("heldout_trials = 8", "heldout_trials = 3")
        .replace("steps = 200", "steps = 50")
        .replace("steps = 300", "steps = 20");
    // N = 24: M = 40 would record more neurons than the network has, so it goes too
    text = text.replace("n = [60]", "n = [24]").replace("    40,\n", "");
    assert!(!text.contains("    40,"), "fig2's M values changed: {text}");
    let path = dir.join("tiny.toml");
    std::fs::write(&path, text).unwrap();
    path
}
