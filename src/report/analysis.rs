//! Reports of analyses over parameter points: the parameter-uncertainty
//! section of a run's report, and the reports of `shareshift sensitivity`
//! and `shareshift sweep` (tables, charts and a sentence naming what drives
//! the answer).

use super::charts::{self, Bar, BarChart, BarRow, HeatMap, LegendEntry, Mark, XyChart};
use super::text::{Block, Cell, Table, chart_blocks, columns, fixed, general, heading, interval, table_or};
use super::write::Files;
use super::{RenderedChart, Uncertainty, html, markdown};
use crate::analysis::{Axis, Method, Point, Sensitivity};
use crate::error::Result;
use crate::summary::HEADLINE;
use plotters::style::RGBColor;
use serde::Serialize;

/// What an analysis ran, for its report and manifest.
#[derive(Debug, Clone, Serialize)]
pub struct AnalysisMeta {
    pub scenario_name: String,
    pub title: String,
    pub version: String,
    pub seed: u64,
    pub scale: f64,
    pub replications: u32,
    pub points: usize,
    pub seconds: f64,
}

/// The "Parameter uncertainty" section of a run's report.
pub fn uncertainty_blocks(u: &Uncertainty) -> Vec<Block<'static>> {
    let first = u.rows.first();
    let sentence = match first {
        Some(r) => format!(
            "Across {} parameter draws (Latin hypercube over the priors of {} parameters, each draw recalibrated), “{}” at {} ranges from {} to {} {} (5th–95th percentile), against {}–{} {} from chance alone. The recalibrated baselines stay within {:.2} pp of their targets (mean gap {:.2} pp).",
            u.draws,
            u.parameters.len(),
            r.label,
            r.horizon,
            fixed(r.total.low, 2),
            fixed(r.total.high, 2),
            r.unit,
            fixed(r.stochastic.low, 2),
            fixed(r.stochastic.high, 2),
            r.unit,
            u.fit_gap_max_pp,
            u.fit_gap_mean_pp
        ),
        None => "The parameter draws gave no headline outcomes.".into(),
    };
    vec![
        heading(2, "Parameter uncertainty", "uncertainty"),
        Block::Paragraph(sentence),
        Block::Note(format!(
            "The headline table above sets each outcome's spread over the draws beside its interval from chance alone. Each draw was simulated at scale {} with {} replications and common random numbers; the draws are in uncertainty.csv. The sensitivity command (shareshift sensitivity) says which parameters drive the spread.",
            general(u.scale),
            u.replications
        )),
    ]
}

/// The index ranking parameters for one outcome: ST (Sobol) or mu* (Morris).
fn ranking(s: &Sensitivity, k: usize) -> Vec<(usize, f64, f64, f64)> {
    let o = &s.outcomes[k];
    let mut r: Vec<(usize, f64, f64, f64)> = (0..s.parameters.len())
        .map(|j| match (&o.sobol, &o.morris) {
            (Some(x), _) => (j, x.total[j].value, x.total[j].low, x.total[j].high),
            (_, Some(m)) => (j, m.mu_star[j].value, m.mu_star[j].low, m.mu_star[j].high),
            _ => (j, f64::NAN, f64::NAN, f64::NAN),
        })
        .collect();
    r.sort_by(|a, b| b.1.total_cmp(&a.1));
    r
}

/// "The ... depends most on theta (ST 0.62, 95% CI 0.55–0.70), ...": the
/// three largest indices, leaving out any below a tenth of the largest, so a
/// parameter that hardly matters is not called a driver.
pub fn top_drivers_sentence(s: &Sensitivity, k: usize) -> String {
    let o = &s.outcomes[k];
    let index = if s.method == Method::Sobol { "total-order index" } else { "μ*" };
    let ranked: Vec<_> = ranking(s, k).into_iter().filter(|r| r.1.is_finite()).collect();
    let largest = ranked.first().map(|r| r.1).unwrap_or(f64::NAN);
    let drivers: Vec<_> = ranked.iter().take(3).filter(|r| r.1 >= 0.1 * largest).collect();
    let named: Vec<String> = drivers
        .iter()
        .map(|&&(j, v, lo, hi)| format!("{} ({index} {}, 95% CI {})", s.parameters[j], fixed(v, 2), interval(lo, hi, 2)))
        .collect();
    let minor = ranked.len() - drivers.len();
    let rest = match minor {
        0 => String::new(),
        1 => " The other parameter matters less than a tenth as much.".to_string(),
        n if drivers.len() < 3 => format!(" The other {n} parameters each matter less than a tenth as much."),
        n => format!(" The other {n} parameters matter less."),
    };
    match named.len() {
        0 => format!("No index could be estimated for “{}”.", o.label),
        _ if !(largest > 0.0) => format!("No parameter moves “{}” in this design.", o.label),
        _ => format!("“{}” depends most on {}.{rest}", o.label, join_and(&named)),
    }
}

fn join_and(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// Tornado chart of one outcome: parameters by decreasing index.
fn tornado(s: &Sensitivity, k: usize) -> BarChart {
    let o = &s.outcomes[k];
    let grey = RGBColor(0x9A, 0x9A, 0x9A);
    let rows: Vec<BarRow> = ranking(s, k)
        .into_iter()
        .take(15)
        .map(|(j, v, lo, hi)| {
            let mut bars = vec![Bar { value: v, low: lo, high: hi, colour: charts::TAOBAO_ORANGE }];
            if let Some(x) = &o.sobol {
                bars.push(Bar { value: x.first[j].value, low: x.first[j].low, high: x.first[j].high, colour: grey });
            }
            BarRow { label: s.parameters[j].clone(), bars }
        })
        .collect();
    let (x_label, legend) = match s.method {
        Method::Sobol => (
            "Sobol index (share of output variance)".to_string(),
            vec![
                LegendEntry::new("Total order (ST)", charts::TAOBAO_ORANGE, Mark::Bar),
                LegendEntry::new("First order (S1)", grey, Mark::Bar),
            ],
        ),
        Method::Morris => (format!("Morris μ* ({} over each parameter's range)", o.unit), vec![]),
    };
    let height = (160 + 34 * rows.len() as u32).max(420);
    BarChart {
        title: format!("What drives: {}", o.label),
        caption: format!("{} Whiskers are 95% bootstrap intervals.", top_drivers_sentence(s, k)),
        x_label,
        rows,
        legend,
        size: (900, height),
    }
}

fn index_table(s: &Sensitivity, k: usize) -> Table {
    let o = &s.outcomes[k];
    let spec: Vec<(&str, bool)> = match s.method {
        Method::Sobol => vec![("Parameter", false), ("ST", true), ("ST 95% CI", true), ("S1", true), ("S1 95% CI", true)],
        Method::Morris => vec![("Parameter", false), ("μ*", true), ("μ* 95% CI", true), ("σ", true)],
    };
    let mut t = Table { columns: columns(&spec), rows: Vec::new() };
    for (j, _, _, _) in ranking(s, k) {
        let mut row = vec![Cell::text(s.parameters[j].clone())];
        if let Some(x) = &o.sobol {
            let (st, s1) = (x.total[j], x.first[j]);
            row.extend([
                Cell::number(fixed(st.value, 3), st.value),
                Cell::text(interval(st.low, st.high, 3)),
                Cell::number(fixed(s1.value, 3), s1.value),
                Cell::text(interval(s1.low, s1.high, 3)),
            ]);
        }
        if let Some(m) = &o.morris {
            row.extend([
                Cell::number(fixed(m.mu_star[j].value, 3), m.mu_star[j].value),
                Cell::text(interval(m.mu_star[j].low, m.mu_star[j].high, 3)),
                Cell::number(fixed(m.sigma[j], 3), m.sigma[j]),
            ]);
        }
        t.rows.push(row);
    }
    t
}

fn meta_table(m: &AnalysisMeta, extra: &[(&str, String)]) -> Table {
    let mut t = Table { columns: columns(&[("Setting", false), ("Value", false)]), rows: Vec::new() };
    let mut rows: Vec<(&str, String)> = vec![
        ("Scenario", format!("{} ({})", m.title, m.scenario_name)),
        ("Points", m.points.to_string()),
        ("Scale (shoppers per agent)", general(m.scale)),
        ("Replications per point", m.replications.to_string()),
        ("Seed (common to every point)", m.seed.to_string()),
        ("shareshift version", m.version.clone()),
        ("Seconds", fixed(m.seconds, 1)),
    ];
    rows.extend(extra.iter().map(|(k, v)| (*k, v.clone())));
    for (k, v) in rows {
        t.rows.push(vec![Cell::text(k), Cell::text(v)]);
    }
    t
}

fn fit_note(points: &[Point]) -> String {
    let max = points.iter().map(|p| p.fit_gap_pp).fold(0.0, f64::max);
    let mean = points.iter().map(|p| p.fit_gap_pp).sum::<f64>() / points.len().max(1) as f64;
    format!(
        "Every point was recalibrated before it was simulated: its baseline stays within {max:.2} pp of the targets (mean gap {mean:.2} pp)."
    )
}

/// Charts and reports of a sensitivity analysis.
pub fn sensitivity_files(s: &Sensitivity, m: &AnalysisMeta) -> Result<Files> {
    let rendered: Vec<RenderedChart> = (0..s.outcomes.len())
        .map(|k| charts::render_bars(&format!("tornado_{}", s.outcomes[k].outcome), &tornado(s, k)))
        .collect::<Result<_>>()?;
    let method = match s.method {
        Method::Sobol => "Sobol indices (Saltelli design; Jansen total-order estimator)",
        Method::Morris => "Morris elementary effects (μ*, σ)",
    };
    let title = format!("What drives the answer: {}", m.title);
    let mut blocks = vec![heading(1, &title, "top")];
    blocks.push(Block::Paragraph(format!(
        "{method} over {} parameters, {} model runs. {}",
        s.parameters.len(),
        m.points,
        (0..s.outcomes.len()).map(|k| top_drivers_sentence(s, k)).collect::<Vec<_>>().join(" ")
    )));
    blocks.push(Block::Note(fit_note(&s.points)));
    blocks.push(heading(2, "Charts", "charts"));
    blocks.extend(chart_blocks(&rendered));
    blocks.push(heading(2, "Indices", "indices"));
    for (k, o) in s.outcomes.iter().enumerate() {
        blocks.push(heading(3, o.label, o.outcome));
        blocks.push(table_or(index_table(s, k), true, "No indices."));
    }
    blocks.push(heading(2, "Run metadata", "metadata"));
    blocks.push(Block::Table { table: meta_table(m, &[("Method", method.to_string())]), sortable: false });
    Ok(files(&title, blocks, &rendered))
}

/// Charts and reports of a sweep over one or two parameters.
pub fn sweep_files(axes: &[Axis], points: &[Point], m: &AnalysisMeta) -> Result<Files> {
    let mut rendered = Vec::new();
    for (k, h) in HEADLINE.iter().enumerate() {
        let id = format!("sweep_{}", h.id);
        let chart = if axes.len() == 1 {
            let line: Vec<(f64, f64)> = points.iter().map(|p| (p.parameters[0], p.outcomes[k])).collect();
            charts::render_xy(
                &id,
                &XyChart {
                    title: format!("{} against {}", h.label, axes[0].name),
                    caption: format!(
                        "{} at {} for each value of {}, each point recalibrated.",
                        h.label,
                        points.first().map(|p| p.horizon.as_str()).unwrap_or(""),
                        axes[0].name
                    ),
                    x_label: axes[0].label(),
                    y_label: h.unit.to_string(),
                    lines: vec![(h.label.to_string(), charts::TAOBAO_ORANGE, line)],
                    size: charts::CHART_SIZE,
                },
            )?
        } else {
            let (nx, ny) = (axes[1].values.len(), axes[0].values.len());
            let values: Vec<Vec<f64>> =
                (0..ny).map(|iy| (0..nx).map(|ix| points.get(iy * nx + ix).map(|p| p.outcomes[k]).unwrap_or(f64::NAN)).collect()).collect();
            charts::render_heat_map(
                &id,
                &HeatMap {
                    title: format!("{} ({})", h.label, h.unit),
                    caption: format!("{} over a grid of {} and {}, each point recalibrated.", h.label, axes[0].name, axes[1].name),
                    x_label: axes[1].label(),
                    y_label: axes[0].label(),
                    xs: axes[1].values.clone(),
                    ys: axes[0].values.clone(),
                    values,
                    size: (900, 600),
                },
            )?
        };
        rendered.push(chart);
    }
    let names: Vec<&str> = axes.iter().map(|a| a.name.as_str()).collect();
    let title = format!("Sweep of {}: {}", names.join(" and "), m.title);
    let mut blocks = vec![heading(1, &title, "top")];
    blocks.push(Block::Paragraph(sweep_sentence(axes, points)));
    blocks.push(Block::Note(fit_note(points)));
    blocks.push(heading(2, "Charts", "charts"));
    blocks.extend(chart_blocks(&rendered));
    blocks.push(heading(2, "Points", "points"));
    let mut spec: Vec<(&str, bool)> = names.iter().map(|n| (*n, true)).collect();
    spec.extend(HEADLINE.iter().map(|h| (h.id, true)));
    spec.push(("fit gap (pp)", true));
    let mut t = Table { columns: columns(&spec), rows: Vec::new() };
    for p in points {
        let mut row: Vec<Cell> = p.parameters.iter().map(|&v| Cell::number(general(v), v)).collect();
        row.extend(p.outcomes.iter().map(|&v| Cell::number(fixed(v, 3), v)));
        row.push(Cell::number(fixed(p.fit_gap_pp, 3), p.fit_gap_pp));
        t.rows.push(row);
    }
    blocks.push(Block::Table { table: t, sortable: true });
    blocks.push(heading(2, "Run metadata", "metadata"));
    blocks.push(Block::Table { table: meta_table(m, &[]), sortable: false });
    Ok(files(&title, blocks, &rendered))
}

/// How far the first headline outcome moves across the sweep.
fn sweep_sentence(axes: &[Axis], points: &[Point]) -> String {
    let h = &HEADLINE[0];
    let finite: Vec<&Point> = points.iter().filter(|p| p.outcomes[0].is_finite()).collect();
    let (Some(lo), Some(hi)) = (
        finite.iter().min_by(|a, b| a.outcomes[0].total_cmp(&b.outcomes[0])),
        finite.iter().max_by(|a, b| a.outcomes[0].total_cmp(&b.outcomes[0])),
    ) else {
        return "The sweep gave no finite outcomes.".into();
    };
    let at =
        |p: &Point| axes.iter().zip(&p.parameters).map(|(a, v)| format!("{} = {}", a.name, general(*v))).collect::<Vec<_>>().join(", ");
    format!(
        "Over the grid “{}” at {} ranges from {} {} ({}) to {} {} ({}).",
        h.label,
        lo.horizon,
        fixed(lo.outcomes[0], 2),
        h.unit,
        at(lo),
        fixed(hi.outcomes[0], 2),
        h.unit,
        at(hi)
    )
}

fn files(title: &str, blocks: Vec<Block>, rendered: &[RenderedChart]) -> Files {
    let mut out = Files::new();
    for c in rendered {
        out.push((format!("charts/{}.svg", c.id), c.svg.clone().into_bytes()));
        out.push((format!("charts/{}.png", c.id), c.png.clone()));
    }
    out.push(("report.html".into(), html::page(title, &blocks, rendered).into_bytes()));
    out.push(("report.md".into(), markdown::document(&blocks).into_bytes()));
    out
}
