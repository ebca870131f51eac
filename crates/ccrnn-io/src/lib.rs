//! File formats and run directories of ccrnn.
//!
//! Owns: models and recordings as NumPy `.npz`/`.npy` ([`model_file`], [`recording`]), TOML
//! configuration files with unknown keys rejected ([`config`]), atomic writes ([`atomic`]) and
//! run directories with provenance ([`run_dir`]), and memory estimates
//! checked before large allocations ([`memory`]). Does no model maths and prints nothing.
//!
//! Array layout in every file ccrnn reads or writes: `trials × time × neurons` (NumPy shape
//! `(B, T, N)`), the layout of `ccrnn-core`; recordings in `time × trials × neurons` are read
//! with [`Layout::TimeMajor`].
#![deny(missing_docs)]

pub mod atomic;
pub mod config;
pub mod connectome;
mod error;
pub mod imaging;
pub mod memory;
pub mod model_file;
pub mod npz;
pub mod out_dir;
pub mod recording;
pub mod run_dir;

pub use atomic::{write_atomic, write_atomic_with};
pub use config::{read_toml, to_toml};
pub use connectome::{LoadOptions, LoadReport, Source, load_connectome};
pub use error::{Error, Result};
pub use imaging::{Imaging, Matching, ReadOptions, read_imaging};
pub use model_file::{ModelFile, load_model, save_model, save_model_with_ids};
pub use recording::{Layout, Recording, load_recording, load_stimulus, save_trajectory};
pub use run_dir::{InputFile, Meta, RunDir, sha256_file};
