//! Writing a run's results: tidy CSVs, the headline and regional tables, and
//! a manifest, into `output/<scenario>/`.
//!
//! Each file is rendered to bytes by a pure function; `OutputDir` alone
//! touches the disk. The folder is created under a temporary sibling name
//! before the long run (so a bad path fails in milliseconds) and renamed into
//! place only when every file is written, so an existing result is replaced
//! only by a complete one. The pipeline writes `manifest.json` last: a
//! temporary folder that a killed run left behind holds none unless it was
//! complete and only its rename was missing.

use crate::error::{Error, Result};
use crate::experiment::{Group, Results, Setup};
use crate::observe::metric_columns;
use crate::params::BAND_LABELS;
use crate::scenario::{Arm, Scenario};
use crate::summary::{HeadlineRow, RegionalRow};
use std::path::{Path, PathBuf};

/// Metrics written per region cell (the full set is written nationally and
/// per segment; cells keep the files a manageable size).
pub const REGIONAL_METRICS: &[&str] = &[
    "shoppers_million",
    "gmv_billion_cny",
    "gmv_share_taobao",
    "gmv_share_jd",
    "gmv_share_pinduoduo",
    "gmv_share_douyin",
    "gmv_share_kuaishou",
    "gmv_share_other",
    "order_share_taobao",
    "reach_taobao",
    "pay_share_alipay",
    "pay_share_wechat_pay",
    "pay_share_taobao_alipay",
    "pay_share_taobao_wechat_pay",
    "holding_alipay",
    "holding_wechat_pay",
    "holding_dual",
    "wechat_only_share",
    "wechat_only_taobao_buyers_million",
    "setups_alipay_thousand",
];

/// A number with 8 significant digits, trailing zeros trimmed: stable text
/// for byte-identical files.
pub fn fmt_num(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return if v.is_nan() {
            "NaN".into()
        } else if v == 0.0 {
            "0".into()
        } else {
            format!("{v}")
        };
    }
    let digits = (7 - v.abs().log10().floor() as i32).clamp(0, 17) as usize;
    let s = format!("{v:.digits$}");
    let s = if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s };
    if s == "-0" { "0".into() } else { s }
}

/// An interval bound: empty when there is no interval (one replication).
fn fmt_bound(v: f64) -> String {
    if v.is_nan() { String::new() } else { fmt_num(v) }
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new())
}

fn finish(w: csv::Writer<Vec<u8>>) -> Result<Vec<u8>> {
    w.into_inner().map_err(|e| Error::Internal(format!("rendering CSV: {e}")))
}

fn io<T>(r: std::result::Result<T, csv::Error>) -> Result<T> {
    r.map_err(|e| Error::Internal(format!("rendering CSV: {e}")))
}

/// Rows of `group` for every arm, replication and month, with `keys`
/// prepended and the chosen metric columns.
fn series(
    results: &Results,
    filter: impl Fn(&Group) -> Option<Vec<String>>,
    key_names: &[&str],
    metrics: Option<&[&str]>,
) -> Result<Vec<u8>> {
    let cols = metric_columns();
    let chosen: Vec<usize> = match metrics {
        Some(names) => names.iter().filter_map(|n| cols.iter().position(|(c, _)| c == n)).collect(),
        None => (0..cols.len()).collect(),
    };
    let mut w = csv_writer();
    let mut header: Vec<String> = vec!["arm".into(), "replication".into(), "month".into()];
    header.extend(key_names.iter().map(|s| s.to_string()));
    header.extend(chosen.iter().map(|&i| cols[i].0.clone()));
    io(w.write_record(&header))?;
    for arm in Arm::BOTH {
        for rep in 0..results.replications {
            for (t, month) in results.months.iter().enumerate() {
                for (g, group) in results.groups.iter().enumerate() {
                    let Some(keys) = filter(group) else { continue };
                    let row = results.row(rep, arm, t, g);
                    let mut rec = vec![arm.id().to_string(), rep.to_string(), month.to_string()];
                    rec.extend(keys);
                    rec.extend(chosen.iter().map(|&i| fmt_num(row[i])));
                    io(w.write_record(&rec))?;
                }
            }
        }
    }
    finish(w)
}

pub fn render_national(results: &Results) -> Result<Vec<u8>> {
    series(results, |g| (*g == Group::National).then(Vec::new), &[], None)
}

pub fn render_segments(results: &Results) -> Result<Vec<u8>> {
    series(
        results,
        |g| match g {
            Group::Area { rural } => Some(vec![if *rural { "rural" } else { "urban" }.to_string()]),
            Group::Band(b) => Some(vec![format!("income_{}", BAND_LABELS[*b])]),
            _ => None,
        },
        &["segment"],
        None,
    )
}

pub fn render_regional(results: &Results, setup: &Setup) -> Result<Vec<u8>> {
    series(
        results,
        |g| match g {
            Group::Cell(c) => {
                let (province, area) = setup.geo.cell_label(*c);
                Some(vec![setup.geo.province_codes[setup.geo.cells[*c].province].to_string(), province.to_string(), area.to_string()])
            }
            _ => None,
        },
        &["province_code", "province", "area"],
        Some(REGIONAL_METRICS),
    )
}

/// Columns of `headline.csv` (the report loader reads the same).
pub const HEADLINE_COLUMNS: [&str; 13] = [
    "metric",
    "label",
    "unit",
    "horizon",
    "month",
    "mean",
    "ci90_low",
    "ci90_high",
    "p05",
    "p95",
    "replications",
    "baseline_mean",
    "scenario_mean",
];

/// Columns of `regional_effects.csv`.
pub const REGIONAL_COLUMNS: [&str; 9] = [
    "province",
    "area",
    "horizon",
    "month",
    "taobao_gmv_share_change_pp",
    "ci90_low",
    "ci90_high",
    "baseline_taobao_gmv_share_pct",
    "wechat_only_share_pct",
];

pub fn render_headline(rows: &[HeadlineRow]) -> Result<Vec<u8>> {
    let mut w = csv_writer();
    io(w.write_record(HEADLINE_COLUMNS))?;
    for r in rows {
        io(w.write_record([
            r.metric.to_string(),
            r.label.to_string(),
            r.unit.to_string(),
            r.horizon.clone(),
            r.month.to_string(),
            fmt_num(r.value.mean),
            fmt_bound(r.value.ci_low),
            fmt_bound(r.value.ci_high),
            fmt_num(r.value.p05),
            fmt_num(r.value.p95),
            r.value.n.to_string(),
            fmt_num(r.baseline_mean),
            fmt_num(r.scenario_mean),
        ]))?;
    }
    finish(w)
}

pub fn render_regional_effects(rows: &[RegionalRow]) -> Result<Vec<u8>> {
    let mut w = csv_writer();
    io(w.write_record(REGIONAL_COLUMNS))?;
    for r in rows {
        io(w.write_record([
            r.province.clone(),
            r.area.to_string(),
            r.horizon.clone(),
            r.month.to_string(),
            fmt_num(r.taobao_gmv_share_change_pp.mean),
            fmt_bound(r.taobao_gmv_share_change_pp.ci_low),
            fmt_bound(r.taobao_gmv_share_change_pp.ci_high),
            fmt_num(r.baseline_taobao_gmv_share_pct),
            fmt_num(r.wechat_only_share_pct),
        ]))?;
    }
    finish(w)
}

/// Calibration targets against this run's baseline in its first month.
pub fn render_fit(rows: &[crate::calibration::FitRow]) -> Result<Vec<u8>> {
    let mut w = csv_writer();
    io(w.write_record(["target", "unit", "observed", "simulated", "label"]))?;
    for r in rows {
        io(w.write_record([r.target.clone(), r.unit.to_string(), fmt_num(r.observed), fmt_num(r.simulated), r.label.clone()]))?;
    }
    finish(w)
}

/// Every registry entry with the value this run used.
pub fn render_assumptions(registry: &crate::registry::Registry, values: &crate::registry::Values) -> Result<Vec<u8>> {
    let mut w = csv_writer();
    io(w.write_record(["name", "unit", "value", "default", "low", "high", "prior", "label", "description", "source"]))?;
    for s in registry.specs() {
        io(w.write_record([
            s.name.clone(),
            s.unit.clone(),
            fmt_num(values.get(&s.name)),
            fmt_num(s.default),
            fmt_num(s.low),
            fmt_num(s.high),
            s.prior.id().to_string(),
            s.label.clone(),
            s.description.clone(),
            s.source.clone(),
        ]))?;
    }
    finish(w)
}

/// What produced a run, for reproducibility.
#[derive(Debug, serde::Serialize)]
pub struct Manifest<'a> {
    pub shareshift_version: &'static str,
    pub scenario_name: &'a str,
    pub scenario_file: String,
    pub scenario_sha256: String,
    pub seed: u64,
    pub replications: u32,
    pub scale: f64,
    pub threads: usize,
    pub agents_per_replication: u64,
    pub agent_steps: u64,
    pub first_divergent_month: Option<String>,
    pub data_sha256: &'a std::collections::BTreeMap<String, String>,
    pub timings_seconds: std::collections::BTreeMap<&'static str, f64>,
    pub scenario: &'a Scenario,
}

/// SHA-256 of the resolved scenario's canonical JSON.
pub fn scenario_hash(s: &Scenario) -> String {
    crate::data::hex_sha256(&serde_json::to_vec(s).unwrap_or_default())
}

pub fn render_manifest(m: &Manifest) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(m).map_err(|e| Error::Internal(format!("rendering manifest: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// An output folder being written: a temporary sibling until `commit`.
pub struct OutputDir {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl OutputDir {
    /// Creates the temporary folder next to `target`, failing fast if the
    /// location is unusable.
    pub fn prepare(target: &Path) -> Result<OutputDir> {
        let parent = target.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
        let name =
            target.file_name().ok_or_else(|| Error::output(target, "expected a folder name, found none"))?.to_string_lossy().into_owned();
        if target.exists() && !target.is_dir() {
            return Err(Error::output(target, "expected a folder, found a file"));
        }
        std::fs::create_dir_all(parent).map_err(|e| Error::output(parent, format!("expected a folder that can be created, found: {e}")))?;
        tidy(parent, &name, target);
        let temp = parent.join(format!(".{name}.partial-{}", std::process::id()));
        if temp.exists() {
            std::fs::remove_dir_all(&temp)
                .map_err(|e| Error::output(&temp, format!("expected a stale temporary folder that can be removed, found: {e}")))?;
        }
        std::fs::create_dir(&temp)
            .map_err(|e| Error::output(parent, format!("expected a folder where files can be written, found: {e}")))?;
        Ok(OutputDir { target: target.to_path_buf(), temp, committed: false })
    }

    pub fn write(&self, relative: &str, bytes: &[u8]) -> Result<()> {
        let path = self.temp.join(relative);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::output(dir, format!("cannot create: {e}")))?;
        }
        std::fs::write(&path, bytes).map_err(|e| Error::output(&path, format!("cannot write: {e}")))
    }

    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Moves the finished folder into place, replacing any earlier result.
    pub fn commit(mut self) -> Result<PathBuf> {
        let old = self.temp.with_file_name(format!(
            ".{}.previous-{}",
            self.target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            std::process::id()
        ));
        let had_old = self.target.exists();
        if had_old {
            std::fs::rename(&self.target, &old)
                .map_err(|e| Error::output(&self.target, format!("cannot move the earlier result aside: {e}")))?;
        }
        if let Err(e) = std::fs::rename(&self.temp, &self.target) {
            if had_old {
                let _ = std::fs::rename(&old, &self.target);
            }
            return Err(Error::output(&self.target, format!("cannot move the new result into place: {e}")));
        }
        self.committed = true;
        if had_old {
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(self.target.clone())
    }
}

/// Clears what a killed run left beside `target`: temporary folders of
/// processes that no longer exist, and, if a kill fell between the two
/// renames of a commit, puts the earlier complete result back in place.
fn tidy(parent: &Path, name: &str, target: &Path) {
    let Ok(entries) = std::fs::read_dir(parent) else { return };
    let mut previous = Vec::new();
    for e in entries.flatten() {
        let file = e.file_name().to_string_lossy().into_owned();
        let dead = |prefix: &str| file.strip_prefix(prefix).and_then(|pid| pid.parse::<u32>().ok()).is_some_and(|pid| !process_alive(pid));
        if dead(&format!(".{name}.partial-")) {
            let _ = std::fs::remove_dir_all(e.path());
        } else if dead(&format!(".{name}.previous-")) {
            previous.push(e.path());
        }
    }
    for p in previous {
        if !target.exists() {
            let _ = std::fs::rename(&p, target);
        } else {
            let _ = std::fs::remove_dir_all(&p);
        }
    }
}

/// Whether a process exists (Linux `/proc`); elsewhere assume it does, so
/// nothing of a running process is ever removed.
fn process_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

impl Drop for OutputDir {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_dir_all(&self.temp);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_print_with_eight_significant_digits() {
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(0.358123456789), "0.35812346");
        assert_eq!(fmt_num(1234.5), "1234.5");
        assert_eq!(fmt_num(-0.000012345678912), "-0.000012345679");
        assert_eq!(fmt_num(12345678912.0), "12345678912");
        assert_eq!(fmt_num(1.0), "1");
    }
}

/// Parameter points of an analysis, one row each: the id column, how the
/// point was simulated, its calibration, the varied parameters, the headline
/// outcomes.
pub fn render_points(
    id_column: &str,
    names: &[String],
    points: &[crate::analysis::Point],
    scale: f64,
    replications: u32,
) -> Result<Vec<u8>> {
    let mut w = csv_writer();
    let mut header: Vec<String> =
        [id_column, "scale", "replications", "horizon", "fit_gap_pp", "calibration_iterations"].iter().map(|s| s.to_string()).collect();
    header.extend(names.iter().cloned());
    header.extend(crate::summary::HEADLINE.iter().map(|h| h.id.to_string()));
    io(w.write_record(&header))?;
    for (k, p) in points.iter().enumerate() {
        let mut rec = vec![
            k.to_string(),
            fmt_num(scale),
            replications.to_string(),
            p.horizon.clone(),
            fmt_num(p.fit_gap_pp),
            p.calibration_iterations.to_string(),
        ];
        rec.extend(p.parameters.iter().map(|&v| fmt_num(v)));
        rec.extend(p.outcomes.iter().map(|&v| fmt_num(v)));
        io(w.write_record(&rec))?;
    }
    finish(w)
}

/// Sensitivity indices, one row per outcome, parameter and index.
pub fn render_sensitivity(s: &crate::analysis::Sensitivity) -> Result<Vec<u8>> {
    let mut w = csv_writer();
    io(w.write_record(["outcome", "unit", "parameter", "index", "value", "ci95_low", "ci95_high"]))?;
    for o in &s.outcomes {
        for (j, name) in s.parameters.iter().enumerate() {
            let mut rows: Vec<(&str, f64, f64, f64)> = Vec::new();
            if let Some(m) = &o.morris {
                rows.push(("mu_star", m.mu_star[j].value, m.mu_star[j].low, m.mu_star[j].high));
                rows.push(("sigma", m.sigma[j], f64::NAN, f64::NAN));
            }
            if let Some(x) = &o.sobol {
                rows.push(("S1", x.first[j].value, x.first[j].low, x.first[j].high));
                rows.push(("ST", x.total[j].value, x.total[j].low, x.total[j].high));
            }
            for (index, v, lo, hi) in rows {
                let cell = |x: f64| if x.is_finite() { fmt_num(x) } else { String::new() };
                io(w.write_record([
                    o.outcome.to_string(),
                    o.unit.to_string(),
                    name.clone(),
                    index.to_string(),
                    cell(v),
                    cell(lo),
                    cell(hi),
                ]))?;
            }
        }
    }
    finish(w)
}
