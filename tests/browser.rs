//! The HTML report in a real browser: headless Chromium (Debian's package;
//! `.ci/run` installs it) loads the report without errors, and a screenshot
//! of each chart's view (`report.html#chart-<id>`, which shows that chart
//! alone) is not blank.
//!
//! Without Chromium the test says so and passes, unless
//! `SHARESHIFT_REQUIRE_BROWSER=1` (set by `.ci/run`), where it fails.

use crate::util;
use std::path::{Path, PathBuf};
use std::process::Command;

fn chromium() -> Option<PathBuf> {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|p| p.is_file())
}

/// Opens `url` headless and saves a screenshot; returns Chromium's log.
fn screenshot(browser: &Path, url: &str, png: &Path, profile: &Path, size: &str) -> String {
    let o = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--window-size={size}"))
        .arg(format!("--screenshot={}", png.display()))
        .arg(url)
        .output()
        .expect("start chromium");
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Share of non-white pixels and number of distinct colours in a PNG.
fn ink(png: &Path) -> (f64, usize) {
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(png).expect("screenshot written")));
    let mut reader = decoder.read_info().expect("a PNG");
    let mut buf = vec![0; reader.output_buffer_size().expect("size")];
    let info = reader.next_frame(&mut buf).expect("a frame");
    let channels = info.color_type.samples();
    let pixels = &buf[..info.buffer_size()];
    let mut colours = std::collections::BTreeSet::new();
    let mut inked = 0usize;
    let n = pixels.len() / channels;
    for px in pixels.chunks(channels) {
        let rgb = (px[0], px[1], px[2]);
        if rgb != (255, 255, 255) {
            inked += 1;
        }
        if colours.len() < 1000 {
            colours.insert(rgb);
        }
    }
    (inked as f64 / n as f64, colours.len())
}

/// Console errors and failed loads in Chromium's log.
fn errors(log: &str) -> Vec<&str> {
    log.lines().filter(|l| (l.contains(":CONSOLE") && (l.contains("Uncaught") || l.contains("rror"))) || l.contains("net::ERR_")).collect()
}

/// Chromium, or None where the test may be skipped (not under `.ci/run`).
fn browser_or_skip() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(std::env::var("SHARESHIFT_REQUIRE_BROWSER").as_deref() != Ok("1"), "Chromium is required here but not installed");
        eprintln!("SKIPPED: no Chromium; .ci/run installs it (apt-get install chromium)");
    }
    found
}

/// The report in `out` loads without errors, is not blank, and each of its
/// charts, shown alone, is drawn. Returns the chart ids.
fn assert_report_shows_every_chart(browser: &Path, out: &Path, scratch: &Path) -> Vec<String> {
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    let ids: Vec<String> =
        html.split("<figure class=\"chart\" id=\"chart-").skip(1).filter_map(|s| s.split('"').next()).map(str::to_string).collect();
    let url = format!("file://{}", out.join("report.html").display());

    let page = scratch.join("page.png");
    let log = screenshot(browser, &url, &page, &scratch.join("profile"), "1200,3000");
    assert!(errors(&log).is_empty(), "the report logged errors: {:?}", errors(&log));
    let (share, colours) = ink(&page);
    assert!(share > 0.02 && colours > 10, "the page looks blank: {share:.3} inked, {colours} colours");

    for id in &ids {
        let shot = scratch.join(format!("{id}.png"));
        let log = screenshot(browser, &format!("{url}#chart-{id}"), &shot, &scratch.join("profile"), "1000,900");
        assert!(errors(&log).is_empty(), "{id}: errors {:?}", errors(&log));
        let (share, colours) = ink(&shot);
        // A drawn chart has axes, labels and coloured series: well above 2%
        // of the view and many colours (anti-aliased lines and text).
        assert!(share > 0.02 && colours > 20, "chart {id} looks blank: {share:.3} inked, {colours} colours");
    }
    ids
}

#[test]
fn report_loads_in_a_browser_and_shows_every_chart() {
    let Some(browser) = browser_or_skip() else { return };
    let dir = util::scratch("browser");
    let o = util::shareshift(&[
        "run",
        util::scenario("wechat_pay_on_taobao.toml").to_str().unwrap(),
        "--scale",
        "20000",
        "--replications",
        "3",
        "--out",
        dir.to_str().unwrap(),
        "--quiet",
    ]);
    assert!(o.status.success(), "{}", util::stderr(&o));
    let ids = assert_report_shows_every_chart(&browser, &dir.join("wechat_pay_on_taobao"), &dir);
    assert!(ids.len() >= 6, "expected at least six charts, found {ids:?}");
}

/// A two-parameter sweep's report: one heat map per headline outcome, each
/// drawn.
#[test]
fn sweep_report_loads_in_a_browser_and_shows_every_heat_map() {
    let Some(browser) = browser_or_skip() else { return };
    let dir = util::scratch("browser_sweep");
    let out = dir.join("sweep");
    util::small_run(
        "sweep",
        &util::scenario("wechat_pay_on_taobao.toml"),
        &["--param", "theta=0.1:0.6:2", "--param", "b_stick=1:2:2"],
        "100000",
        &out,
    );
    let ids = assert_report_shows_every_chart(&browser, &out, &dir);
    assert_eq!(ids.len(), 5, "one chart per headline outcome: {ids:?}");
}
