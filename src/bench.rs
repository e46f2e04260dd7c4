//! The speed benchmark behind `shareshift bench`: agent-months per second of
//! the default scenario's model, with every mechanism on, at several
//! population sizes and thread counts, each measured in the same run.

use crate::data::DataSet;
use crate::error::{Error, Result};
use crate::experiment::{Setup, active_total, with_monthly_step};
use crate::params::Fitted;
use crate::scenario::Scenario;

/// Bytes of state per consumer in a two-arm run: traits (shared) and one
/// state word per arm.
pub const BYTES_PER_CONSUMER: usize =
    std::mem::size_of::<crate::population::Traits>() + 2 * std::mem::size_of::<crate::population::State>();

/// Bytes of state per agent in a bench case: traits and one arm's state.
const BYTES_PER_AGENT: u64 = (std::mem::size_of::<crate::population::Traits>() + std::mem::size_of::<crate::population::State>()) as u64;

/// Room for the month's tables, chunk sums, the thread pools and (in a run)
/// the rendered files: the working memory beside the consumers' state.
pub const MARGIN_BYTES: u64 = 256 << 20;

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

/// What `bench` measures: each size with each thread count, round after
/// round; in a round every thread count steps one month. Rounds go on until
/// there are at least `samples` of them and every thread count has been
/// timed for at least `min_seconds` in all.
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

/// One thread count at one size: the rate of every month timed.
#[derive(Debug, Clone)]
pub struct Case {
    pub consumers: u64,
    pub threads: usize,
    pub agent_steps: u64,
    pub seconds: f64,
    /// Agent-months per second of each round's month, in the order taken.
    pub rates: Vec<f64>,
    /// The machine's rate for the same thread count right after each of
    /// those months, in additions per second of a loop that shares nothing
    /// (`probe_rate`).
    pub probe_rates: Vec<f64>,
}

/// The scale that gives about `consumers` agents at the start of `scenario`.
pub fn scale_for(scenario: &Scenario, data: &DataSet, fitted: &Fitted, consumers: u64) -> Result<f64> {
    let mut s = scenario.clone();
    s.scale = 1.0;
    s.months = 1;
    let setup = Setup::new(&s, data, fitted.clone())?;
    let shoppers = active_total(&setup.schedule.active[0]);
    Ok((shoppers as f64 / consumers.max(1) as f64).max(1.0))
}

/// Times about `consumers` agents with each of `threads`. All thread counts
/// step the same population in turn, one month each, and the order within a
/// round alternates. On a shared machine each core's speed changes within
/// milliseconds as other tenants come and go; months stepped back to back
/// see conditions as alike as can be had, and after each month the machine's
/// own speed at that moment is measured (`probe_rate`), so the speed-up can
/// be set against what the cores gave. Results do not depend on the thread
/// count, so the turns continue one trajectory.
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
    let agents = active_total(&setup.schedule.active[0]);
    let mut cases: Vec<Case> = threads
        .iter()
        .map(|&t| Case { consumers: agents, threads: t, agent_steps: 0, seconds: 0.0, rates: Vec::new(), probe_rates: Vec::new() })
        .collect();
    with_monthly_step(&setup, s.seed, |step| {
        let mut month = 0;
        let widest = pools.iter().max_by_key(|p| p.current_num_threads());
        for _ in 0..WARM_UP {
            widest.map(|p| p.install(|| step(month)));
            month += 1;
        }
        let mut round = 0;
        while round < plan.samples || cases.iter().any(|c| c.seconds < plan.min_seconds) {
            for k in 0..pools.len() {
                let k = if round % 2 == 0 { k } else { pools.len() - 1 - k };
                let clock = std::time::Instant::now();
                let steps = pools[k].install(|| step(month));
                let seconds = clock.elapsed().as_secs_f64();
                month += 1;
                let case = &mut cases[k];
                case.agent_steps += steps;
                case.seconds += seconds;
                case.rates.push(steps as f64 / seconds.max(1e-9));
                case.probe_rates.push(probe_rate(&pools[k], seconds.min(PROBE_SECONDS)));
            }
            round += 1;
        }
    });
    Ok(cases)
}

/// The 10th percentile, the median and the 90th percentile: the middle of
/// the rounds without the few that another tenant's burst landed on.
pub fn spread(x: &[f64]) -> [f64; 3] {
    let mut sorted = x.to_vec();
    sorted.sort_by(f64::total_cmp);
    [0.1, 0.5, 0.9].map(|q| crate::stats::percentile(&sorted, q))
}

/// Round by round, `case`'s rate over `base`'s: samples of the same round
/// were taken back to back, so each ratio compares like with like.
pub fn paired_ratios(base: &Case, case: &Case) -> Vec<f64> {
    base.rates.iter().zip(&case.rates).map(|(b, c)| c / b).collect()
}

/// Round by round, the machine's own speed-up from `base`'s thread count to
/// `case`'s: what a loop that shares nothing gains.
pub fn probe_ratios(base: &Case, case: &Case) -> Vec<f64> {
    base.probe_rates.iter().zip(&case.probe_rates).map(|(b, c)| c / b).collect()
}

/// Round by round, the model's speed-up as a share of the machine's: what
/// the model loses to its own serial work and shared caches, apart from
/// what other tenants take from the cores.
pub fn efficiencies(base: &Case, case: &Case) -> Vec<f64> {
    paired_ratios(base, case).iter().zip(probe_ratios(base, case)).map(|(model, machine)| model / machine).collect()
}

/// The machine's speed-up, as a share of the ratio of thread counts, at or
/// above which a round counts as run on free cores.
pub const FREE_CORES: f64 = 0.95;

/// The model's speed-up in the rounds where the machine gave (nearly) all
/// the cores asked for: what the program itself achieves, with the moments
/// when another tenant held part of a core left out.
pub fn on_free_cores(base: &Case, case: &Case) -> Vec<f64> {
    let asked = case.threads as f64 / base.threads as f64;
    paired_ratios(base, case)
        .into_iter()
        .zip(probe_ratios(base, case))
        .filter(|&(_, machine)| machine >= FREE_CORES * asked)
        .map(|(model, _)| model)
        .collect()
}

/// Additions between looks at the clock: a few microseconds.
const PROBE_STRIDE: u64 = 10_000;

/// The longest probe. Other tenants take a core for milliseconds at a time;
/// a probe as long as the month it follows, up to this, sees the same mix.
const PROBE_SECONDS: f64 = 0.25;

/// A chain of additions in one register: no memory, nothing shared between
/// threads, so its rate shows only how much of each core the machine gives.
#[inline(never)]
fn spin(additions: u64) -> u64 {
    (0..additions).fold(1u64, |x, i| std::hint::black_box(x.wrapping_add(i)))
}

/// Additions per second of `spin` on every thread of `pool` at once, for
/// about `seconds`. On a machine shared with other tenants one core may be
/// slowed while the other is not, and a single thread may run at a higher
/// clock than two: this is the speed-up any program could get at that
/// moment.
fn probe_rate(pool: &rayon::ThreadPool, seconds: f64) -> f64 {
    let clock = std::time::Instant::now();
    let additions: u64 = pool
        .broadcast(|_| {
            let mut done = 0;
            while done == 0 || clock.elapsed().as_secs_f64() < seconds {
                std::hint::black_box(spin(PROBE_STRIDE));
                done += PROBE_STRIDE;
            }
            done
        })
        .into_iter()
        .sum();
    additions as f64 / clock.elapsed().as_secs_f64().max(1e-9)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(threads: usize, rates: &[f64], probe_rates: &[f64]) -> Case {
        Case { consumers: 1, threads, agent_steps: 0, seconds: 0.0, rates: rates.to_vec(), probe_rates: probe_rates.to_vec() }
    }

    #[test]
    fn the_speed_up_on_free_cores_keeps_the_rounds_where_the_machine_gave_both_cores() {
        let one = case(1, &[10.0, 10.0, 10.0, 10.0], &[100.0, 100.0, 100.0, 100.0]);
        // The machine's speed-up by round: 1.95, 1.5, 1.9 (at the 0.95 x 2
        // threshold), 1.0; the model's: 1.8, 1.2, 2.0, 1.1.
        let two = case(2, &[18.0, 12.0, 20.0, 11.0], &[195.0, 150.0, 190.0, 100.0]);
        let free = on_free_cores(&one, &two);
        assert_eq!(free.len(), 2, "{free:?}");
        assert!((free[0] - 1.8).abs() < 1e-12 && (free[1] - 2.0).abs() < 1e-12, "{free:?}");
        let efficiency = efficiencies(&one, &two);
        assert!((efficiency[1] - 1.2 / 1.5).abs() < 1e-12, "{efficiency:?}");
        // Against itself every round counts.
        assert_eq!(on_free_cores(&one, &one), vec![1.0; 4]);
    }

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
