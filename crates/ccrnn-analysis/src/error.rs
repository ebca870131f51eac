//! Errors of ccrnn-analysis.

/// Result of ccrnn-analysis.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model-level error (bad shapes, divergence).
    #[error(transparent)]
    Core(#[from] ccrnn_core::Error),
    /// A decomposition failed to converge or a matrix is singular.
    #[error("{what}: {msg}")]
    Linalg {
        /// The computation.
        what: String,
        /// Why it failed.
        msg: String,
    },
    /// A setting is out of range.
    #[error("{field}: {msg}")]
    Invalid {
        /// The setting.
        field: String,
        /// Why.
        msg: String,
    },
}

impl Error {
    pub(crate) fn invalid(field: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Invalid {
            field: field.into(),
            msg: msg.into(),
        }
    }
    pub(crate) fn linalg(what: impl Into<String>, msg: impl std::fmt::Debug) -> Self {
        Error::Linalg {
            what: what.into(),
            msg: format!("{msg:?}"),
        }
    }
}
