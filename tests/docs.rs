//! The documentation keeps up with the registry: every parameter, data
//! figure with a range and calibrated value is listed in docs/MODEL.md.

use crate::util;

#[test]
fn model_doc_lists_every_registry_entry() {
    let doc = std::fs::read_to_string(util::root().join("docs/MODEL.md")).unwrap();
    let data = shareshift::data::DataSet::load(&util::data_dir()).unwrap();
    let missing: Vec<&str> = data.registry.specs().iter().map(|s| s.name.as_str()).filter(|n| !doc.contains(&format!("`{n}`"))).collect();
    assert!(missing.is_empty(), "docs/MODEL.md does not list: {missing:?}");
    for name in shareshift::params::FITTED_NAMES {
        let listed = doc.contains(&format!("`{name}`")) || (name.starts_with("asc_") && doc.contains("`asc_<platform>`"));
        assert!(listed, "docs/MODEL.md does not list the fitted value {name}");
    }
}

#[test]
fn readme_opens_with_the_two_setup_commands() {
    let readme = std::fs::read_to_string(util::root().join("README.md")).unwrap();
    let first: Vec<&str> = readme.lines().filter(|l| !l.trim().is_empty()).take(4).collect();
    assert_eq!(first, ["```sh", "cargo run --release", "cargo test --release", "```"]);
    let ci = std::fs::read_to_string(util::root().join(".ci/run")).unwrap();
    assert!(ci.lines().any(|l| l.trim() == "cargo test --release"), ".ci/run must run the README's test command");
}

/// docs/ERRORS.md names the test that covers each class of error: every
/// `module::test` it names exists, so the catalogue cannot point at a test
/// that was renamed or removed.
#[test]
fn errors_doc_names_only_existing_tests() {
    let doc = std::fs::read_to_string(util::root().join("docs/ERRORS.md")).unwrap();
    let named: Vec<(&str, &str)> = doc
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
        .filter_map(|s| s.split_once("::"))
        .filter(|(m, f)| {
            let word = |w: &str| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
            word(m) && word(f) && util::root().join("tests").join(format!("{m}.rs")).is_file()
        })
        .collect();
    assert!(named.len() >= 40, "docs/ERRORS.md should name the tests of every class; found {}", named.len());
    for (module, test) in named {
        let source = std::fs::read_to_string(util::root().join("tests").join(format!("{module}.rs"))).unwrap();
        assert!(source.contains(&format!("fn {test}(")), "docs/ERRORS.md names {module}::{test}, which does not exist");
    }
}
