//! Errors of fitting.

/// Result with the fitting [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong while fitting.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// An error of the model or simulation.
    #[error(transparent)]
    Core(#[from] ccrnn_core::Error),
    /// An error of the model or simulation at a given training step.
    #[error("training step {step}: {source}")]
    AtStep {
        /// Training step (0-based) at which it happened.
        step: u64,
        /// What happened.
        source: ccrnn_core::Error,
    },
    /// The loss or gradient became NaN or infinite.
    #[error("training diverged at step {step}: {what}")]
    Diverged {
        /// Training step (0-based).
        step: u64,
        /// What became non-finite, with its value.
        what: String,
    },
    /// A configuration value is out of range.
    #[error("{}", ccrnn_core::error::field_message(field, reason))]
    Config {
        /// The field, e.g. `fit.lr`.
        field: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A saved state does not belong to this problem.
    #[error("cannot resume: {0}")]
    Resume(String),
}

impl Error {
    /// Shorthand for [`Error::Config`].
    pub fn config(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Config {
            field: field.into(),
            reason: reason.into(),
        }
    }
}
