//! Fixed-width UI wage reports (ICESA, EFW2): one reader for both, driven by a [`Structure`]
//! (record length, record types and which of them opens an employer, carries a wage, totals
//! an employer) and a [`Layout`] table (which bytes hold which field), so the slicing is
//! written once and a state's variant is data.
//!
//! A wage record takes the fields its employer record carries (FEIN, UI account, period,
//! report type) unless it gives them itself. Only wage records are counted as read; a line
//! that is neither a good structural record nor a wage record (unknown type, wrong length,
//! not UTF-8, out of order) is quarantined too, so every line is accounted for.

pub mod layout;
mod lines;
#[cfg(test)]
pub(crate) mod testing;

use std::path::{Path, PathBuf};

use p20w_schemas::Entity;
use serde::Deserialize;

use crate::format::{ReadSummary, SkippedRecords, SourceSpec};
use crate::location::{Input, Inputs, Location};
use crate::record::RecordBuilder;
use crate::{ConnectorError, Rule, SourceBatch};
use layout::{Decoded, Layout, TOTAL_RECORDS, decode};
use lines::{Line, Lines};

/// `[sources.options]` of an `icesa` or `efw2` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A shipped layout (`standard` unless set; see `connectors/data/layouts/`).
    pub layout: Option<String>,
    /// A layout table of one's own; a relative path is taken from the source file's folder.
    pub layout_file: Option<String>,
    /// The report type of the file's records where the layout gives none or it is blank.
    pub report_type: Option<String>,
    /// When the file was received, `YYYYQn` (e.g. `2025Q1`).
    pub received: Option<String>,
}

/// What a fixed-width format prescribes, whatever the state.
pub struct Structure {
    pub format: &'static str,
    pub record_len: usize,
    /// Bytes of the record type at the start of each record.
    pub type_len: usize,
    pub employer: &'static str,
    pub wage: &'static str,
    /// The record that closes an employer's wage records.
    pub total: &'static str,
    /// The record that ends the file.
    pub last: &'static str,
    /// Every record type the format knows.
    pub types: &'static [&'static str],
    /// Shipped layouts: (name, table).
    pub layouts: &'static [(&'static str, &'static str)],
}

impl Structure {
    /// The layout `config` selects, checked against this structure.
    pub fn layout(&self, spec: &SourceSpec, config: &Config) -> Result<Layout, ConnectorError> {
        let options = |message: String| ConnectorError::Options {
            source_name: spec.name.clone(),
            format: spec.format.clone(),
            message,
        };
        let (origin, text) = match (&config.layout_file, &config.layout) {
            (Some(_), Some(_)) => {
                return Err(options("set layout or layout_file, not both".into()));
            }
            (Some(file), None) => {
                let path = layout_path(&spec.location, file);
                let text = std::fs::read_to_string(&path).map_err(|source| ConnectorError::Io {
                    file: path.display().to_string(),
                    source,
                })?;
                (path.display().to_string(), text)
            }
            (None, name) => {
                let name = name.as_deref().unwrap_or("standard");
                let Some((_, table)) = self.layouts.iter().find(|(n, _)| *n == name) else {
                    let known: Vec<&str> = self.layouts.iter().map(|(n, _)| *n).collect();
                    return Err(options(format!(
                        "layout {name:?} is not shipped; shipped layouts: {known:?}"
                    )));
                };
                (format!("layout {name}"), table.to_string())
            }
        };
        let layout = Layout::parse(&text, self.record_len, self.types)
            .map_err(|e| options(format!("{origin}: {e}")))?;
        if layout.fields_of(self.wage).is_empty() {
            return Err(options(format!(
                "{origin}: describes no field of the {} record",
                self.wage
            )));
        }
        Ok(layout)
    }
}

fn layout_path(location: &Location, file: &str) -> PathBuf {
    let p = Path::new(file);
    match location {
        Location::Local(root) if p.is_relative() => root
            .parent()
            .map_or_else(|| p.to_path_buf(), |dir| dir.join(p)),
        _ => p.to_path_buf(),
    }
}

/// Opens `spec`'s file with `structure`.
pub fn open(
    spec: &SourceSpec,
    structure: &'static Structure,
) -> Result<FixedWidthReader, ConnectorError> {
    let input = spec.location.open(None)?;
    read(spec, structure, input)
}

/// Reads `input` (any byte stream) as `spec`'s source with `structure`.
pub fn read(
    spec: &SourceSpec,
    structure: &'static Structure,
    input: Input,
) -> Result<FixedWidthReader, ConnectorError> {
    if spec.entity != Entity::WageRecord {
        return Err(spec.unsupported(&[Entity::WageRecord]));
    }
    let config: Config = spec.options()?;
    let layout = structure.layout(spec, &config)?;
    let options = |message: String| ConnectorError::Options {
        source_name: spec.name.clone(),
        format: spec.format.clone(),
        message,
    };
    let fields = Entity::WageRecord.fields();
    let index = |name: &str| {
        fields
            .iter()
            .position(|f| f.name == name)
            .expect("model field")
    };
    let mut defaults: Vec<Option<String>> = vec![None; fields.len()];
    defaults[index("report_type")] = config.report_type.clone();
    if let Some(received) = &config.received {
        let (year, quarter) = parse_received(received)
            .ok_or_else(|| options("received must be written YYYYQn, e.g. 2025Q1".into()))?;
        defaults[index("received_year")] = Some(year);
        defaults[index("received_quarter")] = Some(quarter);
    }
    let mut inputs = Inputs::default();
    inputs.track(&input);
    let file = input.name().to_string();
    let mut records = RecordBuilder::new(spec.entity, spec.validation.clone(), spec.batch_rows);
    records.set_file(&file);
    tracing::debug!(file = %file, format = structure.format, "source opened");
    Ok(FixedWidthReader {
        structure,
        file,
        lines: Lines::new(input, structure.record_len + 1),
        layout,
        defaults,
        year: index("year"),
        quarter: index("quarter"),
        wages: index("wages"),
        employer: Employer::None,
        block: Block::default(),
        total_mismatches: 0,
        skipped: std::collections::BTreeMap::new(),
        inputs,
        records,
        finished: false,
    })
}

fn parse_received(text: &str) -> Option<(String, String)> {
    let (year, quarter) = text.trim().split_once(['Q', 'q'])?;
    let ok = year.len() == 4
        && year.bytes().all(|b| b.is_ascii_digit())
        && matches!(quarter, "1" | "2" | "3" | "4");
    ok.then(|| (year.to_string(), quarter.to_string()))
}

/// The employer record the next wage records belong to.
enum Employer {
    /// No employer record yet.
    None,
    /// The employer record on this line, with its fields in model order.
    Open(u64, Vec<Option<String>>),
    /// The employer record on this line was quarantined, so its wage records cannot be read.
    Rejected(u64),
    /// The employer's records were closed by the total (or last) record on this line.
    Closed(u64),
}

/// What an employer's wage records add up to, for its total record.
#[derive(Default)]
struct Block {
    records: u64,
    cents: u64,
    /// Whether every wage record's amount could be read (else the amount is not compared).
    cents_complete: bool,
}

/// Streams [`SourceBatch`]es from an ICESA or EFW2 file.
pub struct FixedWidthReader {
    structure: &'static Structure,
    file: String,
    lines: Lines<Input>,
    layout: Layout,
    /// Field texts from the source options, in model order.
    defaults: Vec<Option<String>>,
    year: usize,
    quarter: usize,
    wages: usize,
    employer: Employer,
    block: Block,
    total_mismatches: u64,
    /// Lines that are not wage records and were used as structure, by reason: with
    /// `counts.read` they account for every line.
    skipped: std::collections::BTreeMap<String, u64>,
    inputs: Inputs,
    records: RecordBuilder,
    finished: bool,
}

/// Where a record could not be read: field (if one) and rule with a message free of values.
type Rejection = (Option<String>, Rule, String);

impl FixedWidthReader {
    pub fn summary(&self) -> ReadSummary {
        ReadSummary {
            counts: self.records.counts(),
            inputs: self.inputs.files(),
            ignored: Vec::new(),
            unmapped: self.records.unmapped_codes(),
            skipped: self
                .skipped
                .iter()
                .map(|(reason, records)| SkippedRecords {
                    reason: reason.clone(),
                    records: *records,
                })
                .collect(),
        }
    }

    pub fn bytes_read(&self) -> u64 {
        self.inputs.bytes()
    }

    /// Total records whose count or amount differed from their employer's wage records.
    pub fn total_mismatches(&self) -> u64 {
        self.total_mismatches
    }

    fn next_batch(&mut self) -> Result<Option<SourceBatch>, ConnectorError> {
        let s = self.structure;
        while !self.records.is_full() {
            let next = self
                .lines
                .next_line()
                .map_err(|source| ConnectorError::Io {
                    file: self.file.clone(),
                    source,
                })?;
            let Some((line, bytes)) = next else {
                self.finished = true;
                break;
            };
            let bytes = match bytes {
                Line::Overlong => {
                    let message = format!(
                        "is longer than the {}-byte {} record",
                        s.record_len, s.format
                    );
                    self.records.reject(line, None, Rule::RecordLength, message);
                    continue;
                }
                // An empty line holds no record (a blank line at the end of a file).
                Line::Bytes([]) => {
                    self.skip("blank lines".into());
                    continue;
                }
                Line::Bytes(b) => b,
            };
            let kind = bytes
                .get(..s.type_len)
                .and_then(|t| std::str::from_utf8(t).ok());
            let record_type = kind.and_then(|k| s.types.iter().copied().find(|t| *t == k));
            let Ok(text) = std::str::from_utf8(bytes) else {
                self.reject_line(
                    line,
                    record_type,
                    None,
                    Rule::Encoding,
                    "is not valid UTF-8".into(),
                );
                continue;
            };
            let Some(record_type) = record_type else {
                let message = format!(
                    "record type is not one of the {} types {:?}",
                    s.format, s.types
                );
                self.records.reject(line, None, Rule::RecordType, message);
                continue;
            };
            if text.len() != s.record_len {
                let message = format!(
                    "is {} bytes; {} {record_type} records are {}",
                    text.len(),
                    s.format,
                    s.record_len
                );
                self.reject_line(line, Some(record_type), None, Rule::RecordLength, message);
                continue;
            }
            let text = text.to_string();
            if record_type == s.employer {
                self.employer_record(line, &text);
            } else if record_type == s.wage {
                self.wage_record(line, &text);
            } else if record_type == s.total {
                self.total_record(line, &text);
            } else {
                if record_type == s.last {
                    self.close_employer(line);
                }
                self.skip(format!("{} {record_type} records", s.format));
            }
        }
        self.records.take_batch()
    }

    fn skip(&mut self, reason: String) {
        *self.skipped.entry(reason).or_default() += 1;
    }

    /// Quarantines a line; a rejected employer record takes its wage records with it.
    fn reject_line(
        &mut self,
        line: u64,
        record_type: Option<&str>,
        field: Option<&str>,
        rule: Rule,
        message: String,
    ) {
        if record_type == Some(self.structure.employer) {
            self.employer = Employer::Rejected(line);
            self.block = Block::default();
        }
        self.records.reject(line, field, rule, message);
    }

    /// The record's fields in model order; `None` where the layout gives none or it is blank.
    fn fields(
        &self,
        record_type: &str,
        text: &str,
    ) -> Result<(Vec<Option<String>>, u64), Rejection> {
        let mut out = vec![None; Entity::WageRecord.fields().len()];
        let mut total_records = 0;
        for f in self.layout.fields_of(record_type) {
            let Some(raw) = text.get(f.offset..f.offset + f.len) else {
                let message = format!("{} splits a multi-byte character", f.field);
                return Err((Some(f.field.clone()), Rule::Encoding, message));
            };
            let decoded = decode(&f.kind, raw).map_err(|(rule, message)| {
                (
                    Some(f.field.clone()),
                    rule,
                    format!("{} {message}", f.field),
                )
            })?;
            match decoded {
                Decoded::Blank => {}
                Decoded::Period(year, quarter) => {
                    out[self.year] = Some(year);
                    out[self.quarter] = Some(quarter);
                }
                Decoded::One(v) if f.field == TOTAL_RECORDS => {
                    total_records = v.parse().unwrap_or(0);
                }
                Decoded::One(v) => {
                    let i = Entity::WageRecord
                        .fields()
                        .iter()
                        .position(|m| m.name == f.field)
                        .expect("layout fields are checked at open");
                    out[i] = Some(v);
                }
            }
        }
        Ok((out, total_records))
    }

    fn employer_record(&mut self, line: u64, text: &str) {
        self.warn_if_unclosed(line);
        match self.fields(self.structure.employer, text) {
            Ok((values, _)) => {
                let s = self.structure;
                self.skip(format!("{} {} employer records", s.format, s.employer));
                self.employer = Employer::Open(line, values);
                self.block = Block {
                    cents_complete: true,
                    ..Block::default()
                };
            }
            Err((field, rule, message)) => {
                let message = format!("{} record: {message}", self.structure.employer);
                self.reject_line(
                    line,
                    Some(self.structure.employer),
                    field.as_deref(),
                    rule,
                    message,
                );
            }
        }
    }

    fn wage_record(&mut self, line: u64, text: &str) {
        let s = self.structure;
        let employer_values = match &self.employer {
            Employer::Open(_, values) => values.clone(),
            other => {
                let message = match other {
                    Employer::None => format!(
                        "{} record before any {} employer record",
                        s.wage, s.employer
                    ),
                    Employer::Rejected(at) => format!(
                        "{} record whose {} employer record (line {at}) was quarantined",
                        s.wage, s.employer
                    ),
                    Employer::Closed(at) | Employer::Open(at, _) => format!(
                        "{} record after its employer's records were closed (line {at})",
                        s.wage
                    ),
                };
                self.records.reject(line, None, Rule::RecordOrder, message);
                return;
            }
        };
        self.block.records += 1;
        let own = match self.fields(s.wage, text) {
            Ok((own, _)) => own,
            Err((field, rule, message)) => {
                self.block.cents_complete = false;
                self.records.reject(line, field.as_deref(), rule, message);
                return;
            }
        };
        let values: Vec<Option<String>> = own
            .into_iter()
            .zip(employer_values)
            .zip(&self.defaults)
            .map(|((own, employer), default)| own.or(employer).or_else(|| default.clone()))
            .collect();
        match values[self.wages].as_deref().and_then(crate::parse_cents) {
            Some(c) => self.block.cents += c as u64,
            None => self.block.cents_complete = false,
        }
        let texts: Vec<Option<&str>> = values.iter().map(|v| v.as_deref()).collect();
        self.records.push(line, &texts);
    }

    fn total_record(&mut self, line: u64, text: &str) {
        let s = self.structure;
        if !matches!(self.employer, Employer::Open(..)) {
            if matches!(self.employer, Employer::Rejected(_)) {
                self.employer = Employer::Closed(line);
                self.skip(format!("{} {} total records", s.format, s.total));
                return;
            }
            let message = format!(
                "{} record without an open {} employer record",
                s.total, s.employer
            );
            self.records.reject(line, None, Rule::RecordOrder, message);
            return;
        }
        let mismatches = self.total_mismatches;
        let checks = self.layout.fields_of(s.total);
        if !checks.is_empty() {
            match self.fields(s.total, text) {
                Ok((values, count)) => {
                    let mut differs = Vec::new();
                    if checks.iter().any(|f| f.field == TOTAL_RECORDS)
                        && count != self.block.records
                    {
                        differs.push("record count");
                    }
                    let amount = values[self.wages].as_deref().and_then(crate::parse_cents);
                    if let Some(total) = amount
                        && self.block.cents_complete
                        && total as u64 != self.block.cents
                    {
                        differs.push("UI total wages");
                    }
                    if !differs.is_empty() {
                        self.total_mismatches += 1;
                        tracing::warn!(
                            file = %self.file,
                            line,
                            differs = ?differs,
                            "the {} record's totals differ from its employer's {} records; \
                             the records are kept as read",
                            s.total,
                            s.wage
                        );
                    }
                }
                Err((field, _, message)) => {
                    self.total_mismatches += 1;
                    tracing::warn!(file = %self.file, line, field = ?field, "{} record: {message}", s.total);
                }
            }
        }
        self.employer = Employer::Closed(line);
        let reason = if self.total_mismatches > mismatches {
            format!(
                "{} {} total records whose count or UI total wages differ from their {} \
                 records (the records are kept as read)",
                s.format, s.total, s.wage
            )
        } else {
            format!("{} {} total records", s.format, s.total)
        };
        self.skip(reason);
    }

    /// A new employer or the file's last record closes the employer before it; a missing
    /// total record is only a warning: its employer's wage records were all read.
    fn warn_if_unclosed(&mut self, line: u64) {
        if let Employer::Open(at, _) = self.employer {
            tracing::warn!(
                file = %self.file,
                line = at,
                "{} employer record without a {} total record before line {line}",
                self.structure.employer,
                self.structure.total
            );
        }
    }

    fn close_employer(&mut self, line: u64) {
        self.warn_if_unclosed(line);
        self.employer = Employer::Closed(line);
    }
}

impl Iterator for FixedWidthReader {
    type Item = Result<SourceBatch, ConnectorError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        self.next_batch().transpose()
    }
}

impl crate::format::SourceReader for FixedWidthReader {
    fn summary(&self) -> ReadSummary {
        FixedWidthReader::summary(self)
    }
    fn bytes_read(&self) -> u64 {
        FixedWidthReader::bytes_read(self)
    }
}
