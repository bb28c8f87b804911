//! The synthetic state's ICESA and EFW2 files read back give the records its plain CSV gives:
//! the same accepted records (the CSV's hyphenated SSNs written without hyphens, as the fixed-
//! width SSN fields hold them) and the same quarantine, whichever format carries them.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{Int32Type, Int64Type};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use p20w_connectors::{Location, SourceCounts, SourceSpec, open};
use p20w_schemas::Entity;
use p20w_synth::{SynthConfig, generate_state};

fn rows(batch: &RecordBatch) -> Vec<Vec<String>> {
    let schema = batch.schema();
    (0..batch.num_rows())
        .map(|i| {
            schema
                .fields()
                .iter()
                .zip(batch.columns())
                .map(|(f, c)| {
                    if !c.is_valid(i) {
                        return String::new();
                    }
                    match f.data_type() {
                        DataType::Int32 => c.as_primitive::<Int32Type>().value(i).to_string(),
                        DataType::Int64 => c.as_primitive::<Int64Type>().value(i).to_string(),
                        _ if f.name() == "ssn" => c.as_string::<i32>().value(i).replace('-', ""),
                        _ => c.as_string::<i32>().value(i).to_string(),
                    }
                })
                .collect()
        })
        .collect()
}

/// Accepted rows, (rule, field) of quarantined rows, and counts of one source.
fn read(path: &Path, format: &str, options: &str) -> (Vec<Vec<String>>, Vec<String>, SourceCounts) {
    let mut spec = SourceSpec::new(
        "wages",
        Entity::WageRecord,
        format,
        Location::Local(path.into()),
    );
    spec.options = toml::from_str(options).unwrap();
    spec.batch_rows = 1_000;
    let mut reader = open(&spec).unwrap();
    let (mut accepted, mut quarantined) = (Vec::new(), Vec::new());
    for batch in reader.by_ref() {
        let batch = batch.unwrap();
        accepted.extend(rows(&batch.records));
        quarantined.extend(
            batch
                .quarantined
                .iter()
                .map(|q| format!("{} {:?}", q.rule.as_str(), q.field)),
        );
    }
    (accepted, quarantined, reader.summary().counts)
}

#[test]
fn icesa_and_efw2_copies_read_as_the_csv_reads() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        students: 300,
        other_workers_per_student: 0.5,
        ..SynthConfig::default()
    };
    generate_state(&cfg, dir.path()).unwrap();
    let root = dir.path().join("workforce");
    let (mut want, want_quarantined, want_counts) = read(&root.join("ui_wages.csv"), "csv", "");
    want.sort();
    let kinds: std::collections::BTreeSet<&str> = want.iter().map(|r| r[9].as_str()).collect();
    assert_eq!(
        kinds.len(),
        3,
        "the state holds every report type: {kinds:?}"
    );
    let icesa = [
        ("icesa/original.txt", "layout = \"tx\""),
        (
            "icesa/received_2025Q1.txt",
            "layout = \"tx\"\nreceived = \"2025Q1\"",
        ),
        (
            "icesa/received_2025Q2.txt",
            "layout = \"tx\"\nreceived = \"2025Q2\"",
        ),
    ];
    let efw2 = [
        ("efw2/original.txt", "report_type = \"Original\""),
        (
            "efw2/original_2025Q1.txt",
            "report_type = \"Original\"\nreceived = \"2025Q1\"",
        ),
        (
            "efw2/supplemental_2025Q1.txt",
            "report_type = \"Supplemental\"\nreceived = \"2025Q1\"",
        ),
        (
            "efw2/amendment_2025Q1.txt",
            "report_type = \"Amendment\"\nreceived = \"2025Q1\"",
        ),
        (
            "efw2/amendment_2025Q2.txt",
            "report_type = \"Amendment\"\nreceived = \"2025Q2\"",
        ),
    ];
    // The fixed-width name fields keep what fits: ICESA 12 characters of the first name and
    // 20 of the last, EFW2's state record (RS) 15 and 20.
    let cut = |rows: &[Vec<String>], first: usize, last: usize| {
        let mut rows = rows.to_vec();
        for r in &mut rows {
            r[1].truncate(first);
            r[2].truncate(last);
        }
        rows.sort();
        rows
    };
    assert!(
        want.iter().any(|r| r[2].len() > 20),
        "the state holds names longer than the fields"
    );
    for (format, files, want) in [
        ("icesa", &icesa[..], cut(&want, 12, 20)),
        ("efw2", &efw2[..], cut(&want, 15, 20)),
    ] {
        let (mut got, mut quarantined, mut counts) =
            (Vec::new(), Vec::new(), SourceCounts::default());
        for (file, options) in files {
            let options = if format == "efw2" {
                format!("layout = \"la\"\n{options}")
            } else {
                options.to_string()
            };
            let (rows, q, c) = read(&root.join(file), format, &options);
            assert!(!rows.is_empty(), "{file}");
            got.extend(rows);
            quarantined.extend(q);
            counts.read += c.read;
            counts.accepted += c.accepted;
            counts.quarantined += c.quarantined;
        }
        got.sort();
        assert_eq!(got.len(), want.len(), "{format}");
        assert!(got == want, "{format}: the records differ from the CSV's");
        assert_eq!(quarantined, want_quarantined, "{format}");
        assert_eq!(counts, want_counts, "{format}");
    }
    assert_eq!(want_quarantined, ["quarter_window Some(\"year\")"]);
}
