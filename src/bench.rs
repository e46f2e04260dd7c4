//! The speed benchmark behind `shareshift bench`: agent-months per second of
//! the default scenario's model, with every mechanism on, at several
//! population sizes and thread counts, each measured in the same run.

use crate::data::DataSet;
use crate::error::{Error, Result};
use crate::experiment::{Setup, time_steps};
use crate::params::Fitted;
use crate::scenario::Scenario;
use serde::Serialize;

/// Bytes of state per consumer in a two-arm run: traits (shared) and one
/// state word per arm.
pub const BYTES_PER_CONSUMER: usize =
    std::mem::size_of::<crate::population::Traits>() + 2 * std::mem::size_of::<crate::population::State>();

/// Untimed months before timing starts.
pub const WARM_UP: u32 = 3;

#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub consumers: u64,
    pub threads: usize,
    pub months: u32,
    pub agent_steps: u64,
    pub seconds: f64,
    pub steps_per_second: f64,
}

/// The scale that gives about `consumers` agents at the start of `scenario`.
pub fn scale_for(scenario: &Scenario, data: &DataSet, fitted: &Fitted, consumers: u64) -> Result<f64> {
    let mut s = scenario.clone();
    s.scale = 1.0;
    s.months = 1;
    let setup = Setup::new(&s, data, fitted.clone())?;
    let shoppers: u64 = setup.schedule.active[0].iter().map(|&n| n as u64).sum();
    Ok((shoppers as f64 / consumers.max(1) as f64).max(1.0))
}

/// Times `months` steps of about `consumers` agents on `threads` threads.
pub fn run_case(scenario: &Scenario, data: &DataSet, fitted: &Fitted, consumers: u64, threads: usize, months: u32) -> Result<Case> {
    let mut s = scenario.clone();
    s.scale = scale_for(scenario, data, fitted, consumers)?;
    let setup = Setup::new(&s, data, fitted.clone())?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().map_err(|e| Error::Internal(format!("thread pool: {e}")))?;
    let (agent_steps, seconds) = pool.install(|| time_steps(&setup, s.seed, WARM_UP, months));
    let agents: u64 = setup.schedule.active[0].iter().map(|&n| n as u64).sum();
    Ok(Case { consumers: agents, threads, months, agent_steps, seconds, steps_per_second: agent_steps as f64 / seconds.max(1e-9) })
}
