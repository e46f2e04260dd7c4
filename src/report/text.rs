//! What the HTML and Markdown reports share: the generated headline paragraph,
//! number formatting, the tables and the order of sections.
//!
//! A report is first laid out here as a list of format-neutral `Block`s
//! (headings, paragraphs, tables, charts, code), so both formats show the same
//! content in the same order and a wording or column change is made once. The
//! renderers in `html` and `markdown` only turn blocks into bytes. Everything is
//! pure and deterministic: no I/O, no clocks, input order preserved. Numbers
//! that are not finite print as "n/a", never as NaN or inf, because analysts
//! paste these reports into notes where a stray NaN reads as a model bug.

use super::{Assumption, Effect, FitPoint, GainShare, Headline, RenderedChart, RunMeta, RunSummary};
use crate::calendar::Month;

/// Printed for any number that is not finite.
pub const NOT_AVAILABLE: &str = "n/a";

/// The horizon the headline paragraph quotes when the run reaches it: a year
/// after the event is the figure analysts ask for first.
const PARAGRAPH_HORIZON: &str = "+12 months";

/// Headline metric ids (see `summary::HEADLINE`) that the paragraph quotes.
const GMV_SHARE_CHANGE: &str = "taobao_gmv_share_change";
const WECHAT_SHARE_OF_TAOBAO: &str = "wechat_pay_share_of_taobao";
const WECHAT_ONLY_BUYERS_CHANGE: &str = "wechat_only_taobao_buyers_change";
const ALIPAY_SHARE_CHANGE: &str = "alipay_payment_share_change";

// ---------------------------------------------------------------------------
// Numbers
// ---------------------------------------------------------------------------

/// `x` with a fixed number of decimals, "n/a" if not finite, and without the
/// "-0.0" that rounding a tiny negative number would otherwise print.
pub fn fixed(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return NOT_AVAILABLE.to_string();
    }
    let text = format!("{x:.decimals$}");
    match text.strip_prefix('-') {
        Some(magnitude) if magnitude.bytes().all(|b| b == b'0' || b == b'.') => magnitude.to_string(),
        _ => text,
    }
}

/// A 90% interval as "low–high" with an en dash; spaced (" – ") when a bound
/// is negative so the dash cannot be read as a minus sign.
pub fn interval(low: f64, high: f64, decimals: usize) -> String {
    if !low.is_finite() || !high.is_finite() {
        return NOT_AVAILABLE.to_string();
    }
    let (low, high) = (fixed(low, decimals), fixed(high, decimals));
    let separator = if low.starts_with('-') || high.starts_with('-') { " – " } else { "–" };
    format!("{low}{separator}{high}")
}

/// Up to six significant digits, trailing zeros trimmed: for registry values
/// whose magnitude varies from probabilities to yuan, printed so that a value
/// changed from its default never looks equal to it.
pub fn general(x: f64) -> String {
    if !x.is_finite() {
        return NOT_AVAILABLE.to_string();
    }
    if x == 0.0 {
        return "0".to_string();
    }
    let magnitude = x.abs().log10().floor() as i32;
    if !(-4..15).contains(&magnitude) {
        let scientific = format!("{x:.5e}");
        return match scientific.split_once('e') {
            Some((mantissa, exponent)) => format!("{}e{exponent}", trim_zeros(mantissa)),
            None => scientific,
        };
    }
    trim_zeros(&fixed(x, (5 - magnitude).max(0) as usize))
}

fn trim_zeros(number: &str) -> String {
    if number.contains('.') { number.trim_end_matches('0').trim_end_matches('.').to_string() } else { number.to_string() }
}

/// An integer with thousands separators ("1,250,000"), for agent counts.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Decimals that keep about two significant digits of a change in prose
/// ("3.9 pp", "0.42 pp", "0.035 pp"): enough to see a small effect, few
/// enough to read aloud.
pub fn decimals_for_change(x: f64) -> usize {
    match x.abs() {
        a if a >= 1.0 => 1,
        a if a >= 0.1 => 2,
        _ => 3,
    }
}

/// Decimals for a percentage level in prose ("33%", "4.5%", "0.42%").
fn decimals_for_level(x: f64) -> usize {
    match x.abs() {
        a if a >= 10.0 => 0,
        a if a >= 1.0 => 1,
        _ => 2,
    }
}

/// Decimals for a table column of values around `scale`: about three
/// significant digits, so observed and simulated targets of any unit line up.
fn decimals_for_scale(scale: f64) -> usize {
    match scale.abs() {
        a if a >= 100.0 => 0,
        a if a >= 10.0 => 1,
        a if a >= 1.0 => 2,
        _ => 3,
    }
}

/// Decimals of the headline table's values: changes in pp and millions need
/// two to show effects well under a point; levels in % read fine with one.
fn decimals_for_unit(unit: &str) -> usize {
    if unit.starts_with('%') { 1 } else { 2 }
}

/// The unit of a headline row's baseline and scenario levels: a change in
/// percentage points is a difference of shares in percent.
fn level_unit(unit: &str) -> &str {
    if unit == "pp" || unit.starts_with('%') { "%" } else { unit }
}

// ---------------------------------------------------------------------------
// Base64 (for the embedded chart font)
// ---------------------------------------------------------------------------

const BASE64_ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding (RFC 4648, section 4). Twenty lines here
/// rather than a dependency for the one data: URL the HTML report needs.
pub fn base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let word = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(BASE64_ALPHABET[(word >> (18 - 6 * i)) as usize & 63]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// Headline paragraph
// ---------------------------------------------------------------------------

/// The paragraph at the top of every report, generated from the headline rows
/// so the prose can never disagree with the table below it.
///
/// It quotes the "+12 months" rows when the run reaches them, else the last
/// horizon; skips any figure that is missing or not finite; says "lower" and
/// "fewer" for negative effects; and for a scenario without an event says it
/// is identical to its baseline rather than quoting zeros.
pub fn headline_paragraph(s: &RunSummary) -> String {
    if s.meta.first_divergent_month.is_none() {
        return format!(
            "The scenario {} is identical to its baseline {}: no event separates the two, so every difference from the baseline is zero.",
            quoted(&scenario_display_name(&s.meta)),
            quoted(&s.meta.baseline_name)
        );
    }
    let Some((horizon, month)) = paragraph_horizon(&s.headline) else {
        return "This run has no headline results to summarise.".to_string();
    };
    let row = |metric: &str| s.headline.iter().find(|h| h.metric == metric && h.horizon == horizon && h.value.mean.is_finite());
    let gain = s.gain.iter().find(|g| g.horizon == horizon);
    let gmv = row(GMV_SHARE_CHANGE).map(|h| gmv_sentence(h, gain));
    let by_when = if gmv.is_some() { "by then".to_string() } else { format!("by {month}") };
    let sentences: Vec<String> = [
        gmv,
        wechat_sentence(row(WECHAT_SHARE_OF_TAOBAO), row(WECHAT_ONLY_BUYERS_CHANGE), &by_when),
        row(ALIPAY_SHARE_CHANGE).map(alipay_sentence),
    ]
    .into_iter()
    .flatten()
    .collect();
    if sentences.is_empty() {
        return format!("The headline figures for {month} are not available for this run.");
    }
    sentences.join(" ")
}

/// The horizon label the paragraph quotes, and its month.
fn paragraph_horizon(rows: &[Headline]) -> Option<(String, Month)> {
    if let Some(h) = rows.iter().find(|h| h.horizon == PARAGRAPH_HORIZON) {
        return Some((h.horizon.clone(), h.month));
    }
    // `max_by_key` keeps the last of equal months, i.e. "end of horizon"
    // when it coincides with another horizon's month.
    rows.iter().max_by_key(|h| h.month).map(|h| (h.horizon.clone(), h.month))
}

fn quoted(text: &str) -> String {
    format!("“{text}”")
}

/// Which way a change points, in words, at the precision it is printed.
enum Direction {
    Up,
    Down,
    Flat,
}

fn direction(x: f64, decimals: usize) -> Direction {
    if fixed(x.abs(), decimals).bytes().all(|b| b == b'0' || b == b'.') {
        Direction::Flat
    } else if x > 0.0 {
        Direction::Up
    } else {
        Direction::Down
    }
}

/// "(90% interval 3.8–3.9)": on the magnitude when the sentence says "higher"
/// or "lower" and the whole interval agrees, signed when it straddles zero.
fn interval_clause(h: &Headline, decimals: usize) -> String {
    let (low, high) = (h.value.low, h.value.high);
    if !low.is_finite() || !high.is_finite() {
        return String::new();
    }
    if low >= 0.0 {
        format!(" (90% interval {})", interval(low, high, decimals))
    } else if high <= 0.0 {
        format!(" (90% interval {})", interval(-high, -low, decimals))
    } else {
        format!(" (90% interval {}, which includes no change)", interval(low, high, decimals))
    }
}

fn gmv_sentence(h: &Headline, gain: Option<&GainShare>) -> String {
    let d = decimals_for_change(h.value.mean);
    let interval = interval_clause(h, d);
    let magnitude = fixed(h.value.mean.abs(), d);
    let (change, word) = match direction(h.value.mean, d) {
        Direction::Flat => {
            return format!("Taobao/Tmall's GMV share is essentially unchanged by {} compared with no event{interval}.", h.month);
        }
        Direction::Up => (format!("{magnitude} pp higher"), "gain"),
        Direction::Down => (format!("{magnitude} pp lower"), "loss"),
    };
    let rural = gain.map(|g| rural_clause(g.rural_pct, word)).unwrap_or_default();
    format!("Taobao/Tmall's GMV share is {change} by {} than without the event{interval}{rural}.", h.month)
}

/// Where the gain comes from. Rural and urban contributions add up to 100%,
/// so a share outside 0–100% means one side moved against the total.
fn rural_clause(rural_pct: f64, word: &str) -> String {
    if !rural_pct.is_finite() {
        return String::new();
    }
    // Judge by the printed (rounded) figure, so "100%" never reads as "more
    // than all of it".
    let (pct, rounded) = (fixed(rural_pct, 0), rural_pct.round());
    if (0.0..=100.0).contains(&rounded) {
        format!("; {pct}% of the {word} comes from rural shoppers")
    } else if rounded > 100.0 {
        format!("; rural shoppers account for {pct}% of the {word}, as urban shoppers move the other way")
    } else {
        format!("; rural shoppers move the other way ({pct}% of the {word})")
    }
}

fn wechat_sentence(share: Option<&Headline>, buyers: Option<&Headline>, by_when: &str) -> Option<String> {
    let share = share.map(|h| {
        format!("WeChat Pay carries {}% of Taobao/Tmall's payments {by_when}", fixed(h.value.mean, decimals_for_level(h.value.mean)))
    });
    let buyers = buyers.map(|h| {
        let d = decimals_for_change(h.value.mean);
        let count = fixed(h.value.mean.abs(), d);
        match direction(h.value.mean, d) {
            Direction::Up => format!("{count} million more WeChat-Pay-only shoppers buy on Taobao/Tmall each month"),
            Direction::Down => format!("{count} million fewer WeChat-Pay-only shoppers buy on Taobao/Tmall each month"),
            Direction::Flat => "the number of WeChat-Pay-only shoppers buying on Taobao/Tmall is essentially unchanged".to_string(),
        }
    });
    match (share, buyers) {
        (Some(share), Some(buyers)) => Some(format!("{share}, and {buyers}.")),
        (Some(share), None) => Some(format!("{share}.")),
        (None, Some(buyers)) => Some(format!("{} {by_when}.", capitalised(&buyers))),
        (None, None) => None,
    }
}

/// `text` with its first letter in upper case, to open a sentence.
fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| first.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn alipay_sentence(h: &Headline) -> String {
    let d = decimals_for_change(h.value.mean);
    let magnitude = fixed(h.value.mean.abs(), d);
    match direction(h.value.mean, d) {
        Direction::Up => format!("Alipay's share of all e-commerce payments is {magnitude} pp higher."),
        Direction::Down => format!("Alipay's share of all e-commerce payments is {magnitude} pp lower."),
        Direction::Flat => "Alipay's share of all e-commerce payments is essentially unchanged.".to_string(),
    }
}

// ---------------------------------------------------------------------------
// Tables
// ---------------------------------------------------------------------------

/// A column's header and whether it holds numbers (right-aligned, sorted
/// numerically).
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub header: String,
    pub numeric: bool,
}

/// One table cell: the text shown, the number it sorts by (if any), and
/// whether it marks a departure from a default.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    pub text: String,
    pub sort_key: Option<f64>,
    pub changed: bool,
}

impl Cell {
    pub(crate) fn text(text: impl Into<String>) -> Cell {
        Cell { text: text.into(), sort_key: None, changed: false }
    }

    /// A number printed with `text`, sorting by `value` when it is finite.
    pub(crate) fn number(text: String, value: f64) -> Cell {
        Cell { text, sort_key: value.is_finite().then_some(value), changed: false }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

pub(crate) fn columns(spec: &[(&str, bool)]) -> Vec<Column> {
    spec.iter().map(|&(header, numeric)| Column { header: header.to_string(), numeric }).collect()
}

/// The headline table: one row per metric and horizon, as in `headline.csv`.
pub fn headline_table(s: &RunSummary) -> Table {
    let mut names = vec![
        ("Metric", false),
        ("Horizon", false),
        ("Month", false),
        ("Mean", true),
        ("90% interval", true),
        ("Baseline level", true),
        ("Scenario level", true),
        ("Unit", false),
    ];
    if s.uncertainty.is_some() {
        names.insert(5, ("With parameter uncertainty (median, 5th–95th)", true));
    }
    let rows = s
        .headline
        .iter()
        .map(|h| {
            let mut row = headline_row(h);
            if let Some(u) = &s.uncertainty {
                row.insert(5, with_parameter_uncertainty(h, u));
            }
            row
        })
        .collect();
    Table { columns: columns(&names), rows }
}

/// The spread over parameter draws of `h`'s metric at its horizon (draws
/// are evaluated at one horizon only; other rows are not available).
fn with_parameter_uncertainty(h: &Headline, u: &super::Uncertainty) -> Cell {
    let d = decimals_for_unit(&h.unit);
    match u.rows.iter().find(|r| r.metric == h.metric && r.horizon == h.horizon) {
        Some(r) => Cell::number(format!("{} ({})", fixed(r.total.mean, d), interval(r.total.low, r.total.high, d)), r.total.mean),
        None => Cell::number(NOT_AVAILABLE.to_string(), f64::NAN),
    }
}

fn headline_row(h: &Headline) -> Vec<Cell> {
    let d = decimals_for_unit(&h.unit);
    let level = |x: f64| Cell::number(with_unit(fixed(x, d), level_unit(&h.unit)), x);
    vec![
        Cell::text(h.label.as_str()),
        Cell::text(h.horizon.as_str()),
        Cell::text(h.month.to_string()),
        Cell::number(fixed(h.value.mean, d), h.value.mean),
        Cell::number(interval(h.value.low, h.value.high, d), h.value.low),
        level(h.baseline_mean),
        level(h.scenario_mean),
        Cell::text(h.unit.as_str()),
    ]
}

/// "42.1%" for percentages; other units are named in the unit column.
fn with_unit(number: String, unit: &str) -> String {
    if unit == "%" && number != NOT_AVAILABLE { format!("{number}%") } else { number }
}

/// Taobao/Tmall's GMV share change by province and area.
pub fn regional_table(s: &RunSummary) -> Table {
    let columns = columns(&[
        ("Province", false),
        ("Area", false),
        ("Horizon", false),
        ("Month", false),
        ("Change (pp)", true),
        ("90% interval (pp)", true),
        ("Baseline Taobao/Tmall share (%)", true),
        ("WeChat-Pay-only shoppers (%)", true),
    ]);
    let rows =
        s.regional.iter().map(|e| [vec![Cell::text(e.group.as_str()), Cell::text(e.area.as_str())], effect_cells(e)].concat()).collect();
    Table { columns, rows }
}

/// Taobao/Tmall's GMV share change in urban/rural and income segments.
pub fn segments_table(s: &RunSummary) -> Table {
    let columns = columns(&[
        ("Segment", false),
        ("Horizon", false),
        ("Month", false),
        ("Change (pp)", true),
        ("90% interval (pp)", true),
        ("Baseline Taobao/Tmall share (%)", true),
        ("WeChat-Pay-only shoppers (%)", true),
    ]);
    let rows = s.segments.iter().map(|e| [vec![Cell::text(e.group.as_str())], effect_cells(e)].concat()).collect();
    Table { columns, rows }
}

/// Horizon, month, change with interval and the two baseline levels: the
/// cells the regional and segment tables share.
fn effect_cells(e: &Effect) -> Vec<Cell> {
    let change = e.change_pp;
    vec![
        Cell::text(e.horizon.as_str()),
        Cell::text(e.month.to_string()),
        Cell::number(fixed(change.mean, 2), change.mean),
        Cell::number(interval(change.low, change.high, 2), change.low),
        Cell::number(fixed(e.baseline_share_pct, 1), e.baseline_share_pct),
        Cell::number(fixed(e.wechat_only_share_pct, 1), e.wechat_only_share_pct),
    ]
}

/// Where Taobao/Tmall's GMV gain comes from, per horizon.
pub fn gain_table(s: &RunSummary) -> Table {
    let columns =
        columns(&[("Horizon", false), ("Month", false), ("From rural shoppers (%)", true), ("From low-income shoppers (%)", true)]);
    let rows = s
        .gain
        .iter()
        .map(|g| {
            vec![
                Cell::text(g.horizon.as_str()),
                Cell::text(g.month.to_string()),
                Cell::number(fixed(g.rural_pct, 1), g.rural_pct),
                Cell::number(fixed(g.low_income_pct, 1), g.low_income_pct),
            ]
        })
        .collect();
    Table { columns, rows }
}

/// Calibration targets against the baseline's first month.
pub fn fit_table(s: &RunSummary) -> Table {
    let columns = columns(&[
        ("Target", false),
        ("Unit", false),
        ("Observed", true),
        ("Simulated", true),
        ("Simulated − observed", true),
        ("Evidence", false),
    ]);
    let rows = s.fit.iter().map(fit_row).collect();
    Table { columns, rows }
}

fn fit_row(f: &FitPoint) -> Vec<Cell> {
    let d = decimals_for_scale(f.observed.abs().max(f.simulated.abs()));
    let gap = f.simulated - f.observed;
    vec![
        Cell::text(f.target.as_str()),
        Cell::text(f.unit.as_str()),
        Cell::number(fixed(f.observed, d), f.observed),
        Cell::number(fixed(f.simulated, d), f.simulated),
        Cell::number(fixed(gap, d), gap),
        Cell::text(f.label.as_str()),
    ]
}

/// Every registry entry as used, with its evidence and source, values that
/// differ from the default marked "(changed)" in words so the mark survives
/// copying as plain text.
pub fn assumptions_table(s: &RunSummary) -> Table {
    let columns = columns(&[
        ("Name", false),
        ("Value used", true),
        ("Default", true),
        ("Plausible range", true),
        ("Prior", false),
        ("Evidence", false),
        ("Unit", false),
        ("Description", false),
        ("Source", false),
    ]);
    let rows = s.assumptions.iter().map(assumption_row).collect();
    Table { columns, rows }
}

fn assumption_row(a: &Assumption) -> Vec<Cell> {
    let changed = differs_from_default(a);
    let value_text = if changed { format!("{} (changed)", general(a.value)) } else { general(a.value) };
    let range = if a.low.is_finite() && a.high.is_finite() {
        format!("{}–{}", general(a.low), general(a.high))
    } else {
        NOT_AVAILABLE.to_string()
    };
    vec![
        Cell::text(a.name.as_str()),
        Cell { changed, ..Cell::number(value_text, a.value) },
        Cell::number(general(a.default), a.default),
        Cell::number(range, a.low),
        Cell::text(a.prior.as_str()),
        Cell::text(a.label.as_str()),
        Cell::text(a.unit.as_str()),
        Cell::text(a.description.as_str()),
        Cell::text(a.source.as_str()),
    ]
}

/// Values come from parsing and unit conversion, so compare with a relative
/// tolerance rather than bit for bit. A missing (NaN) value differs from a
/// real default.
pub fn differs_from_default(a: &Assumption) -> bool {
    if a.value.is_nan() || a.default.is_nan() {
        return a.value.is_nan() != a.default.is_nan();
    }
    let scale = a.value.abs().max(a.default.abs());
    (a.value - a.default).abs() > 1e-9 * scale
}

/// Seed, version and settings: what someone needs to reproduce the run.
pub fn metadata_table(s: &RunSummary) -> Table {
    let m = &s.meta;
    let field = |name: &str, value: String| vec![Cell::text(name), Cell::text(value)];
    let rows = vec![
        field("Scenario", m.scenario_name.clone()),
        field("Title", m.title.clone()),
        field("Baseline", m.baseline_name.clone()),
        field("First divergent month", first_event_text(m)),
        field("Seed", m.seed.to_string()),
        field("shareshift version", m.version.clone()),
        field("Replications", m.replications.to_string()),
        field("Scale", general(m.scale)),
        field("Threads", m.threads.to_string()),
        field("Agents per replication", grouped(m.agents_per_replication)),
        field("Run time (seconds)", fixed(m.seconds, 1)),
        field("Scenario SHA-256", m.scenario_sha256.clone()),
    ];
    Table { columns: columns(&[("Field", false), ("Value", false)]), rows }
}

fn first_event_text(m: &RunMeta) -> String {
    m.first_divergent_month.map_or_else(|| "none (identical to baseline)".to_string(), |month| month.to_string())
}

/// The name a scenario goes by in headings and columns: its title, else its
/// file name.
pub fn scenario_display_name(m: &RunMeta) -> String {
    if m.title.trim().is_empty() { m.scenario_name.clone() } else { m.title.clone() }
}

/// The headline of several scenarios side by side: one row per metric and
/// horizon (in order of first appearance), one column per scenario with
/// "mean (low–high)". When scenarios reach a horizon in different months
/// (their events differ), each cell names its month.
pub fn comparison_headline_table(summaries: &[RunSummary]) -> Table {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for h in summaries.iter().flat_map(|s| &s.headline) {
        if !keys.contains(&(h.metric.as_str(), h.horizon.as_str())) {
            keys.push((h.metric.as_str(), h.horizon.as_str()));
        }
    }
    let mut columns = columns(&[("Metric", false), ("Horizon", false), ("Month", false), ("Unit", false)]);
    columns.extend(summaries.iter().map(|s| Column { header: scenario_display_name(&s.meta), numeric: true }));
    let rows = keys.iter().map(|&(metric, horizon)| comparison_row(summaries, metric, horizon)).collect();
    Table { columns, rows }
}

fn comparison_row(summaries: &[RunSummary], metric: &str, horizon: &str) -> Vec<Cell> {
    let found: Vec<Option<&Headline>> =
        summaries.iter().map(|s| s.headline.iter().find(|h| h.metric == metric && h.horizon == horizon)).collect();
    let first = found.iter().flatten().next();
    let months_agree = found.iter().flatten().all(|h| Some(h.month) == first.map(|f| f.month));
    let mut row = vec![
        Cell::text(first.map(|h| h.label.clone()).unwrap_or_default()),
        Cell::text(horizon),
        Cell::text(if months_agree { first.map(|h| h.month.to_string()).unwrap_or_default() } else { "varies".to_string() }),
        Cell::text(first.map(|h| h.unit.clone()).unwrap_or_default()),
    ];
    row.extend(found.iter().map(|h| match h {
        Some(h) => {
            let d = decimals_for_unit(&h.unit);
            let text = format!("{} ({})", fixed(h.value.mean, d), interval(h.value.low, h.value.high, d));
            let text = if months_agree { text } else { format!("{text} at {}", h.month) };
            Cell::number(text, h.value.mean)
        }
        None => Cell::text("–"),
    }));
    row
}

/// One row per scenario of a comparison: enough to tell the runs apart and
/// reproduce them.
pub fn comparison_metadata_table(summaries: &[RunSummary]) -> Table {
    let columns = columns(&[
        ("Scenario", false),
        ("File name", false),
        ("Baseline", false),
        ("First divergent month", false),
        ("Seed", true),
        ("Replications", true),
        ("Scale", true),
        ("Version", false),
        ("Scenario SHA-256", false),
    ]);
    let rows = summaries
        .iter()
        .map(|s| {
            let m = &s.meta;
            vec![
                Cell::text(scenario_display_name(m)),
                Cell::text(m.scenario_name.as_str()),
                Cell::text(m.baseline_name.as_str()),
                Cell::text(first_event_text(m)),
                Cell::number(m.seed.to_string(), m.seed as f64),
                Cell::number(m.replications.to_string(), f64::from(m.replications)),
                Cell::number(general(m.scale), m.scale),
                Cell::text(m.version.as_str()),
                Cell::text(m.scenario_sha256.as_str()),
            ]
        })
        .collect();
    Table { columns, rows }
}

// ---------------------------------------------------------------------------
// Document outline
// ---------------------------------------------------------------------------

/// A format-neutral piece of a report. Renderers map each to their syntax.
#[derive(Debug, Clone, PartialEq)]
pub enum Block<'a> {
    /// Level 1 is the title; level 2 starts a section (`anchor` is its id).
    Heading {
        level: u8,
        text: String,
        anchor: String,
    },
    Paragraph(String),
    /// Small print under a table: how to read it.
    Note(String),
    /// `sortable` asks the HTML report for clickable headers.
    Table {
        table: Table,
        sortable: bool,
    },
    Chart(&'a RenderedChart),
    List(Vec<String>),
    Code {
        language: &'static str,
        text: String,
    },
}

pub(crate) fn heading(level: u8, text: &str, anchor: &str) -> Block<'static> {
    Block::Heading { level, text: text.to_string(), anchor: anchor.to_string() }
}

/// A table, or a sentence saying there is nothing to show: an empty table
/// (headers only) reads like a rendering bug.
pub(crate) fn table_or(table: Table, sortable: bool, when_empty: &str) -> Block<'static> {
    if table.rows.is_empty() { Block::Paragraph(when_empty.to_string()) } else { Block::Table { table, sortable } }
}

/// The section headings of a single-run report, in order, with anchors.
pub const SECTIONS: [(&str, &str); 8] = [
    ("Headline results", "headline"),
    ("Charts", "charts"),
    ("Regional effects", "regional"),
    ("Segments", "segments"),
    ("Calibration fit", "calibration"),
    ("Scenario as resolved", "scenario"),
    ("Assumptions and sources", "assumptions"),
    ("Run metadata", "metadata"),
];

/// The single-run report, section by section.
pub fn report_blocks<'a>(s: &RunSummary, charts: &'a [RenderedChart]) -> Vec<Block<'a>> {
    let m = &s.meta;
    let title = format!("{} vs {}", scenario_display_name(m), m.baseline_name);
    let mut blocks = vec![heading(1, &title, "top")];
    if !m.description.trim().is_empty() {
        blocks.push(Block::Paragraph(m.description.trim().to_string()));
    }
    blocks.push(Block::Paragraph(headline_paragraph(s)));
    let [headline, charts_section, regional, segments, calibration, scenario, assumptions, metadata] = SECTIONS;

    blocks.push(heading(2, headline.0, headline.1));
    blocks.push(table_or(headline_table(s), false, "This run has no headline results."));
    let over = if m.replications == 1 {
        "One replication: no interval (run two or more for a 90% interval of the mean).".to_string()
    } else {
        format!("Mean over {} replications with its 90% interval.", m.replications)
    };
    blocks.push(Block::Note(format!(
        "{over} Changes (pp, million) are scenario minus baseline within each replication; levels are the arms' means."
    )));

    if let Some(u) = &s.uncertainty {
        blocks.extend(super::analysis::uncertainty_blocks(u));
    }

    blocks.push(heading(2, charts_section.0, charts_section.1));
    blocks.extend(chart_blocks(charts));

    blocks.push(heading(2, regional.0, regional.1));
    blocks.push(table_or(regional_table(s), true, "This run has no regional results."));
    blocks.push(Block::Note(
        "Change in Taobao/Tmall's GMV share in the province or area, scenario minus baseline; levels are the baseline's.".into(),
    ));

    blocks.push(heading(2, segments.0, segments.1));
    blocks.push(table_or(segments_table(s), false, "This run has no segment results."));
    blocks.push(heading(3, "Where Taobao/Tmall's gain comes from", "gain"));
    blocks.push(table_or(gain_table(s), false, "This run has no gain decomposition."));
    blocks.push(Block::Note(
        "Share of the national change in Taobao/Tmall's GMV (CNY) contributed by each group, mean over replications.".into(),
    ));

    blocks.push(heading(2, calibration.0, calibration.1));
    blocks.push(table_or(fit_table(s), false, "This run has no calibration targets."));
    blocks.push(Block::Note("Observed targets against this run's baseline in its first month.".into()));

    blocks.push(heading(2, scenario.0, scenario.1));
    blocks.push(heading(3, "Events", "events"));
    blocks.push(if s.events.is_empty() { Block::Paragraph("No events.".into()) } else { Block::List(s.events.clone()) });
    blocks.push(heading(3, "Resolved scenario", "resolved"));
    blocks.push(Block::Code { language: "json", text: s.scenario_json.trim_end().to_string() });

    blocks.push(heading(2, assumptions.0, assumptions.1));
    blocks.push(table_or(assumptions_table(s), false, "This run lists no assumptions."));
    blocks.push(Block::Note("“(changed)” marks a value that differs from the registry default. Sources are given as text.".into()));

    blocks.push(heading(2, metadata.0, metadata.1));
    blocks.push(Block::Table { table: metadata_table(s), sortable: false });
    blocks
}

pub(crate) fn chart_blocks(charts: &[RenderedChart]) -> Vec<Block<'_>> {
    if charts.is_empty() {
        return vec![Block::Paragraph("No charts were rendered for this report.".into())];
    }
    charts.iter().map(Block::Chart).collect()
}

/// The section headings of a comparison report, in order, with anchors.
pub const COMPARISON_SECTIONS: [(&str, &str); 4] =
    [("Headline results", "headline"), ("In brief", "in-brief"), ("Charts", "charts"), ("Run metadata", "metadata")];

/// The comparison report: headline side by side, each scenario's paragraph,
/// the charts and one metadata row per scenario.
pub fn comparison_blocks<'a>(summaries: &[RunSummary], charts: &'a [RenderedChart]) -> Vec<Block<'a>> {
    let mut blocks = vec![heading(1, "Scenario comparison", "top")];
    if summaries.is_empty() {
        blocks.push(Block::Paragraph("No scenarios to compare.".into()));
        return blocks;
    }
    let names: Vec<String> =
        summaries.iter().map(|s| format!("{} (vs {})", scenario_display_name(&s.meta), s.meta.baseline_name)).collect();
    blocks.push(Block::Paragraph(format!(
        "{} scenarios, each against its own baseline: {}. Changes are scenario minus baseline within each replication.",
        summaries.len(),
        names.join("; ")
    )));
    let [headline, in_brief, charts_section, metadata] = COMPARISON_SECTIONS;
    blocks.push(heading(2, headline.0, headline.1));
    blocks.push(table_or(comparison_headline_table(summaries), false, "These runs have no headline results."));
    blocks.push(Block::Note("Each cell: mean (90% interval).".into()));
    blocks.push(heading(2, in_brief.0, in_brief.1));
    blocks.push(Block::List(summaries.iter().map(|s| format!("{}: {}", scenario_display_name(&s.meta), headline_paragraph(s))).collect()));
    blocks.push(heading(2, charts_section.0, charts_section.1));
    blocks.extend(chart_blocks(charts));
    blocks.push(heading(2, metadata.0, metadata.1));
    blocks.push(Block::Table { table: comparison_metadata_table(summaries), sortable: false });
    blocks
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Band, fixture};

    /// With parameter draws, the headline table gains their spread beside
    /// the stochastic interval, on the rows of the horizon they were taken at.
    #[test]
    fn headline_table_shows_parameter_uncertainty_beside_chance() {
        let mut s = fixture::summary();
        assert_eq!(headline_table(&s).columns.len(), 8);
        let h = s.headline.iter().find(|h| h.horizon == "+12 months").unwrap().clone();
        s.uncertainty = Some(crate::report::Uncertainty {
            draws: 8,
            parameters: vec!["theta".into()],
            rows: vec![crate::report::UncertaintyRow {
                metric: h.metric.clone(),
                label: h.label.clone(),
                unit: h.unit.clone(),
                horizon: h.horizon.clone(),
                stochastic: h.value,
                total: Band { mean: 4.5, low: 1.0, high: 10.6 },
            }],
            fit_gap_max_pp: 0.1,
            fit_gap_mean_pp: 0.06,
            scale: 10000.0,
            replications: 4,
        });
        let t = headline_table(&s);
        assert_eq!(t.columns[5].header, "With parameter uncertainty (median, 5th–95th)");
        let row = |horizon: &str| t.rows.iter().find(|r| r[0].text == h.label && r[1].text == horizon).unwrap();
        assert_eq!(row("+12 months")[5].text, "4.50 (1.00–10.60)");
        assert_eq!(row("+3 months")[5].text, NOT_AVAILABLE);
        assert_eq!(
            row("+12 months")[4].text,
            interval(h.value.low, h.value.high, decimals_for_unit(&h.unit)),
            "the stochastic interval stays"
        );
    }

    #[test]
    fn fixed_never_prints_minus_zero_or_nan() {
        assert_eq!(fixed(-0.0004, 2), "0.00");
        assert_eq!(fixed(-0.004, 2), "0.00");
        assert_eq!(fixed(-0.006, 2), "-0.01");
        assert_eq!(fixed(f64::NAN, 1), NOT_AVAILABLE);
        assert_eq!(fixed(f64::INFINITY, 1), NOT_AVAILABLE);
        assert_eq!(fixed(3.87, 1), "3.9");
    }

    #[test]
    fn intervals_use_an_en_dash_spaced_around_negatives() {
        assert_eq!(interval(3.81, 3.93, 1), "3.8–3.9");
        assert_eq!(interval(-2.53, -2.39, 2), "-2.53 – -2.39");
        assert_eq!(interval(-0.1, 0.3, 1), "-0.1 – 0.3");
        assert_eq!(interval(f64::NAN, 0.3, 1), NOT_AVAILABLE);
    }

    #[test]
    fn general_keeps_six_significant_digits() {
        assert_eq!(general(0.08), "0.08");
        assert_eq!(general(0.1 + 0.2), "0.3");
        assert_eq!(general(1.5), "1.5");
        assert_eq!(general(1_234_567.0), "1234567");
        assert_eq!(general(0.0600001), "0.0600001");
        assert_eq!(general(1e-6), "1e-6");
        assert_eq!(general(-2.0), "-2");
        assert_eq!(general(0.0), "0");
        assert_eq!(general(f64::NAN), NOT_AVAILABLE);
    }

    #[test]
    fn grouped_inserts_thousands_separators() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
    }

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        for (input, expected) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(base64(input.as_bytes()), expected, "{input:?}");
        }
        assert_eq!(base64(&[0xff, 0xfe, 0xfd]), "//79");
    }

    #[test]
    fn headline_paragraph_quotes_the_fixture_at_twelve_months() {
        let p = headline_paragraph(&fixture::summary());
        assert_eq!(
            p,
            "Taobao/Tmall's GMV share is 3.9 pp higher by 2025-09 than without the event (90% interval 3.8–3.9); \
             41% of the gain comes from rural shoppers. WeChat Pay carries 33% of Taobao/Tmall's payments by then, \
             and 1.8 million more WeChat-Pay-only shoppers buy on Taobao/Tmall each month. \
             Alipay's share of all e-commerce payments is 2.5 pp lower."
        );
    }

    #[test]
    fn headline_paragraph_without_an_event_says_identical_to_baseline() {
        let p = headline_paragraph(&fixture::no_event_summary());
        assert!(p.contains("identical to its baseline"), "{p}");
        assert!(p.contains("every difference from the baseline is zero"), "{p}");
        assert!(p.contains("“status_quo”"), "{p}");
    }

    #[test]
    fn headline_paragraph_says_lower_and_fewer_for_negative_effects() {
        let mut s = fixture::summary();
        for h in s.headline.iter_mut().filter(|h| h.unit != "% of Taobao/Tmall GMV") {
            h.value = Band { mean: -h.value.mean, low: -h.value.high, high: -h.value.low };
        }
        let p = headline_paragraph(&s);
        assert!(p.contains("3.9 pp lower by 2025-09 than without the event (90% interval 3.8–3.9)"), "{p}");
        assert!(p.contains("41% of the loss comes from rural shoppers"), "{p}");
        assert!(p.contains("1.8 million fewer WeChat-Pay-only shoppers"), "{p}");
        assert!(p.contains("Alipay's share of all e-commerce payments is 2.5 pp higher."), "{p}");
    }

    #[test]
    fn headline_paragraph_falls_back_to_the_last_horizon() {
        let mut s = fixture::summary();
        s.headline.retain(|h| h.horizon != "+12 months");
        let p = headline_paragraph(&s);
        assert!(p.starts_with("Taobao/Tmall's GMV share is 4.3 pp higher by 2026-12"), "{p}");
        assert!(p.contains("43% of the gain"), "{p}");
    }

    #[test]
    fn headline_paragraph_handles_uncertain_tiny_and_missing_figures() {
        let mut s = fixture::summary();
        let gmv = s.headline.iter_mut().find(|h| h.metric == GMV_SHARE_CHANGE && h.horizon == "+12 months").unwrap();
        gmv.value = Band { mean: 0.12, low: -0.05, high: 0.29 };
        let p = headline_paragraph(&s);
        assert!(
            p.contains("0.12 pp higher by 2025-09 than without the event (90% interval -0.05 – 0.29, which includes no change)"),
            "{p}"
        );

        let gmv = s.headline.iter_mut().find(|h| h.metric == GMV_SHARE_CHANGE && h.horizon == "+12 months").unwrap();
        gmv.value = Band { mean: 0.0001, low: -0.0002, high: 0.0004 };
        let p = headline_paragraph(&s);
        assert!(p.starts_with("Taobao/Tmall's GMV share is essentially unchanged by 2025-09"), "{p}");
        assert!(!p.contains("of the gain"), "{p}");

        for h in &mut s.headline {
            h.value.mean = f64::NAN;
        }
        s.gain[1].rural_pct = f64::NAN;
        let p = headline_paragraph(&s);
        assert!(!p.contains("NaN") && !p.contains("inf"), "{p}");
        assert_eq!(p, "The headline figures for 2025-09 are not available for this run.");

        s.headline.clear();
        assert_eq!(headline_paragraph(&s), "This run has no headline results to summarise.");
    }

    #[test]
    fn buyers_sentence_stands_alone_when_the_wechat_share_is_missing() {
        let mut s = fixture::summary();
        s.headline.retain(|h| h.metric != WECHAT_SHARE_OF_TAOBAO && h.metric != GMV_SHARE_CHANGE);
        let p = headline_paragraph(&s);
        assert!(p.starts_with("1.8 million more WeChat-Pay-only shoppers buy on Taobao/Tmall each month by 2025-09."), "{p}");
        assert_eq!(capitalised("the number"), "The number");
        assert_eq!(capitalised(""), "");
    }

    #[test]
    fn rural_shares_outside_zero_to_hundred_say_who_moves_the_other_way() {
        assert_eq!(rural_clause(120.0, "gain"), "; rural shoppers account for 120% of the gain, as urban shoppers move the other way");
        assert_eq!(rural_clause(-12.0, "gain"), "; rural shoppers move the other way (-12% of the gain)");
        assert_eq!(rural_clause(100.3, "gain"), "; 100% of the gain comes from rural shoppers");
        assert_eq!(rural_clause(f64::NAN, "gain"), "");
    }

    #[test]
    fn assumptions_that_differ_from_the_default_are_marked() {
        let table = assumptions_table(&fixture::summary());
        let changed: Vec<&str> = table.rows.iter().filter(|r| r[1].changed).map(|r| r[0].text.as_str()).collect();
        assert_eq!(changed, ["wechat_trial_rate"]);
        assert_eq!(table.rows[0][1].text, "0.08 (changed)");
        assert_eq!(table.rows[1][1].text, "0.012");
    }

    #[test]
    fn comparison_rows_name_months_when_scenarios_differ() {
        let early = fixture::summary();
        let mut late = fixture::summary();
        late.meta.title = "Later opening".to_string();
        for h in &mut late.headline {
            h.month = h.month.plus(3);
        }
        let table = comparison_headline_table(&[early, late]);
        assert_eq!(table.columns.len(), 6);
        assert_eq!(table.rows.len(), 15);
        assert_eq!(table.rows[0][2].text, "varies");
        assert_eq!(table.rows[0][4].text, "1.52 (1.47–1.58) at 2024-12");
        assert_eq!(table.rows[0][5].text, "1.52 (1.47–1.58) at 2025-03");
    }

    #[test]
    fn comparison_marks_rows_a_scenario_lacks() {
        let full = fixture::summary();
        let mut short = fixture::summary();
        short.headline.retain(|h| h.horizon != "end of horizon");
        let table = comparison_headline_table(&[full, short]);
        let end = table.rows.iter().find(|r| r[1].text == "end of horizon").unwrap();
        assert_eq!(end[2].text, "2026-12");
        assert_eq!(end[5].text, "–");
    }
}
