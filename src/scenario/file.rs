//! The scenario file as written: a serde mirror of the TOML with spans, so
//! that every later check can point at a line.
//!
//! Unknown fields are errors at every level. Nothing here checks meaning;
//! `scenario::resolve` does that.

use crate::error::{Error, Location, Result, line_of_offset};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use toml::Spanned;

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub title: Option<Spanned<String>>,
    pub description: Option<String>,
    pub extends: Option<Spanned<String>>,
    pub horizon: Option<HorizonFile>,
    pub run: Option<RunFile>,
    pub parameters: Option<BTreeMap<Spanned<String>, Spanned<f64>>>,
    pub entrants: Option<EntrantsFile>,
    pub events: Option<Vec<EventFile>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct HorizonFile {
    pub start: Option<Spanned<String>>,
    pub months: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RunFile {
    pub scale: Option<Spanned<f64>>,
    pub replications: Option<Spanned<i64>>,
    pub seed: Option<Spanned<i64>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EntrantsFile {
    pub wallet_mix: Option<Spanned<BTreeMap<String, f64>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventFile {
    pub month: Spanned<String>,
    pub kind: Spanned<String>,
    pub platform: Option<Spanned<String>>,
    pub wallet: Option<Spanned<String>>,
    pub phase_in: Option<Spanned<Vec<f64>>>,
    pub name: Option<Spanned<String>>,
    pub value: Option<Spanned<f64>>,
    pub utility: Option<Spanned<f64>>,
    pub months: Option<Spanned<i64>>,
    pub note: Option<String>,
}

/// A scenario file's text and its parsed mirror.
pub struct Parsed {
    pub text: String,
    pub file: ScenarioFile,
}

impl Parsed {
    pub fn read(path: &Path) -> Result<Parsed> {
        let bytes = std::fs::read(path).map_err(|e| Error::read(path, e))?;
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::input(
                Location { file: path.to_path_buf(), line: Some(line_of_offset(&String::from_utf8_lossy(e.as_bytes()), e.utf8_error().valid_up_to())), field: None },
                "UTF-8 text",
                "bytes that are not UTF-8",
            )
        })?;
        let file: ScenarioFile = toml::from_str(&text).map_err(|e| toml_error(path, &text, &e))?;
        Ok(Parsed { text, file })
    }

    /// The 1-based line of a span's start.
    pub fn line<T>(&self, s: &Spanned<T>) -> usize {
        line_of_offset(&self.text, s.span().start)
    }
}

/// Turns a TOML error into one that names the file, line and field.
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> Error {
    let line = e.span().map(|s| line_of_offset(text, s.start));
    let message = e.message().trim().to_string();
    let field = field_in_message(&message).or_else(|| line.and_then(|l| key_on_line(text, l)));
    let (expected, found) = if let Some(rest) = message.strip_prefix("unknown field ") {
        let (name, options) = rest.split_once(", expected ").unwrap_or((rest, "a documented field"));
        (options.to_string(), format!("unknown field {name}"))
    } else if let Some(name) = message.strip_prefix("missing field ") {
        (format!("a field {name}"), "none".to_string())
    } else if let Some((found, expected)) = message.split_once(", expected ") {
        (expected.to_string(), found.trim_start_matches("invalid type: ").trim_start_matches("invalid value: ").to_string())
    } else {
        ("valid TOML".to_string(), message.clone())
    };
    Error::input(Location { file: path.to_path_buf(), line, field }, expected, found)
}

fn field_in_message(message: &str) -> Option<String> {
    for prefix in ["unknown field `", "missing field `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return rest.split('`').next().map(str::to_string);
        }
    }
    None
}

/// The key assigned on a line (`key = value`) or the table a header opens.
pub fn key_on_line(text: &str, line: usize) -> Option<String> {
    let l = text.lines().nth(line.checked_sub(1)?)?.trim();
    if l.starts_with('[') {
        return Some(l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    }
    let (key, _) = l.split_once('=')?;
    let key = key.trim().trim_matches('"');
    (!key.is_empty()).then(|| key.to_string())
}
