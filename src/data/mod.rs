//! The sourced figures in `data/`, loaded and checked.
//!
//! Each loader reads one file, checks every value's type and range, and
//! reports a bad value with the file, line and column. Nothing here derives
//! model quantities; `region` and `params` do that from what is loaded.

pub mod table;

use crate::error::{Error, Location, Result};
use crate::platform::{N_PLATFORMS, Platform};
use crate::registry::{ParamSpec, Prior, Registry};
use crate::wallet::{N_WALLETS, Wallet};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use table::Table;

#[derive(Debug, Clone)]
pub struct Province {
    pub code: u32,
    pub name: String,
    pub name_zh: String,
    /// Residents, persons (latest year available, 2022 or 2023).
    pub population: f64,
    /// Share of residents living in urban areas, 0-1.
    pub urbanisation: f64,
    /// Per-capita disposable income, CNY per year, 2022.
    pub income_2022: f64,
}

/// Facts about one platform from `data/platforms.csv`.
#[derive(Debug, Clone)]
pub struct PlatformFacts {
    pub platform: Platform,
    pub gmv_2023: f64,
    pub gmv_label: String,
    pub aov: f64,
    pub aov_label: String,
}

/// Which wallets each platform accepted before any event.
#[derive(Debug, Clone, PartialEq)]
pub struct Acceptance {
    pub accepted: [[bool; N_WALLETS]; N_PLATFORMS],
    /// A wallet usable on the platform only together with another one
    /// (a bank card on Taobao/Tmall is paid through Alipay's cashier).
    pub requires: [[Option<Wallet>; N_WALLETS]; N_PLATFORMS],
    /// The wallet the platform's cashier pre-selects, if any.
    pub cashier_default: [Option<Wallet>; N_PLATFORMS],
}

#[derive(Debug, Clone)]
pub struct DataSet {
    pub dir: PathBuf,
    pub provinces: Vec<Province>,
    pub national: National,
    pub platforms: Vec<PlatformFacts>,
    pub acceptance: Acceptance,
    pub registry: Registry,
    pub calibration: Option<Calibration>,
    /// SHA-256 of every file read, for the run manifest.
    pub file_hashes: BTreeMap<String, String>,
}

/// National figures keyed by (metric, date).
#[derive(Debug, Clone, Default)]
pub struct National {
    path: PathBuf,
    values: BTreeMap<(String, String), f64>,
}

impl National {
    pub fn get(&self, metric: &str, date: &str) -> Result<f64> {
        self.values.get(&(metric.to_string(), date.to_string())).copied().ok_or_else(|| {
            Error::input(Location::at(&self.path, None, "metric"), format!("a row with metric `{metric}` and date `{date}`"), "no such row")
        })
    }
}

/// Fitted values written by `shareshift calibrate`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Calibration {
    pub path: PathBuf,
    pub values: BTreeMap<String, f64>,
}

impl Calibration {
    pub fn get(&self, name: &str) -> Result<f64> {
        self.values.get(name).copied().ok_or_else(|| {
            Error::input(
                Location::at(&self.path, None, "name"),
                format!("a fitted value named `{name}` (run `shareshift calibrate`)"),
                "no such row",
            )
        })
    }
}

pub const CALIBRATION_FILE: &str = "calibration.csv";

impl DataSet {
    /// Loads every data file in `dir`. The calibration file is optional here so
    /// that `calibrate` can run before one exists; runs require it.
    pub fn load(dir: &Path) -> Result<DataSet> {
        let mut hashes = BTreeMap::new();
        let mut read = |name: &str, required: &[&str]| -> Result<Table> {
            let path = dir.join(name);
            let bytes = std::fs::read(&path).map_err(|e| Error::read(&path, e))?;
            hashes.insert(name.to_string(), hex_sha256(&bytes));
            Table::parse(&path, &bytes, required)
        };
        let provinces = load_provinces(&read(
            "provinces.csv",
            &["code", "name_en", "name_zh", "population_10k", "urbanisation_pct", "income_2022_cny"],
        )?)?;
        let national = load_national(&read("national.csv", &["metric", "date", "value", "unit", "label", "source"])?)?;
        let platforms_table = read(
            "platforms.csv",
            &[
                "platform",
                "name",
                "gmv_2023_trillion_cny",
                "gmv_low",
                "gmv_high",
                "gmv_label",
                "gmv_source",
                "aov_cny",
                "aov_low",
                "aov_high",
                "aov_label",
                "aov_source",
            ],
        )?;
        let platforms = load_platforms(&platforms_table)?;
        let acceptance = load_acceptance(&read(
            "acceptance.csv",
            &["platform", "wallet", "accepted", "requires", "cashier_default", "label", "source"],
        )?)?;
        let targets_table = read("targets.csv", &["target", "value", "low", "high", "unit", "label", "source"])?;
        let mut registry = Registry::from_table(&read("parameters.csv", &Registry::COLUMNS)?)?;
        register_platform_figures(&mut registry, &platforms_table)?;
        register_targets(&mut registry, &targets_table)?;
        let calibration_path = dir.join(CALIBRATION_FILE);
        let calibration = if calibration_path.exists() {
            let table = read(CALIBRATION_FILE, &["name", "value"])?;
            Some(load_calibration(&table)?)
        } else {
            None
        };
        Ok(DataSet { dir: dir.to_path_buf(), provinces, national, platforms, acceptance, registry, calibration, file_hashes: hashes })
    }

    pub fn calibration(&self) -> Result<&Calibration> {
        self.calibration.as_ref().ok_or_else(|| {
            Error::input(Location::file(self.dir.join(CALIBRATION_FILE)), "fitted values (run `shareshift calibrate`)", "no such file")
        })
    }
}

pub fn hex_sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

fn load_provinces(t: &Table) -> Result<Vec<Province>> {
    let mut out: Vec<Province> = Vec::new();
    for row in t.rows() {
        let code = row.number("code", 11.0, 82.0)? as u32;
        if out.iter().any(|p| p.code == code) {
            return Err(Error::input(row.location("code"), "each province once", format!("a second row for code {code}")));
        }
        out.push(Province {
            code,
            name: row.required_text("name_en")?.to_string(),
            name_zh: row.required_text("name_zh")?.to_string(),
            population: row.number("population_10k", 1.0, 50_000.0)? * 10_000.0,
            urbanisation: row.number("urbanisation_pct", 0.0, 100.0)? / 100.0,
            income_2022: row.number("income_2022_cny", 1_000.0, 1_000_000.0)?,
        });
    }
    if out.is_empty() {
        return Err(Error::input(Location::file(t.path()), "at least one province row", "none"));
    }
    Ok(out)
}

fn load_national(t: &Table) -> Result<National> {
    let mut values = BTreeMap::new();
    for row in t.rows() {
        let key = (row.required_text("metric")?.to_string(), row.required_text("date")?.to_string());
        let value = row.number("value", 0.0, 1e12)?;
        row.required_text("source")?;
        if values.insert(key.clone(), value).is_some() {
            return Err(Error::input(row.location("metric"), "each (metric, date) once", format!("a second `{}` for {}", key.0, key.1)));
        }
    }
    Ok(National { path: t.path().to_path_buf(), values })
}

fn platform_of(row: &table::RowRef, column: &str) -> Result<Platform> {
    let text = row.text(column);
    Platform::parse(text).ok_or_else(|| Error::input(row.location(column), format!("one of {}", Platform::ids()), format!("`{text}`")))
}

fn wallet_of(row: &table::RowRef, column: &str) -> Result<Wallet> {
    let text = row.text(column);
    Wallet::parse(text).ok_or_else(|| Error::input(row.location(column), format!("one of {}", Wallet::ids()), format!("`{text}`")))
}

fn load_platforms(t: &Table) -> Result<Vec<PlatformFacts>> {
    let mut out: Vec<Option<PlatformFacts>> = vec![None; N_PLATFORMS];
    for row in t.rows() {
        let platform = platform_of(&row, "platform")?;
        if out[platform.index()].is_some() {
            return Err(Error::input(row.location("platform"), "each platform once", format!("a second `{platform}`")));
        }
        let gmv_2023 = row.number("gmv_2023_trillion_cny", 0.0, 1000.0)?;
        if gmv_2023 <= 0.0 {
            return Err(Error::input(row.location("gmv_2023_trillion_cny"), "a positive GMV", format!("{gmv_2023}")));
        }
        row.required_text("gmv_source")?;
        row.required_text("aov_source")?;
        out[platform.index()] = Some(PlatformFacts {
            platform,
            gmv_2023,
            gmv_label: row.required_text("gmv_label")?.to_string(),
            aov: row.number("aov_cny", 1.0, 1e6)?,
            aov_label: row.required_text("aov_label")?.to_string(),
        });
    }
    out.into_iter()
        .enumerate()
        .map(|(i, p)| {
            p.ok_or_else(|| {
                Error::input(Location::at(t.path(), None, "platform"), format!("a row for `{}`", Platform::from_index(i)), "none")
            })
        })
        .collect()
}

fn load_acceptance(t: &Table) -> Result<Acceptance> {
    let mut seen = [[false; N_WALLETS]; N_PLATFORMS];
    let mut acc = Acceptance {
        accepted: [[false; N_WALLETS]; N_PLATFORMS],
        requires: [[None; N_WALLETS]; N_PLATFORMS],
        cashier_default: [None; N_PLATFORMS],
    };
    let yes_no = [("yes", true), ("no", false)];
    for row in t.rows() {
        let p = platform_of(&row, "platform")?;
        let w = wallet_of(&row, "wallet")?;
        if seen[p.index()][w.index()] {
            return Err(Error::input(row.location("wallet"), "each (platform, wallet) once", format!("a second `{p}`, `{w}`")));
        }
        seen[p.index()][w.index()] = true;
        acc.accepted[p.index()][w.index()] = row.choice("accepted", &yes_no)?;
        if !row.text("requires").is_empty() {
            let r = wallet_of(&row, "requires")?;
            if r == w {
                return Err(Error::input(row.location("requires"), "another wallet", format!("`{r}` itself")));
            }
            acc.requires[p.index()][w.index()] = Some(r);
        }
        if row.choice("cashier_default", &yes_no)? {
            if acc.cashier_default[p.index()].is_some() {
                return Err(Error::input(row.location("cashier_default"), "one cashier default per platform", "a second `yes`"));
            }
            acc.cashier_default[p.index()] = Some(w);
        }
        row.required_text("source")?;
    }
    for p in Platform::ALL {
        for w in Wallet::ALL {
            if !seen[p.index()][w.index()] {
                return Err(Error::input(Location::at(t.path(), None, "wallet"), format!("a row for `{p}`, `{w}`"), "none"));
            }
        }
    }
    Ok(acc)
}

fn load_calibration(t: &Table) -> Result<Calibration> {
    let mut values = BTreeMap::new();
    for row in t.rows() {
        let name = row.required_text("name")?.to_string();
        let value = row.number("value", -1e6, 1e6)?;
        if values.insert(name.clone(), value).is_some() {
            return Err(Error::input(row.location("name"), "each name once", format!("a second `{name}`")));
        }
    }
    Ok(Calibration { path: t.path().to_path_buf(), values })
}

/// Adds `gmv_<platform>` and `aov_<platform>` to the registry, so they can be
/// overridden and varied like any other assumption.
fn register_platform_figures(registry: &mut Registry, t: &Table) -> Result<()> {
    for row in t.rows() {
        let p = platform_of(&row, "platform")?;
        for (prefix, value, low, high, label, source, unit, what) in [
            ("gmv", "gmv_2023_trillion_cny", "gmv_low", "gmv_high", "gmv_label", "gmv_source", "trillion CNY", "2023 GMV"),
            ("aov", "aov_cny", "aov_low", "aov_high", "aov_label", "aov_source", "CNY per order", "average order value"),
        ] {
            let v = row.number(value, 0.0, 1e6)?;
            let lo = row.number(low, 0.0, v)?;
            let hi = row.number(high, v, 1e6)?;
            let spec = ParamSpec {
                name: format!("{prefix}_{}", p.id()),
                unit: unit.to_string(),
                default: v,
                // An order value below 1 CNY would mean more orders than
                // single precision counts; the file itself is held to 1 CNY.
                min: if prefix == "aov" { 1.0 } else { f64::MIN_POSITIVE },
                max: 1e6,
                low: lo,
                high: hi,
                prior: Prior::Uniform,
                label: row.required_text(label)?.to_string(),
                description: format!("{} {what}", p.label()),
                source: row.required_text(source)?.to_string(),
            };
            registry.add(spec, row.location("platform"))?;
        }
    }
    Ok(())
}

/// Adds the calibration targets as `target_<name>`: they are figures with
/// ranges too (the WeChat-Pay-only share is an assumption).
fn register_targets(registry: &mut Registry, t: &Table) -> Result<()> {
    for row in t.rows() {
        let name = row.required_text("target")?;
        let v = row.number("value", 0.0, 1e6)?;
        let spec = ParamSpec {
            name: format!("target_{name}"),
            unit: row.required_text("unit")?.to_string(),
            default: v,
            min: 0.0,
            max: if row.text("unit").starts_with('%') { 100.0 } else { 1e6 },
            low: row.number("low", 0.0, v)?,
            high: row.number("high", v, 1e6)?,
            prior: Prior::Uniform,
            label: row.required_text("label")?.to_string(),
            description: format!("Calibration target: {}", name.replace('_', " ")),
            source: row.required_text("source")?.to_string(),
        };
        registry.add(spec, row.location("target"))?;
    }
    Ok(())
}
