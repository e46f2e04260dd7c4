//! Reads a run's output folder back into a `RunSummary`, so charts and
//! reports can be rebuilt (or compared) without simulating again.
//!
//! Every file is checked as it is read: a missing or corrupt file is an
//! input error naming the file, the line and the column.

use super::{Assumption, Band, Effect, FitPoint, GainShare, Headline, RunMeta, RunSummary, Series, Uncertainty, UncertaintyRow};
use crate::calendar::Month;
use crate::data::table::{RowRef, Table};
use crate::error::{Error, Location, Result};
use crate::stats::{Interval, percentile};
use std::collections::BTreeMap;
use std::path::Path;

/// Reads every file the reports need from `dir`.
pub fn load(dir: &Path) -> Result<RunSummary> {
    if !dir.is_dir() {
        return Err(Error::read(dir, std::io::Error::new(std::io::ErrorKind::NotFound, "no such output folder")));
    }
    let path = dir.join("manifest.json");
    let manifest = std::fs::read(&path).map_err(|e| Error::read(&path, e))?;
    load_with_manifest(dir, &manifest)
}

/// Like `load`, with the manifest's bytes given: a run builds its reports
/// before it writes the manifest, which it writes last.
pub fn load_with_manifest(dir: &Path, manifest: &[u8]) -> Result<RunSummary> {
    let (meta, scenario_json, events) = read_manifest(&dir.join("manifest.json"), manifest)?;
    let national = Replicated::read(&Table::read(&dir.join("national.csv"), &["arm", "replication", "month"])?, None)?;
    let segments =
        Replicated::read(&Table::read(&dir.join("segments.csv"), &["arm", "replication", "month", "segment"])?, Some("segment"))?;
    let headline = read_headline(&Table::read(&dir.join("headline.csv"), &crate::output::HEADLINE_COLUMNS)?)?;
    let horizons: Vec<(String, Month)> = headline.iter().fold(Vec::new(), |mut acc, h| {
        if !acc.iter().any(|(l, _)| *l == h.horizon) {
            acc.push((h.horizon.clone(), h.month));
        }
        acc
    });
    Ok(RunSummary {
        national: national.series(),
        segments: segments.effects(&horizons),
        gain: gain_shares(&national, &segments, &horizons),
        regional: read_regional(&Table::read(&dir.join("regional_effects.csv"), &crate::output::REGIONAL_COLUMNS)?)?,
        fit: read_fit(&Table::read(&dir.join("fit.csv"), &["target", "unit", "observed", "simulated", "label"])?)?,
        assumptions: read_assumptions(&Table::read(&dir.join("assumptions.csv"), &ASSUMPTION_COLUMNS)?)?,
        uncertainty: match dir.join("uncertainty.csv") {
            p if p.is_file() => Some(read_uncertainty(&Table::read(&p, &UNCERTAINTY_COLUMNS)?, &headline)?),
            _ => None,
        },
        months: national.months.clone(),
        headline,
        meta,
        scenario_json,
        events,
    })
}

const ASSUMPTION_COLUMNS: [&str; 10] = ["name", "unit", "value", "default", "low", "high", "prior", "label", "description", "source"];

fn month(row: &RowRef, column: &str) -> Result<Month> {
    let text = row.text(column);
    Month::parse(text).ok_or_else(|| Error::input(row.location(column), "a month written YYYY-MM", format!("`{text}`")))
}

fn num(row: &RowRef, column: &str) -> Result<f64> {
    row.number(column, f64::MIN, f64::MAX)
}

/// An interval bound: an empty cell means there is no interval (one
/// replication), shown as not available.
fn bound(row: &RowRef, column: &str) -> Result<f64> {
    Ok(row.optional_number(column, f64::MIN, f64::MAX)?.unwrap_or(f64::NAN))
}

/// Per-replication rows of both arms: `values[(arm, group)][month][metric]`
/// holds one value per replication.
struct Replicated {
    metrics: Vec<String>,
    months: Vec<Month>,
    values: BTreeMap<(String, String), Vec<Vec<Vec<f64>>>>,
}

impl Replicated {
    fn read(t: &Table, group_column: Option<&str>) -> Result<Replicated> {
        let keys = ["arm", "replication", "month", "province_code", "province", "area", "segment"];
        let metrics: Vec<String> = t.headers().iter().filter(|h| !keys.contains(&h.as_str())).cloned().collect();
        let mut months: Vec<Month> = Vec::new();
        let mut values: BTreeMap<(String, String), Vec<Vec<Vec<f64>>>> = BTreeMap::new();
        for row in t.rows() {
            let arm = row.choice("arm", &[("baseline", "baseline"), ("scenario", "scenario")])?.to_string();
            let m = month(&row, "month")?;
            let t_index = match months.iter().position(|x| *x == m) {
                Some(i) => i,
                None => {
                    months.push(m);
                    months.len() - 1
                }
            };
            let group = group_column.map(|c| row.text(c).to_string()).unwrap_or_default();
            let per_month = values.entry((arm, group)).or_default();
            if per_month.len() <= t_index {
                per_month.resize(t_index + 1, vec![Vec::new(); metrics.len()]);
            }
            for (k, name) in metrics.iter().enumerate() {
                per_month[t_index][k].push(num(&row, name)?);
            }
        }
        if months.is_empty() {
            return Err(Error::input(Location::file(t.path()), "rows for at least one month", "none"));
        }
        Ok(Replicated { metrics, months, values })
    }

    fn metric(&self, name: &str) -> Option<usize> {
        self.metrics.iter().position(|m| m == name)
    }

    /// Per-replication values of a metric in one arm, group and month.
    fn reps(&self, arm: &str, group: &str, t: usize, metric: usize) -> &[f64] {
        self.values.get(&(arm.to_string(), group.to_string())).and_then(|m| m.get(t)).map(|v| v[metric].as_slice()).unwrap_or(&[])
    }

    /// Scenario minus baseline, replication by replication.
    fn differences(&self, group: &str, t: usize, metric: usize) -> Vec<f64> {
        self.reps("scenario", group, t, metric).iter().zip(self.reps("baseline", group, t, metric)).map(|(s, b)| s - b).collect()
    }

    /// National series: each arm with its 5th-95th percentile band, and the
    /// difference with the 90% interval of its mean.
    fn series(&self) -> Vec<Series> {
        let mut out = Vec::new();
        for (k, metric) in self.metrics.iter().enumerate() {
            for arm in ["baseline", "scenario"] {
                let values = (0..self.months.len()).map(|t| spread(self.reps(arm, "", t, k))).collect();
                out.push(Series { metric: metric.clone(), arm: arm.into(), values });
            }
            let values = (0..self.months.len()).map(|t| mean_interval(&self.differences("", t, k))).collect();
            out.push(Series { metric: metric.clone(), arm: "difference".into(), values });
        }
        out
    }

    /// Change in Taobao/Tmall's GMV share of every segment at each horizon.
    fn effects(&self, horizons: &[(String, Month)]) -> Vec<Effect> {
        let (Some(share), Some(wechat)) = (self.metric("gmv_share_taobao"), self.metric("wechat_only_share")) else { return Vec::new() };
        let mut out = Vec::new();
        for (label, m) in horizons {
            let Some(t) = self.months.iter().position(|x| x == m) else { continue };
            for (arm, group) in self.values.keys() {
                if arm != "baseline" {
                    continue;
                }
                let diff: Vec<f64> = self.differences(group, t, share).iter().map(|d| d * 100.0).collect();
                out.push(Effect {
                    group: group.clone(),
                    area: String::new(),
                    horizon: label.clone(),
                    month: *m,
                    change_pp: mean_interval(&diff),
                    baseline_share_pct: mean(self.reps("baseline", group, t, share)) * 100.0,
                    wechat_only_share_pct: mean(self.reps("baseline", group, t, wechat)) * 100.0,
                });
            }
        }
        out
    }
}

fn mean(v: &[f64]) -> f64 {
    if v.is_empty() { f64::NAN } else { v.iter().sum::<f64>() / v.len() as f64 }
}

fn spread(v: &[f64]) -> Band {
    let mut sorted = v.to_vec();
    sorted.sort_by(f64::total_cmp);
    Band { mean: mean(v), low: percentile(&sorted, 0.05), high: percentile(&sorted, 0.95) }
}

fn mean_interval(v: &[f64]) -> Band {
    let i = Interval::of(v);
    Band { mean: i.mean, low: i.ci_low, high: i.ci_high }
}

/// Share of the national change in Taobao/Tmall GMV (CNY) contributed by
/// rural shoppers and by the low income band, replication by replication.
fn gain_shares(national: &Replicated, segments: &Replicated, horizons: &[(String, Month)]) -> Vec<GainShare> {
    let (Some(gn), Some(sn), Some(gs), Some(ss)) = (
        national.metric("gmv_billion_cny"),
        national.metric("gmv_share_taobao"),
        segments.metric("gmv_billion_cny"),
        segments.metric("gmv_share_taobao"),
    ) else {
        return Vec::new();
    };
    let taobao_gmv = |r: &Replicated, arm: &str, group: &str, t: usize, g: usize, s: usize| -> Vec<f64> {
        r.reps(arm, group, t, g).iter().zip(r.reps(arm, group, t, s)).map(|(a, b)| a * b).collect()
    };
    let change = |r: &Replicated, group: &str, t: usize, g: usize, s: usize| -> Vec<f64> {
        taobao_gmv(r, "scenario", group, t, g, s).iter().zip(taobao_gmv(r, "baseline", group, t, g, s)).map(|(a, b)| a - b).collect()
    };
    let mut out = Vec::new();
    for (label, m) in horizons {
        let (Some(tn), Some(ts)) = (national.months.iter().position(|x| x == m), segments.months.iter().position(|x| x == m)) else {
            continue;
        };
        let total = change(national, "", tn, gn, sn);
        let share_of = |group: &str| -> f64 {
            let part = change(segments, group, ts, gs, ss);
            let ratios: Vec<f64> = part.iter().zip(&total).filter(|(_, t)| t.abs() > 1e-12).map(|(p, t)| 100.0 * p / t).collect();
            mean(&ratios)
        };
        out.push(GainShare { horizon: label.clone(), month: *m, rural_pct: share_of("rural"), low_income_pct: share_of("income_low") });
    }
    out
}

pub const UNCERTAINTY_COLUMNS: [&str; 6] = ["draw", "scale", "replications", "horizon", "fit_gap_pp", "calibration_iterations"];

/// Parameter draws of `run --uncertainty N`: one row per draw, the drawn
/// parameters and the headline outcomes at one horizon.
fn read_uncertainty(t: &Table, headline: &[Headline]) -> Result<Uncertainty> {
    let outcomes: Vec<&str> = crate::summary::HEADLINE.iter().map(|h| h.id).collect();
    let parameters: Vec<String> =
        t.headers().iter().filter(|h| !UNCERTAINTY_COLUMNS.contains(&h.as_str()) && !outcomes.contains(&h.as_str())).cloned().collect();
    let mut values: Vec<Vec<f64>> = vec![Vec::new(); outcomes.len()];
    let (mut gaps, mut horizon, mut scale, mut replications) = (Vec::new(), String::new(), f64::NAN, 0u32);
    for row in t.rows() {
        for (k, id) in outcomes.iter().enumerate() {
            values[k].push(num(&row, id)?);
        }
        gaps.push(num(&row, "fit_gap_pp")?);
        horizon = row.required_text("horizon")?.to_string();
        scale = num(&row, "scale")?;
        replications = row.number("replications", 1.0, 1e6)? as u32;
    }
    if gaps.is_empty() {
        return Err(Error::input(Location::file(t.path()), "at least one draw", "none"));
    }
    let rows = crate::summary::HEADLINE
        .iter()
        .enumerate()
        .filter_map(|(k, h)| {
            let stochastic = headline.iter().find(|r| r.metric == h.id && r.horizon == horizon)?;
            let mut v: Vec<f64> = values[k].iter().copied().filter(|x| x.is_finite()).collect();
            v.sort_by(f64::total_cmp);
            Some(UncertaintyRow {
                metric: h.id.to_string(),
                label: h.label.to_string(),
                unit: h.unit.to_string(),
                horizon: horizon.clone(),
                stochastic: stochastic.value,
                total: Band { mean: percentile(&v, 0.5), low: percentile(&v, 0.05), high: percentile(&v, 0.95) },
            })
        })
        .collect();
    Ok(Uncertainty {
        draws: gaps.len(),
        parameters,
        rows,
        fit_gap_max_pp: gaps.iter().copied().fold(0.0, f64::max),
        fit_gap_mean_pp: mean(&gaps),
        scale,
        replications,
    })
}

fn read_headline(t: &Table) -> Result<Vec<Headline>> {
    t.rows()
        .map(|row| {
            Ok(Headline {
                metric: row.required_text("metric")?.to_string(),
                label: row.required_text("label")?.to_string(),
                unit: row.required_text("unit")?.to_string(),
                horizon: row.required_text("horizon")?.to_string(),
                month: month(&row, "month")?,
                value: Band { mean: num(&row, "mean")?, low: bound(&row, "ci90_low")?, high: bound(&row, "ci90_high")? },
                replications: row.number("replications", 0.0, 1e9)? as usize,
                baseline_mean: num(&row, "baseline_mean")?,
                scenario_mean: num(&row, "scenario_mean")?,
            })
        })
        .collect()
}

fn read_regional(t: &Table) -> Result<Vec<Effect>> {
    t.rows()
        .map(|row| {
            Ok(Effect {
                group: row.required_text("province")?.to_string(),
                area: row.choice("area", &[("all", "all"), ("urban", "urban"), ("rural", "rural")])?.to_string(),
                horizon: row.required_text("horizon")?.to_string(),
                month: month(&row, "month")?,
                change_pp: Band {
                    mean: num(&row, "taobao_gmv_share_change_pp")?,
                    low: bound(&row, "ci90_low")?,
                    high: bound(&row, "ci90_high")?,
                },
                baseline_share_pct: num(&row, "baseline_taobao_gmv_share_pct")?,
                wechat_only_share_pct: num(&row, "wechat_only_share_pct")?,
            })
        })
        .collect()
}

fn read_fit(t: &Table) -> Result<Vec<FitPoint>> {
    t.rows()
        .map(|row| {
            Ok(FitPoint {
                target: row.required_text("target")?.to_string(),
                unit: row.required_text("unit")?.to_string(),
                observed: num(&row, "observed")?,
                simulated: num(&row, "simulated")?,
                label: row.text("label").to_string(),
            })
        })
        .collect()
}

fn read_assumptions(t: &Table) -> Result<Vec<Assumption>> {
    t.rows()
        .map(|row| {
            Ok(Assumption {
                name: row.required_text("name")?.to_string(),
                unit: row.text("unit").to_string(),
                value: num(&row, "value")?,
                default: num(&row, "default")?,
                low: num(&row, "low")?,
                high: num(&row, "high")?,
                prior: row.text("prior").to_string(),
                label: row.text("label").to_string(),
                description: row.text("description").to_string(),
                source: row.text("source").to_string(),
            })
        })
        .collect()
}

/// Run metadata, the resolved scenario as JSON and its events, from the
/// manifest's bytes (`path` names it in errors).
fn read_manifest(path: &Path, bytes: &[u8]) -> Result<(RunMeta, String, Vec<String>)> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        Error::input(
            Location { file: path.to_path_buf(), line: Some(e.line()), field: None },
            "the JSON manifest shareshift writes",
            e.to_string(),
        )
    })?;
    if v.get("analysis").is_some() {
        return Err(Error::input(
            Location::at(path, None, "analysis"),
            "the manifest of a run (`shareshift run`); an analysis folder's report is written by `shareshift sensitivity` or `sweep` and is already there",
            "the manifest of an analysis",
        ));
    }
    let field = |name: &str| -> Result<&serde_json::Value> {
        v.get(name).ok_or_else(|| Error::input(Location::at(path, None, name), format!("a `{name}` entry"), "none"))
    };
    let text = |name: &str| -> Result<String> {
        field(name)?.as_str().map(str::to_string).ok_or_else(|| Error::input(Location::at(path, None, name), "text", "another type"))
    };
    let number = |name: &str| -> Result<f64> {
        field(name)?.as_f64().ok_or_else(|| Error::input(Location::at(path, None, name), "a number", "another type"))
    };
    let scenario = field("scenario")?;
    let s_text = |name: &str| scenario.get(name).and_then(|x| x.as_str()).unwrap_or("").to_string();
    let meta = RunMeta {
        scenario_name: text("scenario_name")?,
        title: s_text("title"),
        description: s_text("description"),
        baseline_name: s_text("baseline_name"),
        version: text("shareshift_version")?,
        seed: number("seed")? as u64,
        replications: number("replications")? as u32,
        scale: number("scale")?,
        threads: number("threads")? as usize,
        agents_per_replication: number("agents_per_replication")? as u64,
        seconds: field("timings_seconds")?.get("total").and_then(|x| x.as_f64()).unwrap_or(f64::NAN),
        scenario_sha256: text("scenario_sha256")?,
        first_divergent_month: field("first_divergent_month")?.as_str().and_then(Month::parse),
    };
    let mut events = Vec::new();
    for (arm, key) in [("baseline", "baseline_events"), ("scenario", "scenario_events")] {
        for e in scenario.get(key).and_then(|x| x.as_array()).map(Vec::as_slice).unwrap_or(&[]) {
            events.push(format!("{arm} arm: {}", describe_event(e)));
        }
    }
    let json = serde_json::to_string_pretty(scenario).unwrap_or_default();
    Ok((meta, json, events))
}

/// "2024-09 accept wechat_pay on taobao (phase-in 0.4, 0.9)".
fn describe_event(e: &serde_json::Value) -> String {
    let s = |k: &str| e.get(k).map(|x| x.as_str().map(str::to_string).unwrap_or_else(|| x.to_string())).unwrap_or_default();
    let mut out = format!("{} {}", s("month"), s("kind"));
    match s("kind").as_str() {
        "accept" | "withdraw" => out.push_str(&format!(" {} on {}", s("wallet"), s("platform"))),
        "parameter" => out.push_str(&format!(" {} = {}", s("name"), s("value"))),
        "promotion" => out.push_str(&format!(
            " {} {:+} utility for {} months",
            s("platform"),
            e.get("utility").and_then(|x| x.as_f64()).unwrap_or(0.0),
            s("months")
        )),
        _ => {}
    }
    if let Some(p) = e.get("phase_in").and_then(|x| x.as_array()).filter(|a| !a.is_empty()) {
        let shares: Vec<String> = p.iter().map(|x| x.to_string()).collect();
        out.push_str(&format!(" (phase-in {})", shares.join(", ")));
    }
    let note = s("note");
    if !note.is_empty() {
        out.push_str(&format!(" — {note}"));
    }
    out
}
