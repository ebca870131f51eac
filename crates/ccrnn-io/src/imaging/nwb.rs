//! NWB 2.x optical physiology: a `RoiResponseSeries` of a `DfOverF` or `Fluorescence`
//! interface in a processing module, its frame times and the labels of its ROIs in the
//! `PlaneSegmentation` its `rois` region points to.

use super::{Imaging, ReadOptions, times_from_rate};
use crate::{Error, Result};
use hdf5_reader::error::Error as H5Error;
use hdf5_reader::group::Group;
use hdf5_reader::{Dataset, Datatype, Hdf5File};
use ndarray::{Array1, Array2, ArrayD, Ix1, Ix2};
use std::path::Path;

/// Interfaces whose `RoiResponseSeries` are read, in order of preference.
const INTERFACES: [&str; 2] = ["DfOverF", "Fluorescence"];

/// Label columns tried, in order, when none is named.
const LABEL_COLUMNS: [&str; 6] = ["neuron_name", "label", "labels", "name", "roi_name", "cell_type"];

/// A candidate series: its path and group.
struct Series {
    path: String,
    interface: &'static str,
    group: Group,
}

pub(super) fn read(path: &Path, opts: &ReadOptions) -> Result<Imaging> {
    let h5 = |what: &str, e: H5Error| Error::format(path, format!("{what}: {e}"));
    let file = Hdf5File::open(path).map_err(|e| h5("not a readable HDF5/NWB file", e))?;
    let series = candidates(path, &file)?;
    let chosen = choose(path, series, opts.series.as_deref())?;
    let what = format!("NWB {}", chosen.path);
    let g = &chosen.group;
    let member = |name: &str| {
        g.dataset(name)
            .map_err(|e| Error::format(path, format!("{}: no dataset '{name}' ({e})", chosen.path)))
    };
    // data: frames × ROIs (a single ROI may be stored as a vector)
    let data_ds = member("data")?;
    let data = floats(path, &format!("{}/data", chosen.path), &data_ds)?;
    let data: Array2<f64> = match data.ndim() {
        1 => data
            .into_dimensionality::<Ix1>()
            .expect("1-d")
            .insert_axis(ndarray::Axis(1)),
        2 => data.into_dimensionality::<Ix2>().expect("2-d"),
        d => {
            return Err(Error::format(
                path,
                format!("{}/data: {d}-d, expected frames × ROIs", chosen.path),
            ));
        }
    };
    let attr = |ds: &Dataset, name: &str| ds.attribute(name).ok().and_then(|a| a.read_as_f64().ok());
    let conversion = attr(&data_ds, "conversion").unwrap_or(1.0);
    let offset = attr(&data_ds, "offset").unwrap_or(0.0);
    let unit = data_ds
        .attribute("unit")
        .ok()
        .and_then(|a| a.read_string().ok())
        .unwrap_or_default();
    let signal = data.mapv(|v| (v * conversion + offset) as f32);
    let frames = signal.nrows();

    // frame times: timestamps, or starting_time and its rate
    let times = if let Ok(ts) = g.dataset("timestamps") {
        let t = floats(path, &format!("{}/timestamps", chosen.path), &ts)?;
        let t: Array1<f64> = t.into_iter().collect();
        if t.len() != frames {
            return Err(Error::format(
                path,
                format!("{}/timestamps: {} times for {frames} frames", chosen.path, t.len()),
            ));
        }
        t
    } else if let Ok(st) = g.dataset("starting_time") {
        let start = floats(path, &format!("{}/starting_time", chosen.path), &st)?
            .iter()
            .copied()
            .next()
            .unwrap_or(0.0);
        let rate = match (attr(&st, "rate"), opts.frame_rate) {
            (Some(r), _) | (None, Some(r)) => r,
            (None, None) => {
                return Err(Error::format(
                    path,
                    format!(
                        "{}/starting_time has no attribute 'rate' (give the frame rate: --frame-rate)",
                        chosen.path
                    ),
                ));
            }
        };
        times_from_rate(path, &format!("{}/starting_time", chosen.path), start, rate, frames)?
    } else if let Some(rate) = opts.frame_rate {
        times_from_rate(path, &what, 0.0, rate, frames)?
    } else {
        return Err(Error::format(
            path,
            format!(
                "{}: neither 'timestamps' nor 'starting_time' with a 'rate' (give the frame rate: --frame-rate)",
                chosen.path
            ),
        ));
    };
    let labels = roi_labels(path, &file, &chosen, signal.ncols(), opts.label_column.as_deref())?;
    Ok(Imaging {
        path: path.to_path_buf(),
        source: what,
        times,
        signal,
        labels,
        unit,
    })
}

/// Every `RoiResponseSeries` of a `DfOverF` or `Fluorescence` interface in any processing
/// module.
fn candidates(path: &Path, file: &Hdf5File) -> Result<Vec<Series>> {
    let processing = file.group("/processing").map_err(|_| {
        Error::format(
            path,
            "no /processing group: the file holds no processed optical physiology (an NWB ophys file keeps its RoiResponseSeries in /processing/ophys/DfOverF or /processing/ophys/Fluorescence)",
        )
    })?;
    let modules = processing
        .groups()
        .map_err(|e| Error::format(path, format!("/processing: {e}")))?;
    let mut out = Vec::new();
    for m in &modules {
        for interface in INTERFACES {
            let Ok(ig) = m.group(interface) else { continue };
            for s in ig
                .groups()
                .map_err(|e| Error::format(path, format!("{interface}: {e}")))?
            {
                if s.dataset("data").is_ok() {
                    out.push(Series {
                        path: format!("/processing/{}/{interface}/{}", m.name(), s.name()),
                        interface,
                        group: s,
                    });
                }
            }
        }
    }
    if out.is_empty() {
        let names: Vec<&str> = modules.iter().map(|m| m.name()).collect();
        return Err(Error::format(
            path,
            format!(
                "no RoiResponseSeries under a DfOverF or Fluorescence interface of any processing module (modules: {}); an ophys module is expected at /processing/ophys",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ),
        ));
    }
    Ok(out)
}

/// The series `wanted` names (its name, `Interface/name` or full path), or the only one (a
/// `DfOverF` one before `Fluorescence` ones).
fn choose(path: &Path, mut series: Vec<Series>, wanted: Option<&str>) -> Result<Series> {
    let list = |s: &[Series]| s.iter().map(|s| s.path.as_str()).collect::<Vec<_>>().join(", ");
    if let Some(w) = wanted {
        let w = w.trim_matches('/');
        let hits: Vec<usize> = (0..series.len())
            .filter(|&k| {
                let p = series[k].path.trim_start_matches('/');
                p == w || p.ends_with(&format!("/{w}"))
            })
            .collect();
        return match hits.as_slice() {
            [k] => Ok(series.swap_remove(*k)),
            [] => Err(Error::format(
                path,
                format!("no RoiResponseSeries {w:?} (the file holds: {})", list(&series)),
            )),
            _ => Err(Error::format(
                path,
                format!(
                    "{w:?} names several series ({}): give its full path",
                    hits.iter()
                        .map(|&k| series[k].path.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
        };
    }
    for interface in INTERFACES {
        let of: Vec<usize> = (0..series.len())
            .filter(|&k| series[k].interface == interface)
            .collect();
        match of.as_slice() {
            [k] => return Ok(series.swap_remove(*k)),
            [] => continue,
            _ => {
                return Err(Error::format(
                    path,
                    format!(
                        "several {interface} series ({}): choose one with --series",
                        of.iter()
                            .map(|&k| series[k].path.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
    unreachable!("candidates() returns at least one series")
}

/// The label of each column of the series: the chosen (or first usual) column of the ROI
/// table its `rois` region points to, else the table's ids, else the region's indices.
fn roi_labels(path: &Path, file: &Hdf5File, s: &Series, cols: usize, column: Option<&str>) -> Result<Vec<String>> {
    let Ok(rois) = s.group.dataset("rois") else {
        if column.is_some() {
            return Err(Error::format(
                path,
                format!("{}: no 'rois' region to take labels from", s.path),
            ));
        }
        return Ok((0..cols).map(|k| k.to_string()).collect());
    };
    let idx: Vec<i64> = floats(path, &format!("{}/rois", s.path), &rois)?
        .iter()
        .map(|&v| v as i64)
        .collect();
    if idx.len() != cols {
        return Err(Error::format(
            path,
            format!("{}/rois: {} ROIs for {cols} columns of data", s.path, idx.len()),
        ));
    }
    let table = plane_segmentation(file, &rois).ok_or_else(|| {
        Error::format(
            path,
            format!(
                "{}/rois: the ROI table it points to (attribute 'table') cannot be resolved",
                s.path
            ),
        )
    })?;
    let (_, datasets) = table
        .member_names()
        .map_err(|e| Error::format(path, format!("ROI table: {e}")))?;
    let name = match column {
        Some(c) if datasets.iter().any(|d| d == c) => c.to_string(),
        Some(c) => {
            return Err(Error::format(
                path,
                format!(
                    "ROI table {}: no column {c:?} (columns: {})",
                    table.name(),
                    datasets.join(", ")
                ),
            ));
        }
        None => LABEL_COLUMNS
            .iter()
            .find(|c| datasets.iter().any(|d| d == *c))
            .map_or_else(|| "id".to_string(), |c| c.to_string()),
    };
    let col = table
        .dataset(&name)
        .map_err(|e| Error::format(path, format!("ROI table {}: column {name:?}: {e}", table.name())))?;
    let values: Vec<String> = match col.dtype() {
        Datatype::String { .. } | Datatype::VarLen { .. } => col
            .read_strings()
            .map_err(|e| Error::format(path, format!("ROI table column {name:?}: {e}")))?,
        Datatype::FixedPoint { .. } => col
            .read_array::<i64>()
            .map_err(|e| Error::format(path, format!("ROI table column {name:?}: {e}")))?
            .iter()
            .map(|v| v.to_string())
            .collect(),
        other => {
            return Err(Error::format(
                path,
                format!("ROI table column {name:?} holds {other:?}, not labels (text or integer ids)"),
            ));
        }
    };
    idx.iter()
        .enumerate()
        .map(|(k, &i)| {
            usize::try_from(i)
                .ok()
                .and_then(|i| values.get(i).map(|v| v.trim().to_string()))
                .ok_or_else(|| {
                    Error::format(
                        path,
                        format!(
                            "{}/rois[{k}] = {i} is not a row of the ROI table ({} rows)",
                            s.path,
                            values.len()
                        ),
                    )
                })
        })
        .collect()
}

/// The group the `table` object reference of a `rois` region points to, found among the
/// `PlaneSegmentation`s of every processing module's `ImageSegmentation`; the only one if the
/// reference is absent.
fn plane_segmentation(file: &Hdf5File, rois: &Dataset) -> Option<Group> {
    let target = rois
        .attribute("table")
        .ok()
        .and_then(|a| hdf5_reader::reference::resolve_object_reference(&a.raw_data, 8).ok());
    let mut tables = Vec::new();
    for m in file.group("/processing").ok()?.groups().ok()? {
        for g in m.groups().ok()? {
            if let Ok(children) = g.groups() {
                tables.extend(children.into_iter().filter(|t| t.dataset("id").is_ok()));
            }
        }
    }
    match target {
        Some(addr) => tables.into_iter().find(|t| t.address() == addr),
        None if tables.len() == 1 => tables.pop(),
        None => None,
    }
}

/// A numeric dataset as f64, whatever its stored type.
fn floats(path: &Path, what: &str, ds: &Dataset) -> Result<ArrayD<f64>> {
    let err = |e: H5Error| Error::format(path, format!("{what}: {e}"));
    Ok(match ds.dtype() {
        Datatype::FloatingPoint { size: 4, .. } => ds.read_array::<f32>().map_err(err)?.mapv(f64::from),
        Datatype::FloatingPoint { size: 8, .. } => ds.read_array::<f64>().map_err(err)?,
        Datatype::FixedPoint { signed: true, .. } => ds.read_array::<i64>().map_err(err)?.mapv(|v| v as f64),
        Datatype::FixedPoint { signed: false, .. } => ds.read_array::<u64>().map_err(err)?.mapv(|v| v as f64),
        other => return Err(Error::format(path, format!("{what}: holds {other:?}, not numbers"))),
    })
}
