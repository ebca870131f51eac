//! The flyvis type-level wiring of the fly's visual system (Lappalainen et al. 2024,
//! `fib25-fib19_v2.2.json` in the `flyvis` package), expanded onto a hexagonal lattice of
//! columns exactly as flyvis's own `ConnectomeFromAvgFilters` does.
//!
//! The file lists cell types (`nodes`: a name and a lattice pattern, `["stride", [su, sv]]`,
//! `["tile", s]` or `["single", …]`) and type-to-type connections (`edges`: `src`, `tar`, a sign
//! `alpha` = ±1 and `offsets`, a list of `[[du, dv], n_syn]`: the average synapse count from a
//! source cell in column (u, v) onto the target cell in column (u + du, v + dv)). Expansion:
//!
//! 1. every type gets one neuron per lattice column (u, v) with |u|, |v|, |u + v| ≤ extent and
//!    u, v divisible by its strides, in flyvis's order (type by type, u then v ascending): the
//!    neuron's index is its id, and its label is its type;
//! 2. an edge with at least three offsets has the gaps of its receptive field filled: every
//!    column inside the convex hull of its offsets that is not listed gets `n_syn_fill`
//!    synapses (flyvis's default 1; inside = the crossing-number test of matplotlib's
//!    `Path.contains_points`, which flyvis uses, so boundary columns are decided the same way);
//! 3. every offset connects each source neuron to the target neuron at the shifted column if
//!    that column exists.
//!
//! Signs are per source type in the file; a type whose edges carry both signs (R8, Am, C2 and C3
//! in v2.2) gets the sign of the majority of its synapses and is counted in
//! [`LoadReport::mixed_sign`]. At the default extent 15: 45,669 neurons and 1,513,231 edges
//! (12,380 of them self-connections, dropped unless self-loops are kept).

use super::{Filter, LoadOptions, LoadReport};
use crate::{Error, Result};
use ccrnn_core::Connectome;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::Path;

/// Lattice options of the flyvis expansion.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Lattice {
    /// Radius of the hexagonal array in columns (flyvis's default 15: 721 columns).
    pub extent: u32,
    /// Synapses assumed in each gap of a receptive field (flyvis's `n_syn_fill`, default 1;
    /// 0 leaves the gaps empty).
    pub n_syn_fill: f64,
}

impl Default for Lattice {
    fn default() -> Self {
        Self {
            extent: 15,
            n_syn_fill: 1.0,
        }
    }
}

#[derive(Deserialize)]
struct Spec {
    nodes: Vec<NodeSpec>,
    edges: Vec<EdgeSpec>,
}

#[derive(Deserialize)]
struct NodeSpec {
    name: String,
    pattern: (String, serde_json::Value),
}

#[derive(Deserialize)]
struct EdgeSpec {
    src: String,
    tar: String,
    alpha: f64,
    offsets: Vec<([i64; 2], f64)>,
}

/// Reads a flyvis wiring JSON (plain or gzip) and expands it.
pub fn load_flyvis(path: &Path, opts: &LoadOptions) -> Result<(Connectome, LoadReport)> {
    let files = vec![crate::sha256_file(path)?];
    let mut text = Vec::new();
    super::open_text(path)?.read_to_end(&mut text).map_err(|e| {
        Error::format(
            path,
            format!("cannot read further ({e}); a truncated or corrupt gzip file?"),
        )
    })?;
    expand(path, &text, files, opts)
}

/// The bundled wiring (`name` for messages and provenance).
pub(crate) fn load_embedded(name: &str, gz: &'static [u8], opts: &LoadOptions) -> Result<(Connectome, LoadReport)> {
    let label = format!("builtin:{name}/fib25-fib19_v2.2.json.gz");
    let mut text = Vec::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_end(&mut text)
        .map_err(|e| Error::format(Path::new(&label), e.to_string()))?;
    expand(Path::new(&label), &text, vec![super::embedded_file(&label, gz)], opts)
}

fn expand(
    path: &Path,
    text: &[u8],
    files: Vec<crate::InputFile>,
    opts: &LoadOptions,
) -> Result<(Connectome, LoadReport)> {
    let spec: Spec =
        serde_json::from_slice(text).map_err(|e| Error::format(path, format!("not a flyvis wiring file: {e}")))?;
    if spec.nodes.is_empty() {
        return Err(Error::format(path, "no cell types ('nodes' is empty)"));
    }
    let lat = opts.lattice;
    if !(lat.n_syn_fill >= 0.0 && lat.n_syn_fill.is_finite()) {
        return Err(Error::format(
            path,
            format!("n_syn_fill = {}: must be >= 0", lat.n_syn_fill),
        ));
    }
    let extent = i64::from(lat.extent);
    let side = (2 * extent + 1) as usize;
    let slot = |u: i64, v: i64| ((u + extent) as usize) * side + (v + extent) as usize;

    // Neurons, type by type; `at[type][slot(u, v)]` is the neuron in that column.
    let mut types: HashMap<&str, usize> = HashMap::new();
    let mut cells: Vec<Vec<(i64, i64, u32)>> = Vec::new();
    let mut at: Vec<Vec<u32>> = Vec::new();
    let mut labels = Vec::new();
    let mut type_of = Vec::new();
    for (k, node) in spec.nodes.iter().enumerate() {
        if types.insert(&node.name, k).is_some() {
            return Err(Error::format(
                path,
                format!("nodes[{k}]: cell type {:?} listed twice", node.name),
            ));
        }
        let (su, sv, radius) = pattern(path, k, node)?;
        let radius = radius.unwrap_or(extent);
        let mut here = Vec::new();
        let mut grid = vec![u32::MAX; side * side];
        for u in -radius..=radius {
            for v in (-radius).max(-radius - u)..=radius.min(radius - u) {
                if u % su == 0 && v % sv == 0 {
                    let i = labels.len() as u32;
                    grid[slot(u, v)] = i;
                    here.push((u, v, i));
                    labels.push(node.name.clone());
                    type_of.push(k);
                }
            }
        }
        cells.push(here);
        at.push(grid);
    }
    let n = labels.len();
    if n >= u32::MAX as usize {
        return Err(Error::format(
            path,
            format!("extent {extent} gives {n} neurons: too many"),
        ));
    }

    let mut report = LoadReport {
        files,
        ..LoadReport::default()
    };
    let mut votes = vec![[0.0f64; 2]; spec.nodes.len()];
    let mut filter = Filter::new(n);
    for (k, e) in spec.edges.iter().enumerate() {
        let look = |name: &str, field: &str| {
            types
                .get(name)
                .copied()
                .ok_or_else(|| Error::format(path, format!("edges[{k}].{field}: unknown cell type {name:?}")))
        };
        let (s, t) = (look(&e.src, "src")?, look(&e.tar, "tar")?);
        // Index into `votes`: 0 inhibitory, 1 excitatory.
        let vote = match e.alpha {
            1.0 => 1,
            -1.0 => 0,
            a => {
                return Err(Error::format(
                    path,
                    format!("edges[{k}] ({} → {}): alpha {a}, expected 1 or -1", e.src, e.tar),
                ));
            }
        };
        if let Some((_, c)) = e.offsets.iter().find(|(_, c)| !(c.is_finite() && *c >= 0.0)) {
            return Err(Error::format(
                path,
                format!(
                    "edges[{k}] ({} → {}): synapse count {c} is not a count >= 0",
                    e.src, e.tar
                ),
            ));
        }
        report.rows += 1;
        let offsets = if lat.n_syn_fill > 0.0 && e.offsets.len() >= 3 {
            fill_hull(&e.offsets, lat.n_syn_fill)
        } else {
            e.offsets.clone()
        };
        for &([du, dv], c) in &offsets {
            for &(u, v, j) in &cells[s] {
                let (tu, tv) = (u + du, v + dv);
                if tu.abs() > extent || tv.abs() > extent {
                    continue;
                }
                let i = at[t][slot(tu, tv)];
                if i != u32::MAX {
                    votes[s][vote] += c;
                    filter.pair(i as usize, j as usize, c, opts, &mut report);
                }
            }
        }
    }
    let type_sign: Vec<i8> = votes
        .iter()
        .map(|v| match v {
            [neg, pos] if *neg == 0.0 && *pos == 0.0 => opts.signs.unknown,
            [neg, pos] if pos >= neg => 1,
            _ => -1,
        })
        .collect();
    report.mixed_sign = votes
        .iter()
        .zip(&cells)
        .filter(|(v, _)| v[0] > 0.0 && v[1] > 0.0)
        .map(|(_, c)| c.len())
        .sum();
    report.unknown_sign = votes
        .iter()
        .zip(&cells)
        .filter(|(v, _)| v[0] == 0.0 && v[1] == 0.0)
        .map(|(_, c)| c.len())
        .sum();
    let signs = type_of.iter().map(|&k| type_sign[k]).collect();
    let triplets = filter.finish(&mut report);
    let c = Connectome::from_triplets((0..n as u64).collect(), labels, signs, triplets)
        .map_err(|e| Error::core(path, e))?;
    Ok((c, report))
}

/// `(u stride, v stride, radius)` of a node pattern; radius `None` = the extent.
fn pattern(path: &Path, k: usize, node: &NodeSpec) -> Result<(i64, i64, Option<i64>)> {
    let bad = |what: &str| {
        Error::format(
            path,
            format!(
                "nodes[{k}] ({}): pattern {:?} {}: {what}",
                node.name, node.pattern.0, node.pattern.1
            ),
        )
    };
    let stride = |v: &serde_json::Value| {
        v.as_i64()
            .filter(|&s| s >= 1)
            .ok_or_else(|| bad("strides must be integers >= 1"))
    };
    Ok(match node.pattern.0.as_str() {
        "stride" => match node.pattern.1.as_array().map(Vec::as_slice) {
            Some([a, b]) => (stride(a)?, stride(b)?, None),
            _ => return Err(bad("expected [u_stride, v_stride]")),
        },
        "tile" => {
            let s = stride(&node.pattern.1)?;
            (s, s, None)
        }
        "single" => (1, 1, Some(0)),
        _ => return Err(bad("expected \"stride\", \"tile\" or \"single\"")),
    })
}

/// flyvis's `fill_hull`: the offsets plus every lattice point inside their convex hull that is
/// not already one of them, with `fill` synapses.
fn fill_hull(offsets: &[([i64; 2], f64)], fill: f64) -> Vec<([i64; 2], f64)> {
    let known: HashSet<[i64; 2]> = offsets.iter().map(|(p, _)| *p).collect();
    let hull = convex_hull(known.iter().copied().collect());
    let (mut lo, mut hi) = ([i64::MAX; 2], [i64::MIN; 2]);
    for p in &known {
        for d in 0..2 {
            lo[d] = lo[d].min(p[d]);
            hi[d] = hi[d].max(p[d]);
        }
    }
    let mut out = offsets.to_vec();
    for u in lo[0]..=hi[0] {
        for v in lo[1]..=hi[1] {
            if !known.contains(&[u, v]) && crossing_inside(&hull, [u, v]) {
                out.push(([u, v], fill));
            }
        }
    }
    out
}

fn cross(o: [i64; 2], a: [i64; 2], b: [i64; 2]) -> i64 {
    (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
}

/// Vertices of the convex hull, counter-clockwise, collinear points left out (monotone chain).
fn convex_hull(mut pts: Vec<[i64; 2]>) -> Vec<[i64; 2]> {
    pts.sort_unstable();
    pts.dedup();
    if pts.len() <= 2 {
        return pts;
    }
    let chain = |it: &mut dyn Iterator<Item = &[i64; 2]>| {
        let mut h: Vec<[i64; 2]> = Vec::new();
        for &p in it {
            while h.len() >= 2 && cross(h[h.len() - 2], h[h.len() - 1], p) <= 0 {
                h.pop();
            }
            h.push(p);
        }
        h.pop();
        h
    };
    let mut lower = chain(&mut pts.iter());
    lower.extend(chain(&mut pts.iter().rev()));
    lower
}

/// The crossing-number test of matplotlib's `point_in_path` on the closed polygon `poly`
/// (boundary points decided as matplotlib decides them).
fn crossing_inside(poly: &[[i64; 2]], t: [i64; 2]) -> bool {
    let Some(&last) = poly.last() else { return false };
    let [mut x0, mut y0] = last;
    let mut yflag0 = y0 >= t[1];
    let mut inside = false;
    for &[x1, y1] in poly {
        let yflag1 = y1 >= t[1];
        if yflag0 != yflag1 && (((y1 - t[1]) * (x0 - x1) >= (x1 - t[0]) * (y0 - y1)) == yflag1) {
            inside = !inside;
        }
        (x0, y0, yflag0) = (x1, y1, yflag1);
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hull_is_counter_clockwise_without_collinear_points() {
        let h = convex_hull(vec![[0, 0], [1, 0], [2, 0], [2, 2], [0, 2], [1, 1]]);
        assert_eq!(h, vec![[0, 0], [2, 0], [2, 2], [0, 2]]);
    }

    #[test]
    fn crossing_test_decides_boundaries_like_matplotlib() {
        // matplotlib: of a square's boundary, the bottom edge is outside, the top inside.
        let sq = [[0, 0], [2, 0], [2, 2], [0, 2]];
        assert!(crossing_inside(&sq, [1, 1]));
        assert!(!crossing_inside(&sq, [1, 0]));
        assert!(crossing_inside(&sq, [1, 2]));
        assert!(!crossing_inside(&sq, [3, 1]));
        assert!(crossing_inside(&sq, [0, 1]) && crossing_inside(&sq, [2, 1]));
    }

    #[test]
    fn fill_adds_the_gaps_of_a_receptive_field() {
        let offs = vec![([-1, 0], 2.0), ([1, 0], 2.0), ([0, 1], 2.0), ([0, -1], 2.0)];
        let filled = fill_hull(&offs, 1.0);
        assert_eq!(filled.len(), 5);
        assert_eq!(filled[4], ([0, 0], 1.0));
    }
}
