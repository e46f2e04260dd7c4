//! Calibration: fit the platform constants (Berry's contraction) and the
//! wallet parameters so the simulated pre-event baseline reproduces the
//! observed national GMV shares, wallet holdings, the Alipay : WeChat Pay
//! payment split and Kuaishou's monthly buyers.
//!
//! Each iteration simulates the baseline's spin-up and first horizon month
//! (habit and social influence on, so the fit is of the state-dependent
//! steady state), averages the moments over replications with common random
//! numbers, and moves each fitted value by the log (or log-odds) gap between
//! target and simulation: delta <- delta + ln s_obs - ln s_sim for the
//! constants (Berry 1994; BLP 1995), the analogous update for the others.

use crate::data::DataSet;
use crate::error::Result;
use crate::experiment::{self, Group, Results, Setup};
use crate::observe::metric_index;
use crate::params::{Fitted, ModelParams};
use crate::platform::{N_PLATFORMS, Platform};
use crate::scenario::{Arm, Scenario};
use serde::Serialize;
use std::sync::atomic::AtomicBool;

#[derive(Debug, Clone)]
pub struct Options {
    pub scale: f64,
    pub replications: u32,
    pub max_iterations: u32,
    /// Stop when every share target is within this many percentage points.
    pub tolerance_pp: f64,
}

/// The simulated moments that are fitted.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Moments {
    pub gmv_share: [f64; N_PLATFORMS],
    pub holding_alipay: f64,
    pub holding_wechat_pay: f64,
    pub holding_card: f64,
    pub alipay_share_of_wallet_payments: f64,
    pub kuaishou_monthly_buyers: f64,
    pub shoppers: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct FitRow {
    pub target: String,
    pub unit: &'static str,
    pub observed: f64,
    pub simulated: f64,
    pub label: String,
}

impl FitRow {
    /// Gap in the row's unit (percentage points for shares).
    pub fn error(&self) -> f64 {
        self.simulated - self.observed
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Fit {
    pub fitted: Fitted,
    pub rows: Vec<FitRow>,
    pub iterations: u32,
    pub converged: bool,
    /// Largest gap among share targets, percentage points.
    pub max_share_error_pp: f64,
}

/// Starting values when no calibration exists: logit inversion of the target
/// order shares, and wallet log-odds at their targets.
pub fn initial_guess(params: &ModelParams) -> Fitted {
    let t = &params.targets;
    let orders: Vec<f64> = (0..N_PLATFORMS).map(|p| t.gmv_share[p] / params.population.aov[p]).collect();
    let other = orders[Platform::Other.index()];
    Fitted {
        asc: std::array::from_fn(|p| (orders[p] / other).ln()),
        wechat_only_log_odds: logit(1.0 - t.holding_alipay),
        alipay_only_log_odds: logit(1.0 - t.holding_wechat_pay),
        primary_alipay_log_odds: 0.0,
        inclusion_kuaishou: 0.2,
    }
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

/// National moments at the first horizon month, averaged over replications.
pub fn moments(results: &Results) -> Moments {
    let g = results.groups.iter().position(|x| *x == Group::National).unwrap_or(0);
    let avg = |name: &str| -> f64 {
        let m = metric_index(name).unwrap_or(0);
        (0..results.replications).map(|r| results.value(r, Arm::Baseline, 0, g, m)).sum::<f64>() / results.replications as f64
    };
    let (a, w) = (avg("pay_share_alipay"), avg("pay_share_wechat_pay"));
    Moments {
        gmv_share: std::array::from_fn(|p| avg(&format!("gmv_share_{}", Platform::from_index(p).id()))),
        holding_alipay: avg("holding_alipay"),
        holding_wechat_pay: avg("holding_wechat_pay"),
        holding_card: avg("holding_card"),
        alipay_share_of_wallet_payments: a / (a + w).max(1e-12),
        kuaishou_monthly_buyers: avg("reach_kuaishou") * avg("shoppers_million") * 1e6,
        shoppers: avg("shoppers_million") * 1e6,
    }
}

/// Simulates `scenario`'s baseline for `months` horizon months with `fitted`.
pub fn simulate(scenario: &Scenario, data: &DataSet, fitted: Fitted, months: u32) -> Result<Results> {
    let mut s = scenario.clone();
    s.months = months.min(s.months).max(1);
    s.scenario_events = s.baseline_events.clone();
    let setup = Setup::new(&s, data, fitted)?;
    experiment::run(&s, &setup, &AtomicBool::new(false), &|_| {})
}

/// Fits the calibrated values to the targets of `scenario`'s registry values.
///
/// The fitted values solve "transformed moments = transformed targets"
/// (log shares relative to Other, log-odds, log buyers) by Broyden's
/// quasi-Newton method from a diagonal start, which is Berry's contraction;
/// the updates learn what damps or amplifies the response (consideration
/// sets, habit, social influence) and how the targets interact.
pub fn calibrate(
    data: &DataSet,
    baseline: &Scenario,
    options: &Options,
    start: Option<Fitted>,
    progress: &(dyn Fn(u32, f64) + Sync),
) -> Result<Fit> {
    let mut scenario = baseline.clone();
    scenario.scale = options.scale;
    scenario.replications = options.replications;
    let params = ModelParams::new(&scenario.values, start.clone().unwrap_or_else(placeholder));
    let targets = params.targets.clone();
    let goal = transformed_targets(&targets);
    let fitted = start.unwrap_or_else(|| initial_guess(&params));
    let n = goal.len();
    // Social influence amplifies a constant's effect on its share by about
    // 1 / (1 - b_social) (the fixed point s ~ exp(delta / (1 - b))).
    let amplified = 1.0 / (1.0 - params.behaviour.b_social).max(0.05);
    let initial_jacobian = || -> Vec<Vec<f64>> {
        (0..n)
            .map(|i| {
                (0..n)
                    .map(|j| {
                        if i != j {
                            0.0
                        } else if i < N_PLATFORMS - 1 {
                            amplified
                        } else {
                            1.0
                        }
                    })
                    .collect()
            })
            .collect()
    };
    let mut jacobian = initial_jacobian();
    let mut best_x = coordinates(&fitted);
    let mut m = moments(&simulate(&scenario, data, fitted, 1)?);
    let mut best_err = max_share_error_pp(&m, &targets);
    let residual = |m: &Moments| -> Vec<f64> { transformed(m).iter().zip(&goal).map(|(y, g)| y - g).collect() };
    let merit = |r: &[f64]| r.iter().map(|x| x * x).sum::<f64>();
    let mut r = residual(&m);
    let mut iterations = 0;
    progress(iterations, best_err);
    // Broyden's method: a quasi-Newton step x <- x - J^-1 r with the
    // Jacobian J of the transformed moments updated from each step (it
    // starts diagonal, where a unit slope is Berry's contraction). A step
    // that does not lower the squared residual is halved, twice at most,
    // and J restarts, so the fit never gets worse.
    'steps: while best_err >= options.tolerance_pp && iterations < options.max_iterations {
        let step: Vec<f64> = match solve(&jacobian, &r) {
            Some(d) => d.iter().map(|v| (-v).clamp(-2.0, 2.0)).collect(),
            None => {
                jacobian = initial_jacobian();
                continue;
            }
        };
        let mut length = 1.0;
        for _ in 0..3 {
            if iterations >= options.max_iterations {
                break 'steps;
            }
            iterations += 1;
            let x: Vec<f64> = (0..n).map(|j| best_x[j] + length * step[j]).collect();
            let tried = moments(&simulate(&scenario, data, from_coordinates(&x), 1)?);
            let tr = residual(&tried);
            let err = max_share_error_pp(&tried, &targets);
            progress(iterations, err.min(best_err));
            if merit(&tr) < merit(&r) {
                broyden_update(
                    &mut jacobian,
                    &(0..n).map(|j| x[j] - best_x[j]).collect::<Vec<_>>(),
                    &(0..n).map(|j| tr[j] - r[j]).collect::<Vec<_>>(),
                );
                (best_x, m, r, best_err) = (x, tried, tr, err);
                continue 'steps;
            }
            length *= 0.5;
            jacobian = initial_jacobian();
        }
    }
    let fitted = from_coordinates(&best_x);
    let max_err = max_share_error_pp(&m, &targets);
    Ok(Fit {
        rows: fit_rows(&m, &targets, data),
        fitted,
        iterations,
        converged: max_err < options.tolerance_pp,
        max_share_error_pp: max_err,
    })
}

/// Broyden's ("good") update: J += (dy - J dx) dx' / (dx' dx).
fn broyden_update(j: &mut [Vec<f64>], dx: &[f64], dy: &[f64]) {
    let norm: f64 = dx.iter().map(|v| v * v).sum();
    if !(norm > 1e-12) {
        return;
    }
    let jdx: Vec<f64> = j.iter().map(|row| row.iter().zip(dx).map(|(a, b)| a * b).sum()).collect();
    for (i, row) in j.iter_mut().enumerate() {
        for (k, cell) in row.iter_mut().enumerate() {
            *cell += (dy[i] - jdx[i]) * dx[k] / norm;
        }
    }
}

/// Solves A x = b by Gaussian elimination with partial pivoting; None when
/// A is (nearly) singular.
fn solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let n = b.len();
    let mut m: Vec<Vec<f64>> = a.iter().zip(b).map(|(row, &v)| row.iter().copied().chain([v]).collect()).collect();
    for col in 0..n {
        let pivot = (col..n).max_by(|&x, &y| m[x][col].abs().total_cmp(&m[y][col].abs()))?;
        if m[pivot][col].abs() < 1e-9 {
            return None;
        }
        m.swap(col, pivot);
        for row in col + 1..n {
            let f = m[row][col] / m[col][col];
            for k in col..=n {
                m[row][k] -= f * m[col][k];
            }
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let s: f64 = (row + 1..n).map(|k| m[row][k] * x[k]).sum();
        x[row] = (m[row][n] - s) / m[row][row];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Values to build targets from before any fit exists (targets do not depend on them).
fn placeholder() -> Fitted {
    Fitted {
        asc: [0.0; N_PLATFORMS],
        wechat_only_log_odds: 0.0,
        alipay_only_log_odds: 0.0,
        primary_alipay_log_odds: 0.0,
        inclusion_kuaishou: 0.2,
    }
}

const OTHER: usize = Platform::Other as usize;

/// The fitted values as free coordinates (Other's constant is fixed at 0).
fn coordinates(f: &Fitted) -> Vec<f64> {
    let mut x: Vec<f64> = (0..N_PLATFORMS).filter(|&p| p != OTHER).map(|p| f.asc[p]).collect();
    x.extend([f.wechat_only_log_odds, f.alipay_only_log_odds, f.primary_alipay_log_odds, f.inclusion_kuaishou.ln()]);
    x
}

fn from_coordinates(x: &[f64]) -> Fitted {
    let mut asc = [0.0; N_PLATFORMS];
    let mut k = 0;
    for (p, a) in asc.iter_mut().enumerate() {
        if p != OTHER {
            *a = x[k];
            k += 1;
        }
    }
    Fitted {
        asc,
        wechat_only_log_odds: x[k],
        alipay_only_log_odds: x[k + 1],
        primary_alipay_log_odds: x[k + 2],
        inclusion_kuaishou: x[k + 3].exp().clamp(1e-4, 1.0),
    }
}

/// Each moment on the scale its fitted value moves it along.
fn transformed(m: &Moments) -> Vec<f64> {
    let mut y: Vec<f64> =
        (0..N_PLATFORMS).filter(|&p| p != OTHER).map(|p| (m.gmv_share[p].max(1e-12) / m.gmv_share[OTHER].max(1e-12)).ln()).collect();
    y.extend([
        logit(1.0 - m.holding_alipay),
        logit(1.0 - m.holding_wechat_pay),
        logit(m.alipay_share_of_wallet_payments),
        m.kuaishou_monthly_buyers.max(1.0).ln(),
    ]);
    y
}

fn transformed_targets(t: &crate::params::Targets) -> Vec<f64> {
    let mut y: Vec<f64> = (0..N_PLATFORMS).filter(|&p| p != OTHER).map(|p| (t.gmv_share[p] / t.gmv_share[OTHER]).ln()).collect();
    y.extend([
        logit(1.0 - t.holding_alipay),
        logit(1.0 - t.holding_wechat_pay),
        logit(t.alipay_share_of_wallet_payments),
        t.kuaishou_monthly_buyers.ln(),
    ]);
    y
}

/// The largest gap between simulated and fitted target shares, in
/// percentage points (Kuaishou's monthly buyers count as a share of all
/// shoppers). Card holding is set at its target directly, not fitted: its
/// gap is sampling noise and is shown in the fit report, not iterated on.
pub fn max_share_error_pp(m: &Moments, t: &crate::params::Targets) -> f64 {
    let mut e: Vec<f64> = (0..N_PLATFORMS).map(|p| (m.gmv_share[p] - t.gmv_share[p]).abs()).collect();
    e.push((m.holding_alipay - t.holding_alipay).abs());
    e.push((m.holding_wechat_pay - t.holding_wechat_pay).abs());
    e.push((m.alipay_share_of_wallet_payments - t.alipay_share_of_wallet_payments).abs());
    e.push((m.kuaishou_monthly_buyers - t.kuaishou_monthly_buyers).abs() / m.shoppers.max(1.0));
    e.into_iter().fold(0.0, f64::max) * 100.0
}

pub fn fit_rows(m: &Moments, t: &crate::params::Targets, data: &DataSet) -> Vec<FitRow> {
    let label = |name: &str| data.registry.get(name).map(|s| s.label.clone()).unwrap_or_default();
    let mut rows: Vec<FitRow> = Platform::ALL
        .iter()
        .map(|p| FitRow {
            target: format!("GMV share, {}", p.label()),
            unit: "%",
            observed: 100.0 * t.gmv_share[p.index()],
            simulated: 100.0 * m.gmv_share[p.index()],
            label: label(&format!("gmv_{}", p.id())),
        })
        .collect();
    for (name, unit, obs, sim, key) in [
        ("Holding Alipay", "%", t.holding_alipay * 100.0, m.holding_alipay * 100.0, "target_holding_alipay"),
        ("Holding WeChat Pay", "%", t.holding_wechat_pay * 100.0, m.holding_wechat_pay * 100.0, "target_holding_wechat_pay"),
        ("Holding a card for online payment", "%", t.holding_card * 100.0, m.holding_card * 100.0, "target_holding_card"),
        (
            "Alipay share of Alipay + WeChat Pay e-commerce GMV",
            "%",
            t.alipay_share_of_wallet_payments * 100.0,
            m.alipay_share_of_wallet_payments * 100.0,
            "target_alipay_share_of_wallet_payments",
        ),
        (
            "Kuaishou monthly buyers",
            "million",
            t.kuaishou_monthly_buyers / 1e6,
            m.kuaishou_monthly_buyers / 1e6,
            "target_kuaishou_monthly_buyers",
        ),
    ] {
        rows.push(FitRow { target: name.into(), unit, observed: obs, simulated: sim, label: label(key) });
    }
    rows
}

/// The calibration file's bytes.
pub fn render_calibration(fit: &Fit) -> Vec<u8> {
    let describe = |name: &str| match name {
        n if n.starts_with("asc_") => "alternative-specific constant (utility; Other = 0)",
        "wechat_only_log_odds" => "log-odds of a new shopper being WeChat-Pay-only (urban cell, middle income band)",
        "alipay_only_log_odds" => "log-odds of a new shopper being Alipay-only",
        "primary_alipay_log_odds" => "log-odds that a dual holder's online primary wallet is Alipay",
        "inclusion_kuaishou" => "probability that Kuaishou is in a consideration set",
        _ => "",
    };
    let mut w = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let mut rows = vec![["name".to_string(), "value".to_string(), "description".to_string()]];
    rows.extend(fit.fitted.named_values().into_iter().map(|(n, v)| [n.to_string(), format!("{v:.10}"), describe(n).to_string()]));
    for r in rows {
        // Writing to a Vec cannot fail.
        let _ = w.write_record(&r);
    }
    w.into_inner().unwrap_or_default()
}

/// National baseline path of one metric, averaged over replications.
fn baseline_path(results: &Results, name: &str) -> Vec<f64> {
    let g = results.groups.iter().position(|x| *x == Group::National).unwrap_or(0);
    let m = metric_index(name).unwrap_or(0);
    (0..results.months.len())
        .map(|t| (0..results.replications).map(|r| results.value(r, Arm::Baseline, t, g, m)).sum::<f64>() / results.replications as f64)
        .collect()
}

/// The fit report: settings, every target against its simulation, the fitted
/// values, and the drift of the baseline without events.
pub fn render_report(fit: &Fit, scenario: &Scenario, options: &Options, check: &Results) -> String {
    let mut s = String::new();
    s.push_str("# Calibration fit report\n\n");
    s.push_str("Written by `shareshift calibrate`; do not edit by hand.\n\n");
    s.push_str(&format!(
        "Baseline `{}`, start {}, scale {} shoppers per agent, {} replications, seed {}, spin-up {} months; {} iterations, {}.\n\n",
        scenario.name,
        scenario.start,
        options.scale,
        options.replications,
        scenario.seed,
        scenario.values.get("spinup_months"),
        fit.iterations,
        if fit.converged {
            format!("converged (largest share gap {:.3} pp < {} pp)", fit.max_share_error_pp, options.tolerance_pp)
        } else {
            format!("NOT converged (largest share gap {:.3} pp)", fit.max_share_error_pp)
        }
    ));
    s.push_str("## Targets at the first horizon month\n\n| target | observed | simulated | gap | evidence |\n|---|---:|---:|---:|---|\n");
    for r in &fit.rows {
        s.push_str(&format!("| {} ({}) | {:.2} | {:.2} | {:+.3} | {} |\n", r.target, r.unit, r.observed, r.simulated, r.error(), r.label));
    }
    s.push_str("\n## Fitted values\n\n| name | value |\n|---|---:|\n");
    for (n, v) in fit.fitted.named_values() {
        s.push_str(&format!("| {n} | {v:.4} |\n"));
    }
    let months = check.months.len();
    s.push_str(&format!("\n## Stationarity of the baseline without events ({} to {})\n\n", check.months[0], check.months[months - 1]));
    s.push_str("National shares at the start, after 12 months and at the end, and the drift per year over the whole horizon. ");
    s.push_str(
        "Part of the drift is modelled on purpose: new online shoppers enter (CNNIC entry path), more of them rural and lower-income.\n\n",
    );
    s.push_str("| series | start | +12 months | end | drift, pp per year |\n|---|---:|---:|---:|---:|\n");
    let mut names: Vec<(String, String)> =
        Platform::ALL.iter().map(|p| (format!("gmv_share_{}", p.id()), format!("GMV share, {}", p.label()))).collect();
    names.push(("pay_share_alipay".into(), "Alipay share of e-commerce GMV".into()));
    names.push(("pay_share_wechat_pay".into(), "WeChat Pay share of e-commerce GMV".into()));
    names.push(("wechat_only_share".into(), "WeChat-Pay-only shoppers".into()));
    names.push(("holding_dual".into(), "Dual holders".into()));
    for (col, label) in names {
        let path = baseline_path(check, &col);
        let at12 = path.get(12).copied().unwrap_or(path[months - 1]);
        let years = ((months - 1) as f64 / 12.0).max(1.0 / 12.0);
        s.push_str(&format!(
            "| {label} | {:.2}% | {:.2}% | {:.2}% | {:+.3} |\n",
            path[0] * 100.0,
            at12 * 100.0,
            path[months - 1] * 100.0,
            (path[months - 1] - path[0]) * 100.0 / years
        ));
    }
    s
}
