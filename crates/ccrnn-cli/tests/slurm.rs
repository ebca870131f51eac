//! `ccrnn sweep slurm` on a real one-node Slurm started on this machine (ci/slurm/start.sh):
//! the job arrays give the same table as a local run, and a cancelled array element followed
//! by `--only-missing` completes the sweep. Skips, saying why, where Slurm cannot be started
//! (not root, no slurm-wlm), unless CCRNN_REQUIRE_SLURM=1 (as in CI), where it fails instead.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;
use common::*;

fn slurm_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ci/slurm")
}

/// Stops the daemons when the test ends, pass or fail.
struct Daemons;

impl Drop for Daemons {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(slurm_dir().join("stop.sh")).status();
    }
}

fn start() -> Result<Daemons, String> {
    let which = Command::new("sh")
        .args(["-c", "command -v sbatch slurmctld slurmd munged"])
        .output();
    if !which.map(|o| o.status.success()).unwrap_or(false) {
        return Err("slurm-wlm and munge are not installed (apt-get install slurm-wlm munge)".into());
    }
    let uid = Command::new("id").arg("-u").output().map_err(|e| e.to_string())?;
    if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
        return Err("starting slurmctld and slurmd needs root".into());
    }
    let o = Command::new("bash")
        .arg(slurm_dir().join("start.sh"))
        .output()
        .map_err(|e| e.to_string())?;
    if !o.status.success() {
        let _ = Command::new("bash").arg(slurm_dir().join("stop.sh")).status();
        return Err(format!(
            "ci/slurm/start.sh failed: {}",
            String::from_utf8_lossy(&o.stderr)
        ));
    }
    Ok(Daemons)
}

fn slurm(args: &[&str]) -> String {
    let o = Command::new(args[0]).args(&args[1..]).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8_lossy(&o.stdout).trim().to_string()
}

/// Waits until none of `jobs` is in the queue (bounded).
fn wait_for(jobs: &[String]) {
    let start = Instant::now();
    loop {
        let q = slurm(&["squeue", "-h", "-o", "%i %T", "-j", &jobs.join(",")]);
        if q.is_empty() {
            return;
        }
        assert!(
            start.elapsed() < Duration::from_secs(300),
            "jobs still queued after 300 s:\n{q}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

fn job_ids(doc: &Value) -> Vec<String> {
    doc["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["job_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn job_arrays_on_a_real_slurm_match_a_local_run() {
    // SLURM_CONF for every command below, including the ccrnn binary's sbatch calls.
    // SAFETY: this binary holds one test, and nothing else reads the environment meanwhile.
    unsafe { std::env::set_var("SLURM_CONF", slurm_dir().join("slurm.conf")) };
    let _daemons = match start() {
        Ok(d) => d,
        Err(why) if std::env::var_os("CCRNN_REQUIRE_SLURM").is_some() => {
            panic!("Slurm is required here (CCRNN_REQUIRE_SLURM) but could not be started: {why}")
        }
        Err(why) => {
            eprintln!("SKIPPED job_arrays_on_a_real_slurm_match_a_local_run: {why}");
            return;
        }
    };
    let t0 = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let recipe = tiny_recipe(d);
    let recipe = recipe.to_str().unwrap();
    ok(d, &["--quiet", "sweep", "run", recipe, "--out", "local", "--jobs", "2"]);
    let local = std::fs::read_to_string(d.join("local/results.csv")).unwrap();
    let tasks = local.lines().count(); // header + students = students + 1 teacher

    // 1. The whole recipe as two arrays, two tasks per element.
    let sub = json(
        d,
        &[
            "--json",
            "sweep",
            "slurm",
            recipe,
            "--out",
            "s1",
            "--tasks-per-job",
            "2",
            "--submit",
        ],
    );
    let jobs = job_ids(&sub);
    assert_eq!(jobs.len(), 2, "{sub}");
    wait_for(&jobs);
    let st = json(d, &["--json", "sweep", "status", "s1"]);
    assert_eq!(st["done"].as_u64(), Some(tasks as u64), "{st}");
    ok(d, &["sweep", "collect", "s1"]);
    assert_eq!(std::fs::read_to_string(d.join("s1/results.csv")).unwrap(), local);
    assert!(d.join("s1/logs/task-0.log").is_file());

    // 2. One array element cancelled: its tasks are missing; --only-missing resubmits just
    // those, and the table is again the local one.
    json(
        d,
        &[
            "--json",
            "sweep",
            "slurm",
            recipe,
            "--out",
            "s2",
            "--tasks-per-job",
            "2",
        ],
    );
    let teachers = slurm(&[
        "sbatch",
        "--parsable",
        "--hold",
        d.join("s2/slurm/teachers.sbatch").to_str().unwrap(),
    ]);
    let students = slurm(&[
        "sbatch",
        "--parsable",
        "--hold",
        &format!("--dependency=afterany:{teachers}"),
        d.join("s2/slurm/students.sbatch").to_str().unwrap(),
    ]);
    slurm(&["scancel", &format!("{students}_1")]);
    slurm(&["scontrol", "release", &teachers]);
    slurm(&["scontrol", "release", &students]);
    wait_for(&[teachers, students]);
    let st = json(d, &["--json", "sweep", "status", "s2"]);
    assert_eq!(st["missing"].as_u64(), Some(2), "element 1 held two tasks: {st}");
    assert_eq!(st["done"].as_u64(), Some(tasks as u64 - 2), "{st}");
    let again = json(
        d,
        &[
            "--json",
            "sweep",
            "slurm",
            recipe,
            "--out",
            "s2",
            "--only-missing",
            "--submit",
        ],
    );
    assert_eq!(again["tasks"].as_u64(), Some(2), "{again}");
    wait_for(&job_ids(&again));
    let st = json(d, &["--json", "sweep", "status", "s2"]);
    assert_eq!(st["done"].as_u64(), Some(tasks as u64), "{st}");
    ok(d, &["sweep", "collect", "s2"]);
    assert_eq!(std::fs::read_to_string(d.join("s2/results.csv")).unwrap(), local);
    eprintln!("slurm test: {:.1} s", t0.elapsed().as_secs_f64());
}
