//! Labelled tables: an `.npz` with `signal` (frames × ROIs), `labels` and `times` (or `rate`),
//! and a CSV whose first column is the frame time in seconds and whose other columns are ROIs,
//! headed by their labels.

use super::{Imaging, ReadOptions, times_from_rate};
use crate::npz::NpzIn;
use crate::{Error, Result};
use ndarray::{Array1, Array2, Ix2};
use std::path::Path;

/// Names accepted for the CSV's time column.
const TIME_COLUMNS: [&str; 4] = ["time", "t", "time_s", "seconds"];

pub(super) fn read_npz(path: &Path, opts: &ReadOptions) -> Result<Imaging> {
    read_npz_array(path, opts, "signal")
}

/// Reads array `name` (frames × columns) of a labelled `.npz` with its times; `labels` are
/// required for a signal, optional (channel numbers) otherwise.
pub(super) fn read_npz_array(path: &Path, opts: &ReadOptions, name: &str) -> Result<Imaging> {
    let mut z = NpzIn::open(path)?;
    let signal = z.floats_or_nan(name)?;
    let d = signal.ndim();
    let signal = match d {
        1 if name != "signal" => signal.insert_axis(ndarray::Axis(1)),
        _ => signal,
    };
    let signal = signal
        .into_dimensionality::<Ix2>()
        .map_err(|_| Error::format(path, format!("array '{name}': {d}-d, expected frames × columns")))?;
    let frames = signal.nrows();
    let labels = if name == "signal" || z.has("labels") {
        z.strings("labels")?
    } else {
        (0..signal.ncols()).map(|c| c.to_string()).collect()
    };
    let times = if z.has("times") {
        let t = z.floats_shaped("times", &[Some(frames)], &["frames"])?;
        t.into_iter().collect()
    } else if z.has("rate") || opts.frame_rate.is_some() {
        let rate = if z.has("rate") {
            scalar(&mut z, "rate")?
        } else {
            opts.frame_rate.expect("checked")
        };
        let start = if z.has("start") { scalar(&mut z, "start")? } else { 0.0 };
        times_from_rate(path, "array 'rate'", start, rate, frames)?
    } else {
        return Err(Error::format(
            path,
            "neither an array 'times' (seconds, one per frame) nor 'rate' (Hz): the frame times are unknown (or give --frame-rate)",
        ));
    };
    let unit = if z.has("unit") { z.text("unit")? } else { String::new() };
    Ok(Imaging {
        path: path.to_path_buf(),
        source: format!("array '{name}'"),
        times,
        signal: signal.mapv(|v| v as f32),
        labels,
        unit,
    })
}

fn scalar(z: &mut NpzIn, name: &str) -> Result<f64> {
    let a = z.floats(name)?;
    if a.len() != 1 {
        return Err(Error::format(
            z.path(),
            format!("array '{name}': expected one number, found {}", a.len()),
        ));
    }
    Ok(a.iter().copied().next().expect("one"))
}

pub(super) fn read_csv(path: &Path) -> Result<Imaging> {
    let tab = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = csv::ReaderBuilder::new()
        .delimiter(if tab { b'\t' } else { b',' })
        .trim(csv::Trim::All)
        .from_reader(file);
    let header: Vec<String> = r
        .headers()
        .map_err(|e| Error::format(path, format!("header: {e}")))?
        .iter()
        .map(str::to_string)
        .collect();
    if header.len() < 2 || !TIME_COLUMNS.iter().any(|c| header[0].eq_ignore_ascii_case(c)) {
        return Err(Error::format(
            path,
            format!(
                "line 1: expected a header 'time,<label>,<label>,…' (time in seconds, then one column per ROI), found {:?}",
                header.join(",")
            ),
        ));
    }
    let mut times = Vec::new();
    let mut values = Vec::new();
    for (k, rec) in r.records().enumerate() {
        let line = k + 2;
        let rec = rec.map_err(|e| Error::format(path, format!("line {line}: {e}")))?;
        for (c, field) in rec.iter().enumerate() {
            let v = parse(field).ok_or_else(|| {
                Error::format(
                    path,
                    format!("line {line}, column {:?}: {field:?} is not a number", header[c]),
                )
            })?;
            if c == 0 {
                if v.is_nan() {
                    return Err(Error::format(path, format!("line {line}: the frame time is missing")));
                }
                times.push(v);
            } else {
                values.push(v as f32);
            }
        }
    }
    let (frames, rois) = (times.len(), header.len() - 1);
    Ok(Imaging {
        path: path.to_path_buf(),
        source: "CSV".into(),
        times: Array1::from(times),
        signal: Array2::from_shape_vec((frames, rois), values).expect("csv checks row lengths"),
        labels: header[1..].to_vec(),
        unit: String::new(),
    })
}

/// A number, or NaN for an empty field, `nan` or `NA`.
fn parse(field: &str) -> Option<f64> {
    if field.is_empty() || field.eq_ignore_ascii_case("nan") || field.eq_ignore_ascii_case("na") {
        return Some(f64::NAN);
    }
    field.parse::<f64>().ok().filter(|v| !v.is_nan())
}
