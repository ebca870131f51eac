//! A wiring diagram as data: neuron identities, optional labels, presynaptic signs and synapse
//! counts on a sparse pattern `W[post, pre]` (the convention of every ccrnn type). Reading the
//! formats it comes in is `ccrnn-io`'s job; turning it into weights is [`Connectome::connectivity`].

use crate::{Connectivity, Error, Pattern, Real, Result};
use std::collections::HashMap;

/// A connectome: row `i` of every array is the neuron with body id `ids[i]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Connectome {
    /// Body ids (64-bit, never passed through a float), one per neuron, unique.
    pub ids: Vec<u64>,
    /// Optional type or class label per neuron (empty string: none).
    pub labels: Vec<String>,
    /// Optional name per neuron, as recordings label it (`AVAL`; empty string: none).
    pub names: Vec<String>,
    /// Presynaptic sign per neuron: +1 excitatory, −1 inhibitory, 0 unknown/unconstrained.
    pub signs: Vec<i8>,
    /// Which synapses exist, `W[post, pre]`.
    pub pattern: Pattern,
    /// Synapse count (or weight) of each pattern entry, canonical order, all > 0.
    pub counts: Vec<f64>,
}

impl Connectome {
    /// Builds a connectome from `(post, pre, count)` triplets over `ids.len()` neurons;
    /// duplicate pairs are summed. Fails on an index out of range, a non-finite or negative
    /// count, duplicate ids, or lengths that disagree.
    pub fn from_triplets(
        ids: Vec<u64>,
        labels: Vec<String>,
        signs: Vec<i8>,
        mut edges: Vec<(u32, u32, f64)>,
    ) -> Result<Self> {
        let n = ids.len();
        if labels.len() != n || signs.len() != n {
            return Err(Error::shape("labels/signs", &[n], &[labels.len().min(signs.len())]));
        }
        let mut seen = HashMap::with_capacity(n);
        for (i, &id) in ids.iter().enumerate() {
            if let Some(j) = seen.insert(id, i) {
                return Err(Error::invalid(
                    "ids",
                    format!("id {id} appears twice (rows {j} and {i})"),
                ));
            }
        }
        if let Some(&(i, j, c)) = edges
            .iter()
            .find(|(i, j, c)| *i as usize >= n || *j as usize >= n || !(c.is_finite() && *c >= 0.0))
        {
            return Err(Error::invalid(
                "edges",
                format!("edge ({i} ← {j}, {c}) is out of range or not a count >= 0"),
            ));
        }
        edges.sort_unstable_by_key(|&(i, j, _)| (i, j));
        let mut row_ptr = vec![0usize; n + 1];
        let mut col = Vec::with_capacity(edges.len());
        let mut counts = Vec::with_capacity(edges.len());
        let mut last: Option<(u32, u32)> = None;
        for (i, j, c) in edges {
            if c == 0.0 {
                continue;
            }
            if last == Some((i, j)) {
                *counts.last_mut().expect("merged into the previous entry") += c;
                continue;
            }
            col.push(j);
            counts.push(c);
            row_ptr[i as usize + 1] += 1;
            last = Some((i, j));
        }
        for i in 0..n {
            row_ptr[i + 1] += row_ptr[i];
        }
        Ok(Self {
            names: vec![String::new(); ids.len()],
            ids,
            labels,
            signs,
            pattern: Pattern::new(n, row_ptr, col)?,
            counts,
        })
    }

    /// The same connectome with neuron `names` (one per neuron).
    pub fn with_names(mut self, names: Vec<String>) -> Result<Self> {
        if names.len() != self.n() {
            return Err(Error::shape("names", &[self.n()], &[names.len()]));
        }
        self.names = names;
        Ok(self)
    }

    /// Number of neurons.
    pub fn n(&self) -> usize {
        self.ids.len()
    }

    /// Number of connected pairs (edges).
    pub fn edges(&self) -> usize {
        self.counts.len()
    }

    /// Total synapse count.
    pub fn synapses(&self) -> f64 {
        // an empty f64 sum is −0; counts are ≥ 0, so the total is too
        self.counts.iter().fold(0.0, |acc, c| acc + c)
    }

    /// Row of each body id.
    pub fn index(&self) -> HashMap<u64, usize> {
        self.ids.iter().enumerate().map(|(i, &id)| (id, i)).collect()
    }

    /// Weights `W[post, pre] = sign(pre) × scale × count` (sign 0 counts as +1 and leaves the
    /// synapse unconstrained).
    pub fn connectivity<F: Real>(&self, scale: f64) -> Result<Connectivity<F>> {
        let values = self
            .pattern
            .col()
            .iter()
            .zip(&self.counts)
            .map(|(&j, &c)| {
                let s = if self.signs[j as usize] < 0 { -1.0 } else { 1.0 };
                F::lit(s * scale * c)
            })
            .collect();
        let c = Connectivity {
            pattern: self.pattern.clone(),
            values,
            signs: self.signs.clone(),
        };
        c.validate()?;
        Ok(c)
    }

    /// The sub-connectome of the given rows (in the given order, re-indexed contiguously);
    /// synapses to or from other neurons are dropped.
    pub fn subset(&self, rows: &[usize]) -> Result<Self> {
        let n = self.n();
        let mut new_of = vec![u32::MAX; n];
        for (k, &i) in rows.iter().enumerate() {
            if i >= n {
                return Err(Error::invalid("subset", format!("row {i} is not in 0..{n}")));
            }
            new_of[i] = k as u32;
        }
        let mut edges = Vec::new();
        let rp = self.pattern.row_ptr();
        for (k, &i) in rows.iter().enumerate() {
            for e in rp[i]..rp[i + 1] {
                let j = self.pattern.col()[e] as usize;
                if new_of[j] != u32::MAX {
                    edges.push((k as u32, new_of[j], self.counts[e]));
                }
            }
        }
        Self::from_triplets(
            rows.iter().map(|&i| self.ids[i]).collect(),
            rows.iter().map(|&i| self.labels[i].clone()).collect(),
            rows.iter().map(|&i| self.signs[i]).collect(),
            edges,
        )?
        .with_names(rows.iter().map(|&i| self.names[i].clone()).collect())
    }
}
