//! Fuzz target: any bytes as a scenario file. The parser and every check
//! behind it must answer with a value or an error that names the file and
//! says what was expected, never panic (a panic is a crash libFuzzer keeps).

#![no_main]

use libfuzzer_sys::fuzz_target;
use shareshift::data::DataSet;
use std::path::Path;
use std::sync::OnceLock;

/// The shipped data, loaded once per fuzzing process.
fn data() -> &'static DataSet {
    static DATA: OnceLock<DataSet> = OnceLock::new();
    DATA.get_or_init(|| match DataSet::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../data")) {
        Ok(d) => d,
        Err(e) => panic!("the shipped data must load: {e}"),
    })
}

fuzz_target!(|bytes: &[u8]| {
    let name = Path::new("fuzzed.toml");
    if let Err(e) = shareshift::scenario::parse_bytes(name, bytes, data()) {
        let text = e.to_string();
        assert!(text.contains("fuzzed.toml") && text.contains("expected"), "an error must name the file and what was expected: {text}");
    }
});
