//! Closed-form oracles and reproducibility properties of the model, run
//! through the library on small populations.

use crate::util;
use shareshift::data::DataSet;
use shareshift::experiment::{self, Group, Results, Setup};
use shareshift::observe::metric_index;
use shareshift::params::{Fitted, ModelParams};
use shareshift::pipeline;
use shareshift::platform::{N_PLATFORMS, Platform};
use shareshift::population::Population;
use shareshift::region::{Cell, Geography};
use shareshift::rng::Streams;
use shareshift::scenario::{Arm, RunOverrides, Scenario};
use shareshift::wallet::{Wallet, WalletSet};
use std::sync::atomic::AtomicBool;

fn load(name: &str, scale: f64, replications: u32) -> (DataSet, Scenario, Fitted) {
    let o = RunOverrides { scale: Some(scale), replications: Some(replications), seed: None };
    pipeline::validate(&util::scenario(name), &util::data_dir(), &o).expect("shipped scenario loads")
}

fn run(scenario: &Scenario, setup: &Setup) -> Results {
    experiment::run(scenario, setup, &AtomicBool::new(false), &|_| {}).expect("run")
}

fn national(r: &Results, arm: Arm, rep: u32, t: usize, column: &str) -> f64 {
    let g = r.groups.iter().position(|g| *g == Group::National).unwrap();
    r.value(rep, arm, t, g, metric_index(column).unwrap_or_else(|| panic!("no column {column}")))
}

/// With habit, social influence, payment stickiness and wallet dynamics off,
/// the simulated shares are the logit formula averaged over consumers:
/// expected GMV shares to float precision, sampled reach within 3 standard
/// errors.
#[test]
fn shares_match_closed_form_logit_when_dynamics_are_off() {
    let (data, mut sc, mut fitted) = load("baseline.toml", 20_000.0, 1);
    sc.months = 1;
    for (name, v) in [
        ("b_habit", 0.0),
        ("b_social", 0.0),
        ("b_stick", 0.0),
        ("spinup_months", 0.0),
        ("bass_p_alipay", 0.0),
        ("bass_q_alipay", 0.0),
        ("bass_p_wechat_pay", 0.0),
        ("bass_q_wechat_pay", 0.0),
        ("theta", 0.6),
    ] {
        sc.values.set(name, v);
    }
    // Everyone holds both wallets, so nothing is ever set up.
    fitted.wechat_only_log_odds = -40.0;
    fitted.alipay_only_log_odds = -40.0;
    let setup = Setup::new(&sc, &data, fitted).unwrap();
    let results = run(&sc, &setup);

    let p = &setup.params;
    let b = &p.behaviour;
    let (pop, initial) = Population::generate(&setup.geo, &setup.schedule, &p.population, &p.fitted, None, &Streams::new(sc.seed, 0));
    let freq = p.population.frequency_multipliers();
    let (mut gmv, mut reach, mut var, mut persons) = ([0.0; N_PLATFORMS], [0.0; N_PLATFORMS], [0.0; N_PLATFORMS], 0.0);
    for (c, range) in pop.cells.iter().enumerate() {
        let w = setup.schedule.weight[0][c];
        let rural = setup.geo.cells[c].rural as usize;
        for i in range.start..range.start + setup.schedule.active[0][c] {
            let tr = pop.traits[i as usize];
            let held = initial[i as usize].held();
            let mut v = [f64::NEG_INFINITY; N_PLATFORMS];
            for q in Platform::ALL {
                if !tr.considers(q.index()) {
                    continue;
                }
                let iv = inclusive_value(&data, q, held, tr.primary(), b);
                v[q.index()] = p.fitted.asc[q.index()] + b.offsets[rural][tr.band()][q.index()] + b.theta * iv;
            }
            let probs = shareshift::choice::logit(&v);
            let lambda = setup.lambda_bar * freq[tr.freq()];
            for q in 0..N_PLATFORMS {
                let o = lambda * probs[q];
                gmv[q] += w * o * p.population.aov[q] * p.population.aov_band_multiplier[tr.band()];
                let r = 1.0 - (-o).exp();
                reach[q] += r;
                var[q] += r * (1.0 - r);
            }
            persons += 1.0;
        }
    }
    let total: f64 = gmv.iter().sum();
    for q in Platform::ALL {
        let sim = national(&results, Arm::Baseline, 0, 0, &format!("gmv_share_{}", q.id()));
        let formula = gmv[q.index()] / total;
        assert!((sim - formula).abs() < 1e-4, "{q}: simulated GMV share {sim}, logit formula {formula}");
        let sim_reach = national(&results, Arm::Baseline, 0, 0, &format!("reach_{}", q.id()));
        let se = var[q.index()].sqrt() / persons;
        let expected = reach[q.index()] / persons;
        // 3 standard errors plus the 1/4096 grid of the exponential draws.
        assert!((sim_reach - expected).abs() < 3.0 * se + 1.0 / 4096.0, "{q}: reach {sim_reach} vs {expected} (se {se})");
    }
}

/// IV_p = ln sum over usable held wallets of exp(payment utility), written
/// out from the model design rather than through the model's tables.
fn inclusive_value(data: &DataSet, p: Platform, held: WalletSet, primary: usize, b: &shareshift::params::Behaviour) -> f64 {
    let acc = &data.acceptance;
    let mut sum = 0.0;
    for m in Wallet::ALL {
        let usable =
            held.contains(m) && acc.accepted[p.index()][m.index()] && acc.requires[p.index()][m.index()].is_none_or(|r| held.contains(r));
        if !usable {
            continue;
        }
        let mut u = 0.0;
        if m.index() == primary {
            u += b.b_primary;
        }
        if acc.cashier_default[p.index()] == Some(m) {
            u += b.b_cashier_default;
        }
        if m == Wallet::Card {
            u += b.b_card;
        }
        sum += f64::exp(u);
    }
    sum.ln()
}

/// One cell, adoption only: the Alipay holding share follows the
/// discrete-time Bass map F' = F + (1 - F)(1 - exp(-(p + qF)/12))
/// (reference/validation.md 1.3: the synchronous monthly map, not the ODE).
#[test]
fn holding_follows_the_discrete_bass_map() {
    let (data, mut sc, mut fitted) = load("baseline.toml", 1.0, 1);
    sc.months = 30;
    let (bp, bq) = (0.3, 3.0);
    for (name, v) in [
        ("spinup_months", 0.0),
        ("entry_rate", 0.0),
        ("inclusion_taobao", 0.0),
        ("averse_share", 0.0),
        ("bass_p_alipay", bp),
        ("bass_q_alipay", bq),
    ] {
        sc.values.set(name, v);
    }
    fitted.wechat_only_log_odds = 40.0; // nobody holds Alipay at first
    let geo = Geography {
        province_names: vec!["Test".into()],
        province_codes: vec![99],
        cells: vec![Cell {
            province: 0,
            rural: false,
            residents: 1e6,
            internet_users_2023: 200_000.0,
            internet_users_2024: 200_000.0,
            shoppers_2023: 200_000.0,
            income: 40_000.0,
            band_shares: [0.3, 0.4, 0.3],
        }],
    };
    let params = ModelParams::new(&sc.values, fitted);
    let setup = Setup::with_geography(&sc, &data, params, geo);
    let results = run(&sc, &setup);
    let mut f = 0.0f64;
    let mut worst = 0.0f64;
    for t in 0..sc.months as usize {
        f += (1.0 - f) * (1.0 - (-(bp + bq * f) / 12.0).exp());
        let sim = national(&results, Arm::Baseline, 0, t, "holding_alipay");
        worst = worst.max((sim - f).abs());
    }
    assert!(f > 0.9, "the test should cover the whole curve, ends at {f}");
    // 200,000 agents: binomial sd <= 0.0011 per month; allow 0.006 for its
    // propagation through the imitation term.
    assert!(worst < 0.006, "largest gap to the Bass map {worst}");
}

/// Two arms with the same regime, simulated separately from the first month,
/// give exactly the same numbers: every draw is shared (common random numbers).
#[test]
fn identical_arms_differ_by_exactly_zero() {
    let (data, mut sc, fitted) = load("wechat_pay_on_taobao.toml", 20_000.0, 2);
    sc.months = 14;
    sc.scenario_events = sc.baseline_events.clone();
    let mut setup = Setup::new(&sc, &data, fitted).unwrap();
    setup.divergence = Some(0);
    let r = run(&sc, &setup);
    for rep in 0..2 {
        for t in 0..r.months.len() {
            for g in 0..r.groups.len() {
                assert_eq!(r.row(rep, Arm::Baseline, t, g), r.row(rep, Arm::Scenario, t, g), "rep {rep} month {t} group {g}");
            }
        }
    }
}

/// The default scenario, both arms simulated from the first month: no
/// difference before 2024-09; afterwards Taobao/Tmall's share and WeChat
/// Pay's share of its payments rise against the baseline.
#[test]
fn default_scenario_moves_taobao_only_after_the_event() {
    let (data, sc, fitted) = load("wechat_pay_on_taobao.toml", 10_000.0, 3);
    let mut setup = Setup::new(&sc, &data, fitted).unwrap();
    let event = setup.divergence.expect("the default scenario has an event") as usize;
    assert_eq!(setup.months[event].to_string(), "2024-09");
    setup.divergence = Some(0);
    let r = run(&sc, &setup);
    for rep in 0..3 {
        for t in 0..event {
            for g in 0..r.groups.len() {
                assert_eq!(
                    r.row(rep, Arm::Baseline, t, g),
                    r.row(rep, Arm::Scenario, t, g),
                    "month {} differs before the event",
                    r.months[t]
                );
            }
        }
    }
    let d = |col: &str, t: usize| -> Vec<f64> {
        (0..3).map(|rep| national(&r, Arm::Scenario, rep, t, col) - national(&r, Arm::Baseline, rep, t, col)).collect()
    };
    for t in [event, event + 3, event + 12, r.months.len() - 1] {
        let share = d("gmv_share_taobao", t);
        let wechat = d("pay_share_taobao_wechat_pay", t);
        assert!(share.iter().all(|&x| x > 0.001), "Taobao/Tmall GMV share change at {}: {share:?}", r.months[t]);
        assert!(wechat.iter().all(|&x| x > 0.01), "WeChat Pay share of Taobao payments at {}: {wechat:?}", r.months[t]);
        for rep in 0..3 {
            assert_eq!(national(&r, Arm::Baseline, rep, t, "pay_share_taobao_wechat_pay"), 0.0);
        }
    }
}

/// The shipped calibration reproduces every target within 0.5 percentage
/// points at the default scale (Kuaishou's buyers as a share of shoppers).
#[test]
fn shipped_baseline_fits_its_targets() {
    let (data, sc, fitted) = load("baseline.toml", 1000.0, 4);
    let params = ModelParams::new(&sc.values, fitted.clone());
    let t = params.targets;
    let m = shareshift::calibration::moments(&shareshift::calibration::simulate(&sc, &data, fitted, 1).unwrap());
    let pp = |a: f64, b: f64| (a - b).abs() * 100.0;
    for q in 0..N_PLATFORMS {
        assert!(
            pp(m.gmv_share[q], t.gmv_share[q]) < 0.5,
            "GMV share of {}: {} vs {}",
            Platform::from_index(q),
            m.gmv_share[q],
            t.gmv_share[q]
        );
    }
    assert!(pp(m.holding_alipay, t.holding_alipay) < 0.5);
    assert!(pp(m.holding_wechat_pay, t.holding_wechat_pay) < 0.5);
    assert!(pp(m.holding_card, t.holding_card) < 0.5);
    assert!(pp(m.alipay_share_of_wallet_payments, t.alipay_share_of_wallet_payments) < 0.5);
    assert!(pp(m.kuaishou_monthly_buyers / m.shoppers, t.kuaishou_monthly_buyers / m.shoppers) < 0.5);
}

/// Without events the calibrated baseline stays near-stationary: no
/// platform's GMV share drifts by half a point a year.
#[test]
fn baseline_is_near_stationary() {
    let (data, sc, fitted) = load("baseline.toml", 5000.0, 2);
    let setup = Setup::new(&sc, &data, fitted).unwrap();
    let r = run(&sc, &setup);
    let last = r.months.len() - 1;
    let years = last as f64 / 12.0;
    for q in Platform::ALL {
        let col = format!("gmv_share_{}", q.id());
        let drift: f64 =
            (0..2).map(|rep| national(&r, Arm::Baseline, rep, last, &col) - national(&r, Arm::Baseline, rep, 0, &col)).sum::<f64>() / 2.0;
        assert!(drift.abs() * 100.0 / years < 0.5, "{q} drifts {:.3} pp per year", drift * 100.0 / years);
    }
}

/// Simulating the months before the event once and continuing both arms from
/// that state gives exactly the numbers of simulating both arms from the
/// first month.
#[test]
fn shared_history_equals_simulating_both_arms_from_the_start() {
    let (data, mut sc, fitted) = load("wechat_pay_on_taobao.toml", 20_000.0, 2);
    sc.months = 14;
    let shared = Setup::new(&sc, &data, fitted.clone()).unwrap();
    assert!(shared.divergence.is_some_and(|d| d > 0), "the event is after the start");
    let mut separate = Setup::new(&sc, &data, fitted).unwrap();
    separate.divergence = Some(0);
    let (a, b) = (run(&sc, &shared), run(&sc, &separate));
    assert_eq!(a.values, b.values);
    assert_eq!(a.values.iter().filter(|v| v.is_nan()).count(), 0);
}

/// Determinism at scale: more than ten million consumers give bit-identical
/// results with one thread and with two (a short horizon keeps it quick).
#[test]
fn ten_million_consumers_are_identical_with_one_and_two_threads() {
    let (data, mut sc, fitted) = load("wechat_pay_on_taobao.toml", 90.0, 1);
    sc.months = 10; // through 2024-10: two months after the event
    sc.values.set("spinup_months", 1.0);
    let setup = Setup::new(&sc, &data, fitted).unwrap();
    assert!(setup.agents() >= 10_000_000, "{} consumers", setup.agents());
    let with_threads = |n: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
        pool.install(|| run(&sc, &setup))
    };
    let (one, two) = (with_threads(1), with_threads(2));
    assert!(one.values == two.values, "results differ between one and two threads");
    assert!(one.values.iter().all(|v| v.is_finite()));
}
