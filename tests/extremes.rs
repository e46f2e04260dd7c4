//! The model at the edges of what it accepts: every registry parameter at
//! each end of its valid range (one at a time) and all of them at the low or
//! high end of their plausible ranges at once, a one-province and a
//! one-consumer population, horizons of 1 and 600 months, and events in the
//! first and the last month.
//!
//! Each case must run without a panic and give only finite numbers; GMV,
//! order and payment shares (overall and within every platform with orders)
//! sum to 1 within 1e-9; holdings, reach and the WeChat-Pay-only share lie
//! in [0, 1]. Runs go through the library at tiny populations (a large
//! `scale`), so the whole module takes seconds.

use crate::util;
use shareshift::calendar::Month;
use shareshift::data::DataSet;
use shareshift::error::{Error, Result};
use shareshift::experiment::{self, Group, Results, Setup};
use shareshift::observe::metric_columns;
use shareshift::params::{Fitted, ModelParams};
use shareshift::pipeline::{self, RunRequest};
use shareshift::platform::Platform;
use shareshift::region::{Cell, Geography};
use shareshift::scenario::{Arm, Event, EventKind, RunOverrides, Scenario};
use shareshift::summary;
use shareshift::wallet::Wallet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

/// Real shoppers per agent in most cases: about 900 agents in 62 cells.
const SCALE: f64 = 1e6;

/// The default scenario at `scale`, one replication.
fn load(scale: f64) -> (DataSet, Scenario, Fitted) {
    load_from(&util::data_dir(), scale)
}

fn load_from(data_dir: &Path, scale: f64) -> (DataSet, Scenario, Fitted) {
    let o = RunOverrides { scale: Some(scale), replications: Some(1), seed: None };
    pipeline::validate(&util::scenario("wechat_pay_on_taobao.toml"), data_dir, &o).expect("the default scenario validates")
}

fn simulate(sc: &Scenario, setup: &Setup) -> Results {
    experiment::run(sc, setup, &AtomicBool::new(false), &|_| {}).expect("an uncancelled run completes")
}

/// Column indices by name.
struct Columns(Vec<String>);

impl Columns {
    fn new() -> Columns {
        Columns(metric_columns().into_iter().map(|(c, _)| c).collect())
    }
    fn index(&self, name: &str) -> usize {
        self.0.iter().position(|c| c == name).unwrap_or_else(|| panic!("no metric column {name}"))
    }
    /// Indices of `prefix<id>` for each id.
    fn family(&self, prefix: &str, ids: &[&str]) -> Vec<usize> {
        ids.iter().map(|id| self.index(&format!("{prefix}{id}"))).collect()
    }
}

fn platform_ids() -> Vec<&'static str> {
    Platform::ALL.iter().map(|p| p.id()).collect()
}

fn wallet_ids() -> Vec<&'static str> {
    Wallet::ALL.iter().map(|w| w.id()).collect()
}

/// Shares in `cols` of one row must sum to 1 (or all be 0 where the group
/// has nothing to share, which the nation never may).
fn assert_sums_to_one(row: &[f64], cols: &[usize], national: bool, what: &str) {
    let sum: f64 = cols.iter().map(|&i| row[i]).sum();
    let empty = !national && cols.iter().all(|&i| row[i] == 0.0);
    assert!(empty || (sum - 1.0).abs() < 1e-9, "{what}: shares sum to {sum:.15}");
}

/// The properties every output row must have.
fn check_results(r: &Results, divergence: Option<u32>, case: &str) {
    let c = Columns::new();
    let (platforms, wallets) = (platform_ids(), wallet_ids());
    let gmv = c.family("gmv_share_", &platforms);
    let orders = c.family("order_share_", &platforms);
    let pay = c.family("pay_share_", &wallets);
    let unit: Vec<usize> = [c.family("holding_", &wallets), c.family("reach_", &platforms)]
        .concat()
        .into_iter()
        .chain([c.index("holding_dual"), c.index("wechat_only_share"), c.index("wechat_only_taobao_reach")])
        .collect();
    let national = r.groups.iter().position(|g| *g == Group::National).expect("a national group");
    for (i, v) in r.values.iter().enumerate() {
        assert!(v.is_finite(), "{case}: value {i} ({}) is {v}", c.0[i % r.n_metrics]);
    }
    for rep in 0..r.replications {
        for arm in Arm::BOTH {
            for t in 0..r.months.len() {
                for g in 0..r.groups.len() {
                    let row = r.row(rep, arm, t, g);
                    let what = format!("{case}: {:?} {} {} {:?}", arm, rep, r.months[t], r.groups[g]);
                    let is_national = g == national;
                    assert_sums_to_one(row, &gmv, is_national, &format!("{what} GMV"));
                    assert_sums_to_one(row, &orders, is_national, &format!("{what} orders"));
                    assert_sums_to_one(row, &pay, is_national, &format!("{what} payments"));
                    for (p, id) in platforms.iter().enumerate() {
                        if row[orders[p]] > 0.0 {
                            let within = c.family(&format!("pay_share_{id}_"), &wallets);
                            assert_sums_to_one(row, &within, true, &format!("{what} payments on {id}"));
                        }
                    }
                    for &i in &unit {
                        assert!((0.0..=1.0).contains(&row[i]), "{what}: {} = {} outside [0, 1]", c.0[i], row[i]);
                    }
                }
            }
        }
    }
    check_summary(r, divergence, case);
}

/// The headline and regional tables are finite too.
fn check_summary(r: &Results, divergence: Option<u32>, case: &str) {
    for h in summary::headline(r, divergence) {
        let v = h.value;
        for x in [v.mean, v.p05, v.p95, h.baseline_mean, h.scenario_mean] {
            assert!(x.is_finite(), "{case}: headline {} {} is {x}", h.metric, h.horizon);
        }
        // One replication has no interval (an empty cell in headline.csv),
        // never a zero-width or infinite one.
        let interval_ok = if v.n < 2 { v.ci_low.is_nan() && v.ci_high.is_nan() } else { v.ci_low.is_finite() && v.ci_high.is_finite() };
        assert!(
            interval_ok,
            "{case}: headline {} {} interval [{}, {}] over {} replications",
            h.metric, h.horizon, v.ci_low, v.ci_high, v.n
        );
    }
}

/// Runs `sc` and checks its results.
fn run_and_check(sc: &Scenario, data: &DataSet, fitted: &Fitted, case: &str) -> Result<()> {
    let setup = Setup::new(sc, data, fitted.clone())?;
    let results = simulate(sc, &setup);
    check_results(&results, setup.divergence, case);
    Ok(())
}

/// Ends of a valid range the model cannot build a population from, refused
/// (exit 2) with a message naming the parameter and what would work: with no
/// rural netizen shopping online, urban netizens alone would have to be 118%
/// shoppers to reach CNNIC's national total.
const REFUSED_AT_ENDS: &[(&str, f64)] = &[("rural_shopping_share", 0.0)];

#[test]
fn every_parameter_at_each_end_of_its_valid_range() {
    let (data, sc, fitted) = load(SCALE);
    let mut refused = Vec::new();
    for spec in data.registry.specs() {
        for value in [spec.min, spec.max] {
            let mut s = sc.clone();
            s.values.set(&spec.name, value);
            let case = format!("{} = {value}", spec.name);
            match run_and_check(&s, &data, &fitted, &case) {
                Ok(()) => {}
                Err(e @ Error::Input { .. }) if e.to_string().contains(&spec.name) => {
                    refused.push((spec.name.clone(), value, e.to_string()))
                }
                Err(e) => panic!("{case}: {e}"),
            }
        }
    }
    let names: Vec<(&str, f64)> = refused.iter().map(|(n, v, _)| (n.as_str(), *v)).collect();
    assert_eq!(names, REFUSED_AT_ENDS, "runs refused at the ends of a valid range: {refused:#?}");
    for (_, _, message) in &refused {
        assert!(message.contains("expected"), "{message}");
    }
}

#[test]
fn all_parameters_at_the_low_and_at_the_high_ends_of_their_plausible_ranges() {
    let (data, sc, fitted) = load(SCALE);
    for (end, pick) in [("low", (|s: &shareshift::registry::ParamSpec| s.low) as fn(&_) -> f64), ("high", |s| s.high)] {
        let mut s = sc.clone();
        for spec in data.registry.specs() {
            s.values.set(&spec.name, pick(spec));
        }
        run_and_check(&s, &data, &fitted, &format!("all at the {end} end")).unwrap_or_else(|e| panic!("all at the {end} end: {e}"));
    }
}

/// A copy of the shipped data whose provinces.csv keeps only its header and
/// first province: the calibration still loads and the run still works.
#[test]
fn a_population_from_one_province() {
    let dir = util::scratch("extremes_one_province").join("data");
    std::fs::create_dir_all(&dir).expect("create data copy");
    for e in std::fs::read_dir(util::data_dir()).expect("data folder").flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), dir.join(e.file_name())).expect("copy data file");
        }
    }
    let provinces = std::fs::read_to_string(dir.join("provinces.csv")).expect("read provinces");
    let kept: Vec<&str> = provinces.lines().take(2).collect();
    std::fs::write(dir.join("provinces.csv"), kept.join("\n") + "\n").expect("write provinces");
    let (data, sc, fitted) = load_from(&dir, 1e5);
    assert_eq!(data.provinces.len(), 1);
    let setup = Setup::new(&sc, &data, fitted).expect("a one-province setup");
    assert_eq!(setup.geo.n_cells(), 2);
    check_results(&simulate(&sc, &setup), setup.divergence, "one province");
}

/// One cell of 1,000 shoppers at 1,000 shoppers per agent: one consumer.
#[test]
fn a_one_consumer_population() {
    let (data, mut sc, fitted) = load(SCALE);
    sc.scale = 1000.0;
    let geo = Geography {
        province_names: vec!["Test".into()],
        province_codes: vec![99],
        cells: vec![Cell {
            province: 0,
            rural: true,
            residents: 2000.0,
            internet_users_2023: 1000.0,
            internet_users_2024: 1000.0,
            shoppers_2023: 1000.0,
            income: 30_000.0,
            band_shares: [0.3, 0.4, 0.3],
        }],
    };
    let setup = Setup::with_geography(&sc, &data, ModelParams::new(&sc.values, fitted), geo);
    assert_eq!(setup.agents(), 1, "the test needs exactly one consumer");
    check_results(&simulate(&sc, &setup), setup.divergence, "one consumer");
}

fn accept(month: Month, platform: Platform, wallet: Wallet) -> Event {
    Event { month, kind: EventKind::Accept { platform, wallet, phase_in: vec![0.4, 0.9] }, note: String::new() }
}

/// Events of every kind in `month`.
fn events_in(month: Month) -> Vec<Event> {
    let at = |kind| Event { month, kind, note: String::new() };
    vec![
        accept(month, Platform::Taobao, Wallet::WechatPay),
        at(EventKind::Withdraw { platform: Platform::Jd, wallet: Wallet::WechatPay }),
        at(EventKind::Parameter { name: "theta".into(), value: 1.0 }),
        at(EventKind::Promotion { platform: Platform::Kuaishou, utility: 10.0, months: 600 }),
    ]
}

/// Runs the default scenario over `months` with `events` in its scenario arm.
fn run_with_events(months: u32, scale: f64, events: impl Fn(&Scenario) -> Vec<Event>, case: &str) {
    let (data, mut sc, fitted) = load(scale);
    sc.months = months;
    sc.baseline_events.clear();
    sc.scenario_events = events(&sc);
    run_and_check(&sc, &data, &fitted, case).unwrap_or_else(|e| panic!("{case}: {e}"));
}

#[test]
fn a_horizon_of_one_month_with_events_in_it() {
    run_with_events(1, SCALE, |sc| events_in(sc.start), "one month");
}

#[test]
fn a_horizon_of_600_months() {
    run_with_events(600, 1e7, |sc| [events_in(sc.start), events_in(sc.end())].concat(), "600 months");
}

#[test]
fn events_in_the_first_and_in_the_last_month() {
    run_with_events(36, SCALE, |sc| events_in(sc.start), "events in the first month");
    run_with_events(36, SCALE, |sc| events_in(sc.end()), "events in the last month");
}

/// Promotions may be stacked: ten of the largest allowed utility on one
/// platform in one month (up or down) must not overflow the choice weights.
/// Regression test: stacked +10 promotions overflowed single precision and
/// every consumer silently bought nothing (all GMV shares 0).
#[test]
fn stacked_promotions_stay_finite() {
    for (platform, utility) in [(Platform::Other, 10.0), (Platform::Taobao, 10.0), (Platform::Other, -10.0)] {
        let promotions = move |sc: &Scenario| {
            (0..10)
                .map(|_| Event { month: sc.start, kind: EventKind::Promotion { platform, utility, months: 12 }, note: String::new() })
                .collect()
        };
        run_with_events(12, SCALE, promotions, &format!("ten promotions of {utility} on {platform}"));
    }
}

// ---------------------------------------------------------------------------
// Whole runs at the extremes: files, charts and reports
// ---------------------------------------------------------------------------

/// Writes a baseline and a scenario extending it (with `events` TOML) over
/// `months` into `dir`; returns the scenario's path.
fn scenario_files(dir: &Path, months: u32, scale: f64, events: &str) -> PathBuf {
    let base = format!(
        "title = \"base\"\n[horizon]\nstart = \"2024-01\"\nmonths = {months}\n[run]\nscale = {scale:?}\nreplications = 2\nseed = 3\n"
    );
    util::write(dir, "base.toml", &base);
    util::write(dir, "edge.toml", &format!("title = \"edge\"\nextends = \"base.toml\"\n{events}"))
}

/// Runs the whole pipeline and checks that no written CSV holds a value that
/// is not a finite number.
fn run_pipeline(name: &str, months: u32, scale: f64, events: &str) {
    let dir = util::scratch(name);
    let req = RunRequest {
        scenario: scenario_files(&dir, months, scale, events),
        data_dir: util::data_dir(),
        out_root: dir.join("out"),
        overrides: RunOverrides::default(),
        threads: Some(1),
        memory_limit: None,
        uncertainty: 0,
    };
    let report = pipeline::run(&req, &AtomicBool::new(false), &|_| {}).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(report.output.join("report.html").is_file());
    for (file, bytes) in util::snapshot(&report.output) {
        if file.ends_with(".csv") {
            let text = String::from_utf8_lossy(&bytes);
            for cell in text.lines().flat_map(|l| l.split(',')) {
                let bad = matches!(cell.trim().to_ascii_lowercase().as_str(), "nan" | "inf" | "-inf" | "infinity" | "-infinity");
                assert!(!bad, "{name}: {file} holds {cell}");
            }
        }
    }
}

const EVENT_FIRST: &str = "[[events]]\nmonth = \"2024-01\"\nkind = \"accept\"\nplatform = \"taobao\"\nwallet = \"wechat_pay\"\n";

#[test]
fn whole_run_of_one_month() {
    run_pipeline("extremes_pipeline_one_month", 1, SCALE, EVENT_FIRST);
}

#[test]
fn whole_run_of_600_months_with_an_event_in_the_last() {
    let last = "[[events]]\nmonth = \"2073-12\"\nkind = \"promotion\"\nplatform = \"jd\"\nutility = -10\n";
    run_pipeline("extremes_pipeline_600_months", 600, 5e7, &format!("{EVENT_FIRST}{last}"));
}
