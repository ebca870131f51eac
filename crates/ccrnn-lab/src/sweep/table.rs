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

/// Declares the columns: the enum, its names and the list in order.
macro_rules! columns {
    ($($(#[$doc:meta])* $var:ident = $name:literal,)*) => {
        /// A numeric column of a sweep's table (the table's CSV has an `id` column first).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Col {
            $($(#[$doc])* $var,)*
        }

        impl Col {
            /// Every column, in the table's order.
            pub const ALL: &'static [Col] = &[$(Col::$var,)*];
            /// The column's name in `results.csv` and `results.npz`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Col::$var => $name,)*
                }
            }
        }
    };
}

columns! {
    /// Network size N.
    N = "n",
    /// Recorded neurons M (0: the readout only).
    M = "m",
    /// Replicate (0-based).
    Replicate = "replicate",
    /// The student's starting smoothness β (NaN: the teacher's).
    BetaStudent = "beta_student",
    /// How β was trained (`BetaTraining::code`).
    BetaTraining = "beta_training",
    /// 1 for an unconstrained student (all weights trained), else 0.
    Unconstrained = "unconstrained",
    /// Connectome-noise level σ.
    ConnectomeNoise = "connectome_noise",
    /// Activity MSE of the recorded neurons.
    RecordedMse = "recorded_mse",
    /// Activity MSE of the unrecorded neurons.
    UnrecordedMse = "unrecorded_mse",
    /// 1 − |ρ| of the recorded neurons.
    RecordedCorrErr = "recorded_corr_err",
    /// 1 − |ρ| of the unrecorded neurons.
    UnrecordedCorrErr = "unrecorded_corr_err",
    /// Readout MSE.
    ReadoutMse = "readout_mse",
    /// RMS error of the gains.
    GainRmse = "gain_rmse",
    /// RMS error of the biases.
    BiasRmse = "bias_rmse",
    /// β before fitting.
    BetaStart = "beta_start",
    /// β after fitting.
    BetaFinal = "beta_final",
    /// The teacher's β.
    BetaTeacher = "beta_teacher",
    /// The shuffled-label baseline's MSE.
    ShuffleMse = "shuffle_mse",
    /// The shuffled-label baseline's 1 − |ρ|.
    ShuffleCorrErr = "shuffle_corr_err",
    /// The teacher's participation ratio (dimensionality).
    TeacherPr = "teacher_pr",
    /// Variance of the teacher's readout.
    TeacherReadoutVar = "teacher_readout_var",
    /// The fit's final loss.
    FinalLoss = "final_loss",
    /// Fitting steps run.
    Steps = "steps",
    /// M / N.
    MOverN = "m_over_n",
    /// 1 if the fit passed its convergence test, else 0.
    Converged = "converged",
    /// Loss-and-gradient evaluations spent.
    Evaluations = "evaluations",
}

/// Number of columns.
const WIDTH: usize = Col::ALL.len();

/// A sweep's results.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Table {
    /// Task ids, one per row.
    pub ids: Vec<String>,
    /// Rows of values in the order of [`Col::ALL`] (NaN = not applicable; index with
    /// `row[col as usize]`, or [`Table::get`]).
    pub rows: Vec<[f64; WIDTH]>,
    /// Students not finished (their rows are absent).
    pub missing: Vec<String>,
}

fn row(r: &StudentResult) -> [f64; WIDTH] {
    let s = &r.spec;
    // in the order of the declaration above
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

    /// The values of column `c`.
    pub fn column(&self, c: Col) -> Vec<f64> {
        self.rows.iter().map(|r| r[c as usize]).collect()
    }

    /// The value of column `c` in row `row`.
    pub fn get(&self, row: usize, c: Col) -> f64 {
        self.rows[row][c as usize]
    }

    /// Sorted distinct finite values of column `c` over the rows `keep` accepts (`keep` sees a
    /// row as a column → value function).
    pub fn distinct(&self, keep: impl Fn(&dyn Fn(Col) -> f64) -> bool, c: Col) -> Vec<f64> {
        let mut v: Vec<f64> = (0..self.rows.len())
            .filter(|&r| keep(&|k: Col| self.get(r, k)))
            .map(|r| self.get(r, c))
            .filter(|x| x.is_finite())
            .collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        v
    }

    /// `(x, mean of y)` over the rows `keep` accepts, one point per distinct x (sorted); the
    /// mean skips NaN.
    pub fn curve(&self, keep: impl Fn(&dyn Fn(Col) -> f64) -> bool, x: Col, y: Col) -> Vec<(f64, f64)> {
        let rows: Vec<usize> = (0..self.rows.len())
            .filter(|&r| keep(&|c: Col| self.get(r, c)))
            .collect();
        self.curve_over(&rows, x, y)
    }

    /// [`Table::curve`] over the given row indices.
    pub fn curve_over(&self, rows: &[usize], x: Col, y: Col) -> Vec<(f64, f64)> {
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
        let mut w = csv::Writer::from_writer(Vec::new());
        let header = std::iter::once("id").chain(Col::ALL.iter().map(|c| c.name()));
        let mut records = vec![header.map(String::from).collect::<Vec<_>>()];
        for (id, r) in self.ids.iter().zip(&self.rows) {
            let values = r
                .iter()
                .map(|v| if v.is_finite() { format!("{v}") } else { String::new() });
            records.push(std::iter::once(id.clone()).chain(values).collect());
        }
        for rec in records {
            w.write_record(&rec).expect("writing to memory");
        }
        String::from_utf8(w.into_inner().expect("writing to memory")).expect("UTF-8 fields")
    }

    /// Writes `results.csv` and `results.npz` into `dir` (atomically). The `.npz` holds one
    /// float64 array per column and `id` as UTF-8 bytes, one id per line
    /// (`bytes(z["id"]).decode().splitlines()`).
    pub fn write(&self, dir: &Path) -> Result<()> {
        ccrnn_io::write_atomic(&dir.join("results.csv"), self.to_csv().as_bytes())?;
        ccrnn_io::npz::write_npz(&dir.join("results.npz"), |z| {
            for &c in Col::ALL {
                z.add(c.name(), &Array1::from(self.column(c)))?;
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
