//! Where output goes: `--out` and `--force` never remove anything ccrnn did not create, and
//! a closed pipe or a full disk on standard output or error ends the command with one clean
//! line and exit code 2, never a panic.

use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::*;

/// Every file and folder below `dir`, with each file's content.
fn snapshot(dir: &Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    entries(dir)
        .into_iter()
        .map(|p| {
            let bytes = if p.is_file() {
                std::fs::read(&p).unwrap()
            } else {
                Vec::new()
            };
            (p, bytes)
        })
        .collect()
}

#[test]
fn force_refuses_every_target_that_is_not_its_own_run_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let work = root.join("work");
    std::fs::create_dir_all(work.join("sub")).unwrap();
    std::fs::write(root.join("parent-keep.txt"), b"parent").unwrap();
    std::fs::write(work.join("keep.txt"), b"mine").unwrap();
    std::fs::write(work.join("sub/data.csv"), b"1,2\n").unwrap();
    std::fs::create_dir(work.join("not-a-run")).unwrap();
    std::fs::write(work.join("not-a-run/notes.md"), b"notes").unwrap();
    std::fs::write(work.join("a-file"), b"file").unwrap();
    ok(
        &work,
        &["teacher", "--n", "12", "--steps", "1", "--quiet", "--out", "tiny"],
    );
    // A short simulation into `out`, replacing it (`--force`) or not.
    let simulate = |out: &str, force: bool| {
        let mut args = vec![
            "simulate",
            "tiny/teacher.npz",
            "--sine-task",
            "--steps",
            "5",
            "--quiet",
            "--out",
            out,
        ];
        if force {
            args.push("--force");
        }
        ccrnn(&work, &args)
    };
    let sim = |out: &str| simulate(out, true);
    let before = snapshot(root);
    for (out, needle) in [
        (".", "not a usable output directory"),
        ("..", "not a usable output directory"),
        ("sub/..", "not a usable output directory"),
        ("not-a-run", ".ccrnn-manifest"),
        ("sub", ".ccrnn-manifest"),
        ("a-file", "not a directory"),
        ("../work", "contains the current directory"),
    ] {
        let o = sim(out);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "--out {out} --force: {err}");
        assert!(
            err.contains(needle),
            "--out {out} --force: message lacks {needle:?}: {err}"
        );
        assert_eq!(snapshot(root), before, "--out {out} --force changed files");
    }
    // `/` only once the relative forms are known to be refused (a regression here must not
    // reach the machine's root).
    let o = sim("/");
    assert_eq!(o.status.code(), Some(2), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(snapshot(root), before);

    // Its own run directory is replaced, and only while it holds nothing but ccrnn's files.
    assert!(simulate("s", false).status.success());
    assert!(work.join("s/.ccrnn-manifest").is_file());
    assert!(sim("s").status.success());
    std::fs::write(work.join("s/analysis.ipynb"), b"user work").unwrap();
    let before = snapshot(root);
    let o = sim("s");
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("analysis.ipynb") && err.contains("did not write"), "{err}");
    assert_eq!(snapshot(root), before, "a refused --force changed files");
    std::fs::remove_file(work.join("s/analysis.ipynb")).unwrap();
    assert!(sim("s").status.success());
    for kept in [
        "parent-keep.txt",
        "work/keep.txt",
        "work/sub/data.csv",
        "work/not-a-run/notes.md",
        "work/a-file",
    ] {
        assert!(root.join(kept).is_file(), "{kept} was removed");
    }
    let hidden: Vec<_> = std::fs::read_dir(&work)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(hidden.is_empty(), "staging left behind: {hidden:?}");
}

/// Runs `args` with standard output and error going to `stdout` and `stderr`.
fn run_into(args: &[&str], stdout: Stdio, stderr: Stdio) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    Command::new(env!("CARGO_BIN_EXE_ccrnn"))
        .current_dir(dir.path())
        .args(args)
        .stdout(stdout)
        .stderr(stderr)
        .output()
        .unwrap()
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_with_one_clean_line() {
    let info = ["connectome", "info", "celegans"];
    // A pipe whose reader is gone before the command starts (`ccrnn … | head -0`): what the
    // reader read was all it wanted, so the command ends quietly, exit 0 (ccrnn ignores
    // SIGPIPE, as every Rust program, so the write fails with EPIPE rather than killing it).
    for args in [&info[..], &["sweep", "recipes"], &["config", "init", "demo"]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let o = run_into(args, writer.into(), Stdio::piped());
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(0), "closed pipe, {args:?}: {err}");
        assert!(err.is_empty(), "closed pipe, {args:?}: {err}");
    }
    // `> /dev/full`.
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let o = run_into(&info, full().into(), Stdio::piped());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "/dev/full: {err}");
    assert_eq!(
        err.trim(),
        "error: writing to standard output: No space left on device (os error 28)"
    );
    // `2> /dev/full` on a failing command: nobody can be told, the exit code still says it.
    let o = run_into(
        &["connectome", "info", "no-such-file.csv"],
        Stdio::piped(),
        full().into(),
    );
    assert_eq!(o.status.code(), Some(2));
    // And on a succeeding one with stage messages on stderr.
    let o = run_into(
        &["teacher", "--n", "12", "--steps", "1", "--out", "t"],
        Stdio::null(),
        full().into(),
    );
    assert_eq!(o.status.code(), Some(0));
}

/// A file-size limit (`ulimit -f`) reached while writing: one clean line naming the file the
/// user asked for (not the hidden staging directory), no debug text, no output directory.
#[test]
fn file_size_limit_ends_with_one_clean_line_and_no_output() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["teacher", "--preset", "chaotic", "--quiet", "--out", "t"]);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ccrnn"));
    cmd.current_dir(d).args([
        "simulate",
        "t/teacher.npz",
        "--trials",
        "10",
        "--steps",
        "200",
        "--quiet",
        "--out",
        "big",
    ]);
    // SAFETY: setrlimit is async-signal-safe; the closure allocates nothing.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 200 * 1024,
                rlim_max: 200 * 1024,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "killed or wrong code: {:?} {err}", o.status);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("error: big/trajectory.npz: writing array") && err.contains("File too large"),
        "{err}"
    );
    let left: Vec<String> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["t"], "left behind: {left:?}");
}

/// Ctrl-C during a long fit: the fit stops after the current step, saves the student and its
/// loss curve, marks the run interrupted and exits 130.
#[test]
fn ctrl_c_stops_a_fit_and_saves_it_marked_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    ok(d, &["teacher", "--preset", "chaotic", "--quiet", "--out", "t"]);
    ok(
        d,
        &[
            "simulate",
            "t/teacher.npz",
            "--trials",
            "4",
            "--steps",
            "100",
            "--quiet",
            "--out",
            "rec",
        ],
    );
    let child = Command::new(env!("CARGO_BIN_EXE_ccrnn"))
        .current_dir(d)
        .args([
            "fit",
            "--model",
            "t/teacher.npz",
            "--recording",
            "rec/trajectory.npz",
            "--m",
            "10",
            "--method",
            "adam",
            "--lr",
            "1e-5",
            "--steps",
            "100000000",
            "--out",
            "fit",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the fit has logged steps (its metrics file grows in the staging directory).
    let started = std::time::Instant::now();
    while started.elapsed().as_secs() < 60 {
        let logged = std::fs::read_dir(d).unwrap().flatten().any(|e| {
            let p = e.path().join("metrics.jsonl");
            e.file_name().to_string_lossy().starts_with(".fit.") && std::fs::metadata(p).is_ok_and(|m| m.len() > 0)
        });
        if logged {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    // SAFETY: sending a signal to our own child.
    assert_eq!(unsafe { libc::kill(child.id() as i32, libc::SIGINT) }, 0);
    let o = child.wait_with_output().unwrap();
    let (out, err) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(130), "{out}\n{err}");
    assert!(err.contains("interrupted: stopping after this step"), "{err}");
    assert!(out.contains("interrupted"), "{out}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(d.join("fit/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["interrupted"], true);
    assert_eq!(summary["termination"], "Stopped");
    assert!(summary["steps"].as_u64().unwrap() >= 1);
    for f in ["student.npz", "loss.csv", "meta.json", ".ccrnn-manifest"] {
        assert!(d.join("fit").join(f).is_file(), "fit/{f} missing");
    }
}
