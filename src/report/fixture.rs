//! A synthetic `RunSummary` for the report tests: 36 months from 2024-01,
//! Taobao/Tmall accepting WeChat Pay in 2024-09, two provinces, a few
//! assumptions and one tiny chart. The numbers are plausible, not simulated:
//! the tests check how reports print numbers, not what the model computes.

use super::{Assumption, Band, Effect, FitPoint, GainShare, Headline, RenderedChart, RunMeta, RunSummary, Series};
use crate::calendar::Month;

pub fn month(text: &str) -> Month {
    Month::parse(text).expect("fixture months are valid")
}

fn band(mean: f64, low: f64, high: f64) -> Band {
    Band { mean, low, high }
}

/// The horizons of a run with its event in 2024-09: +3, +12 and the end.
const HORIZONS: [(&str, &str); 3] = [("+3 months", "2024-12"), ("+12 months", "2025-09"), ("end of horizon", "2026-12")];

/// The default scenario's summary.
pub fn summary() -> RunSummary {
    let start = month("2024-01");
    RunSummary {
        meta: meta(),
        scenario_json: SCENARIO_JSON.to_string(),
        events: vec!["2024-09 accept wechat_pay on taobao (scenario arm)".to_string()],
        months: (0..36).map(|i| start.plus(i)).collect(),
        national: national(),
        headline: headline(),
        regional: regional(),
        segments: segments(),
        gain: gain(),
        fit: fit(),
        assumptions: assumptions(),
        uncertainty: None,
    }
}

/// The same run with no event: both arms are the baseline, every difference
/// is zero and WeChat Pay never reaches Taobao/Tmall.
pub fn no_event_summary() -> RunSummary {
    let mut s = summary();
    s.meta.scenario_name = "status_quo_check".to_string();
    s.meta.title = "Status quo check".to_string();
    s.meta.first_divergent_month = None;
    s.events.clear();
    for h in &mut s.headline {
        h.value = band(0.0, 0.0, 0.0);
        h.scenario_mean = h.baseline_mean;
    }
    s
}

/// A chart as the chart code renders it: SVG text naming the bundled font.
pub fn chart() -> RenderedChart {
    RenderedChart {
        id: "platform_shares".to_string(),
        title: "Platform GMV shares".to_string(),
        caption: "Taobao/Tmall gains share from the month it accepts WeChat Pay.".to_string(),
        svg: concat!(
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="120" height="40" viewBox="0 0 120 40">"#,
            r##"<rect x="0" y="0" width="120" height="40" fill="#FFFFFF"/>"##,
            r#"<text x="4" y="24" font-family="DejaVu Sans" font-size="12">Taobao &amp; JD</text>"#,
            "</svg>"
        )
        .to_string(),
        png: Vec::new(),
    }
}

fn meta() -> RunMeta {
    RunMeta {
        scenario_name: "taobao_wechat_pay".to_string(),
        title: "Taobao/Tmall accepts WeChat Pay".to_string(),
        description: "Taobao/Tmall starts accepting WeChat Pay in September 2024.".to_string(),
        baseline_name: "status_quo".to_string(),
        version: "0.1.0".to_string(),
        seed: 20240901,
        replications: 20,
        scale: 0.001,
        threads: 2,
        agents_per_replication: 1_234_567,
        seconds: 42.71,
        scenario_sha256: "3f5e0c1b9a7d2e4f6a8b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f".to_string(),
        first_divergent_month: Some(month("2024-09")),
    }
}

const SCENARIO_JSON: &str = r#"{
  "name": "taobao_wechat_pay",
  "baseline": "status_quo",
  "start": "2024-01",
  "months": 36,
  "events": [
    { "month": "2024-09", "action": "accept", "wallet": "wechat_pay", "platform": "taobao" }
  ],
  "note": "share < 1 & \"quoted\""
}"#;

/// Taobao/Tmall's GMV share per arm and their difference, ramping up after
/// the event.
fn national() -> Vec<Series> {
    let base = |i: usize| 0.42 - 0.0003 * i as f64;
    let lift = |i: usize| if i < 8 { 0.0 } else { 0.045 * (1.0 - (-(i as f64 - 7.0) / 6.0).exp()) };
    let series = |arm: &str, f: &dyn Fn(usize) -> f64, spread: f64| Series {
        metric: "gmv_share_taobao".to_string(),
        arm: arm.to_string(),
        values: (0..36).map(|i| band(f(i), f(i) - spread, f(i) + spread)).collect(),
    };
    vec![series("baseline", &base, 0.004), series("scenario", &|i| base(i) + lift(i), 0.004), series("difference", &lift, 0.0006)]
}

fn headline() -> Vec<Headline> {
    // (metric, label, unit, [(mean, low, high, baseline, scenario); 3 horizons])
    type Row = (&'static str, &'static str, &'static str, [(f64, f64, f64, f64, f64); 3]);
    let rows: [Row; 5] = [
        (
            "taobao_gmv_share_change",
            "Taobao/Tmall GMV share, change",
            "pp",
            [(1.52, 1.47, 1.58, 42.10, 43.62), (3.87, 3.81, 3.93, 41.80, 45.67), (4.35, 4.27, 4.44, 41.20, 45.55)],
        ),
        (
            "taobao_order_share_change",
            "Taobao/Tmall order share, change",
            "pp",
            [(1.10, 1.05, 1.16, 38.50, 39.60), (2.95, 2.90, 3.01, 38.20, 41.15), (3.40, 3.33, 3.47, 37.70, 41.10)],
        ),
        (
            "wechat_pay_share_of_taobao",
            "WeChat Pay share of Taobao/Tmall payments",
            "% of Taobao/Tmall GMV",
            [(18.40, 17.90, 18.90, 0.0, 18.40), (33.10, 32.50, 33.80, 0.0, 33.10), (38.60, 37.80, 39.30, 0.0, 38.60)],
        ),
        (
            "wechat_only_taobao_buyers_change",
            "New Taobao/Tmall buyers among WeChat-Pay-only shoppers",
            "million per month",
            [(0.95, 0.88, 1.02, 3.20, 4.15), (1.84, 1.75, 1.93, 3.10, 4.94), (2.10, 2.00, 2.21, 3.00, 5.10)],
        ),
        (
            "alipay_payment_share_change",
            "Alipay share of all e-commerce payments, change",
            "pp",
            [(-1.05, -1.10, -1.00, 55.30, 54.25), (-2.46, -2.53, -2.39, 54.90, 52.44), (-2.90, -2.98, -2.82, 54.20, 51.30)],
        ),
    ];
    let mut out = Vec::new();
    for (metric, label, unit, values) in rows {
        for ((horizon, m), (mean, low, high, baseline, scenario)) in HORIZONS.iter().zip(values) {
            out.push(Headline {
                metric: metric.to_string(),
                label: label.to_string(),
                unit: unit.to_string(),
                horizon: horizon.to_string(),
                month: month(m),
                value: band(mean, low, high),
                replications: 20,
                baseline_mean: baseline,
                scenario_mean: scenario,
            });
        }
    }
    out
}

fn effect(group: &str, area: &str, horizon: usize, change: (f64, f64, f64), baseline: f64, wechat_only: f64) -> Effect {
    let (label, m) = HORIZONS[horizon];
    Effect {
        group: group.to_string(),
        area: area.to_string(),
        horizon: label.to_string(),
        month: month(m),
        change_pp: band(change.0, change.1, change.2),
        baseline_share_pct: baseline,
        wechat_only_share_pct: wechat_only,
    }
}

/// Two provinces (a coastal, urban one and an inland, rural one), each as a
/// whole and by area, at +12 months and the end of the horizon.
fn regional() -> Vec<Effect> {
    vec![
        effect("Zhejiang", "all", 1, (3.12, 3.01, 3.24), 47.3, 6.2),
        effect("Zhejiang", "urban", 1, (2.88, 2.75, 3.01), 48.1, 5.1),
        effect("Zhejiang", "rural", 1, (4.05, 3.80, 4.31), 44.0, 10.4),
        effect("Guizhou", "all", 1, (5.61, 5.40, 5.83), 33.5, 18.7),
        effect("Guizhou", "urban", 1, (4.20, 3.95, 4.46), 37.9, 12.3),
        effect("Guizhou", "rural", 1, (6.75, 6.44, 7.07), 30.1, 23.8),
        effect("Zhejiang", "all", 2, (3.51, 3.38, 3.65), 46.8, 5.8),
        effect("Zhejiang", "urban", 2, (3.22, 3.07, 3.37), 47.6, 4.8),
        effect("Zhejiang", "rural", 2, (4.62, 4.33, 4.92), 43.5, 9.9),
        effect("Guizhou", "all", 2, (6.30, 6.05, 6.55), 33.0, 17.9),
        effect("Guizhou", "urban", 2, (4.71, 4.42, 5.00), 37.4, 11.8),
        effect("Guizhou", "rural", 2, (7.58, 7.22, 7.95), 29.6, 22.9),
    ]
}

fn segments() -> Vec<Effect> {
    let mut out = Vec::new();
    for horizon in 0..3 {
        let scale = [0.4, 1.0, 1.12][horizon];
        for (segment, change, baseline, wechat_only) in [
            ("urban", 3.21, 44.6, 7.9),
            ("rural", 5.48, 35.2, 19.6),
            ("income_low", 5.02, 33.8, 21.4),
            ("income_middle", 3.90, 42.0, 10.2),
            ("income_high", 2.45, 47.9, 4.3),
        ] {
            let c = change * scale;
            out.push(effect(segment, "", horizon, (c, c * 0.97, c * 1.03), baseline, wechat_only));
        }
    }
    out
}

fn gain() -> Vec<GainShare> {
    HORIZONS
        .iter()
        .zip([(38.5, 22.1), (41.2, 24.8), (43.0, 25.5)])
        .map(|(&(horizon, m), (rural_pct, low_income_pct))| GainShare {
            horizon: horizon.to_string(),
            month: month(m),
            rural_pct,
            low_income_pct,
        })
        .collect()
}

fn fit() -> Vec<FitPoint> {
    let point = |target: &str, unit: &str, observed: f64, simulated: f64, label: &str| FitPoint {
        target: target.to_string(),
        unit: unit.to_string(),
        observed,
        simulated,
        label: label.to_string(),
    };
    vec![
        point("Taobao/Tmall GMV share", "%", 42.0, 41.7, "ESTIMATE"),
        point("Alipay share of e-commerce payments", "%", 56.0, 55.4, "ESTIMATE"),
        point("WeChat-Pay-only shoppers", "million", 85.0, 83.2, "assumption"),
    ]
}

fn assumptions() -> Vec<Assumption> {
    let entry =
        |name: &str, unit: &str, value: f64, default: f64, range: (f64, f64), prior: &str, label: &str, description: &str, source: &str| {
            Assumption {
                name: name.to_string(),
                unit: unit.to_string(),
                value,
                default,
                low: range.0,
                high: range.1,
                prior: prior.to_string(),
                label: label.to_string(),
                description: description.to_string(),
                source: source.to_string(),
            }
        };
    vec![
        entry(
            "wechat_trial_rate",
            "per month",
            0.08,
            0.06,
            (0.03, 0.12),
            "triangular(0.03, 0.06, 0.12)",
            "ESTIMATE",
            "Monthly probability that a WeChat-Pay-only shopper tries Taobao/Tmall once it accepts WeChat Pay",
            "Alibaba Group FY2025 annual report, https://www.alibabagroup.com/en-US/ir-financial-reports",
        ),
        entry(
            "price_sensitivity",
            "1/CNY",
            0.012,
            0.012,
            (0.006, 0.02),
            "uniform",
            "assumption",
            "Logit weight on price | utility per yuan",
            "Calibrated to platform shares (see docs/MODEL.md)",
        ),
        entry(
            "rural_delivery_days",
            "days",
            1.5,
            1.5,
            (0.5, 3.0),
            "uniform",
            "ESTIMATE",
            "Extra delivery days for rural addresses",
            "State Post Bureau statistics, 2023",
        ),
    ]
}
