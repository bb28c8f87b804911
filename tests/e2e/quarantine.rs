//! Bad rows are quarantined with a reason, counts reconcile, and the run completes.

use std::io::Write;

use crate::common::{read_csv, run, scratch, synthesize};

#[test]
fn malformed_rows_are_quarantined_and_the_run_completes() {
    let dir = scratch("quarantine");
    synthesize(&dir, "600");
    let wages = dir.join("workforce/ui_wages.csv");
    let wage_text = std::fs::read_to_string(&wages).unwrap();
    let wage_lines = wage_text.lines().count() as u64;
    // The generator's stray 2099 record: after the current quarter, so quarantined.
    let stray_line = 1 + wage_text
        .lines()
        .position(|l| l.split(',').nth(6) == Some("2099"))
        .expect("synth writes one stray 2099 wage row") as u64;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&wages)
        .unwrap();
    // Quarter 7 does not exist; a short row; a bad amount.
    writeln!(f, "219457880,,,123456789,UI0000001,622110,2023,7,100.00,,,").unwrap();
    writeln!(f, "219457881,,,123456789,UI0000001").unwrap();
    writeln!(
        f,
        "219457882,,,123456789,UI0000001,622110,2023,2,12,000.00,,,"
    )
    .unwrap();
    let students = dir.join("k12/students.csv");
    let student_lines = std::fs::read_to_string(&students).unwrap().lines().count() as u64;
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&students)
        .unwrap();
    writeln!(
        f,
        "S999999999,,Zed,Q,2004-02-30,Female,No,No,No,No,No,Yes,,,,,,,,"
    )
    .unwrap();

    let (release, stdout) = run(&dir.join("job-csv.toml"));
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("run_report.json")).unwrap())
            .unwrap();
    for s in report["sources"].as_array().unwrap() {
        let (read, acc, q) = (
            s["read"].as_u64().unwrap(),
            s["accepted"].as_u64().unwrap(),
            s["quarantined"].as_u64().unwrap(),
        );
        assert_eq!(read, acc + q, "{}", s["name"]);
        let file = std::path::Path::new(s["file"].as_str().unwrap());
        let data_lines = std::fs::read_to_string(file).unwrap().lines().count() as u64 - 1;
        assert_eq!(read, data_lines, "{}: every data line is read", s["name"]);
        let expected_q = match s["name"].as_str().unwrap() {
            "ui_wages" => 4,
            "k12_students" => 1,
            _ => 0,
        };
        assert_eq!(q, expected_q, "{}", s["name"]);
        let by_rule = s["quarantined_by_rule"].as_object().unwrap();
        let summed: u64 = by_rule.values().map(|n| n.as_u64().unwrap()).sum();
        assert_eq!(summed, q, "{}: the per-rule counts add up", s["name"]);
    }
    let wages = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "ui_wages")
        .unwrap();
    assert_eq!(
        wages["quarantined_by_rule"],
        // the two appended rows of the wrong length, quarter 7, and synth's stray 2099 row
        serde_json::json!({"field_count": 2, "quarter_window": 1, "range": 1})
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("manifest.json")).unwrap())
            .unwrap();
    let entry = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "quarantine.csv")
        .unwrap();
    assert_eq!(
        entry["rows"], 5,
        "the manifest counts the streamed quarantine's rows"
    );
    let rows = read_csv(&release.join("quarantine.csv"));
    let got: Vec<(String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["source"].clone(),
                r["line"].clone(),
                r["field"].clone(),
                r["rule"].clone(),
            )
        })
        .collect();
    let w = |n: u64| (n + 1).to_string();
    assert_eq!(
        got,
        [
            (
                "k12_students".into(),
                w(student_lines),
                "birth_date".into(),
                "date".into()
            ),
            (
                "ui_wages".into(),
                stray_line.to_string(),
                "year".into(),
                "quarter_window".into()
            ),
            (
                "ui_wages".into(),
                w(wage_lines),
                "quarter".into(),
                "range".into()
            ),
            (
                "ui_wages".into(),
                w(wage_lines + 1),
                "".into(),
                "field_count".into()
            ),
            (
                "ui_wages".into(),
                w(wage_lines + 2),
                "".into(),
                "field_count".into()
            ),
        ]
    );
    let text = std::fs::read_to_string(release.join("quarantine.csv")).unwrap();
    for value in ["219457880", "S999999999", "Zed", "2004-02-30"] {
        assert!(!text.contains(value), "quarantine must not carry values");
    }
    assert!(stdout.contains("quarantined"));
}

/// A state too small to publish anything, with an empty source, still produces a complete
/// release in which every cell is suppressed.
#[test]
fn a_tiny_state_with_an_empty_source_publishes_only_suppressed_cells() {
    let dir = scratch("tiny");
    synthesize(&dir, "20");
    let programs = dir.join("workforce/program_participation.csv");
    let header = std::fs::read_to_string(&programs)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string();
    std::fs::write(&programs, header + "\n").unwrap();
    let (release, _) = run(&dir.join("job-csv.toml"));
    for family in ["postsecondary_enrollment", "employment_earnings"] {
        let out = crate::common::p20w(&[
            "query",
            release.to_str().unwrap(),
            &format!(
                "SELECT status, count(*) AS n, count(numerator) AS shown FROM {family} GROUP BY status"
            ),
            "--format",
            "csv",
        ]);
        let text = String::from_utf8(out.stdout).unwrap();
        let rows: Vec<&str> = text.lines().skip(1).collect();
        assert_eq!(rows.len(), 1, "{family}: {text}");
        assert!(
            rows[0].starts_with("suppressed,") && rows[0].ends_with(",0"),
            "{family}: {text}"
        );
    }
}
