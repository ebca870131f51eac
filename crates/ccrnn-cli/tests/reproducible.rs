//! The reproducible mode: the same seed gives the same bytes whichever instruction set the
//! kernels run (baseline SSE2, AVX2/FMA, AVX-512), so on every x86-64 machine.

mod common;

use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// A small E/I teacher that asks for the reproducible mode in its configuration.
const TEACHER: &str = r#"reproducible = true
[teacher]
kind = "ei-task"
seed = 3
[teacher.ei]
n = 60
[teacher.task]
steps = 100
trials = 16
[teacher.training]
steps = 30
batch_size = 8
"#;

/// Drops what legitimately differs between two runs of one command: wall times and the
/// default run directory's time stamp.
fn without_times(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for k in ["seconds", "run_dir", "started", "finished"] {
                m.remove(k);
            }
            m.values_mut().for_each(without_times);
        }
        Value::Array(a) => a.iter_mut().for_each(without_times),
        _ => {}
    }
}

/// Every output file under `dir` (relative path → bytes; JSON documents and lines with their
/// times removed), and checks each run's `meta.json` says it ran the fixed-order kernels.
fn outputs(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let name = p.strip_prefix(dir).unwrap().to_string_lossy().into_owned();
            let bytes = std::fs::read(&p).unwrap();
            if name.ends_with("meta.json") {
                let meta: Value = serde_json::from_slice(&bytes).unwrap();
                assert_eq!(meta["reproducible"], true, "{name}");
                assert_eq!(meta["matmul_kernels"], "fixed-order", "{name}");
                continue;
            }
            let bytes = if name.ends_with(".json") || name.ends_with(".jsonl") {
                let text = String::from_utf8(bytes).unwrap();
                let lines: Vec<String> = text
                    .lines()
                    .filter(|l| !l.trim().is_empty())
                    .map(|l| {
                        let mut v: Value = serde_json::from_str(l).unwrap_or_else(|_| Value::String(l.into()));
                        without_times(&mut v);
                        v.to_string()
                    })
                    .collect();
                // A pretty-printed document is one value over many lines: parse it whole.
                match serde_json::from_str::<Value>(&text) {
                    Ok(mut v) => {
                        without_times(&mut v);
                        v.to_string().into_bytes()
                    }
                    Err(_) => lines.join("\n").into_bytes(),
                }
            } else {
                bytes
            };
            files.insert(name, bytes);
        }
    }
    files
}

/// Runs the main commands (teacher training, noisy simulation, fits by Adam, Gauss–Newton and
/// L-BFGS, evaluation, the Gauss–Newton spectrum, recording priorities by sensitivities and by
/// linear theory) with the kernels capped at `kernels` (`None`: the best the CPU has).
fn pipeline(root: &Path, kernels: Option<&str>) -> BTreeMap<String, Vec<u8>> {
    let tag = kernels.unwrap_or("best");
    let d = root.join(tag);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(d.join("t.toml"), TEACHER).unwrap();
    let go = |args: &[&str]| -> String {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_ccrnn"));
        cmd.current_dir(&d).args(args).env_remove("CCRNN_KERNELS");
        if let Some(k) = kernels {
            cmd.env("CCRNN_KERNELS", k);
        }
        let o = cmd.output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    go(&["teacher", "--config", "t.toml", "--quiet", "--out", "teacher"]);
    let config = std::fs::read_to_string(d.join("teacher/config.toml")).unwrap();
    assert!(
        config.contains("reproducible = true"),
        "the run's config records the mode:\n{config}"
    );
    let r = ["--reproducible", "--quiet"];
    fn with<'a>(r: &[&'a str], args: &[&'a str]) -> Vec<&'a str> {
        [r, args].concat()
    }
    go(&with(
        &r,
        &[
            "simulate",
            "teacher/teacher.npz",
            "--sine-task",
            "--trials",
            "8",
            "--noise",
            "0.02",
            "--out",
            "sim",
        ],
    ));
    for method in ["adam", "gauss-newton", "lbfgs"] {
        let out = format!("fit-{method}");
        go(&with(
            &r,
            &[
                "fit",
                "--model",
                "teacher/teacher.npz",
                "--recording",
                "sim/trajectory.npz",
                "--m",
                "12",
                "--method",
                method,
                "--steps",
                "6",
                "--train",
                "g,b",
                "--out",
                &out,
            ],
        ));
    }
    let eval = go(&with(
        &r,
        &[
            "eval",
            "--teacher",
            "teacher/teacher.npz",
            "--student",
            "fit-adam/student.npz",
            "--sine-task",
            "--json",
        ],
    ));
    std::fs::write(d.join("eval.json"), eval).unwrap();
    std::fs::remove_dir_all(d.join("runs")).unwrap(); // eval's own run directory, time-stamped
    go(&with(
        &r,
        &[
            "analyze",
            "hessian",
            "--model",
            "teacher/teacher.npz",
            "--sine-task",
            "--out",
            "hessian",
        ],
    ));
    go(&with(
        &r,
        &[
            "prioritize",
            "--model",
            "fit-adam/student.npz",
            "--sine-task",
            "--out",
            "prio",
        ],
    ));
    go(&with(
        &r,
        &[
            "prioritize",
            "--model",
            "fit-adam/student.npz",
            "--linear",
            "--out",
            "prio-linear",
        ],
    ));
    std::fs::remove_file(d.join("t.toml")).unwrap();
    outputs(&d)
}

#[test]
fn reproducible_mode_gives_the_same_bytes_on_every_kernel_path() {
    let tmp = tempfile::tempdir().unwrap();
    let best = pipeline(tmp.path(), None);
    assert!(best.len() >= 40, "{} files: {:?}", best.len(), best.keys());
    for cap in ["avx2", "baseline"] {
        let other = pipeline(tmp.path(), Some(cap));
        assert_eq!(
            best.keys().collect::<Vec<_>>(),
            other.keys().collect::<Vec<_>>(),
            "the same files"
        );
        for (name, bytes) in &best {
            assert!(
                other[name] == *bytes,
                "{name}: differs between the best kernels and {cap}"
            );
        }
    }
    let cpu = if std::arch::is_x86_feature_detected!("avx512f") {
        "AVX-512 (against AVX2 and baseline)"
    } else if std::arch::is_x86_feature_detected!("avx2") {
        "AVX2 (against baseline; this CPU has no AVX-512)"
    } else {
        "baseline only (this CPU has no AVX2)"
    };
    eprintln!(
        "reproducible mode: {} files identical; best kernels here: {cpu}",
        best.len()
    );
}
