//! The `p20w` binary's log output, installed once at start: a `RUST_LOG` filter (info for the
//! p20w crates and warn for the rest unless told otherwise), text or one JSON object per line,
//! always on stderr so stdout keeps only results. The libraries only emit events; none of
//! them installs a subscriber.
//!
//! Events never carry a key, an identifier or a field value: file names, line numbers, counts,
//! rule ids and stage names only.

use std::fmt::Debug;
use std::io::{IsTerminal, Write};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, MakeWriter};
use tracing_subscriber::prelude::*;
use tracing_subscriber::registry::LookupSpan;

/// How log events are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// The filter used when `RUST_LOG` is unset or empty. `RUST_LOG` takes the same form: a
/// default level and `target=level` pairs, comma-separated.
pub const DEFAULT_FILTER: &str = "warn,p20w=info,p20w_pipeline=info,p20w_connectors=info,\
    p20w_privacy=info,p20w_schemas=info,p20w_synth=info";

/// Installs the process's subscriber. A `RUST_LOG` that does not parse is reported (as a
/// warning) and the default filter is used instead.
pub fn init(format: LogFormat) {
    let (filter, rejected) = filter_from(std::env::var("RUST_LOG").ok().as_deref());
    let layer = tracing_subscriber::fmt::layer().with_writer(StderrAboveBars);
    let installed = match format {
        LogFormat::Text => tracing_subscriber::registry()
            .with(
                layer
                    .with_target(false)
                    .with_ansi(std::io::stderr().is_terminal())
                    .with_filter(filter),
            )
            .try_init(),
        LogFormat::Json => tracing_subscriber::registry()
            .with(layer.event_format(JsonLines).with_filter(filter))
            .try_init(),
    };
    if installed.is_ok()
        && let Some(reason) = rejected
    {
        tracing::warn!(%reason, "RUST_LOG ignored; using the default filter");
    }
}

/// The filter for a `RUST_LOG` value, and why the value was rejected if it was.
fn filter_from(rust_log: Option<&str>) -> (Targets, Option<String>) {
    let default = || {
        DEFAULT_FILTER
            .parse::<Targets>()
            .expect("the default filter parses")
    };
    match rust_log.map(str::trim).filter(|v| !v.is_empty()) {
        None => (default(), None),
        Some(v) => match v.parse::<Targets>() {
            Ok(f) => (f, None),
            Err(e) => (default(), Some(e.to_string())),
        },
    }
}

/// One JSON object per event and line: timestamp, level, target, message and the event's
/// fields at the top level.
struct JsonLines;

impl<S, N> FormatEvent<S, N> for JsonLines
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let mut timestamp = String::new();
        SystemTime.format_time(&mut Writer::new(&mut timestamp))?;
        let meta = event.metadata();
        let mut object = JsonFields(Map::new());
        object.0.insert("timestamp".into(), timestamp.into());
        object
            .0
            .insert("level".into(), meta.level().to_string().into());
        object.0.insert("target".into(), meta.target().into());
        event.record(&mut object);
        let line = serde_json::to_string(&object.0).map_err(|_| std::fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

struct JsonFields(Map<String, Value>);

impl Visit for JsonFields {
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
}

/// Stderr, written with the progress bars cleared so lines and bars never mix.
struct StderrAboveBars;

impl<'a> MakeWriter<'a> for StderrAboveBars {
    type Writer = AboveBars;
    fn make_writer(&'a self) -> AboveBars {
        AboveBars
    }
}

struct AboveBars;

impl Write for AboveBars {
    // The fmt layer hands over each formatted event in one write_all.
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        crate::progress::suspend(|| std::io::stderr().lock().write_all(buf))?;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    #[test]
    fn the_default_filter_parses_and_a_bad_rust_log_is_reported() {
        assert!(filter_from(None).1.is_none());
        assert!(filter_from(Some("  ")).1.is_none());
        assert!(filter_from(Some("p20w_pipeline=debug")).1.is_none());
        assert!(filter_from(Some("p20w_pipeline=loud")).1.is_some());
    }

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn json_lines_carry_level_message_and_typed_fields() {
        let out = Captured::default();
        let sink = out.clone();
        let subscriber = tracing_subscriber::registry().with(
            tracing_subscriber::fmt::layer()
                .with_writer(move || sink.clone())
                .event_format(JsonLines)
                .with_filter(filter_from(Some("info")).0),
        );
        tracing::subscriber::with_default(subscriber, || {
            let stage = "link";
            tracing::info!(
                stage,
                rows = 12u64,
                elapsed_s = 0.5,
                ok = true,
                "stage finished"
            );
            tracing::debug!("not shown at info");
        });
        let text = String::from_utf8(out.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1, "{text}");
        let v: Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["level"], "INFO");
        assert_eq!(v["message"], "stage finished");
        assert_eq!(v["stage"], "link");
        assert_eq!(v["rows"], 12);
        assert_eq!(v["elapsed_s"], 0.5);
        assert_eq!(v["ok"], true);
        assert!(v["timestamp"].as_str().unwrap().contains('T'));
    }
}
