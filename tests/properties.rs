//! Property tests of the input edges: whatever bytes or TOML an analyst hands
//! shareshift as a scenario or data file, the library answers with an error
//! that names the file and says what was expected. It never panics.
//!
//! Three families, each run through the library (no process per case):
//! (a) arbitrary bytes and token soup as a scenario file: always an error;
//! (b) structurally valid TOML from a vocabulary of real and wrong keys,
//!     types, ranges and months: a document with a known-wrong piece is an
//!     error, a document built only from valid pieces loads, and anything
//!     else is either;
//! (c) arbitrary bytes replacing one data file: always an error naming that
//!     file; mutations of the real files (a cell, a line, a cut): no panic.
//!
//! Cases: each property runs the default count given below (12,000
//! cases in all, a few seconds on the project's machine), or `PROPTEST_CASES`
//! per property when that variable is set, for long local campaigns:
//! `PROPTEST_CASES=200000 cargo test --release properties`.
//! Failures are not persisted to files: a minimal failing input is printed,
//! and a fix comes with a named regression test.

use crate::util;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use shareshift::data::DataSet;
use shareshift::error::Error;
use shareshift::params::BEHAVIOUR_NAMES;
use shareshift::pipeline;
use shareshift::scenario::{self, RunOverrides};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

// ---------------------------------------------------------------------------
// Harness
// ---------------------------------------------------------------------------

/// The runner configuration: `PROPTEST_CASES` cases if set, else `default`.
fn config(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default);
    Config { cases, failure_persistence: None, ..Config::default() }
}

/// Runs `test` on `cases` inputs drawn from `strategy`; panics with the
/// minimal failing input if any case fails.
fn check<S: Strategy>(default_cases: u32, strategy: S, test: impl Fn(S::Value) -> Result<(), TestCaseError>)
where
    S::Value: std::fmt::Debug,
{
    let mut runner = TestRunner::new(config(default_cases));
    if let Err(e) = runner.run(&strategy, test) {
        panic!("{e}");
    }
}

/// The shipped data, loaded once per test binary.
fn data() -> &'static DataSet {
    static DATA: OnceLock<DataSet> = OnceLock::new();
    DATA.get_or_init(|| DataSet::load(&util::data_dir()).expect("the shipped data load"))
}

/// The text of a panic payload.
fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned()).unwrap_or_default()
}

/// Calls `f`, turning a panic into a failed case: the library must not panic
/// on any input.
fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, TestCaseError> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|p| TestCaseError::fail(format!("{what} panicked: {}", panic_text(p.as_ref()))))
}

/// Writes `bytes` to `path` as a new file. Removing the old one first
/// matters: ext4 flushes a file truncated and rewritten in place, which
/// would cost milliseconds per case.
fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), TestCaseError> {
    let _ = std::fs::remove_file(path);
    std::fs::write(path, bytes).map_err(|e| TestCaseError::fail(format!("cannot write {}: {e}", path.display())))
}

/// Writes `bytes` as the scenario file at `path` and loads it. Checks on the
/// way that `scenario::parse_bytes` (the fuzz target's entry) answers
/// exactly as `load` does, unless it refuses a document for its `extends`.
fn load_scenario(path: &Path, bytes: &[u8]) -> Result<std::result::Result<scenario::Scenario, Error>, TestCaseError> {
    replace_file(path, bytes)?;
    let loaded = no_panic("scenario::load", || scenario::load(path, data(), &RunOverrides::default()))?;
    let parsed = no_panic("scenario::parse_bytes", || scenario::parse_bytes(path, bytes, data()))?;
    let describe = |r: &std::result::Result<scenario::Scenario, Error>| match r {
        Ok(s) => format!("{s:?}"),
        Err(e) => e.to_string(),
    };
    let refused_for_extends = parsed.as_ref().is_err_and(|e| e.to_string().contains("a scenario without `extends`"));
    if !refused_for_extends {
        prop_assert_eq!(describe(&parsed), describe(&loaded), "parse_bytes and load disagree");
    }
    Ok(loaded)
}

/// An error must name one of `files` and say what was expected.
fn check_message(e: &Error, files: &[&Path]) -> Result<(), TestCaseError> {
    let text = e.to_string();
    prop_assert!(files.iter().any(|f| text.contains(&f.display().to_string())), "the message names none of {files:?}: {text}");
    prop_assert!(text.contains("expected"), "the message does not say what was expected: {text}");
    prop_assert_eq!(e.exit_code(), 2, "bad input must map to exit code 2: {}", text);
    Ok(())
}

// ---------------------------------------------------------------------------
// (a) Arbitrary bytes as a scenario file
// ---------------------------------------------------------------------------

/// Pieces of TOML syntax and scenario words, multi-byte characters included
/// (error spans must never split a character). `seed` and `extends` are left
/// out, so no soup can be a complete scenario: every one must be refused.
const SOUP: &[&str] = &[
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    " = ",
    ",",
    ".",
    "\"",
    "'",
    "\"\"\"",
    "'''",
    "\n",
    "\r\n",
    " ",
    "\t",
    "#",
    "\\",
    "\\u00e9",
    "\\U0001F600",
    "title",
    "horizon",
    "start",
    "months",
    "run",
    "scale",
    "replications",
    "parameters",
    "theta",
    "entrants",
    "wallet_mix",
    "dual",
    "events",
    "month",
    "kind",
    "accept",
    "platform",
    "taobao",
    "wallet",
    "wechat_pay",
    "phase_in",
    "\"2024-09\"",
    "2024-09-01",
    "2024-09-01T00:00:00Z",
    "0.4",
    "1e400",
    "-1",
    "+",
    "_",
    "0x1F",
    "inf",
    "nan",
    "true",
    "é",
    "中",
    "💳",
    "\u{0}",
    "\u{feff}",
    "=\"",
    "\"\n",
    "[horizon]\n",
    "[[events]]\n",
    "months = ",
    "start = ",
];

fn token_soup() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(prop::sample::select(SOUP), 0..80).prop_map(|t| t.concat().into_bytes())
}

/// (a) Bytes that are not a scenario are an error that names the file.
#[test]
fn arbitrary_bytes_as_a_scenario_are_an_error() {
    let path = util::scratch("properties_scenario_bytes").join("fuzzed.toml");
    let bytes = prop_oneof![prop::collection::vec(any::<u8>(), 0..600), token_soup()];
    check(5_000, bytes, |b| match load_scenario(&path, &b)? {
        Ok(_) => Err(TestCaseError::fail("arbitrary bytes were accepted as a scenario")),
        Err(e) => check_message(&e, &[&path]),
    });
}

// ---------------------------------------------------------------------------
// (b) Structurally valid but wrong TOML
// ---------------------------------------------------------------------------

/// What a piece of a generated document is known to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Known {
    Valid,
    /// Wrong in any document it appears in: such a document is an error.
    Wrong,
}

/// A line (or block) of TOML and what it is known to be.
#[derive(Debug, Clone)]
struct Piece {
    text: String,
    known: Known,
}

fn valid(text: impl Into<String>) -> Piece {
    Piece { text: text.into(), known: Known::Valid }
}

fn wrong(text: impl Into<String>) -> Piece {
    Piece { text: text.into(), known: Known::Wrong }
}

/// `key = value` from a choice of valid and wrong values.
fn field(key: &'static str, good: &'static [&'static str], bad: &'static [&'static str]) -> BoxedStrategy<Piece> {
    prop_oneof![
        4 => prop::sample::select(good).prop_map(move |v| valid(format!("{key} = {v}\n"))),
        1 => prop::sample::select(bad).prop_map(move |v| wrong(format!("{key} = {v}\n"))),
        1 => prop::sample::select(WRONG_TYPES).prop_map(move |v| wrong(format!("{key} = {v}\n"))),
    ]
    .boxed()
}

/// Values wrong for every field of a scenario: a type mismatch at least (a
/// list of numbers is out of range as a `phase_in`, a table has an unknown
/// key as a `wallet_mix`).
const WRONG_TYPES: &[&str] = &["true", "[1, 2]", "{ a = 1 }", "1979-05-27", "12:30:00"];

/// Valid start months of the horizon: the data describe the end of 2023, and
/// valid events (2024-06 to 2024-12) then lie inside any valid horizon.
const STARTS: &[&str] = &["\"2024-01\"", "\"2024-03\"", "\"2024-06\""];
const BAD_MONTHS: &[&str] = &[
    "\"2024-13\"",
    "\"2024-00\"",
    "\"2024-9\"",
    "\"Sept 2024\"",
    "\"\"",
    "\"2024-+2\"",
    "\"24-09\"",
    "\"2024/09\"",
    "\"1899-01\"",
    "\"2501-01\"",
    "\"2023-12\"",
    "\"２０２４-０９\"",
    "2024-09-01",
    "202409",
];

fn horizon() -> BoxedStrategy<Vec<Piece>> {
    let start = field("start", STARTS, BAD_MONTHS);
    let months = field("months", &["12", "36", "600", "240"], &["0", "601", "-5", "36.0", "\"36\"", "1e3", "99999999999999999999"]);
    (prop::option::weighted(0.9, start), prop::option::weighted(0.9, months), 0..6u8)
        .prop_map(|(s, m, extra)| {
            let mut v = vec![valid("[horizon]\n")];
            v.extend(s);
            v.extend(m);
            if extra == 0 {
                v.push(wrong("end = \"2026-12\"\n"));
            }
            v
        })
        .boxed()
}

fn run_table() -> BoxedStrategy<Vec<Piece>> {
    let scale = field("scale", &["1000", "1e5", "200000.0", "1"], &["0", "0.5", "-3", "nan", "inf", "\"1000\"", "[1000]"]);
    let reps = field("replications", &["1", "4", "10000"], &["0", "-1", "10001", "99999999999999999999", "2.5", "\"3\""]);
    let seed = field("seed", &["0", "7", "9223372036854775807"], &["-1", "1.5", "\"x\"", "18446744073709551615"]);
    (prop::option::weighted(0.9, scale), prop::option::weighted(0.9, reps), prop::option::weighted(0.9, seed), 0..8u8)
        .prop_map(|(a, b, c, extra)| {
            let mut v = vec![valid("[run]\n")];
            v.extend([a, b, c].into_iter().flatten());
            if extra == 0 {
                v.push(wrong("threads = 2\n"));
            }
            v
        })
        .boxed()
}

/// A registry value: a valid one (min, max, default or midpoint) or one out
/// of range, not finite, or of the wrong type.
fn registry_value(name: String, min: f64, max: f64, default: f64) -> BoxedStrategy<Piece> {
    let out_low = min - (min.abs() * 0.1 + 1.0);
    let out_high = max + (max.abs() * 0.1 + 1.0);
    let goods = vec![min, max, default, min + (max - min) / 2.0];
    let bads: Vec<String> =
        vec![format!("{out_low:?}"), format!("{out_high:?}"), "nan".into(), "inf".into(), "-inf".into(), "\"0.3\"".into(), "true".into()];
    let n1 = name.clone();
    prop_oneof![
        4 => prop::sample::select(goods).prop_map(move |x| valid(format!("{n1} = {x:?}\n"))),
        1 => prop::sample::select(bads).prop_map(move |x| wrong(format!("{name} = {x}\n"))),
    ]
    .boxed()
}

fn parameters() -> BoxedStrategy<Vec<Piece>> {
    let specs: Vec<(String, f64, f64, f64)> = data().registry.specs().iter().map(|s| (s.name.clone(), s.min, s.max, s.default)).collect();
    let one = prop_oneof![
        12 => prop::sample::select(specs).prop_flat_map(|(n, min, max, d)| registry_value(n, min, max, d)),
        1 => prop::sample::select(&["thetaa = 0.3\n", "gamma = 1\n", "\"b habit\" = 1\n", "theta.x = 1\n"][..]).prop_map(wrong),
    ];
    prop::collection::vec(one, 0..5)
        .prop_map(|pieces| {
            // A key may appear once in a table: keep the first of each name.
            let mut seen = std::collections::BTreeSet::new();
            let mut v = vec![valid("[parameters]\n")];
            v.extend(pieces.into_iter().filter(|p| seen.insert(p.text.split(" = ").next().unwrap_or("").to_string())));
            v
        })
        .boxed()
}

fn entrants() -> BoxedStrategy<Vec<Piece>> {
    field(
        "wallet_mix",
        &[
            "{ dual = 0.9, alipay_only = 0.05, wechat_only = 0.05 }",
            "{ dual = 1 }",
            "{ dual = 0.5, wechat_only = 0.5 }",
            "{ alipay_only = 1.0 }",
        ],
        &["{ dual = 0.5 }", "{ both = 1 }", "{ dual = 1.5, alipay_only = -0.5 }", "\"dual\"", "[0.9, 0.1]", "{ dual = nan }"],
    )
    .prop_map(|p| vec![valid("[entrants]\n"), p])
    .boxed()
}

const PLATFORMS: &[&str] = &["\"taobao\"", "\"jd\"", "\"pinduoduo\"", "\"douyin\"", "\"kuaishou\"", "\"other\""];
const BAD_PLATFORMS: &[&str] = &["\"amazon\"", "\"Taobao\"", "\"tmall\"", "\"\"", "3"];
const WALLETS: &[&str] = &["\"alipay\"", "\"wechat_pay\"", "\"card\""];
const BAD_WALLETS: &[&str] = &["\"paypal\"", "\"wechat\"", "\"Alipay\"", "[\"alipay\"]"];
const EVENT_MONTHS: &[&str] = &["\"2024-06\"", "\"2024-09\"", "\"2024-12\""];
const BAD_EVENT_MONTHS: &[&str] = &["\"2099-01\"", "\"2023-12\"", "\"2024-13\"", "\"2024-9\"", "2024-09-01", "\"\""];

/// The fields an event of each kind needs, each valid or wrong.
fn event_fields(kind: &'static str) -> BoxedStrategy<Vec<Piece>> {
    let platform = field("platform", PLATFORMS, BAD_PLATFORMS);
    let wallet = field("wallet", WALLETS, BAD_WALLETS);
    match kind {
        "accept" => {
            let phase = field("phase_in", &["[0.4, 0.9]", "[]", "[1.0]", "[0, 0.5, 1]"], &["[1.5]", "[-0.1]", "[\"most\"]", "0.4"]);
            (platform, wallet, prop::option::of(phase))
                .prop_map(|(p, w, ph)| [Some(p), Some(w), ph].into_iter().flatten().collect())
                .boxed()
        }
        "withdraw" => (platform, wallet).prop_map(|(p, w)| vec![p, w]).boxed(),
        "parameter" => {
            let specs: Vec<(String, f64, f64, f64)> =
                BEHAVIOUR_NAMES.iter().filter_map(|n| data().registry.get(n)).map(|s| (s.name.clone(), s.min, s.max, s.default)).collect();
            let good = prop::sample::select(specs).prop_flat_map(|(n, min, max, d)| {
                registry_value("value".into(), min, max, d).prop_map(move |v| vec![valid(format!("name = \"{n}\"\n")), v])
            });
            let bad_name = prop::sample::select(&["\"entry_rate\"", "\"thetaa\"", "\"\"", "0.3"][..])
                .prop_map(|n| vec![wrong(format!("name = {n}\n")), valid("value = 0.3\n")]);
            prop_oneof![6 => good, 1 => bad_name].boxed()
        }
        "promotion" => {
            let utility = field("utility", &["0.2", "-10", "10", "0"], &["11", "-10.5", "\"big\"", "nan"]);
            let months = field("months", &["1", "2", "600"], &["0", "601", "1.5"]);
            (platform, utility, prop::option::of(months))
                .prop_map(|(p, u, m)| [Some(p), Some(u), m].into_iter().flatten().collect())
                .boxed()
        }
        _ => Just(vec![]).boxed(),
    }
}

/// One `[[events]]` block: a month, a kind and its fields, sometimes with a
/// required field dropped, a field of another kind added or an unknown one.
fn event() -> BoxedStrategy<Vec<Piece>> {
    let kind = prop_oneof![
        8 => prop::sample::select(&["accept", "withdraw", "parameter", "promotion"][..]),
        1 => Just("open"),
    ];
    let month = field("month", EVENT_MONTHS, BAD_EVENT_MONTHS);
    (kind, month, 0..12u8)
        .prop_flat_map(|(kind, month, twist)| {
            event_fields(kind).prop_map(move |mut fields| {
                let mut v = vec![valid("[[events]]\n"), month.clone()];
                v.push(if kind == "open" { wrong("kind = \"open\"\n") } else { valid(format!("kind = \"{kind}\"\n")) });
                match twist {
                    // Every kind needs its first field (platform, or name).
                    0 if !fields.is_empty() => {
                        fields.remove(0);
                        v.push(wrong(""));
                    }
                    1 => v.push(wrong(if kind == "promotion" { "wallet = \"alipay\"\n" } else { "utility = 0.5\n" })),
                    2 => v.push(wrong("colour = \"red\"\n")),
                    3 => v.retain(|p| !p.text.starts_with("month")),
                    _ => {}
                }
                if twist == 3 {
                    v.push(wrong(""));
                }
                v.extend(fields);
                v.push(valid("note = \"generated\"\n"));
                v
            })
        })
        .boxed()
}

/// A whole document: top-level keys first, then tables in any order.
/// Without `extends` every required value must be present, else the
/// document is known to be wrong.
fn document() -> BoxedStrategy<Vec<Piece>> {
    let baseline = format!("extends = '{}'\n", util::scenario("baseline.toml").display());
    let extends = prop_oneof![
        3 => Just(None),
        2 => Just(Some(valid(baseline))),
        1 => Just(Some(wrong("extends = 'no_such_file.toml'\n"))),
    ];
    let title = prop::option::of(field("title", &["\"A generated scenario\"", "'literal'", "\"中文\""], &["3", "[\"x\"]"]));
    let stray = prop::option::weighted(0.05, prop::sample::select(&["colour = 1\n", "[output]\nfolder = \"x\"\n"][..]).prop_map(wrong));
    let tables = (
        prop::option::weighted(0.85, horizon()),
        prop::option::weighted(0.85, run_table()),
        prop::option::weighted(0.4, parameters()),
        prop::option::weighted(0.2, entrants()),
        prop::collection::vec(event(), 0..4),
    );
    (extends, title, stray, tables)
        .prop_map(|(extends, title, stray, (h, r, p, e, events))| {
            let mut v: Vec<Piece> = [extends.clone(), title].into_iter().flatten().collect();
            let required = ["start", "months", "scale", "replications", "seed"];
            if extends.is_none() {
                let present = |key: &str, table: &Option<Vec<Piece>>| {
                    table.as_ref().is_some_and(|t| t.iter().any(|p| p.text.starts_with(&format!("{key} = "))))
                };
                for key in required {
                    let table = if key == "start" || key == "months" { &h } else { &r };
                    if !present(key, table) {
                        v.push(wrong(format!("# no {key}\n")));
                    }
                }
            }
            v.extend(stray);
            for table in [h, r, p, e].into_iter().flatten() {
                v.extend(table);
            }
            for e in events {
                v.extend(e);
            }
            v
        })
        .boxed()
}

/// (b) A document with a known-wrong piece is an error naming the file and
/// saying what was expected; one of valid pieces only loads; any error
/// names a file and says what was expected.
#[test]
fn generated_toml_is_accepted_only_when_valid() {
    let path = util::scratch("properties_scenario_toml").join("generated.toml");
    let baseline = util::scenario("baseline.toml");
    check(4_000, document(), |pieces| {
        let text: String = pieces.iter().map(|p| p.text.as_str()).collect();
        let known_wrong = pieces.iter().any(|p| p.known == Known::Wrong);
        match load_scenario(&path, text.as_bytes())? {
            Ok(_) => {
                prop_assert!(!known_wrong, "a document with a wrong piece was accepted:\n{}", text);
                Ok(())
            }
            Err(e) => {
                prop_assert!(known_wrong, "a valid document was refused: {e}\n{text}");
                check_message(&e, &[&path, &baseline])
            }
        }
    });
}

// ---------------------------------------------------------------------------
// (c) Arbitrary bytes as a data file
// ---------------------------------------------------------------------------

/// The data files a user may replace, in the order `DataSet::load` reads them.
const DATA_FILES: &[&str] =
    &["provinces.csv", "national.csv", "platforms.csv", "acceptance.csv", "targets.csv", "parameters.csv", "calibration.csv"];

/// A scratch copy of the shipped data folder.
fn data_copy(name: &str) -> PathBuf {
    let dir = util::scratch(name).join("data");
    std::fs::create_dir_all(&dir).expect("create data copy");
    for f in DATA_FILES {
        std::fs::copy(util::data_dir().join(f), dir.join(f)).expect("copy data file");
    }
    dir
}

/// The shipped bytes of a data file, read once.
fn original(file: &str) -> Vec<u8> {
    static FILES: OnceLock<Vec<(&'static str, Vec<u8>)>> = OnceLock::new();
    let files =
        FILES.get_or_init(|| DATA_FILES.iter().map(|f| (*f, std::fs::read(util::data_dir().join(f)).unwrap_or_default())).collect());
    files.iter().find(|(f, _)| *f == file).map(|(_, b)| b.clone()).unwrap_or_default()
}

/// Replaces `file` in the copy `dir` by `bytes`, validates the baseline
/// against it, and restores the file.
fn validate_with(dir: &Path, file: &str, bytes: &[u8]) -> Result<std::result::Result<(), Error>, TestCaseError> {
    let target = dir.join(file);
    replace_file(&target, bytes)?;
    let baseline = util::scenario("baseline.toml");
    let result = no_panic("pipeline::validate", || pipeline::validate(&baseline, dir, &RunOverrides::default()).map(|_| ()));
    replace_file(&target, &original(file))?;
    result
}

/// (c) Bytes that are not a data file are an error naming that file.
#[test]
fn arbitrary_bytes_as_a_data_file_are_an_error() {
    let dir = data_copy("properties_data_bytes");
    let strategy = (prop::sample::select(DATA_FILES), prop::collection::vec(any::<u8>(), 0..400));
    check(1_500, strategy, |(file, bytes)| match validate_with(&dir, file, &bytes)? {
        Ok(()) => Err(TestCaseError::fail(format!("arbitrary bytes were accepted as {file}"))),
        Err(e) => check_message(&e, &[&dir.join(file)]),
    });
}

/// A small edit of a real data file.
#[derive(Debug, Clone)]
enum Edit {
    /// Replace the cell at (row, column), both modulo the file's size.
    Cell(usize, usize, String),
    DeleteLine(usize),
    DuplicateLine(usize),
    /// Cut the file at a byte (modulo its length).
    Truncate(usize),
    /// Insert bytes at a byte offset.
    Insert(usize, Vec<u8>),
}

const CELL_VALUES: &[&str] = &[
    "",
    "0",
    "-0",
    "1",
    "-1",
    "1e308",
    "-1e308",
    "1e-308",
    "NaN",
    "inf",
    "50000",
    "100",
    "82",
    "11",
    "yes",
    "no",
    "taobao",
    "alipay",
    "theta",
    "\"",
    "\"\"",
    "x,y",
    "中",
    "0.5",
    "999999999999",
    "5e-324",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        6 => (any::<usize>(), any::<usize>(), prop::sample::select(CELL_VALUES)).prop_map(|(r, c, v)| Edit::Cell(r, c, v.to_string())),
        1 => any::<usize>().prop_map(Edit::DeleteLine),
        1 => any::<usize>().prop_map(Edit::DuplicateLine),
        1 => any::<usize>().prop_map(Edit::Truncate),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8)).prop_map(|(at, b)| Edit::Insert(at, b)),
    ]
}

/// Applies an edit to a file's text (line-based edits keep the line ends).
fn apply(text: &str, edit: &Edit) -> Vec<u8> {
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    match edit {
        Edit::Cell(r, c, v) => {
            let r = r % lines.len();
            let mut cells: Vec<String> = lines[r].split(',').map(str::to_string).collect();
            let c = c % cells.len();
            cells[c] = v.clone();
            lines[r] = cells.join(",");
        }
        Edit::DeleteLine(r) => {
            lines.remove(r % lines.len());
        }
        Edit::DuplicateLine(r) => {
            let r = r % lines.len();
            lines.insert(r, lines[r].clone());
        }
        Edit::Truncate(at) => return text.as_bytes()[..at % (text.len() + 1)].to_vec(),
        Edit::Insert(at, bytes) => {
            let at = at % (text.len() + 1);
            let mut out = text.as_bytes()[..at].to_vec();
            out.extend(bytes);
            out.extend(&text.as_bytes()[at..]);
            return out;
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.into_bytes()
}

/// (c) Small edits of the real data files never panic; an error names the
/// edited file and says what was expected. (Many edits are still valid
/// files, so either answer is allowed.)
#[test]
fn edited_data_files_never_panic() {
    let dir = data_copy("properties_data_edits");
    let texts: Vec<(&str, String)> =
        DATA_FILES.iter().map(|f| (*f, std::fs::read_to_string(util::data_dir().join(f)).expect("read data file"))).collect();
    let strategy = (0..texts.len(), prop::collection::vec(edit(), 1..3));
    check(1_500, strategy, |(i, edits)| {
        let (file, text) = &texts[i];
        let mut bytes = text.as_bytes().to_vec();
        for e in &edits {
            bytes = apply(&String::from_utf8_lossy(&bytes), e);
        }
        // A missing row can be named in another file (a target read from
        // targets.csv is looked up in the registry of parameters.csv).
        let files: Vec<PathBuf> = DATA_FILES.iter().map(|f| dir.join(f)).collect();
        let files: Vec<&Path> = files.iter().map(PathBuf::as_path).collect();
        match validate_with(&dir, file, &bytes)? {
            Ok(()) => Ok(()),
            Err(e) => check_message(&e, &files),
        }
    });
}
