//! The charts of a run: national GMV shares over time, the change in
//! Taobao/Tmall's share by province and by segment, the payment mix on
//! Taobao/Tmall, WeChat-Pay-only buyers on Taobao/Tmall and the calibration
//! fit, plus a comparison of several scenarios.
//!
//! Each chart is prepared from a `RunSummary` as plain data (`prepare_*`),
//! then drawn by a function generic over the plotters backend (`draw_*`), so
//! one piece of code writes both the SVG the reports embed and the PNG they
//! link. The output is the same byte for byte on every machine: text is
//! rasterised by ab_glyph from the DejaVu Sans bundled in `assets/fonts`
//! (never from system fonts) and the PNG encoder is pure Rust. One palette
//! gives each platform and each wallet the same colour in every chart; the
//! baseline arm is dashed and the scenario solid. Missing data never fail a
//! report: a chart without data is drawn as a placeholder saying what is
//! missing, and NaN values leave gaps instead of panicking.

use super::{Effect, FitPoint, RenderedChart, RunSummary, Series};
use crate::calendar::Month;
use crate::error::{Error, Result};
use crate::platform::Platform;
use crate::wallet::Wallet;
use plotters::backend::RGBPixel;
use plotters::coord::Shift;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::element::DashedPathElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::ops::Range;
use std::sync::OnceLock;

/// The family name the bundled font is registered under. The SVG text
/// elements carry it verbatim as their `font-family`, so a viewer without
/// DejaVu Sans falls back to its own sans-serif rather than to a serif face.
pub const FONT_FAMILY: &str = "DejaVu Sans, sans-serif";

/// DejaVu Sans, compiled in so that rendering never depends on system fonts.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// Size of every chart except the taller bar charts, in pixels.
pub const CHART_SIZE: (u32, u32) = (900, 520);

// Palette. Brand-like hues where they are distinct enough to tell apart;
// Pinduoduo's and Kuaishou's brand colours clash with JD and Taobao, so
// they get purple and gold.
pub const TAOBAO_ORANGE: RGBColor = RGBColor(0xFF, 0x6A, 0x00);
pub const JD_RED: RGBColor = RGBColor(0xD7, 0x19, 0x1C);
pub const PINDUODUO_PURPLE: RGBColor = RGBColor(0x6A, 0x3D, 0x9A);
pub const DOUYIN_TEAL: RGBColor = RGBColor(0x0F, 0x8B, 0x8D);
pub const KUAISHOU_GOLD: RGBColor = RGBColor(0xB8, 0x86, 0x0B);
pub const OTHER_GREY: RGBColor = RGBColor(0x8C, 0x8C, 0x8C);
pub const ALIPAY_BLUE: RGBColor = RGBColor(0x16, 0x77, 0xFF);
pub const WECHAT_GREEN: RGBColor = RGBColor(0x07, 0xA8, 0x4F);
pub const CARD_GREY: RGBColor = RGBColor(0x5F, 0x6B, 0x73);
/// Colour of the arm-style legend keys ("Scenario", "Baseline").
pub const KEY_GREY: RGBColor = RGBColor(0x33, 0x33, 0x33);
pub const EVENT_COLOUR: RGBColor = RGBColor(0x44, 0x44, 0x44);
pub const WHISKER_COLOUR: RGBColor = RGBColor(0x22, 0x22, 0x22);
pub const GRID_COLOUR: RGBColor = RGBColor(0xE2, 0xE2, 0xE2);
pub const FIT_OBSERVED: RGBColor = RGBColor(0x4D, 0x4D, 0x4D);
pub const FIT_SIMULATED: RGBColor = RGBColor(0x4C, 0x9E, 0xD9);
/// Lines of the scenario comparison, one per scenario (all show Taobao/Tmall,
/// so platform colours would mislead).
pub const SCENARIO_COLOURS: [RGBColor; 6] = [
    RGBColor(0x1F, 0x77, 0xB4),
    RGBColor(0xD6, 0x27, 0x28),
    RGBColor(0x2C, 0xA0, 0x2C),
    RGBColor(0x94, 0x67, 0xBD),
    RGBColor(0x8C, 0x56, 0x4B),
    RGBColor(0xE3, 0x77, 0xC2),
];
/// Dash length and gap of the baseline arm, in pixels.
pub const DASH: (u32, u32) = (7, 5);

const LINE_WIDTH: u32 = 2;
const BAND_OPACITY: f64 = 0.18;
const LEGEND_WIDTH: u32 = 235;
const TITLE_SIZE: f64 = 21.0;
const AXIS_SIZE: f64 = 15.0;
const LABEL_SIZE: f64 = 13.0;
/// Part of a bar-chart row filled by its bars; the rest separates rows.
const ROW_FILL: f64 = 0.7;
const PREFERRED_HORIZON: &str = "+12 months";
const TIME_AXIS: &str = "Month (YYYY-MM)";
const EVENT_NOTE: &str = " The vertical line marks the first month in which the arms differ.";
/// National series hold shares as fractions (as in `national.csv`); the
/// charts show percent and percentage points.
const PERCENT: f64 = 100.0;

/// The colour of a platform in every chart.
pub fn platform_colour(p: Platform) -> RGBColor {
    match p {
        Platform::Taobao => TAOBAO_ORANGE,
        Platform::Jd => JD_RED,
        Platform::Pinduoduo => PINDUODUO_PURPLE,
        Platform::Douyin => DOUYIN_TEAL,
        Platform::Kuaishou => KUAISHOU_GOLD,
        Platform::Other => OTHER_GREY,
    }
}

/// The colour of a payment method in every chart.
pub fn wallet_colour(w: Wallet) -> RGBColor {
    match w {
        Wallet::Alipay => ALIPAY_BLUE,
        Wallet::WechatPay => WECHAT_GREEN,
        Wallet::Card => CARD_GREY,
    }
}

/// How a legend entry is keyed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Solid,
    Dashed,
    Band,
    Bar,
}

#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    pub label: String,
    pub colour: RGBColor,
    pub mark: Mark,
}

impl LegendEntry {
    pub fn new(label: impl Into<String>, colour: RGBColor, mark: Mark) -> Self {
        LegendEntry { label: label.into(), colour, mark }
    }
}

/// One line of a time chart, in display units (%, pp, million).
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub colour: RGBColor,
    pub dashed: bool,
    /// (months since the chart's first month, value); a NaN breaks the line.
    pub points: Vec<(f64, f64)>,
    /// (months since the first month, low, high) of a shaded band; empty for none.
    pub band: Vec<(f64, f64, f64)>,
}

impl Line {
    /// Every value the y axis has to show.
    fn values(&self) -> impl Iterator<Item = f64> + '_ {
        self.points.iter().map(|p| p.1).chain(self.band.iter().flat_map(|b| [b.1, b.2]))
    }
}

/// A vertical line at an event month.
#[derive(Debug, Clone, PartialEq)]
pub struct EventMark {
    /// Months since the chart's first month.
    pub x: f64,
    pub label: String,
}

/// A chart of monthly series: lines, bands, event marks and a legend.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeChart {
    pub title: String,
    pub caption: String,
    pub y_label: String,
    pub start: Month,
    pub n_months: usize,
    pub lines: Vec<Line>,
    pub events: Vec<EventMark>,
    pub legend: Vec<LegendEntry>,
    pub size: (u32, u32),
}

/// A horizontal bar with an optional interval (NaN ends: no whisker).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bar {
    pub value: f64,
    pub low: f64,
    pub high: f64,
    pub colour: RGBColor,
}

/// A labelled row of one or more bars (several for paired comparisons).
#[derive(Debug, Clone, PartialEq)]
pub struct BarRow {
    pub label: String,
    pub bars: Vec<Bar>,
}

/// Horizontal bars, rows listed top to bottom.
#[derive(Debug, Clone, PartialEq)]
pub struct BarChart {
    pub title: String,
    pub caption: String,
    pub x_label: String,
    pub rows: Vec<BarRow>,
    pub legend: Vec<LegendEntry>,
    pub size: (u32, u32),
}

/// Stands in for a chart whose data are absent, saying what is missing.
#[derive(Debug, Clone, PartialEq)]
pub struct Placeholder {
    pub title: String,
    pub message: String,
    pub size: (u32, u32),
}

/// What `render` needs of a prepared chart. Private: it only saves writing
/// the SVG-and-PNG sequence once per chart kind.
trait Chart {
    fn title(&self) -> &str;
    fn caption(&self) -> &str;
    fn size(&self) -> (u32, u32);
    fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()>;
}

/// Charts whose title, caption and size are fields of the same names.
macro_rules! chart_with_fields {
    ($($chart:ty => $draw:ident),* $(,)?) => {$(
        impl Chart for $chart {
            fn title(&self) -> &str {
                &self.title
            }
            fn caption(&self) -> &str {
                &self.caption
            }
            fn size(&self) -> (u32, u32) {
                self.size
            }
            fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
                $draw(area, self)
            }
        }
    )*};
}

chart_with_fields!(TimeChart => draw_time_chart, BarChart => draw_bar_chart, XyChart => draw_xy_chart, HeatMap => draw_heat_map);

impl Chart for Placeholder {
    fn title(&self) -> &str {
        &self.title
    }
    fn caption(&self) -> &str {
        &self.message
    }
    fn size(&self) -> (u32, u32) {
        self.size
    }
    fn draw_on<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        draw_placeholder(area, self)
    }
}

// ---------------------------------------------------------------------------
// Public entry points

/// The six charts of a run, in report order: platform shares, regional
/// change, segment change, Taobao/Tmall payment mix, WeChat-Pay-only buyers,
/// calibration fit. A chart whose data are absent is a placeholder, so the
/// reports can link every chart by its id.
pub fn render_all(summary: &RunSummary) -> Result<Vec<RenderedChart>> {
    Ok(vec![
        render_or_placeholder("platform_shares", prepare_platform_shares(summary), "GMV share by platform", "the gmv_share_* series")?,
        render_or_placeholder(
            "regional_change",
            prepare_regional_change(summary),
            "Change in Taobao/Tmall GMV share by province",
            "regional effects (area \"all\")",
        )?,
        render_or_placeholder(
            "segment_change",
            prepare_segment_change(summary),
            "Change in Taobao/Tmall GMV share by segment",
            "segment effects",
        )?,
        render_or_placeholder(
            "taobao_payment_mix",
            prepare_taobao_payment_mix(summary),
            "Payment mix on Taobao/Tmall",
            "the pay_share_taobao_* series",
        )?,
        render_or_placeholder(
            "wechat_only_buyers",
            prepare_wechat_only_buyers(summary),
            "WeChat-Pay-only shoppers buying on Taobao/Tmall",
            "the wechat_only_taobao_buyers_million series",
        )?,
        render_or_placeholder(
            "calibration_fit",
            prepare_calibration_fit(summary),
            "Calibration fit of the pre-event baseline",
            "calibration targets in %",
        )?,
    ])
}

/// The comparison chart of several runs: Taobao/Tmall's GMV-share change
/// (scenario minus baseline) over time, one line per scenario.
pub fn render_comparison(summaries: &[RunSummary]) -> Result<Vec<RenderedChart>> {
    Ok(vec![render_or_placeholder(
        "comparison_shares",
        prepare_comparison_shares(summaries),
        "Change in Taobao/Tmall GMV share by scenario",
        "difference series of gmv_share_taobao",
    )?])
}

fn render_or_placeholder<C: Chart>(id: &str, chart: Option<C>, title: &str, what: &str) -> Result<RenderedChart> {
    match chart {
        Some(c) => render(id, &c),
        None => render(
            id,
            &Placeholder {
                title: format!("{title} (no data)"),
                message: format!("No chart: the run summary holds no usable {what}."),
                size: CHART_SIZE,
            },
        ),
    }
}

/// Draws a chart twice, to an SVG string and to an RGB buffer encoded as PNG.
fn render<C: Chart>(id: &str, chart: &C) -> Result<RenderedChart> {
    ensure_font()?;
    let (w, h) = chart.size();
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (w, h)).into_drawing_area();
        chart.draw_on(&root)?;
    }
    let mut rgb = vec![0u8; w as usize * h as usize * 3];
    {
        let backend = BitMapBackend::<RGBPixel>::with_buffer_and_format(&mut rgb, (w, h))
            .map_err(|e| Error::Internal(format!("chart bitmap of {w}x{h}: {e:?}")))?;
        chart.draw_on(&backend.into_drawing_area())?;
    }
    let png = encode_png(&rgb, (w, h))?;
    Ok(RenderedChart { id: id.to_string(), title: chart.title().to_string(), caption: chart.caption().to_string(), svg, png })
}

/// Encodes an RGB8 buffer. The png crate's output depends only on its
/// version and settings (pinned by Cargo.lock), not on the machine.
fn encode_png(rgb: &[u8], (w, h): (u32, u32)) -> Result<Vec<u8>> {
    let png_err = |e: png::EncodingError| Error::Internal(format!("encoding a chart as PNG: {e}"));
    let mut out = Vec::new();
    let mut encoder = png::Encoder::new(&mut out, w, h);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(png_err)?;
    writer.write_image_data(rgb).map_err(png_err)?;
    writer.finish().map_err(png_err)?;
    Ok(out)
}

/// Registers the bundled font with plotters, once per process. plotters
/// keeps ab_glyph fonts in a global table, the one global the charts need.
fn ensure_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = *REGISTERED.get_or_init(|| plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT_BYTES).is_ok());
    if ok { Ok(()) } else { Err(Error::Internal("the bundled DejaVu Sans font could not be parsed".into())) }
}

fn text(size: f64) -> TextStyle<'static> {
    TextStyle::from(FontDesc::new(FontFamily::Name(FONT_FAMILY), size, FontStyle::Normal)).color(&BLACK)
}

fn plot_err<E: std::error::Error + Send + Sync>(e: DrawingAreaErrorKind<E>) -> Error {
    Error::Internal(format!("drawing a chart: {e}"))
}

// ---------------------------------------------------------------------------
// Preparation: summary -> plain chart data

/// GMV share of every platform: baseline dashed, scenario solid with its band.
pub fn prepare_platform_shares(summary: &RunSummary) -> Option<TimeChart> {
    let metrics: Vec<(String, RGBColor, &str)> =
        Platform::ALL.iter().map(|p| (format!("gmv_share_{}", p.id()), platform_colour(*p), p.label())).collect();
    let (lines, mut legend) = arm_lines(summary, &metrics, PERCENT, true);
    legend.extend(arm_keys(&lines, KEY_GREY, "90% of replications"));
    time_chart(
        summary,
        "GMV share by platform: scenario vs baseline",
        "Each platform's share of e-commerce GMV per month: scenario solid with its 90% band over replications, baseline dashed.",
        "Share of e-commerce GMV (%)",
        lines,
        legend,
    )
}

/// Alipay, WeChat Pay and card shares of Taobao/Tmall's GMV, both arms.
pub fn prepare_taobao_payment_mix(summary: &RunSummary) -> Option<TimeChart> {
    let metrics: Vec<(String, RGBColor, &str)> =
        Wallet::ALL.iter().map(|w| (format!("pay_share_taobao_{}", w.id()), wallet_colour(*w), w.label())).collect();
    let (lines, mut legend) = arm_lines(summary, &metrics, PERCENT, false);
    legend.extend(arm_keys(&lines, KEY_GREY, ""));
    time_chart(
        summary,
        "Payment mix on Taobao/Tmall: scenario vs baseline",
        "Share of Taobao/Tmall GMV paid with Alipay, WeChat Pay and bank cards: scenario solid, baseline dashed.",
        "Share of Taobao/Tmall GMV (%)",
        lines,
        legend,
    )
}

/// WeChat-Pay-only shoppers who buy on Taobao/Tmall, both arms with bands.
pub fn prepare_wechat_only_buyers(summary: &RunSummary) -> Option<TimeChart> {
    let metric = "wechat_only_taobao_buyers_million";
    let months = &summary.months;
    let start = *months.first()?;
    let lines: Vec<Line> = [("baseline", true), ("scenario", false)]
        .into_iter()
        .filter_map(|(arm, dashed)| summary.series(metric, arm).map(|s| series_line(s, months, start, 1.0, WECHAT_GREEN, dashed, true)))
        .collect();
    let legend = arm_keys(&lines, WECHAT_GREEN, "90% of replications");
    time_chart(
        summary,
        "WeChat-Pay-only shoppers buying on Taobao/Tmall",
        "Shoppers who hold WeChat Pay but not Alipay and buy on Taobao/Tmall in a month: scenario solid, baseline dashed, \
         shaded 90% of replications.",
        "Buyers (million shoppers per month)",
        lines,
        legend,
    )
}

/// Taobao/Tmall's GMV-share difference (pp) of each run, on a common calendar.
pub fn prepare_comparison_shares(summaries: &[RunSummary]) -> Option<TimeChart> {
    let start = summaries.iter().filter_map(|s| s.months.first()).min().copied()?;
    let end = summaries.iter().filter_map(|s| s.months.last()).max().copied()?;
    let mut lines = Vec::new();
    let mut legend = Vec::new();
    for (i, s) in summaries.iter().enumerate() {
        let Some(diff) = s.series("gmv_share_taobao", "difference") else { continue };
        let colour = SCENARIO_COLOURS[i % SCENARIO_COLOURS.len()];
        lines.push(series_line(diff, &s.months, start, PERCENT, colour, false, true));
        legend.push(LegendEntry::new(scenario_name(s), colour, Mark::Solid));
    }
    if !has_finite(&lines) {
        return None;
    }
    legend.push(LegendEntry::new("90% CI of the mean", KEY_GREY, Mark::Band));
    let mut event_months: Vec<Month> = summaries.iter().filter_map(|s| s.meta.first_divergent_month).collect();
    event_months.sort();
    event_months.dedup();
    let n_months = usize::try_from(end.since(start) + 1).ok()?;
    Some(TimeChart {
        title: "Change in Taobao/Tmall GMV share by scenario".into(),
        caption: "Change in Taobao/Tmall's share of e-commerce GMV (scenario minus baseline, percentage points) for each scenario; \
                  shaded: 90% confidence interval of the mean difference over replications."
            .into(),
        y_label: "Scenario minus baseline (percentage points)".into(),
        start,
        n_months,
        lines,
        events: event_months.into_iter().filter_map(|m| event_mark(m, start, n_months)).collect(),
        legend,
        size: CHART_SIZE,
    })
}

/// Change in Taobao/Tmall's share by province (all areas), largest first.
pub fn prepare_regional_change(summary: &RunSummary) -> Option<BarChart> {
    let effects: Vec<&Effect> = summary.regional.iter().filter(|e| e.area == "all").collect();
    let (horizon, month) = pick_horizon(&effects)?;
    let mut rows: Vec<BarRow> = effects.iter().filter(|e| e.horizon == horizon).map(|e| effect_row(&e.group, e)).collect();
    // NaN sorts last so that the ranking reads from the top.
    let key = |r: &BarRow| r.bars.first().map(|b| b.value).filter(|v| v.is_finite()).unwrap_or(f64::NEG_INFINITY);
    rows.sort_by(|a, b| key(b).total_cmp(&key(a)));
    let height = (110 + 22 * rows.len() as u32).max(CHART_SIZE.1);
    bar_chart(
        format!("Change in Taobao/Tmall GMV share by province at {horizon} ({month})"),
        format!(
            "Change in Taobao/Tmall's share of GMV (scenario minus baseline) in each province at {horizon} ({month}), \
             sorted; bars are means over replications, whiskers 90% intervals."
        ),
        "Change in Taobao/Tmall share of GMV (percentage points)",
        rows,
        Vec::new(),
        (CHART_SIZE.0, height),
    )
}

/// The same change for urban, rural and the three income bands.
pub fn prepare_segment_change(summary: &RunSummary) -> Option<BarChart> {
    let effects: Vec<&Effect> = summary.segments.iter().collect();
    let (horizon, month) = pick_horizon(&effects)?;
    let rows: Vec<BarRow> = effects.iter().filter(|e| e.horizon == horizon).map(|e| effect_row(&segment_label(&e.group), e)).collect();
    bar_chart(
        format!("Change in Taobao/Tmall GMV share by segment at {horizon} ({month})"),
        format!(
            "Change in Taobao/Tmall's share of GMV (scenario minus baseline) among urban and rural consumers and the three \
             income bands at {horizon} ({month}); bars are means over replications, whiskers 90% intervals."
        ),
        "Change in Taobao/Tmall share of GMV (percentage points)",
        rows,
        Vec::new(),
        CHART_SIZE,
    )
}

/// Observed vs simulated calibration targets in %, paired bars per target.
/// Targets in other units (e.g. million buyers) would need their own axis;
/// they are left to the calibration table and named in the caption.
pub fn prepare_calibration_fit(summary: &RunSummary) -> Option<BarChart> {
    let (pct, other): (Vec<&FitPoint>, Vec<&FitPoint>) = summary.fit.iter().partition(|f| f.unit.trim() == "%");
    let bar = |value: f64, colour| Bar { value, low: f64::NAN, high: f64::NAN, colour };
    let rows: Vec<BarRow> = pct
        .iter()
        .map(|f| BarRow { label: f.target.clone(), bars: vec![bar(f.observed, FIT_OBSERVED), bar(f.simulated, FIT_SIMULATED)] })
        .collect();
    let left_out = if other.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = other.iter().map(|f| format!("{} ({})", f.target, f.unit)).collect();
        format!(" Not shown, being in other units: {}.", names.join(", "))
    };
    let height = (110 + 36 * rows.len() as u32).max(CHART_SIZE.1);
    bar_chart(
        "Calibration fit of the pre-event baseline: observed vs simulated".into(),
        format!("Calibration targets (observed) against the baseline's first simulated month, in percent.{left_out}"),
        "Share (%)",
        rows,
        vec![
            LegendEntry::new("Observed (target)", FIT_OBSERVED, Mark::Bar),
            LegendEntry::new("Simulated (baseline)", FIT_SIMULATED, Mark::Bar),
        ],
        (CHART_SIZE.0, height),
    )
}

/// Lines of several metrics for both arms, and a legend entry per metric
/// present. Baselines come first so that scenarios are drawn on top.
fn arm_lines(summary: &RunSummary, metrics: &[(String, RGBColor, &str)], scale: f64, band: bool) -> (Vec<Line>, Vec<LegendEntry>) {
    let Some(&start) = summary.months.first() else { return (Vec::new(), Vec::new()) };
    let mut baseline = Vec::new();
    let mut scenario = Vec::new();
    let mut legend = Vec::new();
    for (metric, colour, label) in metrics {
        let b = summary.series(metric, "baseline");
        let s = summary.series(metric, "scenario");
        baseline.extend(b.map(|b| series_line(b, &summary.months, start, scale, *colour, true, false)));
        scenario.extend(s.map(|s| series_line(s, &summary.months, start, scale, *colour, false, band)));
        if b.is_some() || s.is_some() {
            legend.push(LegendEntry::new(*label, *colour, Mark::Solid));
        }
    }
    baseline.extend(scenario);
    (baseline, legend)
}

/// Legend keys for the arm styles actually drawn (and the band, if any).
fn arm_keys(lines: &[Line], colour: RGBColor, band_label: &str) -> Vec<LegendEntry> {
    let mut keys = Vec::new();
    if lines.iter().any(|l| !l.dashed) {
        keys.push(LegendEntry::new("Scenario (solid)", colour, Mark::Solid));
    }
    if lines.iter().any(|l| l.dashed) {
        keys.push(LegendEntry::new("Baseline (dashed)", colour, Mark::Dashed));
    }
    if lines.iter().any(|l| !l.band.is_empty()) && !band_label.is_empty() {
        keys.push(LegendEntry::new(band_label, colour, Mark::Band));
    }
    keys
}

/// One series as a line: x in months since `start`, values times `scale`.
fn series_line(s: &Series, months: &[Month], start: Month, scale: f64, colour: RGBColor, dashed: bool, band: bool) -> Line {
    let xs = months.iter().map(|m| m.since(start) as f64);
    let points = xs.clone().zip(&s.values).map(|(x, v)| (x, v.mean * scale)).collect();
    let band = if band { xs.zip(&s.values).map(|(x, v)| (x, v.low * scale, v.high * scale)).collect() } else { Vec::new() };
    Line { colour, dashed, points, band }
}

/// A time chart over the summary's months, or None when nothing is drawable.
fn time_chart(
    summary: &RunSummary,
    title: &str,
    caption: &str,
    y_label: &str,
    lines: Vec<Line>,
    legend: Vec<LegendEntry>,
) -> Option<TimeChart> {
    let start = *summary.months.first()?;
    let end = *summary.months.last()?;
    if !has_finite(&lines) {
        return None;
    }
    let n_months = usize::try_from(end.since(start) + 1).ok()?;
    let events: Vec<EventMark> = summary.meta.first_divergent_month.and_then(|m| event_mark(m, start, n_months)).into_iter().collect();
    let event_note = if events.is_empty() { "" } else { EVENT_NOTE };
    Some(TimeChart {
        title: title.into(),
        caption: format!("{caption}{event_note}"),
        y_label: y_label.into(),
        start,
        n_months,
        lines,
        events,
        legend,
        size: CHART_SIZE,
    })
}

fn has_finite(lines: &[Line]) -> bool {
    lines.iter().any(|l| l.points.iter().any(|p| p.1.is_finite()))
}

/// The event mark of month `m`, if it falls inside the chart.
fn event_mark(m: Month, start: Month, n_months: usize) -> Option<EventMark> {
    let x = m.since(start);
    (x >= 0 && (x as usize) < n_months).then(|| EventMark { x: x as f64, label: format!("First event {m}") })
}

/// "+12 months" if the effects have it (the headline horizon), else the
/// latest horizon.
fn pick_horizon(effects: &[&Effect]) -> Option<(String, Month)> {
    effects
        .iter()
        .find(|e| e.horizon == PREFERRED_HORIZON)
        .or_else(|| effects.iter().max_by_key(|e| e.month))
        .map(|e| (e.horizon.clone(), e.month))
}

fn effect_row(label: &str, e: &Effect) -> BarRow {
    let c = e.change_pp;
    BarRow { label: label.to_string(), bars: vec![Bar { value: c.mean, low: c.low, high: c.high, colour: TAOBAO_ORANGE }] }
}

fn bar_chart(
    title: String,
    caption: String,
    x_label: &str,
    rows: Vec<BarRow>,
    legend: Vec<LegendEntry>,
    size: (u32, u32),
) -> Option<BarChart> {
    let any = rows.iter().flat_map(|r| &r.bars).any(|b| b.value.is_finite());
    any.then(|| BarChart { title, caption, x_label: x_label.into(), rows, legend, size })
}

/// "income_low" -> "Low income", "urban" -> "Urban"; anything else as is.
fn segment_label(group: &str) -> String {
    let (word, suffix) = match group.strip_prefix("income_") {
        Some(band) => (band, " income"),
        None => (group, ""),
    };
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => format!("{}{}{suffix}", first.to_uppercase(), chars.as_str()),
        None => group.to_string(),
    }
}

fn scenario_name(s: &RunSummary) -> String {
    if s.meta.title.trim().is_empty() { s.meta.scenario_name.clone() } else { s.meta.title.clone() }
}

// ---------------------------------------------------------------------------
// Scales

/// An axis range that includes zero (shares and changes read against it)
/// and every finite value, padded; a zero-width range becomes 0..1.
fn value_range(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let (lo, hi) = values.into_iter().filter(|v| v.is_finite()).fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = hi - lo;
    if !(span.is_finite() && span > 0.0) {
        return (0.0, 1.0);
    }
    let pad = 0.06 * span;
    (if lo < 0.0 { lo - pad } else { lo }, if hi > 0.0 { hi + pad } else { hi + pad * 0.5 })
}

/// Decimals for tick labels such that neighbouring ticks differ.
fn decimals_for(span: f64) -> usize {
    match span {
        s if !s.is_finite() || s >= 20.0 => 0,
        s if s >= 1.0 => 1,
        s if s >= 0.1 => 2,
        _ => 3,
    }
}

/// Month ticks on calendar boundaries (every quarter, half-year or year,
/// depending on the horizon) so that labels read as round dates.
fn month_ticks(start: Month, n_months: usize) -> Vec<f64> {
    let step = match n_months {
        0..=4 => 1,
        5..=18 => 3,
        19..=60 => 6,
        _ => 12,
    };
    let ticks: Vec<f64> = (0..n_months).filter(|&i| (start.plus(i as i32).month_of_year() - 1) % step == 0).map(|i| i as f64).collect();
    if ticks.is_empty() { vec![0.0] } else { ticks }
}

/// A linear axis with given tick positions (calendar months, bar rows).
/// plotters' own `with_key_points` wrapper does the same but, in 0.3.7,
/// cannot take a custom label formatter, which both uses need.
struct TickedAxis {
    linear: RangedCoordf64,
    ticks: Vec<f64>,
}

impl TickedAxis {
    fn new(range: Range<f64>, ticks: Vec<f64>) -> Self {
        TickedAxis { linear: range.into(), ticks }
    }
}

impl Ranged for TickedAxis {
    type ValueType = f64;
    type FormatOption = DefaultFormatting;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.linear.map(value, limit)
    }

    /// The given ticks carry labels and grid lines; there are no minor lines.
    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        if hint.weight().allow_light_points() { Vec::new() } else { self.ticks.clone() }
    }

    fn range(&self) -> Range<f64> {
        self.linear.range()
    }
}

// ---------------------------------------------------------------------------
// Drawing: prepared data -> any plotters backend

/// Draws a time chart: bands, baseline (dashed), scenario (solid), event
/// marks and the legend to the right of the plot.
pub fn draw_time_chart<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &TimeChart) -> Result<()> {
    ensure_font()?;
    let body = titled_body(area, &chart.title)?;
    let (plot, legend) = split_legend(&body, !chart.legend.is_empty());
    let last = chart.n_months.saturating_sub(1) as f64;
    let (x0, x1) = if last > 0.0 { (0.0, last) } else { (-0.5, 0.5) };
    let (y0, y1) = value_range(chart.lines.iter().flat_map(Line::values));
    let mut ctx = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(46)
        .y_label_area_size(66)
        .build_cartesian_2d(TickedAxis::new(x0..x1, month_ticks(chart.start, chart.n_months)), y0..y1)
        .map_err(plot_err)?;
    let start = chart.start;
    let x_fmt = |x: &f64| start.plus(x.round() as i32).to_string();
    let decimals = decimals_for(y1 - y0);
    let y_fmt = |y: &f64| format!("{y:.decimals$}");
    ctx.configure_mesh()
        .x_desc(TIME_AXIS)
        .y_desc(&chart.y_label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .y_labels(8)
        .label_style(text(LABEL_SIZE))
        .axis_desc_style(text(AXIS_SIZE))
        .bold_line_style(GRID_COLOUR.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(plot_err)?;
    let pa = ctx.plotting_area();
    for line in &chart.lines {
        draw_band(pa, line)?;
    }
    // Dashed first: where the arms coincide (before the event) the solid
    // scenario line stays visible.
    for line in chart.lines.iter().filter(|l| l.dashed).chain(chart.lines.iter().filter(|l| !l.dashed)) {
        draw_line(pa, line)?;
    }
    for (i, event) in chart.events.iter().enumerate() {
        draw_event(pa, event, i, (y0, y1))?;
    }
    if let Some(legend) = legend {
        draw_legend(&legend, &chart.legend)?;
    }
    area.present().map_err(plot_err)
}

/// Draws horizontal bars with optional whiskers, rows top to bottom, and a
/// zero line; a legend on the right when the chart has one.
pub fn draw_bar_chart<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &BarChart) -> Result<()> {
    ensure_font()?;
    let body = titled_body(area, &chart.title)?;
    let (plot, legend) = split_legend(&body, !chart.legend.is_empty());
    let n = chart.rows.len().max(1);
    let (x0, x1) = value_range(chart.rows.iter().flat_map(|r| &r.bars).flat_map(|b| [b.value, b.low, b.high]));
    let label_width = chart.rows.iter().filter_map(|r| plot.estimate_text_size(&r.label, &text(LABEL_SIZE)).ok()).map(|s| s.0).max();
    let y_max = n as f64 - 0.5;
    let mut ctx = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(46)
        .y_label_area_size(label_width.unwrap_or(40) + 16)
        .build_cartesian_2d(x0..x1, TickedAxis::new(-0.5..y_max, (0..n).map(|i| i as f64).collect()))
        .map_err(plot_err)?;
    let labels: Vec<&str> = chart.rows.iter().map(|r| r.label.as_str()).collect();
    let y_fmt = |y: &f64| row_label(&labels, *y);
    let decimals = decimals_for(x1 - x0);
    let x_fmt = |x: &f64| format!("{x:.decimals$}");
    ctx.configure_mesh()
        .disable_y_mesh()
        .x_desc(&chart.x_label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .x_labels(10)
        .label_style(text(LABEL_SIZE))
        .axis_desc_style(text(AXIS_SIZE))
        .bold_line_style(GRID_COLOUR.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(plot_err)?;
    let pa = ctx.plotting_area();
    for (i, row) in chart.rows.iter().enumerate() {
        draw_row(pa, row, (n - 1 - i) as f64)?;
    }
    pa.draw(&PathElement::new(vec![(0.0, -0.5), (0.0, y_max)], BLACK.stroke_width(1))).map_err(plot_err)?;
    if let Some(legend) = legend {
        draw_legend(&legend, &chart.legend)?;
    }
    area.present().map_err(plot_err)
}

/// Draws the title and a centred message instead of a chart.
pub fn draw_placeholder<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, p: &Placeholder) -> Result<()> {
    ensure_font()?;
    let body = titled_body(area, &p.title)?;
    let (w, h) = body.dim_in_pixel();
    let style = text(16.0).pos(Pos::new(HPos::Center, VPos::Center));
    body.draw(&Text::new(p.message.clone(), (w as i32 / 2, h as i32 / 2), style)).map_err(plot_err)?;
    area.present().map_err(plot_err)
}

/// Draws legend entries top-down in a strip of their own, so the legend
/// never hides data; long labels wrap rather than run off the canvas.
pub fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, entries: &[LegendEntry]) -> Result<()> {
    ensure_font()?;
    let style = text(LABEL_SIZE).pos(Pos::new(HPos::Left, VPos::Center));
    let (x0, x1) = (6, 40);
    let max_width = area.dim_in_pixel().0.saturating_sub(x1 as u32 + 14);
    let mut y = 36;
    for e in entries {
        match e.mark {
            Mark::Solid => area.draw(&PathElement::new(vec![(x0, y), (x1, y)], e.colour.stroke_width(LINE_WIDTH))),
            Mark::Dashed => area.draw(&DashedPathElement::new(vec![(x0, y), (x1, y)], DASH.0, DASH.1, e.colour.stroke_width(LINE_WIDTH))),
            Mark::Band => area.draw(&Rectangle::new([(x0, y - 6), (x1, y + 6)], e.colour.mix(BAND_OPACITY).filled())),
            Mark::Bar => area.draw(&Rectangle::new([(x0, y - 6), (x1, y + 6)], e.colour.filled())),
        }
        .map_err(plot_err)?;
        for line in wrap_label(area, &e.label, max_width) {
            area.draw(&Text::new(line, (x1 + 8, y), style.clone())).map_err(plot_err)?;
            y += 16;
        }
        y += 8;
    }
    Ok(())
}

/// Greedy word wrap to `max_width` pixels as the bundled font measures text.
fn wrap_label<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, label: &str, max_width: u32) -> Vec<String> {
    let style = text(LABEL_SIZE);
    let fits = |s: &str| area.estimate_text_size(s, &style).map(|(w, _)| w <= max_width).unwrap_or(true);
    let mut lines: Vec<String> = Vec::new();
    for word in label.split_whitespace() {
        match lines.last_mut() {
            Some(last) if fits(&format!("{last} {word}")) => {
                last.push(' ');
                last.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}

/// Clears the canvas and draws the title, leaving a small margin all round.
fn titled_body<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, title: &str) -> Result<DrawingArea<DB, Shift>> {
    area.fill(&WHITE).map_err(plot_err)?;
    area.margin(10, 4, 4, 4).titled(title, text(TITLE_SIZE)).map_err(plot_err)
}

/// Splits off the legend strip on the right, when there is a legend.
fn split_legend<DB: DrawingBackend>(
    body: &DrawingArea<DB, Shift>,
    legend: bool,
) -> (DrawingArea<DB, Shift>, Option<DrawingArea<DB, Shift>>) {
    let width = body.dim_in_pixel().0;
    if !legend || width <= 2 * LEGEND_WIDTH {
        let (plot, _) = body.split_horizontally(width);
        return (plot, None);
    }
    let (plot, strip) = body.split_horizontally(width - LEGEND_WIDTH);
    (plot, Some(strip))
}

/// Shades each finite stretch of a band.
fn draw_band<DB: DrawingBackend, X, Y>(pa: &DrawingArea<DB, Cartesian2d<X, Y>>, line: &Line) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let finite = |b: &(f64, f64, f64)| b.1.is_finite() && b.2.is_finite();
    for run in finite_runs(&line.band, finite) {
        if run.len() < 2 {
            continue;
        }
        let outline: Vec<(f64, f64)> = run.iter().map(|b| (b.0, b.2)).chain(run.iter().rev().map(|b| (b.0, b.1))).collect();
        pa.draw(&Polygon::new(outline, line.colour.mix(BAND_OPACITY).filled())).map_err(plot_err)?;
    }
    Ok(())
}

/// Draws each finite stretch of a line; a lone point becomes a dot.
fn draw_line<DB: DrawingBackend, X, Y>(pa: &DrawingArea<DB, Cartesian2d<X, Y>>, line: &Line) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style = line.colour.stroke_width(LINE_WIDTH);
    for run in finite_runs(&line.points, |p| p.1.is_finite()) {
        let result = match (run.len(), line.dashed) {
            (1, _) => pa.draw(&Circle::new(run[0], 3, style.filled())),
            (_, true) => pa.draw(&DashedPathElement::new(run.to_vec(), DASH.0, DASH.1, style)),
            (_, false) => pa.draw(&PathElement::new(run.to_vec(), style)),
        };
        result.map_err(plot_err)?;
    }
    Ok(())
}

/// A vertical line at the event month, labelled at the top; several labels
/// are stacked so they do not overprint.
fn draw_event<DB: DrawingBackend, X, Y>(
    pa: &DrawingArea<DB, Cartesian2d<X, Y>>,
    e: &EventMark,
    index: usize,
    (y0, y1): (f64, f64),
) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    pa.draw(&PathElement::new(vec![(e.x, y0), (e.x, y1)], EVENT_COLOUR.stroke_width(1))).map_err(plot_err)?;
    let style = text(12.0).color(&EVENT_COLOUR).pos(Pos::new(HPos::Left, VPos::Top));
    let label = EmptyElement::at((e.x, y1)) + Text::new(e.label.clone(), (5, 4 + 16 * index as i32), style);
    pa.draw(&label).map_err(plot_err)
}

/// The bars of one row around `centre`, first bar on top, with whiskers.
fn draw_row<DB: DrawingBackend, X, Y>(pa: &DrawingArea<DB, Cartesian2d<X, Y>>, row: &BarRow, centre: f64) -> Result<()>
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let thickness = ROW_FILL / row.bars.len().max(1) as f64;
    for (j, bar) in row.bars.iter().enumerate() {
        let top = centre + ROW_FILL / 2.0 - j as f64 * thickness;
        let (bottom, mid) = (top - thickness, top - thickness / 2.0);
        if bar.value.is_finite() {
            let rect = Rectangle::new([(0.0, bottom), (bar.value, top)], bar.colour.filled());
            pa.draw(&rect).map_err(plot_err)?;
        }
        if bar.low.is_finite() && bar.high.is_finite() {
            let style = WHISKER_COLOUR.stroke_width(1);
            let cap = thickness * 0.3;
            pa.draw(&PathElement::new(vec![(bar.low, mid), (bar.high, mid)], style)).map_err(plot_err)?;
            for x in [bar.low, bar.high] {
                pa.draw(&PathElement::new(vec![(x, mid - cap), (x, mid + cap)], style)).map_err(plot_err)?;
            }
        }
    }
    Ok(())
}

/// The label of the row at axis position `y` (row 0 is at the top).
fn row_label(labels: &[&str], y: f64) -> String {
    let n = labels.len() as f64;
    let from_top = n - 1.0 - y.round();
    if from_top >= 0.0 && from_top < n { labels[from_top as usize].to_string() } else { String::new() }
}

/// Maximal stretches of consecutive items that pass `keep`.
fn finite_runs<T>(items: &[T], keep: impl Fn(&T) -> bool) -> Vec<&[T]> {
    items.split(|item| !keep(item)).filter(|run| !run.is_empty()).collect()
}

// ---------------------------------------------------------------------------
// Charts of analyses over parameter points

/// Lines over a numeric x axis (a swept parameter).
#[derive(Debug, Clone, PartialEq)]
pub struct XyChart {
    pub title: String,
    pub caption: String,
    pub x_label: String,
    pub y_label: String,
    /// (legend label, colour, points).
    pub lines: Vec<(String, RGBColor, Vec<(f64, f64)>)>,
    pub size: (u32, u32),
}

/// A value on a grid of two parameters, as coloured cells with the value
/// printed in each.
#[derive(Debug, Clone, PartialEq)]
pub struct HeatMap {
    pub title: String,
    pub caption: String,
    pub x_label: String,
    pub y_label: String,
    pub xs: Vec<f64>,
    pub ys: Vec<f64>,
    /// `values[iy][ix]`.
    pub values: Vec<Vec<f64>>,
    pub size: (u32, u32),
}

/// Renders a bar chart (tornado charts of sensitivity analyses).
pub fn render_bars(id: &str, chart: &BarChart) -> Result<RenderedChart> {
    render(id, chart)
}

pub fn render_xy(id: &str, chart: &XyChart) -> Result<RenderedChart> {
    render(id, chart)
}

pub fn render_heat_map(id: &str, chart: &HeatMap) -> Result<RenderedChart> {
    render(id, chart)
}

pub fn draw_xy_chart<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &XyChart) -> Result<()> {
    ensure_font()?;
    let body = titled_body(area, &chart.title)?;
    let legend_entries: Vec<LegendEntry> = chart.lines.iter().map(|(l, c, _)| LegendEntry::new(l.clone(), *c, Mark::Solid)).collect();
    let (plot, legend) = split_legend(&body, chart.lines.len() > 1);
    let (x0, x1) = value_range(chart.lines.iter().flat_map(|l| l.2.iter().map(|p| p.0)));
    let (y0, y1) = value_range(chart.lines.iter().flat_map(|l| l.2.iter().map(|p| p.1)));
    let mut ctx = ChartBuilder::on(&plot)
        .margin(12)
        .x_label_area_size(46)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)
        .map_err(plot_err)?;
    let (dx, dy) = (decimals_for(x1 - x0), decimals_for(y1 - y0));
    let x_fmt = |x: &f64| format!("{x:.dx$}");
    let y_fmt = |y: &f64| format!("{y:.dy$}");
    ctx.configure_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(text(LABEL_SIZE))
        .axis_desc_style(text(AXIS_SIZE))
        .bold_line_style(GRID_COLOUR.stroke_width(1))
        .light_line_style(TRANSPARENT)
        .draw()
        .map_err(plot_err)?;
    for (_, colour, points) in &chart.lines {
        let finite: Vec<(f64, f64)> = points.iter().copied().filter(|p| p.0.is_finite() && p.1.is_finite()).collect();
        ctx.draw_series(std::iter::once(PathElement::new(finite.clone(), colour.stroke_width(3)))).map_err(plot_err)?;
        ctx.draw_series(finite.iter().map(|&p| Circle::new(p, 4, colour.filled()))).map_err(plot_err)?;
    }
    if let Some(legend) = legend {
        draw_legend(&legend, &legend_entries)?;
    }
    area.present().map_err(plot_err)
}

/// Colour of a value on a white-to-orange ramp between `lo` and `hi`.
fn ramp(v: f64, lo: f64, hi: f64) -> RGBColor {
    let t = if hi > lo && v.is_finite() { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) } else { 0.5 };
    let mix = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
    RGBColor(mix(0xFF, TAOBAO_ORANGE.0), mix(0xF5, TAOBAO_ORANGE.1), mix(0xEB, TAOBAO_ORANGE.2))
}

pub fn draw_heat_map<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, chart: &HeatMap) -> Result<()> {
    ensure_font()?;
    let body = titled_body(area, &chart.title)?;
    let (nx, ny) = (chart.xs.len().max(1), chart.ys.len().max(1));
    let mut ctx = ChartBuilder::on(&body)
        .margin(12)
        .x_label_area_size(46)
        .y_label_area_size(64)
        .build_cartesian_2d(-0.5..nx as f64 - 0.5, -0.5..ny as f64 - 0.5)
        .map_err(plot_err)?;
    let label = |values: &[f64], i: f64| -> String {
        let k = i.round();
        if (i - k).abs() > 1e-6 || k < 0.0 || k as usize >= values.len() {
            return String::new();
        }
        let d = decimals_for(values.last().copied().unwrap_or(0.0) - values.first().copied().unwrap_or(0.0));
        format!("{:.d$}", values[k as usize])
    };
    let x_fmt = |x: &f64| label(&chart.xs, *x);
    let y_fmt = |y: &f64| label(&chart.ys, *y);
    ctx.configure_mesh()
        .disable_mesh()
        .x_desc(&chart.x_label)
        .y_desc(&chart.y_label)
        .x_labels(nx * 2 + 1)
        .y_labels(ny * 2 + 1)
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(text(LABEL_SIZE))
        .axis_desc_style(text(AXIS_SIZE))
        .draw()
        .map_err(plot_err)?;
    let (lo, hi) = value_range(chart.values.iter().flatten().copied());
    let decimals = decimals_for(hi - lo);
    for (iy, row) in chart.values.iter().enumerate() {
        for (ix, &v) in row.iter().enumerate() {
            let (x, y) = (ix as f64, iy as f64);
            ctx.draw_series(std::iter::once(Rectangle::new([(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)], ramp(v, lo, hi).filled())))
                .map_err(plot_err)?;
            let style = text(LABEL_SIZE).pos(Pos::new(HPos::Center, VPos::Center));
            let shown = if v.is_finite() { format!("{v:.decimals$}") } else { "n/a".into() };
            ctx.draw_series(std::iter::once(Text::new(shown, (x, y), style))).map_err(plot_err)?;
        }
    }
    area.present().map_err(plot_err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Band, FitPoint, GainShare, RunMeta};

    const START: (i32, u32) = (2024, 1);
    const N: usize = 36;
    const EVENT: usize = 8; // 2024-09

    fn band(mean: f64, half: f64) -> Band {
        Band { mean, low: mean - half, high: mean + half }
    }

    fn series(metric: &str, arm: &str, f: impl Fn(usize) -> Band) -> Series {
        Series { metric: metric.into(), arm: arm.into(), values: (0..N).map(f).collect() }
    }

    /// 0 before the event, then rising to 1 over a year.
    fn ramp(t: usize) -> f64 {
        if t < EVENT { 0.0 } else { ((t - EVENT + 1) as f64 / 12.0).min(1.0) }
    }

    fn effect(group: &str, area: &str, horizon: &str, month: Month, mean: f64) -> Effect {
        Effect {
            group: group.into(),
            area: area.into(),
            horizon: horizon.into(),
            month,
            change_pp: band(mean, 0.3),
            baseline_share_pct: 40.0,
            wechat_only_share_pct: 8.0,
        }
    }

    /// 36 months from 2024-01, WeChat Pay on Taobao/Tmall from 2024-09;
    /// Taobao/Tmall gains 1.5 pp of GMV over a year, taken from the others.
    fn synthetic() -> RunSummary {
        let start = Month::new(START.0, START.1).expect("valid month");
        let months: Vec<Month> = (0..N as i32).map(|i| start.plus(i)).collect();
        let shares = [0.40, 0.16, 0.20, 0.12, 0.05, 0.07];
        let mut national = Vec::new();
        for (p, share) in Platform::ALL.iter().zip(shares) {
            let metric = format!("gmv_share_{}", p.id());
            let gain = |t| if *p == Platform::Taobao { 0.015 * ramp(t) } else { -0.015 * ramp(t) * share / 0.6 };
            national.push(series(&metric, "baseline", |_| band(share, 0.002)));
            national.push(series(&metric, "scenario", |t| band(share + gain(t), 0.003)));
            national.push(series(&metric, "difference", |t| band(gain(t), 0.001)));
        }
        for (w, base) in Wallet::ALL.iter().zip([0.9, 0.0, 0.1]) {
            let metric = format!("pay_share_taobao_{}", w.id());
            let shift = |t| match w {
                Wallet::Alipay => -0.10 * ramp(t),
                Wallet::WechatPay => 0.11 * ramp(t),
                Wallet::Card => -0.01 * ramp(t),
            };
            national.push(series(&metric, "baseline", |_| band(base, 0.0)));
            national.push(series(&metric, "scenario", |t| band(base + shift(t), 0.005)));
        }
        let metric = "wechat_only_taobao_buyers_million";
        national.push(series(metric, "baseline", |_| band(5.0, 0.4)));
        national.push(series(metric, "scenario", |t| band(5.0 + 15.0 * ramp(t), 0.8)));

        let event = start.plus(EVENT as i32);
        let provinces = ["Beijing", "Shanghai", "Guangdong", "Sichuan", "Henan", "Inner Mongolia", "Xinjiang", "Tibet"];
        let mut regional = Vec::new();
        for (i, name) in provinces.iter().enumerate() {
            let v = 0.4 + 0.25 * ((i * 5) % 8) as f64;
            regional.push(effect(name, "all", "+6 months", event.plus(6), v / 2.0));
            regional.push(effect(name, "all", "+12 months", event.plus(12), v));
            regional.push(effect(name, "urban", "+12 months", event.plus(12), v * 0.8));
        }
        let mut segments = Vec::new();
        for (g, v) in [("urban", 1.1), ("rural", 2.3), ("income_low", 2.8), ("income_middle", 1.5), ("income_high", 0.6)] {
            segments.push(effect(g, "", "+12 months", event.plus(12), v));
            segments.push(effect(g, "", "end of horizon", start.plus(N as i32 - 1), v * 1.2));
        }
        let fit_point = |target: &str, unit: &str, observed, simulated| FitPoint {
            target: target.into(),
            unit: unit.into(),
            observed,
            simulated,
            label: "ESTIMATE".into(),
        };
        let mut fit: Vec<FitPoint> = Platform::ALL
            .iter()
            .zip(shares)
            .map(|(p, s)| fit_point(&format!("GMV share, {}", p.label()), "%", 100.0 * s, 100.0 * s + 0.3))
            .collect();
        fit.push(fit_point("Holding WeChat Pay", "%", 86.0, 85.2));
        fit.push(fit_point("Kuaishou monthly buyers", "million", 120.0, 118.0));

        RunSummary {
            meta: RunMeta {
                scenario_name: "taobao_wechat_pay".into(),
                title: "Taobao/Tmall accepts WeChat Pay".into(),
                description: String::new(),
                baseline_name: "status_quo".into(),
                version: "0.1.0".into(),
                seed: 1,
                replications: 8,
                scale: 1e-4,
                threads: 2,
                agents_per_replication: 100_000,
                seconds: 1.0,
                scenario_sha256: String::new(),
                first_divergent_month: Some(event),
            },
            scenario_json: "{}".into(),
            events: vec![format!("{event} accept wechat_pay on taobao")],
            months,
            national,
            headline: Vec::new(),
            regional,
            segments,
            gain: vec![GainShare { horizon: "+12 months".into(), month: event.plus(12), rural_pct: 30.0, low_income_pct: 40.0 }],
            fit,
            assumptions: Vec::new(),
            uncertainty: None,
        }
    }

    fn empty() -> RunSummary {
        let mut s = synthetic();
        s.months.clear();
        s.national.clear();
        s.regional.clear();
        s.segments.clear();
        s.fit.clear();
        s
    }

    fn svg_of<C: Chart>(chart: &C) -> String {
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, chart.size()).into_drawing_area();
            chart.draw_on(&root).expect("chart draws");
        }
        svg
    }

    /// (stroke colour, number of points) of every `<polyline>`.
    fn polylines(svg: &str) -> Vec<(String, usize)> {
        svg.split("<polyline").skip(1).map(|tag| (attr(tag, "stroke"), attr(tag, "points").split_whitespace().count())).collect()
    }

    /// The content of every `<text>` element, trimmed.
    fn texts(svg: &str) -> Vec<String> {
        svg.split("<text")
            .skip(1)
            .filter_map(|t| t.split_once('>'))
            .filter_map(|(_, rest)| rest.split_once("</text>"))
            .map(|(v, _)| v.trim().to_string())
            .collect()
    }

    fn attr(tag: &str, name: &str) -> String {
        let key = format!(" {name}=\"");
        tag.split_once(&key).and_then(|(_, rest)| rest.split_once('"')).map(|(v, _)| v.to_string()).unwrap_or_default()
    }

    fn hex(c: RGBColor) -> String {
        format!("#{:02X}{:02X}{:02X}", c.0, c.1, c.2)
    }

    /// Lines that span the whole horizon in one piece, i.e. solid series.
    fn full_lines(svg: &str) -> Vec<String> {
        polylines(svg).into_iter().filter(|(_, n)| *n >= N).map(|(c, _)| c).collect()
    }

    fn chart<'a>(charts: &'a [RenderedChart], id: &str) -> &'a RenderedChart {
        charts.iter().find(|c| c.id == id).expect("chart present")
    }

    #[test]
    fn platform_chart_has_title_axes_legend_and_one_solid_line_per_platform() {
        let prepared = prepare_platform_shares(&synthetic()).expect("data present");
        assert_eq!(prepared.lines.len(), 12);
        let svg = svg_of(&prepared);
        assert!(svg.contains("GMV share by platform: scenario vs baseline"));
        assert!(svg.contains(TIME_AXIS));
        assert!(svg.contains("Share of e-commerce GMV (%)"));
        assert!(svg.contains(&format!("font-family=\"{FONT_FAMILY}\"")));
        let labels = texts(&svg);
        for p in Platform::ALL {
            assert!(labels.iter().any(|t| t == p.label()), "legend lacks {}", p.label());
        }
        let solid = full_lines(&svg);
        let expected: Vec<String> = Platform::ALL.iter().map(|p| hex(platform_colour(*p))).collect();
        assert_eq!(solid, expected, "one unbroken scenario line per platform, in platform order");
        // Baselines are dashed: many short pieces in each platform's colour.
        let taobao_dashes = polylines(&svg).iter().filter(|(c, n)| *c == hex(TAOBAO_ORANGE) && *n < 6).count();
        assert!(taobao_dashes > 20, "{taobao_dashes} dashes");
        assert_eq!(svg.matches("<polygon").count(), 6, "one band per scenario line");
        assert!(svg.contains("First event 2024-09"));
        assert!(svg.contains("2024-01") && svg.contains("2025-07"), "months labelled YYYY-MM");
    }

    #[test]
    fn platform_values_are_percent_of_gmv() {
        let prepared = prepare_platform_shares(&synthetic()).expect("data present");
        let scenario_taobao = prepared.lines.iter().find(|l| !l.dashed && l.colour == TAOBAO_ORANGE).expect("Taobao scenario");
        let (x, y) = scenario_taobao.points[N - 1];
        assert_eq!(x, (N - 1) as f64);
        assert!((y - 41.5).abs() < 1e-9, "{y}");
        let (_, low, high) = scenario_taobao.band[N - 1];
        assert!((low - 41.2).abs() < 1e-9 && (high - 41.8).abs() < 1e-9);
        assert_eq!(prepared.events, vec![EventMark { x: EVENT as f64, label: "First event 2024-09".into() }]);
        assert!(prepared.caption.ends_with(EVENT_NOTE));
    }

    #[test]
    fn regional_chart_is_sorted_at_plus_twelve_months_in_taobao_orange() {
        let prepared = prepare_regional_change(&synthetic()).expect("data present");
        assert_eq!(prepared.rows.len(), 8, "area \"all\" only, one horizon");
        let values: Vec<f64> = prepared.rows.iter().map(|r| r.bars[0].value).collect();
        assert!(values.windows(2).all(|w| w[0] >= w[1]), "sorted largest first: {values:?}");
        assert!((values[0] - 2.15).abs() < 1e-9, "{values:?}");
        let svg = svg_of(&prepared);
        assert!(svg.contains("Change in Taobao/Tmall GMV share by province at +12 months (2025-09)"));
        assert!(svg.contains("Change in Taobao/Tmall share of GMV (percentage points)"));
        assert!(svg.contains("Inner Mongolia"));
        let bars = svg.matches(&format!("fill=\"{}\"", hex(TAOBAO_ORANGE))).count();
        assert_eq!(bars, 8);
        // A whisker and two caps per bar, plus the zero line.
        let whiskers = polylines(&svg).iter().filter(|(c, _)| *c == hex(WHISKER_COLOUR)).count();
        assert_eq!(whiskers, 3 * 8);
        assert!(prepared.size.1 >= CHART_SIZE.1);
    }

    #[test]
    fn taobao_orange_is_shared_by_platform_and_regional_charts() {
        let charts = render_all(&synthetic()).expect("renders");
        let orange = hex(TAOBAO_ORANGE);
        assert_eq!(orange, "#FF6A00");
        assert!(chart(&charts, "platform_shares").svg.contains(&orange));
        assert!(chart(&charts, "regional_change").svg.contains(&orange));
    }

    #[test]
    fn horizon_falls_back_to_the_latest() {
        let mut s = synthetic();
        s.segments.retain(|e| e.horizon != PREFERRED_HORIZON);
        let prepared = prepare_segment_change(&s).expect("data present");
        assert!(prepared.title.ends_with("at end of horizon (2026-12)"), "{}", prepared.title);
        assert!((prepared.rows[1].bars[0].value - 2.76).abs() < 1e-9);
    }

    #[test]
    fn segment_chart_shows_five_labelled_bars_with_whiskers() {
        let prepared = prepare_segment_change(&synthetic()).expect("data present");
        let labels: Vec<&str> = prepared.rows.iter().map(|r| r.label.as_str()).collect();
        assert_eq!(labels, ["Urban", "Rural", "Low income", "Middle income", "High income"]);
        let svg = svg_of(&prepared);
        assert!(svg.contains("by segment at +12 months (2025-09)"));
        for label in labels {
            assert!(svg.contains(label), "{label}");
        }
        assert_eq!(svg.matches(&format!("fill=\"{}\"", hex(TAOBAO_ORANGE))).count(), 5);
        assert_eq!(polylines(&svg).iter().filter(|(c, _)| *c == hex(WHISKER_COLOUR)).count(), 15);
    }

    #[test]
    fn payment_mix_has_one_solid_line_per_wallet_and_dashed_baselines() {
        let prepared = prepare_taobao_payment_mix(&synthetic()).expect("data present");
        let svg = svg_of(&prepared);
        assert!(svg.contains("Payment mix on Taobao/Tmall: scenario vs baseline"));
        assert!(svg.contains("Share of Taobao/Tmall GMV (%)"));
        for w in Wallet::ALL {
            assert!(svg.contains(w.label()), "{}", w.label());
        }
        let expected: Vec<String> = Wallet::ALL.iter().map(|w| hex(wallet_colour(*w))).collect();
        assert_eq!(full_lines(&svg), expected);
        assert!(polylines(&svg).iter().any(|(c, n)| *c == hex(WECHAT_GREEN) && *n < 6), "dashed baseline");
        assert_eq!(svg.matches("<polygon").count(), 0, "no bands on the payment mix");
        assert!(svg.contains("Scenario (solid)") && svg.contains("Baseline (dashed)"));
        assert!(svg.contains("First event 2024-09"));
        let wechat = prepared.lines.iter().find(|l| !l.dashed && l.colour == WECHAT_GREEN).expect("WeChat Pay line");
        assert!((wechat.points[N - 1].1 - 11.0).abs() < 1e-9);
    }

    #[test]
    fn wechat_only_buyers_has_both_arms_and_bands() {
        let prepared = prepare_wechat_only_buyers(&synthetic()).expect("data present");
        let svg = svg_of(&prepared);
        assert!(svg.contains("WeChat-Pay-only shoppers buying on Taobao/Tmall"));
        assert!(svg.contains("Buyers (million shoppers per month)"));
        assert_eq!(full_lines(&svg), vec![hex(WECHAT_GREEN)], "one solid scenario line");
        assert_eq!(svg.matches("<polygon").count(), 2, "a band for each arm");
        assert!(svg.contains("90% of replications"));
        assert!((prepared.lines[1].points[N - 1].1 - 20.0).abs() < 1e-9);
    }

    #[test]
    fn calibration_fit_pairs_percent_targets_and_names_the_rest() {
        let prepared = prepare_calibration_fit(&synthetic()).expect("data present");
        assert_eq!(prepared.rows.len(), 7, "six GMV shares and one holding, in %");
        assert!(prepared.caption.contains("Kuaishou monthly buyers (million)"));
        let svg = svg_of(&prepared);
        assert!(svg.contains("Calibration fit of the pre-event baseline: observed vs simulated"));
        assert!(svg.contains("Share (%)"));
        assert!(svg.contains("Observed (target)") && svg.contains("Simulated (baseline)"));
        // Seven pairs, plus one key each in the legend.
        assert_eq!(svg.matches(&format!("fill=\"{}\"", hex(FIT_OBSERVED))).count(), 8);
        assert_eq!(svg.matches(&format!("fill=\"{}\"", hex(FIT_SIMULATED))).count(), 8);
        assert!(!svg.contains("Kuaishou monthly buyers"));
    }

    #[test]
    fn comparison_draws_one_line_per_scenario() {
        let a = synthetic();
        let mut b = synthetic();
        b.meta.title = "WeChat Pay on Taobao/Tmall, slow merchants".into();
        for s in b.national.iter_mut().filter(|s| s.arm == "difference") {
            for v in &mut s.values {
                *v = band(v.mean / 2.0, 0.001);
            }
        }
        let prepared = prepare_comparison_shares(&[a, b]).expect("data present");
        let svg = svg_of(&prepared);
        assert!(svg.contains("Change in Taobao/Tmall GMV share by scenario"));
        assert!(svg.contains("Scenario minus baseline (percentage points)"));
        let legend = texts(&svg).join(" ");
        assert!(legend.contains("Taobao/Tmall accepts WeChat Pay"), "{legend}");
        assert!(legend.contains("WeChat Pay on Taobao/Tmall, slow merchants"), "{legend}");
        assert_eq!(full_lines(&svg), vec![hex(SCENARIO_COLOURS[0]), hex(SCENARIO_COLOURS[1])]);
        assert_eq!(svg.matches("<polygon").count(), 2);
        assert_eq!(svg.matches("First event 2024-09").count(), 1, "one mark for a shared event month");
        assert!((prepared.lines[0].points[N - 1].1 - 1.5).abs() < 1e-9);
        assert!((prepared.lines[1].points[N - 1].1 - 0.75).abs() < 1e-9);
    }

    #[test]
    fn render_all_gives_six_charts_with_valid_png() {
        let charts = render_all(&synthetic()).expect("renders");
        let ids: Vec<&str> = charts.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(
            ids,
            ["platform_shares", "regional_change", "segment_change", "taobao_payment_mix", "wechat_only_buyers", "calibration_fit"]
        );
        for c in &charts {
            assert!(c.png.starts_with(b"\x89PNG\r\n\x1a\n"), "{}", c.id);
            let reader = png::Decoder::new(std::io::Cursor::new(&c.png)).read_info().expect("decodes");
            let info = reader.info();
            assert_eq!(info.width, CHART_SIZE.0, "{}", c.id);
            assert!(info.height >= CHART_SIZE.1, "{}", c.id);
            if c.id == "platform_shares" {
                assert_eq!(info.height, CHART_SIZE.1);
            }
            assert!(c.svg.starts_with("<svg") && c.svg.contains(&c.title), "{}", c.id);
            assert!(!c.caption.is_empty());
        }
    }

    #[test]
    fn png_has_the_colours_of_the_svg() {
        let charts = render_all(&synthetic()).expect("renders");
        let c = chart(&charts, "platform_shares");
        let mut reader = png::Decoder::new(std::io::Cursor::new(&c.png)).read_info().expect("decodes");
        let mut rgb = vec![0; reader.output_buffer_size().expect("size fits")];
        reader.next_frame(&mut rgb).expect("one frame");
        let has = |c: RGBColor| rgb.chunks_exact(3).any(|p| p == [c.0, c.1, c.2]);
        assert!(has(TAOBAO_ORANGE) && has(JD_RED) && has(KUAISHOU_GOLD));
        // Text was rasterised: dark pixels exist besides the lines.
        assert!(rgb.chunks_exact(3).filter(|p| p.iter().all(|&v| v < 40)).count() > 1000);
    }

    #[test]
    fn rendering_is_deterministic() {
        let s = synthetic();
        let (a, b) = (render_all(&s).expect("renders"), render_all(&s).expect("renders"));
        assert_eq!(a, b);
        let both = [s.clone(), s];
        assert_eq!(render_comparison(&both).expect("renders"), render_comparison(&both).expect("renders"));
    }

    #[test]
    fn missing_data_give_placeholders_not_panics() {
        let charts = render_all(&empty()).expect("renders");
        assert_eq!(charts.len(), 6);
        for c in &charts {
            assert!(c.title.ends_with("(no data)"), "{}", c.title);
            assert!(c.svg.contains("No chart: the run summary holds no usable"));
            assert!(c.png.starts_with(b"\x89PNG"));
        }
        let comparison = render_comparison(&[]).expect("renders");
        assert_eq!(comparison.len(), 1);
        assert!(comparison[0].title.ends_with("(no data)"));
    }

    #[test]
    fn empty_nan_and_degenerate_series_do_not_panic() {
        // Months present but every series empty.
        let mut s = synthetic();
        for series in &mut s.national {
            series.values.clear();
        }
        assert!(prepare_platform_shares(&s).is_none());
        assert_eq!(render_all(&s).expect("renders").len(), 6);

        // NaN holes break lines instead of failing; no event in a baseline-only run.
        let mut s = synthetic();
        s.meta.first_divergent_month = None;
        for series in &mut s.national {
            for v in series.values.iter_mut().step_by(5) {
                *v = Band { mean: f64::NAN, low: f64::NAN, high: f64::INFINITY };
            }
        }
        for e in &mut s.regional {
            e.change_pp.low = f64::NAN;
        }
        let charts = render_all(&s).expect("renders");
        assert!(!chart(&charts, "platform_shares").svg.contains("First event"));
        assert!(!chart(&charts, "platform_shares").caption.contains("vertical line"));
        assert!(chart(&charts, "regional_change").svg.contains("Beijing"));

        // One month, all values zero: zero-width ranges are padded.
        let mut s = synthetic();
        s.months.truncate(1);
        for series in &mut s.national {
            series.values = vec![Band { mean: 0.0, low: 0.0, high: 0.0 }];
        }
        for e in s.regional.iter_mut().chain(s.segments.iter_mut()) {
            e.change_pp = Band { mean: 0.0, low: 0.0, high: 0.0 };
        }
        let charts = render_all(&s).expect("renders");
        assert!(chart(&charts, "platform_shares").svg.contains("<circle"), "a lone month is a dot");
    }

    #[test]
    fn ranges_ticks_and_labels() {
        assert_eq!(value_range([f64::NAN]), (0.0, 1.0));
        assert_eq!(value_range([0.0, 0.0]), (0.0, 1.0));
        let (lo, hi) = value_range([10.0, 40.0]);
        assert_eq!(lo, 0.0);
        assert!((hi - 42.4).abs() < 1e-9);
        let (lo, hi) = value_range([-1.0, 2.0]);
        assert!((lo + 1.18).abs() < 1e-9 && (hi - 2.18).abs() < 1e-9);
        let start = Month::new(2024, 1).expect("valid month");
        assert_eq!(month_ticks(start, 36), vec![0.0, 6.0, 12.0, 18.0, 24.0, 30.0]);
        assert_eq!(month_ticks(start.plus(1), 2), vec![0.0, 1.0]);
        assert_eq!(segment_label("income_low"), "Low income");
        assert_eq!(segment_label(""), "");
        assert_eq!(row_label(&["top", "bottom"], 1.0), "top");
        assert_eq!(row_label(&["top", "bottom"], 5.0), "");
    }
}
