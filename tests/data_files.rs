//! Bad data files: a replaced or hand-edited file in `data/` is reported
//! with its file, line and column, exit code 2, and nothing is simulated.

use crate::util;
use std::path::Path;

/// A copy of the shipped data folder in a scratch folder.
fn data_copy(name: &str) -> std::path::PathBuf {
    let dir = util::scratch(name).join("data");
    std::fs::create_dir_all(&dir).unwrap();
    for e in std::fs::read_dir(util::data_dir()).unwrap().flatten() {
        if e.path().is_file() {
            std::fs::copy(e.path(), dir.join(e.file_name())).unwrap();
        }
    }
    dir
}

/// Replaces the first occurrence of `from` in `file` with `to`; returns the
/// 1-based line where it was.
fn corrupt(data: &Path, file: &str, from: &str, to: &str) -> usize {
    let path = data.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let at = text.find(from).unwrap_or_else(|| panic!("{from:?} not in {file}"));
    std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    text[..at].matches('\n').count() + 1
}

fn assert_rejected(data: &Path, file: &str, line: Option<usize>, field: &str) {
    let scenario = util::scenario("wechat_pay_on_taobao.toml");
    for command in ["validate", "run"] {
        let out = data.parent().unwrap().join("out");
        let o = util::shareshift(
            &[command, scenario.to_str().unwrap(), "--data", data.to_str().unwrap(), "--out", out.to_str().unwrap()]
                [..if command == "validate" { 4 } else { 6 }],
        );
        let err = util::stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{command}: {err}");
        assert!(!err.contains("panicked"), "{err}");
        let place = match line {
            Some(l) => format!("{}:{l}: field `{field}`", data.join(file).display()),
            None => format!("{}: field `{field}`", data.join(file).display()),
        };
        assert!(err.contains(&place), "{command}: expected {place:?} in {err}");
        assert!(err.contains("expected"), "{err}");
        assert!(!out.exists(), "nothing may be written for a bad data file");
    }
}

#[test]
fn a_non_number_in_provinces_names_file_line_and_column() {
    let data = data_copy("data_bad_number");
    let line = corrupt(&data, "provinces.csv", "2184.3", "lots");
    assert_rejected(&data, "provinces.csv", Some(line), "population_10k");
}

#[test]
fn a_share_out_of_range_is_rejected() {
    let data = data_copy("data_bad_range");
    let line = corrupt(&data, "provinces.csv", ",87.6,", ",187.6,");
    assert_rejected(&data, "provinces.csv", Some(line), "urbanisation_pct");
}

#[test]
fn an_unknown_platform_in_platforms_csv_is_rejected() {
    let data = data_copy("data_bad_platform");
    let line = corrupt(&data, "platforms.csv", "\nkuaishou,", "\nkwai,") + 1;
    assert_rejected(&data, "platforms.csv", Some(line), "platform");
}

#[test]
fn a_bad_acceptance_value_is_rejected() {
    let data = data_copy("data_bad_acceptance");
    let line = corrupt(&data, "acceptance.csv", "taobao,wechat_pay,no", "taobao,wechat_pay,maybe");
    assert_rejected(&data, "acceptance.csv", Some(line), "accepted");
}

#[test]
fn a_missing_column_is_rejected_at_the_header() {
    let data = data_copy("data_missing_column");
    corrupt(&data, "parameters.csv", "name,unit,default", "nom,unit,default");
    assert_rejected(&data, "parameters.csv", Some(1), "name");
}

#[test]
fn a_parameter_default_outside_its_range_is_rejected() {
    let data = data_copy("data_bad_default");
    let line = corrupt(&data, "parameters.csv", "theta,weight (0-1),0.3,", "theta,weight (0-1),1.3,");
    assert_rejected(&data, "parameters.csv", Some(line), "default");
}

#[test]
fn a_ragged_row_is_rejected() {
    let data = data_copy("data_ragged");
    let line = corrupt(&data, "targets.csv", "holding_card,38,", "holding_card,38,extra,");
    let o = util::shareshift(&["validate", util::scenario("baseline.toml").to_str().unwrap(), "--data", data.to_str().unwrap()]);
    let err = util::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("targets.csv:{line}")) && err.contains("fields"), "{err}");
    assert!(err.contains("expected well-formed CSV"), "{err}");
}

#[test]
fn a_data_file_that_is_not_utf8_is_rejected_at_its_line() {
    let data = data_copy("data_not_utf8");
    let path = data.join("provinces.csv");
    let text = std::fs::read(&path).unwrap();
    let at = text.windows(7).position(|w| w == b"Tianjin").unwrap();
    let line = text[..at].iter().filter(|&&b| b == b'\n').count() + 1;
    let mut bytes = text.clone();
    bytes[at + 5] = 0xef; // "Tianj\xefn", as a Latin-1 editor would save "Tianjïn"
    std::fs::write(&path, bytes).unwrap();
    let o = util::shareshift(&["validate", util::scenario("baseline.toml").to_str().unwrap(), "--data", data.to_str().unwrap()]);
    let err = util::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}:{line}: expected well-formed CSV", path.display())) && err.contains("UTF-8"), "{err}");
}

#[test]
fn an_unknown_wallet_in_acceptance_csv_is_rejected() {
    let data = data_copy("data_bad_wallet");
    let line = corrupt(&data, "acceptance.csv", "\njd,alipay,", "\njd,paypal,") + 1;
    assert_rejected(&data, "acceptance.csv", Some(line), "wallet");
}

#[test]
fn a_missing_row_in_national_figures_is_named() {
    let data = data_copy("data_missing_row");
    corrupt(&data, "national.csv", "online_shoppers,2023-12", "online_shoppers_typo,2023-12");
    let o = util::shareshift(&["validate", util::scenario("baseline.toml").to_str().unwrap(), "--data", data.to_str().unwrap()]);
    let err = util::stderr(&o);
    // A missing row has no line of its own: the message names the file, the
    // column and the row it expected.
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("national.csv: field `metric`: expected") && err.contains("online_shoppers") && err.contains("2023-12"), "{err}");
}

#[test]
fn a_corrupt_calibration_file_is_rejected() {
    let data = data_copy("data_bad_calibration");
    let line = corrupt(&data, "calibration.csv", "asc_jd,", "asc_jd,x");
    assert_rejected(&data, "calibration.csv", Some(line), "value");
}

/// Duplicates the line holding `needle` in `file`; returns the 1-based line
/// of the copy (the second occurrence).
fn duplicate_line(data: &Path, file: &str, needle: &str) -> usize {
    let path = data.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<&str> = text.lines().collect();
    let i = lines.iter().position(|l| l.contains(needle)).unwrap_or_else(|| panic!("{needle:?} not in {file}"));
    lines.insert(i + 1, lines[i]);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();
    i + 2
}

#[test]
fn a_duplicate_province_row_is_rejected_at_the_second_row() {
    let data = data_copy("data_duplicate_province");
    let line = duplicate_line(&data, "provinces.csv", "Tianjin");
    assert_rejected(&data, "provinces.csv", Some(line), "code");
}

#[test]
fn a_duplicate_parameter_row_is_rejected_at_the_second_row() {
    let data = data_copy("data_duplicate_parameter");
    let line = duplicate_line(&data, "parameters.csv", "habit_carryover,");
    assert_rejected(&data, "parameters.csv", Some(line), "name");
}

#[test]
fn a_missing_data_file_is_named() {
    let data = data_copy("data_missing_file");
    std::fs::remove_file(data.join("targets.csv")).unwrap();
    let o = util::shareshift(&["validate", util::scenario("baseline.toml").to_str().unwrap(), "--data", data.to_str().unwrap()]);
    let err = util::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("{}: expected", data.join("targets.csv").display())), "{err}");
}

#[test]
fn a_missing_calibration_file_asks_for_a_calibration() {
    let data = data_copy("data_missing_calibration");
    std::fs::remove_file(data.join("calibration.csv")).unwrap();
    let o = util::shareshift(&["validate", util::scenario("baseline.toml").to_str().unwrap(), "--data", data.to_str().unwrap()]);
    let err = util::stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&data.join("calibration.csv").display().to_string()) && err.contains("expected"), "{err}");
    assert!(err.contains("shareshift calibrate"), "the message says how to make one: {err}");
}
