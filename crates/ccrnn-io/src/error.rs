//! The error type of ccrnn-io: every message starts with the file it is about.

use std::path::{Path, PathBuf};

/// Result of ccrnn-io.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong, and in which file.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The operating system refused (missing file, permissions, full disk).
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is readable but its content is wrong (format, key, shape, value).
    #[error("{}: {msg}", path.display())]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong, naming the array, key, line or field.
        msg: String,
    },
    /// The file's content was read but does not make a valid model.
    #[error("{}: {source}", path.display())]
    Core {
        /// The file.
        path: PathBuf,
        /// The model-level problem.
        source: ccrnn_core::Error,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A content error on `path`.
    pub fn format(path: &Path, msg: impl Into<String>) -> Self {
        Error::Format {
            path: path.to_path_buf(),
            msg: msg.into(),
        }
    }

    /// A model-level error found while reading `path`.
    pub fn core(path: &Path, source: ccrnn_core::Error) -> Self {
        Error::Core {
            path: path.to_path_buf(),
            source,
        }
    }
}
