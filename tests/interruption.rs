//! Interrupted runs, with real signals sent to the binary: Ctrl-C stops a
//! run within about a second with exit code 130 and writes nothing; a killed
//! run leaves the earlier result untouched and nothing that looks complete,
//! and the next run clears what it left.

use crate::util;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SCENARIO: &str = "wechat_pay_on_taobao";

/// Starts the default scenario at its default scale with 20 replications (a
/// run of the better part of a minute) writing into `out`.
fn start_long_run(out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_shareshift"))
        .args(["run", &format!("scenarios/{SCENARIO}.toml"), "--replications", "20", "--quiet", "--out"])
        .arg(out)
        .current_dir(util::root())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start shareshift")
}

/// The temporary folder a run with process id `pid` writes into.
fn partial(out: &Path, pid: u32) -> PathBuf {
    out.join(format!(".{SCENARIO}.partial-{pid}"))
}

/// Waits until the run has validated its input, prepared its temporary
/// folder and simulated for a while, so the signal lands mid-simulation.
fn wait_for_simulation(child: &mut Child, out: &Path) {
    let clock = Instant::now();
    while !partial(out, child.id()).is_dir() {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the run ended before it started simulating: {status}");
        }
        assert!(clock.elapsed() < Duration::from_secs(30), "the run did not start simulating within 30 s");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(1500));
    assert!(child.try_wait().expect("poll the run").is_none(), "the run should still be going after 1.5 s");
}

fn signal(child: &Child, sig: libc::c_int) {
    // SAFETY: kill(2) with the id of a child this test started and has not
    // yet waited for, so the id cannot have been reused.
    let rc = unsafe { libc::kill(child.id() as libc::pid_t, sig) };
    assert_eq!(rc, 0, "kill({}, {sig}) failed", child.id());
}

/// Waits for the child to exit, at most `limit`; returns the exit status and
/// how long it took.
fn wait_at_most(child: &mut Child, limit: Duration) -> (std::process::ExitStatus, Duration) {
    let clock = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("poll the run") {
            return (status, clock.elapsed());
        }
        if clock.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the run did not exit within {limit:?} of the signal");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn read_pipe(pipe: Option<impl std::io::Read>) -> String {
    let mut text = String::new();
    if let Some(mut p) = pipe {
        let _ = p.read_to_string(&mut text);
    }
    text
}

/// Every entry directly in `dir`, sorted.
fn entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).map(|r| r.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect()).unwrap_or_default();
    v.sort();
    v
}

/// (a) Ctrl-C mid-run: exit 130 within about a second, a clear message,
/// and no folder in `--out`, complete or temporary.
#[test]
fn sigint_stops_a_run_within_a_second_and_writes_nothing() {
    let out = util::scratch("interruption_sigint").join("out");
    let mut child = start_long_run(&out);
    wait_for_simulation(&mut child, &out);
    signal(&child, libc::SIGINT);
    let (status, took) = wait_at_most(&mut child, Duration::from_secs(10));
    eprintln!("the run stopped {took:?} after Ctrl-C");
    let err = read_pipe(child.stderr.take());
    assert_eq!(status.code(), Some(130), "exit code after Ctrl-C; stderr:\n{err}");
    assert!(took < Duration::from_millis(1500), "the run took {took:?} to stop after Ctrl-C (about 1 s expected)");
    assert!(err.starts_with("error: interrupted:") && err.contains("no results were written"), "stderr:\n{err}");
    assert_eq!(err.trim_end().lines().count(), 1, "one error line expected:\n{err}");
    assert!(read_pipe(child.stdout.take()).is_empty(), "nothing on stdout for an interrupted run");
    assert!(entries(&out).is_empty(), "an interrupted run left {:?} in {}", entries(&out), out.display());
}

/// (b) SIGKILL mid-run (no handler runs): the earlier result is
/// byte-identical, the only other entry is the hidden temporary folder,
/// which holds nothing that looks like a complete result, and the next run
/// removes it and puts a complete result in place.
#[test]
fn sigkill_leaves_the_earlier_result_and_nothing_complete_looking() {
    let out = util::scratch("interruption_sigkill").join("out");
    let earlier = out.join(SCENARIO);
    std::fs::create_dir_all(earlier.join("charts")).expect("create earlier result");
    std::fs::write(earlier.join("manifest.json"), b"{\"seed\": 1}\n").expect("write earlier result");
    std::fs::write(earlier.join("national.csv"), b"arm,replication,month\nbaseline,0,2024-01\n").expect("write earlier result");
    std::fs::write(earlier.join("charts").join("a.svg"), b"<svg/>\n").expect("write earlier result");
    let before = util::snapshot(&earlier);

    let mut child = start_long_run(&out);
    let pid = child.id();
    wait_for_simulation(&mut child, &out);
    signal(&child, libc::SIGKILL);
    let (status, _) = wait_at_most(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), None, "a killed process has no exit code");

    assert!(util::snapshot(&earlier) == before, "the earlier result changed");
    let left = entries(&out);
    let temp = format!(".{SCENARIO}.partial-{pid}");
    for name in &left {
        assert!(name == SCENARIO || *name == temp, "a killed run left {name:?} beside the earlier result");
    }
    let temp = out.join(temp);
    if temp.exists() {
        for complete in ["manifest.json", "report.html"] {
            assert!(!temp.join(complete).exists(), "the temporary folder of a killed run holds {complete}, so it looks complete");
        }
    }

    let o = util::shareshift(&[
        "run",
        &format!("scenarios/{SCENARIO}.toml"),
        "--scale",
        "200000",
        "--replications",
        "1",
        "--quiet",
        "--out",
        out.to_str().expect("UTF-8 path"),
    ]);
    assert!(o.status.success(), "{}", util::stderr(&o));
    assert_eq!(entries(&out), vec![SCENARIO.to_string()], "the next run must clear what the killed run left");
    assert!(earlier.join("manifest.json").is_file() && earlier.join("report.html").is_file(), "the next run's result is complete");
    assert!(util::snapshot(&earlier) != before, "the next run replaced the earlier result");
}
