//! What the operator sees while a run works: a `tracing` event when each stage starts and
//! ends (its timing and row counts as fields), a progress bar on a terminal, and periodic plain
//! progress events when stderr is not a terminal (a log file, a scheduler's capture).
//!
//! Every bar lives in one [`MultiProgress`]; the binary's log writer prints through
//! [`suspend`], so a log line never lands in the middle of a bar. Ingest updates its meter
//! once per batch (tens of thousands of rows), never per row.

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, LazyLock, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// How progress is shown; chosen once by the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Display {
    /// Draw bars: stderr is a terminal and logs are text.
    pub bars: bool,
    /// Time between two plain progress events when there are no bars (zero: every batch).
    pub interval: Duration,
}

impl Default for Display {
    fn default() -> Display {
        Display {
            bars: false,
            interval: Duration::from_secs(10),
        }
    }
}

static DISPLAY: OnceLock<Display> = OnceLock::new();
static BARS: LazyLock<MultiProgress> = LazyLock::new(MultiProgress::new);

/// Sets how progress is shown for the rest of the process; the first call wins.
pub fn configure(display: Display) {
    let _ = DISPLAY.set(display);
}

fn display() -> Display {
    DISPLAY.get().copied().unwrap_or_default()
}

/// Runs `f`, which writes to stderr, with the bars cleared, then draws them again.
pub fn suspend<R>(f: impl FnOnce() -> R) -> R {
    BARS.suspend(f)
}

/// The stages of one run. It remembers which stage is under way, so that an engine error can
/// say where it happened.
#[derive(Debug, Clone, Default)]
pub struct Stages {
    current: Arc<Mutex<String>>,
    work_dir: Arc<Mutex<Option<PathBuf>>>,
}

impl Stages {
    /// Records the run's work folder, for messages about files the engine wrote there.
    pub fn set_work_dir(&self, dir: &Path) {
        *self.work_dir.lock().expect("not poisoned") = Some(dir.to_path_buf());
    }

    pub fn work_dir(&self) -> Option<PathBuf> {
        self.work_dir.lock().expect("not poisoned").clone()
    }

    /// Starts a stage with no row meter (a spinner on a terminal, "still running" lines when
    /// not).
    pub fn start(&self, name: &str) -> Stage {
        self.begin(name.to_string(), None, None)
    }

    /// Starts the ingest of one source; its meter counts rows and, where the file's size is
    /// known, bytes.
    pub fn ingest(&self, source: &str, location: &p20w_connectors::Location) -> Stage {
        let bytes = match location {
            p20w_connectors::Location::Local(path) => std::fs::metadata(path)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len()),
            // A HEAD request would block here; the meter counts rows without a total.
            _ => None,
        };
        self.begin("ingest".to_string(), Some(source.to_string()), bytes)
    }

    /// The stage under way (or the last one started), in the operator's words.
    pub fn current(&self) -> String {
        let c = self.current.lock().expect("not poisoned").clone();
        if c.is_empty() { "setup".into() } else { c }
    }

    fn begin(&self, name: String, source: Option<String>, bytes: Option<u64>) -> Stage {
        *self.current.lock().expect("not poisoned") = match &source {
            Some(s) => format!("{name} of source {s}"),
            None => name.clone(),
        };
        tracing::info!(
            stage = name.as_str(),
            source = source.as_deref(),
            "stage started"
        );
        let shown = display();
        let label = source.clone().unwrap_or_else(|| name.clone());
        let metered = name == "ingest";
        let bar = shown.bars.then(|| new_bar(&label, metered, bytes));
        let ticker = match (&bar, metered) {
            (None, false) => Some(Ticker::start(name.clone(), shown.interval)),
            _ => None,
        };
        let started = Instant::now();
        Stage {
            name,
            source: source.clone(),
            started,
            meter: Meter {
                inner: Arc::new(MeterState {
                    bar: if metered { bar.clone() } else { None },
                    source: label,
                    started,
                    interval: shown.interval,
                    last: Mutex::new(started),
                }),
            },
            bar,
            _ticker: ticker,
        }
    }
}

const INGEST_OF_KNOWN_SIZE: &str =
    "{spinner} ingest {prefix}: [{bar:30}] {bytes}/{total_bytes}, {msg} ({elapsed})";
const INGEST: &str = "{spinner} ingest {prefix}: {msg} ({elapsed})";
const LONG_STAGE: &str = "{spinner} {prefix} ({elapsed})";

/// A bar drawn by the shared [`MultiProgress`]. It joins the group before it is styled or
/// ticks: a bar that draws on its own first leaves a line the group cannot clear.
fn new_bar(label: &str, metered: bool, bytes: Option<u64>) -> ProgressBar {
    let len = if metered { bytes } else { None };
    let template = match (metered, bytes) {
        (true, Some(_)) => INGEST_OF_KNOWN_SIZE,
        (true, None) => INGEST,
        (false, _) => LONG_STAGE,
    };
    let bar = BARS.add(ProgressBar::with_draw_target(
        len,
        ProgressDrawTarget::hidden(),
    ));
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_spinner())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// One stage under way. [`Stage::finish`] logs its end; dropping it unfinished (an error)
/// only clears its bar.
pub struct Stage {
    name: String,
    source: Option<String>,
    started: Instant,
    meter: Meter,
    bar: Option<ProgressBar>,
    _ticker: Option<Ticker>,
}

impl Stage {
    /// The handle ingest's batch stream updates.
    pub fn meter(&self) -> Meter {
        self.meter.clone()
    }

    /// Logs the stage's end with its duration and, where it has them, its row counts.
    pub fn finish(self, rows: Option<u64>, quarantined: Option<u64>) {
        let elapsed_s = (self.started.elapsed().as_millis() as f64) / 1000.0;
        tracing::info!(
            stage = self.name.as_str(),
            source = self.source.as_deref(),
            rows,
            quarantined,
            elapsed_s,
            "stage finished"
        );
    }
}

impl Drop for Stage {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            BARS.remove(bar);
        }
    }
}

/// Ingest's running counts, shown on the bar or logged every `interval`.
#[derive(Clone)]
pub struct Meter {
    inner: Arc<MeterState>,
}

struct MeterState {
    bar: Option<ProgressBar>,
    source: String,
    started: Instant,
    interval: Duration,
    last: Mutex<Instant>,
}

impl Meter {
    /// Called once per batch with the totals so far.
    pub fn update(&self, rows: u64, bytes: u64) {
        let m = &self.inner;
        if let Some(bar) = &m.bar {
            bar.set_position(bytes);
            bar.set_message(format!("{rows} rows"));
            return;
        }
        let now = Instant::now();
        {
            let mut last = m.last.lock().expect("not poisoned");
            if now.duration_since(*last) < m.interval {
                return;
            }
            *last = now;
        }
        let secs = now.duration_since(m.started).as_secs_f64().max(1e-3);
        tracing::info!(
            source = m.source.as_str(),
            rows,
            bytes,
            rows_per_s = (rows as f64 / secs).round() as u64,
            "ingest progress"
        );
    }
}

/// Logs "still running" every `interval` for a stage with no bar and no meter, so a log shows
/// a long link or measure stage is alive.
struct Ticker {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    fn start(stage: String, interval: Duration) -> Ticker {
        let every = interval.max(Duration::from_secs(1));
        let (stop, stopped) = mpsc::channel::<()>();
        let started = Instant::now();
        let thread = std::thread::Builder::new()
            .name("p20w-progress".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(every) {
                    tracing::info!(
                        stage = stage.as_str(),
                        elapsed_s = started.elapsed().as_secs(),
                        "stage still running"
                    );
                }
            })
            .ok();
        Ticker {
            stop: Some(stop),
            thread,
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_current_stage_names_the_source_being_ingested() {
        let stages = Stages::default();
        assert_eq!(stages.current(), "setup");
        let s = stages.ingest(
            "K12_Students",
            &p20w_connectors::Location::Local("/no/such/file.csv".into()),
        );
        assert_eq!(stages.current(), "ingest of source K12_Students");
        s.finish(Some(3), Some(0));
        let _link = stages.start("link");
        assert_eq!(stages.current(), "link");
    }

    #[test]
    fn without_bars_the_meter_logs_at_most_once_per_interval() {
        let meter = |interval| {
            let now = Instant::now();
            Meter {
                inner: Arc::new(MeterState {
                    bar: None,
                    source: "s".into(),
                    started: now,
                    interval,
                    last: Mutex::new(now),
                }),
            }
        };
        let slow = meter(Duration::from_secs(3600));
        slow.update(10, 100);
        assert_eq!(*slow.inner.last.lock().unwrap(), slow.inner.started);
        let every = meter(Duration::ZERO);
        every.update(10, 100);
        assert!(*every.inner.last.lock().unwrap() > every.inner.started);
    }

    #[test]
    fn bar_templates_are_valid() {
        for t in [INGEST_OF_KNOWN_SIZE, INGEST, LONG_STAGE] {
            assert!(ProgressStyle::with_template(t).is_ok(), "{t}");
        }
    }
}
