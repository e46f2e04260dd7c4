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
    /// Ranges for uncertainty and sensitivity analyses: a number fixes a
    /// parameter, `[low, high]` narrows its plausible range.
    pub uncertainty: Option<BTreeMap<Spanned<String>, Spanned<toml::Value>>>,
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
        Parsed::from_bytes(path, bytes)
    }

    /// Parses the bytes of a scenario file; `path` only names it in errors.
    pub fn from_bytes(path: &Path, bytes: Vec<u8>) -> Result<Parsed> {
        let text = String::from_utf8(bytes).map_err(|e| {
            Error::input(
                Location {
                    file: path.to_path_buf(),
                    line: Some(line_of_offset(&String::from_utf8_lossy(e.as_bytes()), e.utf8_error().valid_up_to())),
                    field: None,
                },
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
    let field = field_in_message(&message)
        .map(|f| qualify(text, e.span().map(|s| s.start).unwrap_or(0), &f))
        .or_else(|| e.span().and_then(|s| field_at(text, s.start)));
    let (expected, found) = if let Some(rest) = message.strip_prefix("unknown field ") {
        let (name, options) = rest.split_once(", expected ").unwrap_or((rest, "a documented field"));
        (options.to_string(), format!("unknown field {name}"))
    } else if let Some(name) = message.strip_prefix("missing field ") {
        (format!("a field {name}"), "none".to_string())
    } else if let Some((found, expected)) = message.split_once(", expected ") {
        (plain_type(expected), plain_type(found.trim_start_matches("invalid type: ").trim_start_matches("invalid value: ")))
    } else {
        ("valid TOML".to_string(), message.clone())
    };
    Error::input(Location { file: path.to_path_buf(), line, field }, expected, found)
}

/// Replaces Rust type names in serde's messages with words.
fn plain_type(text: &str) -> String {
    let text = text.trim_end_matches(" as i128").trim_end_matches(" as u128").trim_end_matches(" as i64");
    let words = [
        ("i64", "a whole number"),
        ("u64", "a whole number"),
        ("i128", "a whole number"),
        ("f64", "a number"),
        ("a sequence", "a list"),
        ("a map", "a table"),
    ];
    words.iter().fold(text.to_string(), |t, (from, to)| t.replace(from, to))
}

fn field_in_message(message: &str) -> Option<String> {
    for prefix in ["unknown field `", "missing field `"] {
        if let Some(rest) = message.strip_prefix(prefix) {
            return rest.split('`').next().map(str::to_string);
        }
    }
    None
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.' || c == '"'
}

/// The key whose value holds byte `offset`, qualified by its table
/// (`horizon.months`, `events.platform`): the nearest `key =` before the
/// offset on its line (inline tables included), else the key of the line
/// itself (a key without `=`), else the nearest earlier line that assigns a
/// key (multi-line arrays).
pub fn field_at(text: &str, offset: usize) -> Option<String> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let before = &text[line_start..offset];
    if let Some(eq) = before.rfind('=') {
        let key: String =
            before[..eq].trim_end().chars().rev().take_while(|&c| is_key_char(c)).collect::<Vec<_>>().into_iter().rev().collect();
        let key = key.trim_matches('"').to_string();
        if !key.is_empty() {
            return Some(qualify(text, offset, &key));
        }
    }
    let line_end = text[offset..].find('\n').map(|i| offset + i).unwrap_or(text.len());
    let own = text[line_start..line_end].trim();
    if own.starts_with('[') {
        let table = own.trim_start_matches('[').split(']').next().unwrap_or("").trim();
        return (!table.is_empty()).then(|| table.to_string());
    }
    if own.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        let key: String = own.chars().take_while(|&c| is_key_char(c)).collect();
        return Some(qualify(text, offset, key.trim_matches('"')));
    }
    for l in text[..line_start].lines().rev() {
        let l = l.trim();
        if l.starts_with('[') {
            break;
        }
        if let Some((key, _)) = l.split_once('=') {
            return Some(qualify(text, offset, key.trim().trim_matches('"')));
        }
    }
    None
}

/// Prefixes `key` with the table it sits in: the nearest `[table]` or
/// `[[table]]` header above `offset`, or the key of an inline table opened
/// earlier on the same line.
fn qualify(text: &str, offset: usize, key: &str) -> String {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let before = &text[line_start..offset];
    if let Some(brace) = before.find('{') {
        if let Some((outer, _)) = before[..brace].split_once('=') {
            let outer = outer.trim().trim_matches('"');
            if !outer.is_empty() && outer != key {
                return format!("{outer}.{key}");
            }
        }
    }
    let header = text[..line_start].lines().rev().map(str::trim).find(|l| l.starts_with('['));
    match header {
        Some(h) if !key.contains('.') => {
            let table = h.trim_start_matches('[').split(']').next().unwrap_or("").trim();
            if table.is_empty() { key.to_string() } else { format!("{table}.{key}") }
        }
        _ => key.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_field_of_an_offset() {
        let t = "title = \"x\"\n[horizon]\nmonths = \"thirty\"\n[[events]]\nphase_in = [\n  0.4,\n  \"most\",\n]\n[run]\nscale 1000\nh = { start = \"a\", months = \"b\" }\n";
        let at = |needle: &str| field_at(t, t.find(needle).unwrap());
        assert_eq!(at("\"thirty\"").as_deref(), Some("horizon.months"));
        assert_eq!(at("\"most\"").as_deref(), Some("events.phase_in"));
        assert_eq!(at("1000").as_deref(), Some("run.scale"));
        assert_eq!(at("\"b\"").as_deref(), Some("h.months"));
        assert_eq!(at("\"x\"").as_deref(), Some("title"));
        assert_eq!(at("[run]").as_deref(), Some("run"));
    }
}
