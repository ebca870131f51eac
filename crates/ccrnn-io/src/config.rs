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

/// Reads a TOML file that must set something: an empty file (or one of comments only) is
/// refused, naming `what` it should have held, instead of running every default.
pub fn read_toml_required<T: DeserializeOwned>(path: &Path, what: &str) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let table: toml::Table = parse_toml(path, &text)?;
    if table.is_empty() {
        return Err(Error::format(
            path,
            format!("sets nothing: an empty {what} is refused (it would run every default)"),
        ));
    }
    parse_toml(path, &text)
}

/// Longest line of a parse error's message that is echoed whole (a source line is quoted).
const MESSAGE_LINE: usize = 160;

/// Parses TOML `text` (from `path`, for messages) into `T`. A UTF-8 byte-order mark at the
/// start is skipped; quoted source lines in errors are cut to a readable length.
pub fn parse_toml<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    toml::from_str(text).map_err(|e| {
        let msg: Vec<String> = e.to_string().trim_end().lines().map(shorten).collect();
        Error::format(path, msg.join("\n"))
    })
}

/// `line` cut to [`MESSAGE_LINE`] characters, saying how much was left out.
fn shorten(line: &str) -> String {
    let count = line.chars().count();
    if count <= MESSAGE_LINE {
        return line.to_string();
    }
    let head: String = line.chars().take(MESSAGE_LINE).collect();
    format!("{head}… ({} more characters)", count - MESSAGE_LINE)
}

/// Serialises `value` as TOML.
pub fn to_toml<T: Serialize>(value: &T) -> String {
    toml::to_string_pretty(value).expect("config types serialise to TOML")
}
