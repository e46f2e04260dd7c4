//! The progress bar on stderr: shown once a run has taken about a second, on
//! a terminal only, never with `--quiet`.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use shareshift::experiment::Progress;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub struct Bar {
    bar: ProgressBar,
    started: Instant,
    quiet: bool,
    shown: AtomicBool,
}

impl Bar {
    pub fn new(quiet: bool) -> Bar {
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
        if let Ok(style) = ProgressStyle::with_template("{elapsed:>4} [{bar:32}] {percent:>3}%  ETA {eta:<4} {msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        Bar { bar, started: Instant::now(), quiet, shown: AtomicBool::new(false) }
    }

    pub fn update(&self, p: &Progress) {
        let per = p.months_per_replication as u64;
        self.bar.set_length(p.replications as u64 * per);
        self.bar.set_position(p.replication as u64 * per + p.month_done as u64);
        let month = p.month.map(|m| m.to_string()).unwrap_or_else(|| "spin-up".into());
        self.bar.set_message(format!("replication {}/{} · {} · {}", p.replication + 1, p.replications, p.arm, month));
        if !self.quiet && self.started.elapsed() > Duration::from_secs(1) && !self.shown.swap(true, Ordering::Relaxed) {
            // `stderr()` draws nothing when stderr is not a terminal.
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
        }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
