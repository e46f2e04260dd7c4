//! The shareshift binary: parse the command line, run, print one error or a
//! short summary, exit with a documented code (0 ok, 1 internal, 2 bad input).

mod cli;
mod progress;

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
            format!("[{:.3}, {:.3}]", h.value.ci_low, h.value.ci_high)
        );
    }
    println!();
    println!("outputs: {}", r.output.display());
    println!("report:  {}", r.output.join("report.html").display());
}
