//! What an operator meets: log levels and formats, progress lines, errors in the operator's
//! words, a closed stdout, source names in any case.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::common::{BIN, p20w, release_tables, run, scratch, state, synthesize};
use crate::identifiers::{input_identifiers, tokens};

/// Runs `p20w` with stdout closed before it writes anything, as `p20w … | head -0` would.
fn with_stdout_closed(args: &[&str]) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("p20w runs");
    drop(child.stdout.take());
    child.wait_with_output().unwrap()
}

fn assert_quiet_success(args: &[&str], out: &Output) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "p20w {args:?}: {}\n{err}", out.status);
    assert!(!err.contains("panicked"), "p20w {args:?}: {err}");
    assert!(!err.contains("error"), "p20w {args:?}: {err}");
}

#[test]
fn a_closed_stdout_ends_every_command_quietly_with_success() {
    let s = state();
    let release = s.release.to_str().unwrap();
    let sql = "SELECT * FROM employment_earnings";
    for format in ["table", "csv", "json"] {
        let args = ["query", release, sql, "--format", format];
        assert_quiet_success(&args, &with_stdout_closed(&args));
    }
    let dir = scratch("closed-stdout");
    let state_dir = dir.join("state");
    let key = dir.join("state/p20w.key");
    for args in [
        vec![
            "synth",
            "--out",
            state_dir.to_str().unwrap(),
            "--students",
            "300",
        ],
        vec!["keygen", key.to_str().unwrap()],
    ] {
        assert_quiet_success(&args, &with_stdout_closed(&args));
    }
    assert!(key.exists(), "keygen wrote its key before it printed");
    let job = state_dir.join("job.toml");
    let args = ["run", job.to_str().unwrap()];
    assert_quiet_success(&args, &with_stdout_closed(&args));
    // The agreement folder also holds the staging lock file (`.p20w.lock`).
    let published = std::fs::read_dir(state_dir.join("releases/demo-mou-2026"))
        .unwrap()
        .filter(|e| {
            !e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(published, 1, "the run published before it printed");
    let demo = dir.join("demo");
    let args = ["demo", "--dir", demo.to_str().unwrap(), "--students", "300"];
    assert_quiet_success(&args, &with_stdout_closed(&args));
}

/// Other write errors are still errors: /dev/full refuses every write with ENOSPC.
#[cfg(target_os = "linux")]
#[test]
fn a_stdout_that_cannot_be_written_is_an_error() {
    let s = state();
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = Command::new(BIN)
        .args(["query", s.release.to_str().unwrap(), "SELECT 1 AS one"])
        .stdout(full)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("No space left"), "{err}");
}

fn rename_sources(dir: &Path, renames: &[(&str, &str)]) -> std::path::PathBuf {
    let mut job = std::fs::read_to_string(dir.join("job.toml")).unwrap();
    for (from, to) in renames {
        job = job.replace(&format!("name = \"{from}\""), &format!("name = \"{to}\""));
    }
    let path = dir.join("job-renamed.toml");
    std::fs::write(&path, job).unwrap();
    path
}

/// A copy of `job` with one more top-level setting (before the `[[sources]]` tables).
fn with_setting(job: &Path, setting: &str) -> std::path::PathBuf {
    let text = std::fs::read_to_string(job).unwrap();
    let (head, sources) = text.split_once("[[sources]]").unwrap();
    let path = job.with_file_name("job-setting.toml");
    std::fs::write(&path, format!("{head}{setting}\n\n[[sources]]{sources}")).unwrap();
    path
}

#[test]
fn source_names_in_capitals_or_with_dots_give_the_same_figures() {
    let dir = scratch("capitals");
    synthesize(&dir, "600");
    let renamed = rename_sources(
        &dir,
        &[
            ("k12_students", "K12_Students"),
            ("k12_enrollments", "K12-Enrollments"),
            ("ui_wages", "UI.Wages"),
        ],
    );
    let (release, stdout) = run(&renamed);
    assert!(stdout.contains("source K12_Students"), "{stdout}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("run_report.json")).unwrap())
            .unwrap();
    let names: Vec<&str> = report["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&"UI.Wages"), "{names:?}");
    assert!(report["ssn_status"]["UI.Wages"].is_object());
    let (plain, _) = run(&dir.join("job.toml"));
    let tables = |r: &Path| {
        release_tables(r)
            .into_iter()
            .map(|(p, b)| (p, format!("{b:?}")))
            .collect::<Vec<_>>()
    };
    assert_eq!(tables(&release), tables(&plain));
}

#[test]
fn json_logs_are_one_object_per_line_with_stage_timings_and_no_identifiers() {
    let dir = scratch("json-logs");
    synthesize(&dir, "600");
    let out = Command::new(BIN)
        .args([
            "run",
            dir.join("job.toml").to_str().unwrap(),
            "--log-format",
            "json",
        ])
        .env("RUST_LOG", "debug")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{err}");
    let events: Vec<serde_json::Value> = err
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: not JSON: {l}")))
        .collect();
    let finished: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| e["message"] == "stage finished")
        .collect();
    let stages: Vec<&str> = finished
        .iter()
        .map(|e| e["stage"].as_str().unwrap())
        .collect();
    // One ingest stage per source of the (real-format) demo job.
    let sources = std::fs::read_to_string(dir.join("job.toml"))
        .unwrap()
        .matches("[[sources]]")
        .count();
    assert!(
        sources > 9,
        "the real-format job reads more sources than the CSV one"
    );
    assert_eq!(stages.iter().filter(|s| **s == "ingest").count(), sources);
    for s in ["link", "measure and protect", "report", "publish"] {
        assert!(stages.contains(&s), "{s} missing from {stages:?}");
    }
    let students = finished
        .iter()
        .find(|e| e["source"] == "k12_students")
        .unwrap();
    // Rows read, not students: a person row per district attended, in the Ed-Fi dump as in
    // the CSV extract.
    let person_rows = crate::common::read_csv(&dir.join("k12/students.csv")).len();
    assert_eq!(students["rows"], person_rows as u64);
    assert!(students["elapsed_s"].as_f64().is_some());
    assert!(events.iter().any(|e| e["level"] == "DEBUG"));

    // Even at debug level, no identifier and no key reaches the log.
    let ids: std::collections::HashSet<String> = input_identifiers(&dir)
        .into_iter()
        .filter(|t| t.chars().any(|c| c.is_ascii_digit()))
        .collect();
    assert!(ids.len() > 1_000);
    for t in tokens(&err) {
        assert!(!ids.contains(&t), "the log holds an input identifier");
    }
    let key = std::fs::read_to_string(dir.join("p20w.key")).unwrap();
    assert!(!err.contains(key.trim()), "the log holds the key");
}

#[test]
fn rust_log_sets_the_level_and_plain_progress_lines_appear_off_a_terminal() {
    let dir = scratch("progress-lines");
    synthesize(&dir, "600");
    let job = dir.join("job.toml");
    let out = Command::new(BIN)
        .args(["run", job.to_str().unwrap(), "--progress-interval", "0"])
        .env_remove("RUST_LOG")
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{err}");
    assert!(
        err.lines()
            .any(|l| l.contains("ingest progress") && l.contains("source=\"ui_wages\"")),
        "{err}"
    );
    assert!(err.contains("stage finished"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "no terminal control codes off a terminal"
    );
    assert!(!err.contains("DEBUG"), "{err}");

    let again = with_setting(&job, "release_id = \"quiet\"");
    let out = Command::new(BIN)
        .args(["run", again.to_str().unwrap()])
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("stage finished"), "{err}");
}

#[test]
fn running_out_of_memory_names_the_stage_and_the_setting() {
    let dir = scratch("oom");
    synthesize(&dir, "600");
    let job = with_setting(&dir.join("job.toml"), "memory_limit_mib = 1");
    let out = Command::new(BIN)
        .args(["run", job.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("ran out of memory"), "{err}");
    assert!(err.contains("memory_limit_mib = 1 "), "{err}");
    assert!(err.contains("work_dir"), "{err}");
    assert!(!err.contains("Resources exhausted"), "{err}");
}

/// A state's measure file with a value out of range, and a definition misspelt: each run is
/// refused before any input is read, as a usage error naming the file and the key.
#[test]
fn an_invalid_measure_specification_is_refused_naming_file_and_key() {
    let dir = scratch("bad-spec");
    synthesize(&dir, "200");
    let spec = include_str!("../../pipeline/measures/postsecondary_enrollment.toml")
        .replace("fall_after_exit = 1", "fall_after_exit = 9");
    std::fs::write(dir.join("state-ps.toml"), spec).unwrap();
    let cases = [
        (
            "measure_files = [\"state-ps.toml\"]",
            "state-ps.toml: key `numerator.any[0].fall_after_exit`",
        ),
        (
            "[definitions]\nconcentrator_min_course = 3",
            "job-setting.toml: key `definitions.concentrator_min_course`",
        ),
    ];
    for (setting, named) in cases {
        let job = with_setting(&dir.join("job.toml"), setting);
        let out = Command::new(BIN)
            .args(["run", job.to_str().unwrap()])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(named), "{named} in {err}");
        assert!(!dir.join("releases").exists(), "nothing published");
    }
}

#[test]
fn help_names_every_subcommand_and_the_global_flags() {
    let out = p20w(&["--help"]);
    let text = String::from_utf8(out.stdout).unwrap();
    for word in [
        "demo",
        "synth",
        "keygen",
        "run",
        "query",
        "--log-format",
        "--progress-interval",
    ] {
        assert!(text.contains(word), "{word}: {text}");
    }
}
