//! The files of a report: charts as PNG and SVG, `report.html` and
//! `report.md`, as (relative path, bytes) pairs. Rendering is pure; the
//! caller writes the files.

use super::{RunSummary, charts, html, markdown};
use crate::error::Result;

pub type Files = Vec<(String, Vec<u8>)>;

/// Charts and both reports of one run.
pub fn run_report(summary: &RunSummary) -> Result<Files> {
    let rendered = charts::render_all(summary)?;
    let mut files = chart_files(&rendered);
    files.push(("report.html".into(), html::render(summary, &rendered).into_bytes()));
    files.push(("report.md".into(), markdown::render(summary, &rendered).into_bytes()));
    Ok(files)
}

/// Charts and both reports comparing several runs.
pub fn comparison_report(summaries: &[RunSummary]) -> Result<Files> {
    let rendered = charts::render_comparison(summaries)?;
    let mut files = chart_files(&rendered);
    files.push(("report.html".into(), html::render_comparison(summaries, &rendered).into_bytes()));
    files.push(("report.md".into(), markdown::render_comparison(summaries, &rendered).into_bytes()));
    Ok(files)
}

fn chart_files(charts: &[super::RenderedChart]) -> Files {
    let mut files = Vec::new();
    for c in charts {
        files.push((format!("charts/{}.svg", c.id), c.svg.clone().into_bytes()));
        files.push((format!("charts/{}.png", c.id), c.png.clone()));
    }
    files
}
