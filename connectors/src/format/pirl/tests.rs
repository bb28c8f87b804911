use std::io::Write;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::Date32Type;
use p20w_schemas::Date;

use super::*;
use crate::SourceCounts;
use crate::location::Location;

fn write(bytes: &[u8]) -> tempfile::NamedTempFile {
    let mut f = tempfile::NamedTempFile::new().unwrap();
    f.write_all(bytes).unwrap();
    f
}

fn spec(path: &std::path::Path) -> SourceSpec {
    SourceSpec::new(
        "pirl",
        Entity::WorkforceParticipation,
        "pirl",
        Location::Local(path.to_path_buf()),
    )
}

fn read_all(spec: &SourceSpec) -> (Vec<SourceBatch>, ReadSummary) {
    let mut reader = open(spec).unwrap();
    let batches: Vec<SourceBatch> = reader.by_ref().map(Result::unwrap).collect();
    (batches, reader.summary())
}

fn programs(batches: &[SourceBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| {
            let c = b
                .records
                .column_by_name("program_type")
                .unwrap()
                .as_string::<i32>();
            (0..c.len())
                .map(|i| c.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn named_and_bare_element_headers_read_alike() {
    let named = "OBS Number,100 Unique Individual Identifier (WIOA),2700 Social Security Number,\
                 900 Date of Program Entry (WIOA),901 Date of Program Exit (WIOA),903 Adult (WIOA),\
                 904 Dislocated Worker (WIOA),905 Youth (WIOA),918 Wagner-Peyser Employment Service (WIOA)\n\
                 000000001,A1,219457880,20230105,20230630,1,0,0,0\n\
                 000000002,A2,219457881,20230210,,0,2,0,1\n";
    let bare = "OBS Number,100,2700,900,901,903,904,905,918\n\
                000000001,A1,219457880,20230105,20230630,1,0,0,0\n\
                000000002,A2,219457881,20230210,,0,2,0,1\n";
    for text in [named, bare] {
        let f = write(text.as_bytes());
        let (batches, summary) = read_all(&spec(f.path()));
        assert_eq!(
            summary.counts,
            SourceCounts {
                read: 3,
                accepted: 3,
                quarantined: 0
            },
            "a co-enrolled participant is one record per program"
        );
        assert_eq!(programs(&batches), ["02", "03", "01"]);
        let entry = batches[0].records.column_by_name("entry_date").unwrap();
        let entry = entry.as_primitive::<Date32Type>();
        assert_eq!(entry.value(0), Date::new(2023, 1, 5).unwrap().to_days());
        let exit = batches[0].records.column_by_name("exit_date").unwrap();
        assert!(exit.is_null(1), "an open period has no exit date");
        assert!(summary.ignored.iter().any(|c| c.starts_with("100")));
    }
}

#[test]
fn missing_elements_are_named() {
    let f = write(b"100 Unique Individual Identifier,901 Date of Program Exit,1000 Something\nA1,20230101,1\n");
    let err = open(&spec(f.path())).err().unwrap();
    let ConnectorError::MissingColumns { missing, .. } = &err else {
        panic!("{err}");
    };
    assert_eq!(missing.len(), 3, "{missing:?}");
    assert!(missing[0].starts_with("2700"));
    assert!(missing[1].starts_with("900"));
    assert!(missing[2].contains("903"), "{}", missing[2]);
    let f = write(b"2700,900,900 Date of Program Entry,903\n");
    assert!(matches!(
        open(&spec(f.path())).err().unwrap(),
        ConnectorError::DuplicateColumn { .. }
    ));
}

#[test]
fn malformed_records_are_quarantined_on_their_line_without_values() {
    let mut text = b"2700,900,901,903,904\n".to_vec();
    text.extend_from_slice(b"219457880,20230105,,1,0\n"); // 2 ok
    text.extend_from_slice(b"219457881,20230230,,1,0\n"); // 3 not a date
    text.extend_from_slice(b"219457882,20230105,2023-06-30,1,0\n"); // 4 wrong date form
    text.extend_from_slice(b"219457883,20230105,,Y,0\n"); // 5 bad stream value
    text.extend_from_slice(b"219457884,20230105,,0,0\n"); // 6 no program
    text.extend_from_slice(b"21945\xff7885,20230105,,1,0\n"); // 7 bad UTF-8
    text.extend_from_slice(b",20230105,,1,0\n"); // 8 no SSN
    text.extend_from_slice(b"219457886,20230105\n"); // 9 short
    let f = write(&text);
    let (batches, summary) = read_all(&spec(f.path()));
    let got: Vec<(u64, Option<&str>, Rule)> = batches
        .iter()
        .flat_map(|b| &b.quarantined)
        .map(|q| (q.line, q.field.as_deref(), q.rule))
        .collect();
    assert_eq!(
        got,
        [
            (3, Some("900"), Rule::Date),
            (4, Some("901"), Rule::Date),
            (5, Some("903"), Rule::Code),
            (6, Some("program_type"), Rule::Required),
            (7, Some("2700"), Rule::Encoding),
            (8, Some("ssn"), Rule::Required),
            (9, None, Rule::FieldCount),
        ]
    );
    assert_eq!(
        summary.counts,
        SourceCounts {
            read: 8,
            accepted: 1,
            quarantined: 7
        }
    );
    for q in batches.iter().flat_map(|b| &b.quarantined) {
        assert!(!q.message.contains("21945"), "{}", q.message);
        assert!(!q.message.contains("20230230"), "{}", q.message);
    }
}

#[test]
fn a_state_adds_a_funding_stream_by_crosswalk() {
    let f = write(b"2700,900,903,950 State Apprenticeship Program\n219457880,20230105,0,1\n");
    let (_, summary) = read_all(&spec(f.path()));
    assert_eq!(summary.counts.quarantined, 1, "950 is no stream by default");
    let mut job = p20w_schemas::Crosswalk::default();
    job.add_csv(
        "job.csv",
        "code_set,source_code,code\nworkforce_program,950,13\n",
    )
    .unwrap();
    let mut source = spec(f.path());
    source.validation.crosswalk = std::sync::Arc::new(job);
    let (batches, summary) = read_all(&source);
    assert_eq!(summary.counts.accepted, 1);
    assert_eq!(programs(&batches), ["13"]);
}
