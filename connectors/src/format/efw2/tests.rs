use std::io::Write;

use super::*;
use crate::format::fixed_width::testing::{record, rows};
use crate::location::Location;
use crate::{Rule, SourceCounts};
use p20w_schemas::Entity;

const LEN: usize = 512;

fn re(fein: &str) -> String {
    record(
        LEN,
        &[(1, "RE"), (3, "2024"), (8, fein), (40, "ACME WIDGETS")],
    )
}

fn rs(ssn: &str, cents: u64, period: &str, account: &str, naics: &str) -> String {
    let total = format!("{cents:011}");
    record(
        LEN,
        &[
            (1, "RS"),
            (3, "22"),
            (10, ssn),
            (19, "ROSA"),
            (49, "GUTIERREZ"),
            (197, period),
            (203, &total),
            // Taxable wages differ: the reader must take UI total wages.
            (214, "00000000001"),
            (248, account),
            (351, naics),
        ],
    )
}

fn spec(path: &std::path::Path, options: &str) -> SourceSpec {
    let mut s = SourceSpec::new(
        "wages",
        Entity::WageRecord,
        "efw2",
        Location::Local(path.to_path_buf()),
    );
    s.options = toml::from_str(options).unwrap();
    s
}

fn file(lines: &[String]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    for l in lines {
        f.write_all(l.as_bytes()).unwrap();
        f.write_all(b"\r\n").unwrap();
    }
    f
}

#[test]
fn state_records_take_the_employer_fein_and_the_file_report_type() {
    let lines = vec![
        record(LEN, &[(1, "RA"), (3, "987654321")]),
        rs("219457881", 100, "032024", "UI0000001", "622110"), // 2: before any RE
        re("123456789"),
        record(LEN, &[(1, "RW"), (3, "219457880")]),
        rs("219457880", 512_340, "092024", "UI0000001", "622110"),
        rs("219457882", 100, "122024", "UI0000002", ""),
        record(LEN, &[(1, "RS"), (10, "219457883")])[..300].to_string(), // 7: truncated
        record(LEN, &[(1, "RX")]),                                       // 8
        record(LEN, &[(1, "RT"), (3, "0000002")]),
        rs("219457884", 100, "122024", "UI0000002", ""), // 10: after RT
        record(LEN, &[(1, "RF")]),
    ];
    let f = file(&lines);
    let options = "layout = \"la\"\nreport_type = \"Supplemental\"\nreceived = \"2025q2\"";
    let mut reader = open(&spec(f.path(), options)).unwrap();
    let batch = reader.next().unwrap().unwrap();
    assert!(reader.next().is_none());
    let got = rows(&batch.records);
    let want = |ssn: &str, naics: Option<&str>, year: &str, q: &str, cents: &str, acct: &str| {
        let mut r = vec![
            format!("ssn={ssn}"),
            "first_name=ROSA".into(),
            "last_name=GUTIERREZ".into(),
            "employer_fein=123456789".into(),
            format!("employer_ui_account={acct}"),
        ];
        r.extend(naics.map(|n| format!("employer_naics={n}")));
        r.extend([
            format!("year={year}"),
            format!("quarter={q}"),
            format!("wages={cents}"),
            "report_type=Supplemental".into(),
            "received_year=2025".into(),
            "received_quarter=2".into(),
        ]);
        r
    };
    assert_eq!(
        got,
        [
            want(
                "219457880",
                Some("622110"),
                "2024",
                "3",
                "512340",
                "UI0000001"
            ),
            want("219457882", None, "2024", "4", "100", "UI0000002"),
        ]
    );
    let q: Vec<(u64, Rule)> = batch.quarantined.iter().map(|q| (q.line, q.rule)).collect();
    assert_eq!(
        q,
        [
            (2, Rule::RecordOrder),
            (7, Rule::RecordLength),
            (8, Rule::RecordType),
            (10, Rule::RecordOrder),
        ]
    );
    assert_eq!(
        reader.summary().counts,
        SourceCounts {
            read: 6,
            accepted: 2,
            quarantined: 4
        }
    );
}

#[test]
fn the_standard_layout_has_no_naics_and_the_report_type_defaults_to_blank() {
    let f = file(&[
        re("123456789"),
        rs("219457880", 100, "032024", "UI1", "622110"),
    ]);
    let batch = open(&spec(f.path(), "")).unwrap().next().unwrap().unwrap();
    let row = &rows(&batch.records)[0];
    assert!(
        !row.iter().any(|v| v.starts_with("employer_naics")),
        "{row:?}"
    );
    assert!(!row.iter().any(|v| v.starts_with("report_type")), "{row:?}");
    let f = file(&[re("123456789"), rs("219457880", 100, "002024", "UI1", "")]);
    let batch = open(&spec(f.path(), "")).unwrap().next().unwrap().unwrap();
    assert_eq!(batch.quarantined[0].field.as_deref(), Some("period"));
    assert_eq!(batch.quarantined[0].rule, Rule::Date);
}

#[test]
fn every_shipped_layout_loads() {
    for (name, _) in STRUCTURE.layouts {
        let f = file(&[]);
        assert!(
            open(&spec(f.path(), &format!("layout = \"{name}\""))).is_ok(),
            "{name}"
        );
    }
    let f = file(&[]);
    let mut s = spec(f.path(), "");
    s.entity = Entity::Person;
    assert!(matches!(
        open(&s).err().unwrap(),
        ConnectorError::UnsupportedEntity { .. }
    ));
}
