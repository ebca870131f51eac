//! `collect`: the finished students of a sweep merged into one table, one row per student, in
//! task-list order, written as CSV and as `.npz` (one float64 array per column). The table
//! holds only what the seeds determine (wall times stay in each task's `result.json`), so the
//! same recipe gives the same table to the last digit however and wherever its tasks ran.

use super::store::{SweepDir, TaskState};
use super::student_task::StudentResult;
use super::tasks::TaskSpec;
use crate::Result;
use ndarray::Array1;
use std::path::Path;

/// The numeric columns, in order (after the `id` column).
pub const COLUMNS: [&str; 26] = [
    "n",
    "m",
    "replicate",
    "beta_student",
    "beta_training",
    "unconstrained",
    "connectome_noise",
    "recorded_mse",
    "unrecorded_mse",
    "recorded_corr_err",
    "unrecorded_corr_err",
    "readout_mse",
    "gain_rmse",
    "bias_rmse",
    "beta_start",
    "beta_final",
    "beta_teacher",
    "shuffle_mse",
    "shuffle_corr_err",
    "teacher_pr",
    "teacher_readout_var",
    "final_loss",
    "steps",
    "m_over_n",
    "converged",
    "evaluations",
];

/// A sweep's results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Task ids, one per row.
    pub ids: Vec<String>,
    /// Rows of values in the order of [`COLUMNS`] (NaN = not applicable).
    pub rows: Vec<[f64; COLUMNS.len()]>,
    /// Students not finished (their rows are absent).
    pub missing: Vec<String>,
}

/// Position of column `name` in [`COLUMNS`] (panics on an unknown name: names are constants).
pub fn column_index(name: &str) -> usize {
    COLUMNS
        .iter()
        .position(|c| *c == name)
        .unwrap_or_else(|| panic!("no column {name}"))
}

fn row(r: &StudentResult) -> [f64; COLUMNS.len()] {
    let s = &r.spec;
    [
        s.n as f64,
        s.m as f64,
        s.replicate as f64,
        s.beta.unwrap_or(f64::NAN),
        s.beta_training.code() as f64,
        s.unconstrained as u8 as f64,
        s.connectome_noise,
        r.recorded_mse,
        r.unrecorded_mse,
        r.recorded_corr_err,
        r.unrecorded_corr_err,
        r.readout_mse,
        r.gain_rmse,
        r.bias_rmse,
        r.beta_start,
        r.beta_final,
        r.beta_teacher,
        r.shuffle_mse,
        r.shuffle_corr_err,
        r.teacher_pr,
        r.teacher_readout_var,
        r.final_loss,
        r.steps as f64,
        s.m as f64 / s.n as f64,
        r.converged as u8 as f64,
        r.evaluations as f64,
    ]
}

impl Table {
    /// Reads every finished student of `dir`.
    pub fn collect(dir: &SweepDir) -> Result<Self> {
        let mut t = Table::default();
        for task in &dir.tasks {
            if !matches!(task.spec, TaskSpec::Student(_)) {
                continue;
            }
            if dir.state(&task.id) != TaskState::Done {
                t.missing.push(task.id.clone());
                continue;
            }
            let r: StudentResult = dir.result(&task.id)?;
            t.ids.push(r.id.clone());
            t.rows.push(row(&r));
        }
        Ok(t)
    }

    /// The values of column `name`.
    pub fn column(&self, name: &str) -> Vec<f64> {
        let k = column_index(name);
        self.rows.iter().map(|r| r[k]).collect()
    }

    /// The value of column `name` in row `row`.
    pub fn get(&self, row: usize, name: &str) -> f64 {
        self.rows[row][column_index(name)]
    }

    /// Sorted distinct finite values of column `name` over the rows `keep` accepts (`keep` sees
    /// a row as a column-name → value function).
    pub fn distinct(&self, keep: impl Fn(&dyn Fn(&str) -> f64) -> bool, name: &str) -> Vec<f64> {
        let mut v: Vec<f64> = (0..self.rows.len())
            .filter(|&r| keep(&|c: &str| self.get(r, c)))
            .map(|r| self.get(r, name))
            .filter(|x| x.is_finite())
            .collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    }

    /// `(x, mean of y)` over the rows `keep` accepts, one point per distinct x (sorted); the
    /// mean skips NaN.
    pub fn curve(&self, keep: impl Fn(&dyn Fn(&str) -> f64) -> bool, x: &str, y: &str) -> Vec<(f64, f64)> {
        let rows: Vec<usize> = (0..self.rows.len())
            .filter(|&r| keep(&|c: &str| self.get(r, c)))
            .collect();
        self.curve_over(&rows, x, y)
    }

    /// [`Table::curve`] over the given row indices.
    pub fn curve_over(&self, rows: &[usize], x: &str, y: &str) -> Vec<(f64, f64)> {
        let mut xs: Vec<f64> = rows.iter().map(|&r| self.get(r, x)).filter(|v| v.is_finite()).collect();
        xs.sort_by(f64::total_cmp);
        xs.dedup();
        xs.into_iter()
            .map(|xv| {
                let ys: Vec<f64> = rows
                    .iter()
                    .filter(|&&r| self.get(r, x) == xv)
                    .map(|&r| self.get(r, y))
                    .filter(|v| v.is_finite())
                    .collect();
                (xv, median(ys))
            })
            .collect()
    }

    /// The table as CSV: a header, then one line per student; NaN is an empty field; numbers
    /// are written in full (shortest representation that reads back to the same f64).
    pub fn to_csv(&self) -> String {
        let mut out = String::from("id,");
        out += &COLUMNS.join(",");
        out.push('\n');
        for (id, r) in self.ids.iter().zip(&self.rows) {
            out += id;
            for v in r {
                out.push(',');
                if v.is_finite() {
                    out += &format!("{v}");
                }
            }
            out.push('\n');
        }
        out
    }

    /// Writes `results.csv` and `results.npz` into `dir` (atomically). The `.npz` holds one
    /// float64 array per column and `id` as UTF-8 bytes, one id per line
    /// (`bytes(z["id"]).decode().splitlines()`).
    pub fn write(&self, dir: &Path) -> Result<()> {
        ccrnn_io::write_atomic(&dir.join("results.csv"), self.to_csv().as_bytes())?;
        ccrnn_io::npz::write_npz(&dir.join("results.npz"), |z| {
            for name in COLUMNS {
                z.add(name, &Array1::from(self.column(name)))?;
            }
            z.add_text("id", &self.ids.join("\n"))
        })?;
        Ok(())
    }
}

/// The median of `v` (the mean of the middle two for an even count; NaN if empty): the
/// summary of replicates, robust to the one fit in a few that lands elsewhere.
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    let k = v.len() / 2;
    if v.len() % 2 == 1 {
        v[k]
    } else {
        0.5 * (v[k - 1] + v[k])
    }
}
