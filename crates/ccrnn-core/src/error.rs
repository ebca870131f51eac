//! Errors of the core: every one names the field, shape, step or neuron at fault.

/// Result with the core's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong, precisely enough to find it.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An array has the wrong shape.
    #[error("{what}: expected shape {expected}, got {got}")]
    Shape {
        /// Which array (`"W_in"`, `"target.data"`, …).
        what: String,
        /// The shape that was expected, e.g. `"2 × 300"`.
        expected: String,
        /// The shape that was given.
        got: String,
    },
    /// A value is out of its domain (non-positive τ, NaN gain, index out of range, …).
    #[error("{}", field_message(field, reason))]
    Invalid {
        /// The field, with the element index when there is one, e.g. `"tau[17]"`.
        field: String,
        /// Why it is rejected, e.g. `"= -1: must be > 0"`.
        reason: String,
    },
    /// The simulated state became NaN or infinite.
    #[error("simulation diverged at step {step} (trial {trial}, neuron {neuron} = {value})")]
    Diverged {
        /// Time step (0-based) at which the state first became non-finite.
        step: usize,
        /// Trial index in the batch.
        trial: usize,
        /// Neuron index.
        neuron: usize,
        /// The offending value (NaN or ±inf).
        value: f64,
    },
}

impl Error {
    /// Shorthand for [`Error::Invalid`].
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Shorthand for [`Error::Shape`], from shapes given as slices.
    pub fn shape(what: impl Into<String>, expected: &[usize], got: &[usize]) -> Self {
        Error::Shape {
            what: what.into(),
            expected: fmt_shape(expected),
            got: fmt_shape(got),
        }
    }
}

/// `field = value: why` when the reason starts with the value (`"= -1: must be > 0"`), else
/// `field: why`.
pub fn field_message(field: &str, reason: &str) -> String {
    if reason.starts_with("= ") {
        format!("{field} {reason}")
    } else {
        format!("{field}: {reason}")
    }
}

/// Formats a shape as `a × b × c`.
pub fn fmt_shape(s: &[usize]) -> String {
    s.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(" × ")
}

/// Checks that an array has the expected shape.
pub(crate) fn check_shape(what: &str, expected: &[usize], got: &[usize]) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::shape(what, expected, got))
    }
}

/// Checks that every value is finite, naming the first bad element.
pub(crate) fn check_finite<'a, F: crate::Real>(
    what: &str,
    values: impl IntoIterator<Item = &'a F, IntoIter: Clone>,
) -> Result<()> {
    let values = values.into_iter();
    // a branch-free pass first (it vectorises over contiguous data); locate only on failure
    if values.clone().fold(true, |ok, v| ok & v.is_finite()) {
        return Ok(());
    }
    match values.enumerate().find(|(_, v)| !v.is_finite()) {
        Some((k, v)) => Err(Error::invalid(format!("{what}[{k}]"), format!("= {v}: must be finite"))),
        None => Ok(()),
    }
}
