//! Whole runs through the command line: reproducibility and outputs.

use crate::util;

const FILES: [&str; 5] = ["national.csv", "segments.csv", "regional.csv", "headline.csv", "regional_effects.csv"];

/// Same seed: byte-identical CSVs with one thread and with two.
#[test]
fn same_seed_gives_identical_files_with_one_and_two_threads() {
    let dir = util::scratch("determinism");
    let scenario = util::scenario("as_it_happened_2024.toml");
    let mut outputs = Vec::new();
    for threads in ["1", "2", "2"] {
        let out = dir.join(format!("t{threads}-{}", outputs.len()));
        let o = util::shareshift(&[
            "run",
            scenario.to_str().unwrap(),
            "--scale",
            "20000",
            "--replications",
            "2",
            "--threads",
            threads,
            "--out",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", util::stderr(&o));
        outputs.push(out.join("as_it_happened_2024"));
    }
    for f in FILES {
        let a = std::fs::read(outputs[0].join(f)).unwrap();
        assert!(!a.is_empty());
        for other in &outputs[1..] {
            assert!(a == std::fs::read(other.join(f)).unwrap(), "{f} differs between runs");
        }
    }
}

/// A run writes every output and a manifest, and prints where they are.
#[test]
fn run_writes_outputs_and_manifest() {
    let dir = util::scratch("outputs");
    let o = util::shareshift(&[
        "run",
        util::scenario("wechat_pay_on_taobao.toml").to_str().unwrap(),
        "--scale",
        "50000",
        "--replications",
        "2",
        "--out",
        dir.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", util::stderr(&o));
    let out = dir.join("wechat_pay_on_taobao");
    for f in FILES.iter().chain(["manifest.json"].iter()) {
        assert!(out.join(f).is_file(), "missing {f}");
    }
    let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["replications"], 2);
    assert_eq!(manifest["first_divergent_month"], "2024-09");
    assert_eq!(manifest["scenario_sha256"].as_str().unwrap().len(), 64);
    let stdout = util::stdout(&o);
    assert!(stdout.contains("Taobao/Tmall GMV share") && stdout.contains(out.to_str().unwrap()), "{stdout}");
    // No temporary folders are left beside the result.
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

/// `report` rebuilds charts and reports from a folder alone; `compare`
/// writes a comparison to a folder of its own; a corrupt or missing CSV is
/// an error naming the file.
#[test]
fn report_and_compare_work_from_output_folders() {
    let dir = util::scratch("report_compare");
    for s in ["wechat_pay_on_taobao.toml", "as_it_happened_2024.toml"] {
        let o = util::shareshift(&[
            "run",
            util::scenario(s).to_str().unwrap(),
            "--scale",
            "50000",
            "--replications",
            "2",
            "--out",
            dir.to_str().unwrap(),
            "--quiet",
        ]);
        assert!(o.status.success(), "{}", util::stderr(&o));
    }
    let run = dir.join("wechat_pay_on_taobao");
    let before = std::fs::read(run.join("report.md")).unwrap();
    std::fs::remove_dir_all(run.join("charts")).unwrap();
    std::fs::remove_file(run.join("report.md")).unwrap();
    let o = util::shareshift(&["report", run.to_str().unwrap()]);
    assert!(o.status.success(), "{}", util::stderr(&o));
    assert_eq!(std::fs::read(run.join("report.md")).unwrap(), before, "a rebuilt report equals the original");
    for chart in ["platform_shares", "regional_change", "segment_change", "taobao_payment_mix", "wechat_only_buyers", "calibration_fit"] {
        assert!(
            run.join("charts").join(format!("{chart}.png")).is_file() && run.join("charts").join(format!("{chart}.svg")).is_file(),
            "{chart}"
        );
    }

    let out = dir.join("comparison");
    let o = util::shareshift(&[
        "compare",
        run.to_str().unwrap(),
        dir.join("as_it_happened_2024").to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", util::stderr(&o));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("WeChat Pay accepted on Taobao/Tmall") && md.contains("As it happened in 2024"), "{md}");
    assert!(out.join("report.html").is_file() && out.join("charts/comparison_shares.png").is_file());

    // Corrupt and missing files are named.
    let national = run.join("national.csv");
    let text = std::fs::read_to_string(&national).unwrap();
    std::fs::write(&national, text.replacen("baseline,0,2024-01,", "baseline,0,2024-01,oops", 1)).unwrap();
    let o = util::shareshift(&["report", run.to_str().unwrap()]);
    let err = util::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("national.csv:2") && !err.contains("panicked"), "{err}");
    std::fs::remove_file(run.join("segments.csv")).unwrap();
    std::fs::write(&national, text).unwrap();
    let o = util::shareshift(&["report", run.to_str().unwrap()]);
    let err = util::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("segments.csv"), "{err}");
}

/// `bench` times every thread count on one population, one month each,
/// round after round, and prints a row per size and thread count with the
/// median rate, its 10th-90th percentile, the speed-up over the first
/// thread count, the machine's own speed-up, the model's share of it and the
/// speed-up in the rounds where the machine gave all the cores asked for.
#[test]
fn bench_prints_a_row_per_size_and_thread_count() {
    let o = util::shareshift(&["bench", "--sizes", "20000,40000", "--threads", "1,2", "--samples", "3", "--seconds", "0.01"]);
    let out = util::stdout(&o);
    assert!(o.status.success(), "{}\n{out}", util::stderr(&o));
    assert!(out.contains("at least 3 rounds and 0.01 s per thread count"), "{out}");
    let rows: Vec<Vec<String>> = out
        .lines()
        .filter(|l| l.starts_with("| ") && l.as_bytes().get(2).is_some_and(u8::is_ascii_digit))
        .map(|l| l.trim_matches('|').split('|').map(|c| c.trim().to_string()).collect())
        .collect();
    assert_eq!(rows.len(), 4, "{out}");
    for (row, (size, threads)) in rows.iter().zip([(20_000.0, "1"), (20_000.0, "2"), (40_000.0, "1"), (40_000.0, "2")]) {
        // Sizes land within a few agents of the request (cells are rounded).
        let consumers: f64 = row[0].parse().unwrap();
        assert!((consumers - size).abs() < 100.0, "{row:?}");
        assert_eq!(row[1], threads, "{row:?}");
        let steps: f64 = row[2].parse().unwrap();
        // At least three rounds of one month each.
        assert!(steps >= 3.0 * consumers, "{row:?}");
        let rate: f64 = row[3].trim_end_matches(" million").parse().unwrap();
        let (low, high) = row[4].trim_end_matches(" million").split_once('–').unwrap();
        let (low, high): (f64, f64) = (low.parse().unwrap(), high.parse().unwrap());
        assert!(rate > 0.0 && low <= rate && rate <= high, "{row:?}");
    }
    assert!(rows[0][5].starts_with("1.00 (1.00–1.00)"), "the first thread count is the reference: {:?}", rows[0]);
    assert_eq!(rows[0][6..8], ["1.00", "1.00"], "the machine's speed-up and the efficiency of the reference: {:?}", rows[0]);
    for row in &rows {
        // The machine's own speed-up and the model's share of it are ratios
        // of positive rates.
        for cell in &row[6..8] {
            assert!(cell.parse::<f64>().is_ok_and(|x| x > 0.0 && x.is_finite()), "{row:?}");
        }
        // The speed-up on free cores counts the rounds it stands on, out of
        // all rounds of the case.
        let (speed_up, rounds) = row[8].split_once(" (").expect("a count of rounds");
        let (free, all) = rounds.trim_end_matches(')').split_once(" of ").expect("k of n");
        let (free, all): (usize, usize) = (free.parse().unwrap(), all.parse().unwrap());
        assert!(all >= 3 && free <= all, "{row:?}");
        assert!(if free == 0 { speed_up == "–" } else { speed_up.parse::<f64>().is_ok_and(|x| x > 0.0) }, "{row:?}");
    }
    // Against itself every round is on free cores.
    let (_, rounds) = rows[0][8].split_once(" (").unwrap();
    let (free, all) = rounds.trim_end_matches(')').split_once(" of ").unwrap();
    assert!(rows[0][8].starts_with("1.00 (") && free == all, "{:?}", rows[0]);
}
