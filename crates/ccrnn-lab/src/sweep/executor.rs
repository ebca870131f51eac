//! Running tasks: [`run_task`] runs one (any executor: this machine's thread pool below, or a
//! cluster job array element), [`run_local`] runs a whole sweep on this machine.

use super::store::{SweepDir, TaskState};
use super::tasks::{Task, TaskSpec};
use super::{student_task, teacher_task};
use crate::{Error, Result};
use std::collections::HashSet;
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// What the executor reports while it works.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<'a> {
    /// A task started.
    Started {
        /// Task id.
        id: &'a str,
    },
    /// A task's fit advanced.
    Progress {
        /// Task id.
        id: &'a str,
        /// Steps done.
        step: u64,
        /// Steps planned.
        total: u64,
        /// Latest minibatch loss (NaN while training a teacher).
        loss: f64,
    },
    /// A task finished and wrote its result.
    Finished {
        /// Task id.
        id: &'a str,
        /// Wall time, seconds.
        seconds: f64,
    },
    /// A task failed; its message is also in `tasks/ID/error.txt`.
    Failed {
        /// Task id.
        id: &'a str,
        /// The error.
        message: String,
    },
}

/// What [`run_task`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The task ran and finished.
    Ran,
    /// It had already finished: nothing was done.
    AlreadyDone,
}

/// Runs one task unless it is already done. Its dependencies must be done. On failure the
/// error is written to `tasks/ID/error.txt` (and returned); a later attempt starts afresh.
pub fn run_task(dir: &SweepDir, task: &Task, on: &(dyn Fn(Event) + Sync)) -> Result<Outcome> {
    if dir.state(&task.id) == TaskState::Done {
        return Ok(Outcome::AlreadyDone);
    }
    if let Some(dep) = task.needs.iter().find(|d| dir.state(d) != TaskState::Done) {
        return Err(Error::Sweep(format!(
            "task {} needs task {dep}, which has not finished",
            task.id
        )));
    }
    let _lock = dir.lock_task(&task.id)?;
    if dir.state(&task.id) == TaskState::Done {
        // finished by another process while this one waited for the lock
        return Ok(Outcome::AlreadyDone);
    }
    let out = dir.task_dir(&task.id);
    let err_path = out.join("error.txt");
    if err_path.exists() {
        std::fs::remove_file(&err_path).map_err(|e| Error::File(format!("{}: {e}", err_path.display())))?;
    }
    on(Event::Started { id: &task.id });
    let start = Instant::now();
    let id = task.id.as_str();
    let res = match &task.spec {
        TaskSpec::Teacher { n } => {
            let mut p = |step, total| {
                on(Event::Progress {
                    id,
                    step,
                    total,
                    loss: f64::NAN,
                })
            };
            teacher_task::run(&dir.recipe, *n, task.seed, &out, &mut p).map(|_| ())
        }
        TaskSpec::Student(spec) => {
            let tdir = dir.task_dir(&spec.teacher);
            let mut p = |step, total, loss| on(Event::Progress { id, step, total, loss });
            teacher_task::load(&tdir).and_then(|data| {
                let summary = dir.result(&spec.teacher)?;
                student_task::run(&dir.recipe, task, spec, &data, &summary, &out, &mut p).map(|_| ())
            })
        }
    };
    match res {
        Ok(()) => {
            on(Event::Finished {
                id,
                seconds: start.elapsed().as_secs_f64(),
            });
            Ok(Outcome::Ran)
        }
        Err(e) => {
            let message = e.to_string();
            // Best effort: the error is returned either way.
            let _ = ccrnn_io::atomic::write_atomic(&err_path, format!("{message}\n").as_bytes());
            on(Event::Failed { id, message });
            Err(e)
        }
    }
}

/// What a local run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Tasks run now.
    pub ran: usize,
    /// Tasks found already done.
    pub already_done: usize,
    /// Tasks that failed, with their messages.
    pub failed: Vec<(String, String)>,
    /// Tasks not run because a task they need failed.
    pub blocked: Vec<String>,
}

struct Queue {
    pending: Vec<usize>,
    running: usize,
    finished: HashSet<String>,
    failed: HashSet<String>,
}

/// Runs every task of the sweep that is not done, `jobs` at a time on this machine, each task
/// once its dependencies are done. A failed task does not stop the others; tasks that need it
/// are reported as blocked. Results do not depend on `jobs`: every task is deterministic in
/// its seed.
pub fn run_local(dir: &SweepDir, jobs: usize, on: &(dyn Fn(Event) + Sync)) -> Result<Summary> {
    let mut summary = Summary::default();
    let mut finished = HashSet::new();
    let mut pending = Vec::new();
    for (k, t) in dir.tasks.iter().enumerate() {
        if dir.state(&t.id) == TaskState::Done {
            summary.already_done += 1;
            finished.insert(t.id.clone());
        } else {
            pending.push(k);
        }
    }
    let queue = Mutex::new(Queue {
        pending,
        running: 0,
        finished,
        failed: HashSet::new(),
    });
    let wake = Condvar::new();
    let results = Mutex::new(Vec::<(String, std::result::Result<(), String>)>::new());
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let mut q = queue.lock().expect("queue lock");
                    let task = loop {
                        let ready = q
                            .pending
                            .iter()
                            .position(|&k| dir.tasks[k].needs.iter().all(|d| q.finished.contains(d)));
                        if let Some(p) = ready {
                            let k = q.pending.remove(p);
                            q.running += 1;
                            break Some(&dir.tasks[k]);
                        }
                        let blocked_only = q.running == 0;
                        if q.pending.is_empty() || blocked_only {
                            break None;
                        }
                        q = wake.wait(q).expect("queue lock");
                    };
                    drop(q);
                    let Some(task) = task else {
                        wake.notify_all();
                        return;
                    };
                    let r = run_task(dir, task, on);
                    let mut q = queue.lock().expect("queue lock");
                    q.running -= 1;
                    match &r {
                        Ok(_) => q.finished.insert(task.id.clone()),
                        Err(_) => q.failed.insert(task.id.clone()),
                    };
                    drop(q);
                    results
                        .lock()
                        .expect("results lock")
                        .push((task.id.clone(), r.map(|_| ()).map_err(|e| e.to_string())));
                    wake.notify_all();
                }
            });
        }
    });
    let q = queue.into_inner().expect("queue lock");
    summary.blocked = q.pending.iter().map(|&k| dir.tasks[k].id.clone()).collect();
    for (id, r) in results.into_inner().expect("results lock") {
        match r {
            Ok(()) => summary.ran += 1,
            Err(m) => summary.failed.push((id, m)),
        }
    }
    summary.failed.sort();
    Ok(summary)
}
