//! Which neurons of a recording a fit uses: the one rule of the command line (`ccrnn fit`) and
//! of Python (`ccrnn.fit`), so that both accept the same recordings, choose the same neurons
//! and refuse the same inputs with the same words.
//!
//! A recording's `activity` has W columns. The model neuron of each column is
//!
//! 1. the recording's own `recorded` labels, when it has them (W distinct neurons `< N`);
//! 2. else, when W = N, neuron k for column k (a full-width recording, as `simulate` writes);
//! 3. else the neurons the user names (exactly W of them), which then label the columns.
//!
//! Of those, the fit uses the neurons the user names (all of them recorded), or M of them drawn
//! at random with the run's seed ([`crate::student::recording_order`] over the columns), or all.

use crate::student::recording_order;
use ccrnn_core::error::field_message;
use ccrnn_core::{NeuronSet, Seeds};

/// How an interface spells its choices, for the messages of [`select`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Spelling {
    /// The list of neurons (`--neurons`, `recorded`).
    pub neurons: &'static str,
    /// The number drawn at random, as written before its value (`--m `, `m = `).
    pub m: &'static str,
}

impl Spelling {
    /// `ccrnn fit`'s flags.
    pub const CLI: Spelling = Spelling {
        neurons: "--neurons",
        m: "--m ",
    };
    /// `ccrnn.fit`'s keyword arguments.
    pub const PYTHON: Spelling = Spelling {
        neurons: "recorded",
        m: "m = ",
    };
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Choice<'a> {
    /// These neurons (model indices).
    pub neurons: Option<&'a [usize]>,
    /// M neurons at random.
    pub m: Option<usize>,
    /// The run seed (the random draw is its [`Seeds::recorded_set`] stream).
    pub seed: u64,
}

/// The neurons a fit uses and where their data are.
#[derive(Debug, Clone, PartialEq)]
pub struct Selection {
    /// The fitted neurons, ascending.
    pub set: NeuronSet,
    /// `columns[k]`: the activity column of `set.indices()[k]`.
    pub columns: Vec<usize>,
}

/// Why [`select`] refused; the message names an array of the recording (the caller adds which
/// recording) or the user's choice, in the interface's [`Spelling`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The recording's arrays do not fit the model or each other.
    #[error("{0}")]
    Recording(String),
    /// The user's choice of neurons is not possible.
    #[error("{0}")]
    Choice(String),
}

/// Result of [`select`].
pub type Result<T> = std::result::Result<T, Refusal>;

fn refuse(field: &str, reason: String) -> Refusal {
    if field.starts_with('\'') {
        Refusal::Recording(field_message(field, &reason))
    } else {
        Refusal::Choice(field_message(field, &reason))
    }
}

/// Chooses the fitted neurons of a recording whose activity has `width` columns, for a model of
/// `n` neurons; `labels` are the recording's `recorded` array if it has one. Errors name the
/// recording's arrays (`'activity'`, `'recorded'`) or the user's choice in `spelling`.
pub fn select(
    n: usize,
    width: usize,
    labels: Option<&[usize]>,
    choice: Choice,
    spelling: Spelling,
) -> Result<Selection> {
    if let Some(list) = choice.neurons {
        let mut seen = std::collections::BTreeSet::new();
        if let Some(i) = list.iter().find(|&&i| !seen.insert(i)) {
            return Err(refuse(spelling.neurons, format!("neuron {i} is listed twice")));
        }
        if list.is_empty() {
            return Err(refuse(spelling.neurons, "empty: name at least one neuron".into()));
        }
        if choice.m.is_some() {
            return Err(refuse(
                spelling.neurons,
                format!("give {} or {}M, not both", spelling.neurons, spelling.m),
            ));
        }
    }
    let (cols, named_columns): (Vec<usize>, bool) = match (labels, choice.neurons) {
        (Some(l), _) => {
            if l.len() != width {
                return Err(refuse(
                    "'recorded'",
                    format!("names {} neurons, 'activity' has {width} columns", l.len()),
                ));
            }
            let mut seen = std::collections::BTreeSet::new();
            if let Some(&i) = l.iter().find(|&&i| i >= n || !seen.insert(i)) {
                let why = if i >= n {
                    format!("neuron {i} is out of range for a {n}-neuron model")
                } else {
                    format!("neuron {i} is listed twice")
                };
                return Err(refuse("'recorded'", why));
            }
            (l.to_vec(), false)
        }
        (None, _) if width == n => ((0..n).collect(), false),
        (None, Some(list)) if list.len() == width => (list.to_vec(), true),
        (None, Some(list)) => {
            return Err(refuse(
                spelling.neurons,
                format!(
                    "lists {} neurons but 'activity' has {width} columns (with no 'recorded' array, {} names the columns)",
                    list.len(),
                    spelling.neurons
                ),
            ));
        }
        (None, None) => {
            return Err(refuse(
                "'activity'",
                format!(
                    "{width} columns for a {n}-neuron model and no 'recorded' array naming them: name the columns' neurons with {}",
                    spelling.neurons
                ),
            ));
        }
    };
    // column_of[i]: the column of neuron i (a lookup, not a search: recordings can be 10⁵ wide)
    let mut column_of = vec![None; n];
    for (k, &c) in cols.iter().enumerate() {
        if let Some(slot) = column_of.get_mut(c) {
            *slot = Some(k);
        }
    }
    let chosen: Vec<usize> = match (choice.neurons, choice.m) {
        (Some(list), _) if !named_columns => {
            if let Some(i) = list.iter().find(|&&i| column_of.get(i).copied().flatten().is_none()) {
                return Err(refuse(spelling.neurons, format!("neuron {i} is not in the recording")));
            }
            list.to_vec()
        }
        (_, Some(k)) => {
            if k == 0 || k > cols.len() {
                return Err(refuse(
                    &format!("{}{k}", spelling.m),
                    format!("must be in 1..={} (the recorded neurons)", cols.len()),
                ));
            }
            recording_order(cols.len(), Seeds(choice.seed).recorded_set())[..k]
                .iter()
                .map(|&c| cols[c])
                .collect()
        }
        _ => cols.clone(),
    };
    let set = NeuronSet::nonempty(&chosen, n).map_err(|e| refuse(spelling.neurons, e.to_string()))?;
    let columns = set
        .indices()
        .iter()
        .map(|&i| column_of[i].expect("chosen from the columns"))
        .collect();
    Ok(Selection { set, columns })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(
        n: usize,
        width: usize,
        labels: Option<&[usize]>,
        neurons: Option<&[usize]>,
        m: Option<usize>,
    ) -> Result<Selection> {
        select(n, width, labels, Choice { neurons, m, seed: 3 }, Spelling::CLI)
    }

    #[test]
    fn columns_follow_the_labels_and_the_chosen_neurons() {
        // labelled columns, a subset chosen: its data columns in ascending neuron order
        let s = pick(10, 3, Some(&[7, 2, 5]), Some(&[5, 7]), None).unwrap();
        assert_eq!((s.set.indices(), &s.columns[..]), (&[5, 7][..], &[2, 0][..]));
        // full width without labels: column k is neuron k
        let s = pick(4, 4, None, Some(&[3, 1]), None).unwrap();
        assert_eq!((s.set.indices(), &s.columns[..]), (&[1, 3][..], &[1, 3][..]));
        // unlabelled narrow columns named by the list
        let s = pick(10, 2, None, Some(&[9, 4]), None).unwrap();
        assert_eq!((s.set.indices(), &s.columns[..]), (&[4, 9][..], &[1, 0][..]));
        // M at random is M of the recorded ones, nested across M
        let a = pick(10, 5, Some(&[0, 2, 4, 6, 8]), None, Some(2)).unwrap();
        let b = pick(10, 5, Some(&[0, 2, 4, 6, 8]), None, Some(4)).unwrap();
        assert!(a.set.indices().iter().all(|i| b.set.contains(*i) && i % 2 == 0));
    }

    #[test]
    fn refusals_name_the_array_or_the_choice() {
        let e = |r: Result<Selection>| r.unwrap_err().to_string();
        assert_eq!(
            e(pick(10, 3, None, None, None)),
            "'activity': 3 columns for a 10-neuron model and no 'recorded' array naming them: name the columns' neurons with --neurons"
        );
        assert_eq!(
            e(pick(10, 3, Some(&[1, 2, 3]), Some(&[4]), None)),
            "--neurons: neuron 4 is not in the recording"
        );
        assert_eq!(
            e(pick(10, 3, Some(&[1, 2, 3]), None, Some(4))),
            "--m 4: must be in 1..=3 (the recorded neurons)"
        );
        assert_eq!(
            e(pick(10, 3, Some(&[1, 2]), None, None)),
            "'recorded': names 2 neurons, 'activity' has 3 columns"
        );
        assert_eq!(
            e(pick(10, 2, Some(&[1, 1]), None, None)),
            "'recorded': neuron 1 is listed twice"
        );
        assert_eq!(
            e(pick(10, 2, None, Some(&[1, 1]), None)),
            "--neurons: neuron 1 is listed twice"
        );
        assert!(
            e(pick(10, 2, None, Some(&[1, 2, 3]), None))
                .starts_with("--neurons: lists 3 neurons but 'activity' has 2 columns")
        );
        assert!(e(pick(10, 2, Some(&[1, 12]), None, None)).contains("neuron 12 is out of range"));
    }
}
