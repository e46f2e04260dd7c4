//! The HTML report: one self-contained HTML5 file per run (or comparison).
//!
//! Analysts mail these files, archive them and open them offline, and
//! regulators may open them on locked-down machines, so the file holds
//! everything it shows: inline CSS (print-friendly), every chart's SVG inline,
//! the chart font as a base64 data: URL, and no reference to anything outside
//! the file. A Content-Security-Policy meta tag makes the browser enforce that
//! (no fetches of any kind). The page is complete without JavaScript; a small
//! inline script only makes the regional table sortable. All text from the
//! summary is HTML-escaped; chart SVG comes from our own chart code and is
//! inserted as-is.

use super::RenderedChart;
use super::RunSummary;
use super::text::{self, Block, Cell, Table};

/// The family our charts name in their SVG `font-family` attributes, and the
/// font file that provides it, bundled so charts render identically on any
/// machine (the PNGs are drawn with the same file).
const CHART_FONT_FAMILY: &str = "DejaVu Sans";
const CHART_FONT: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");

/// The single-run report as one HTML file.
pub fn render(s: &RunSummary, charts: &[RenderedChart]) -> String {
    let title = format!("{} vs {}", text::scenario_display_name(&s.meta), s.meta.baseline_name);
    page(&title, &text::report_blocks(s, charts), charts)
}

/// Several runs side by side as one HTML file.
pub fn render_comparison(summaries: &[RunSummary], charts: &[RenderedChart]) -> String {
    page("Scenario comparison", &text::comparison_blocks(summaries, charts), charts)
}

/// Any outline of blocks as one HTML file (analysis reports).
pub fn page(title: &str, blocks: &[Block], charts: &[RenderedChart]) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str(CONTENT_SECURITY_POLICY);
    out.push_str("<meta name=\"generator\" content=\"shareshift\">\n");
    out.push_str(&format!("<title>{}</title>\n<style>\n", escape(title)));
    if charts_use_family(charts, CHART_FONT_FAMILY) {
        out.push_str(&chart_font_css());
    }
    out.push_str(CSS);
    out.push_str("</style>\n</head>\n<body>\n<main>\n");
    let first_section = blocks.iter().position(|b| matches!(b, Block::Heading { level: 2, .. })).unwrap_or(blocks.len());
    for block in &blocks[..first_section] {
        out.push_str(&render_block(block));
    }
    out.push_str(&contents_nav(blocks));
    for block in &blocks[first_section..] {
        out.push_str(&render_block(block));
    }
    out.push_str("</main>\n<script>\n");
    out.push_str(SORT_SCRIPT);
    out.push_str("</script>\n</body>\n</html>\n");
    out
}

/// Forbids every fetch: stylesheets and scripts only inline, fonts and images
/// only from data: URLs. A chart or text that somehow referenced a URL would
/// stay inert instead of phoning home.
const CONTENT_SECURITY_POLICY: &str = "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; font-src data:; img-src data:\">\n";

/// Escapes text for element content and double- or single-quoted attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// An id attribute value from a chart id or anchor: ASCII letters, digits,
/// '-' and '_' only, so ids stay valid whatever a chart is called.
fn slug(text: &str) -> String {
    text.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect()
}

fn render_block(block: &Block) -> String {
    match block {
        Block::Heading { level, text, anchor } => format!("<h{level} id=\"{}\">{}</h{level}>\n", slug(anchor), escape(text)),
        Block::Paragraph(text) => format!("<p>{}</p>\n", escape(text)),
        Block::Note(text) => format!("<p class=\"note\">{}</p>\n", escape(text)),
        Block::Table { table, sortable } => render_table(table, *sortable),
        Block::Chart(chart) => render_chart(chart),
        Block::List(items) => {
            let items: String = items.iter().map(|item| format!("<li>{}</li>\n", escape(item))).collect();
            format!("<ul>\n{items}</ul>\n")
        }
        Block::Code { language, text } => format!("<pre><code class=\"language-{language}\">{}</code></pre>\n", escape(text)),
    }
}

/// A linked list of the sections, placed after the title and headline
/// paragraph, for long reports read on screen (hidden in print).
fn contents_nav(blocks: &[Block]) -> String {
    let links: String = blocks
        .iter()
        .filter_map(|b| match b {
            Block::Heading { level: 2, text, anchor } => Some(format!("<li><a href=\"#{}\">{}</a></li>\n", slug(anchor), escape(text))),
            _ => None,
        })
        .collect();
    if links.is_empty() { String::new() } else { format!("<nav aria-label=\"Sections\">\n<ul>\n{links}</ul>\n</nav>\n") }
}

fn render_table(table: &Table, sortable: bool) -> String {
    let class = if sortable { " class=\"sortable\"" } else { "" };
    let mut out = format!("<div class=\"table-wrap\">\n<table{class}>\n<thead>\n<tr>");
    for column in &table.columns {
        let class = if column.numeric { " class=\"num\"" } else { "" };
        out.push_str(&format!("<th scope=\"col\"{class}>{}</th>", escape(&column.header)));
    }
    out.push_str("</tr>\n</thead>\n<tbody>\n");
    for row in &table.rows {
        out.push_str("<tr>");
        for (cell, column) in row.iter().zip(&table.columns) {
            out.push_str(&render_cell(cell, column.numeric, sortable));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n</div>\n");
    out
}

/// A cell; in a sortable table, numbers also carry a `data-sort` key so the
/// script sorts "3.01–3.24" or "1,200" by value, not as text.
fn render_cell(cell: &Cell, numeric: bool, sortable: bool) -> String {
    let classes: Vec<&str> = [numeric.then_some("num"), cell.changed.then_some("changed")].into_iter().flatten().collect();
    let class = if classes.is_empty() { String::new() } else { format!(" class=\"{}\"", classes.join(" ")) };
    // Sort keys print with `{:?}` so they round-trip exactly; they are
    // finite by construction (`Cell::number`).
    let sort = cell.sort_key.filter(|_| sortable).map(|k| format!(" data-sort=\"{k:?}\"")).unwrap_or_default();
    format!("<td{class}{sort}>{}</td>", escape(&cell.text))
}

fn render_chart(chart: &RenderedChart) -> String {
    let id = slug(&chart.id);
    format!(
        "<figure class=\"chart\" id=\"chart-{id}\" aria-labelledby=\"chart-{id}-title\">\n<h3 id=\"chart-{id}-title\">{}</h3>\n{}\n<figcaption>{}</figcaption>\n</figure>\n",
        escape(&chart.title),
        without_xml_declaration(&chart.svg).trim(),
        escape(&chart.caption)
    )
}

/// An SVG file may open with `<?xml ...?>`, which is not valid inside HTML
/// (browsers turn it into a comment); the SVG element itself is kept as-is.
fn without_xml_declaration(svg: &str) -> &str {
    let trimmed = svg.trim_start();
    if trimmed.starts_with("<?xml") {
        if let Some(end) = trimmed.find("?>") {
            return &trimmed[end + 2..];
        }
    }
    svg
}

// ---------------------------------------------------------------------------
// The chart font
// ---------------------------------------------------------------------------

/// Whether any chart names `family` in a `font-family` attribute or style
/// (case-insensitively, among comma-separated, possibly quoted names).
fn charts_use_family(charts: &[RenderedChart], family: &str) -> bool {
    charts.iter().any(|c| font_families(&c.svg).iter().any(|f| f.eq_ignore_ascii_case(family)))
}

/// The family names in every `font-family="..."`, `font-family='...'` and
/// `font-family: ...;` of an SVG text.
fn font_families(svg: &str) -> Vec<String> {
    let mut families = Vec::new();
    for (start, _) in svg.match_indices("font-family") {
        let rest = svg[start + "font-family".len()..].trim_start();
        let value = if let Some(attribute) = rest.strip_prefix('=') {
            let attribute = attribute.trim_start();
            match attribute.chars().next() {
                Some(quote @ ('"' | '\'')) => attribute[1..].split(quote).next().unwrap_or(""),
                _ => "",
            }
        } else if let Some(style) = rest.strip_prefix(':') {
            style.split([';', '"', '}']).next().unwrap_or("")
        } else {
            ""
        };
        families.extend(value.split(',').map(|f| f.trim().trim_matches(['"', '\'']).trim().to_string()).filter(|f| !f.is_empty()));
    }
    families
}

/// `@font-face` with the bundled font as a data: URL, and a fallback list for
/// the chart text that names it, in case a viewer refuses embedded fonts.
fn chart_font_css() -> String {
    format!(
        "@font-face {{ font-family: \"{CHART_FONT_FAMILY}\"; src: url(data:font/ttf;base64,{}) format(\"truetype\"); font-weight: normal; font-style: normal; }}\n\
         figure.chart [font-family*=\"{CHART_FONT_FAMILY}\"] {{ font-family: \"{CHART_FONT_FAMILY}\", \"Bitstream Vera Sans\", Verdana, sans-serif; }}\n",
        text::base64(CHART_FONT)
    )
}

// ---------------------------------------------------------------------------
// Style and script
// ---------------------------------------------------------------------------

/// Plain, print-friendly style: black on white, tabular figures in number
/// columns, tables and figures kept whole across pages, navigation hidden in
/// print.
const CSS: &str = r#":root { color-scheme: light; }
body { margin: 0; background: #fff; color: #1a1a1a; font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; line-height: 1.5; }
main { max-width: 75rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 0.75rem; }
h2 { font-size: 1.25rem; margin: 2.25rem 0 0.5rem; padding-bottom: 0.2rem; border-bottom: 1px solid #ccc; }
h3 { font-size: 1.05rem; margin: 1.5rem 0 0.4rem; }
p { max-width: 60rem; }
nav ul { list-style: none; padding: 0; margin: 0 0 1rem; display: flex; flex-wrap: wrap; gap: 0.25rem 1rem; font-size: 0.9rem; }
a { color: #0b4f8a; }
.table-wrap { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5rem 0; font-size: 0.88rem; }
th, td { padding: 0.25rem 0.6rem; border-bottom: 1px solid #ddd; text-align: left; vertical-align: top; }
th { background: #f2f2f2; border-bottom: 2px solid #aaa; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tbody tr:nth-child(even) td { background: #fafafa; }
td.changed { font-weight: 700; }
.note { color: #555; font-size: 0.85rem; margin-top: 0.25rem; }
figure { margin: 0.5rem 0 2rem; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.9rem; }
pre { background: #f6f6f6; border: 1px solid #e2e2e2; padding: 0.75rem; font-size: 0.8rem; white-space: pre-wrap; overflow-wrap: anywhere; }
/* report.html#chart-<id> shows that chart alone: a link to one chart for a
   note or a deck, and what the browser test screenshots. */
main:has(figure.chart:target) > *:not(figure.chart:target) { display: none; }
table.js-sortable th { cursor: pointer; }
table.js-sortable th[aria-sort="ascending"]::after { content: " \25B2"; }
table.js-sortable th[aria-sort="descending"]::after { content: " \25BC"; }
@media print {
  body { font-size: 10pt; }
  main { max-width: none; padding: 0; }
  nav { display: none; }
  h2, h3 { break-after: avoid; }
  figure, tr, pre { break-inside: avoid; }
  thead { display: table-header-group; }
  .table-wrap, figure { overflow: visible; }
  tbody tr:nth-child(even) td, th { background: none; }
}
"#;

/// Progressive enhancement: clicking (or Enter/Space on) a header of a table
/// with class "sortable" sorts its rows, numerically by `data-sort` where
/// cells have it (cells without a number go last), else by text. Plain ES5,
/// every lookup guarded, so old browsers and odd tables cannot make it throw;
/// without JavaScript the table is simply in report order.
const SORT_SCRIPT: &str = r#"(function () {
  "use strict";
  if (!document.querySelectorAll || !Array.prototype.forEach) { return; }
  function numberOf(cell) {
    var raw = cell ? cell.getAttribute("data-sort") : null;
    if (raw === null || raw === "") { return null; }
    var n = parseFloat(raw);
    return isFinite(n) ? n : null;
  }
  function textOf(cell) { return cell ? (cell.textContent || "") : ""; }
  function compare(a, b, col, ascending) {
    var ca = a.cells[col], cb = b.cells[col];
    var na = numberOf(ca), nb = numberOf(cb), sign = ascending ? 1 : -1;
    if (na !== null && nb !== null) { return sign * (na - nb); }
    if (na !== null) { return -1; }
    if (nb !== null) { return 1; }
    return sign * textOf(ca).localeCompare(textOf(cb));
  }
  function sortTable(table, headers, col) {
    var body = table.tBodies && table.tBodies[0];
    if (!body) { return; }
    var ascending = headers[col].getAttribute("aria-sort") !== "ascending";
    var indexed = Array.prototype.map.call(body.rows, function (row, i) { return { row: row, i: i }; });
    indexed.sort(function (x, y) { return compare(x.row, y.row, col, ascending) || x.i - y.i; });
    indexed.forEach(function (entry) { body.appendChild(entry.row); });
    Array.prototype.forEach.call(headers, function (th, i) {
      if (i === col) { th.setAttribute("aria-sort", ascending ? "ascending" : "descending"); }
      else { th.removeAttribute("aria-sort"); }
    });
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var head = table.tHead && table.tHead.rows[0];
    if (!head) { return; }
    var headers = head.cells;
    table.className += " js-sortable";
    Array.prototype.forEach.call(headers, function (th, col) {
      th.setAttribute("tabindex", "0");
      th.setAttribute("title", "Sort by this column");
      th.addEventListener("click", function () { sortTable(table, headers, col); });
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sortTable(table, headers, col); }
      });
    });
  });
})();
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Band, fixture};

    fn report() -> String {
        render(&fixture::summary(), &[fixture::chart()])
    }

    /// The page with every chart's SVG and every assumption's source text
    /// taken out: what remains must not mention a URL at all.
    fn without_charts_and_sources(html: &str, s: &RunSummary, charts: &[RenderedChart]) -> String {
        let mut rest = html.to_string();
        for chart in charts {
            rest = rest.replace(chart.svg.trim(), "");
        }
        for a in &s.assumptions {
            rest = rest.replace(&escape(&a.source), "");
        }
        rest
    }

    /// The page without the base64 font, whose random letters may spell
    /// "NaN" by chance.
    fn without_font(html: &str) -> String {
        html.lines().filter(|line| !line.starts_with("@font-face")).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn has_every_section_heading_in_order() {
        let html = report();
        let mut last = 0;
        for (heading, anchor) in text::SECTIONS {
            let tag = format!("<h2 id=\"{anchor}\">{}</h2>", escape(heading));
            let at = html.find(&tag).unwrap_or_else(|| panic!("missing {tag}"));
            assert!(at > last, "{heading} out of order");
            last = at;
        }
        assert!(html.contains("<h1 id=\"top\">Taobao/Tmall accepts WeChat Pay vs status_quo</h1>"));
    }

    #[test]
    fn embeds_every_chart_svg_with_title_and_caption() {
        let chart = fixture::chart();
        let html = report();
        assert!(html.contains(&chart.svg));
        assert!(html.contains("<h3 id=\"chart-platform_shares-title\">Platform GMV shares</h3>"));
        assert!(html.contains("<figcaption>Taobao/Tmall gains share from the month it accepts WeChat Pay.</figcaption>"));
    }

    #[test]
    fn references_nothing_outside_the_file() {
        let (s, charts) = (fixture::summary(), [fixture::chart()]);
        let html = render(&s, &charts);
        let lower = html.to_lowercase();
        for forbidden in
            ["<link", "@import", "<script src", "<img", "<iframe", "src=\"http", "href=\"http", "url(http", "url(\"http", "url('http"]
        {
            assert!(!lower.contains(forbidden), "found {forbidden}");
        }
        assert!(lower.contains("default-src 'none'"));
        let rest = without_charts_and_sources(&html, &s, &charts).to_lowercase();
        assert!(!rest.contains("http://") && !rest.contains("https://"), "a URL outside chart SVG and source text");
        // The source URL is there, as text.
        assert!(html.contains("<td>Alibaba Group FY2025 annual report, https://www.alibabagroup.com/en-US/ir-financial-reports</td>"));
    }

    #[test]
    fn escapes_special_characters_in_all_text() {
        let mut s = fixture::summary();
        s.meta.title = "<script>alert('x')</script> & \"co\"".to_string();
        s.regional[0].group = "Zhe<jiang>".to_string();
        s.events[0] = "2024-09 <b>event</b>".to_string();
        let html = render(&s, &[]);
        assert!(!html.contains("<script>alert"));
        assert!(html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;co&quot; vs status_quo"));
        assert!(html.contains("<td>Zhe&lt;jiang&gt;</td>"));
        assert!(html.contains("<li>2024-09 &lt;b&gt;event&lt;/b&gt;</li>"));
        // The resolved scenario's JSON, escaped inside <pre>.
        assert!(html.contains("&quot;note&quot;: &quot;share &lt; 1 &amp; \\&quot;quoted\\&quot;&quot;"));
        assert!(html.contains("<td>Logit weight on price | utility per yuan</td>"));
        assert_eq!(html.matches("<script>").count(), 1, "only the sort script");
    }

    #[test]
    fn contains_the_headline_paragraph_with_the_expected_numbers() {
        let html = report();
        assert!(html.contains("<p>Taobao/Tmall&#39;s GMV share is 3.9 pp higher by 2025-09 than without the event (90% interval 3.8–3.9); 41% of the gain comes from rural shoppers."));
        assert!(html.contains("WeChat Pay carries 33% of Taobao/Tmall&#39;s payments by then"));
    }

    #[test]
    fn no_event_report_says_identical_to_baseline() {
        let html = render(&fixture::no_event_summary(), &[]);
        assert!(html.contains("is identical to its baseline “status_quo”"));
        assert!(html.contains("<td>none (identical to baseline)</td>"));
    }

    #[test]
    fn regional_table_is_complete_without_script_and_sortable_with_it() {
        let s = fixture::summary();
        let html = render(&s, &[]);
        let start = html.find("<table class=\"sortable\">").expect("sortable regional table");
        let table = &html[start..start + html[start..].find("</table>").unwrap_or(0)];
        assert_eq!(table.matches("<tr>").count(), s.regional.len() + 1);
        assert!(table.contains("<td class=\"num\" data-sort=\"3.12\">3.12</td><td class=\"num\" data-sort=\"3.01\">3.01–3.24</td>"));
        assert_eq!(html.matches("class=\"sortable\"").count(), 1);
        assert!(html.contains("querySelectorAll(\"table.sortable\")"));
    }

    #[test]
    fn marks_assumptions_that_differ_from_default() {
        let html = report();
        assert!(html.contains("<td class=\"num changed\">0.08 (changed)</td>"));
        assert_eq!(html.matches("(changed)</td>").count(), 1);
    }

    #[test]
    fn embeds_the_chart_font_only_when_charts_name_it() {
        let html = report();
        assert!(html.contains("@font-face { font-family: \"DejaVu Sans\"; src: url(data:font/ttf;base64,AAEAAA"));
        assert!(html.contains("\"DejaVu Sans\", \"Bitstream Vera Sans\", Verdana, sans-serif"));
        let mut plain = fixture::chart();
        plain.svg = plain.svg.replace("DejaVu Sans", "sans-serif");
        assert!(!render(&fixture::summary(), &[plain]).contains("@font-face"));
        assert!(!render(&fixture::summary(), &[]).contains("@font-face"));
    }

    #[test]
    fn finds_font_families_in_attributes_and_styles() {
        let svg =
            r#"<text font-family="DejaVu Sans, sans-serif"/><g style="font-size:3px;font-family:'Noto Sans'"><text font-family = 'Mono'/>"#;
        assert_eq!(font_families(svg), ["DejaVu Sans", "sans-serif", "Noto Sans", "Mono"]);
    }

    #[test]
    fn drops_an_xml_declaration_before_the_svg() {
        let mut chart = fixture::chart();
        chart.svg = format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n{}", chart.svg);
        let html = render(&fixture::summary(), &[chart]);
        assert!(!html.contains("<?xml"));
        assert!(html.contains(&fixture::chart().svg));
    }

    #[test]
    fn never_prints_nan() {
        let mut s = fixture::summary();
        s.headline[0].value = Band { mean: f64::NAN, low: f64::NAN, high: f64::NAN };
        s.regional[0].baseline_share_pct = f64::NAN;
        s.segments[0].change_pp.low = f64::NEG_INFINITY;
        s.gain[1].rural_pct = f64::NAN;
        s.assumptions[2].default = f64::NAN;
        let html = without_font(&render(&s, &[fixture::chart()]));
        assert!(!html.contains("NaN") && !html.contains(">inf<") && !html.contains("-inf"));
        assert!(html.contains("<td class=\"num\">n/a</td>"));
    }

    #[test]
    fn comparison_shows_scenarios_side_by_side() {
        let mut other = fixture::summary();
        other.meta.title = "Late <opening>".to_string();
        let html = render_comparison(&[fixture::summary(), other], &[fixture::chart()]);
        for (heading, anchor) in text::COMPARISON_SECTIONS {
            assert!(html.contains(&format!("<h2 id=\"{anchor}\">{heading}</h2>")), "{heading}");
        }
        assert!(html.contains(
            "<th scope=\"col\" class=\"num\">Taobao/Tmall accepts WeChat Pay</th><th scope=\"col\" class=\"num\">Late &lt;opening&gt;</th>"
        ));
        assert!(html.contains("<td class=\"num\">3.87 (3.81–3.93)</td>"));
        assert!(html.contains(&fixture::chart().svg));
        assert!(html.contains("@font-face"));
        assert!(!without_font(&html).contains("NaN"));
    }

    #[test]
    fn is_deterministic() {
        assert_eq!(report(), report());
    }
}
