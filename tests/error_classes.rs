//! The classes of docs/ERRORS.md that neither bad_input.rs (scenario files)
//! nor data_files.rs (data files) covers: flags clap refuses, the memory
//! guard, unusable output locations (which must fail before any simulation)
//! and an internal failure. Each checks the exit code, that the message says
//! what was expected, and that nothing was written.

use crate::util;
use shareshift::bench::BYTES_PER_CONSUMER;
use shareshift::experiment::Setup;
use shareshift::pipeline;
use shareshift::scenario::RunOverrides;
use std::path::Path;
use std::time::{Duration, Instant};

fn arg(p: &Path) -> &str {
    p.to_str().expect("scratch paths are UTF-8")
}

/// Runs the binary and checks the shape of a bad-input failure: exit 2, no
/// panic, nothing on stdout. Returns stderr.
fn rejected(args: &[&str]) -> String {
    let o = util::shareshift(args);
    let err = util::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "shareshift {}\n{err}", args.join(" "));
    assert!(!err.contains("panicked"), "{err}");
    assert!(util::stdout(&o).is_empty(), "nothing on stdout for a refused run: {}", util::stdout(&o));
    err
}

#[test]
fn an_unknown_flag_is_refused_by_the_parser() {
    let err = rejected(&["run", arg(&util::scenario("baseline.toml")), "--replicatons", "2"]);
    assert!(err.contains("unexpected argument '--replicatons'"), "{err}");
    assert!(err.contains("--replications"), "clap suggests the flag meant: {err}");
}

#[test]
fn a_flag_value_of_the_wrong_type_is_refused_by_the_parser() {
    let err = rejected(&["run", arg(&util::scenario("baseline.toml")), "--replications", "many"]);
    assert!(err.contains("invalid value 'many'") && err.contains("--replications"), "{err}");
}

#[test]
fn a_non_positive_memory_limit_is_refused() {
    let out = util::scratch("error_classes_max_memory_zero").join("out");
    let err = rejected(&["run", arg(&util::scenario("baseline.toml")), "--max-memory", "0", "--out", arg(&out)]);
    assert!(err.contains("flag `--max-memory`: expected a positive number of GB, found 0"), "{err}");
    assert!(!out.exists(), "nothing may be written");
}

/// The memory guard: a run that would not fit refuses before it allocates,
/// says how much it needs and what would fit, and writes nothing.
#[test]
fn a_run_that_would_not_fit_in_memory_is_refused() {
    let out = util::scratch("error_classes_memory_guard").join("out");
    let err = rejected(&["run", arg(&util::scenario("baseline.toml")), "--max-memory", "0.001", "--out", arg(&out)]);
    assert!(err.starts_with("error: the run needs about") && err.contains("GB of memory"), "{err}");
    assert!(err.contains("available") && err.contains("fits is"), "the message says what would fit: {err}");
    assert!(!out.exists(), "nothing may be written");
}

/// The guard's suggestion works: with a limit between what the results need
/// and what the whole run needs, the `--scale` it names fits the limit.
#[test]
fn the_scale_the_memory_guard_suggests_fits() {
    let baseline = util::scenario("baseline.toml");
    let (data, sc, fitted) = pipeline::validate(&baseline, &util::data_dir(), &RunOverrides::default()).expect("the baseline validates");
    let setup = Setup::new(&sc, &data, fitted.clone()).expect("a setup");
    let needed = pipeline::memory_needed(&sc, &setup);
    let fixed = needed - setup.agents() * BYTES_PER_CONSUMER as u64;
    let limit = fixed + (needed - fixed) / 2;
    let out = util::scratch("error_classes_memory_suggestion").join("out");
    let err = rejected(&["run", arg(&baseline), "--max-memory", &format!("{}", limit as f64 / 1e9), "--out", arg(&out)]);
    let scale: f64 = err
        .split("--scale ")
        .nth(1)
        .and_then(|rest| rest.split(|c: char| !(c.is_ascii_digit() || c == '.')).next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no suggested --scale in: {err}"));
    let mut smaller = sc.clone();
    smaller.scale = scale;
    let setup = Setup::new(&smaller, &data, fitted).expect("a setup");
    assert!(pipeline::memory_needed(&smaller, &setup) <= limit, "--scale {scale} does not fit {limit} bytes");
}

/// An output location that cannot be used fails before any simulation: at
/// `--scale 1` (a billion consumers, minutes of work; the memory guard lifted
/// with `--max-memory 1000`) the refusal comes within seconds, where the
/// simulation would take many minutes (the bound is loose on purpose: shared
/// machines are noisy, and this checks what happens first, not speed).
fn assert_fails_fast(out: &Path, names: &Path) {
    let clock = Instant::now();
    let err = rejected(&["run", arg(&util::scenario("baseline.toml")), "--scale", "1", "--max-memory", "1000", "--out", arg(out)]);
    let took = clock.elapsed();
    assert!(err.contains(&format!("output `{}", names.display())), "the message names the location: {err}");
    assert!(err.contains("expected a folder"), "the message says what was expected: {err}");
    assert!(took < Duration::from_secs(10), "refusing an unusable output location took {took:?}");
}

#[test]
fn an_output_location_inside_a_file_fails_before_simulating() {
    let dir = util::scratch("error_classes_out_inside_a_file");
    let file = util::write(&dir, "results", "a file, not a folder\n");
    let out = file.join("nested");
    assert_fails_fast(&out, &out);
    assert_eq!(std::fs::read(&file).expect("the file is still there"), b"a file, not a folder\n");
}

/// `/proc` refuses new folders even to root, so this holds on CI too.
#[test]
fn an_unwritable_output_location_fails_before_simulating() {
    if !Path::new("/proc/self").exists() {
        return; // not Linux: no location is unwritable for every user
    }
    let out = Path::new("/proc/shareshift-results");
    assert_fails_fast(out, out);
}

/// `report` and `compare` need folders written by `run`.
#[test]
fn reporting_on_a_missing_folder_is_refused() {
    let missing = util::scratch("error_classes_report_missing").join("nothing_here");
    let err = rejected(&["report", arg(&missing)]);
    assert!(err.contains(&format!("{}: expected a file or folder that can be read", missing.display())), "{err}");
}

/// An internal failure exits with 1: here a calibration that cannot reach its
/// tolerance in one iteration (run on a copy of the data, which it rewrites).
#[test]
fn a_calibration_that_does_not_converge_is_an_internal_failure() {
    let data = util::scratch("error_classes_internal").join("data");
    std::fs::create_dir_all(&data).expect("create data copy");
    for e in std::fs::read_dir(util::data_dir()).expect("data folder").flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), data.join(e.file_name())).expect("copy data file");
        }
    }
    let o = util::shareshift(&[
        "calibrate",
        "--data",
        arg(&data),
        "--scale",
        "200000",
        "--replications",
        "1",
        "--max-iterations",
        "1",
        "--tolerance",
        "0.000001",
        "--quiet",
    ]);
    let err = util::stderr(&o);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.starts_with("error: internal error: calibration did not converge"), "{err}");
}

/// The `[uncertainty]` table of a scenario: each wrong entry names the file,
/// the line and the field and says what was expected.
#[test]
fn a_wrong_uncertainty_range_in_a_scenario_is_refused() {
    let dir = util::scratch("error_classes_uncertainty");
    let base = util::scenario("wechat_pay_on_taobao.toml");
    let cases = [
        ("range.toml", "theta = [0.1, 1.5]", "field `uncertainty.theta`: expected a value of `theta` between 0 and 1"),
        (
            "order.toml",
            "theta = [0.6, 0.1]",
            "field `uncertainty.theta`: expected a number (to fix the parameter) or [low, high] with low <= high",
        ),
        ("type.toml", "theta = \"wide\"", "found \"wide\""),
        ("name.toml", "thetaa = [0.1, 0.6]", "field `uncertainty.thetaa`: expected a parameter from the registry"),
    ];
    for (name, line, expected) in cases {
        let file = util::write(&dir, name, &format!("extends = \"{}\"\n[uncertainty]\n{line}\n", base.display()));
        let err = rejected(&["validate", arg(&file)]);
        assert!(err.contains(&format!("{name}:3: ")) && err.contains(expected), "{name}: {err}");
    }
}

/// Flags of `sweep` and `sensitivity` are checked before any point is
/// simulated, and nothing is written.
#[test]
fn wrong_analysis_flags_are_refused_before_simulating() {
    let out = util::scratch("error_classes_analysis_flags").join("out");
    let scenario = util::scenario("wechat_pay_on_taobao.toml");
    let cases: [(&[&str], &str); 6] = [
        (&["sweep", arg(&scenario), "--param", "theta=0.1:0.5"], "flag `--param`: expected NAME=FROM:TO:STEPS"),
        (&["sweep", arg(&scenario), "--param", "theta=0.1:2:4"], "flag `--param theta`: expected a value of `theta` between 0 and 1"),
        (&["sweep", arg(&scenario), "--param", "thetaa=0.1:0.5:4"], "did you mean theta?"),
        (
            &["sweep", arg(&scenario), "--param", "theta=0.1:0.5:4", "--param", "b_stick=1:2:3", "--param", "b_habit=0:1:2"],
            "flag `--param`: expected one or two parameters, found 3",
        ),
        (&["sensitivity", arg(&scenario), "--params", "theta,bogus"], "flag `--params`: expected names from the parameter registry"),
        (&["sensitivity", arg(&scenario), "--samples", "1"], "flag `--samples`: expected at least 2"),
    ];
    for (args, expected) in cases {
        let mut all = args.to_vec();
        all.extend(["--out", arg(&out)]);
        let err = rejected(&all);
        assert!(err.contains(expected), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?}: nothing may be written");
    }
}

/// Flags of `bench` are checked before any population is drawn.
#[test]
fn wrong_bench_flags_are_refused_before_measuring() {
    let cases: [(&[&str], &str); 5] = [
        (&["bench", "--samples", "0"], "flag `--samples`: expected at least 1, found 0"),
        (&["bench", "--seconds=0"], "flag `--seconds`: expected seconds above 0 and at most 3600, found 0"),
        (&["bench", "--seconds", "NaN"], "flag `--seconds`: expected seconds above 0"),
        (&["bench", "--threads", "1,0"], "flag `--threads`: expected thread counts of at least 1, found 1,0"),
        (&["bench", "--sizes", "0"], "flag `--sizes`: expected population sizes of at least 1 agent, found 0"),
    ];
    for (args, expected) in cases {
        let err = rejected(args);
        assert!(err.contains(expected), "{args:?}: {err}");
    }
}
