//! Connectome files: one CSV mechanism for edge lists with an optional node table (generic
//! `pre,post,weight[,sign|transmitter]`, FlyWire/Codex `connections.csv[.gz]`, neuPrint
//! `traced-total-connections.csv` + `traced-neurons.csv`, the larval brain's `edgelist.csv.gz`
//! with `nodes.csv.gz`), dense `.npy`/`.npz` matrices, and the flyvis type-level wiring JSON
//! expanded onto a hexagonal lattice ([`flyvis`]). gzip is detected from the content.
//!
//! Convention: `W[post, pre]`; weights are synapse counts; ids are 64-bit integers parsed from
//! text, never through a float. What was dropped or merged is counted in a [`LoadReport`].

mod csv_edges;
mod dense;
pub mod flyvis;
mod signs;

pub use csv_edges::load_csv;
pub use dense::load_dense;
pub use flyvis::{Lattice, load_flyvis};
pub use signs::{SignRules, Transmitter};

use crate::Result;
use ccrnn_core::Connectome;
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Reading options.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LoadOptions {
    /// Keep a neuron pair only if its summed synapse count is at least this (FlyWire's usual
    /// threshold is 5; the default 0 keeps every pair with a positive count, including the
    /// fractional average counts of flyvis).
    pub threshold: f64,
    /// Keep self-connections (autapses); dropped by default.
    pub self_loops: bool,
    /// Transmitter → sign.
    pub signs: SignRules,
    /// Keep only the rows of these neuropils (edge lists with a `neuropil` column, e.g.
    /// FlyWire's); empty keeps all.
    pub neuropils: Vec<String>,
    /// Lattice of the flyvis expansion (flyvis wiring files only).
    pub lattice: Lattice,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            threshold: 0.0,
            self_loops: false,
            signs: SignRules::default(),
            neuropils: Vec::new(),
            lattice: Lattice::default(),
        }
    }
}

/// What a loader read, kept, merged and dropped (stored in a run's provenance).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LoadReport {
    /// The files read, with their sha256.
    pub files: Vec<crate::InputFile>,
    /// Data rows read from the edge file.
    pub rows: usize,
    /// Rows merged into an earlier row of the same neuron pair (e.g. across neuropils).
    pub merged_rows: usize,
    /// Neuron pairs dropped below the threshold, and their synapses.
    pub below_threshold: usize,
    /// Synapses in those pairs.
    pub below_threshold_synapses: f64,
    /// Self-connections dropped.
    pub self_loops: usize,
    /// Neurons whose sign is unknown (no or unrecognised-but-allowed transmitter): sign 0.
    pub unknown_sign: usize,
    /// Neurons whose synapses carry both signs in the file (given the sign of the majority of
    /// their synapses).
    pub mixed_sign: usize,
    /// Neurons of the node table without any synapse kept.
    pub isolated: usize,
    /// Rows outside the chosen neuropils.
    pub outside_neuropils: usize,
    /// Neurons removed by a selection ([`select`]).
    pub deselected: usize,
}

/// Keeps the neurons whose label is one of `labels` or whose id is one of `ids` (everything if
/// both are empty), re-indexed contiguously in their original order; the ids vector of the
/// result is the map back to body ids. Synapses to or from removed neurons are dropped.
pub fn select(
    con: &Connectome,
    labels: &[String],
    ids: &[u64],
    report: &mut LoadReport,
) -> std::result::Result<Connectome, String> {
    if labels.is_empty() && ids.is_empty() {
        return Ok(con.clone());
    }
    let index = con.index();
    if let Some(id) = ids.iter().find(|id| !index.contains_key(id)) {
        return Err(format!("id {id} is not a neuron of the connectome"));
    }
    if let Some(l) = labels
        .iter()
        .find(|l| !con.labels.iter().any(|x| x.eq_ignore_ascii_case(l)))
    {
        return Err(format!("label {l:?} matches no neuron"));
    }
    let wanted: std::collections::HashSet<u64> = ids.iter().copied().collect();
    let rows: Vec<usize> = (0..con.n())
        .filter(|&i| wanted.contains(&con.ids[i]) || labels.iter().any(|l| con.labels[i].eq_ignore_ascii_case(l)))
        .collect();
    report.deselected = con.n() - rows.len();
    con.subset(&rows).map_err(|e| e.to_string())
}

/// Applies the self-loop rule and the threshold to one neuron pair `(post i, pre j, count)`,
/// counting what is dropped in `report`; the kept pairs go to `kept`.
pub(crate) struct Filter {
    kept: Vec<(u32, u32, f64)>,
    degree: Vec<usize>,
}

impl Filter {
    pub(crate) fn new(n: usize) -> Self {
        Self {
            kept: Vec::new(),
            degree: vec![0; n],
        }
    }

    pub(crate) fn pair(&mut self, i: usize, j: usize, c: f64, opts: &LoadOptions, report: &mut LoadReport) {
        if i == j && !opts.self_loops {
            report.self_loops += 1;
        } else if c <= 0.0 || c < opts.threshold {
            report.below_threshold += 1;
            report.below_threshold_synapses += c;
        } else {
            self.degree[i] += 1;
            self.degree[j] += 1;
            self.kept.push((i as u32, j as u32, c));
        }
    }

    /// The kept pairs; counts the isolated neurons into `report`.
    pub(crate) fn finish(self, report: &mut LoadReport) -> Vec<(u32, u32, f64)> {
        report.isolated = self.degree.iter().filter(|&&d| d == 0).count();
        self.kept
    }
}

/// Where a connectome comes from.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// An edge-list CSV (any of the supported column names), optionally with a node table.
    Csv {
        /// The edges.
        edges: PathBuf,
        /// The node table (ids, labels, transmitters), if any.
        nodes: Option<PathBuf>,
    },
    /// A dense matrix `W[post, pre]` in `.npy`/`.npz`.
    Dense(PathBuf),
    /// A flyvis type-level wiring `.json` (or `.json.gz`), expanded onto a lattice.
    Flyvis(PathBuf),
    /// A bundled connectome ([`BUILTIN`]).
    Builtin(String),
}

impl Source {
    /// Guesses from the file name: a bundled name (when no such file exists), `.npy`/`.npz`
    /// dense, `.json`/`.json.gz` flyvis wiring, anything else an edge CSV.
    pub fn guess(edges: &Path, nodes: Option<&Path>) -> Self {
        if let Some(name) = edges.to_str()
            && BUILTIN.contains(&name)
            && !edges.exists()
        {
            return Source::Builtin(name.to_string());
        }
        let ext = edges
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let name = edges.to_string_lossy().to_ascii_lowercase();
        if ext == "npy" || ext == "npz" {
            Source::Dense(edges.to_path_buf())
        } else if name.ends_with(".json") || name.ends_with(".json.gz") {
            Source::Flyvis(edges.to_path_buf())
        } else {
            Source::Csv {
                edges: edges.to_path_buf(),
                nodes: nodes.map(Path::to_path_buf),
            }
        }
    }
}

/// Connectomes bundled with ccrnn, usable by name wherever a connectome file is accepted:
/// `celegans` (Cook et al. 2019 hermaphrodite, 302 neurons), `larva-mb-left` and
/// `larva-mb-right` (the larval mushroom body, Eichler et al. 2017: 209 and 213 neurons),
/// `flyvis` (the visual system wiring of flyvis, on a lattice of [`LoadOptions::lattice`]).
pub const BUILTIN: &[&str] = &["celegans", "larva-mb-left", "larva-mb-right", "flyvis"];

/// Provenance of a bundled file.
pub(crate) fn embedded_file(label: &str, bytes: &[u8]) -> crate::InputFile {
    use sha2::Digest;
    crate::InputFile {
        path: label.to_string(),
        sha256: sha2::Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect(),
        bytes: bytes.len() as u64,
    }
}

/// Opens a text file, decompressing gzip (detected from the first bytes).
pub(crate) fn open_text(path: &Path) -> Result<Box<dyn Read>> {
    let mut f = std::fs::File::open(path).map_err(|e| crate::Error::io(path, e))?;
    let mut magic = [0u8; 2];
    let k = f.read(&mut magic).map_err(|e| crate::Error::io(path, e))?;
    let head = std::io::Cursor::new(magic[..k].to_vec()).chain(f);
    if k == 2 && magic == [0x1f, 0x8b] {
        Ok(Box::new(flate2::read::MultiGzDecoder::new(head)))
    } else {
        Ok(Box::new(head))
    }
}

/// Loads a connectome.
pub fn load_connectome(source: &Source, opts: &LoadOptions) -> Result<(Connectome, LoadReport)> {
    match source {
        Source::Builtin(name) => match name.as_str() {
            "celegans" => csv_edges::load_embedded(
                "celegans",
                include_bytes!("../../../../data/celegans_cook2019/edges.csv"),
                include_bytes!("../../../../data/celegans_cook2019/nodes.csv"),
                opts,
            ),
            "larva-mb-left" => csv_edges::load_embedded(
                "larva-mb-left",
                include_bytes!("../../../../data/larva_mb_eichler2017/left_edges.csv"),
                include_bytes!("../../../../data/larva_mb_eichler2017/left_nodes.csv"),
                opts,
            ),
            "larva-mb-right" => csv_edges::load_embedded(
                "larva-mb-right",
                include_bytes!("../../../../data/larva_mb_eichler2017/right_edges.csv"),
                include_bytes!("../../../../data/larva_mb_eichler2017/right_nodes.csv"),
                opts,
            ),
            "flyvis" => flyvis::load_embedded(
                "flyvis",
                include_bytes!("../../../../data/flyvis_v2.2/fib25-fib19_v2.2.json.gz"),
                opts,
            ),
            other => Err(crate::Error::format(
                Path::new(other),
                format!("no bundled connectome of that name (bundled: {})", BUILTIN.join(", ")),
            )),
        },
        Source::Csv { edges, nodes } => load_csv(edges, nodes.as_deref(), opts),
        Source::Dense(p) => load_dense(p, opts),
        Source::Flyvis(p) => load_flyvis(p, opts),
    }
}

/// A gap junction: rows `(i, j)` of a connectome and the junction count.
pub type GapPair = (usize, usize, f64);

/// Gap junctions (electrical synapses) of `con` from an edge list with the same ids
/// (`pre,post,weight` or any alias the edge loader accepts; the direction is ignored), or the
/// bundled worm's (`celegans`, when no such file exists): `(row i, row j, junction count)` and
/// the report of reading the file. Pairs with a neuron outside `con` (e.g. removed by a
/// selection) are dropped and counted as `deselected`; a file of which no pair is in `con` is an
/// error naming it. Self-pairs are dropped.
pub fn load_gap_junctions(path: &Path, con: &Connectome) -> Result<(Vec<GapPair>, LoadReport)> {
    let opts = LoadOptions::default();
    let (gj, mut report) = if path.to_str() == Some("celegans") && !path.exists() {
        csv_edges::load_embedded(
            "celegans-gap-junctions",
            include_bytes!("../../../../data/celegans_cook2019/gap_junctions.csv"),
            include_bytes!("../../../../data/celegans_cook2019/nodes.csv"),
            &opts,
        )?
    } else {
        load_csv(path, None, &opts)?
    };
    let index = con.index();
    let rp = gj.pattern.row_ptr();
    let mut pairs = Vec::with_capacity(gj.edges());
    for i in 0..gj.n() {
        for e in rp[i]..rp[i + 1] {
            let j = gj.pattern.col()[e] as usize;
            match (index.get(&gj.ids[i]), index.get(&gj.ids[j])) {
                (Some(&a), Some(&b)) => pairs.push((a, b, gj.counts[e])),
                _ => report.deselected += 1,
            }
        }
    }
    if pairs.is_empty() {
        return Err(crate::Error::format(
            path,
            "no gap junction joins two neurons of the connectome (are the ids the same?)",
        ));
    }
    Ok((pairs, report))
}
