//! The model over many parameter points: parameter uncertainty (Latin
//! hypercube draws from the priors), global sensitivity (Morris or Sobol)
//! and sweeps (a grid over one or two parameters).
//!
//! Every point is recalibrated before it is simulated: almost every
//! parameter changes the pre-event world (even theta, through the wallets
//! each platform accepts), and a projection from a baseline that no longer
//! fits its targets would mix the parameter's effect with a misfit. Points
//! share the scenario's seed, so their differences are not blurred by
//! different draws (common random numbers), and run in parallel.

use crate::calibration::{self, Options};
use crate::data::DataSet;
use crate::error::{Error, Result};
use crate::experiment::{self, Setup};
use crate::params::Fitted;
use crate::registry::{ParamSpec, Values};
use crate::scenario::Scenario;
use crate::sensitivity::{self, MorrisIndices, SobolIndices, prior_quantile};
use crate::summary::{self, HEADLINE};
use rayon::prelude::*;
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// How each point is simulated: coarser than a headline run, since a design
/// has tens to thousands of points, with common random numbers across them.
#[derive(Debug, Clone)]
pub struct Settings {
    pub scale: f64,
    pub replications: u32,
    /// Calibration of each point: most iterations and the tolerance (pp).
    pub max_iterations: u32,
    pub tolerance_pp: f64,
}

impl Settings {
    /// Analyses default to ten times the scenario's scale (one agent per
    /// 10,000 shoppers at the default) and 4 replications: the effects are
    /// smooth in the parameters, so precision per point matters less than
    /// the number of points.
    pub fn for_scenario(s: &Scenario) -> Settings {
        Settings { scale: s.scale * 10.0, replications: 4, max_iterations: 20, tolerance_pp: 0.1 }
    }
}

/// One parameter point and what it gave.
#[derive(Debug, Clone, Serialize)]
pub struct Point {
    /// Values of the varied parameters, in the space's order.
    pub parameters: Vec<f64>,
    /// One value per headline outcome (`HEADLINE`) at `horizon`.
    pub outcomes: Vec<f64>,
    pub horizon: String,
    /// Largest gap between the recalibrated baseline and its targets, pp.
    pub fit_gap_pp: f64,
    pub calibration_iterations: u32,
}

/// The parameters an analysis varies, each on its (possibly narrowed) range.
#[derive(Debug, Clone)]
pub struct Space {
    pub specs: Vec<ParamSpec>,
    /// Parameters the scenario fixes for its analyses.
    pub fixed: Vec<(String, f64)>,
}

impl Space {
    /// Every registry entry with a plausible range (numerical settings
    /// excluded), or the named ones; the scenario's `[uncertainty]` section
    /// narrows ranges or fixes values.
    pub fn new(data: &DataSet, scenario: &Scenario, only: Option<&[String]>) -> Result<Space> {
        let mut specs = Vec::new();
        for spec in data.registry.specs() {
            let wanted = match only {
                Some(names) => names.iter().any(|n| n == &spec.name),
                None => spec.high > spec.low && spec.label != "numerical",
            };
            if !wanted {
                continue;
            }
            let mut s = spec.clone();
            if let Some((lo, hi)) = scenario.uncertainty.iter().find(|(n, _)| n == &spec.name).map(|(_, r)| *r) {
                (s.low, s.high) = (lo, hi);
                s.default = s.default.clamp(lo, hi);
            }
            specs.push(s);
        }
        if let Some(names) = only {
            if let Some(unknown) = names.iter().find(|n| data.registry.get(n).is_none()) {
                return Err(Error::Flag {
                    flag: "--params".into(),
                    expected: "names from the parameter registry (docs/MODEL.md)".into(),
                    found: unknown.clone(),
                });
            }
        }
        let fixed = scenario.uncertainty.iter().filter(|(_, (lo, hi))| lo == hi).map(|(n, (v, _))| (n.clone(), *v)).collect();
        specs.retain(|s| s.high > s.low);
        Ok(Space { specs, fixed })
    }

    pub fn names(&self) -> Vec<String> {
        self.specs.iter().map(|s| s.name.clone()).collect()
    }

    /// Registry values with the varied parameters at the prior quantiles `u`.
    pub fn values_at(&self, base: &Values, u: &[f64]) -> (Values, Vec<f64>) {
        let mut v = base.clone();
        for (name, x) in &self.fixed {
            v.set(name, *x);
        }
        let mut chosen = Vec::with_capacity(self.specs.len());
        for (spec, &q) in self.specs.iter().zip(u) {
            let x = prior_quantile(spec, q);
            v.set(&spec.name, x);
            chosen.push(x);
        }
        (v, chosen)
    }
}

/// Recalibrates and simulates parameter points.
pub struct Evaluator<'a> {
    pub data: &'a DataSet,
    pub scenario: Scenario,
    pub start: Fitted,
    pub settings: Settings,
    pub cancel: &'a AtomicBool,
}

impl Evaluator<'_> {
    /// The headline outcomes of one point (at +12 months, or the last
    /// horizon point when the horizon is shorter).
    pub fn evaluate(&self, values: &Values, parameters: Vec<f64>) -> Result<Point> {
        let mut s = self.scenario.clone();
        s.values = values.clone();
        s.scale = self.settings.scale;
        s.replications = self.settings.replications;
        let options = Options {
            scale: self.settings.scale,
            replications: self.settings.replications,
            max_iterations: self.settings.max_iterations,
            tolerance_pp: self.settings.tolerance_pp,
        };
        let fit = calibration::calibrate(self.data, &s, &options, Some(self.start.clone()), &|_, _| {})?;
        let setup = Setup::new(&s, self.data, fit.fitted.clone())?;
        let results = experiment::run(&s, &setup, self.cancel, &|_| {})?;
        let rows = summary::headline(&results, setup.divergence);
        let horizon =
            rows.iter().find(|r| r.horizon == "+12 months").or_else(|| rows.last()).map(|r| r.horizon.clone()).unwrap_or_default();
        let outcomes = HEADLINE
            .iter()
            .map(|h| rows.iter().find(|r| r.metric == h.id && r.horizon == horizon).map(|r| r.value.mean).unwrap_or(f64::NAN))
            .collect();
        Ok(Point { parameters, outcomes, horizon, fit_gap_pp: fit.max_share_error_pp, calibration_iterations: fit.iterations })
    }

    /// Evaluates points in parallel, in order; `progress(done, total)`.
    pub fn evaluate_all(&self, points: &[(Values, Vec<f64>)], progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Vec<Point>> {
        let done = AtomicUsize::new(0);
        points
            .par_iter()
            .map(|(v, p)| {
                if self.cancel.load(Ordering::Relaxed) {
                    return Err(Error::Interrupted("stopped at the user's request; no results were written".into()));
                }
                let r = self.evaluate(v, p.clone());
                progress(done.fetch_add(1, Ordering::Relaxed) + 1, points.len());
                r
            })
            .collect()
    }
}

/// `n` Latin hypercube draws from the priors of `space`.
pub fn uncertainty_design(space: &Space, base: &Values, n: usize, seed: u64) -> Vec<(Values, Vec<f64>)> {
    sensitivity::latin_hypercube(n, space.specs.len(), seed).iter().map(|u| space.values_at(base, u)).collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    Morris,
    Sobol,
}

/// Sensitivity indices of every headline outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Sensitivity {
    pub method: Method,
    pub parameters: Vec<String>,
    pub outcomes: Vec<OutcomeIndices>,
    pub points: Vec<Point>,
}

#[derive(Debug, Clone, Serialize)]
pub struct OutcomeIndices {
    pub outcome: &'static str,
    pub label: &'static str,
    pub unit: &'static str,
    pub sobol: Option<SobolIndices>,
    pub morris: Option<MorrisIndices>,
}

/// The design of a sensitivity analysis in the unit cube: Morris with
/// `samples` trajectories (4 levels), or Saltelli with `samples` base points.
pub fn sensitivity_design(method: Method, d: usize, samples: usize, seed: u64) -> Vec<Vec<f64>> {
    match method {
        Method::Morris => sensitivity::morris_design(samples, d, 4, seed),
        Method::Sobol => sensitivity::saltelli_design(samples, d, seed),
    }
}

/// Indices of each outcome from the evaluated design.
pub fn sensitivity_indices(
    method: Method,
    design: &[Vec<f64>],
    points: Vec<Point>,
    parameters: Vec<String>,
    samples: usize,
    seed: u64,
) -> Sensitivity {
    let d = parameters.len();
    let outcomes = HEADLINE
        .iter()
        .enumerate()
        .map(|(k, h)| {
            let y: Vec<f64> = points.iter().map(|p| p.outcomes[k]).collect();
            let (sobol, morris) = match method {
                Method::Sobol => (Some(sensitivity::sobol_indices(&y, samples, d, 200, seed)), None),
                Method::Morris => (None, Some(sensitivity::morris_indices(design, &y, samples, d, 200, seed))),
            };
            OutcomeIndices { outcome: h.id, label: h.label, unit: h.unit, sobol, morris }
        })
        .collect();
    Sensitivity { method, parameters, outcomes, points }
}

/// A grid over one or two parameters: `FROM:TO:STEPS` each.
#[derive(Debug, Clone)]
pub struct Axis {
    pub name: String,
    /// The registry's unit, for the chart's axis label.
    pub unit: String,
    pub values: Vec<f64>,
}

impl Axis {
    /// "theta (weight (0-1))": the parameter with its unit.
    pub fn label(&self) -> String {
        if self.unit.is_empty() { self.name.clone() } else { format!("{} ({})", self.name, self.unit) }
    }

    /// Parses `NAME=FROM:TO:STEPS`, checking the name and range against the registry.
    pub fn parse(text: &str, data: &DataSet) -> Result<Axis> {
        let bad = |expected: &str| Error::Flag { flag: "--param".into(), expected: expected.into(), found: text.into() };
        let (name, range) = text.split_once('=').ok_or_else(|| bad("NAME=FROM:TO:STEPS, e.g. theta=0.05:0.8:8"))?;
        let parts: Vec<&str> = range.split(':').collect();
        if parts.len() != 3 {
            return Err(bad("NAME=FROM:TO:STEPS, e.g. theta=0.05:0.8:8"));
        }
        let from: f64 = parts[0].trim().parse().map_err(|_| bad("a number FROM"))?;
        let to: f64 = parts[1].trim().parse().map_err(|_| bad("a number TO"))?;
        let steps: usize = parts[2].trim().parse().map_err(|_| bad("a whole number of STEPS from 2 to 200"))?;
        if !(2..=200).contains(&steps) {
            return Err(bad("a whole number of STEPS from 2 to 200"));
        }
        let name = name.trim();
        for v in [from, to] {
            data.registry.check(name, v).map_err(|(expected, found)| Error::Flag { flag: format!("--param {name}"), expected, found })?;
        }
        let values = (0..steps).map(|k| from + (to - from) * k as f64 / (steps - 1) as f64).collect();
        let unit = data.registry.get(name).map(|s| s.unit.clone()).unwrap_or_default();
        Ok(Axis { name: name.to_string(), unit, values })
    }
}

/// The points of a grid over one or two axes (the first varies slowest).
pub fn sweep_design(axes: &[Axis], base: &Values) -> Vec<(Values, Vec<f64>)> {
    let mut points: Vec<Vec<f64>> = vec![Vec::new()];
    for axis in axes {
        points = points.into_iter().flat_map(|p| axis.values.iter().map(move |&v| [p.clone(), vec![v]].concat())).collect();
    }
    points
        .into_iter()
        .map(|p| {
            let mut v = base.clone();
            for (axis, &x) in axes.iter().zip(&p) {
                v.set(&axis.name, x);
            }
            (v, p)
        })
        .collect()
}
