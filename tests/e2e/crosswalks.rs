//! Agency codes and a state's own programme catalogue are data given at run time, and a source
//! that loses too many rows stops the run instead of thinning it.

use std::path::Path;
use std::process::Command;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::DataType;

use crate::common::{BIN, release_tables, run, scratch, synthesize};

/// `job.toml` of `dir` with `top` lines added before the sources and `from` → `to` replaced.
fn job_variant(dir: &Path, name: &str, top: &str, from: &str, to: &str) -> std::path::PathBuf {
    let job = std::fs::read_to_string(dir.join("job-csv.toml")).unwrap();
    assert!(job.contains(from), "job.toml names {from}");
    let (head, sources) = job.split_once("[[sources]]").unwrap();
    let text = format!("{head}\n{top}\n[[sources]]{}", sources.replace(from, to));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// Rewrites column `column` of a CSV file through `f`, into `to`.
fn rewrite_column(from: &Path, to: &Path, column: &str, f: impl Fn(&str) -> String) {
    let mut r = csv::Reader::from_path(from).unwrap();
    let headers = r.headers().unwrap().clone();
    let i = headers.iter().position(|h| h == column).unwrap();
    let mut w = csv::Writer::from_path(to).unwrap();
    w.write_record(&headers).unwrap();
    for rec in r.records() {
        let rec = rec.unwrap();
        let row: Vec<String> = rec
            .iter()
            .enumerate()
            .map(|(j, v)| if j == i { f(v) } else { v.to_string() })
            .collect();
        w.write_record(&row).unwrap();
    }
    w.flush().unwrap();
}

fn outcome_tables(release: &Path) -> Vec<(String, Vec<RecordBatch>)> {
    release_tables(release)
        .into_iter()
        .filter(|(name, _)| !name.starts_with("report"))
        .collect()
}

fn run_failing(job: &Path) -> (i32, String) {
    let out = Command::new(BIN)
        .args(["run", job.to_str().unwrap()])
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn local_codes_map_through_a_crosswalk_or_stop_the_run() {
    let dir = scratch("crosswalks");
    synthesize(&dir, "600");
    let (plain, _) = run(&dir.join("job-csv.toml"));

    // The same students, with the agency's own one-letter sex codes.
    let local = |v: &str| match v {
        "Female" => "F".to_string(),
        "Male" => "M".to_string(),
        "NotSelected" => "U".to_string(),
        other => panic!("unexpected sex code {other}"),
    };
    rewrite_column(
        &dir.join("k12/students.csv"),
        &dir.join("k12/students_local.csv"),
        "sex",
        local,
    );
    std::fs::write(
        dir.join("local_sex.csv"),
        "code_set,source_code,code\nsex,F,Female\nsex,M,Male\nsex,U,NotSelected\n",
    )
    .unwrap();

    let unmapped = job_variant(
        &dir,
        "job-unmapped.toml",
        "",
        "k12/students.csv",
        "k12/students_local.csv",
    );
    let (code, stderr) = run_failing(&unmapped);
    assert_eq!(
        code, 3,
        "a source losing every row fails the run:\n{stderr}"
    );
    assert!(
        stderr.contains("k12_students") && stderr.contains("max_quarantined_share"),
        "{stderr}"
    );

    let mapped = job_variant(
        &dir,
        "job-mapped.toml",
        "crosswalks = [\"local_sex.csv\"]",
        "k12/students.csv",
        "k12/students_local.csv",
    );
    let (release, _) = run(&mapped);
    assert_ne!(release, plain, "other inputs, other release");
    assert_eq!(
        outcome_tables(&release),
        outcome_tables(&plain),
        "crosswalked codes publish the same figures"
    );
}

#[test]
fn a_state_catalogue_admits_programmes_the_shipped_one_lacks() {
    let dir = scratch("catalogue");
    synthesize(&dir, "600");
    // Every course of the most common programme moves to a CIP code the shipped catalogue lacks.
    let courses = crate::common::read_csv(&dir.join("k12/cte_courses.csv"));
    let mut counts = std::collections::BTreeMap::<String, usize>::new();
    for c in &courses {
        *counts.entry(c["cip_code"].clone()).or_default() += 1;
    }
    let (moved, n) = counts.iter().max_by_key(|(_, n)| **n).unwrap();
    assert!(
        *n * 20 > courses.len(),
        "the moved programme is over 5% of courses"
    );
    const NEW: &str = "15.0613";
    rewrite_column(
        &dir.join("k12/cte_courses.csv"),
        &dir.join("k12/cte_courses_state.csv"),
        "cip_code",
        |v| if v == moved { NEW.into() } else { v.into() },
    );
    let shipped = include_str!("../../schemas/data/cte_programs.csv");
    assert!(!shipped.contains(NEW));
    let moved_row = shipped
        .lines()
        .find(|l| l.starts_with(moved.as_str()))
        .unwrap();
    let cluster = moved_row.split(',').rev().nth(1).unwrap();
    std::fs::write(
        dir.join("state_programs.csv"),
        format!("{shipped}{NEW},Manufacturing Engineering Technology,{cluster},\n"),
    )
    .unwrap();

    let unknown = job_variant(
        &dir,
        "job-unknown.toml",
        "",
        "k12/cte_courses.csv",
        "k12/cte_courses_state.csv",
    );
    let (code, stderr) = run_failing(&unknown);
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("k12_cte_courses"), "{stderr}");

    let known = job_variant(
        &dir,
        "job-known.toml",
        "cte_programs = \"state_programs.csv\"",
        "k12/cte_courses.csv",
        "k12/cte_courses_state.csv",
    );
    let (release, _) = run(&known);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("run_report.json")).unwrap())
            .unwrap();
    let courses_report = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "k12_cte_courses")
        .unwrap();
    assert_eq!(courses_report["quarantined"], 0);
    let programs: Vec<String> = outcome_tables(&release)
        .iter()
        .flat_map(|(_, batches)| batches.iter())
        .filter_map(|b| b.column_by_name("program").cloned())
        .flat_map(|c| {
            let c = cast(&c, &DataType::Utf8).unwrap();
            let s = c.as_string::<i32>();
            (0..s.len())
                .map(|i| s.value(i).to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        programs.iter().any(|p| p == NEW),
        "the state's programme is published"
    );
    assert!(!programs.iter().any(|p| p == moved), "its old code is gone");
}
