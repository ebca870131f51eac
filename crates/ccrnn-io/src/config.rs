//! TOML configuration files: unknown keys and wrong types are errors naming the file, the
//! line and the key (the config types use `#[serde(deny_unknown_fields)]`).

use crate::{Error, Result};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::path::Path;

/// Reads and parses a TOML file into `T`.
pub fn read_toml<T: DeserializeOwned>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    parse_toml(path, &text)
}

/// Parses TOML `text` (from `path`, for messages) into `T`.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    toml::from_str(text).map_err(|e| Error::format(path, e.to_string().trim_end().to_string()))
}

/// Serialises `value` as TOML.
pub fn to_toml<T: Serialize>(value: &T) -> String {
    toml::to_string_pretty(value).expect("config types serialise to TOML")
}
