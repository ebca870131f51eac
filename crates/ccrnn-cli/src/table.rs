//! Score tables: the human table on stdout, the same rows as CSV and JSON.

use anyhow::Result;
use ccrnn_fit::Scores;
use ccrnn_fit::metrics::Baseline;
use serde::Serialize;

/// One student's scores (the row of every table ccrnn prints or writes).
#[derive(Debug, Clone, Serialize)]
pub struct ScoreRow {
    /// Recorded neurons (0: fitted to the readout only).
    pub m: usize,
    pub recorded_mse: f64,
    pub unrecorded_mse: f64,
    pub recorded_corr_err: f64,
    pub unrecorded_corr_err: f64,
    pub readout_mse: f64,
    pub gain_rmse: f64,
    pub bias_rmse: f64,
    /// Adam steps run (absent for a plain evaluation).
    pub steps: Option<u64>,
    /// Wall time of the fit, seconds.
    pub seconds: Option<f64>,
}

impl ScoreRow {
    pub fn new(s: &Scores, steps: Option<u64>, seconds: Option<f64>) -> Self {
        Self {
            m: s.m,
            recorded_mse: s.recorded_mse,
            unrecorded_mse: s.unrecorded_mse,
            recorded_corr_err: s.recorded_corr_err,
            unrecorded_corr_err: s.unrecorded_corr_err,
            readout_mse: s.readout_mse,
            gain_rmse: s.gain_rmse,
            bias_rmse: s.bias_rmse,
            steps,
            seconds,
        }
    }
}

/// Rows as CSV (NaN written as `NaN`, which NumPy's `genfromtxt` reads).
pub fn csv(rows: &[ScoreRow]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))
}

fn f(v: f64, width: usize, prec: usize) -> String {
    if v.is_nan() {
        format!("{:>width$}", "—")
    } else {
        format!("{v:>width$.prec$}")
    }
}

/// The human table.
pub fn render(rows: &[ScoreRow], baseline: Option<&Baseline>) -> String {
    let mut s = format!(
        "{:>8} {:>12} {:>14} {:>11} {:>13} {:>11} {:>9} {:>9}\n",
        "M", "recorded", "unrecorded", "rec 1-|ρ|", "unrec 1-|ρ|", "readout", "gain", "bias"
    );
    s += &format!(
        "{:>8} {:>12} {:>14} {:>11} {:>13} {:>11} {:>9} {:>9}\n",
        "", "MSE", "MSE", "", "", "MSE", "RMSE", "RMSE"
    );
    for r in rows {
        let m = if r.m == 0 {
            "readout".to_string()
        } else {
            r.m.to_string()
        };
        s += &format!(
            "{m:>8} {} {} {} {} {} {} {}\n",
            f(r.recorded_mse, 12, 4),
            f(r.unrecorded_mse, 14, 4),
            f(r.recorded_corr_err, 11, 3),
            f(r.unrecorded_corr_err, 13, 3),
            f(r.readout_mse, 11, 5),
            f(r.gain_rmse, 9, 3),
            f(r.bias_rmse, 9, 4)
        );
    }
    if let Some(b) = baseline {
        s += &format!(
            "{:>8} {:>12} {} {:>11} {} {:>11} {} {}\n",
            "shuffle",
            "",
            f(b.shuffle_mse, 14, 4),
            "",
            f(b.shuffle_corr_err, 13, 3),
            "",
            f(b.shuffle_gain_rmse, 9, 3),
            f(b.shuffle_bias_rmse, 9, 4)
        );
    }
    s
}
