//! The shareshift binary: parse the command line, run, print one error or a
//! short summary, exit with a documented code (0 ok, 1 internal, 2 bad input).

mod cli;
mod progress;
mod system;

use clap::Parser;
use cli::{Cli, Command, RunArgs};
use shareshift::calibration::Options;
use shareshift::error::{Error, Result};
use shareshift::pipeline::{self, CalibrateRequest, RunReport, RunRequest};
use shareshift::scenario::RunOverrides;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

/// Set by Ctrl-C; the run stops at the next chunk of consumers. A second
/// Ctrl-C exits at once.
static CANCEL: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let _ = ctrlc::set_handler(|| {
        if CANCEL.swap(true, Ordering::SeqCst) {
            std::process::exit(130);
        }
    });
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code() as u8)
        }
    }
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        None => run_scenario(cli, &RunArgs { scenario: cli::DEFAULT_SCENARIO.into(), out: "output".into(), ..Default::default() }),
        Some(Command::Run(args)) => run_scenario(cli, args),
        Some(Command::Validate { scenario }) => {
            let (_, s, _) = pipeline::validate(scenario, &cli.data, &RunOverrides::default())?;
            if !cli.quiet {
                println!(
                    "{}: valid ({} from {}, {} months, {} replications at scale {})",
                    scenario.display(),
                    s.title,
                    s.start,
                    s.months,
                    s.replications,
                    s.scale
                );
            }
            Ok(())
        }
        Some(Command::Report { output_dir }) => {
            let n = pipeline::report(output_dir)?;
            if !cli.quiet {
                println!("rebuilt {n} chart and report files in {}", output_dir.display());
            }
            Ok(())
        }
        Some(Command::Compare { output_dirs, out }) => {
            let out = out.clone().unwrap_or_else(|| pipeline::comparison_folder(std::path::Path::new("output"), output_dirs));
            let written = pipeline::compare(output_dirs, &out)?;
            if !cli.quiet {
                println!("comparison: {}", written.join("report.html").display());
            }
            Ok(())
        }
        Some(Command::Bench { sizes, threads, samples, seconds, scenario }) => {
            bench(cli, scenario, &shareshift::bench::Plan::new(sizes, threads, *samples, *seconds, system::available_memory())?)
        }
        Some(Command::Sensitivity { common, method, samples, params }) => {
            let method = match method {
                cli::MethodArg::Morris => shareshift::analysis::Method::Morris,
                cli::MethodArg::Sobol => shareshift::analysis::Method::Sobol,
            };
            let bar = progress::Bar::new(cli.quiet);
            let out =
                pipeline::sensitivity(&analysis_request(cli, common), method, *samples, params.as_deref(), &CANCEL, &|p| bar.update(&p));
            bar.finish();
            report_folder(cli, out?)
        }
        Some(Command::Sweep { common, params }) => {
            let bar = progress::Bar::new(cli.quiet);
            let out = pipeline::sweep(&analysis_request(cli, common), params, &CANCEL, &|p| bar.update(&p));
            bar.finish();
            report_folder(cli, out?)
        }
        Some(Command::Calibrate(a)) => {
            let req = CalibrateRequest {
                baseline: a.baseline.clone(),
                data_dir: cli.data.clone(),
                options: Options {
                    scale: a.scale,
                    replications: a.replications,
                    max_iterations: a.max_iterations,
                    tolerance_pp: a.tolerance,
                },
                threads: a.threads,
            };
            let quiet = cli.quiet;
            let fit = pipeline::calibrate(&req, &|i, err| {
                if !quiet {
                    eprintln!("iteration {i}: largest share gap {err:.3} pp");
                }
            })?;
            if !cli.quiet {
                println!(
                    "calibrated in {} iterations; largest share gap {:.3} pp; wrote {}",
                    fit.iterations,
                    fit.max_share_error_pp,
                    cli.data.join("calibration.csv").display()
                );
            }
            if fit.converged {
                Ok(())
            } else {
                Err(Error::Internal(format!("calibration did not converge (largest gap {:.3} pp)", fit.max_share_error_pp)))
            }
        }
    }
}

fn run_scenario(cli: &Cli, args: &RunArgs) -> Result<()> {
    let req = RunRequest {
        scenario: args.scenario.clone(),
        data_dir: cli.data.clone(),
        out_root: args.out.clone(),
        overrides: RunOverrides { scale: args.scale, replications: args.replications, seed: args.seed },
        threads: args.threads,
        memory_limit: match args.max_memory {
            Some(gb) if !(gb > 0.0 && gb.is_finite()) => {
                return Err(Error::Flag { flag: "--max-memory".into(), expected: "a positive number of GB".into(), found: gb.to_string() });
            }
            Some(gb) => Some((gb * 1e9) as u64),
            None => system::available_memory(),
        },
        uncertainty: args.uncertainty,
    };
    let bar = progress::Bar::new(cli.quiet);
    let report = pipeline::run(&req, &CANCEL, &|p| bar.update(&p));
    bar.finish();
    let report = report?;
    if !cli.quiet {
        print_summary(&report);
    }
    Ok(())
}

fn print_summary(r: &RunReport) {
    let s = &r.scenario;
    println!(
        "{} vs {}: {} replications, scale {} shoppers per agent, {} threads, {:.1} s",
        s.title, s.baseline_name, s.replications, s.scale, r.threads, r.seconds
    );
    println!();
    println!("{:<58} {:>15} {:>10} {:>22}", "headline (scenario vs baseline)", "horizon", "mean", "90% interval");
    for h in &r.headline {
        println!(
            "{:<58} {:>15} {:>10.3} {:>22}",
            format!("{} ({})", h.label, h.unit),
            format!("{} {}", h.horizon, h.month),
            h.value.mean,
            if h.value.ci_low.is_finite() {
                format!("[{:.3}, {:.3}]", h.value.ci_low, h.value.ci_high)
            } else {
                "n/a: one replication".to_string()
            }
        );
    }
    if let Some(u) = &r.uncertainty {
        println!();
        println!(
            "with parameter uncertainty ({} draws of {} parameters, each recalibrated: largest fit gap {:.2} pp)",
            u.draws,
            u.parameters.len(),
            u.fit_gap_max_pp
        );
        println!("{:<58} {:>15} {:>10} {:>22}", "", "horizon", "median", "5th-95th percentile");
        for row in &u.rows {
            println!(
                "{:<58} {:>15} {:>10.3} {:>22}",
                format!("{} ({})", row.label, row.unit),
                row.horizon,
                row.total.mean,
                format!("[{:.3}, {:.3}]", row.total.low, row.total.high)
            );
        }
    }
    println!();
    println!("outputs: {}", r.output.display());
    println!("report:  {}", r.output.join("report.html").display());
}

/// Prints a Markdown table of throughput at each size and thread count.
fn bench(cli: &Cli, scenario: &std::path::Path, plan: &shareshift::bench::Plan) -> Result<()> {
    use shareshift::bench::{FREE_CORES, efficiencies, on_free_cores, paired_ratios, probe_ratios, run_size, spread};
    let (data, s, fitted) = pipeline::validate(scenario, &cli.data, &RunOverrides::default())?;
    println!("machine: {}; {} cores; {:.1} GB memory", system::cpu_model(), system::cores(), system::total_memory() as f64 / 1e9);
    println!(
        "layout: {} bytes per consumer in a two-arm run (traits shared, one state word per arm)",
        shareshift::bench::BYTES_PER_CONSUMER
    );
    println!(
        "method: rounds of one month per thread count, the order alternating, on the same population; at least {} rounds \
         and {} s per thread count at each size; median and 10th–90th percentile over rounds; \
         speed-up = the rounds' ratios to the first thread count; machine = the same ratio for a loop that shares nothing, \
         run right after each month; efficiency = speed-up / machine; on free cores = the speed-up over the rounds \
         where the machine's was at least {FREE_CORES} of the ratio of thread counts",
        plan.samples, plan.min_seconds
    );
    println!();
    println!(
        "| consumers | threads | agent-months timed | agent-months per second (median) | 10th–90th percentile | speed-up (10th–90th) | machine | efficiency | on free cores (rounds) | peak memory (GB) | peak bytes per consumer |"
    );
    println!("|---:|---:|---:|---:|---|---|---:|---:|---|---:|---:|");
    let before = system::resident_bytes();
    let million = |x: f64| format!("{:.1}", x / 1e6);
    for &size in &plan.sizes {
        let cases = run_size(&s, &data, &fitted, size, plan)?;
        let peak = system::peak_resident_bytes();
        for case in &cases {
            let [low, median, high] = spread(&case.rates);
            let [r_low, r_median, r_high] = spread(&paired_ratios(&cases[0], case));
            let free = on_free_cores(&cases[0], case);
            let free = match free.len() {
                0 => format!("– (0 of {})", case.rates.len()),
                n => format!("{:.2} ({n} of {})", spread(&free)[1], case.rates.len()),
            };
            println!(
                "| {} | {} | {} | {} million | {}–{} million | {:.2} ({:.2}–{:.2}) | {:.2} | {:.2} | {} | {:.2} | {:.1} |",
                case.consumers,
                case.threads,
                case.agent_steps,
                million(median),
                million(low),
                million(high),
                r_median,
                r_low,
                r_high,
                spread(&probe_ratios(&cases[0], case))[1],
                spread(&efficiencies(&cases[0], case))[1],
                free,
                peak as f64 / 1e9,
                peak.saturating_sub(before) as f64 / case.consumers as f64
            );
        }
    }
    Ok(())
}

fn analysis_request(cli: &Cli, a: &cli::AnalysisArgs) -> pipeline::AnalysisRequest {
    pipeline::AnalysisRequest {
        scenario: a.scenario.clone(),
        data_dir: cli.data.clone(),
        out: a.out.clone(),
        out_root: "output".into(),
        overrides: RunOverrides { scale: None, replications: None, seed: a.seed },
        threads: a.threads,
        scale: a.scale,
        replications: a.replications,
    }
}

fn report_folder(cli: &Cli, out: std::path::PathBuf) -> Result<()> {
    if !cli.quiet {
        println!("report: {}", out.join("report.html").display());
    }
    Ok(())
}
