use std::io::{Read, Write};

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Date32Type;
use p20w_schemas::Date;

use super::*;
use crate::SourceCounts;
use crate::format::SkippedRecords;
use crate::location::Location;

const HEADER: &str = "Your Unique Identifier,First Name,Middle Initial,Last Name,Name Suffix,\
Requester Return Field,Record Found Y/N,Search Date,College Code/Branch,College Name,\
College State,2-year / 4-year,Public / Private,Enrollment Begin,Enrollment End,\
Enrollment Status,Class Level,Enrollment Major 1,Enrollment CIP 1,Enrollment Major 2,\
Enrollment CIP 2,Graduated?,Graduation Date,Degree Title,Degree Major 1,Degree CIP 1,\
Degree Major 2,Degree CIP 2,Degree Major 3,Degree CIP 3,Degree Major 4,Degree CIP 4,\
College Sequence";

/// One detail row in the 33-column layout; `e` = (level, begin, end, status), `d` = (graduated,
/// date, title, cip).
fn row(id: &str, found: &str, e: [&str; 4], d: [&str; 4]) -> String {
    format!(
        "U1,ANA,,DIAZ,,{id},{found},20240101,001234-00,STATE U,ST,{},Public,{},{},{},F,,,,,{},{},{},\
         NURSING,{},,,,,,,1",
        e[0], e[1], e[2], e[3], d[0], d[1], d[2], d[3]
    )
}

fn enrollment(id: &str, status: &str) -> String {
    row(
        id,
        "Y",
        ["4", "20230828", "20231215", status],
        ["N", "", "", ""],
    )
}

fn degree(id: &str, title: &str, cip: &str) -> String {
    row(id, "Y", ["", "", "", ""], ["Y", "20240510", title, cip])
}

fn not_found(id: &str) -> String {
    row(id, "N", ["", "", "", ""], ["", "", "", ""])
}

fn write(lines: &[String]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "{HEADER}").unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
    f
}

fn spec(path: &std::path::Path, entity: Entity) -> SourceSpec {
    SourceSpec::new("nsc", entity, "nsc", Location::Local(path.to_path_buf()))
}

fn read_all(spec: &SourceSpec) -> (Vec<SourceBatch>, ReadSummary) {
    let mut reader = open(spec).unwrap();
    let batches: Vec<SourceBatch> = reader.by_ref().map(Result::unwrap).collect();
    (batches, reader.summary())
}

fn quarantined(batches: &[SourceBatch]) -> Vec<(u64, Option<String>, Rule)> {
    batches
        .iter()
        .flat_map(|b| &b.quarantined)
        .map(|q| (q.line, q.field.clone(), q.rule))
        .collect()
}

fn strings(batches: &[SourceBatch], column: &str) -> Vec<Option<String>> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b.records.column_by_name(column).unwrap().as_string::<i32>();
            (0..c.len())
                .map(|i| c.is_valid(i).then(|| c.value(i).to_string()))
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn every_row_kind_is_read_by_its_source_and_counted_by_the_other() {
    let f = write(&[
        enrollment("S1", "F"),
        enrollment("S1", "W"),
        enrollment("S2", ""),
        not_found("S3"),
        degree("S1", "Bachelor of Science in Nursing", "513801"),
        enrollment("S4", "Q"),
    ]);
    let (batches, summary) = read_all(&spec(f.path(), Entity::PsEnrollment));
    assert_eq!(
        summary.counts,
        SourceCounts {
            read: 4,
            accepted: 4,
            quarantined: 0
        }
    );
    assert_eq!(
        summary.skipped,
        [
            SkippedRecords {
                reason: "not_found".into(),
                records: 1
            },
            SkippedRecords {
                reason: "degree_row".into(),
                records: 1
            }
        ]
    );
    let status = strings(&batches, "enrollment_status");
    let want = ["01", "Withdrawn", "NotReported", "02"];
    assert_eq!(status, want.map(|s| Some(s.to_string())));
    let ids = strings(&batches, "state_student_id");
    assert_eq!(ids[0].as_deref(), Some("S1"));
    assert_eq!(strings(&batches, "institution_student_id")[0], None);
    assert_eq!(
        strings(&batches, "institution_level")[0].as_deref(),
        Some("FourYear")
    );
    assert_eq!(
        strings(&batches, "institution_id")[0].as_deref(),
        Some("001234-00")
    );
    let begin = batches[0]
        .records
        .column_by_name("begin_date")
        .unwrap()
        .as_primitive::<Date32Type>()
        .value(0);
    assert_eq!(begin, Date::new(2023, 8, 28).unwrap().to_days());

    let (batches, summary) = read_all(&spec(f.path(), Entity::PsAward));
    assert_eq!(summary.counts.accepted, 1);
    assert_eq!(
        summary.counts.read + 5,
        6,
        "the other five rows are skipped"
    );
    let skipped: u64 = summary.skipped.iter().map(|s| s.records).sum();
    assert_eq!(skipped, 5);
    assert_eq!(strings(&batches, "award_level")[0].as_deref(), Some("05"));
    assert_eq!(strings(&batches, "cip_code")[0].as_deref(), Some("51.3801"));
}

#[test]
fn the_return_field_can_name_another_identifier() {
    let f = write(&[enrollment("219457880", "F")]);
    let mut source = spec(f.path(), Entity::PsEnrollment);
    source.options = toml::from_str("return_field = \"ssn\"").unwrap();
    let (batches, _) = read_all(&source);
    assert_eq!(strings(&batches, "ssn")[0].as_deref(), Some("219457880"));
    assert_eq!(strings(&batches, "state_student_id")[0], None);
    source.options = toml::from_str("return_field = \"email\"").unwrap();
    assert!(matches!(
        open(&source).err().unwrap(),
        ConnectorError::Options { .. }
    ));
    source.options = toml::from_str("return_feld = \"ssn\"").unwrap();
    assert!(matches!(
        open(&source).err().unwrap(),
        ConnectorError::Options { .. }
    ));
}

#[test]
fn columns_are_found_by_name_in_any_order_and_spacing() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        f,
        "enrollment status,Graduated?,2-year/4-year,ENROLLMENT END,Enrollment Begin,\
         College Code/Branch,Record Found Y/N,Requester Return Field"
    )
    .unwrap();
    writeln!(f, "H,N,2,20240510,20240110,009999-01,Y,S9").unwrap();
    let (batches, summary) = read_all(&spec(f.path(), Entity::PsEnrollment));
    assert_eq!(summary.counts.accepted, 1, "{:?}", quarantined(&batches));
    assert_eq!(
        strings(&batches, "institution_level")[0].as_deref(),
        Some("TwoToFour")
    );
}

#[test]
fn a_bad_nsc_header_names_the_missing_columns() {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        f,
        "First Name,Last Name,Requester Return Field,College Code/Branch,Enrollment Begin"
    )
    .unwrap();
    writeln!(f, "ANA,DIAZ,S1,001234-00,20230828").unwrap();
    let err = open(&spec(f.path(), Entity::PsEnrollment)).err().unwrap();
    let ConnectorError::MissingColumns { missing, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(
        missing,
        &[
            "Record Found Y/N",
            "Graduated?",
            "2-year / 4-year",
            "Enrollment End",
            "Enrollment Status"
        ]
    );
    let message = err.to_string();
    assert!(message.contains("Enrollment End"), "{message}");
    let err = open(&spec(f.path(), Entity::PsAward)).err().unwrap();
    assert!(err.to_string().contains("Degree Title"), "{err}");
    let err = open(&spec(f.path(), Entity::WageRecord)).err().unwrap();
    assert!(
        matches!(err, ConnectorError::UnsupportedEntity { .. }),
        "{err}"
    );
}

#[test]
fn malformed_rows_are_quarantined_on_their_line_without_their_values() {
    let mut bad_utf8 = enrollment("S5", "F").into_bytes();
    let at = bad_utf8.iter().position(|b| *b == b'A').unwrap();
    bad_utf8[at] = 0xFF;
    let mut f = tempfile::NamedTempFile::new().unwrap();
    writeln!(f, "{HEADER}").unwrap();
    writeln!(f, "{}", enrollment("S1", "F")).unwrap(); // line 2
    writeln!(
        f,
        "{}",
        row(
            "S2",
            "Y",
            ["4", "20231345", "20231215", "F"],
            ["N", "", "", ""]
        )
    )
    .unwrap(); // line 3: month 13
    writeln!(f, "{}", enrollment("S3", "X")).unwrap(); // line 4: unknown status
    f.write_all(&bad_utf8).unwrap(); // line 5
    writeln!(f).unwrap();
    writeln!(
        f,
        "{}",
        row("S6", "maybe", ["", "", "", ""], ["", "", "", ""])
    )
    .unwrap(); // 6
    writeln!(f, "{}", enrollment("", "F")).unwrap(); // line 7: no link key
    writeln!(f, "S7,Y,short").unwrap(); // line 8
    writeln!(f, "{}", degree("S8", "Doctor of Philosophy", "26.0101")).unwrap(); // line 9
    let (batches, summary) = read_all(&spec(f.path(), Entity::PsEnrollment));
    assert_eq!(
        quarantined(&batches),
        [
            (3, Some("Enrollment Begin".into()), Rule::Date),
            (4, Some("enrollment_status".into()), Rule::UnmappedCode),
            (5, Some("First Name".into()), Rule::Encoding),
            (6, Some("Record Found Y/N".into()), Rule::Code),
            (7, Some("Requester Return Field".into()), Rule::Required),
            (8, None, Rule::FieldCount),
        ]
    );
    assert_eq!(
        summary.counts.read,
        summary.counts.accepted + summary.counts.quarantined
    );
    assert_eq!(summary.counts.read + 1, 8, "every data row is counted once");
    for q in batches.iter().flat_map(|b| &b.quarantined) {
        for value in ["20231345", "S2", "S3", "ANA", "DIAZ", "maybe"] {
            assert!(!q.message.contains(value), "{}", q.message);
        }
    }
    assert_eq!(summary.unmapped[0].code.as_deref(), Some("X"));

    // The doctorate has no award level in the canonical set: unmapped, reported by title.
    let (batches, summary) = read_all(&spec(f.path(), Entity::PsAward));
    let award_rules: Vec<Rule> = quarantined(&batches).iter().map(|q| q.2).collect();
    assert!(award_rules.contains(&Rule::UnmappedCode), "{award_rules:?}");
    assert!(
        summary
            .unmapped
            .iter()
            .any(|u| u.code.as_deref() == Some("DOCTOR OF PHILOSOPHY")),
        "{:?}",
        summary.unmapped
    );
}

#[test]
fn a_job_crosswalk_overrides_the_shipped_one() {
    let f = write(&[
        enrollment("S1", "Q"),
        degree("S1", "Diploma in Welding", "48.0508"),
    ]);
    let mut job = p20w_schemas::Crosswalk::default();
    job.add_csv(
        "job.csv",
        "code_set,source_code,code\naward_level,DIPLOMA,02\nps_enrollment_status,Q,01\n",
    )
    .unwrap();
    let mut source = spec(f.path(), Entity::PsEnrollment);
    source.validation.crosswalk = std::sync::Arc::new(job);
    let (batches, _) = read_all(&source);
    assert_eq!(
        strings(&batches, "enrollment_status")[0].as_deref(),
        Some("01")
    );
    source.entity = Entity::PsAward;
    let (batches, _) = read_all(&source);
    assert_eq!(strings(&batches, "award_level")[0].as_deref(), Some("02"));
}

/// A generated NSC return file of about 2 GB, never held in memory: the reader streams it in
/// bounded batches and its counts reconcile with the rows generated.
#[test]
fn a_two_gigabyte_stream_reads_in_bounded_memory() {
    const TARGET: u64 = 2 << 30;
    struct Generated {
        pending: Vec<u8>,
        at: usize,
        produced: u64,
        rows: u64,
    }
    impl Read for Generated {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.at == self.pending.len() {
                if self.produced >= TARGET {
                    return Ok(0);
                }
                self.pending.clear();
                self.at = 0;
                if self.produced == 0 {
                    self.pending.extend_from_slice(HEADER.as_bytes());
                    self.pending.push(b'\n');
                }
                for _ in 0..1000 {
                    let id = format!("S{}", self.rows);
                    let line = match self.rows % 4 {
                        3 => not_found(&id),
                        _ => enrollment(&id, "F"),
                    };
                    self.pending.extend_from_slice(line.as_bytes());
                    self.pending.push(b'\n');
                    self.rows += 1;
                }
                self.produced += self.pending.len() as u64;
            }
            let n = out.len().min(self.pending.len() - self.at);
            out[..n].copy_from_slice(&self.pending[self.at..self.at + n]);
            self.at += n;
            Ok(n)
        }
    }
    let generated = Generated {
        pending: Vec::new(),
        at: 0,
        produced: 0,
        rows: 0,
    };
    let mut source = SourceSpec::new(
        "nsc",
        Entity::PsEnrollment,
        "nsc",
        Location::Local("-".into()),
    );
    source.batch_rows = 50_000;
    let mut reader = from_input(&source, Input::new("generated.csv", generated)).unwrap();
    let mut accepted = 0u64;
    for batch in reader.by_ref() {
        let batch = batch.unwrap();
        assert!(batch.records.num_rows() <= 50_000);
        assert!(batch.quarantined.is_empty());
        accepted += batch.records.num_rows() as u64;
    }
    let summary = reader.summary();
    assert!(reader.bytes_read() >= TARGET, "{}", reader.bytes_read());
    let not_found = summary.skipped[0].records;
    assert_eq!(summary.counts.accepted, accepted);
    assert_eq!(
        accepted,
        not_found * 3,
        "three enrollment rows per not-found row"
    );
    assert!(accepted > 5_000_000);
    if let Some(peak) = peak_rss_mib() {
        assert!(
            peak < 1024,
            "peak resident memory {peak} MiB for a 2 GiB input"
        );
    }
}

/// The process's peak resident set (Linux), in MiB.
fn peak_rss_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}
