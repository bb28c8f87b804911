//! The human summary `p20w validate` prints on stdout.

use std::fmt::Write;

use super::{Outcome, ReadStatus, ValidationReport};

fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Per source: counts, the run's verdict, and each check with its count and example places;
/// then the totals and the outcome with its exit status.
pub fn summary_text(r: &ValidationReport) -> String {
    let mut out = String::new();
    let mut line = |s: String| {
        out.push_str(&s);
        out.push('\n');
    };
    line(format!(
        "validation of {} (agreement {}), {}; nothing was written but its audit-log entry",
        r.job,
        r.agreement_id,
        plural(r.totals.sources as u64, "source", "sources")
    ));
    for s in &r.sources {
        line(format!(
            "source {} ({}, {}): read {}, accepted {}, quarantined {} ({:.2}%; the job allows \
             {:.2}%)",
            s.name,
            s.entity,
            s.format,
            s.read,
            s.accepted,
            s.quarantined,
            s.quarantined_share * 100.0,
            s.max_quarantined_share * 100.0
        ));
        match s.status {
            ReadStatus::Complete => {}
            ReadStatus::NotOpened => line("  could not be opened: run would fail here".into()),
            ReadStatus::Stopped => line("  reading stopped partway: run would fail here".into()),
        }
        if s.exceeds_max_quarantined_share {
            line(
                "  more rows quarantined than max_quarantined_share allows: run would stop here"
                    .into(),
            );
        }
        for rule in &s.rules {
            let mut text = format!(
                "  {:<7} {:<32} {}",
                rule.severity.as_str(),
                rule.id,
                rule.count
            );
            if let Some(key) = &rule.key {
                let _ = write!(text, " (key: {})", key.join(", "));
            }
            line(text);
            for e in &rule.examples {
                let mut at = e.file.clone();
                if let Some(l) = e.line {
                    let _ = write!(at, ":{l}");
                }
                if let Some(f) = &e.field {
                    let _ = write!(at, " {f}");
                }
                line(format!("            {at}: {}", e.message));
            }
        }
        if !s.unmapped_codes.is_empty() {
            let codes: Vec<String> = s
                .unmapped_codes
                .iter()
                .map(|u| {
                    let code = u
                        .code
                        .as_deref()
                        .map_or("(withheld)".to_string(), |c| format!("{c:?}"));
                    format!("{} {code} ({})", u.field, plural(u.rows, "row", "rows"))
                })
                .collect();
            line(format!("  unmapped codes: {}", codes.join(", ")));
        }
        if !s.ignored_columns.is_empty() {
            line(format!(
                "  ignored columns (not in the model): {}",
                s.ignored_columns.join(", ")
            ));
        }
        for n in &s.not_checked {
            line(format!("  not checked: {n}"));
        }
    }
    let t = &r.totals;
    line(format!(
        "total: {} read, {} accepted, {} quarantined; {}, {}",
        plural(t.rows_read, "row", "rows"),
        t.rows_accepted,
        t.rows_quarantined,
        plural(t.errors, "error", "errors"),
        plural(t.warnings, "warning", "warnings")
    ));
    line(format!(
        "key checks held {} keys in about {} MiB",
        r.key_tables.keys,
        r.key_tables.approx_bytes.div_ceil(1 << 20)
    ));
    let verdict = match r.outcome {
        Outcome::Clean => "clean",
        Outcome::Warnings => "warnings only",
        Outcome::Errors => "errors",
        Outcome::Config => "the job's settings for a source are wrong",
    };
    line(format!("result: {verdict} (exit status {})", r.exit_code));
    out
}
