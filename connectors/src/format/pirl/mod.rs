//! WIOA Participant Individual Record Layout (PIRL, ETA-9172 / joint ETA-9170) as CSV →
//! `workforce_participation`.
//!
//! Columns are PIRL data elements, found by number: a header is the bare number (`900`) or the
//! number then the element's name (`900 Date of Program Entry (WIOA)`), as state exports write
//! them. Used: 2700 Social Security Number, 900 Date of Program Entry, 901 Date of Program Exit
//! (data type DT 8, `YYYYMMDD`), and the funding-stream elements (903 Adult, 904 Dislocated
//! Worker, 905 Youth, 918 Wagner-Peyser Employment Service): a nonzero value says the period of
//! participation was in that program. A PIRL record is a period of participation, and a person
//! co-enrolled in several programs is one record here per program, so `read` counts those
//! records, not lines.
//!
//! Which elements are funding streams, and which `workforce_program` code each stands for, is
//! the shipped `connectors/data/crosswalks/pirl.csv` (source code = element number), or the file
//! option `crosswalk` names, under the job's own crosswalks: a state adds a stream (e.g. its
//! element for a state-funded program) by mapping its number.

use std::path::PathBuf;

use p20w_schemas::Entity;
use serde::Deserialize;

use crate::format::shipped::{validation_with, yyyymmdd};
use crate::format::{ReadSummary, SourceReader, SourceSpec};
use crate::location::{Input, Inputs};
use crate::record::RecordBuilder;
use crate::{ConnectorError, Rule, SourceBatch};

const SHIPPED_CROSSWALK: &str = include_str!("../../../data/crosswalks/pirl.csv");

const SSN: u32 = 2700;
const ENTRY: u32 = 900;
const EXIT: u32 = 901;

/// `[sources.options]` of a `pirl` source.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// A crosswalk file used instead of the shipped `pirl.csv`.
    pub crosswalk: Option<PathBuf>,
    /// One ASCII character; `,` unless set.
    pub delimiter: Option<char>,
}

/// The element number a PIRL header names: its leading digits.
fn element_of(header: &str) -> Option<u32> {
    let h = header.trim();
    let digits: &str = &h[..h.bytes().take_while(u8::is_ascii_digit).count()];
    let rest = &h[digits.len()..];
    let separated = rest.is_empty() || rest.starts_with([' ', '-', '_', '.', ':']);
    if digits.is_empty() || !separated {
        return None;
    }
    digits.parse().ok()
}

pub fn open(spec: &SourceSpec) -> Result<PirlReader, ConnectorError> {
    let input = spec.location.open(None)?;
    from_input(spec, input)
}

/// Reads a PIRL CSV from `input`.
pub fn from_input(spec: &SourceSpec, input: Input) -> Result<PirlReader, ConnectorError> {
    let config: Config = spec.options()?;
    if spec.entity != Entity::WorkforceParticipation {
        return Err(spec.unsupported(&[Entity::WorkforceParticipation]));
    }
    let delimiter = match config.delimiter {
        None => b',',
        Some(c) if c.is_ascii() => c as u8,
        Some(_) => {
            return Err(ConnectorError::Options {
                source_name: spec.name.clone(),
                format: spec.format.clone(),
                message: "delimiter must be one ASCII character".into(),
            });
        }
    };
    let validation = validation_with(
        spec,
        "pirl.csv",
        SHIPPED_CROSSWALK,
        config.crosswalk.as_ref(),
    )?;
    let streams: Vec<u32> = validation
        .crosswalk
        .sources("workforce_program")
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect();
    let mut inputs = Inputs::default();
    inputs.track(&input);
    let file = input.name().to_string();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(input);
    let header = reader
        .byte_headers()
        .map_err(|_| ConnectorError::Format {
            file: file.clone(),
            message: "the PIRL header row cannot be read".into(),
        })?
        .clone();
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_string())
        .collect();
    let elements: Vec<Option<u32>> = names.iter().map(|n| element_of(n)).collect();
    for (i, e) in elements.iter().enumerate() {
        if e.is_some() && elements[..i].contains(e) {
            return Err(ConnectorError::DuplicateColumn {
                file,
                column: names[i].clone(),
            });
        }
    }
    let position = |element: u32| elements.iter().position(|e| *e == Some(element));
    let mut missing: Vec<String> = [
        (SSN, "2700 Social Security Number"),
        (ENTRY, "900 Date of Program Entry"),
    ]
    .iter()
    .filter(|(e, _)| position(*e).is_none())
    .map(|(_, name)| name.to_string())
    .collect();
    let stream_columns: Vec<(u32, usize)> = streams
        .iter()
        .filter_map(|s| position(*s).map(|i| (*s, i)))
        .collect();
    if stream_columns.is_empty() {
        let list: Vec<String> = streams.iter().map(u32::to_string).collect();
        missing.push(format!("a funding-stream element ({})", list.join(", ")));
    }
    if !missing.is_empty() {
        return Err(ConnectorError::MissingColumns {
            file,
            entity: spec.entity.name(),
            missing,
        });
    }
    let used: Vec<usize> = [position(SSN), position(ENTRY), position(EXIT)]
        .into_iter()
        .flatten()
        .chain(stream_columns.iter().map(|(_, i)| *i))
        .collect();
    let ignored: Vec<String> = names
        .iter()
        .enumerate()
        .filter(|(i, _)| !used.contains(i))
        .map(|(_, n)| n.clone())
        .collect();
    let mut records = RecordBuilder::new(spec.entity, validation, spec.batch_rows);
    records.set_file(&file);
    Ok(PirlReader {
        file,
        reader,
        ssn: position(SSN).expect("checked"),
        entry: position(ENTRY).expect("checked"),
        exit: position(EXIT),
        streams: stream_columns,
        header_len: names.len(),
        ignored,
        inputs,
        records,
        finished: false,
    })
}

/// Streams `workforce_participation` batches from a PIRL CSV.
pub struct PirlReader {
    file: String,
    reader: csv::Reader<Input>,
    ssn: usize,
    entry: usize,
    exit: Option<usize>,
    /// Funding-stream element numbers and their columns, in element order.
    streams: Vec<(u32, usize)>,
    header_len: usize,
    ignored: Vec<String>,
    inputs: Inputs,
    records: RecordBuilder,
    finished: bool,
}

impl SourceReader for PirlReader {
    fn summary(&self) -> ReadSummary {
        ReadSummary {
            counts: self.records.counts(),
            inputs: self.inputs.files(),
            ignored: self.ignored.clone(),
            unmapped: self.records.unmapped_codes(),
            skipped: Vec::new(),
        }
    }

    fn bytes_read(&self) -> u64 {
        self.inputs.bytes()
    }
}

impl PirlReader {
    fn next_batch(&mut self) -> Result<Option<SourceBatch>, ConnectorError> {
        let mut record = csv::ByteRecord::new();
        while !self.records.is_full() {
            let Some(line) = crate::format::csv::next_record(
                &mut self.reader,
                &mut record,
                self.header_len,
                &self.file,
                &mut self.records,
            )?
            else {
                self.finished = true;
                break;
            };
            self.push_line(line, &record);
        }
        self.records.take_batch()
    }

    /// One PIRL line: one record per funding stream it names.
    fn push_line(&mut self, line: u64, record: &csv::ByteRecord) {
        let mut columns = vec![(SSN, self.ssn), (ENTRY, self.entry)];
        columns.extend(self.exit.map(|i| (EXIT, i)));
        columns.extend(self.streams.iter().copied());
        let mut texts: Vec<(u32, &str)> = Vec::with_capacity(columns.len());
        for (element, i) in columns {
            match std::str::from_utf8(&record[i]) {
                Ok(t) => texts.push((element, t.trim())),
                Err(_) => {
                    let field = element.to_string();
                    let message = format!("element {element} is not valid UTF-8");
                    self.records
                        .reject(line, Some(&field), Rule::Encoding, message);
                    return;
                }
            }
        }
        let text = |e: u32| texts.iter().find(|(n, _)| *n == e).map_or("", |(_, t)| *t);
        let mut dates = [String::new(), String::new()];
        for (slot, element) in [ENTRY, EXIT].into_iter().enumerate() {
            match yyyymmdd(text(element)) {
                Ok(d) => dates[slot] = d,
                Err(()) => {
                    let field = element.to_string();
                    let message = format!("element {element} is not a date written YYYYMMDD");
                    self.records.reject(line, Some(&field), Rule::Date, message);
                    return;
                }
            }
        }
        let mut programs = Vec::new();
        for (element, _) in &self.streams {
            match text(*element) {
                "" | "0" => {}
                v if v.len() == 1 && v.as_bytes()[0].is_ascii_digit() => programs.push(*element),
                _ => {
                    let field = element.to_string();
                    let message =
                        format!("funding-stream element {element} is not a one-digit code");
                    self.records.reject(line, Some(&field), Rule::Code, message);
                    return;
                }
            }
        }
        if programs.is_empty() {
            let list: Vec<String> = self.streams.iter().map(|(e, _)| e.to_string()).collect();
            let message = format!(
                "the record names no program: funding-stream elements {} are all blank or 0",
                list.join(", ")
            );
            self.records
                .reject(line, Some("program_type"), Rule::Required, message);
            return;
        }
        let ssn = text(SSN);
        for program in programs {
            let program = program.to_string();
            let values: Vec<Option<&str>> = Entity::WorkforceParticipation
                .fields()
                .iter()
                .map(|f| match f.name {
                    "ssn" => Some(ssn),
                    "program_type" => Some(program.as_str()),
                    "entry_date" => Some(dates[0].as_str()),
                    "exit_date" => Some(dates[1].as_str()),
                    _ => None,
                })
                .collect();
            self.records.push(line, &values);
        }
    }
}

impl Iterator for PirlReader {
    type Item = Result<SourceBatch, ConnectorError>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        self.next_batch().transpose()
    }
}

#[cfg(test)]
mod tests;
