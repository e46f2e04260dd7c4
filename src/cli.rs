//! The command line: what the binary accepts, nothing else.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

pub const DEFAULT_SCENARIO: &str = "scenarios/wechat_pay_on_taobao.toml";

#[derive(Parser, Debug)]
#[command(
    name = "shareshift",
    version,
    about = "Project how e-commerce and payment-app market shares move when a walled garden opens",
    long_about = "shareshift simulates China's online shoppers month by month (an agent-based model calibrated to \
                  sourced figures) and compares a scenario with its baseline using common random numbers.\n\n\
                  With no command it runs the default scenario, WeChat Pay accepted on Taobao/Tmall from 2024-09.",
    after_help = "Examples:\n  \
                  shareshift                                         run the default scenario\n  \
                  shareshift run scenarios/as_it_happened_2024.toml  WeChat Pay on Taobao and Alipay on JD\n  \
                  shareshift run scenarios/full_interoperability.toml --replications 40 --seed 7\n  \
                  shareshift run scenarios/wechat_pay_on_taobao.toml --scale 100 --threads 2 --out results\n  \
                  shareshift validate scenarios/my_scenario.toml     check a scenario without running it\n  \
                  shareshift report output/wechat_pay_on_taobao      rebuild charts and reports\n  \
                  shareshift compare output/a output/b               compare two runs\n  \
                  shareshift run SCENARIO --uncertainty 20           intervals with parameter uncertainty\n  \
                  shareshift sensitivity SCENARIO --method morris    which assumptions drive the answer\n  \
                  shareshift sweep SCENARIO --param theta=0.05:0.8:8  the answer over a parameter grid\n  \
                  shareshift calibrate                               refit data/calibration.csv"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Folder holding the data files.
    #[arg(long, global = true, default_value = "data")]
    pub data: PathBuf,
    /// Print nothing but errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Simulate a scenario against its baseline and write results.
    #[command(
        after_help = "Example:\n  shareshift run scenarios/wechat_pay_on_taobao.toml --scale 1000 --replications 20 --seed 1 --threads 2 --out output"
    )]
    Run(RunArgs),
    /// Check a scenario file (and the data) without simulating.
    #[command(after_help = "Example:\n  shareshift validate scenarios/as_it_happened_2024.toml")]
    Validate {
        /// Scenario file (TOML).
        scenario: PathBuf,
    },
    /// Rebuild the charts and reports of an output folder without simulating.
    #[command(after_help = "Example:\n  shareshift report output/wechat_pay_on_taobao")]
    Report {
        /// A folder written by `shareshift run`.
        output_dir: PathBuf,
    },
    /// Compare several runs: headline tables side by side and one line per scenario.
    #[command(
        after_help = "Example:\n  shareshift compare output/wechat_pay_on_taobao output/as_it_happened_2024 output/full_interoperability"
    )]
    Compare {
        /// Folders written by `shareshift run`.
        #[arg(required = true, num_args = 2..)]
        output_dirs: Vec<PathBuf>,
        /// Folder for the comparison (default: output/compare-<names>).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Measure agent-months per second, bytes per consumer and peak memory.
    #[command(after_help = "Example:\n  shareshift bench --sizes 1000000,10000000,100000000 --threads 1,2 --samples 7 --seconds 3")]
    Bench {
        /// Population sizes (agents), ascending.
        #[arg(long, value_delimiter = ',', default_value = "1000000,10000000,100000000")]
        sizes: Vec<u64>,
        /// Thread counts to compare.
        #[arg(long, value_delimiter = ',', default_value = "1,2")]
        threads: Vec<usize>,
        /// Fewest rounds per size; in a round every thread count steps one month.
        #[arg(long, default_value_t = 7)]
        samples: usize,
        /// Least time in seconds each thread count is timed at each size, over all its rounds.
        #[arg(long, default_value_t = 3.0)]
        seconds: f64,
        /// Scenario whose model is measured.
        #[arg(long, default_value = DEFAULT_SCENARIO)]
        scenario: PathBuf,
    },
    /// Which assumptions drive the answer: Morris or Sobol indices of the headline outcomes.
    #[command(
        after_help = "Examples:\n  shareshift sensitivity scenarios/wechat_pay_on_taobao.toml\n  shareshift sensitivity scenarios/wechat_pay_on_taobao.toml --method sobol --samples 64 --params theta,kappa_median,b_stick,averse_share"
    )]
    Sensitivity {
        #[command(flatten)]
        common: AnalysisArgs,
        /// morris (screening, cheap) or sobol (variance shares).
        #[arg(long, value_enum, default_value = "morris")]
        method: MethodArg,
        /// Morris trajectories, or Sobol base samples (a power of two is best).
        #[arg(long, default_value_t = 10)]
        samples: usize,
        /// Parameters to vary (default: every one with a plausible range).
        #[arg(long, value_delimiter = ',')]
        params: Option<Vec<String>>,
    },
    /// The headline outcomes over a grid of one or two parameters.
    #[command(
        after_help = "Examples:\n  shareshift sweep scenarios/wechat_pay_on_taobao.toml --param theta=0.05:0.8:8\n  shareshift sweep scenarios/wechat_pay_on_taobao.toml --param theta=0.05:0.8:5 --param kappa_median=0.3:3:5"
    )]
    Sweep {
        #[command(flatten)]
        common: AnalysisArgs,
        /// NAME=FROM:TO:STEPS; once or twice.
        #[arg(long = "param", required = true)]
        params: Vec<String>,
    },
    /// Refit the calibrated constants and write data/calibration.csv and a fit report.
    #[command(after_help = "Example:\n  shareshift calibrate --scale 1000 --replications 4")]
    Calibrate(CalibrateArgs),
}

#[derive(clap::Args, Debug, Default)]
pub struct RunArgs {
    /// Scenario file (TOML).
    #[arg(default_value = DEFAULT_SCENARIO)]
    pub scenario: PathBuf,
    /// Real online shoppers per agent (1 = one agent per shopper).
    #[arg(long)]
    pub scale: Option<f64>,
    /// Independent replications (each a new population and new draws).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Master random seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Folder that receives <scenario name>/.
    #[arg(long, default_value = "output")]
    pub out: PathBuf,
    /// Memory the run may use, GB (default: what the machine has available).
    #[arg(long)]
    pub max_memory: Option<f64>,
    /// Also draw N parameter sets from the priors (Latin hypercube), recalibrate
    /// and simulate each, and report intervals that include parameter uncertainty.
    #[arg(long, default_value_t = 0)]
    pub uncertainty: usize,
}

/// Settings shared by `sensitivity` and `sweep`.
#[derive(clap::Args, Debug)]
pub struct AnalysisArgs {
    /// Scenario file (TOML).
    pub scenario: PathBuf,
    /// Real shoppers per agent at each point (default: ten times the scenario's).
    #[arg(long)]
    pub scale: Option<f64>,
    /// Replications per point (default 4).
    #[arg(long)]
    pub replications: Option<u32>,
    /// Master seed (common to every point).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Output folder (default: output/<scenario>-sensitivity-<method> or -sweep-<names>).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// Baseline scenario whose first month is fitted.
    #[arg(long, default_value = "scenarios/baseline.toml")]
    pub baseline: PathBuf,
    /// Real shoppers per agent during the fit.
    #[arg(long, default_value_t = 1000.0)]
    pub scale: f64,
    /// Replications averaged in each iteration.
    #[arg(long, default_value_t = 4)]
    pub replications: u32,
    /// Most iterations of the contraction.
    #[arg(long, default_value_t = 60)]
    pub max_iterations: u32,
    /// Stop when every share target is within this many percentage points.
    #[arg(long, default_value_t = 0.05)]
    pub tolerance: f64,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum MethodArg {
    Morris,
    Sobol,
}
