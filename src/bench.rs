//! The speed benchmark behind `shareshift bench`: agent-months per second of
//! the default scenario's model, with every mechanism on, at several
//! population sizes and thread counts, each measured in the same run.

use crate::data::DataSet;
use crate::error::{Error, Result};
use crate::experiment::{Setup, with_monthly_step};
use crate::params::Fitted;
use crate::scenario::Scenario;
use serde::Serialize;

/// Bytes of state per consumer in a two-arm run: traits (shared) and one
/// state word per arm.
pub const BYTES_PER_CONSUMER: usize =
    std::mem::size_of::<crate::population::Traits>() + 2 * std::mem::size_of::<crate::population::State>();

/// Bytes of state per agent in a bench case: traits and one arm's state.
const BYTES_PER_AGENT: u64 = (std::mem::size_of::<crate::population::Traits>() + std::mem::size_of::<crate::population::State>()) as u64;

/// Room for the month's tables, chunk sums and the thread pools.
const MARGIN_BYTES: u64 = 256 << 20;

/// Refuses a size whose population (`agents`, entrants over the horizon
/// included, for about `consumers` at the start) would not fit in `limit`
/// bytes, naming the largest size that would.
pub fn check_memory(consumers: u64, agents: u64, limit: u64) -> Result<()> {
    let needed = agents * BYTES_PER_AGENT + MARGIN_BYTES;
    if needed <= limit {
        return Ok(());
    }
    let per_consumer = agents as f64 * BYTES_PER_AGENT as f64 / consumers.max(1) as f64;
    let largest = (limit.saturating_sub(MARGIN_BYTES) as f64 / per_consumer).floor() as u64;
    Err(Error::Resources(format!(
        "bench with {consumers} consumers needs about {} of memory but {} is available; the largest size that fits is about {largest} (--sizes)",
        crate::pipeline::gb(needed as f64),
        crate::pipeline::gb(limit as f64)
    )))
}

/// Untimed months before timing starts, so that habits, main platforms and
/// wallets last used have formed.
pub const WARM_UP: u32 = 3;

/// What `bench` measures: each size with each thread count, in `samples`
/// rounds; in a round, one sample per thread count, each stepping whole
/// months until `min_seconds` have passed.
#[derive(Debug, Clone)]
pub struct Plan {
    pub sizes: Vec<u64>,
    pub threads: Vec<usize>,
    pub samples: usize,
    pub min_seconds: f64,
    /// Bytes a size may use (the memory available), if known.
    pub memory_limit: Option<u64>,
}

impl Plan {
    /// Checks the `bench` flags.
    pub fn new(sizes: &[u64], threads: &[usize], samples: usize, min_seconds: f64, memory_limit: Option<u64>) -> Result<Plan> {
        let flag = |flag: &str, expected: &str, found: String| Error::Flag { flag: flag.into(), expected: expected.into(), found };
        let list = |x: &[u64]| x.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        if sizes.is_empty() || sizes.contains(&0) {
            return Err(flag("--sizes", "population sizes of at least 1 agent", list(sizes)));
        }
        if threads.is_empty() || threads.contains(&0) {
            let found: Vec<u64> = threads.iter().map(|&t| t as u64).collect();
            return Err(flag("--threads", "thread counts of at least 1", list(&found)));
        }
        if samples == 0 {
            return Err(flag("--samples", "at least 1", "0".into()));
        }
        if !(min_seconds > 0.0 && min_seconds <= 3600.0) {
            return Err(flag("--seconds", "seconds above 0 and at most 3600", min_seconds.to_string()));
        }
        Ok(Plan { sizes: sizes.to_vec(), threads: threads.to_vec(), samples, min_seconds, memory_limit })
    }
}

/// One thread count at one size: every sample's rate and their median.
#[derive(Debug, Clone, Serialize)]
pub struct Case {
    pub consumers: u64,
    pub threads: usize,
    /// Months timed over all samples.
    pub months: u32,
    pub agent_steps: u64,
    pub seconds: f64,
    /// Agent-months per second of each sample, in the order taken.
    pub rates: Vec<f64>,
    /// The median of `rates`.
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

/// Times about `consumers` agents with each of `threads`. All thread counts
/// step the same population in turn, round after round, and the order
/// within a round alternates: load from other processes that comes and goes
/// then falls on every thread count alike, so the ratios between them (the
/// speed-up) are measured under the same conditions. Results do not depend
/// on the thread count, so the turns continue one trajectory.
pub fn run_size(scenario: &Scenario, data: &DataSet, fitted: &Fitted, consumers: u64, plan: &Plan) -> Result<Vec<Case>> {
    let threads = &plan.threads;
    let mut s = scenario.clone();
    s.scale = scale_for(scenario, data, fitted, consumers)?;
    let setup = Setup::new(&s, data, fitted.clone())?;
    if let Some(limit) = plan.memory_limit {
        check_memory(consumers, setup.agents(), limit)?;
    }
    let pools = threads
        .iter()
        .map(|&t| rayon::ThreadPoolBuilder::new().num_threads(t).build().map_err(|e| Error::Internal(format!("thread pool: {e}"))))
        .collect::<Result<Vec<_>>>()?;
    let agents: u64 = setup.schedule.active[0].iter().map(|&n| n as u64).sum();
    let mut cases: Vec<Case> = threads
        .iter()
        .map(|&t| Case { consumers: agents, threads: t, months: 0, agent_steps: 0, seconds: 0.0, rates: Vec::new(), steps_per_second: 0.0 })
        .collect();
    with_monthly_step(&setup, s.seed, |step| {
        let mut month = 0;
        let widest = pools.iter().max_by_key(|p| p.current_num_threads());
        for _ in 0..WARM_UP {
            widest.map(|p| p.install(|| step(month)));
            month += 1;
        }
        for round in 0..plan.samples {
            for k in 0..pools.len() {
                let k = if round % 2 == 0 { k } else { pools.len() - 1 - k };
                let clock = std::time::Instant::now();
                let (mut months, mut steps) = (0, 0);
                while months == 0 || clock.elapsed().as_secs_f64() < plan.min_seconds {
                    steps += pools[k].install(|| step(month));
                    month += 1;
                    months += 1;
                }
                let seconds = clock.elapsed().as_secs_f64();
                let case = &mut cases[k];
                case.months += months;
                case.agent_steps += steps;
                case.seconds += seconds;
                case.rates.push(steps as f64 / seconds.max(1e-9));
            }
        }
    });
    for case in &mut cases {
        case.steps_per_second = median(&case.rates);
    }
    Ok(cases)
}

pub fn median(x: &[f64]) -> f64 {
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    crate::stats::percentile(&sorted, 0.5)
}

/// Smallest and largest value.
pub fn range(x: &[f64]) -> (f64, f64) {
    x.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)))
}

/// Round by round, `case`'s rate over `base`'s: samples of the same round
/// were taken back to back, so each ratio compares like with like.
pub fn paired_ratios(base: &Case, case: &Case) -> Vec<f64> {
    base.rates.iter().zip(&case.rates).map(|(b, c)| c / b).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_that_does_not_fit_is_refused_with_the_largest_that_does() {
        // 100 million consumers, 110 million agents with entrants: 880 MB of
        // state and the margin.
        let (consumers, agents) = (100_000_000, 110_000_000);
        assert!(check_memory(consumers, agents, 2_000_000_000).is_ok());
        let Err(Error::Resources(message)) = check_memory(consumers, agents, 600_000_000) else { panic!("refused") };
        // (600 MB - 256 MiB) / 8.8 bytes per consumer.
        let largest = ((600_000_000u64 - (256 << 20)) as f64 / 8.8).floor() as u64;
        assert!(message.contains(&format!("the largest size that fits is about {largest}")), "{message}");
        assert!(message.contains("bench with 100000000 consumers needs about 1.15 GB"), "{message}");
        assert!(check_memory(largest, largest * 11 / 10, 600_000_000).is_ok(), "the size named fits");
    }
}
