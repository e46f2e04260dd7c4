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
