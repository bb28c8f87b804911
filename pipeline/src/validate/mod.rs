//! `p20w validate JOB.toml`: every source of a job read and judged as `p20w run` would judge
//! it, with nothing pseudonymized, written or published.
//!
//! Each source is opened with [`p20w_connectors::open`] on the same [`SourceConfig::spec`] as
//! `run`, so the rows a validation reports as errors are the rows a run quarantines, by the
//! same rule. On top of those row rules, validation checks what a run does not stop for: keys
//! repeated across rows and records naming a person or enrollment no source holds (see
//! [`rules`] for the tiers and ids, [`keys`] for what those checks hold in memory). The
//! report names file, line, field and rule, and never a value from the input.
//!
//! Persons are read first and postsecondary enrollments second, so that the other sources'
//! references can be checked as they stream past; every source is read once.

mod keys;
pub mod rules;
mod text;

use std::collections::BTreeMap;

use datafusion::arrow::array::AsArray;
use datafusion::arrow::datatypes::Date32Type;
use p20w_connectors::{ConnectorError, InputFile, SourceBatch, UnmappedCode, UnmappedCodes};
use p20w_schemas::Entity;
use serde::Serialize;

use crate::config::{JobConfig, SourceConfig};
use crate::progress::Stages;
use keys::{KeyReader, KeyTables, names_k12_student, natural_key};
pub use rules::{Check, Severity, TIERS};
pub use text::summary_text;

/// Exit status of a validation that found errors: rows a run would quarantine, or a source
/// it cannot read (the status `run` exits with when a source loses too many rows).
pub const EXIT_ERRORS: u8 = 3;
/// Exit status of a validation that found warnings only.
pub const EXIT_WARNINGS: u8 = 4;
/// Exit status when the job's settings for a source are wrong (as for a bad job file).
pub const EXIT_CONFIG: u8 = 2;

/// Where one finding is: never what the value was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Example {
    pub file: String,
    /// 1-based line in the file (the header is line 1); `None` for a finding about the file.
    pub line: Option<u64>,
    pub field: Option<String>,
    pub rule: String,
    /// What is wrong, in words that name fields and never carry their values.
    pub message: String,
}

/// One check's findings in one source.
#[derive(Debug, Clone, Serialize)]
pub struct RuleResult {
    pub id: String,
    pub tier: u8,
    pub severity: Severity,
    /// Rows (or, for file checks, failures) found.
    pub count: u64,
    /// The fields a duplicate-key check compares.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Vec<&'static str>>,
    /// The first findings, up to `--examples`.
    pub examples: Vec<Example>,
}

/// How far a source was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReadStatus {
    /// Read to its end.
    Complete,
    /// Could not be opened: nothing was read.
    NotOpened,
    /// Reading stopped partway; the counts cover what was read.
    Stopped,
}

/// The validation of one source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceResult {
    pub name: String,
    pub entity: String,
    pub format: String,
    pub location: String,
    pub status: ReadStatus,
    pub inputs: Vec<InputFile>,
    pub read: u64,
    pub accepted: u64,
    pub quarantined: u64,
    pub quarantined_share: f64,
    pub max_quarantined_share: f64,
    /// More rows quarantined than `max_quarantined_share` allows: `run` would stop here.
    pub exceeds_max_quarantined_share: bool,
    /// `run` would fail on this source: it exceeds the share, or cannot be read to its end.
    pub run_would_fail: bool,
    pub ignored_columns: Vec<String>,
    /// Codes neither canonical nor crosswalked, with their row counts; a code that could be an
    /// identifier (six digits or more in a row) is withheld, as in the run report.
    pub unmapped_codes: Vec<UnmappedCode>,
    /// Findings per check, by tier and id.
    pub rules: Vec<RuleResult>,
    /// Checks that could not be made for this source, and why.
    pub not_checked: Vec<String>,
}

/// The validation's verdict, which the exit status carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Clean,
    Warnings,
    Errors,
    /// A source's settings in the job are wrong: fix the job file first.
    Config,
}

impl Outcome {
    pub fn exit_code(self) -> u8 {
        match self {
            Outcome::Clean => 0,
            Outcome::Warnings => EXIT_WARNINGS,
            Outcome::Errors => EXIT_ERRORS,
            Outcome::Config => EXIT_CONFIG,
        }
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    pub sources: usize,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_quarantined: u64,
    /// Findings of severity error (summed over checks).
    pub errors: u64,
    pub warnings: u64,
}

/// What the key checks held in memory at their peak (see `validate/keys.rs`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct KeyMemory {
    pub keys: u64,
    pub approx_bytes: u64,
}

/// The whole validation, as `--json` writes it.
#[derive(Debug, Clone, Serialize)]
pub struct ValidationReport {
    pub format: &'static str,
    pub tool_version: &'static str,
    pub job: String,
    pub agreement_id: String,
    pub outcome: Outcome,
    pub exit_code: u8,
    pub totals: Totals,
    pub key_tables: KeyMemory,
    /// In the job file's order.
    pub sources: Vec<SourceResult>,
}

/// Validates every source of `job`, keeping up to `examples` examples per check and source.
pub fn validate_job(job: &JobConfig, examples: usize) -> ValidationReport {
    let stages = Stages::default();
    // References point at persons and at postsecondary enrollments: read those first.
    let mut order: Vec<usize> = (0..job.sources.len()).collect();
    order.sort_by_key(|&i| match job.sources[i].entity {
        Entity::Person => 0,
        Entity::PsEnrollment => 1,
        _ => 2,
    });
    let mut tables = KeyTables::default();
    let mut results: Vec<Option<SourceResult>> = vec![None; job.sources.len()];
    let mut peak = KeyMemory::default();
    for i in order {
        let source = &job.sources[i];
        let complete = |entity: Entity| {
            let of: Vec<usize> = (0..job.sources.len())
                .filter(|&j| job.sources[j].entity == entity)
                .collect();
            !of.is_empty()
                && of.iter().all(|&j| {
                    results[j]
                        .as_ref()
                        .is_some_and(|r| r.status == ReadStatus::Complete)
                })
        };
        let refs = References {
            students: complete(Entity::Person),
            ps_enrollments: complete(Entity::PsEnrollment),
        };
        let stage = stages.ingest(&source.name, &source.location);
        let result = validate_source(source, &mut tables, refs, examples, &stage);
        stage.finish(Some(result.read), Some(result.quarantined));
        tracing::info!(
            source = source.name.as_str(),
            read = result.read,
            quarantined = result.quarantined,
            findings = result.rules.len(),
            "source validated"
        );
        if tables.bytes() > peak.approx_bytes {
            peak = KeyMemory {
                keys: tables.keys(),
                approx_bytes: tables.bytes(),
            };
        }
        results[i] = Some(result);
    }
    let sources: Vec<SourceResult> = results.into_iter().flatten().collect();
    let mut totals = Totals {
        sources: sources.len(),
        ..Totals::default()
    };
    let mut config = false;
    for s in &sources {
        totals.rows_read += s.read;
        totals.rows_accepted += s.accepted;
        totals.rows_quarantined += s.quarantined;
        for r in &s.rules {
            match r.severity {
                Severity::Error => totals.errors += r.count,
                Severity::Warning => totals.warnings += r.count,
            }
            config |= r.id == Check::Options.id();
        }
    }
    let outcome = match (config, totals.errors, totals.warnings) {
        (true, _, _) => Outcome::Config,
        (_, 1.., _) => Outcome::Errors,
        (_, _, 1..) => Outcome::Warnings,
        _ => Outcome::Clean,
    };
    ValidationReport {
        format: "p20w-validation/1",
        tool_version: env!("CARGO_PKG_VERSION"),
        job: job.job_path.display().to_string(),
        agreement_id: job.agreement_id.clone(),
        outcome,
        exit_code: outcome.exit_code(),
        totals,
        key_tables: peak,
        sources,
    }
}

/// Which reference checks can be made: only against sources read to their end, or every
/// record would seem to name someone missing.
#[derive(Debug, Clone, Copy)]
struct References {
    students: bool,
    ps_enrollments: bool,
}

/// A check's running count and first examples.
#[derive(Default)]
struct Tally {
    count: u64,
    examples: Vec<Example>,
}

struct Findings {
    limit: usize,
    by_check: BTreeMap<Check, Tally>,
}

impl Findings {
    fn add(
        &mut self,
        check: Check,
        file: &str,
        line: Option<u64>,
        field: Option<&str>,
        message: impl FnOnce() -> String,
    ) {
        let tally = self.by_check.entry(check).or_default();
        tally.count += 1;
        if tally.examples.len() < self.limit {
            tally.examples.push(Example {
                file: file.to_string(),
                line,
                field: field.map(str::to_string),
                rule: check.id(),
                message: message(),
            });
        }
    }

    fn count(&mut self, check: Check, n: u64) {
        if n > 0 {
            self.by_check.entry(check).or_default().count += n;
        }
    }

    fn results(self, entity: Entity) -> Vec<RuleResult> {
        let mut out: Vec<RuleResult> = self
            .by_check
            .into_iter()
            .map(|(check, t)| RuleResult {
                id: check.id(),
                tier: check.tier(),
                severity: check.severity(),
                count: t.count,
                key: (check == Check::DuplicateKey)
                    .then(|| natural_key(entity).map(<[_]>::to_vec))
                    .flatten(),
                examples: t.examples,
            })
            .collect();
        out.sort_by(|a, b| (a.tier, &a.id).cmp(&(b.tier, &b.id)));
        out
    }
}

/// The check a connector error falls under: the job's settings, or the file itself.
fn open_check(e: &ConnectorError) -> Check {
    match e {
        ConnectorError::Options { .. }
        | ConnectorError::UnknownFormat { .. }
        | ConnectorError::UnsupportedEntity { .. } => Check::Options,
        _ => Check::Open,
    }
}

fn error_line(e: &ConnectorError) -> Option<u64> {
    match e {
        ConnectorError::Csv { line, .. } if *line > 0 => Some(*line),
        _ => None,
    }
}

fn validate_source(
    source: &SourceConfig,
    tables: &mut KeyTables,
    refs: References,
    examples: usize,
    stage: &crate::progress::Stage,
) -> SourceResult {
    let mut findings = Findings {
        limit: examples,
        by_check: BTreeMap::new(),
    };
    let location = source.location.describe();
    let mut not_checked = Vec::new();
    if names_k12_student(source.entity) && !refs.students {
        not_checked.push(format!(
            "{}: no person source was read to its end",
            Check::UnknownStudent.id()
        ));
    }
    if source.entity == Entity::PsAward && !refs.ps_enrollments {
        not_checked.push(format!(
            "{} and {}: no ps_enrollment source was read to its end",
            Check::AwardWithoutEnrollment.id(),
            Check::AwardBeforeEnrollment.id()
        ));
    }
    let (status, summary) = match p20w_connectors::open(&source.spec()) {
        Err(e) => {
            // The error names the file and what is wrong with its layout, not its rows.
            findings.add(open_check(&e), &location, error_line(&e), None, || {
                e.to_string()
            });
            (ReadStatus::NotOpened, Default::default())
        }
        Ok(mut reader) => {
            let meter = stage.meter();
            let mut status = ReadStatus::Complete;
            loop {
                match reader.next() {
                    None => break,
                    Some(Ok(batch)) => {
                        for q in &batch.quarantined {
                            findings.add(
                                Check::row(q.rule),
                                &q.file,
                                Some(q.line),
                                q.field.as_deref(),
                                || q.message.clone(),
                            );
                        }
                        check_accepted(source.entity, &batch, tables, refs, &mut findings);
                    }
                    Some(Err(e)) => {
                        findings.add(Check::Read, &location, error_line(&e), None, || {
                            e.to_string()
                        });
                        status = ReadStatus::Stopped;
                        break;
                    }
                }
                meter.update(reader.summary().counts.read, reader.bytes_read());
            }
            (status, reader.summary())
        }
    };
    let counts = summary.counts;
    if source.validation.unmapped == UnmappedCodes::NotReported {
        // Each unmapped value was either replaced (the row goes on) or, where its code set has
        // no not-reported code, quarantined its row under `unmapped_code`.
        let seen: u64 = summary.unmapped.iter().map(|u| u.rows).sum();
        let quarantined = findings
            .by_check
            .get(&Check::row(p20w_connectors::Rule::UnmappedCode))
            .map_or(0, |t| t.count);
        findings.count(Check::UnmappedNotReported, seen.saturating_sub(quarantined));
    }
    let exceeds = source.loses_too_many(counts.read, counts.quarantined);
    SourceResult {
        name: source.name.clone(),
        entity: source.entity.name().to_string(),
        format: source.format.clone(),
        location,
        status,
        inputs: summary.inputs,
        read: counts.read,
        accepted: counts.accepted,
        quarantined: counts.quarantined,
        quarantined_share: if counts.read == 0 {
            0.0
        } else {
            counts.quarantined as f64 / counts.read as f64
        },
        max_quarantined_share: source.max_quarantined_share,
        exceeds_max_quarantined_share: exceeds,
        run_would_fail: exceeds || status != ReadStatus::Complete,
        ignored_columns: summary.ignored,
        unmapped_codes: summary.unmapped,
        rules: findings.results(source.entity),
        not_checked,
    }
}

/// Tiers 4 and 6 on one batch of accepted rows.
fn check_accepted(
    entity: Entity,
    batch: &SourceBatch,
    tables: &mut KeyTables,
    refs: References,
    findings: &mut Findings,
) {
    let records = &batch.records;
    let rows = records.num_rows();
    if let Some(fields) = natural_key(entity) {
        let key = KeyReader::new(records, entity, fields);
        let seen = tables.seen.entry(entity).or_default();
        for row in 0..rows {
            if let Some(h) = key.hash(row)
                && !seen.insert(h)
            {
                let (file, line) = batch.place(row);
                findings.add(Check::DuplicateKey, file, Some(line), None, || {
                    format!("repeats the {} of an earlier row", fields.join(", "))
                });
            }
        }
    }
    let student = || KeyReader::new(records, entity, &["state_student_id"]);
    let enrollment = || {
        KeyReader::new(
            records,
            entity,
            &["institution_id", "institution_student_id"],
        )
    };
    let days = |field: &str| {
        let i = entity
            .fields()
            .iter()
            .position(|f| f.name == field)
            .expect("a field of the entity");
        records.column(i).as_primitive::<Date32Type>().clone()
    };
    match entity {
        Entity::Person => {
            let key = student();
            tables
                .students
                .extend((0..rows).filter_map(|r| key.hash(r)));
        }
        e if names_k12_student(e) && refs.students => {
            let key = student();
            for row in 0..rows {
                if key.hash(row).is_some_and(|h| !tables.students.contains(&h)) {
                    let (file, line) = batch.place(row);
                    findings.add(
                        Check::UnknownStudent,
                        file,
                        Some(line),
                        Some("state_student_id"),
                        || "state_student_id has no accepted row in any person source".into(),
                    );
                }
            }
        }
        Entity::PsEnrollment => {
            let (key, begin) = (enrollment(), days("begin_date"));
            for row in 0..rows {
                if let Some(h) = key.hash(row) {
                    let first = tables.first_ps_begin.entry(h).or_insert(i32::MAX);
                    *first = (*first).min(begin.value(row));
                }
            }
        }
        Entity::PsAward if refs.ps_enrollments => {
            let (key, awarded) = (enrollment(), days("award_date"));
            for row in 0..rows {
                let Some(h) = key.hash(row) else { continue };
                let (file, line) = batch.place(row);
                match tables.first_ps_begin.get(&h) {
                    None => findings.add(
                        Check::AwardWithoutEnrollment,
                        file,
                        Some(line),
                        Some("institution_student_id"),
                        || {
                            "institution_id and institution_student_id have no accepted \
                             postsecondary enrollment"
                                .into()
                        },
                    ),
                    Some(first) if awarded.value(row) < *first => findings.add(
                        Check::AwardBeforeEnrollment,
                        file,
                        Some(line),
                        Some("award_date"),
                        || {
                            "award_date is before the begin_date of the student's first \
                             enrollment at the institution"
                                .into()
                        },
                    ),
                    Some(_) => {}
                }
            }
        }
        _ => {}
    }
}
