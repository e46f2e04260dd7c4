//! From replications to what an analyst quotes: the headline table and the
//! regional effects, each with 90% intervals over replications.
//!
//! Differences are taken within a replication (scenario minus baseline, with
//! common random numbers) and then summarised, so the intervals are paired
//! intervals (Rossetti, Simulation Modeling and Arena, 4.4).

use crate::calendar::Month;
use crate::experiment::{Group, Results};
use crate::observe::metric_index;
use crate::scenario::Arm;
use crate::stats::Interval;
use serde::Serialize;

/// One line of the headline table.
#[derive(Debug, Clone, Serialize)]
pub struct HeadlineRow {
    pub metric: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    /// "+3 months", "+12 months", "end of horizon".
    pub horizon: String,
    pub month: Month,
    /// Scenario minus baseline (or the scenario's level, for level metrics).
    pub value: Interval,
    pub baseline_mean: f64,
    pub scenario_mean: f64,
}

/// A headline outcome: which metric, as a difference or the scenario's level.
#[derive(Debug, Clone, Copy)]
pub struct HeadlineMetric {
    pub id: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub column: &'static str,
    pub factor: f64,
    /// Report the scenario's level rather than the difference.
    pub level: bool,
}

pub const HEADLINE: [HeadlineMetric; 5] = [
    HeadlineMetric {
        id: "taobao_gmv_share_change",
        label: "Taobao/Tmall GMV share, change",
        unit: "pp",
        column: "gmv_share_taobao",
        factor: 100.0,
        level: false,
    },
    HeadlineMetric {
        id: "taobao_order_share_change",
        label: "Taobao/Tmall order share, change",
        unit: "pp",
        column: "order_share_taobao",
        factor: 100.0,
        level: false,
    },
    HeadlineMetric {
        id: "wechat_pay_share_of_taobao",
        label: "WeChat Pay share of Taobao/Tmall payments",
        unit: "% of Taobao/Tmall GMV",
        column: "pay_share_taobao_wechat_pay",
        factor: 100.0,
        level: true,
    },
    HeadlineMetric {
        id: "wechat_only_taobao_buyers_change",
        label: "New Taobao/Tmall buyers among WeChat-Pay-only shoppers",
        unit: "million per month",
        column: "wechat_only_taobao_buyers_million",
        factor: 1.0,
        level: false,
    },
    HeadlineMetric {
        id: "alipay_payment_share_change",
        label: "Alipay share of all e-commerce payments, change",
        unit: "pp",
        column: "pay_share_alipay",
        factor: 100.0,
        level: false,
    },
];

/// The month index of the first event (the arms' divergence) or 0.
pub fn event_index(divergence: Option<u32>) -> usize {
    divergence.unwrap_or(0) as usize
}

/// The horizon points of the headline: +3 and +12 months after the event
/// (where inside the horizon) and the last month.
pub fn horizon_points(results: &Results, divergence: Option<u32>) -> Vec<(String, usize)> {
    let last = results.months.len() - 1;
    let e = event_index(divergence);
    let mut out = Vec::new();
    for k in [3usize, 12] {
        if e + k < last {
            out.push((format!("+{k} months"), e + k));
        }
    }
    out.push(("end of horizon".to_string(), last));
    out
}

fn group_index(results: &Results, g: Group) -> usize {
    results.groups.iter().position(|x| *x == g).unwrap_or(0)
}

/// Per-replication values of a metric in a group: the scenario-minus-baseline
/// difference, or the scenario's level.
pub fn per_replication(results: &Results, column: &str, group: Group, month: usize, level: bool) -> Vec<f64> {
    let (m, g) = (metric_index(column).unwrap_or(0), group_index(results, group));
    (0..results.replications)
        .map(|r| {
            let s = results.value(r, Arm::Scenario, month, g, m);
            if level { s } else { s - results.value(r, Arm::Baseline, month, g, m) }
        })
        .collect()
}

fn mean_of(results: &Results, arm: Arm, column: &str, group: Group, month: usize) -> f64 {
    let (m, g) = (metric_index(column).unwrap_or(0), group_index(results, group));
    let v: Vec<f64> = (0..results.replications).map(|r| results.value(r, arm, month, g, m)).collect();
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

pub fn headline(results: &Results, divergence: Option<u32>) -> Vec<HeadlineRow> {
    let mut rows = Vec::new();
    for h in HEADLINE {
        for (label, t) in horizon_points(results, divergence) {
            let values: Vec<f64> = per_replication(results, h.column, Group::National, t, h.level).iter().map(|v| v * h.factor).collect();
            rows.push(HeadlineRow {
                metric: h.id,
                label: h.label,
                unit: h.unit,
                horizon: label,
                month: results.months[t],
                value: Interval::of(&values),
                baseline_mean: mean_of(results, Arm::Baseline, h.column, Group::National, t) * h.factor,
                scenario_mean: mean_of(results, Arm::Scenario, h.column, Group::National, t) * h.factor,
            });
        }
    }
    rows
}

/// Change in Taobao/Tmall's GMV share in one region group.
#[derive(Debug, Clone, Serialize)]
pub struct RegionalRow {
    pub province: String,
    /// "urban", "rural" or "all".
    pub area: &'static str,
    pub horizon: String,
    pub month: Month,
    pub taobao_gmv_share_change_pp: Interval,
    pub baseline_taobao_gmv_share_pct: f64,
    pub wechat_only_share_pct: f64,
}

pub fn regional(
    results: &Results,
    divergence: Option<u32>,
    province_names: &[String],
    cell_province: &[(usize, bool)],
) -> Vec<RegionalRow> {
    let mut rows = Vec::new();
    for (label, t) in horizon_points(results, divergence).into_iter().skip_while(|(l, _)| l == "+3 months") {
        let mut push = |name: &str, area: &'static str, g: Group| {
            let d: Vec<f64> = per_replication(results, "gmv_share_taobao", g, t, false).iter().map(|v| v * 100.0).collect();
            rows.push(RegionalRow {
                province: name.to_string(),
                area,
                horizon: label.clone(),
                month: results.months[t],
                taobao_gmv_share_change_pp: Interval::of(&d),
                baseline_taobao_gmv_share_pct: mean_of(results, Arm::Baseline, "gmv_share_taobao", g, t) * 100.0,
                wechat_only_share_pct: mean_of(results, Arm::Baseline, "wechat_only_share", g, t) * 100.0,
            });
        };
        for (p, name) in province_names.iter().enumerate() {
            push(name, "all", Group::Province(p));
            for (c, &(cp, rural)) in cell_province.iter().enumerate() {
                if cp == p {
                    push(name, if rural { "rural" } else { "urban" }, Group::Cell(c));
                }
            }
        }
    }
    rows
}
