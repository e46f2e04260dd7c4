//! Shared harness for the integration tests: paths to the shipped data and
//! scenarios, a scratch folder per test, and a runner for the binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn data_dir() -> PathBuf {
    root().join("data")
}

pub fn scenario(name: &str) -> PathBuf {
    root().join("scenarios").join(name)
}

pub fn fixture(name: &str) -> PathBuf {
    root().join("tests").join("fixtures").join(name)
}

/// A fresh, empty scratch folder under the target directory, unique per test name.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// Runs the shareshift binary with `args` from the repository root.
pub fn shareshift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_shareshift")).args(args).current_dir(root()).output().expect("run shareshift")
}

/// Runs `command SCENARIO extra...` small and quiet (`--scale scale`, two
/// replications, `--out out`) and checks that it succeeds.
pub fn small_run(command: &str, scenario: &Path, extra: &[&str], scale: &str, out: &Path) {
    let mut args = vec![command, scenario.to_str().expect("UTF-8 path")];
    args.extend_from_slice(extra);
    args.extend(["--scale", scale, "--replications", "2", "--out", out.to_str().expect("UTF-8 path"), "--quiet"]);
    let o = shareshift(&args);
    assert!(o.status.success(), "shareshift {}: {}", args.join(" "), stderr(&o));
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Writes `text` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write fixture");
    p
}

/// Every file under `dir` with its bytes, sorted by relative path.
pub fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    fn walk(base: &Path, dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push((p.strip_prefix(base).unwrap_or(&p).display().to_string(), std::fs::read(&p).unwrap_or_default()));
            }
        }
    }
    walk(dir, dir, &mut out);
    out.sort();
    out
}
