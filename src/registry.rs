//! The parameter registry: every number the model assumes, with its unit,
//! default, valid range, plausible range, prior shape and source.
//!
//! One registry drives validation of scenario overrides, the model
//! documentation, the report's assumptions appendix and (later) the priors of
//! uncertainty and sensitivity runs. It is read from `data/parameters.csv`
//! and extended with the labelled figures of the other data files
//! (platform GMV and order values, calibration targets), so an assumption
//! made in any data file can be overridden and varied by name.

use crate::data::table::Table;
use crate::error::{Error, Location, Result};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Prior {
    Uniform,
    /// Triangular on [low, high] with its mode at the default.
    Triangular,
    /// Normal with mean at the default and sd = (high - low) / 4, truncated to [low, high].
    Normal,
}

impl Prior {
    pub fn id(self) -> &'static str {
        match self {
            Prior::Uniform => "uniform",
            Prior::Triangular => "triangular",
            Prior::Normal => "normal",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ParamSpec {
    pub name: String,
    pub unit: String,
    pub default: f64,
    /// Valid domain: values outside it are rejected.
    pub min: f64,
    pub max: f64,
    /// Plausible range: what uncertainty and sensitivity analyses vary over.
    pub low: f64,
    pub high: f64,
    pub prior: Prior,
    /// Evidence class: data, ESTIMATE, SECONDARY, derived, literature, assumption, numerical...
    pub label: String,
    pub description: String,
    pub source: String,
}

impl ParamSpec {
    pub fn is_assumption(&self) -> bool {
        self.label.eq_ignore_ascii_case("assumption")
    }
}

#[derive(Debug, Clone, Default)]
pub struct Registry {
    specs: Vec<ParamSpec>,
}

/// A value for every registry entry: the defaults, then scenario overrides.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Values(BTreeMap<String, f64>);

impl Registry {
    pub const COLUMNS: [&'static str; 11] =
        ["name", "unit", "default", "min", "max", "low", "high", "prior", "label", "description", "source"];

    /// Reads the registry from a table with `Registry::COLUMNS`.
    pub fn from_table(table: &Table) -> Result<Registry> {
        let mut registry = Registry::default();
        for row in table.rows() {
            let name = row.required_text("name")?.to_string();
            let min = row.number("min", f64::MIN, f64::MAX)?;
            let max = row.number("max", min, f64::MAX)?;
            let default = row.number("default", min, max)?;
            let low = row.number("low", min, max)?;
            let high = row.number("high", low, max)?;
            if default < low || default > high {
                return Err(Error::input(
                    row.location("default"),
                    format!("a default inside the plausible range [{low}, {high}]"),
                    format!("{default}"),
                ));
            }
            let prior =
                row.choice("prior", &[("uniform", Prior::Uniform), ("triangular", Prior::Triangular), ("normal", Prior::Normal)])?;
            let spec = ParamSpec {
                name,
                unit: row.required_text("unit")?.to_string(),
                default,
                min,
                max,
                low,
                high,
                prior,
                label: row.required_text("label")?.to_string(),
                description: row.required_text("description")?.to_string(),
                source: row.required_text("source")?.to_string(),
            };
            registry.add(spec, row.location("name"))?;
        }
        Ok(registry)
    }

    /// Adds an entry; a name may appear once.
    pub fn add(&mut self, spec: ParamSpec, at: Location) -> Result<()> {
        if self.get(&spec.name).is_some() {
            return Err(Error::input(at, "a parameter name not used before", format!("a second `{}`", spec.name)));
        }
        self.specs.push(spec);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&ParamSpec> {
        self.specs.iter().find(|s| s.name == name)
    }

    pub fn specs(&self) -> &[ParamSpec] {
        &self.specs
    }

    pub fn defaults(&self) -> Values {
        Values(self.specs.iter().map(|s| (s.name.clone(), s.default)).collect())
    }

    /// Checks that `value` may be given to `name`; the error text says why not.
    pub fn check(&self, name: &str, value: f64) -> std::result::Result<(), (String, String)> {
        let spec = self.get(name).ok_or_else(|| {
            (format!("a parameter from the registry (see docs/MODEL.md): {}", self.names_hint(name)), format!("`{name}`"))
        })?;
        if !value.is_finite() || value < spec.min || value > spec.max {
            return Err((format!("a value of `{name}` between {} and {} ({})", spec.min, spec.max, spec.unit), format!("{value}")));
        }
        Ok(())
    }

    fn names_hint(&self, name: &str) -> String {
        let close: Vec<&str> = self
            .specs
            .iter()
            .map(|s| s.name.as_str())
            .filter(|n| n.contains(name) || name.contains(*n) || common_prefix(n, name) >= 4)
            .take(5)
            .collect();
        if close.is_empty() { "no similar name".to_string() } else { format!("did you mean {}?", close.join(", ")) }
    }
}

fn common_prefix(a: &str, b: &str) -> usize {
    a.chars().zip(b.chars()).take_while(|(x, y)| x == y).count()
}

impl Values {
    /// The value of a registry entry. Names come from code, and the registry is
    /// checked to contain every name the model reads when the data are loaded.
    pub fn get(&self, name: &str) -> f64 {
        self.0.get(name).copied().unwrap_or(f64::NAN)
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains_key(name)
    }

    pub fn set(&mut self, name: &str, value: f64) {
        self.0.insert(name.to_string(), value);
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }
}

#[cfg(test)]
impl Values {
    /// The shipped defaults, for unit tests of model rules.
    pub fn default_for_tests() -> Values {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data");
        match crate::data::DataSet::load(&dir) {
            Ok(d) => d.registry.defaults(),
            Err(e) => panic!("shipped data must load: {e}"),
        }
    }
}
