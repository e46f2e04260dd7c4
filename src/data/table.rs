//! A CSV file read as a table of named columns, with errors that point at the
//! file, the line and the column.
//!
//! Data files are small (at most a few hundred rows), so they are read whole.
//! Every accessor returns a typed value or an `Error::Input` naming
//! `file:line: field` and saying what was expected.

use crate::error::{Error, Location, Result};
use std::path::{Path, PathBuf};

pub struct Table {
    path: PathBuf,
    headers: Vec<String>,
    rows: Vec<Row>,
}

pub struct Row {
    line: usize,
    fields: Vec<String>,
}

/// One row together with the table it belongs to, for typed access by column.
#[derive(Clone, Copy)]
pub struct RowRef<'a> {
    table: &'a Table,
    row: &'a Row,
}

impl Table {
    pub fn read(path: &Path, required: &[&str]) -> Result<Table> {
        let bytes = std::fs::read(path).map_err(|e| Error::read(path, e))?;
        Table::parse(path, &bytes, required)
    }

    /// Parses CSV bytes; `path` is used only to name the source in errors.
    pub fn parse(path: &Path, bytes: &[u8], required: &[&str]) -> Result<Table> {
        let mut reader = csv::ReaderBuilder::new().has_headers(true).flexible(false).from_reader(bytes);
        let headers: Vec<String> = reader.headers().map_err(|e| csv_error(path, bytes, e))?.iter().map(|h| h.trim().to_string()).collect();
        for name in required {
            if !headers.iter().any(|h| h == name) {
                return Err(Error::input(
                    Location::at(path, Some(1), *name),
                    format!("a header row with a `{name}` column"),
                    format!("columns [{}]", headers.join(", ")),
                ));
            }
        }
        // Lines are counted from the bytes: the csv crate's own line numbers
        // are off by one for files with CRLF line ends.
        let mut rows = Vec::new();
        let (mut counted_to, mut line) = (0usize, 1usize);
        for record in reader.records() {
            let record = record.map_err(|e| csv_error(path, bytes, e))?;
            // After a CRLF the record's position is the LF that ends the
            // previous line, so the byte at the position is counted too.
            let start = record.position().map(|p| p.byte() as usize + 1).unwrap_or(counted_to).min(bytes.len());
            line += bytes[counted_to.min(start)..start].iter().filter(|&&b| b == b'\n').count();
            counted_to = counted_to.max(start);
            rows.push(Row { line, fields: record.iter().map(|f| f.trim().to_string()).collect() });
        }
        Ok(Table { path: path.to_path_buf(), headers, rows })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    pub fn rows(&self) -> impl Iterator<Item = RowRef<'_>> {
        self.rows.iter().map(move |row| RowRef { table: self, row })
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn column(&self, name: &str) -> Option<usize> {
        self.headers.iter().position(|h| h == name)
    }
}

impl<'a> RowRef<'a> {
    pub fn line(&self) -> usize {
        self.row.line
    }

    pub fn location(&self, column: &str) -> Location {
        Location::at(&self.table.path, Some(self.row.line), column)
    }

    /// The raw text of a column ("" when the column is absent).
    pub fn text(&self, column: &str) -> &'a str {
        self.table.column(column).and_then(|i| self.row.fields.get(i)).map(String::as_str).unwrap_or("")
    }

    pub fn required_text(&self, column: &str) -> Result<&'a str> {
        let text = self.text(column);
        if text.is_empty() {
            return Err(Error::input(self.location(column), "a value", "an empty cell"));
        }
        Ok(text)
    }

    /// A finite number within `[min, max]`.
    pub fn number(&self, column: &str, min: f64, max: f64) -> Result<f64> {
        let text = self.text(column);
        let expected = || format!("a number between {min} and {max}");
        let value: f64 = text.parse().map_err(|_| {
            Error::input(self.location(column), expected(), if text.is_empty() { "an empty cell".into() } else { format!("`{text}`") })
        })?;
        if !value.is_finite() || value < min || value > max {
            return Err(Error::input(self.location(column), expected(), format!("`{text}`")));
        }
        Ok(value)
    }

    /// Like `number`, but an empty cell is `None`.
    pub fn optional_number(&self, column: &str, min: f64, max: f64) -> Result<Option<f64>> {
        if self.text(column).is_empty() { Ok(None) } else { self.number(column, min, max).map(Some) }
    }

    /// One of a fixed set of words.
    pub fn choice<T: Copy>(&self, column: &str, options: &[(&str, T)]) -> Result<T> {
        let text = self.text(column);
        options.iter().find(|(word, _)| *word == text).map(|(_, v)| *v).ok_or_else(|| {
            let words: Vec<&str> = options.iter().map(|(w, _)| *w).collect();
            Error::input(self.location(column), format!("one of {}", words.join(", ")), format!("`{text}`"))
        })
    }
}

fn csv_error(path: &Path, bytes: &[u8], e: csv::Error) -> Error {
    let line = e.position().map(|p| 1 + bytes[..(p.byte() as usize + 1).min(bytes.len())].iter().filter(|&&b| b == b'\n').count());
    let found = match e.kind() {
        csv::ErrorKind::UnequalLengths { expected_len, len, .. } => format!("a row with {len} fields where the header has {expected_len}"),
        csv::ErrorKind::Utf8 { .. } => "bytes that are not UTF-8 text".to_string(),
        _ => e.to_string(),
    };
    Error::input(Location { file: path.to_path_buf(), line, field: None }, "well-formed CSV", found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_line_and_column_of_a_bad_number() {
        let t = Table::parse(Path::new("x.csv"), b"a,b\n1,2\n3,oops\n", &["a", "b"]).unwrap();
        let rows: Vec<_> = t.rows().collect();
        assert_eq!(rows[0].number("b", 0.0, 10.0).unwrap(), 2.0);
        let err = rows[1].number("b", 0.0, 10.0).unwrap_err().to_string();
        assert_eq!(err, "x.csv:3: field `b`: expected a number between 0 and 10, found `oops`");
    }

    #[test]
    fn reports_missing_column_and_ragged_rows() {
        let err = Table::parse(Path::new("x.csv"), b"a\n1\n", &["a", "b"]).err().unwrap().to_string();
        assert!(err.starts_with("x.csv:1: field `b`"), "{err}");
        let err = Table::parse(Path::new("x.csv"), b"a,b\n1,2\n1\n", &[]).err().unwrap().to_string();
        assert!(err.contains("x.csv:3") && err.contains("1 fields"), "{err}");
    }
}
#[cfg(test)]
mod crlf {
    #[test]
    fn counts_lines_of_crlf_files() {
        for text in [&b"a,b\r\n1,oops\r\n2,x\r\n"[..], &b"a,b\n1,oops\n2,x\n"[..], &b"a,b\n1,oops\n2,x"[..]] {
            let t = super::Table::parse(std::path::Path::new("x.csv"), text, &[]).unwrap();
            let r: Vec<_> = t.rows().collect();
            assert_eq!((r[0].line(), r[1].line()), (2, 3));
        }
        let err = super::Table::parse(std::path::Path::new("x.csv"), b"a,b\r\n1,2\r\n3\r\n", &[]).err().unwrap().to_string();
        assert!(err.contains("x.csv:3"), "{err}");
    }
}
