//! Every built-in recipe at `small` scale, run end to end, with assertions on the claim it tests;
//! and the sweep machinery: resuming, job-count independence, failures.

use ccrnn_lab::sweep::{Col, Finding, Recipe, SweepDir, Table, TaskState, assess, builtin, run_local, run_task};

fn run(recipe: &Recipe, jobs: usize) -> (tempfile::TempDir, Table, Vec<Finding>) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = SweepDir::create(&tmp.path().join("sweep"), recipe).unwrap();
    let s = run_local(&dir, jobs, &|_| {}).unwrap();
    assert!(s.failed.is_empty() && s.blocked.is_empty(), "{s:?}");
    let table = Table::collect(&dir).unwrap();
    assert!(table.missing.is_empty());
    let findings = assess(recipe, &table);
    for f in &findings {
        eprintln!("{} claim {}: {:?} — {}", recipe.name, f.claim, f.held, f.evidence);
    }
    (tmp, table, findings)
}

fn held(findings: &[Finding], claim: u8) -> bool {
    findings.iter().any(|f| f.claim == claim && f.held == Some(true))
}

fn small(name: &str) -> Recipe {
    builtin(name, "small").unwrap()
}

#[test]
fn fig1_readout_only_students_solve_the_task_with_other_activity() {
    let (_t, table, f) = run(&small("fig1-degeneracy"), 2);
    assert!(held(&f, 1));
    // The typical (median) student is far from the teacher's activity: its unrecorded
    // correlation error is at least half the shuffled-label level. (Not every student: the
    // solutions are many, and a few land nearer the teacher than that.)
    let shuffle = table.column(Col::ShuffleCorrErr)[0];
    let mut errs = table.column(Col::UnrecordedCorrErr);
    errs.sort_by(f64::total_cmp);
    let median = errs[errs.len() / 2];
    assert!(median > 0.5 * shuffle, "median {median} vs shuffle {shuffle}: {errs:?}");
}

#[test]
fn fig2_recordings_constrain_connectome_students_but_not_unconstrained_ones() {
    let (_t, table, f) = run(&small("fig2-recordings"), 2);
    assert!(held(&f, 2) && held(&f, 3));
    let c = table.curve(|c| c(Col::Unconstrained) == 0.0, Col::M, Col::UnrecordedCorrErr);
    assert!(c.last().unwrap().1 < c.first().unwrap().1, "{c:?}");
    // Gains are not recovered at any M.
    assert!(table.column(Col::GainRmse).iter().all(|g| *g > 0.05));
}

#[test]
fn fig3_lowrank_needs_a_handful_of_recordings_whatever_n() {
    let (_t, _table, f) = run(&small("fig3-lowrank"), 2);
    assert!(held(&f, 2));
}

#[test]
fn fig3_chaos_needs_more_recordings_as_n_grows() {
    let (_t, _table, f) = run(&small("fig3-chaos"), 2);
    assert!(held(&f, 2));
}

#[test]
fn fig4_mismatch_leaves_a_floor_and_trained_beta_moves_to_the_teacher() {
    let (_t, table, f) = run(&small("fig4-mismatch"), 2);
    assert!(held(&f, 5));
    let floors = table.curve(|c| c(Col::BetaTraining) == 0.0, Col::BetaStudent, Col::UnrecordedMse);
    let f1 = floors.iter().find(|p| p.0 == 1.0).unwrap().1;
    assert!(floors.iter().filter(|p| p.0 != 1.0).all(|p| p.1 > f1), "{floors:?}");
    // Where a trained shared β ends, median over replicates, for each mismatched start.
    let ends = table.curve(|c| c(Col::BetaTraining) == 1.0, Col::BetaStudent, Col::BetaFinal);
    assert_eq!(ends.len(), 5);
    for (s, e) in ends.into_iter().filter(|p| p.0 != 1.0) {
        assert!((e - 1.0).abs() < (s - 1.0).abs(), "β {s} → {e} (median)");
    }
}

#[test]
fn fig4_connectome_noise_raises_the_floor() {
    let (_t, _table, f) = run(&small("fig4-noise"), 2);
    assert!(held(&f, 6));
}

/// A recipe of a few seconds for the machinery tests.
fn tiny() -> Recipe {
    let mut r = small("fig2-recordings");
    r.name = "tiny".into();
    r.teacher.n = vec![20];
    r.teacher.training_steps = 20;
    r.teacher.trials = 6;
    r.teacher.heldout_trials = 2;
    r.teacher.steps = 40;
    r.student.ms = vec![0, 2, 5];
    r.fit.steps = 15;
    r.fit.batch_size = 4;
    r
}

#[test]
fn tables_do_not_depend_on_jobs_and_interrupted_tasks_restart_cleanly() {
    let r = tiny();
    let (t1, a, _) = run(&r, 1);
    let (_t2, b, _) = run(&r, 3);
    assert_eq!(a.to_csv(), b.to_csv());
    // Simulate a task killed half-way (its directory without result.json, a stray partial
    // file) and one that failed: rerunning redoes exactly those and gives the same table.
    let dir = SweepDir::open(&t1.path().join("sweep")).unwrap();
    let killed = &dir.tasks[3].id;
    let failed = &dir.tasks[5].id;
    std::fs::remove_file(dir.task_dir(killed).join("result.json")).unwrap();
    std::fs::write(dir.task_dir(killed).join(".result.json.tmp-1"), "half").unwrap();
    std::fs::remove_file(dir.task_dir(failed).join("result.json")).unwrap();
    std::fs::write(dir.task_dir(failed).join("error.txt"), "killed\n").unwrap();
    // A result.json cut short by a full disk, and one copied from another task's directory:
    // neither counts as done.
    let truncated = &dir.tasks[4].id;
    let copied = &dir.tasks[6].id;
    let r4 = dir.task_dir(truncated).join("result.json");
    let text = std::fs::read_to_string(&r4).unwrap();
    std::fs::write(&r4, &text[..text.len() / 2]).unwrap();
    std::fs::copy(
        dir.task_dir(&dir.tasks[7].id).join("result.json"),
        dir.task_dir(copied).join("result.json"),
    )
    .unwrap();
    assert_eq!(dir.state(killed), TaskState::Started);
    assert_eq!(dir.state(failed), TaskState::Failed);
    assert_eq!(dir.state(truncated), TaskState::Started);
    assert_eq!(dir.state(copied), TaskState::Started);
    let s = run_local(&dir, 2, &|_| {}).unwrap();
    assert_eq!(s.ran, 4);
    assert_eq!(s.already_done, dir.tasks.len() - 4);
    assert_eq!(Table::collect(&dir).unwrap().to_csv(), a.to_csv());
    assert_eq!(dir.state(failed), TaskState::Done);
    assert!(!dir.task_dir(failed).join("error.txt").exists());
}

#[test]
fn a_directory_keeps_its_recipe_and_tasks_wait_for_their_teacher() {
    let r = tiny();
    let tmp = tempfile::tempdir().unwrap();
    let dir = SweepDir::create(&tmp.path().join("s"), &r).unwrap();
    // A student before its teacher: refused, nothing written.
    let student = dir.tasks.iter().find(|t| !t.needs.is_empty()).unwrap();
    let e = run_task(&dir, student, &|_| {}).unwrap_err().to_string();
    assert!(e.contains("needs task teacher-n20"), "{e}");
    assert_eq!(dir.state(&student.id), TaskState::Missing);
    // Same recipe: reopened, also when an older version spelled the E/I teacher `ei`;
    // another recipe: refused.
    SweepDir::create(&tmp.path().join("s"), &r).unwrap();
    let path = tmp.path().join("s/recipe.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("kind = \"ei-task\""), "{text}");
    std::fs::write(&path, text.replace("kind = \"ei-task\"", "kind = \"ei\"")).unwrap();
    SweepDir::create(&tmp.path().join("s"), &r).unwrap();
    let mut other = r.clone();
    other.seed = 7;
    let e = SweepDir::create(&tmp.path().join("s"), &other).unwrap_err().to_string();
    assert!(e.contains("different recipe"), "{e}");
}

#[test]
fn a_failing_task_is_reported_and_blocks_only_its_students() {
    let mut r = tiny();
    r.teacher.n = vec![20, 24];
    let tmp = tempfile::tempdir().unwrap();
    let dir = SweepDir::create(&tmp.path().join("s"), &r).unwrap();
    // Corrupt the second teacher's output directory so that writing its model fails.
    std::fs::create_dir_all(dir.task_dir("teacher-n24").join("teacher.npz")).unwrap();
    let s = run_local(&dir, 2, &|_| {}).unwrap();
    assert_eq!(s.failed.len(), 1, "{s:?}");
    assert_eq!(s.failed[0].0, "teacher-n24");
    let dependents = dir.tasks.iter().filter(|t| t.needs == ["teacher-n24"]).count();
    assert!(dependents > 0 && s.blocked.len() == dependents, "{s:?}");
    assert!(s.blocked.iter().all(|id| id.starts_with("n24-")));
    assert_eq!(s.ran, dir.tasks.len() - 1 - dependents);
    assert_eq!(dir.state("teacher-n24"), TaskState::Failed);
    let msg = std::fs::read_to_string(dir.task_dir("teacher-n24").join("error.txt")).unwrap();
    assert!(msg.contains("teacher.npz"), "{msg}");
}
