//! Sets of neurons (matrix rows), e.g. the recorded neurons.

use crate::{Error, Result};

/// A sorted, deduplicated set of neuron indices (rows of `W`), all `< n`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NeuronSet {
    idx: Vec<usize>,
}

impl NeuronSet {
    /// Builds a set (possibly empty) from indices in any order; rejects an index `>= n`.
    /// Duplicates are merged.
    pub fn new(indices: &[usize], n: usize) -> Result<Self> {
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            return Err(Error::invalid(
                "recorded",
                format!("neuron index {bad} out of range (network has {n} neurons)"),
            ));
        }
        let mut idx = indices.to_vec();
        idx.sort_unstable();
        idx.dedup();
        Ok(Self { idx })
    }

    /// As [`NeuronSet::new`], and rejects an empty set (a fit needs a recorded neuron).
    pub fn nonempty(indices: &[usize], n: usize) -> Result<Self> {
        if indices.is_empty() {
            return Err(Error::invalid("recorded", "empty set: record at least one neuron"));
        }
        Self::new(indices, n)
    }

    /// The indices, ascending.
    pub fn indices(&self) -> &[usize] {
        &self.idx
    }

    /// Number of neurons in the set.
    pub fn len(&self) -> usize {
        self.idx.len()
    }

    /// True when the set is empty.
    pub fn is_empty(&self) -> bool {
        self.idx.is_empty()
    }

    /// The neurons of `0..n` not in this set, ascending.
    pub fn complement(&self, n: usize) -> NeuronSet {
        let mut inside = vec![false; n];
        for &i in &self.idx {
            inside[i] = true;
        }
        NeuronSet {
            idx: (0..n).filter(|&i| !inside[i]).collect(),
        }
    }

    /// True when `i` is in the set.
    pub fn contains(&self, i: usize) -> bool {
        self.idx.binary_search(&i).is_ok()
    }
}
