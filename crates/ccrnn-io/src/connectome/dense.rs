//! Dense connectivity matrices in `.npy` / `.npz`.

use super::{LoadOptions, LoadReport};
use crate::npz::NpzIn;
use crate::{Error, Result, sha256_file};
use ccrnn_core::Connectome;
use ndarray::Ix2;
use std::path::Path;

/// Loads `W[post, pre]` (array `W`, `W_eff`, `weights` or a lone `.npy`): entries are synapse
/// counts, negative entries mark an inhibitory presynaptic neuron (a column may not mix signs).
/// Optional arrays: `ids` (one integer per neuron; default 0..N) and `signs` (+1/−1/0).
pub fn load_dense(path: &Path, opts: &LoadOptions) -> Result<(Connectome, LoadReport)> {
    let mut report = LoadReport {
        files: vec![sha256_file(path)?],
        ..LoadReport::default()
    };
    let mut z = NpzIn::open(path)?;
    let name = z
        .first_of(&["W", "W_eff", "weights", crate::npz::NPY_NAME])
        .ok_or_else(|| Error::format(path, format!("no array 'W' (the file holds: {})", z.names().join(", "))))?;
    let w = z.floats(name)?;
    let n = w.shape().first().copied().unwrap_or(0);
    crate::npz::check_shape(path, name, w.shape(), &[Some(n), Some(n)], &["post", "pre"])?;
    if n == 0 {
        return Err(Error::format(path, format!("array '{name}' is empty")));
    }
    let w = w.into_dimensionality::<Ix2>().expect("checked");
    let ids: Vec<u64> = if z.has("ids") {
        let a = z.integers("ids")?;
        crate::npz::check_shape(path, "ids", a.shape(), &[Some(n)], &["neurons"])?;
        a.iter()
            .map(|&x| u64::try_from(x).map_err(|_| Error::format(path, format!("array 'ids': negative id {x}"))))
            .collect::<Result<_>>()?
    } else {
        (0..n as u64).collect()
    };
    let given: Option<Vec<i8>> = if z.has("signs") {
        let a = z.integers("signs")?;
        crate::npz::check_shape(path, "signs", a.shape(), &[Some(n)], &["neurons"])?;
        Some(a.iter().map(|&x| x.signum() as i8).collect())
    } else {
        None
    };
    let mut signs = vec![opts.signs.unknown; n];
    for j in 0..n {
        let col = w.column(j);
        let (neg, pos) = (col.iter().any(|&x| x < 0.0), col.iter().any(|&x| x > 0.0));
        if neg && pos {
            return Err(Error::format(
                path,
                format!("array '{name}': column {j} (presynaptic neuron) has both signs"),
            ));
        }
        signs[j] = match (&given, neg) {
            (Some(g), _) => g[j],
            (None, true) => -1,
            (None, false) if pos => opts.signs.unknown,
            _ => opts.signs.unknown,
        };
    }
    let mut filter = super::Filter::new(n);
    for ((i, j), &x) in w.indexed_iter() {
        if x != 0.0 {
            report.rows += 1;
            filter.pair(i, j, x.abs(), opts, &mut report);
        }
    }
    let triplets = filter.finish(&mut report);
    report.unknown_sign = signs.iter().filter(|&&s| s == 0).count();
    let c =
        Connectome::from_triplets(ids, vec![String::new(); n], signs, triplets).map_err(|e| Error::core(path, e))?;
    Ok((c, report))
}
