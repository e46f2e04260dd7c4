//! Parameter uncertainty, sensitivity and sweeps through the command line,
//! on small populations.

use crate::util;

fn csv_rows(path: &std::path::Path) -> Vec<std::collections::BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap();
    let headers = r.headers().unwrap().clone();
    r.records().map(|rec| headers.iter().zip(rec.unwrap().iter()).map(|(h, v)| (h.to_string(), v.to_string())).collect()).collect()
}

/// A sweep of theta: one recalibrated point per value, a larger payment
/// weight gives a larger gain for Taobao/Tmall, and the report says so.
#[test]
fn sweep_of_theta_is_monotone_and_recalibrated() {
    let dir = util::scratch("sweep");
    let out = dir.join("sweep");
    util::small_run("sweep", &util::scenario("wechat_pay_on_taobao.toml"), &["--param", "theta=0.05:0.8:3"], "50000", &out);
    let rows = csv_rows(&out.join("sweep.csv"));
    assert_eq!(rows.len(), 3);
    let gain: Vec<f64> = rows.iter().map(|r| r["taobao_gmv_share_change"].parse().unwrap()).collect();
    assert!(gain[0] < gain[1] && gain[1] < gain[2], "{gain:?}");
    for r in &rows {
        assert!(r["fit_gap_pp"].parse::<f64>().unwrap() < 0.5, "every point fits its targets: {r:?}");
    }
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("ranges from") && md.contains("theta"), "{md}");
    assert!(out.join("charts/sweep_taobao_gmv_share_change.png").is_file());
}

/// Morris screening of two parameters names the drivers in a sentence and
/// writes the indices; the scenario's [uncertainty] section narrows a range.
#[test]
fn sensitivity_names_the_top_drivers() {
    let dir = util::scratch("sensitivity");
    let scenario = util::write(
        &dir,
        "narrowed.toml",
        &format!("extends = \"{}\"\n[uncertainty]\ntheta = [0.1, 0.6]\n", util::scenario("wechat_pay_on_taobao.toml").display()),
    );
    let out = dir.join("sens");
    util::small_run("sensitivity", &scenario, &["--method", "morris", "--samples", "3", "--params", "theta,b_habit"], "50000", &out);
    let points = csv_rows(&out.join("points.csv"));
    assert_eq!(points.len(), 3 * (2 + 1), "r (d + 1) Morris points");
    assert!(points.iter().all(|p| (0.1..=0.6).contains(&p["theta"].parse::<f64>().unwrap())), "theta stays in the narrowed range");
    let indices = csv_rows(&out.join("sensitivity.csv"));
    assert!(indices.iter().any(|r| r["parameter"] == "theta" && r["index"] == "mu_star"));
    let md = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(md.contains("depends most on"), "{md}");
    assert!(out.join("charts/tornado_taobao_gmv_share_change.svg").is_file());
    let again = util::shareshift(&["report", out.to_str().unwrap()]);
    assert_eq!(again.status.code(), Some(2), "`report` on an analysis folder is bad input");
    assert!(util::stderr(&again).contains("manifest.json: field `analysis`: expected the manifest of a run"), "{}", util::stderr(&again));
}

/// `run --uncertainty N` adds parameter draws, a report section and a
/// headline column beside the stochastic intervals; a fixed parameter stays
/// fixed in every draw.
#[test]
fn run_with_uncertainty_reports_both_intervals() {
    let dir = util::scratch("uncertainty");
    let scenario = util::write(
        &dir,
        "fixed.toml",
        &format!("extends = \"{}\"\n[uncertainty]\ntheta = 0.25\n", util::scenario("wechat_pay_on_taobao.toml").display()),
    );
    util::small_run("run", &scenario, &["--uncertainty", "4"], "50000", &dir);
    let run = dir.join("fixed");
    let draws = csv_rows(&run.join("uncertainty.csv"));
    assert_eq!(draws.len(), 4);
    assert!(!draws[0].contains_key("theta"), "a fixed parameter is not drawn");
    let kappas: Vec<f64> = draws.iter().map(|d| d["kappa_median"].parse().unwrap()).collect();
    assert!(kappas.windows(2).any(|w| w[0] != w[1]), "draws differ: {kappas:?}");
    let md = std::fs::read_to_string(run.join("report.md")).unwrap();
    assert!(md.contains("## Parameter uncertainty") && md.contains("With parameter uncertainty"), "{md}");
}
