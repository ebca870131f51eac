//! Edge lists and node tables in CSV (plain or gzip), with the column names of every
//! community format.

use super::signs::Transmitter;
use super::{LoadOptions, LoadReport};
use crate::{Error, Result, sha256_file};
use ccrnn_core::Connectome;
use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

/// Column aliases: the first present is used.
const PRE: &[&str] = &[
    "pre_root_id",
    "pre_pt_root_id",
    "bodyId_pre",
    "body_pre",
    "source",
    "pre",
];
const POST: &[&str] = &[
    "post_root_id",
    "post_pt_root_id",
    "bodyId_post",
    "body_post",
    "target",
    "post",
];
const WEIGHT: &[&str] = &["syn_count", "weight", "count"];
const TRANSMITTER: &[&str] = &["nt_type", "transmitter", "neurotransmitter", "nt"];
const SIGN: &[&str] = &["sign"];
const NODE_ID: &[&str] = &["node_id", "root_id", "bodyId", "body_id", "id"];
const LABEL: &[&str] = &["super_class", "cell_type", "type", "class", "label", "instance"];
/// Column names of a neuron's own name (how recordings label it, e.g. `AVAL`).
const NAME: &[&str] = &["name", "neuron_name", "neuron"];

/// A CSV file with named columns.
struct Table {
    path: std::path::PathBuf,
    reader: csv::Reader<Box<dyn Read>>,
    headers: Vec<String>,
}

impl Table {
    fn open(path: &Path) -> Result<Self> {
        Self::from_reader(path, super::open_text(path)?)
    }

    /// A table read from `input`; `path` names it in messages.
    fn from_reader(path: &Path, input: Box<dyn Read>) -> Result<Self> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(input);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| csv_error(path, e))?
            .iter()
            .map(|h| h.trim_start_matches('\u{feff}').trim().to_string())
            .collect();
        if headers.iter().all(|h| h.is_empty()) {
            return Err(Error::format(path, "empty file: no header line"));
        }
        Ok(Self {
            path: path.to_path_buf(),
            reader,
            headers,
        })
    }

    fn column(&self, aliases: &[&str]) -> Option<usize> {
        aliases
            .iter()
            .find_map(|a| self.headers.iter().position(|h| h.eq_ignore_ascii_case(a)))
    }

    fn require(&self, what: &str, aliases: &[&str]) -> Result<usize> {
        self.column(aliases).ok_or_else(|| {
            Error::format(
                &self.path,
                format!(
                    "missing column '{what}' (one of {}; the header has {})",
                    aliases.join(", "),
                    self.headers.join(", ")
                ),
            )
        })
    }
}

fn csv_error(path: &Path, e: csv::Error) -> Error {
    let line = e.position().map(|p| format!("line {}: ", p.line())).unwrap_or_default();
    match e.kind() {
        csv::ErrorKind::Io(io) => Error::format(
            path,
            format!("{line}cannot read further ({io}); a truncated or corrupt gzip file?"),
        ),
        _ => Error::format(path, format!("{line}{e}")),
    }
}

fn field_err(path: &Path, line: u64, col: &str, msg: String) -> Error {
    Error::format(path, format!("line {line}, column '{col}': {msg}"))
}

fn parse_id(path: &Path, line: u64, col: &str, s: &str) -> Result<u64> {
    s.trim().parse::<u64>().map_err(|_| {
        field_err(
            path,
            line,
            col,
            format!("expected a non-negative integer id, got {s:?}"),
        )
    })
}

fn parse_count(path: &Path, line: u64, col: &str, s: &str) -> Result<f64> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| field_err(path, line, col, format!("expected a number, got {s:?}")))?;
    if !v.is_finite() {
        return Err(field_err(path, line, col, format!("{s:?} is not finite")));
    }
    if v < 0.0 {
        return Err(field_err(path, line, col, format!("negative count {s}")));
    }
    Ok(v)
}

fn parse_sign(path: &Path, line: u64, s: &str) -> Result<Option<i8>> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "1" | "+1" | "+" | "e" | "exc" | "excitatory" => Ok(Some(1)),
        "-1" | "-" | "i" | "inh" | "inhibitory" => Ok(Some(-1)),
        "0" => Ok(Some(0)),
        other => Err(field_err(
            path,
            line,
            "sign",
            format!("expected +1, -1 or 0, got {other:?}"),
        )),
    }
}

/// A node table: ids in file order, labels, names and per-neuron signs if given.
struct Nodes {
    ids: Vec<u64>,
    labels: Vec<String>,
    names: Vec<String>,
    signs: Vec<Option<i8>>,
}

fn read_nodes(mut t: Table, opts: &LoadOptions) -> Result<Nodes> {
    let path = t.path.clone();
    let path = path.as_path();
    let id_col = t.require("id", NODE_ID)?;
    let label_col = t.column(LABEL);
    let name_col = t.column(NAME);
    let nt_col = t.column(TRANSMITTER);
    let sign_col = t.column(SIGN);
    let mut out = Nodes {
        ids: Vec::new(),
        labels: Vec::new(),
        names: Vec::new(),
        signs: Vec::new(),
    };
    let mut first_line: HashMap<u64, u64> = HashMap::new();
    let mut rec = csv::StringRecord::new();
    loop {
        match t.reader.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(path, e)),
        }
        let line = rec.position().map_or(0, |p| p.line());
        let id = parse_id(path, line, NODE_ID[0], rec.get(id_col).unwrap_or(""))?;
        if let Some(prev) = first_line.insert(id, line) {
            return Err(field_err(
                path,
                line,
                "id",
                format!("duplicate node id {id} (first on line {prev})"),
            ));
        }
        out.ids.push(id);
        out.labels
            .push(label_col.and_then(|c| rec.get(c)).unwrap_or("").trim().to_string());
        out.names
            .push(name_col.and_then(|c| rec.get(c)).unwrap_or("").trim().to_string());
        let sign = match (sign_col, nt_col) {
            (Some(c), _) => parse_sign(path, line, rec.get(c).unwrap_or(""))?,
            (None, Some(c)) => {
                let nt = Transmitter::parse(rec.get(c).unwrap_or(""))
                    .map_err(|m| field_err(path, line, "transmitter", m))?;
                nt.map(|t| opts.signs.sign(Some(t)))
            }
            (None, None) => None,
        };
        out.signs.push(sign);
    }
    if out.ids.is_empty() {
        return Err(Error::format(path, "empty node table: no rows"));
    }
    Ok(out)
}

/// Loads an edge-list CSV (`edges`) with an optional node table (`nodes`).
pub fn load_csv(edges: &Path, nodes: Option<&Path>, opts: &LoadOptions) -> Result<(Connectome, LoadReport)> {
    let mut files = vec![sha256_file(edges)?];
    if let Some(p) = nodes {
        files.push(sha256_file(p)?);
    }
    let node_table = nodes.map(Table::open).transpose()?;
    load_tables(Table::open(edges)?, node_table, files, opts)
}

/// A bundled edge list and node table (`name` for messages and provenance).
pub(crate) fn load_embedded(
    name: &str,
    edges: &'static [u8],
    nodes: &'static [u8],
    opts: &LoadOptions,
) -> Result<(Connectome, LoadReport)> {
    let file = |part: &str, bytes: &'static [u8]| super::embedded_file(&format!("builtin:{name}/{part}"), bytes);
    let files = vec![file("edges.csv", edges), file("nodes.csv", nodes)];
    let table = |part: &str, bytes: &'static [u8]| {
        Table::from_reader(
            Path::new(&format!("builtin:{name}/{part}")),
            Box::new(std::io::Cursor::new(bytes)),
        )
    };
    load_tables(
        table("edges.csv", edges)?,
        Some(table("nodes.csv", nodes)?),
        files,
        opts,
    )
}

fn load_tables(
    mut t: Table,
    node_table: Option<Table>,
    files: Vec<crate::InputFile>,
    opts: &LoadOptions,
) -> Result<(Connectome, LoadReport)> {
    let mut report = LoadReport {
        files,
        ..LoadReport::default()
    };
    let nodes_name = node_table.as_ref().map(|n| n.path.display().to_string());
    let node_table = node_table.map(|n| read_nodes(n, opts)).transpose()?;
    let edges_path = t.path.clone();
    let edges = edges_path.as_path();
    let pre_col = t.require("pre", PRE)?;
    let post_col = t.require("post", POST)?;
    let w_col = t.require("weight", WEIGHT)?;
    let nt_col = t.column(TRANSMITTER);
    let sign_col = t.column(SIGN);
    let (pre_name, post_name, w_name) = (
        t.headers[pre_col].clone(),
        t.headers[post_col].clone(),
        t.headers[w_col].clone(),
    );

    // Pass 1: rows → (post id, pre id) pairs with summed counts; per-pre sign votes.
    let mut pairs: HashMap<(u64, u64), f64> = HashMap::new();
    let mut order: Vec<(u64, u64)> = Vec::new();
    let neuropil_col = t.column(&["neuropil"]);
    if !opts.neuropils.is_empty() && neuropil_col.is_none() {
        return Err(Error::format(
            edges,
            format!("no 'neuropil' column to select {} from", opts.neuropils.join(", ")),
        ));
    }
    let mut votes: HashMap<u64, [f64; 3]> = HashMap::new();
    let mut neuropils_seen: std::collections::BTreeSet<String> = Default::default();
    let mut rec = csv::StringRecord::new();
    let mut lines: HashMap<u64, u64> = HashMap::new();
    loop {
        match t.reader.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(csv_error(edges, e)),
        }
        report.rows += 1;
        let line = rec.position().map_or(0, |p| p.line());
        let pre = parse_id(edges, line, &pre_name, rec.get(pre_col).unwrap_or(""))?;
        let post = parse_id(edges, line, &post_name, rec.get(post_col).unwrap_or(""))?;
        let w = parse_count(edges, line, &w_name, rec.get(w_col).unwrap_or(""))?;
        if let Some(c) = neuropil_col
            && !opts.neuropils.is_empty()
        {
            let here = rec.get(c).unwrap_or("").trim();
            if !neuropils_seen.contains(here) {
                neuropils_seen.insert(here.to_string());
            }
            if !opts.neuropils.iter().any(|n| n.eq_ignore_ascii_case(here)) {
                report.outside_neuropils += 1;
                continue;
            }
        }
        lines.entry(pre).or_insert(line);
        lines.entry(post).or_insert(line);
        let sign = match (sign_col, nt_col) {
            (Some(c), _) => parse_sign(edges, line, rec.get(c).unwrap_or(""))?,
            (None, Some(c)) => {
                let nt = Transmitter::parse(rec.get(c).unwrap_or(""))
                    .map_err(|m| field_err(edges, line, "transmitter", m))?;
                nt.map(|tr| opts.signs.sign(Some(tr)))
            }
            (None, None) => None,
        };
        if let Some(s) = sign {
            votes.entry(pre).or_insert([0.0; 3])[(s + 1) as usize] += w.max(1e-12);
        }
        match pairs.get_mut(&(post, pre)) {
            Some(c) => {
                *c += w;
                report.merged_rows += 1;
            }
            None => {
                pairs.insert((post, pre), w);
                order.push((post, pre));
            }
        }
    }
    if report.rows == 0 {
        return Err(Error::format(edges, "empty file: no edges"));
    }
    if let Some(absent) = opts
        .neuropils
        .iter()
        .find(|n| !neuropils_seen.iter().any(|s| s.eq_ignore_ascii_case(n)))
    {
        let known: Vec<&str> = neuropils_seen.iter().map(String::as_str).collect();
        let shown = known.len().min(40);
        return Err(Error::format(
            edges,
            format!(
                "--neuropil {absent}: no row has this neuropil (the file's {}: {}{})",
                known.len(),
                known[..shown].join(", "),
                if shown < known.len() { ", …" } else { "" }
            ),
        ));
    }

    // Neurons: the node table's, or every id of the edge list in ascending order.
    let (ids, labels, names, table_signs) = match node_table {
        Some(n) => (n.ids, n.labels, n.names, n.signs),
        None => {
            let mut ids: Vec<u64> = lines.keys().copied().collect();
            ids.sort_unstable();
            let k = ids.len();
            (ids, vec![String::new(); k], vec![String::new(); k], vec![None; k])
        }
    };
    let index: HashMap<u64, usize> = ids.iter().enumerate().map(|(i, &id)| (id, i)).collect();
    let mut filter = super::Filter::new(ids.len());
    for (post, pre) in order {
        let c = pairs[&(post, pre)];
        let look = |id: u64| {
            index.get(&id).copied().ok_or_else(|| {
                Error::format(
                    edges,
                    format!(
                        "line {}: neuron {id} is not in the node table {}",
                        lines[&id],
                        nodes_name.clone().unwrap_or_default()
                    ),
                )
            })
        };
        let (i, j) = (look(post)?, look(pre)?);
        filter.pair(i, j, c, opts, &mut report);
    }
    let triplets = filter.finish(&mut report);
    let signs: Vec<i8> = ids
        .iter()
        .zip(&table_signs)
        .map(|(id, ts)| {
            ts.or_else(|| {
                votes.get(id).map(|v| {
                    let k = (0..3).max_by(|&a, &b| v[a].total_cmp(&v[b])).expect("three");
                    k as i8 - 1
                })
            })
            .unwrap_or(opts.signs.unknown)
        })
        .collect();
    report.mixed_sign = ids
        .iter()
        .zip(&table_signs)
        .filter(|(id, ts)| ts.is_none() && votes.get(id).is_some_and(|v| v[0] > 0.0 && v[2] > 0.0))
        .count();
    report.unknown_sign = ids
        .iter()
        .zip(&table_signs)
        .filter(|(id, ts)| ts.is_none() && !votes.contains_key(id))
        .count();
    let c = Connectome::from_triplets(ids, labels, signs, triplets)
        .and_then(|c| c.with_names(names))
        .map_err(|e| Error::core(edges, e))?;
    Ok((c, report))
}
