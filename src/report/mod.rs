//! Charts and reports that tell a run's story without opening a CSV.
//!
//! Everything here is built from `RunSummary`, which `load` reads back from a
//! run's output folder (so `shareshift report` can rebuild charts and reports
//! without simulating). Each chart is prepared as plain series, then drawn by
//! a function generic over the plotters backend; each report format is a pure
//! renderer from the summary (and the charts' SVG text) to bytes. Only the
//! writer touches files.

pub mod analysis;
pub mod charts;
pub mod html;
pub mod load;
pub mod markdown;
pub mod text;
pub mod write;

#[cfg(test)]
mod fixture;

use crate::calendar::Month;
use serde::Serialize;

/// A value with an interval: the mean over replications and a 90% band.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Band {
    pub mean: f64,
    pub low: f64,
    pub high: f64,
}

/// One national metric over the horizon, for one arm (or the difference).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Metric column of `national.csv`, e.g. `gmv_share_taobao`.
    pub metric: String,
    /// "baseline", "scenario" or "difference" (scenario minus baseline).
    pub arm: String,
    /// One value per horizon month; `low`/`high` are the 5th and 95th
    /// percentiles over replications for an arm, the 90% confidence interval
    /// of the mean for the difference.
    pub values: Vec<Band>,
}

/// Change in Taobao/Tmall's GMV share in a group (percentage points).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Effect {
    /// Province name (regional table) or segment label (segments chart).
    pub group: String,
    /// "all", "urban" or "rural" for provinces; "" for segments.
    pub area: String,
    /// "+12 months", "end of horizon", ...
    pub horizon: String,
    pub month: Month,
    pub change_pp: Band,
    pub baseline_share_pct: f64,
    pub wechat_only_share_pct: f64,
}

/// One line of the headline table (as in `headline.csv`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Headline {
    pub metric: String,
    pub label: String,
    pub unit: String,
    pub horizon: String,
    pub month: Month,
    pub value: Band,
    pub replications: usize,
    pub baseline_mean: f64,
    pub scenario_mean: f64,
}

/// A calibration target against this run's baseline in its first month.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FitPoint {
    pub target: String,
    pub unit: String,
    pub observed: f64,
    pub simulated: f64,
    /// Evidence label of the observed figure (ESTIMATE, assumption, ...).
    pub label: String,
}

/// A registry entry as used in the run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assumption {
    pub name: String,
    pub unit: String,
    pub value: f64,
    pub default: f64,
    pub low: f64,
    pub high: f64,
    pub prior: String,
    pub label: String,
    pub description: String,
    pub source: String,
}

/// Who ran what, with which settings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunMeta {
    pub scenario_name: String,
    pub title: String,
    pub description: String,
    pub baseline_name: String,
    pub version: String,
    pub seed: u64,
    pub replications: u32,
    pub scale: f64,
    pub threads: usize,
    pub agents_per_replication: u64,
    pub seconds: f64,
    pub scenario_sha256: String,
    pub first_divergent_month: Option<Month>,
}

/// Where Taobao/Tmall's GMV gain comes from at one horizon: the share of the
/// national change in its GMV (CNY) contributed by a segment, in percent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GainShare {
    pub horizon: String,
    pub month: Month,
    /// Percent of the gain from rural consumers, mean over replications.
    pub rural_pct: f64,
    /// Percent of the gain from the low income band.
    pub low_income_pct: f64,
}

/// A rendered chart, as the reports embed (SVG) or link (PNG) it.
#[derive(Debug, Clone, PartialEq)]
pub struct RenderedChart {
    /// File stem under `charts/`, e.g. `platform_shares`.
    pub id: String,
    pub title: String,
    /// One sentence saying what to read in the chart.
    pub caption: String,
    pub svg: String,
    pub png: Vec<u8>,
}

/// One headline outcome with the spread that parameter uncertainty adds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UncertaintyRow {
    pub metric: String,
    pub label: String,
    pub unit: String,
    pub horizon: String,
    /// Mean over replications of the run with its 90% interval (chance alone).
    pub stochastic: Band,
    /// Median over parameter draws with their 5th-95th percentiles (each draw
    /// recalibrated and simulated with its own replications).
    pub total: Band,
}

/// Parameter uncertainty of a run (`run --uncertainty N`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Uncertainty {
    pub draws: usize,
    /// Names of the parameters drawn.
    pub parameters: Vec<String>,
    pub rows: Vec<UncertaintyRow>,
    /// Largest and mean gap of a recalibrated draw's baseline to its targets, pp.
    pub fit_gap_max_pp: f64,
    pub fit_gap_mean_pp: f64,
    /// How each draw was simulated.
    pub scale: f64,
    pub replications: u32,
}

/// Everything the charts and reports show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    pub meta: RunMeta,
    /// The scenario as resolved, as pretty JSON (from the manifest).
    pub scenario_json: String,
    /// Events of each arm, one line each ("2024-09 accept wechat_pay on taobao ...").
    pub events: Vec<String>,
    pub months: Vec<Month>,
    /// National series: every metric of `national.csv` for "baseline" and
    /// "scenario", and its "difference".
    pub national: Vec<Series>,
    pub headline: Vec<Headline>,
    /// Per province ("all", "urban", "rural") at the horizons after +3 months.
    pub regional: Vec<Effect>,
    /// Urban, rural and the three income bands, at every headline horizon.
    pub segments: Vec<Effect>,
    pub gain: Vec<GainShare>,
    pub fit: Vec<FitPoint>,
    pub assumptions: Vec<Assumption>,
    /// Present when the run drew parameter sets (`--uncertainty N`).
    pub uncertainty: Option<Uncertainty>,
}

impl RunSummary {
    /// The series of `metric` for `arm`, if present.
    pub fn series(&self, metric: &str, arm: &str) -> Option<&Series> {
        self.national.iter().find(|s| s.metric == metric && s.arm == arm)
    }
}
