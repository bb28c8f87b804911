//! `p20w validate`: tiers, rule ids, lines and exit status on synthetic states, no value from
//! the input in what it prints or writes, nothing written under the job's folders, and the
//! same rows judged errors as `p20w run` quarantines.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::{BIN, read_csv, run, scratch, synthesize, walk};
use crate::identifiers::{input_identifiers, tokens};

struct Validation {
    code: i32,
    stdout: String,
    json: Value,
    json_text: String,
}

/// Runs `p20w validate` with `TMPDIR` pointing at an empty folder of its own, so that any work
/// folder it made would be found there.
fn validate(job: &Path, examples: &str) -> Validation {
    let root = job.parent().unwrap().parent().unwrap();
    let tmp = root.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let report = root.join("validation.json");
    let out = Command::new(BIN)
        .args(["validate", job.to_str().unwrap(), "--json"])
        .arg(&report)
        .args(["--examples", examples])
        .env("TMPDIR", &tmp)
        .output()
        .expect("p20w runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        std::fs::read_dir(&tmp).unwrap().next().is_none(),
        "validate left something in TMPDIR"
    );
    let json_text = std::fs::read_to_string(&report)
        .unwrap_or_else(|e| panic!("no JSON report ({e}); stderr:\n{stderr}"));
    Validation {
        code: out.status.code().expect("exited"),
        stdout: String::from_utf8(out.stdout).unwrap(),
        json: serde_json::from_str(&json_text).unwrap(),
        json_text,
    }
}

/// A synthetic state of 600 students under `root/state`.
fn state(name: &str) -> PathBuf {
    let root = scratch(name);
    let dir = root.join("state");
    synthesize(&dir, "600");
    dir
}

fn lines(path: &Path) -> u64 {
    std::fs::read_to_string(path).unwrap().lines().count() as u64
}

/// Appends `rows` to `file`; returns the line number of the first.
fn append(file: &Path, rows: &[&str]) -> u64 {
    let first = lines(file) + 1;
    let mut f = std::fs::OpenOptions::new().append(true).open(file).unwrap();
    for r in rows {
        writeln!(f, "{r}").unwrap();
    }
    first
}

/// The line of synth's one stray 2099 wage row, which it writes on purpose.
fn stray_wage_line(dir: &Path) -> u64 {
    let text = std::fs::read_to_string(dir.join("workforce/ui_wages.csv")).unwrap();
    1 + text
        .lines()
        .position(|l| l.split(',').nth(6) == Some("2099"))
        .expect("synth writes one stray 2099 wage row") as u64
}

fn remove_line(file: &Path, line: u64) {
    let text = std::fs::read_to_string(file).unwrap();
    let kept: Vec<&str> = text
        .lines()
        .enumerate()
        .filter(|(i, _)| *i as u64 + 1 != line)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(file, kept.join("\n") + "\n").unwrap();
}

fn source<'a>(v: &'a Validation, name: &str) -> &'a Value {
    v.json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no source {name}"))
}

/// Every finding of the report as (source, rule id, line, field), from the examples.
fn findings(v: &Validation) -> BTreeSet<(String, String, Option<u64>, Option<String>)> {
    let mut out = BTreeSet::new();
    for s in v.json["sources"].as_array().unwrap() {
        for r in s["rules"].as_array().unwrap() {
            let examples = r["examples"].as_array().unwrap();
            assert!(
                examples.len() as u64 == r["count"].as_u64().unwrap()
                    || r["id"] == "V3.unmapped_code_not_reported",
                "every finding has an example here: {r}"
            );
            for e in examples {
                assert_eq!(e["rule"], r["id"]);
                out.insert((
                    s["name"].as_str().unwrap().to_string(),
                    r["id"].as_str().unwrap().to_string(),
                    e["line"].as_u64(),
                    e["field"].as_str().map(str::to_string),
                ));
            }
        }
    }
    out
}

fn f(
    source: &str,
    id: &str,
    line: u64,
    field: Option<&str>,
) -> (String, String, Option<u64>, Option<String>) {
    (
        source.into(),
        id.into(),
        Some(line),
        field.map(str::to_string),
    )
}

/// Every file under `dir` with its bytes, to show validate changed nothing (but for the
/// entry it appends to the audit log, which `audit.rs` checks).
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    walk(dir)
        .into_iter()
        .filter(|p| !p.ends_with("p20w-audit.jsonl"))
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect()
}

/// The synthetic state as written holds one error on purpose (the stray 2099 wage row); with
/// it removed, the state is clean: exit 0, no finding of any tier, every data line read and
/// accepted. Validation writes nothing: no release folder, no work folder, no file changed.
#[test]
fn the_synthetic_state_is_clean_but_for_its_stray_wage_row_and_nothing_is_written() {
    let dir = state("validate-clean");
    let job = dir.join("job-csv.toml");
    let stray = stray_wage_line(&dir);
    let before = snapshot(&dir);

    let v = validate(&job, "5");
    assert_eq!(v.code, 3, "{}", v.stdout);
    assert_eq!(v.json["outcome"], "errors");
    assert_eq!(
        findings(&v),
        BTreeSet::from([f("ui_wages", "V5.quarter_window", stray, Some("year"))])
    );
    let wages = source(&v, "ui_wages");
    assert_eq!(
        wages["run_would_fail"], false,
        "one row is within the share"
    );
    assert_eq!(v.json["totals"]["errors"], 1);
    assert_eq!(v.json["totals"]["warnings"], 0);

    remove_line(&dir.join("workforce/ui_wages.csv"), stray);
    let before_clean = snapshot(&dir);
    let v = validate(&job, "5");
    assert_eq!(v.code, 0, "{}", v.stdout);
    assert_eq!(v.json["outcome"], "clean");
    assert!(
        v.stdout.contains("result: clean (exit status 0)"),
        "{}",
        v.stdout
    );
    assert_eq!(v.json["sources"].as_array().unwrap().len(), 9);
    for s in v.json["sources"].as_array().unwrap() {
        let data_lines = lines(Path::new(s["location"].as_str().unwrap())) - 1;
        assert_eq!(s["read"], data_lines, "{}", s["name"]);
        assert_eq!(s["accepted"], data_lines, "{}", s["name"]);
        assert_eq!(s["status"], "complete");
        assert_eq!(s["rules"], serde_json::json!([]), "{}", s["name"]);
        assert_eq!(s["not_checked"], serde_json::json!([]), "{}", s["name"]);
        assert_eq!(s["run_would_fail"], false);
    }
    assert!(v.json["key_tables"]["keys"].as_u64().unwrap() > 1_000);
    assert!(
        !dir.join("releases").exists(),
        "nothing under the output folder"
    );
    assert_eq!(snapshot(&dir), before_clean, "validate changes no file");
    assert_ne!(before, before_clean);
}

/// One or more injected errors per tier: exit 3, each reported under its rule id with its
/// file line and field, warnings for the tiers `run` lets through, the share verdict per
/// source, and no value from the input in stdout or the JSON.
#[test]
fn injected_errors_of_every_tier_are_reported_by_rule_and_line_without_values() {
    let dir = state("validate-errors");
    let ids_before = input_identifiers(&dir);
    let stray = stray_wage_line(&dir);
    let first_enrollment = std::fs::read_to_string(dir.join("k12/enrollments.csv"))
        .unwrap()
        .lines()
        .nth(1)
        .unwrap()
        .to_string();
    let students = append(
        &dir.join("k12/students.csv"),
        &[
            "S999999991,,Zedekiah,Quixote,1999-02-30,Female,No,No,No,No,No,Yes,,,,,,,,",
            "S999999992,,Yolanda,Quarrel,1999-03-04,Wx,No,No,No,No,No,Yes,,,,,,,,",
        ],
    );
    let enrollments = append(
        &dir.join("k12/enrollments.csv"),
        &[
            &first_enrollment,
            "S999999993,LEA777,SCH7777,1998-08-21,1998-06-01,01921,00806",
            "S999999994,LEA776,SCH7776,1998-08-22,,,",
        ],
    );
    let courses = append(
        &dir.join("k12/cte_courses.csv"),
        &["S999999995,SCH7775,2019,C999-1,99.9999,"],
    );
    let wages = append(
        &dir.join("workforce/ui_wages.csv"),
        &[
            "219457881,,,123456789,UI0000001,622110,2023,7,100.00,,,",
            "219457882,,,123456789,UI0000001",
        ],
    );
    let ps = append(
        &dir.join("postsecondary/enrollments.csv"),
        &["100037,U999-9999996,,,,,,FourYear,1998-08-24,1998-01-10,01"],
    );
    let awards = append(
        &dir.join("postsecondary/awards.csv"),
        &["100037,U999-9999997,,,,,,05,11.0101,1998-05-10"],
    );
    std::fs::remove_file(dir.join("k12/work_based_learning.csv")).unwrap();
    let job = dir.join("job-csv.toml");
    let text = std::fs::read_to_string(&job).unwrap();
    let text = text.replace(
        "path = \"postsecondary/enrollments.csv\"",
        "path = \"postsecondary/enrollments.csv\"\nmax_quarantined_share = 0.0",
    );
    std::fs::write(&job, text).unwrap();

    let v = validate(&job, "50");
    assert_eq!(v.code, 3, "{}", v.stdout);
    assert_eq!(v.json["outcome"], "errors");
    let got = findings(&v);
    let wbl = "k12_work_based_learning";
    let open: Vec<_> = got.iter().filter(|x| x.0 == wbl).cloned().collect();
    assert_eq!(
        open,
        [(wbl.to_string(), "V1.open".to_string(), None, None)],
        "a missing file is a tier-1 error of its source"
    );
    let expected = BTreeSet::from([
        f("k12_students", "V2.date", students, Some("birth_date")),
        f(
            "k12_students",
            "V3.unmapped_code",
            students + 1,
            Some("sex"),
        ),
        f("k12_enrollments", "V4.duplicate_key", enrollments, None),
        f(
            "k12_enrollments",
            "V5.exit_before_entry",
            enrollments + 1,
            Some("exit_date"),
        ),
        f(
            "k12_enrollments",
            "V6.unknown_student",
            enrollments + 2,
            Some("state_student_id"),
        ),
        f(
            "k12_cte_courses",
            "V3.cte_program",
            courses,
            Some("cip_code"),
        ),
        f("ui_wages", "V2.range", wages, Some("quarter")),
        f("ui_wages", "V1.field_count", wages + 1, None),
        f("ui_wages", "V5.quarter_window", stray, Some("year")),
        f(
            "ps_enrollments",
            "V5.end_before_begin",
            ps,
            Some("end_date"),
        ),
        f(
            "ps_awards",
            "V6.award_without_enrollment",
            awards,
            Some("institution_student_id"),
        ),
    ]);
    let rest: BTreeSet<_> = got.into_iter().filter(|x| x.0 != wbl).collect();
    assert_eq!(rest, expected);

    let severity = |src: &str, id: &str| {
        source(&v, src)["rules"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["id"] == id)
            .unwrap()["severity"]
            .clone()
    };
    assert_eq!(severity("k12_enrollments", "V4.duplicate_key"), "warning");
    assert_eq!(severity("k12_enrollments", "V6.unknown_student"), "warning");
    assert_eq!(severity("k12_enrollments", "V5.exit_before_entry"), "error");
    assert_eq!(severity(wbl, "V1.open"), "error");
    assert_eq!(v.json["totals"]["errors"], 9);
    assert_eq!(v.json["totals"]["warnings"], 3);

    let ps = source(&v, "ps_enrollments");
    assert_eq!(
        ps["exceeds_max_quarantined_share"], true,
        "one row, share 0"
    );
    assert_eq!(ps["run_would_fail"], true);
    let k12 = source(&v, "k12_students");
    assert_eq!(k12["exceeds_max_quarantined_share"], false);
    assert_eq!(k12["run_would_fail"], false);
    assert_eq!(source(&v, wbl)["status"], "not_opened");
    assert_eq!(source(&v, wbl)["run_would_fail"], true);
    assert!(v.stdout.contains("run would stop here"), "{}", v.stdout);
    assert_eq!(
        k12["unmapped_codes"],
        serde_json::json!([{"field": "sex", "code_set": "sex", "code": "Wx", "rows": 1}])
    );

    // No value from the input: not the injected ones, not any identifier of the state. The
    // unmapped code is the one value reported, in its own list, so a crosswalk can be written.
    let mut json = v.json.clone();
    for s in json["sources"].as_array_mut().unwrap() {
        s["unmapped_codes"] = Value::Null;
    }
    let json_text = serde_json::to_string(&json).unwrap();
    let stdout: String = v
        .stdout
        .lines()
        .filter(|l| !l.trim_start().starts_with("unmapped codes:"))
        .collect::<Vec<_>>()
        .join("\n");
    assert!(v.json_text.contains("\"Wx\""));
    for text in [&stdout, &json_text] {
        for value in [
            "S99999999",
            "Zedekiah",
            "Quixote",
            "Yolanda",
            "Quarrel",
            "1999-02-30",
            "1999-03-04",
            "1998-",
            "LEA77",
            "SCH777",
            "C999-1",
            "99.9999",
            "U999-999999",
            "21945788",
            "Wx",
            &first_enrollment,
        ] {
            assert!(!text.contains(value), "{value} appears in:\n{text}");
        }
        let leaked: Vec<String> = tokens(text).filter(|t| ids_before.contains(t)).collect();
        assert!(leaked.is_empty(), "input identifiers appear: {leaked:?}");
    }
    assert!(!dir.join("releases").exists());
}

/// Warnings only (a wage record sent twice, an award dated before the student's first
/// enrollment, a code replaced by its not-reported code): exit 4, and `run` accepts every row.
#[test]
fn warnings_only_exit_4_and_run_accepts_the_rows() {
    let dir = state("validate-warnings");
    let stray = stray_wage_line(&dir);
    let wage_file = dir.join("workforce/ui_wages.csv");
    remove_line(&wage_file, stray);
    // A row whose SSN is valid: rows without one name no one and are not compared.
    let wage = std::fs::read_to_string(&wage_file)
        .unwrap()
        .lines()
        .skip(1)
        .find(|l| {
            p20w_privacy::canonical_ssn(l.split(',').next().unwrap())
                .0
                .is_some()
        })
        .unwrap()
        .to_string();
    let wages = append(&wage_file, &[&wage]);
    let award_file = dir.join("postsecondary/awards.csv");
    let award = read_csv(&award_file).remove(0);
    let early = format!(
        "{},{},,,,,,01,{},1998-05-10",
        award["institution_id"], award["institution_student_id"], award["cip_code"]
    );
    let awards = append(&award_file, &[&early]);
    append(
        &dir.join("k12/students.csv"),
        &["S999999998,,Xavia,Vexley,2001-03-04,Wx,No,No,No,No,No,Yes,,,,,,,,"],
    );
    let job = dir.join("job-csv.toml");
    let text = std::fs::read_to_string(&job).unwrap().replace(
        "path = \"k12/students.csv\"",
        "path = \"k12/students.csv\"\nunmapped_codes = \"not_reported\"",
    );
    std::fs::write(&job, text).unwrap();

    let v = validate(&job, "5");
    assert_eq!(v.code, 4, "{}", v.stdout);
    assert_eq!(v.json["outcome"], "warnings");
    assert_eq!(v.json["totals"]["errors"], 0);
    assert_eq!(
        findings(&v),
        BTreeSet::from([
            f("ui_wages", "V4.duplicate_key", wages, None),
            f(
                "ps_awards",
                "V6.award_before_enrollment",
                awards,
                Some("award_date")
            ),
        ])
    );
    let k12 = source(&v, "k12_students");
    assert_eq!(k12["rules"][0]["id"], "V3.unmapped_code_not_reported");
    assert_eq!(k12["rules"][0]["count"], 1);
    assert_eq!(k12["accepted"], k12["read"]);
    assert!(v.stdout.contains("result: warnings only (exit status 4)"));

    let (release, _) = run(&job);
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("run_report.json")).unwrap())
            .unwrap();
    for s in report["sources"].as_array().unwrap() {
        assert_eq!(s["quarantined"], 0, "{}", s["name"]);
    }
}

/// Row rules are the connectors' own, so the rows validate reports as errors are exactly the
/// rows `run` quarantines, with the same line, field and rule: the new logical checks included.
#[test]
fn run_quarantines_exactly_the_rows_validate_reports_as_errors() {
    let dir = state("validate-run");
    let stray = stray_wage_line(&dir);
    append(
        &dir.join("k12/students.csv"),
        &["S999999991,,Zed,Q,1999-02-30,Female,No,No,No,No,No,Yes,,,,,,,,"],
    );
    append(
        &dir.join("k12/enrollments.csv"),
        &["S999999993,LEA777,SCH7777,1998-08-21,1998-06-01,01921,00806"],
    );
    append(
        &dir.join("k12/work_based_learning.csv"),
        &["S999999996,PaidInternship,1998-09-01,1998-08-01,40"],
    );
    append(
        &dir.join("postsecondary/enrollments.csv"),
        &["100037,U999-9999996,,,,,,FourYear,1998-08-24,1998-01-10,01"],
    );
    append(
        &dir.join("workforce/program_participation.csv"),
        &["219457883,04,1998-09-01,1998-08-01"],
    );
    append(
        &dir.join("workforce/ui_wages.csv"),
        &["219457884,,,123456789,UI0000001,622110,2023,3,100.00,Original,2023,2"],
    );
    let job = dir.join("job-csv.toml");
    let v = validate(&job, "100");
    assert_eq!(v.code, 3, "{}", v.stdout);
    let errors: BTreeSet<(String, u64, String, String)> = v.json["sources"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| {
            s["rules"].as_array().unwrap().iter().flat_map(move |r| {
                r["examples"].as_array().unwrap().iter().map(move |e| {
                    assert_eq!(r["severity"], "error", "{r}");
                    (
                        s["name"].as_str().unwrap().to_string(),
                        e["line"].as_u64().unwrap(),
                        e["field"].as_str().unwrap_or("").to_string(),
                        r["id"]
                            .as_str()
                            .unwrap()
                            .split_once('.')
                            .unwrap()
                            .1
                            .to_string(),
                    )
                })
            })
        })
        .collect();
    let rules: BTreeSet<&str> = errors.iter().map(|e| e.3.as_str()).collect();
    assert_eq!(
        rules.into_iter().collect::<Vec<_>>(),
        [
            "date",
            "end_before_begin",
            "exit_before_entry",
            "quarter_window",
            "received_before_quarter"
        ]
    );
    assert!(errors.iter().any(|e| e.0 == "ui_wages" && e.1 == stray));
    assert_eq!(
        errors.iter().filter(|e| e.3 == "end_before_begin").count(),
        2,
        "a postsecondary spell and a work-based learning experience"
    );
    assert_eq!(
        errors.iter().filter(|e| e.3 == "exit_before_entry").count(),
        2,
        "a K-12 enrollment and a program participation"
    );

    let (release, _) = run(&job);
    let quarantined: BTreeSet<(String, u64, String, String)> =
        read_csv(&release.join("quarantine.csv"))
            .into_iter()
            .map(|r| {
                (
                    r["source"].clone(),
                    r["line"].parse().unwrap(),
                    r["field"].clone(),
                    r["rule"].clone(),
                )
            })
            .collect();
    assert_eq!(quarantined, errors);
}

/// A source setting the format refuses is a configuration error (2), as is a bad job file.
#[test]
fn bad_source_settings_and_job_files_exit_2() {
    let root = scratch("validate-config");
    let job = root.join("state/job.toml");
    std::fs::create_dir_all(job.parent().unwrap()).unwrap();
    std::fs::write(&job, "agreement_id = \"x\"\n").unwrap();
    let out = Command::new(BIN)
        .args(["validate", job.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));

    let dir = state("validate-options");
    let job = dir.join("job-csv.toml");
    let text = std::fs::read_to_string(&job).unwrap().replace(
        "path = \"k12/students.csv\"",
        "path = \"k12/students.csv\"\noptions = { delimeter = \";\" }",
    );
    std::fs::write(&job, text).unwrap();
    let v = validate(&job, "5");
    assert_eq!(v.code, 2, "{}", v.stdout);
    assert_eq!(v.json["outcome"], "config");
    let s = source(&v, "k12_students");
    assert_eq!(s["rules"][0]["id"], "V1.options");
    assert_eq!(s["status"], "not_opened");
    assert_eq!(
        source(&v, "k12_enrollments")["not_checked"][0]
            .as_str()
            .unwrap()
            .split(':')
            .next(),
        Some("V6.unknown_student"),
        "references into an unread person source are not checked"
    );
}
