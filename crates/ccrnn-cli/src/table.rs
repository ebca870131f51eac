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
    /// Which replicate of its M (absent for a plain evaluation).
    pub replicate: Option<usize>,
    pub recorded_mse: f64,
    pub unrecorded_mse: f64,
    pub recorded_corr_err: f64,
    pub unrecorded_corr_err: f64,
    pub readout_mse: f64,
    pub gain_rmse: f64,
    pub bias_rmse: f64,
    /// Recorded neurons fitted poorly (1 − ρ > 0.5 where the teacher's trace varies),
    /// space-separated (empty: none).
    pub poorly_fitted: String,
    /// Optimiser steps run (absent for a plain evaluation).
    pub steps: Option<u64>,
    /// Why the fit stopped (`converged`, `max-steps`, …; absent for a plain evaluation).
    pub stopped: Option<String>,
    /// Wall time of the fit, seconds.
    pub seconds: Option<f64>,
}

impl ScoreRow {
    /// The row of a plain evaluation (no fit).
    pub fn evaluation(s: &Scores) -> Self {
        Self::new(s, None, None, None, None)
    }

    /// The row of a study's student: its held-out scores and how its fit went.
    pub fn student<F: ccrnn_core::Real>(r: &ccrnn_lab::StudentRow<F>) -> Self {
        Self::new(
            &r.heldout,
            Some(r.replicate),
            Some(r.steps),
            Some(r.termination.name().to_string()),
            Some(r.seconds),
        )
    }

    fn new(
        s: &Scores,
        replicate: Option<usize>,
        steps: Option<u64>,
        stopped: Option<String>,
        seconds: Option<f64>,
    ) -> Self {
        Self {
            m: s.m,
            replicate,
            recorded_mse: s.recorded_mse,
            unrecorded_mse: s.unrecorded_mse,
            recorded_corr_err: s.recorded_corr_err,
            unrecorded_corr_err: s.unrecorded_corr_err,
            readout_mse: s.readout_mse,
            gain_rmse: s.gain_rmse,
            bias_rmse: s.bias_rmse,
            poorly_fitted: s
                .poorly_fitted
                .iter()
                .map(|i| i.to_string())
                .collect::<Vec<_>>()
                .join(" "),
            steps,
            stopped,
            seconds,
        }
    }
}

/// Rows as CSV (NaN written as `NaN`, which NumPy's `genfromtxt` reads).
pub fn csv<T: Serialize>(rows: &[T]) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for r in rows {
        w.serialize(r)?;
    }
    w.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))
}

/// `v` with `prec` decimals, or in scientific notation from 10⁶ on (a diverged fit's error
/// would otherwise print twenty digits).
fn num(v: f64, prec: usize) -> String {
    if v.is_finite() && v.abs() >= 1e6 {
        format!("{v:.2e}")
    } else {
        format!("{v:.prec$}")
    }
}

fn f(v: f64, width: usize, prec: usize) -> String {
    if v.is_nan() {
        format!("{:>width$}", "—")
    } else {
        format!("{:>width$}", num(v, prec))
    }
}

/// The median of `v` ([`ccrnn_lab::sweep::table::median`]), NaN if any value is NaN (a
/// score that could not be computed for one replicate makes the summary unknown).
pub fn median(v: &[f64]) -> f64 {
    if v.iter().any(|x| x.is_nan()) {
        return f64::NAN;
    }
    ccrnn_lab::sweep::table::median(v.to_vec())
}

/// Rows grouped by M, in order of first appearance.
pub fn by_m(rows: &[ScoreRow]) -> Vec<(usize, Vec<&ScoreRow>)> {
    let mut groups: Vec<(usize, Vec<&ScoreRow>)> = Vec::new();
    for r in rows {
        match groups.iter_mut().find(|(m, _)| *m == r.m) {
            Some((_, g)) => g.push(r),
            None => groups.push((r.m, vec![r])),
        }
    }
    groups
}

/// The human table of a study with replicates: per M, the median over replicates and, for the
/// unrecorded errors, the range; and how many fits converged.
pub fn render_replicates(rows: &[ScoreRow], baseline: Option<&Baseline>) -> String {
    let mut s = format!(
        "{:>8} {:>11} {:>25} {:>10} {:>23} {:>9} {:>9}\n",
        "M", "recorded", "unrecorded MSE", "rec 1-|ρ|", "unrec 1-|ρ|", "gain", "converged"
    );
    s += &format!(
        "{:>8} {:>11} {:>25} {:>10} {:>23} {:>9} {:>9}\n",
        "", "MSE", "median [min, max]", "median", "median [min, max]", "RMSE", ""
    );
    let range = |g: &[&ScoreRow], v: fn(&ScoreRow) -> f64, prec: usize| {
        let x: Vec<f64> = g.iter().map(|r| v(r)).collect();
        let (lo, hi) = (
            x.iter().copied().fold(f64::INFINITY, f64::min),
            x.iter().copied().fold(f64::NEG_INFINITY, f64::max),
        );
        format!("{} [{}, {}]", num(median(&x), prec), num(lo, prec), num(hi, prec))
    };
    let med = |g: &[&ScoreRow], v: fn(&ScoreRow) -> f64| median(&g.iter().map(|r| v(r)).collect::<Vec<_>>());
    for (m, g) in by_m(rows) {
        let name = if m == 0 { "readout".to_string() } else { m.to_string() };
        let converged = g
            .iter()
            .filter(|r| {
                r.stopped
                    .as_deref()
                    .is_some_and(|t| t == "converged" || t == "target-reached")
            })
            .count();
        s += &format!(
            "{name:>8} {} {:>25} {} {:>23} {} {:>9}\n",
            f(med(&g, |r| r.recorded_mse), 11, 4),
            range(&g, |r| r.unrecorded_mse, 3),
            f(med(&g, |r| r.recorded_corr_err), 10, 3),
            range(&g, |r| r.unrecorded_corr_err, 3),
            f(med(&g, |r| r.gain_rmse), 9, 3),
            format!("{converged}/{}", g.len())
        );
    }
    let poor: Vec<String> = rows
        .iter()
        .filter(|r| !r.poorly_fitted.is_empty())
        .map(|r| format!("M = {} #{}: {}", r.m, r.replicate.unwrap_or(0) + 1, r.poorly_fitted))
        .collect();
    let notes = if poor.is_empty() {
        "every recorded neuron of every student fitted (1 − ρ ≤ 0.5 where the teacher's trace varies)\n".to_string()
    } else {
        format!(
            "recorded neurons fitted poorly (1 − ρ > 0.5, teacher active): {}\n",
            poor.join("; ")
        )
    };
    if let Some(b) = baseline {
        s += &format!(
            "{:>8} {:>11} {:>25} {:>10} {:>23} {}\n",
            "shuffle",
            "",
            format!("{:.3}", b.shuffle_mse),
            "",
            format!("{:.3}", b.shuffle_corr_err),
            f(b.shuffle_gain_rmse, 9, 3),
        );
    }
    s + "\n" + &notes
}

/// The human table of a study: [`render_replicates`] if some M has several students, else
/// [`render`].
pub fn render_study(rows: &[ScoreRow], baseline: Option<&Baseline>) -> String {
    if by_m(rows).iter().any(|g| g.1.len() > 1) {
        render_replicates(rows, baseline)
    } else {
        render(rows, baseline)
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

#[cfg(test)]
mod tests {
    #[test]
    fn huge_values_print_in_scientific_notation() {
        assert_eq!(super::num(7.804e19, 3), "7.80e19");
        assert_eq!(super::num(-2.5e6, 3), "-2.50e6");
        assert_eq!(super::num(0.1234, 3), "0.123");
        assert_eq!(super::f(f64::NAN, 6, 3), "     —");
    }
}
