//! Errors of the lab.

/// Result with the lab's [`Error`].
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong while building a teacher or running an experiment.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Error {
    /// A model or simulation error.
    #[error(transparent)]
    Core(#[from] ccrnn_core::Error),
    /// A fitting error.
    #[error(transparent)]
    Fit(#[from] ccrnn_fit::Error),
    /// A specification value is out of range.
    #[error("{}", ccrnn_core::error::field_message(field, reason))]
    Spec {
        /// The field.
        field: String,
        /// Why it is rejected.
        reason: String,
    },
    /// A file could not be read or written (the message names it).
    #[error("{0}")]
    File(String),
    /// A sweep directory or task list is inconsistent (the message says how).
    #[error("{0}")]
    Sweep(String),
    /// No stable network was found.
    #[error("no stable network after {tries} draws (largest real eigenvalue of the last: {last:.3})")]
    Unstable {
        /// Number of draws tried.
        tries: usize,
        /// Largest real part of the last draw's linearisation.
        last: f64,
    },
}

impl Error {
    /// Shorthand for [`Error::Spec`].
    pub fn spec(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Error::Spec {
            field: field.into(),
            reason: reason.into(),
        }
    }
}

impl From<ccrnn_io::Error> for Error {
    fn from(e: ccrnn_io::Error) -> Self {
        Error::File(e.to_string())
    }
}
