//! The whole path of a run, top to bottom: load data and scenario, validate,
//! prepare the output folder, simulate, summarise, write.
//!
//! The binary calls these functions with a progress callback and a
//! cancellation flag; nothing here prints.

use crate::analysis::{self, Axis, Evaluator, Method, Settings, Space};
use crate::calibration::{self, Fit, Options};
use crate::data::{CALIBRATION_FILE, DataSet};
use crate::error::{Error, Result};
use crate::experiment::{self, Progress, Setup};
use crate::output::{self, Manifest, OutputDir};
use crate::params::{Fitted, check_registry_complete};
use crate::report;
use crate::scenario::{self, RunOverrides, Scenario};
use crate::summary::{self, HeadlineRow};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

pub struct RunRequest {
    pub scenario: PathBuf,
    pub data_dir: PathBuf,
    /// Folder that receives `<scenario name>/`.
    pub out_root: PathBuf,
    pub overrides: RunOverrides,
    pub threads: Option<usize>,
    /// Memory the run may use, bytes (the binary passes what the machine has
    /// available); a run that needs more is refused before it starts.
    pub memory_limit: Option<u64>,
    /// Parameter draws for the uncertainty intervals (0: none).
    pub uncertainty: usize,
}

pub struct RunReport {
    pub scenario: Scenario,
    pub output: PathBuf,
    pub headline: Vec<HeadlineRow>,
    pub seconds: f64,
    pub agent_steps: u64,
    pub threads: usize,
    /// The spread parameter uncertainty adds (`--uncertainty N`), as reported.
    pub uncertainty: Option<report::Uncertainty>,
}

/// Loads and checks data and scenario without simulating.
pub fn validate(scenario_path: &Path, data_dir: &Path, overrides: &RunOverrides) -> Result<(DataSet, Scenario, Fitted)> {
    let data = DataSet::load(data_dir)?;
    check_registry_complete(&data.registry.defaults(), &data_dir.join("parameters.csv"))?;
    let scenario = scenario::load(scenario_path, &data, overrides)?;
    let fitted = Fitted::from_calibration(data.calibration()?)?;
    // Building the setup reads every figure the run will use.
    Setup::new(&scenario, &data, fitted.clone())?;
    Ok((data, scenario, fitted))
}

fn thread_pool(threads: Option<usize>) -> Result<rayon::ThreadPool> {
    if threads == Some(0) {
        return Err(Error::Flag { flag: "--threads".into(), expected: "a number of threads of at least 1".into(), found: "0".into() });
    }
    let mut b = rayon::ThreadPoolBuilder::new();
    if let Some(n) = threads {
        b = b.num_threads(n);
    }
    b.build().map_err(|e| Error::Internal(format!("cannot start worker threads: {e}")))
}

pub fn run(req: &RunRequest, cancel: &AtomicBool, progress: &(dyn Fn(Progress) + Sync)) -> Result<RunReport> {
    let clock = Instant::now();
    let mut timings = BTreeMap::new();
    let (data, scenario, fitted) = validate(&req.scenario, &req.data_dir, &req.overrides)?;
    let pool = thread_pool(req.threads)?;
    let setup = Setup::new(&scenario, &data, fitted.clone())?;
    if let Some(limit) = req.memory_limit {
        check_memory(&scenario, &setup, limit)?;
    }
    let out = OutputDir::prepare(&req.out_root.join(&scenario.name))?;
    timings.insert("setup", clock.elapsed().as_secs_f64());
    let sim_clock = Instant::now();
    let results = pool.install(|| experiment::run(&scenario, &setup, cancel, progress))?;
    timings.insert("simulation", sim_clock.elapsed().as_secs_f64());
    let write_clock = Instant::now();
    let headline = summary::headline(&results, setup.divergence);
    let cells: Vec<(usize, bool)> = setup.geo.cells.iter().map(|c| (c.province, c.rural)).collect();
    let regional = summary::regional(&results, setup.divergence, &setup.geo.province_names, &cells);
    out.write("national.csv", &output::render_national(&results)?)?;
    out.write("segments.csv", &output::render_segments(&results)?)?;
    out.write("regional.csv", &output::render_regional(&results, &setup)?)?;
    out.write("headline.csv", &output::render_headline(&headline)?)?;
    out.write("regional_effects.csv", &output::render_regional_effects(&regional)?)?;
    let fit = calibration::fit_rows(&calibration::moments(&results), &setup.params.targets, &data);
    out.write("fit.csv", &output::render_fit(&fit)?)?;
    out.write("assumptions.csv", &output::render_assumptions(&data.registry, &scenario.values)?)?;
    if req.uncertainty > 0 {
        let space = Space::new(&data, &scenario, None)?;
        let design = analysis::uncertainty_design(&space, &scenario.values, req.uncertainty, scenario.seed);
        let settings = Settings::for_scenario(&scenario);
        let (scale, replications) = (settings.scale, settings.replications);
        let evaluator = Evaluator { data: &data, scenario: scenario.clone(), start: fitted, settings, cancel };
        let points =
            pool.install(|| evaluator.evaluate_all(&design, &|done, total| progress(points_progress("parameter draws", done, total))))?;
        out.write("uncertainty.csv", &output::render_points("draw", &space.names(), &points, scale, replications)?)?;
        timings.insert("uncertainty", write_clock.elapsed().as_secs_f64());
    }
    timings.insert("writing", write_clock.elapsed().as_secs_f64());
    timings.insert("total", clock.elapsed().as_secs_f64());
    let manifest = Manifest {
        shareshift_version: env!("CARGO_PKG_VERSION"),
        scenario_name: &scenario.name,
        scenario_file: scenario.file.display().to_string(),
        scenario_sha256: output::scenario_hash(&scenario),
        seed: scenario.seed,
        replications: scenario.replications,
        scale: scenario.scale,
        threads: pool.current_num_threads(),
        agents_per_replication: setup.agents(),
        agent_steps: results.agent_steps,
        first_divergent_month: setup.divergence.map(|t| setup.months[t as usize].to_string()),
        data_sha256: &data.file_hashes,
        timings_seconds: timings,
        scenario: &scenario,
    };
    let manifest = output::render_manifest(&manifest)?;
    // The reports are built from the files just written, exactly as
    // `shareshift report` rebuilds them later. The manifest is written last,
    // so a folder holding one is complete even if a kill left it unrenamed.
    let summary = report::load::load_with_manifest(out.temp_path(), &manifest)?;
    for (path, bytes) in report::write::run_report(&summary)? {
        out.write(&path, &bytes)?;
    }
    out.write("manifest.json", &manifest)?;
    let output = out.commit()?;
    Ok(RunReport {
        output,
        headline,
        seconds: clock.elapsed().as_secs_f64(),
        agent_steps: results.agent_steps,
        threads: pool.current_num_threads(),
        uncertainty: summary.uncertainty,
        scenario,
    })
}

pub struct CalibrateRequest {
    pub baseline: PathBuf,
    pub data_dir: PathBuf,
    pub options: Options,
    pub threads: Option<usize>,
}

/// Fits the calibrated values and writes them, with a fit report, into the
/// data folder (each file replaced only once complete).
pub fn calibrate(req: &CalibrateRequest, progress: &(dyn Fn(u32, f64) + Sync)) -> Result<Fit> {
    let data = DataSet::load(&req.data_dir)?;
    check_registry_complete(&data.registry.defaults(), &req.data_dir.join("parameters.csv"))?;
    let scenario = scenario::load(&req.baseline, &data, &RunOverrides::default())?;
    let start = match &data.calibration {
        Some(c) => Fitted::from_calibration(c).ok(),
        None => None,
    };
    let pool = thread_pool(req.threads)?;
    let fit = pool.install(|| calibration::calibrate(&data, &scenario, &req.options, start, progress))?;
    let mut check_scenario = scenario.clone();
    check_scenario.scale = req.options.scale;
    check_scenario.replications = req.options.replications;
    let check = pool.install(|| calibration::simulate(&check_scenario, &data, fit.fitted.clone(), scenario.months))?;
    let report = crate::calibration::render_report(&fit, &scenario, &req.options, &check);
    write_atomically(&req.data_dir.join(CALIBRATION_FILE), &calibration::render_calibration(&fit))?;
    write_atomically(&req.data_dir.join("calibration_report.md"), report.as_bytes())?;
    Ok(fit)
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(|e| Error::output(&tmp, format!("cannot write: {e}")))?;
    std::fs::rename(&tmp, path).map_err(|e| Error::output(path, format!("cannot replace: {e}")))
}

/// Rebuilds the charts and reports of an existing output folder without
/// simulating; each file is replaced only once written in full.
pub fn report(dir: &Path) -> Result<usize> {
    let summary = report::load::load(dir)?;
    let files = report::write::run_report(&summary)?;
    for (path, bytes) in &files {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::output(parent, format!("cannot create: {e}")))?;
        }
        write_atomically(&target, bytes)?;
    }
    Ok(files.len())
}

/// Writes a report comparing several output folders into `out`.
pub fn compare(dirs: &[PathBuf], out: &Path) -> Result<PathBuf> {
    if dirs.len() < 2 {
        return Err(Error::Flag {
            flag: "OUTPUT_DIR".into(),
            expected: "at least two output folders to compare".into(),
            found: dirs.len().to_string(),
        });
    }
    let summaries = dirs.iter().map(|d| report::load::load(d)).collect::<Result<Vec<_>>>()?;
    let folder = OutputDir::prepare(out)?;
    for (path, bytes) in report::write::comparison_report(&summaries)? {
        folder.write(&path, &bytes)?;
    }
    folder.commit()
}

/// The default folder of a comparison: `output/compare-<a>-<b>...`.
pub fn comparison_folder(root: &Path, dirs: &[PathBuf]) -> PathBuf {
    let names: Vec<String> = dirs.iter().map(|d| d.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()).collect();
    root.join(format!("compare-{}", names.join("-")))
}

/// Memory a run needs, bytes: every consumer's traits and two arms' state,
/// the stored results, and a margin for tables, chunk sums and the rendered
/// files.
pub fn memory_needed(scenario: &Scenario, setup: &Setup) -> u64 {
    let consumers = setup.agents() * crate::bench::BYTES_PER_CONSUMER as u64;
    let results = scenario.replications as u64 * 2 * setup.months.len() as u64 * setup.groups.len() as u64 * 64 * 8;
    consumers + 2 * results + crate::bench::MARGIN_BYTES
}

/// Refuses a run that would not fit in `limit` bytes, naming the largest
/// population (smallest `--scale`) that would.
fn check_memory(scenario: &Scenario, setup: &Setup, limit: u64) -> Result<()> {
    let needed = memory_needed(scenario, setup);
    if needed <= limit {
        return Ok(());
    }
    let per_scale = setup.agents() as f64 * scenario.scale * crate::bench::BYTES_PER_CONSUMER as f64;
    let fixed = (needed - setup.agents() * crate::bench::BYTES_PER_CONSUMER as u64) as f64;
    let room = limit as f64 - fixed;
    let smallest = if room > 0.0 {
        format!("--scale {}", (per_scale / room).ceil().max(scenario.scale.ceil() + 1.0))
    } else {
        format!("none: results and working memory alone need {} (fewer --replications or months need less)", gb(fixed))
    };
    Err(Error::Resources(format!(
        "the run needs about {} of memory ({} consumers at scale {}) but {} is available; the largest population that fits is {smallest}",
        gb(needed as f64),
        setup.agents(),
        scenario.scale,
        gb(limit as f64)
    )))
}

/// Progress of an analysis, as the run's progress type: points done of total.
fn points_progress(what: &'static str, done: usize, total: usize) -> Progress {
    Progress {
        replication: done.saturating_sub(1) as u32,
        replications: total as u32,
        arm: what,
        month: None,
        month_done: 1,
        months_per_replication: 1,
        agent_steps: 0,
    }
}

/// What `sensitivity` and `sweep` need besides their design.
pub struct AnalysisRequest {
    pub scenario: PathBuf,
    pub data_dir: PathBuf,
    pub out: Option<PathBuf>,
    pub out_root: PathBuf,
    pub overrides: RunOverrides,
    pub threads: Option<usize>,
    /// Scale and replications of each point (default: `Settings::for_scenario`).
    pub scale: Option<f64>,
    pub replications: Option<u32>,
}

/// Loads what an analysis needs and the settings of its points.
fn analysis_setup(req: &AnalysisRequest) -> Result<(DataSet, Scenario, Fitted, Settings, rayon::ThreadPool)> {
    let (data, scenario, fitted) = validate(&req.scenario, &req.data_dir, &req.overrides)?;
    let mut settings = Settings::for_scenario(&scenario);
    if let Some(v) = req.scale {
        if !(v.is_finite() && v >= 1.0) {
            return Err(Error::Flag {
                flag: "--scale".into(),
                expected: "real shoppers per agent, a number of at least 1".into(),
                found: v.to_string(),
            });
        }
        settings.scale = v;
    }
    if let Some(v) = req.replications {
        if v == 0 {
            return Err(Error::Flag { flag: "--replications".into(), expected: "at least 1".into(), found: "0".into() });
        }
        settings.replications = v;
    }
    Ok((data, scenario, fitted, settings, thread_pool(req.threads)?))
}

fn analysis_meta(scenario: &Scenario, settings: &Settings, points: usize, seconds: f64) -> report::analysis::AnalysisMeta {
    report::analysis::AnalysisMeta {
        scenario_name: scenario.name.clone(),
        title: scenario.title.clone(),
        version: env!("CARGO_PKG_VERSION").into(),
        seed: scenario.seed,
        scale: settings.scale,
        replications: settings.replications,
        points,
        seconds,
    }
}

/// Global sensitivity of the headline outcomes: indices, tornado charts and
/// a report in a folder of its own.
pub fn sensitivity(
    req: &AnalysisRequest,
    method: Method,
    samples: usize,
    params: Option<&[String]>,
    cancel: &AtomicBool,
    progress: &(dyn Fn(Progress) + Sync),
) -> Result<PathBuf> {
    let clock = Instant::now();
    if samples < 2 {
        return Err(Error::Flag {
            flag: "--samples".into(),
            expected: "at least 2 (Morris trajectories or Sobol base samples; spreads and intervals need two)".into(),
            found: samples.to_string(),
        });
    }
    let (data, scenario, fitted, settings, pool) = analysis_setup(req)?;
    let space = Space::new(&data, &scenario, params)?;
    if space.specs.is_empty() {
        return Err(Error::Flag {
            flag: "--params".into(),
            expected: "parameters with a plausible range to vary".into(),
            found: "none".into(),
        });
    }
    let id = match method {
        Method::Morris => "morris",
        Method::Sobol => "sobol",
    };
    let out = OutputDir::prepare(&req.out.clone().unwrap_or_else(|| req.out_root.join(format!("{}-sensitivity-{id}", scenario.name))))?;
    let design = analysis::sensitivity_design(method, space.specs.len(), samples, scenario.seed);
    let values: Vec<_> = design.iter().map(|u| space.values_at(&scenario.values, u)).collect();
    let (scale, replications) = (settings.scale, settings.replications);
    let evaluator = Evaluator { data: &data, scenario: scenario.clone(), start: fitted, settings: settings.clone(), cancel };
    let points =
        pool.install(|| evaluator.evaluate_all(&values, &|done, total| progress(points_progress("sensitivity points", done, total))))?;
    out.write("points.csv", &output::render_points("point", &space.names(), &points, scale, replications)?)?;
    let result = analysis::sensitivity_indices(method, &design, points, space.names(), samples, scenario.seed);
    out.write("sensitivity.csv", &output::render_sensitivity(&result)?)?;
    let meta = analysis_meta(&scenario, &settings, result.points.len(), clock.elapsed().as_secs_f64());
    for (path, bytes) in report::analysis::sensitivity_files(&result, &meta)? {
        out.write(&path, &bytes)?;
    }
    out.write(
        "manifest.json",
        &render_json(
            &serde_json::json!({ "analysis": meta, "method": id, "samples": samples, "parameters": space.names(), "scenario": scenario }),
        )?,
    )?;
    out.commit()
}

/// A grid over one or two parameters: outcomes by point, a line chart or heat
/// map per outcome, and a report in a folder of its own.
pub fn sweep(req: &AnalysisRequest, axes: &[String], cancel: &AtomicBool, progress: &(dyn Fn(Progress) + Sync)) -> Result<PathBuf> {
    let clock = Instant::now();
    let (data, scenario, fitted, settings, pool) = analysis_setup(req)?;
    if axes.is_empty() || axes.len() > 2 {
        return Err(Error::Flag { flag: "--param".into(), expected: "one or two parameters".into(), found: axes.len().to_string() });
    }
    let axes: Vec<Axis> = axes.iter().map(|a| Axis::parse(a, &data)).collect::<Result<_>>()?;
    let names: Vec<String> = axes.iter().map(|a| a.name.clone()).collect();
    let out =
        OutputDir::prepare(&req.out.clone().unwrap_or_else(|| req.out_root.join(format!("{}-sweep-{}", scenario.name, names.join("-")))))?;
    let design = analysis::sweep_design(&axes, &scenario.values);
    let (scale, replications) = (settings.scale, settings.replications);
    let evaluator = Evaluator { data: &data, scenario: scenario.clone(), start: fitted, settings: settings.clone(), cancel };
    let points = pool.install(|| evaluator.evaluate_all(&design, &|done, total| progress(points_progress("sweep points", done, total))))?;
    out.write("sweep.csv", &output::render_points("point", &names, &points, scale, replications)?)?;
    let meta = analysis_meta(&scenario, &settings, points.len(), clock.elapsed().as_secs_f64());
    for (path, bytes) in report::analysis::sweep_files(&axes, &points, &meta)? {
        out.write(&path, &bytes)?;
    }
    out.write("manifest.json", &render_json(&serde_json::json!({ "analysis": meta, "parameters": names, "scenario": scenario }))?)?;
    out.commit()
}

fn render_json(v: &serde_json::Value) -> Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(v).map_err(|e| Error::Internal(format!("rendering a manifest: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Bytes as GB to three significant digits, so that a need and a limit
/// close to each other (or a small limit) print differently.
pub(crate) fn gb(bytes: f64) -> String {
    let v = bytes / 1e9;
    let decimals = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else if v >= 1.0 {
        2
    } else {
        3
    };
    format!("{v:.decimals$} GB")
}
