use std::io::{Read, Write};

use super::*;
use crate::format::fixed_width::testing::{record, rows};
use crate::location::Location;
use crate::{Rule, SourceCounts};
use p20w_schemas::Entity;

const LEN: usize = 275;

fn employer(fein: &str, account: &str, month: &str, report: &str) -> String {
    record(
        LEN,
        &[
            (1, "E"),
            (2, "2024"),
            (6, fein),
            (24, "ACME WIDGETS"),
            (167, "UTAX"),
            (171, "48"),
            (173, account),
            (188, month),
            (267, report),
        ],
    )
}

fn wage(ssn: &str, last: &str, first: &str, cents: u64, period: &str) -> String {
    let total = format!("{cents:014}");
    record(
        LEN,
        &[
            (1, "S"),
            (2, ssn),
            (11, last),
            (31, first),
            (44, "48"),
            (50, &total),
            (64, &total),
            // Taxable wages differ: the reader must take UI total wages.
            (92, "00000000000001"),
            (143, "UTAX"),
            (215, period),
        ],
    )
}

fn total(count: u64, cents: u64) -> String {
    let c = format!("{count:07}");
    let w = format!("{cents:014}");
    record(LEN, &[(1, "T"), (2, &c), (9, "UTAX"), (13, &w), (27, &w)])
}

fn file(lines: &[String], eol: &str) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for l in lines {
        f.write_all(l.as_bytes()).unwrap();
        f.write_all(eol.as_bytes()).unwrap();
    }
    f
}

fn spec(path: &std::path::Path, options: &str) -> SourceSpec {
    let mut s = SourceSpec::new(
        "wages",
        Entity::WageRecord,
        "icesa",
        Location::Local(path.to_path_buf()),
    );
    s.options = toml::from_str(options).unwrap();
    s
}

fn a_record() -> String {
    record(
        LEN,
        &[(1, "A"), (2, "2024"), (6, "987654321"), (15, "UTAX")],
    )
}

#[test]
fn wage_records_take_their_employer_and_the_file_options() {
    let lines = vec![
        a_record(),
        record(LEN, &[(1, "B"), (2, "2024"), (6, "987654321")]),
        employer("123456789", "UI0000001", "09", "A"),
        wage("219457880", "GUTIERREZ", "ROSA", 512_340, "092024"),
        wage("219457881", "DUNMORE", "CALEB", 7, ""),
        total(2, 512_347),
        employer("223456789", "UI0000002", "06", ""),
        wage("219457882", "ABARA", "IMANI", 100_000, "062024"),
        total(1, 100_000),
        record(LEN, &[(1, "F"), (2, "0000003")]),
    ];
    for eol in ["\r\n", "\n"] {
        let f = file(&lines, eol);
        let options = "report_type = \"Original\"\nreceived = \"2025Q1\"";
        let mut reader = open(&spec(f.path(), options)).unwrap();
        let batch = reader.next().unwrap().unwrap();
        assert!(reader.next().is_none());
        assert!(batch.quarantined.is_empty(), "{:?}", batch.quarantined);
        let common = |ssn: &str, first: &str, last: &str| {
            vec![
                format!("ssn={ssn}"),
                format!("first_name={first}"),
                format!("last_name={last}"),
            ]
        };
        let row = |names: Vec<String>, rest: &[&str]| {
            names
                .into_iter()
                .chain(rest.iter().map(|s| s.to_string()))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            rows(&batch.records),
            [
                row(
                    common("219457880", "ROSA", "GUTIERREZ"),
                    &[
                        "employer_fein=123456789",
                        "employer_ui_account=UI0000001",
                        "year=2024",
                        "quarter=3",
                        "wages=512340",
                        "report_type=Amendment",
                        "received_year=2025",
                        "received_quarter=1"
                    ]
                ),
                // No period of its own: the E record's payment year and quarter month.
                row(
                    common("219457881", "CALEB", "DUNMORE"),
                    &[
                        "employer_fein=123456789",
                        "employer_ui_account=UI0000001",
                        "year=2024",
                        "quarter=3",
                        "wages=7",
                        "report_type=Amendment",
                        "received_year=2025",
                        "received_quarter=1"
                    ]
                ),
                // A blank report-type code: the file's report type.
                row(
                    common("219457882", "IMANI", "ABARA"),
                    &[
                        "employer_fein=223456789",
                        "employer_ui_account=UI0000002",
                        "year=2024",
                        "quarter=2",
                        "wages=100000",
                        "report_type=Original",
                        "received_year=2025",
                        "received_quarter=1"
                    ]
                ),
            ]
        );
        assert_eq!(reader.total_mismatches(), 0);
        let expected = lines.iter().map(|l| l.len() + eol.len()).sum::<usize>();
        assert_eq!(reader.bytes_read(), expected as u64);
    }
}

#[test]
fn malformed_lines_are_quarantined_with_their_rule_and_line() {
    let good = wage("219457880", "GUTIERREZ", "ROSA", 100, "092024");
    let mut truncated = good.clone();
    truncated.truncate(200);
    let mut bad_wages = good.clone();
    bad_wages.replace_range(63..77, "00000000012A45");
    let mut bad_period = good.clone();
    bad_period.replace_range(214..220, "142024");
    let mut not_utf8 = good.clone().into_bytes();
    not_utf8[12] = 0xff;
    let mut lines: Vec<Vec<u8>> = vec![
        a_record().into_bytes(),                                    // 1
        wage("219457881", "DUNMORE", "CALEB", 1, "").into_bytes(),  // 2: before any E
        employer("123456789", "UI0000001", "09", "O").into_bytes(), // 3
        good.clone().into_bytes(),                                  // 4
        truncated.into_bytes(),                                     // 5
        record(LEN, &[(1, "X"), (2, "219457882")]).into_bytes(),    // 6
        not_utf8,                                                   // 7
        bad_wages.into_bytes(),                                     // 8
        bad_period.into_bytes(),                                    // 9
        format!("{good}{good}").into_bytes(),                       // 10: two records, one line
        total(7, 100).into_bytes(),                                 // 11: count differs
        good.clone().into_bytes(),                                  // 12: after the T
        employer("12345678X", "UI0000001", "09", "O").into_bytes(), // 13: bad FEIN
        good.clone().into_bytes(),                                  // 14
        total(1, 100).into_bytes(),                                 // 15
    ];
    let mut e_short = employer("123456789", "UI0000001", "09", "O").into_bytes();
    e_short.truncate(100);
    lines.push(e_short); // 16
    lines.push(good.clone().into_bytes()); // 17
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for l in &lines {
        f.write_all(l).unwrap();
        f.write_all(b"\n").unwrap();
    }
    let mut reader = open(&spec(f.path(), "")).unwrap();
    let batches: Vec<_> = reader.by_ref().map(|b| b.unwrap()).collect();
    let accepted: usize = batches.iter().map(|b| b.records.num_rows()).sum();
    let got: Vec<(u64, Option<&str>, Rule)> = batches
        .iter()
        .flat_map(|b| &b.quarantined)
        .map(|q| (q.line, q.field.as_deref(), q.rule))
        .collect();
    assert_eq!(
        got,
        [
            (2, None, Rule::RecordOrder),
            (5, None, Rule::RecordLength),
            (6, None, Rule::RecordType),
            (7, None, Rule::Encoding),
            (8, Some("wages"), Rule::Money),
            (9, Some("period"), Rule::Date),
            (10, None, Rule::RecordLength),
            (12, None, Rule::RecordOrder),
            (14, Some("employer_fein"), Rule::Digits),
            (16, None, Rule::RecordLength),
            (17, None, Rule::RecordOrder),
        ]
    );
    assert_eq!(accepted, 1, "line 4");
    assert_eq!(
        reader.summary().counts,
        SourceCounts {
            read: 12,
            accepted: 1,
            quarantined: 11
        },
        "every wage line and every unreadable line is counted"
    );
    assert_eq!(reader.total_mismatches(), 1, "line 11 counts 7 records");
    let skipped: Vec<(String, u64)> = reader
        .summary()
        .skipped
        .into_iter()
        .map(|s| (s.reason, s.records))
        .collect();
    let differ = "ICESA T total records whose count or UI total wages differ from their S \
                  records (the records are kept as read)";
    assert_eq!(
        skipped,
        [
            ("ICESA A records".to_string(), 1),
            ("ICESA E employer records".to_string(), 2),
            ("ICESA T total records".to_string(), 1),
            (differ.to_string(), 1),
        ],
        "with the 12 records read they account for all 17 lines"
    );
    for q in batches.iter().flat_map(|b| &b.quarantined) {
        for value in ["21945788", "GUTIERREZ", "ROSA", "12345678", "2024"] {
            assert!(!q.message.contains(value), "{}", q.message);
        }
    }
}

#[test]
fn a_total_that_differs_from_its_records_is_a_warning_and_the_records_are_kept() {
    let lines = vec![
        employer("123456789", "UI0000001", "03", "O"),
        wage("219457880", "A", "B", 100, "032024"),
        wage("219457881", "A", "B", 200, "032024"),
        total(2, 301),
    ];
    let f = file(&lines, "\n");
    let mut reader = open(&spec(f.path(), "")).unwrap();
    assert_eq!(reader.next().unwrap().unwrap().records.num_rows(), 2);
    assert_eq!(reader.total_mismatches(), 1);
}

#[test]
fn options_choose_and_check_the_layout() {
    let lines = vec![
        employer("123456789", "", "03", "O"),
        // Texas: a 9-character account at 147 and the worksite NAICS at 156.
        record(
            LEN,
            &[
                (1, "S"),
                (2, "219457880"),
                (64, "00000000010000"),
                (147, "TX1234567"),
                (156, "622110"),
                (215, "032024"),
            ],
        ),
        total(1, 10_000),
    ];
    let f = file(&lines, "\n");
    let mut reader = open(&spec(f.path(), "layout = \"tx\"")).unwrap();
    let batch = reader.next().unwrap().unwrap();
    let row = &rows(&batch.records)[0];
    assert!(
        row.contains(&"employer_naics=622110".to_string()),
        "{row:?}"
    );
    assert!(
        row.contains(&"employer_ui_account=TX1234567".to_string()),
        "{row:?}"
    );
    // The standard layout reads 147-161 as the account and knows no NAICS.
    let batch = open(&spec(f.path(), "")).unwrap().next().unwrap().unwrap();
    let row = &rows(&batch.records)[0];
    assert!(
        row.contains(&"employer_ui_account=TX1234567622110".to_string()),
        "{row:?}"
    );
    assert!(
        !row.iter().any(|v| v.starts_with("employer_naics")),
        "{row:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("mine.csv"),
        "record_type,field,start,length,kind,values\nE,employer_fein,6,9,digits,\n\
         S,ssn,2,9,text,\nS,wages,64,14,cents,\nS,employer_ui_account,147,4,text,\n\
         S,period,215,6,mmyyyy,\n",
    )
    .unwrap();
    let data = dir.path().join("wages.txt");
    std::fs::copy(f.path(), &data).unwrap();
    let batch = open(&spec(&data, "layout_file = \"mine.csv\""))
        .unwrap()
        .next()
        .unwrap()
        .unwrap();
    let row = &rows(&batch.records)[0];
    assert!(
        row.contains(&"employer_ui_account=TX12".to_string()),
        "{row:?}"
    );

    for bad in [
        "layout = \"zz\"",
        "layout = \"tx\"\nlayout_file = \"x.csv\"",
        "received = \"2025-1\"",
        "colums = 1",
    ] {
        let err = open(&spec(f.path(), bad)).err().unwrap();
        assert!(
            matches!(err, ConnectorError::Options { .. }),
            "{bad}: {err}"
        );
    }
    let err = open(&spec(&data, "layout_file = \"missing.csv\""))
        .err()
        .unwrap();
    assert!(matches!(err, ConnectorError::Io { .. }), "{err}");
}

#[test]
fn every_shipped_layout_loads() {
    for (name, _) in STRUCTURE.layouts {
        let f = file(&[], "\n");
        assert!(
            open(&spec(f.path(), &format!("layout = \"{name}\""))).is_ok(),
            "{name}"
        );
    }
}

/// A generated ICESA stream of ~2 GiB: blocks of one E, 1,000 S and one T, repeated.
struct Stream {
    block: Vec<u8>,
    blocks: u64,
    at: u64,
}

impl Read for Stream {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let len = self.block.len() as u64;
        if self.at >= len * self.blocks {
            return Ok(0);
        }
        let offset = (self.at % len) as usize;
        let n = buf.len().min(self.block.len() - offset);
        buf[..n].copy_from_slice(&self.block[offset..offset + n]);
        self.at += n as u64;
        Ok(n)
    }
}

#[test]
fn a_two_gigabyte_stream_is_read_in_bounded_batches() {
    let per_block = 1_000u64;
    let mut block = employer("123456789", "UI0000001", "09", "O") + "\r\n";
    for i in 0..per_block {
        block += &wage(
            &format!("{:09}", 219_000_000 + i),
            "WORKER",
            "",
            12_345,
            "092024",
        );
        block += "\r\n";
    }
    block += &total(per_block, per_block * 12_345);
    block += "\r\n";
    let blocks = (2u64 << 30).div_ceil(block.len() as u64);
    let stream = Stream {
        block: block.into_bytes(),
        blocks,
        at: 0,
    };
    let bytes = stream.block.len() as u64 * blocks;
    let mut source = spec(std::path::Path::new("stream.txt"), "");
    source.batch_rows = 50_000;
    let mut reader = read(&source, Input::new("stream.txt", stream)).unwrap();
    let (mut accepted, mut batches) = (0u64, 0u64);
    for batch in reader.by_ref() {
        let batch = batch.unwrap();
        assert!(batch.records.num_rows() <= 50_000);
        assert!(batch.quarantined.is_empty());
        accepted += batch.records.num_rows() as u64;
        batches += 1;
    }
    assert!(bytes >= 2 << 30);
    assert_eq!(accepted, blocks * per_block);
    assert_eq!(batches, accepted.div_ceil(50_000));
    assert_eq!(reader.bytes_read(), bytes);
    assert_eq!(reader.total_mismatches(), 0);
    assert_eq!(reader.summary().counts.read, accepted);
}
