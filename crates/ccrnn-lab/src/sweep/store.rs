//! The on-disk layout of a sweep, shared by every executor:
//!
//! ```text
//! DIR/recipe.toml          the recipe as run (a sweep directory holds one recipe)
//! DIR/tasks.json           the expanded task list (index = position, for job arrays)
//! DIR/tasks/ID/…           a task's outputs; `result.json` is written last, atomically,
//!                          and marks the task done
//! DIR/tasks/ID/error.txt   why the task's last attempt failed (removed on success)
//! DIR/results.csv, .npz    written by `collect`
//! ```
//!
//! A task is done iff its `result.json` is a complete JSON object that, where it names a task
//! (`id`), names this one: a truncated file or one copied from another task's directory counts
//! as not done and is rewritten by the next attempt, like anything else in the directory, so an
//! interrupted task restarts cleanly.

use super::recipe::Recipe;
use super::tasks::{Task, expand};
use crate::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::{Path, PathBuf};

/// A sweep directory.
#[derive(Debug, Clone)]
pub struct SweepDir {
    root: PathBuf,
    /// The recipe.
    pub recipe: Recipe,
    /// The tasks, in the order of `tasks.json`.
    pub tasks: Vec<Task>,
}

fn io_err(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::File(format!("{}: {e}", path.display()))
}

/// Reads a JSON file, naming it in errors.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| io_err(path, e))?;
    serde_json::from_str(&text).map_err(|e| io_err(path, e))
}

/// Writes a JSON file atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_string_pretty(value).map_err(|e| io_err(path, e))?;
    Ok(ccrnn_io::atomic::write_atomic(path, text.as_bytes())?)
}

/// Status of one task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    /// `result.json` exists.
    Done,
    /// The last attempt failed (`error.txt` exists).
    Failed,
    /// Started but neither finished nor failed: running now, or killed.
    Started,
    /// Never started.
    Missing,
}

impl SweepDir {
    /// Creates `root` for `recipe` (writing `recipe.toml` and `tasks.json`), or opens it if it
    /// already holds the same recipe. A directory holding a different recipe is an error:
    /// its results would be mixed with the new ones.
    pub fn create(root: &Path, recipe: &Recipe) -> Result<Self> {
        let tasks = expand(recipe)?;
        let recipe_path = root.join("recipe.toml");
        let text = ccrnn_io::to_toml(recipe);
        if recipe_path.exists() {
            // compared as data, so that another spelling of the same recipe (an older
            // version's `kind = "ei"`) resumes it
            let old: Recipe = ccrnn_io::read_toml(&recipe_path)?;
            if &old != recipe {
                return Err(Error::Sweep(format!(
                    "{} holds a different recipe ({}); use another --out directory",
                    root.display(),
                    recipe_path.display()
                )));
            }
        } else {
            let holds = std::fs::read_dir(root).map(|mut d| d.next().is_some()).unwrap_or(false);
            if holds || root.is_file() {
                return Err(Error::Sweep(format!(
                    "{}: exists and is not a sweep directory (no recipe.toml); give a new or empty --out directory",
                    root.display()
                )));
            }
            std::fs::create_dir_all(root.join("tasks")).map_err(|e| io_err(root, e))?;
            write_json(&root.join("tasks.json"), &tasks)?;
            ccrnn_io::atomic::write_atomic(&recipe_path, text.as_bytes())?;
        }
        Self::open(root)
    }

    /// Opens an existing sweep directory.
    pub fn open(root: &Path) -> Result<Self> {
        let recipe_path = root.join("recipe.toml");
        if !recipe_path.exists() {
            return Err(Error::Sweep(format!(
                "{}: not a sweep directory (no recipe.toml)",
                root.display()
            )));
        }
        let recipe: Recipe = ccrnn_io::read_toml(&recipe_path)?;
        let tasks: Vec<Task> = read_json(&root.join("tasks.json"))?;
        if tasks != expand(&recipe)? {
            return Err(Error::Sweep(format!(
                "{}: tasks.json does not match recipe.toml (edited by hand, or written by another \
                 version of ccrnn)",
                root.display()
            )));
        }
        Ok(Self {
            root: root.to_path_buf(),
            recipe,
            tasks,
        })
    }

    /// The directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The output directory of task `id`.
    pub fn task_dir(&self, id: &str) -> PathBuf {
        self.root.join("tasks").join(id)
    }

    /// The task with this id.
    pub fn task(&self, id: &str) -> Result<&Task> {
        self.tasks
            .iter()
            .find(|t| t.id == id)
            .ok_or_else(|| Error::Sweep(format!("{}: no task {id:?}", self.root.display())))
    }

    /// The state of task `id`.
    pub fn state(&self, id: &str) -> TaskState {
        let d = self.task_dir(id);
        if finished(&d.join("result.json"), id) {
            TaskState::Done
        } else if d.join("error.txt").exists() {
            TaskState::Failed
        } else if d.exists() {
            TaskState::Started
        } else {
            TaskState::Missing
        }
    }

    /// Reads a finished task's result.
    pub fn result<T: DeserializeOwned>(&self, id: &str) -> Result<T> {
        read_json(&self.task_dir(id).join("result.json"))
    }
}

/// An exclusive advisory lock (`flock`) on a file of a sweep directory, held until dropped
/// (and released by the kernel if the process dies, so a killed run never leaves a stale lock).
#[derive(Debug)]
pub struct Lock {
    _file: std::fs::File,
}

impl Lock {
    /// Takes the lock on `path` (created if absent) without waiting; if another process holds
    /// it, the error says `what` is busy and which process holds it.
    fn take(path: &Path, what: &str) -> Result<Self> {
        use std::io::{Read, Seek, Write};
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| io_err(path, e))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = file.read_to_string(&mut holder);
                let holder = holder.trim();
                let by = if holder.is_empty() {
                    "another process".to_string()
                } else {
                    format!("process {holder}")
                };
                return Err(Error::Sweep(format!(
                    "{what} is in use by {by} (lock {}); wait for it to finish, or follow it with `ccrnn sweep status`",
                    path.display()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io_err(path, e)),
        }
        let pid = std::process::id().to_string();
        file.set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(pid.as_bytes()))
            .map_err(|e| io_err(path, e))?;
        Ok(Self { _file: file })
    }
}

impl SweepDir {
    /// Locks the whole directory (`DIR/.lock`), as `sweep run` does for its duration: a second
    /// `sweep run` on the same directory is refused instead of running every task again.
    pub fn lock(&self) -> Result<Lock> {
        Lock::take(
            &self.root.join(".lock"),
            &format!("sweep directory {}", self.root.display()),
        )
    }

    /// Locks one task (`DIR/tasks/ID/.lock`, the directory created if needed) while it runs,
    /// whichever executor runs it.
    pub fn lock_task(&self, id: &str) -> Result<Lock> {
        let d = self.task_dir(id);
        std::fs::create_dir_all(&d).map_err(|e| io_err(&d, e))?;
        Lock::take(&d.join(".lock"), &format!("task {id}"))
    }
}

/// Whether `path` holds a complete result of task `id` (see the module docs).
fn finished(path: &Path, id: &str) -> bool {
    let Ok(text) = std::fs::read_to_string(path) else {
        return false;
    };
    match serde_json::from_str::<serde_json::Value>(&text) {
        Ok(serde_json::Value::Object(m)) => m.get("id").is_none_or(|v| v.as_str() == Some(id)),
        _ => false,
    }
}

/// Serde for `f64` fields whose value may be NaN (not applicable): written as `null`, read back
/// as NaN (JSON has no NaN).
pub mod nan_null {
    use serde::{Deserialize, Deserializer, Serializer};

    /// Writes NaN and infinities as `null`.
    pub fn serialize<S: Serializer>(x: &f64, s: S) -> Result<S::Ok, S::Error> {
        if x.is_finite() {
            s.serialize_f64(*x)
        } else {
            s.serialize_none()
        }
    }

    /// Reads `null` as NaN.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        Ok(Option::<f64>::deserialize(d)?.unwrap_or(f64::NAN))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::builtin;

    /// A second `sweep run` on a directory, or a second attempt at a running task, is refused
    /// while the first holds the lock, and allowed once it is released; a directory that
    /// holds anything but a sweep is refused as an output directory.
    #[test]
    fn locks_keep_two_runs_apart_and_sweeps_stay_out_of_other_directories() {
        let tmp = tempfile::tempdir().unwrap();
        let recipe = builtin("fig1-degeneracy", "small").unwrap();
        let dir = SweepDir::create(&tmp.path().join("sweep"), &recipe).unwrap();
        let held = dir.lock().unwrap();
        let again = dir.lock().unwrap_err().to_string();
        assert!(
            again.contains("in use by process") && again.contains(&std::process::id().to_string()),
            "{again}"
        );
        drop(held);
        drop(dir.lock().unwrap());
        let id = dir.tasks[0].id.clone();
        let task = dir.lock_task(&id).unwrap();
        assert!(
            dir.lock_task(&id)
                .unwrap_err()
                .to_string()
                .contains(&format!("task {id}"))
        );
        drop(task);
        drop(dir.lock_task(&id).unwrap());

        let other = tmp.path().join("mine");
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("notes.txt"), "keep").unwrap();
        let e = SweepDir::create(&other, &recipe).unwrap_err().to_string();
        assert!(e.contains("not a sweep directory"), "{e}");
        assert_eq!(std::fs::read_dir(&other).unwrap().count(), 1);
        // an empty directory is fine
        std::fs::create_dir(tmp.path().join("empty")).unwrap();
        SweepDir::create(&tmp.path().join("empty"), &recipe).unwrap();
    }
}
