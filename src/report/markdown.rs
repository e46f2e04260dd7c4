//! The Markdown report: the same content as the HTML report, as GitHub-
//! flavoured Markdown ready to paste into notes.
//!
//! Tables are GFM pipe tables, charts are linked as the PNGs written beside the
//! report (`charts/<id>.png`), and the resolved scenario sits in a fenced code
//! block. Text from the summary is escaped so a `|`, `*` or `<` in a name or
//! description cannot break a table or turn into markup; underscores inside
//! words are left alone (GFM never reads them as emphasis), so parameter names
//! stay readable when pasted into tools that show Markdown as plain text.

use super::RenderedChart;
use super::RunSummary;
use super::text::{self, Block, Table};

/// The single-run report as Markdown.
pub fn render(s: &RunSummary, charts: &[RenderedChart]) -> String {
    document(&text::report_blocks(s, charts))
}

/// Several runs side by side as Markdown.
pub fn render_comparison(summaries: &[RunSummary], charts: &[RenderedChart]) -> String {
    document(&text::comparison_blocks(summaries, charts))
}

/// Blocks separated by one blank line, ending with a newline.
pub fn document(blocks: &[Block]) -> String {
    let parts: Vec<String> = blocks.iter().map(render_block).collect();
    format!("{}\n", parts.join("\n\n"))
}

fn render_block(block: &Block) -> String {
    match block {
        Block::Heading { level, text, .. } => format!("{} {}", "#".repeat(usize::from(*level)), escape(text)),
        Block::Paragraph(text) => escape(text),
        Block::Note(text) => format!("*{}*", escape(text)),
        Block::Table { table, .. } => render_table(table),
        Block::Chart(chart) => render_chart(chart),
        Block::List(items) => items.iter().map(|item| format!("- {}", escape(item))).collect::<Vec<_>>().join("\n"),
        Block::Code { language, text } => {
            let fence = fence_for(text);
            format!("{fence}{language}\n{text}\n{fence}")
        }
    }
}

/// Escapes inline Markdown: backslash, code, emphasis, link, HTML and table
/// characters, plus `_` when it could open or close emphasis (not between two
/// letters or digits). Line breaks become spaces, since a table row and a
/// paragraph are one line each here.
pub fn escape(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    for (i, &c) in chars.iter().enumerate() {
        match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '>' | '|' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '_' if !is_intraword(&chars, i) => out.push_str("\\_"),
            '\r' if chars.get(i + 1) == Some(&'\n') => {}
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

fn is_intraword(chars: &[char], i: usize) -> bool {
    let word = |c: Option<&char>| c.is_some_and(|c| c.is_alphanumeric());
    i > 0 && word(chars.get(i - 1)) && word(chars.get(i + 1))
}

/// A GFM pipe table; numeric columns right-aligned.
pub fn render_table(table: &Table) -> String {
    let line = |cells: Vec<String>| format!("| {} |", cells.join(" | "));
    let header = line(table.columns.iter().map(|c| escape(&c.header)).collect());
    let rule = line(table.columns.iter().map(|c| if c.numeric { "---:".to_string() } else { "---".to_string() }).collect());
    let mut lines = vec![header, rule];
    lines.extend(table.rows.iter().map(|row| line(row.iter().map(|cell| escape(&cell.text)).collect())));
    lines.join("\n")
}

/// A chart as its title, the PNG written beside the report, and its caption.
fn render_chart(chart: &RenderedChart) -> String {
    let title = escape(&chart.title);
    format!("### {title}\n\n![{title}](charts/{}.png)\n\n*{}*", percent_encode(&chart.id), escape(&chart.caption))
}

/// Percent-encodes everything but RFC 3986 unreserved characters, so a chart
/// id with a space or parenthesis still makes a working link.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A code fence longer than any run of backticks in `text` (CommonMark 4.5),
/// so the resolved scenario cannot close its own block.
fn fence_for(text: &str) -> String {
    let longest_run = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    "`".repeat(longest_run.max(2) + 1)
}

/// Snapshot tests of the Markdown tables and the whole report, against files
/// in `tests/snapshots/`. After an intended change, regenerate them with
/// `UPDATE_SNAPSHOTS=1 cargo test --release report::` and review the diff
/// before committing.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::fixture;
    use std::path::PathBuf;

    /// Compares `actual` with `tests/snapshots/<name>` exactly, or rewrites
    /// the file when `UPDATE_SNAPSHOTS=1`.
    fn assert_snapshot(name: &str, actual: &str) {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
        if std::env::var("UPDATE_SNAPSHOTS").as_deref() == Ok("1") {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, actual).unwrap();
            return;
        }
        let expected = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read snapshot {}: {e}; run with UPDATE_SNAPSHOTS=1 to create it", path.display()));
        assert!(
            expected == actual,
            "snapshot {name} differs; rerun with UPDATE_SNAPSHOTS=1 and review the diff.\n--- expected\n{expected}\n--- actual\n{actual}"
        );
    }

    fn table_snapshot(table: &Table) -> String {
        format!("{}\n", render_table(table))
    }

    #[test]
    fn headline_table_snapshot() {
        assert_snapshot("headline_table.md", &table_snapshot(&text::headline_table(&fixture::summary())));
    }

    #[test]
    fn regional_table_snapshot() {
        assert_snapshot("regional_table.md", &table_snapshot(&text::regional_table(&fixture::summary())));
    }

    #[test]
    fn segments_table_snapshot() {
        let s = fixture::summary();
        assert_snapshot(
            "segments_table.md",
            &format!("{}\n{}", table_snapshot(&text::segments_table(&s)), table_snapshot(&text::gain_table(&s))),
        );
    }

    #[test]
    fn fit_table_snapshot() {
        assert_snapshot("fit_table.md", &table_snapshot(&text::fit_table(&fixture::summary())));
    }

    #[test]
    fn assumptions_table_snapshot() {
        assert_snapshot("assumptions_table.md", &table_snapshot(&text::assumptions_table(&fixture::summary())));
    }

    #[test]
    fn comparison_headline_table_snapshot() {
        let mut other = fixture::no_event_summary();
        other.meta.title = "Status quo | check".to_string();
        assert_snapshot("comparison_headline_table.md", &table_snapshot(&text::comparison_headline_table(&[fixture::summary(), other])));
    }

    #[test]
    fn whole_report_snapshot() {
        assert_snapshot("report.md", &render(&fixture::summary(), &[fixture::chart()]));
    }

    #[test]
    fn report_has_every_section_the_paragraph_and_the_chart_link() {
        let md = render(&fixture::summary(), &[fixture::chart()]);
        for (heading, _) in text::SECTIONS {
            assert!(md.contains(&format!("\n## {heading}\n")), "missing section {heading}");
        }
        assert!(md.starts_with("# Taobao/Tmall accepts WeChat Pay vs status_quo\n"), "{}", &md[..80]);
        assert!(md.contains(&text::headline_paragraph(&fixture::summary())));
        assert!(md.contains("### Platform GMV shares\n\n![Platform GMV shares](charts/platform_shares.png)\n\n*Taobao/Tmall gains share"));
        assert!(md.contains("```json\n{\n  \"name\": \"taobao_wechat_pay\""));
    }

    #[test]
    fn pipes_in_cells_are_escaped_and_rows_keep_their_columns() {
        let table = text::assumptions_table(&fixture::summary());
        let md = render_table(&table);
        assert!(md.contains("Logit weight on price \\| utility per yuan"));
        for line in md.lines() {
            let unescaped_pipes = line.match_indices('|').filter(|(i, _)| !line[..*i].ends_with('\\')).count();
            assert_eq!(unescaped_pipes, table.columns.len() + 1, "{line}");
        }
    }

    #[test]
    fn escaping_keeps_intraword_underscores_and_breaks_markup() {
        assert_eq!(escape("wechat_trial_rate"), "wechat_trial_rate");
        assert_eq!(
            escape("_note_ *bold* [x](y) <b> a|b `c` ~d~ \\"),
            "\\_note\\_ \\*bold\\* \\[x\\](y) \\<b\\> a\\|b \\`c\\` \\~d\\~ \\\\"
        );
        assert_eq!(escape("two\r\nlines\nhere"), "two lines here");
    }

    #[test]
    fn code_fences_outgrow_backticks_in_the_scenario() {
        assert_eq!(fence_for("{}"), "```");
        assert_eq!(fence_for("a ```` b"), "`````");
        let mut s = fixture::summary();
        s.scenario_json = "{\"note\": \"```\"}".to_string();
        assert!(render(&s, &[]).contains("````json\n{\"note\": \"```\"}\n````"));
    }

    #[test]
    fn chart_links_are_percent_encoded() {
        let mut chart = fixture::chart();
        chart.id = "shares (all)".to_string();
        assert!(render_chart(&chart).contains("](charts/shares%20%28all%29.png)"));
    }

    #[test]
    fn no_event_report_says_identical_and_never_nan() {
        let mut s = fixture::no_event_summary();
        s.regional[0].change_pp.mean = f64::NAN;
        s.assumptions[0].value = f64::NAN;
        s.fit[0].simulated = f64::INFINITY;
        s.meta.seconds = f64::NAN;
        let md = render(&s, &[]);
        assert!(md.contains("identical to its baseline"));
        assert!(md.contains("No charts were rendered"));
        assert!(!md.contains("NaN") && !md.contains("inf |"), "{md}");
    }

    #[test]
    fn comparison_has_a_column_per_scenario_charts_and_metadata() {
        let mut other = fixture::summary();
        other.meta.title = "Late opening".to_string();
        let md = render_comparison(&[fixture::summary(), other], &[fixture::chart()]);
        assert!(md.contains("| Metric | Horizon | Month | Unit | Taobao/Tmall accepts WeChat Pay | Late opening |"));
        assert!(md.contains("![Platform GMV shares](charts/platform_shares.png)"));
        assert!(md.contains("## Run metadata"));
        assert_eq!(md.matches("| 20240901 |").count(), 2);
        assert!(render_comparison(&[], &[]).contains("No scenarios to compare."));
    }

    #[test]
    fn rendering_is_deterministic() {
        let (s, charts) = (fixture::summary(), [fixture::chart()]);
        assert_eq!(render(&s, &charts), render(&s, &charts));
    }
}
