//! suite2p output folders: `F.npy` and `Fneu.npy` (ROIs × frames), `iscell.npy` (ROIs × 2:
//! accepted, probability), `ops.npy` (a pickled dict holding the frame rate `fs`).

use super::{Imaging, ReadOptions, times_from_rate};
use crate::npz::{NPY_NAME, NpzIn};
use crate::{Error, Result};
use ndarray::{Array2, Axis, Ix2};
use std::path::{Path, PathBuf};

pub(super) fn read(dir: &Path, opts: &ReadOptions) -> Result<Imaging> {
    let plane = plane_dir(dir)?;
    let file = |name: &str| plane.join(name);
    let f = matrix(&file("F.npy"))?;
    let (rois, frames) = f.dim();
    let mut signal = f;
    if opts.neuropil != 0.0 {
        let fneu = matrix(&file("Fneu.npy"))?;
        if fneu.dim() != (rois, frames) {
            return Err(Error::format(
                &file("Fneu.npy"),
                format!("{:?} ROIs × frames, but F.npy has {rois} × {frames}", fneu.dim()),
            ));
        }
        signal.scaled_add(-opts.neuropil, &fneu);
    }
    let keep = accepted(&file("iscell.npy"), rois)?;
    if keep.is_empty() {
        return Err(Error::format(&file("iscell.npy"), "accepts no ROI as a cell"));
    }
    let rate = match opts.frame_rate {
        Some(r) => r,
        None => frame_rate(&file("ops.npy"))?,
    };
    let signal = signal.select(Axis(0), &keep).reversed_axes().mapv(|v| v as f32);
    Ok(Imaging {
        path: dir.to_path_buf(),
        source: format!(
            "suite2p {} (F − {} · Fneu, {} of {rois} ROIs accepted by iscell.npy)",
            plane.display(),
            opts.neuropil,
            keep.len()
        ),
        times: times_from_rate(&plane, "suite2p frame rate", 0.0, rate, frames)?,
        signal: signal.as_standard_layout().into_owned(),
        labels: keep.iter().map(|k| k.to_string()).collect(),
        unit: "F".into(),
    })
}

/// The folder holding `F.npy`: `dir` itself, or its only `plane*` folder (directly or in
/// `suite2p/`).
fn plane_dir(dir: &Path) -> Result<PathBuf> {
    if dir.join("F.npy").is_file() {
        return Ok(dir.to_path_buf());
    }
    for base in [dir.to_path_buf(), dir.join("suite2p")] {
        let Ok(entries) = std::fs::read_dir(&base) else {
            continue;
        };
        let mut planes: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with("plane"))
                    && p.join("F.npy").is_file()
            })
            .collect();
        planes.sort();
        match planes.len() {
            0 => continue,
            1 => return Ok(planes.pop().expect("one")),
            _ => {
                return Err(Error::format(
                    dir,
                    format!(
                        "several suite2p planes ({}): give the plane folder itself",
                        planes
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
    }
    Err(Error::format(
        dir,
        "not a suite2p output folder: no F.npy in it, nor in a plane* folder (or suite2p/plane*)",
    ))
}

/// A 2-d `.npy` of floats (ROIs × frames).
fn matrix(path: &Path) -> Result<Array2<f64>> {
    let a = NpzIn::open(path)?.floats(NPY_NAME)?;
    let d = a.ndim();
    a.into_dimensionality::<Ix2>()
        .map_err(|_| Error::format(path, format!("{d}-d, expected ROIs × frames")))
}

/// The ROIs `iscell.npy` accepts (its first column, or its only one, non-zero).
fn accepted(path: &Path, rois: usize) -> Result<Vec<usize>> {
    let a = NpzIn::open(path)?.floats(NPY_NAME)?;
    let first: Vec<f64> = match a.ndim() {
        1 => a.iter().copied().collect(),
        2 => a.index_axis(Axis(1), 0).iter().copied().collect(),
        d => return Err(Error::format(path, format!("{d}-d, expected ROIs × 2"))),
    };
    if first.len() != rois {
        return Err(Error::format(
            path,
            format!("{} ROIs, but F.npy has {rois}", first.len()),
        ));
    }
    Ok((0..rois).filter(|&k| first[k] != 0.0).collect())
}

/// `fs` of suite2p's `ops.npy` (a NumPy object array holding a pickled dict).
fn frame_rate(path: &Path) -> Result<f64> {
    let hint = "give the frame rate with --frame-rate";
    let bytes = std::fs::read(path).map_err(|e| {
        Error::format(
            path,
            format!("the frame rate comes from ops.npy, which cannot be read ({e}): {hint}"),
        )
    })?;
    let bad = |m: &str| Error::format(path, format!("{m}: {hint}"));
    let (_, body) = crate::npz::npy_parts(&bytes).ok_or_else(|| bad("not an .npy file"))?;
    let opts = serde_pickle::DeOptions::new()
        .replace_unresolved_globals()
        .decode_strings();
    let value = serde_pickle::value_from_slice(body, opts).map_err(|e| bad(&format!("unreadable pickle ({e})")))?;
    find_fs(&value).ok_or_else(|| bad("no number 'fs' in the options"))
}

/// The value of key `fs` in the first dict found in a pickled value.
fn find_fs(v: &serde_pickle::Value) -> Option<f64> {
    use serde_pickle::{HashableValue as H, Value as V};
    match v {
        V::Dict(d) => d.iter().find_map(|(k, v)| match (k, v) {
            (H::String(k), V::F64(x)) if k == "fs" => Some(*x),
            (H::String(k), V::I64(x)) if k == "fs" => Some(*x as f64),
            _ => None,
        }),
        V::List(xs) | V::Tuple(xs) => xs.iter().find_map(find_fs),
        _ => None,
    }
}
