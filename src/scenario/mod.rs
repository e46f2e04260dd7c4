//! Scenarios: what is simulated, resolved from TOML files into a validated,
//! unit-carrying description with an expanded monthly timeline per arm.
//!
//! A scenario names the counterfactual it is compared with through `extends`:
//! the baseline arm is the extended scenario (with its own events), the
//! scenario arm adds this file's events. Horizon, run settings, parameter
//! overrides and the entrants' wallet mix are inherited field by field and
//! may be overridden. A file without `extends` is its own baseline, so its two
//! arms are identical.

pub mod file;

use crate::calendar::Month;
use crate::data::{Acceptance, DataSet};
use crate::error::{Error, Location, Result};
use crate::params::{BEHAVIOUR_NAMES, Behaviour};
use crate::platform::{N_PLATFORMS, Platform};
use crate::region::anchor_month;
use crate::registry::{Registry, Values};
use crate::wallet::{N_WALLETS, Wallet};
use file::{EventFile, Parsed};
use serde::Serialize;
use std::path::{Path, PathBuf};
use toml::Spanned;

pub const MAX_MONTHS: u32 = 600;
pub const MAX_REPLICATIONS: u32 = 10_000;
const MAX_EXTENDS_DEPTH: usize = 16;

#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// File stem, used for the output folder.
    pub name: String,
    pub title: String,
    pub description: String,
    pub file: PathBuf,
    /// Name of the scenario the baseline arm runs (the file itself if none).
    pub baseline_name: String,
    pub start: Month,
    pub months: u32,
    /// Real online shoppers represented by one agent.
    pub scale: f64,
    pub replications: u32,
    pub seed: u64,
    /// Registry values after overrides (both arms).
    pub values: Values,
    /// Registry entries this scenario (or what it extends) overrides.
    pub overrides: Vec<(String, f64)>,
    /// Wallet mix of new shoppers (dual, Alipay only, WeChat Pay only), if set.
    pub entrant_mix: Option<[f64; 3]>,
    pub baseline_events: Vec<Event>,
    pub scenario_events: Vec<Event>,
    /// Ranges analyses vary parameters over, where the file narrows or fixes
    /// them (low = high fixes).
    pub uncertainty: Vec<(String, (f64, f64))>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Event {
    pub month: Month,
    #[serde(flatten)]
    pub kind: EventKind,
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EventKind {
    /// The platform starts to accept the wallet directly (without needing
    /// another wallet); `phase_in` gives the share of its GMV at merchants
    /// offering it in the event month and the months after (1 once the list
    /// ends).
    Accept { platform: Platform, wallet: Wallet, phase_in: Vec<f64> },
    /// The platform stops accepting the wallet.
    Withdraw { platform: Platform, wallet: Wallet },
    /// A behavioural parameter takes a new value from this month on.
    Parameter { name: String, value: f64 },
    /// A utility shift for a platform during `months` months.
    Promotion { platform: Platform, utility: f64, months: u32 },
}

/// Everything about one month of one arm that the monthly step needs from
/// the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Regime {
    /// Share of the platform's GMV at merchants that accept the wallet.
    pub acceptance: [[f64; N_WALLETS]; N_PLATFORMS],
    pub requires: [[Option<Wallet>; N_WALLETS]; N_PLATFORMS],
    pub cashier_default: [Option<Wallet>; N_PLATFORMS],
    pub promotion: [f64; N_PLATFORMS],
    pub behaviour: Behaviour,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Arm {
    Baseline,
    Scenario,
}

impl Arm {
    pub const BOTH: [Arm; 2] = [Arm::Baseline, Arm::Scenario];
    pub fn id(self) -> &'static str {
        match self {
            Arm::Baseline => "baseline",
            Arm::Scenario => "scenario",
        }
    }
}

impl Scenario {
    pub fn end(&self) -> Month {
        self.start.plus(self.months as i32 - 1)
    }

    pub fn events(&self, arm: Arm) -> &[Event] {
        match arm {
            Arm::Baseline => &self.baseline_events,
            Arm::Scenario => &self.scenario_events,
        }
    }

    /// The regime of `arm` in each horizon month.
    pub fn timeline(&self, arm: Arm, acceptance: &Acceptance) -> Vec<Regime> {
        (0..self.months).map(|t| self.regime_at(arm, self.start.plus(t as i32), acceptance)).collect()
    }

    /// The regime in force in `month` (months before the horizon get the
    /// regime of its first month without events).
    pub fn regime_at(&self, arm: Arm, month: Month, acceptance: &Acceptance) -> Regime {
        let mut shares = [[0.0; N_WALLETS]; N_PLATFORMS];
        for p in 0..N_PLATFORMS {
            for w in 0..N_WALLETS {
                shares[p][w] = if acceptance.accepted[p][w] { 1.0 } else { 0.0 };
            }
        }
        let mut values = self.values.clone();
        let mut promotion = [0.0; N_PLATFORMS];
        let mut requires = acceptance.requires;
        for e in self.events(arm).iter().filter(|e| e.month <= month) {
            let since = month.since(e.month) as usize;
            match &e.kind {
                EventKind::Accept { platform, wallet, phase_in } => {
                    shares[platform.index()][wallet.index()] = phase_in.get(since).copied().unwrap_or(1.0);
                    requires[platform.index()][wallet.index()] = None;
                }
                EventKind::Withdraw { platform, wallet } => shares[platform.index()][wallet.index()] = 0.0,
                EventKind::Parameter { name, value } => values.set(name, *value),
                EventKind::Promotion { platform, utility, months } => {
                    if since < *months as usize {
                        promotion[platform.index()] += utility;
                    }
                }
            }
        }
        Regime {
            acceptance: shares,
            requires,
            cashier_default: acceptance.cashier_default,
            promotion,
            behaviour: Behaviour::from_values(&values),
        }
    }

    /// The first horizon month whose regimes differ between the arms; before
    /// it both arms are the same simulation.
    pub fn divergence(&self, acceptance: &Acceptance) -> Option<u32> {
        let b = self.timeline(Arm::Baseline, acceptance);
        let s = self.timeline(Arm::Scenario, acceptance);
        (0..self.months).find(|&t| b[t as usize] != s[t as usize])
    }
}

/// Settings given on the command line, applied after the file is resolved.
#[derive(Debug, Clone, Default)]
pub struct RunOverrides {
    pub scale: Option<f64>,
    pub replications: Option<u32>,
    pub seed: Option<u64>,
}

/// Reads, merges and validates a scenario file and everything it extends.
pub fn load(path: &Path, data: &DataSet, overrides: &RunOverrides) -> Result<Scenario> {
    let mut layers = Vec::new();
    collect_layers(path, None, &mut layers)?;
    layers.reverse(); // root first
    resolve(path, &layers, data, overrides)
}

/// Validates a scenario given as bytes, as `load` does a file without
/// `extends` (`name` only names it in errors). Nothing is read from disk, so
/// a fuzzer can drive the parser and every check behind it; a document that
/// extends another file is refused, since that file would have to be read.
pub fn parse_bytes(name: &Path, bytes: &[u8], data: &DataSet) -> Result<Scenario> {
    let parsed = Parsed::from_bytes(name, bytes.to_vec())?;
    if let Some(e) = &parsed.file.extends {
        return Err(Error::input(
            Location::at(name, Some(parsed.line(e)), "extends"),
            "a scenario without `extends` (a file that extends another is read with `shareshift validate`)",
            format!("extends = \"{}\"", e.get_ref()),
        ));
    }
    resolve(name, &[Layer { path: name.to_path_buf(), parsed }], data, &RunOverrides::default())
}

/// Merges the layers of a scenario (root first, the file run last) and
/// checks the result.
fn resolve(path: &Path, layers: &[Layer], data: &DataSet, overrides: &RunOverrides) -> Result<Scenario> {
    let mut s = Resolving::default();
    let n = layers.len();
    for (depth, layer) in layers.iter().enumerate() {
        s.apply(layer, &data.registry, depth + 1 == n)?;
    }
    let start = s.start.ok_or_else(|| missing(path, "horizon.start", "a start month such as \"2024-01\""))?;
    let months = s.months.ok_or_else(|| missing(path, "horizon.months", "a number of months"))?;
    let mut scale = s.scale.ok_or_else(|| missing(path, "run.scale", "real shoppers per agent, e.g. 1000"))?;
    let mut replications = s.replications.ok_or_else(|| missing(path, "run.replications", "a number of replications"))?;
    let mut seed = s.seed.ok_or_else(|| missing(path, "run.seed", "a seed"))?;
    if let Some(v) = overrides.scale {
        check_flag("--scale", v.is_finite() && v >= 1.0, "real shoppers per agent, a number of at least 1", v)?;
        scale = v;
    }
    if let Some(v) = overrides.replications {
        check_flag("--replications", (1..=MAX_REPLICATIONS).contains(&v), &format!("a whole number from 1 to {MAX_REPLICATIONS}"), v)?;
        replications = v;
    }
    if let Some(v) = overrides.seed {
        seed = v;
    }
    let end = start.plus(months as i32 - 1);
    for (e, layer_path, line) in s.events_checked.iter() {
        if e.month < start || e.month > end {
            return Err(Error::input(
                Location::at(layer_path, Some(*line), "events.month"),
                format!("an event month within the horizon {start} to {end}"),
                e.month.to_string(),
            ));
        }
    }
    let name = stem(path);
    let baseline_name = if n > 1 { stem(&layers[n - 2].path) } else { name.clone() };
    let mut baseline_events = s.parent_events.clone();
    baseline_events.sort_by_key(|e| e.month);
    let mut scenario_events = baseline_events.clone();
    scenario_events.extend(s.own_events.clone());
    scenario_events.sort_by_key(|e| e.month);
    if n == 1 {
        // A file without `extends` is its own baseline.
        baseline_events = scenario_events.clone();
    }
    Ok(Scenario {
        title: s.title.unwrap_or_else(|| name.clone()),
        name,
        description: s.description.unwrap_or_default(),
        file: path.to_path_buf(),
        baseline_name,
        start,
        months,
        scale,
        replications,
        seed,
        values: s.values.unwrap_or_else(|| data.registry.defaults()),
        overrides: s.overrides,
        entrant_mix: s.entrant_mix,
        baseline_events,
        scenario_events,
        uncertainty: s.uncertainty,
    })
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "scenario".into())
}

fn missing(path: &Path, field: &str, expected: &str) -> Error {
    Error::input(Location::at(path, None, field), expected, "no value in the file or what it extends")
}

fn check_flag(flag: &str, ok: bool, expected: &str, found: impl std::fmt::Display) -> Result<()> {
    if ok { Ok(()) } else { Err(Error::Flag { flag: flag.into(), expected: expected.into(), found: found.to_string() }) }
}

struct Layer {
    path: PathBuf,
    parsed: Parsed,
}

/// Reads `path` and the chain of files it extends (child first).
fn collect_layers(path: &Path, referrer: Option<(&Path, usize)>, out: &mut Vec<Layer>) -> Result<()> {
    if out.iter().any(|l| same_file(&l.path, path)) {
        let (file, line) = referrer.map(|(f, l)| (f.to_path_buf(), Some(l))).unwrap_or((path.to_path_buf(), None));
        return Err(Error::input(
            Location { file, line, field: Some("extends".into()) },
            "a chain of files without a cycle",
            format!("`{}` again", path.display()),
        ));
    }
    if out.len() >= MAX_EXTENDS_DEPTH {
        let (file, line) = referrer.map(|(f, l)| (f.to_path_buf(), Some(l))).unwrap_or((path.to_path_buf(), None));
        return Err(Error::input(
            Location { file, line, field: Some("extends".into()) },
            format!("at most {MAX_EXTENDS_DEPTH} files in a chain of `extends`"),
            "a longer chain",
        ));
    }
    if !path.is_file() {
        return Err(match referrer {
            Some((file, line)) => Error::input(
                Location::at(file, Some(line), "extends"),
                "the path of an existing scenario file (relative to this file)",
                format!("`{}`, which does not exist", path.display()),
            ),
            None => Error::read(path, std::io::Error::new(std::io::ErrorKind::NotFound, "no such scenario file")),
        });
    }
    let parsed = Parsed::read(path)?;
    let parent = parsed.file.extends.as_ref().map(|e| (path.parent().unwrap_or(Path::new(".")).join(e.get_ref()), parsed.line(e)));
    out.push(Layer { path: path.to_path_buf(), parsed });
    if let Some((parent_path, line)) = parent {
        collect_layers(&parent_path, Some((path, line)), out)?;
    }
    Ok(())
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => a == b,
    }
}

#[derive(Default)]
struct Resolving {
    title: Option<String>,
    description: Option<String>,
    start: Option<Month>,
    months: Option<u32>,
    scale: Option<f64>,
    replications: Option<u32>,
    seed: Option<u64>,
    values: Option<Values>,
    overrides: Vec<(String, f64)>,
    entrant_mix: Option<[f64; 3]>,
    parent_events: Vec<Event>,
    own_events: Vec<Event>,
    uncertainty: Vec<(String, (f64, f64))>,
    events_checked: Vec<(Event, PathBuf, usize)>,
}

impl Resolving {
    fn apply(&mut self, layer: &Layer, registry: &Registry, is_last: bool) -> Result<()> {
        let f = &layer.parsed.file;
        let p = &layer.parsed;
        let path = &layer.path;
        let at = |field: &str, line: usize| Location::at(path, Some(line), field);
        if let Some(t) = &f.title {
            self.title = Some(t.get_ref().clone());
        }
        if let Some(d) = &f.description {
            self.description = Some(d.clone());
        }
        if let Some(h) = &f.horizon {
            if let Some(s) = &h.start {
                let month = Month::parse(s.get_ref()).ok_or_else(|| {
                    Error::input(
                        at("horizon.start", p.line(s)),
                        "a month written YYYY-MM, e.g. \"2024-01\"",
                        format!("\"{}\"", s.get_ref()),
                    )
                })?;
                let first = anchor_month().plus(1);
                if month < first {
                    return Err(Error::input(
                        at("horizon.start", p.line(s)),
                        format!("a start month from {first} on (the data describe shoppers at the end of {})", anchor_month()),
                        month.to_string(),
                    ));
                }
                self.start = Some(month);
            }
            if let Some(m) = &h.months {
                let v = *m.get_ref();
                if !(1..=MAX_MONTHS as i64).contains(&v) {
                    return Err(Error::input(
                        at("horizon.months", p.line(m)),
                        format!("a whole number of months from 1 to {MAX_MONTHS}"),
                        v.to_string(),
                    ));
                }
                self.months = Some(v as u32);
            }
        }
        if let Some(r) = &f.run {
            if let Some(s) = &r.scale {
                let v = *s.get_ref();
                if !(v.is_finite() && v >= 1.0) {
                    return Err(Error::input(at("run.scale", p.line(s)), "real shoppers per agent, a number of at least 1", v.to_string()));
                }
                self.scale = Some(v);
            }
            if let Some(s) = &r.replications {
                let v = *s.get_ref();
                if !(1..=MAX_REPLICATIONS as i64).contains(&v) {
                    return Err(Error::input(
                        at("run.replications", p.line(s)),
                        format!("a whole number from 1 to {MAX_REPLICATIONS}"),
                        v.to_string(),
                    ));
                }
                self.replications = Some(v as u32);
            }
            if let Some(s) = &r.seed {
                let v = *s.get_ref();
                if v < 0 {
                    return Err(Error::input(at("run.seed", p.line(s)), "a whole number of at least 0", v.to_string()));
                }
                self.seed = Some(v as u64);
            }
        }
        let mut values = self.values.take().unwrap_or_else(|| registry.defaults());
        if let Some(params) = &f.parameters {
            for (name, value) in params {
                registry.check(name.get_ref(), *value.get_ref()).map_err(|(expected, found)| {
                    Error::input(at(&format!("parameters.{}", name.get_ref()), p.line(name)), expected, found)
                })?;
                values.set(name.get_ref(), *value.get_ref());
                self.overrides.retain(|(n, _)| n != name.get_ref());
                self.overrides.push((name.get_ref().clone(), *value.get_ref()));
            }
        }
        self.values = Some(values);
        if let Some(ranges) = &f.uncertainty {
            for (name, value) in ranges {
                let field = format!("uncertainty.{}", name.get_ref());
                let range = parse_range(value.get_ref()).ok_or_else(|| {
                    Error::input(
                        at(&field, p.line(name)),
                        "a number (to fix the parameter) or [low, high] with low <= high (to narrow its range)",
                        value.get_ref().to_string(),
                    )
                })?;
                for v in [range.0, range.1] {
                    registry
                        .check(name.get_ref(), v)
                        .map_err(|(expected, found)| Error::input(at(&field, p.line(name)), expected, found))?;
                }
                self.uncertainty.retain(|(n, _)| n != name.get_ref());
                self.uncertainty.push((name.get_ref().clone(), range));
            }
        }
        if let Some(e) = &f.entrants {
            if let Some(mix) = &e.wallet_mix {
                self.entrant_mix = Some(parse_mix(mix, path, p.line(mix))?);
            }
        }
        // Events of a file that is extended belong to the counterfactual.
        let events = f.events.as_deref().unwrap_or(&[]);
        let mut parsed = Vec::new();
        for e in events {
            let event = parse_event(e, p, path, registry)?;
            self.events_checked.push((event.clone(), path.clone(), p.line(&e.month)));
            parsed.push(event);
        }
        if is_last {
            self.own_events = parsed;
        } else {
            self.parent_events.extend(parsed);
        }
        Ok(())
    }
}

/// A fixed value `v` as (v, v), or `[low, high]` with low <= high.
fn parse_range(v: &toml::Value) -> Option<(f64, f64)> {
    let num = |x: &toml::Value| x.as_float().or_else(|| x.as_integer().map(|i| i as f64));
    match v {
        toml::Value::Array(a) if a.len() == 2 => {
            let (lo, hi) = (num(&a[0])?, num(&a[1])?);
            (lo <= hi).then_some((lo, hi))
        }
        other => num(other).map(|x| (x, x)),
    }
}

fn parse_mix(mix: &Spanned<std::collections::BTreeMap<String, f64>>, path: &Path, line: usize) -> Result<[f64; 3]> {
    let at = Location::at(path, Some(line), "entrants.wallet_mix");
    let names = ["dual", "alipay_only", "wechat_only"];
    let mut out = [0.0; 3];
    for (k, v) in mix.get_ref() {
        let i = names
            .iter()
            .position(|n| n == k)
            .ok_or_else(|| Error::input(at.clone(), "keys dual, alipay_only, wechat_only", format!("`{k}`")))?;
        if !(0.0..=1.0).contains(v) {
            return Err(Error::input(at.clone(), format!("a share of `{k}` between 0 and 1"), v.to_string()));
        }
        out[i] = *v;
    }
    let sum: f64 = out.iter().sum();
    if (sum - 1.0).abs() > 1e-6 {
        return Err(Error::input(at, "shares that sum to 1", format!("shares summing to {sum:.6}")));
    }
    Ok(out)
}

fn parse_event(e: &EventFile, p: &Parsed, path: &Path, registry: &Registry) -> Result<Event> {
    let at = |field: &str, line: usize| Location::at(path, Some(line), format!("events.{field}"));
    let month = Month::parse(e.month.get_ref()).ok_or_else(|| {
        Error::input(at("month", p.line(&e.month)), "a month written YYYY-MM, e.g. \"2024-09\"", format!("\"{}\"", e.month.get_ref()))
    })?;
    let kind_line = p.line(&e.kind);
    let need = |field: &str, present: bool| -> Result<()> {
        if present {
            Ok(())
        } else {
            Err(Error::input(at(field, kind_line), format!("a `{field}` for an event of kind `{}`", e.kind.get_ref()), "none"))
        }
    };
    let platform = || -> Result<Platform> {
        let s = e
            .platform
            .as_ref()
            .ok_or_else(|| Error::input(at("platform", kind_line), format!("a `platform` ({})", Platform::ids()), "none"))?;
        Platform::parse(s.get_ref())
            .ok_or_else(|| Error::input(at("platform", p.line(s)), format!("one of {}", Platform::ids()), format!("\"{}\"", s.get_ref())))
    };
    let wallet = || -> Result<Wallet> {
        let s =
            e.wallet.as_ref().ok_or_else(|| Error::input(at("wallet", kind_line), format!("a `wallet` ({})", Wallet::ids()), "none"))?;
        Wallet::parse(s.get_ref())
            .ok_or_else(|| Error::input(at("wallet", p.line(s)), format!("one of {}", Wallet::ids()), format!("\"{}\"", s.get_ref())))
    };
    let unexpected = |fields: &[(&str, bool)]| -> Result<()> {
        for (name, present) in fields {
            if *present {
                return Err(Error::input(
                    at(name, kind_line),
                    format!("no `{name}` for an event of kind `{}`", e.kind.get_ref()),
                    format!("a `{name}`"),
                ));
            }
        }
        Ok(())
    };
    let kind = match e.kind.get_ref().as_str() {
        "accept" => {
            unexpected(&[
                ("name", e.name.is_some()),
                ("value", e.value.is_some()),
                ("utility", e.utility.is_some()),
                ("months", e.months.is_some()),
            ])?;
            let phase_in = match &e.phase_in {
                Some(list) => {
                    for v in list.get_ref() {
                        if !(0.0..=1.0).contains(v) {
                            return Err(Error::input(at("phase_in", p.line(list)), "merchant shares between 0 and 1", v.to_string()));
                        }
                    }
                    list.get_ref().clone()
                }
                None => Vec::new(),
            };
            EventKind::Accept { platform: platform()?, wallet: wallet()?, phase_in }
        }
        "withdraw" => {
            unexpected(&[
                ("phase_in", e.phase_in.is_some()),
                ("name", e.name.is_some()),
                ("value", e.value.is_some()),
                ("utility", e.utility.is_some()),
                ("months", e.months.is_some()),
            ])?;
            EventKind::Withdraw { platform: platform()?, wallet: wallet()? }
        }
        "parameter" => {
            unexpected(&[
                ("platform", e.platform.is_some()),
                ("wallet", e.wallet.is_some()),
                ("phase_in", e.phase_in.is_some()),
                ("utility", e.utility.is_some()),
                ("months", e.months.is_some()),
            ])?;
            need("name", e.name.is_some())?;
            need("value", e.value.is_some())?;
            let (name, value) = (e.name.as_ref().unwrap_or_else(|| unreachable!()), e.value.as_ref().unwrap_or_else(|| unreachable!()));
            if !BEHAVIOUR_NAMES.contains(&name.get_ref().as_str()) {
                return Err(Error::input(
                    at("name", p.line(name)),
                    format!("a behavioural parameter that can change over time: {}", BEHAVIOUR_NAMES.join(", ")),
                    format!("\"{}\"", name.get_ref()),
                ));
            }
            registry
                .check(name.get_ref(), *value.get_ref())
                .map_err(|(expected, found)| Error::input(at("value", p.line(value)), expected, found))?;
            EventKind::Parameter { name: name.get_ref().clone(), value: *value.get_ref() }
        }
        "promotion" => {
            unexpected(&[
                ("wallet", e.wallet.is_some()),
                ("phase_in", e.phase_in.is_some()),
                ("name", e.name.is_some()),
                ("value", e.value.is_some()),
            ])?;
            need("utility", e.utility.is_some())?;
            let utility = e.utility.as_ref().unwrap_or_else(|| unreachable!());
            let u = *utility.get_ref();
            if !(-10.0..=10.0).contains(&u) {
                return Err(Error::input(at("utility", p.line(utility)), "a utility shift between -10 and 10", u.to_string()));
            }
            let months = match &e.months {
                Some(m) if (1..=MAX_MONTHS as i64).contains(m.get_ref()) => *m.get_ref() as u32,
                Some(m) => {
                    return Err(Error::input(
                        at("months", p.line(m)),
                        format!("a whole number of months from 1 to {MAX_MONTHS}"),
                        m.get_ref().to_string(),
                    ));
                }
                None => MAX_MONTHS,
            };
            EventKind::Promotion { platform: platform()?, utility: u, months }
        }
        other => {
            return Err(Error::input(at("kind", kind_line), "one of accept, withdraw, parameter, promotion", format!("\"{other}\"")));
        }
    };
    Ok(Event { month, kind, note: e.note.clone().unwrap_or_default() })
}
