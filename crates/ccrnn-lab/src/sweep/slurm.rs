//! The Slurm executor, as text: `sbatch` scripts running a sweep's tasks as job arrays. Each
//! array element runs `ccrnn sweep run-task DIR --index I` for its K tasks; tasks are
//! idempotent (see [`super::store`]), so resubmitting is always safe. Teachers and students
//! are two arrays, the second submitted with `--dependency=afterany:` on the first (a student
//! whose teacher failed then fails fast, naming it, instead of waiting forever).

use super::store::{SweepDir, TaskState};
use std::path::Path;

/// Resources and batching of the arrays.
#[derive(Debug, Clone, PartialEq)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` (Slurm syntax, e.g. `2:00:00`), per array element.
    pub time: Option<String>,
    /// `--mem` (e.g. `4G`), per array element.
    pub mem: Option<String>,
    /// `--cpus-per-task`: threads of each task.
    pub cpus_per_task: usize,
    /// Tasks run one after another by each array element.
    pub tasks_per_job: usize,
    /// At most this many elements of an array at once (`%` throttle).
    pub throttle: Option<usize>,
    /// Only tasks not done (failed, started and killed, never started).
    pub only_missing: bool,
}

impl Default for SlurmOptions {
    fn default() -> Self {
        Self {
            partition: None,
            time: None,
            mem: None,
            cpus_per_task: 1,
            tasks_per_job: 1,
            throttle: None,
            only_missing: false,
        }
    }
}

/// One job array: a name and the task indices (into `tasks.json`) it runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Stage {
    /// `teachers` or `students`.
    pub name: &'static str,
    /// Task indices.
    pub indices: Vec<usize>,
}

impl Stage {
    /// Number of array elements for `per_job` tasks each.
    pub fn elements(&self, per_job: usize) -> usize {
        self.indices.len().div_ceil(per_job.max(1))
    }
}

/// The arrays to submit, in order; empty stages are left out.
pub fn stages(dir: &SweepDir, only_missing: bool) -> Vec<Stage> {
    let pick = |teachers: bool| -> Vec<usize> {
        dir.tasks
            .iter()
            .enumerate()
            .filter(|(_, t)| t.needs.is_empty() == teachers)
            .filter(|(_, t)| !only_missing || dir.state(&t.id) != TaskState::Done)
            .map(|(k, _)| k)
            .collect()
    };
    [("teachers", pick(true)), ("students", pick(false))]
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(name, indices)| Stage { name, indices })
        .collect()
}

/// Quotes a string for bash (single quotes).
fn sh(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// The `sbatch` script of one stage. `exe` is the ccrnn binary and `root` the sweep directory,
/// both absolute and visible from the compute nodes (a shared file system).
pub fn script(root: &Path, exe: &Path, name: &str, stage: &Stage, o: &SlurmOptions) -> String {
    let per = o.tasks_per_job.max(1);
    let last = stage.elements(per).saturating_sub(1);
    let throttle = o.throttle.map(|t| format!("%{t}")).unwrap_or_default();
    let logs = root.join("logs");
    let mut s = String::from("#!/bin/bash\n");
    s += &format!("#SBATCH --job-name=ccrnn-{name}-{}\n", stage.name);
    s += &format!("#SBATCH --array=0-{last}{throttle}\n");
    s += &format!("#SBATCH --output={}/slurm-%A_%a.out\n", logs.display());
    s += &format!("#SBATCH --cpus-per-task={}\n", o.cpus_per_task.max(1));
    s += "#SBATCH --ntasks=1\n";
    for (flag, v) in [("partition", &o.partition), ("time", &o.time), ("mem", &o.mem)] {
        if let Some(v) = v {
            s += &format!("#SBATCH --{flag}={v}\n");
        }
    }
    s += &format!(
        "# Written by ccrnn {}: {} task(s) of sweep {name}, {per} per array element.\n",
        env!("CARGO_PKG_VERSION"),
        stage.indices.len()
    );
    s += "# Each task is idempotent: a finished task is skipped, an interrupted one starts afresh.\n";
    s += "set -u\n";
    s += &format!(
        "EXE={}\nDIR={}\n",
        sh(&exe.display().to_string()),
        sh(&root.display().to_string())
    );
    let list: Vec<String> = stage.indices.iter().map(|i| i.to_string()).collect();
    s += &format!("TASKS=({})\n", list.join(" "));
    s += &format!("PER={per}\n");
    s += r#"status=0
first=$((SLURM_ARRAY_TASK_ID * PER))
for ((k = first; k < first + PER && k < ${#TASKS[@]}; k++)); do
    i=${TASKS[k]}
    if ! "$EXE" --quiet --threads "${SLURM_CPUS_PER_TASK:-1}" sweep run-task "$DIR" --index "$i" \
        > "$DIR/logs/task-$i.log" 2>&1; then
        echo "task $i failed; see $DIR/logs/task-$i.log" >&2
        status=1
    fi
done
exit $status
"#;
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_batches_tasks_and_quotes_paths() {
        let stage = Stage {
            name: "students",
            indices: vec![3, 4, 5, 6, 7],
        };
        let o = SlurmOptions {
            tasks_per_job: 2,
            throttle: Some(4),
            partition: Some("short".into()),
            ..SlurmOptions::default()
        };
        let s = script(Path::new("/data/it's"), Path::new("/opt/ccrnn"), "fig2", &stage, &o);
        assert!(s.contains("#SBATCH --array=0-2%4\n"), "{s}");
        assert!(s.contains("#SBATCH --partition=short\n"));
        assert!(!s.contains("--mem"));
        assert!(s.contains("TASKS=(3 4 5 6 7)\nPER=2\n"));
        assert!(s.contains(r"DIR='/data/it'\''s'"));
        assert_eq!(stage.elements(2), 3);
        assert_eq!(stage.elements(5), 1);
    }
}
