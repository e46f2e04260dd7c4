//! Running a scenario: replications of the baseline and scenario arms with
//! common random numbers, from a spin-up through the horizon.
//!
//! Months before the arms' regimes first differ are simulated once and both
//! arms continue from that state, which is exactly what simulating each arm
//! from the start would give (the draws are keyed, not sequential), at a
//! fraction of the cost when the event comes late.

use crate::calendar::Month;
use crate::data::DataSet;
use crate::error::{Error, Result};
use crate::model::{MonthTables, PayTables, Previous, Step};
use crate::observe::{Sums, metric_columns, metrics};
use crate::params::{Fitted, ModelParams, N_BANDS};
use crate::platform::N_PLATFORMS;
use crate::population::{Population, Schedule, State};
use crate::region::{Geography, anchor_month};
use crate::rng::Streams;
use crate::scenario::{Arm, Regime, Scenario};
use crate::wallet::N_WALLETS;
use rayon::prelude::*;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A row group of the outputs: the nation, urban/rural, an income band, a cell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Group {
    National,
    Area { rural: bool },
    Band(usize),
    Province(usize),
    Cell(usize),
}

/// Everything a run needs that does not change between replications.
pub struct Setup {
    pub geo: Geography,
    pub params: ModelParams,
    pub schedule: Schedule,
    pub lambda_bar: f64,
    pub spinup_regime: Regime,
    pub timelines: [Vec<Regime>; 2],
    /// The payment tables of every distinct regime above.
    pub pay: Vec<(Regime, Arc<PayTables>)>,
    /// First horizon month (0-based) in which the arms differ.
    pub divergence: Option<u32>,
    pub months: Vec<Month>,
    pub groups: Vec<Group>,
    pub entrant_mix: Option<[f64; 3]>,
}

impl Setup {
    pub fn new(scenario: &Scenario, data: &DataSet, fitted: Fitted) -> Result<Setup> {
        let params = ModelParams::new(&scenario.values, fitted);
        let geo = Geography::build(data, &params.population)?;
        Ok(Setup::with_geography(scenario, data, params, geo))
    }

    /// A setup over a given geography (tests use one-cell worlds).
    pub fn with_geography(scenario: &Scenario, data: &DataSet, params: ModelParams, geo: Geography) -> Setup {
        let path = geo.shopper_path(scenario.end(), params.population.entry_rate);
        let first = (scenario.start.since(anchor_month()) - 1).max(0) as usize;
        let schedule = Schedule::new(&path, first, scenario.months as usize, scenario.scale);
        let lambda_bar = mean_orders_per_month(&geo, &params);
        let timelines = [scenario.timeline(Arm::Baseline, &data.acceptance), scenario.timeline(Arm::Scenario, &data.acceptance)];
        let spinup_regime = scenario.regime_at(Arm::Baseline, scenario.start.plus(-1), &data.acceptance);
        let divergence = (0..scenario.months).find(|&t| timelines[0][t as usize] != timelines[1][t as usize]);
        let mut groups = vec![Group::National, Group::Area { rural: false }, Group::Area { rural: true }];
        groups.extend((0..N_BANDS).map(Group::Band));
        groups.extend((0..geo.province_names.len()).map(Group::Province));
        groups.extend((0..geo.n_cells()).map(Group::Cell));
        Setup {
            months: (0..scenario.months).map(|t| scenario.start.plus(t as i32)).collect(),
            geo,
            params,
            schedule,
            lambda_bar,
            pay: PayTables::cache(std::iter::once(&spinup_regime).chain(timelines.iter().flatten())),
            spinup_regime,
            timelines,
            divergence,
            groups,
            entrant_mix: scenario.entrant_mix,
        }
    }

    /// Consumers that will ever be active in one replication.
    pub fn agents(&self) -> u64 {
        self.schedule.capacity().iter().map(|&n| n as u64).sum()
    }

    pub fn rural(&self) -> Vec<bool> {
        self.geo.cells.iter().map(|c| c.rural).collect()
    }
}

/// Mean orders per shopper and month: 2023 GMV per shopper over the mean
/// order value, with each platform's orders in proportion to GMV / AOV.
fn mean_orders_per_month(geo: &Geography, params: &ModelParams) -> f64 {
    let pop = &params.population;
    let shoppers: f64 = geo.cells.iter().map(|c| c.shoppers_2023).sum();
    let gmv_per_shopper = pop.gmv.iter().sum::<f64>() * 1e12 / 12.0 / shoppers;
    let orders_per_cny: f64 = (0..N_PLATFORMS).map(|p| params.targets.gmv_share[p] / pop.aov[p]).sum();
    let band_multiplier = geo
        .cells
        .iter()
        .map(|c| c.shoppers_2023 * (0..N_BANDS).map(|b| c.band_shares[b] * pop.aov_band_multiplier[b]).sum::<f64>())
        .sum::<f64>()
        / shoppers;
    gmv_per_shopper * orders_per_cny / band_multiplier
}

/// Progress of a run, reported after every simulated month.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    pub replication: u32,
    pub replications: u32,
    pub arm: &'static str,
    /// The horizon month just simulated (None during the spin-up).
    pub month: Option<Month>,
    pub month_done: u32,
    pub months_per_replication: u32,
    pub agent_steps: u64,
}

/// Metrics of every group, by replication, arm and month, flattened:
/// index `((rep * 2 + arm) * months + month) * groups + group`, each a row
/// of `metric_columns()`.
#[derive(Debug, Clone)]
pub struct Results {
    pub replications: u32,
    pub months: Vec<Month>,
    pub groups: Vec<Group>,
    pub n_metrics: usize,
    pub values: Vec<f64>,
    /// Agent-months simulated (both arms, spin-up included).
    pub agent_steps: u64,
}

impl Results {
    pub fn row(&self, rep: u32, arm: Arm, month: usize, group: usize) -> &[f64] {
        let i = (((rep as usize * 2 + arm as usize) * self.months.len() + month) * self.groups.len() + group) * self.n_metrics;
        &self.values[i..i + self.n_metrics]
    }

    pub fn value(&self, rep: u32, arm: Arm, month: usize, group: usize, metric: usize) -> f64 {
        self.row(rep, arm, month, group)[metric]
    }
}

/// Runs every replication of a scenario.
pub fn run(scenario: &Scenario, setup: &Setup, cancel: &AtomicBool, progress: &(dyn Fn(Progress) + Sync)) -> Result<Results> {
    let n_metrics = metric_columns().len();
    let months = setup.months.len();
    let mut values = Vec::with_capacity(scenario.replications as usize * 2 * months * setup.groups.len() * n_metrics);
    let mut agent_steps = 0;
    for rep in 0..scenario.replications {
        let out = run_replication(scenario.seed, rep, scenario.replications, setup, cancel, progress, &mut agent_steps)?;
        for arm in out {
            for month in arm {
                values.extend(month);
            }
        }
    }
    Ok(Results {
        replications: scenario.replications,
        months: setup.months.clone(),
        groups: setup.groups.clone(),
        n_metrics,
        values,
        agent_steps,
    })
}

/// One arm's running state.
#[derive(Clone)]
struct ArmState {
    state: Vec<State>,
    prev: Previous,
}

/// Runs one replication; returns `[arm][month]` rows of group metrics.
fn run_replication(
    seed: u64,
    rep: u32,
    reps: u32,
    setup: &Setup,
    cancel: &AtomicBool,
    progress: &(dyn Fn(Progress) + Sync),
    agent_steps: &mut u64,
) -> Result<[Vec<Vec<f64>>; 2]> {
    let streams = Streams::new(seed, rep);
    let (pop, initial) =
        Population::generate(&setup.geo, &setup.schedule, &setup.params.population, &setup.params.fitted, setup.entrant_mix, &streams);
    let world = Replication { setup, pop: &pop, rural: setup.rural(), streams, cancel };
    let spinup = setup.params.population.spinup_months;
    let months = setup.months.len() as u32;
    let divergence = setup.divergence.unwrap_or(months);
    let total_months = spinup + months + (months - divergence);
    let prev = initial_previous(&pop, &initial, setup);
    let mut shared = ArmState { state: initial, prev };
    let mut done = 0u32;
    let mut tick = |arm: &'static str, month: Option<Month>, steps: u64| -> Result<()> {
        *agent_steps += steps;
        done += 1;
        progress(Progress {
            replication: rep,
            replications: reps,
            arm,
            month,
            month_done: done,
            months_per_replication: total_months,
            agent_steps: *agent_steps,
        });
        if cancel.load(Ordering::Relaxed) {
            Err(Error::Interrupted("stopped at the user's request; no results were written".into()))
        } else {
            Ok(())
        }
    };
    for k in 0..spinup {
        world.step(&mut shared, &setup.spinup_regime, 0, k);
        tick("spin-up", None, active_total(&setup.schedule.active[0]))?;
    }
    let mut rows: [Vec<Vec<f64>>; 2] = [Vec::new(), Vec::new()];
    for t in 0..divergence {
        let sums = world.step(&mut shared, &setup.timelines[0][t as usize], t as usize, spinup + t);
        let m = group_metrics(&sums, &setup.schedule.weight[t as usize], setup);
        rows[1].push(m.clone());
        rows[0].push(m);
        tick("both arms", Some(setup.months[t as usize]), active_total(&setup.schedule.active[t as usize]))?;
    }
    if divergence < months {
        let mut arms = [shared.clone(), shared];
        for t in divergence..months {
            for (a, arm_state) in arms.iter_mut().enumerate() {
                let sums = world.step(arm_state, &setup.timelines[a][t as usize], t as usize, spinup + t);
                rows[a].push(group_metrics(&sums, &setup.schedule.weight[t as usize], setup));
            }
            tick("baseline and scenario", Some(setup.months[t as usize]), 2 * active_total(&setup.schedule.active[t as usize]))?;
        }
    }
    Ok(rows)
}

/// Consumers active in a month, over all cells.
pub(crate) fn active_total(active: &[u32]) -> u64 {
    active.iter().map(|&n| n as u64).sum()
}

/// What one replication's months share: its population and draws.
struct Replication<'a> {
    setup: &'a Setup,
    pop: &'a Population,
    rural: Vec<bool>,
    streams: Streams,
    cancel: &'a AtomicBool,
}

impl Replication<'_> {
    /// Steps one arm by a month under `regime`, with the population of
    /// horizon month `t` (0 during the spin-up), and updates its aggregates;
    /// returns the cell sums.
    fn step(&self, arm: &mut ArmState, regime: &Regime, t: usize, counter: u32) -> Vec<[Sums; N_BANDS]> {
        let s = self.setup;
        let tables = MonthTables::build(regime, PayTables::lookup(&s.pay, regime), &s.params, &self.rural, s.lambda_bar, &arm.prev);
        let step = Step {
            tables: &tables,
            traits: &self.pop.traits,
            cells: &self.pop.cells,
            active: &s.schedule.active[t],
            month: counter,
            streams: &self.streams,
            cancel: self.cancel,
        };
        let sums = step.run(&mut arm.state);
        arm.prev = Previous::from_sums(&sums, &s.schedule.weight[t]);
        sums
    }
}

/// Aggregates before the first month: platform shares at their targets (in
/// orders) in every cell, and holdings as drawn.
fn initial_previous(pop: &Population, initial: &[State], setup: &Setup) -> Previous {
    let p = &setup.params;
    let order_share: Vec<f64> = {
        let raw: Vec<f64> = (0..N_PLATFORMS).map(|i| p.targets.gmv_share[i] / p.population.aov[i]).collect();
        let s: f64 = raw.iter().sum();
        raw.iter().map(|x| x / s).collect()
    };
    let cells: Vec<_> = pop
        .cells
        .par_iter()
        .enumerate()
        .map(|(c, range)| {
            let n = setup.schedule.active[0][c].min(range.end - range.start);
            let mut h = [0.0; N_WALLETS];
            let mut m = [0.0; N_WALLETS];
            for i in range.start..range.start + n {
                let held = initial[i as usize].held();
                let averse = pop.traits[i as usize].averse();
                for w in crate::wallet::Wallet::ALL {
                    h[w.index()] += held.contains(w) as u32 as f64;
                    m[w.index()] += (held.contains(w) || !averse.contains(w)) as u32 as f64;
                }
            }
            let persons = n as f64 * setup.schedule.weight[0][c];
            let nn = (n as f64).max(1.0);
            (std::array::from_fn(|i| order_share[i] * persons * setup.lambda_bar), h.map(|x| x / nn), m.map(|x| x / nn))
        })
        .collect();
    let mut out = Previous { cell_orders: Vec::new(), holding: Vec::new(), potential: Vec::new() };
    for (orders, holding, potential) in cells {
        out.cell_orders.push(orders);
        out.holding.push(holding);
        out.potential.push(potential);
    }
    out
}

/// Metrics of every output group from one month's cell sums.
fn group_metrics(cells: &[[Sums; N_BANDS]], weight: &[f64], setup: &Setup) -> Vec<f64> {
    let mut national = Sums::default();
    let mut area = [Sums::default(); 2];
    let mut band = [Sums::default(); N_BANDS];
    let mut province = vec![Sums::default(); setup.geo.province_names.len()];
    let mut cell_sums = Vec::with_capacity(cells.len());
    for (c, bands) in cells.iter().enumerate() {
        let mut cs = Sums::default();
        for (b, s) in bands.iter().enumerate() {
            cs.add_scaled(s, weight[c]);
            band[b].add_scaled(s, weight[c]);
        }
        national.add(&cs);
        area[setup.geo.cells[c].rural as usize].add(&cs);
        province[setup.geo.cells[c].province].add(&cs);
        cell_sums.push(cs);
    }
    let mut out = Vec::with_capacity(setup.groups.len() * 64);
    for g in &setup.groups {
        let s = match *g {
            Group::National => &national,
            Group::Area { rural } => &area[rural as usize],
            Group::Band(b) => &band[b],
            Group::Province(p) => &province[p],
            Group::Cell(c) => &cell_sums[c],
        };
        out.extend(metrics(s));
    }
    out
}

/// Hands `bench` a monthly step of a fresh population, for timing: the
/// scenario arm's regime of the last horizon month (every mechanism on), the
/// population of the first. Each call steps one month (the argument is the
/// month counter of the draws) on the calling thread pool and returns the
/// agents stepped. Drawing the population happens before `bench` runs.
pub fn with_monthly_step<R>(setup: &Setup, seed: u64, bench: impl FnOnce(&mut (dyn FnMut(u32) -> u64 + Send)) -> R) -> R {
    let streams = Streams::new(seed, 0);
    let (pop, initial) =
        Population::generate(&setup.geo, &setup.schedule, &setup.params.population, &setup.params.fitted, setup.entrant_mix, &streams);
    let cancel = AtomicBool::new(false);
    let world = Replication { setup, pop: &pop, rural: setup.rural(), streams, cancel: &cancel };
    let prev = initial_previous(&pop, &initial, setup);
    let mut arm = ArmState { state: initial, prev };
    let regime = setup.timelines[1].last().unwrap_or(&setup.spinup_regime);
    let agents = active_total(&setup.schedule.active[0]);
    bench(&mut |month| {
        world.step(&mut arm, regime, 0, month);
        agents
    })
}
