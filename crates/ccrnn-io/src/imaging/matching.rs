//! ROIs to model neurons, by label: a worm name (`AVAL`), a fly body id, or a row index, as
//! the model names its neurons; optionally through a table from ROI labels to neuron names.
//! Whatever does not match is reported, never silently dropped.

use crate::{Error, Result};
use serde::Serialize;
use std::collections::HashMap;
use std::path::Path;

/// Which ROI is which model neuron.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matching {
    /// `(ROI column, model neuron)` of every matched ROI, in ROI order.
    pub pairs: Vec<(usize, usize)>,
    /// Labels of ROIs that match no neuron.
    pub unmatched: Vec<String>,
    /// Labels of ROIs that match several neurons (e.g. a cell type): not used.
    pub ambiguous: Vec<String>,
    /// Model neurons that no ROI matches (the unrecorded ones).
    pub unrecorded: Vec<usize>,
}

impl Matching {
    /// Matches `rois` (one label per column, first translated by `table` if given) to the
    /// model's neurons named `neurons` (one key per row), ignoring case and surrounding
    /// blanks. Fails, listing examples of both sides, when nothing matches.
    pub fn new(
        rois: &[String],
        neurons: &[String],
        table: Option<&HashMap<String, String>>,
    ) -> std::result::Result<Self, String> {
        let key = |s: &str| s.trim().to_ascii_lowercase();
        let mut rows: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, n) in neurons.iter().enumerate() {
            rows.entry(key(n)).or_default().push(i);
        }
        let mut m = Matching {
            pairs: Vec::new(),
            unmatched: Vec::new(),
            ambiguous: Vec::new(),
            unrecorded: Vec::new(),
        };
        let mut taken = vec![None::<usize>; neurons.len()];
        for (c, label) in rois.iter().enumerate() {
            let name = match table {
                Some(t) => match t.get(&key(label)) {
                    Some(n) => n.as_str(),
                    None => {
                        m.unmatched.push(label.clone());
                        continue;
                    }
                },
                None => label.as_str(),
            };
            match rows.get(&key(name)).map(Vec::as_slice) {
                Some([i]) => {
                    if let Some(first) = taken[*i] {
                        return Err(format!(
                            "ROIs {:?} and {label:?} are both neuron {name:?}: a neuron can be recorded once",
                            rois[first]
                        ));
                    }
                    taken[*i] = Some(c);
                    m.pairs.push((c, *i));
                }
                Some(_) => m.ambiguous.push(label.clone()),
                None => m.unmatched.push(label.clone()),
            }
        }
        m.unrecorded = (0..neurons.len()).filter(|&i| taken[i].is_none()).collect();
        if m.pairs.is_empty() {
            let show = |v: &[String]| v.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
            return Err(format!(
                "no ROI label matches a neuron of the model (ROI labels: {}…; neurons: {}…){}",
                show(rois),
                show(neurons),
                if table.is_some() {
                    ""
                } else {
                    "; map them with a label table"
                }
            ));
        }
        Ok(m)
    }

    /// A one-paragraph account: matched, unmatched and ambiguous ROIs, unrecorded neurons.
    pub fn summary(&self, neurons: usize) -> String {
        let list = |v: &[String]| {
            let mut s = v.iter().take(12).cloned().collect::<Vec<_>>().join(", ");
            if v.len() > 12 {
                s.push_str(&format!(", … ({} more)", v.len() - 12));
            }
            s
        };
        let mut s = format!(
            "{} ROIs matched to neurons of the model; {} of its {neurons} neurons unrecorded",
            self.pairs.len(),
            self.unrecorded.len()
        );
        if !self.unmatched.is_empty() {
            s.push_str(&format!(
                "; {} ROIs match no neuron: {}",
                self.unmatched.len(),
                list(&self.unmatched)
            ));
        }
        if !self.ambiguous.is_empty() {
            s.push_str(&format!(
                "; {} ROIs match several neurons (not used): {}",
                self.ambiguous.len(),
                list(&self.ambiguous)
            ));
        }
        s
    }
}

/// Reads a label table: a CSV with a header and two columns, ROI label then neuron (label, id
/// or row index), e.g. `roi,neuron` / `cell_017,AVAL`. Keys are compared ignoring case.
pub fn read_label_table(path: &Path) -> Result<HashMap<String, String>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut r = csv::ReaderBuilder::new().trim(csv::Trim::All).from_reader(file);
    let mut out = HashMap::new();
    for (k, rec) in r.records().enumerate() {
        let line = k + 2;
        let rec = rec.map_err(|e| Error::format(path, format!("line {line}: {e}")))?;
        if rec.len() != 2 || rec[0].is_empty() || rec[1].is_empty() {
            return Err(Error::format(
                path,
                format!("line {line}: expected two fields, ROI label and neuron"),
            ));
        }
        if out.insert(rec[0].to_ascii_lowercase(), rec[1].to_string()).is_some() {
            return Err(Error::format(
                path,
                format!("line {line}: ROI {:?} listed twice", &rec[0]),
            ));
        }
    }
    if out.is_empty() {
        return Err(Error::format(
            path,
            "no rows (expected a header, then ROI label,neuron rows)",
        ));
    }
    Ok(out)
}
