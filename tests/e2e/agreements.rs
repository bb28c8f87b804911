//! The agreement file as `run` and `validate` enforce it: each clause a job can break is
//! refused before anything is read, with the clause named and an exit status of its own.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::common::{scratch, status, synthesize};

/// A small synthesized state, shared by this file's tests (they only ever refuse to run).
fn state() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = scratch("agreements");
        synthesize(&dir, "300");
        dir
    })
}

/// Writes the demo agreement with each `(from, to)` of `edits` made, and the CSV job naming it
/// with each of `job_edits` made, under `name`; returns the job.
fn variant(name: &str, edits: &[(&str, &str)], job_edits: &[(&str, &str)]) -> PathBuf {
    let dir = state();
    let mut agreement = std::fs::read_to_string(dir.join("agreement.toml")).unwrap();
    for (from, to) in edits {
        assert!(agreement.contains(from), "the demo agreement has {from:?}");
        agreement = agreement.replacen(from, to, 1);
    }
    let file = format!("agreement-{name}.toml");
    std::fs::write(dir.join(&file), agreement).unwrap();
    let named = "agreement_file = \"agreement.toml\"";
    let mut job = std::fs::read_to_string(dir.join("job-csv.toml"))
        .unwrap()
        .replacen(named, &format!("agreement_file = \"{file}\""), 1);
    for (from, to) in job_edits {
        assert!(job.contains(from), "the job has {from:?}");
        job = job.replacen(from, to, 1);
    }
    let path = dir.join(format!("job-{name}.toml"));
    std::fs::write(&path, job).unwrap();
    path
}

/// Runs `p20w command job` and returns (exit status, stdout and stderr).
fn p20w_on(command: &str, job: &Path) -> (i32, String) {
    status(&[command, job.to_str().unwrap()])
}

/// Both `run` and `validate` refuse `job` with `code`, naming `clause` and saying `why`.
fn refused(job: &Path, code: i32, clause: &str, why: &str) {
    for command in ["run", "validate"] {
        let (status, out) = p20w_on(command, job);
        assert_eq!(status, code, "{command}: {out}");
        assert!(
            out.contains(&format!("clause `{clause}`")) && out.contains(why),
            "{command} should name clause {clause} and say {why:?}: {out}"
        );
        assert!(
            !out.contains("panicked"),
            "{command} panicked on a refusal: {out}"
        );
    }
}

#[test]
fn an_expired_agreement_is_refused() {
    let job = variant(
        "expired",
        &[
            ("effective = 2026-01-01", "effective = 2020-01-01"),
            ("expires = 2099-12-31", "expires = 2021-12-31"),
        ],
        &[],
    );
    refused(&job, 10, "expires", "it expired on 2021-12-31");
}

#[test]
fn an_agreement_not_yet_in_effect_is_refused() {
    let job = variant(
        "future",
        &[("effective = 2026-01-01", "effective = 2099-01-01")],
        &[],
    );
    refused(&job, 10, "effective", "it takes effect on 2099-01-01");
}

#[test]
fn a_data_element_not_permitted_is_refused() {
    let job = variant(
        "no-birth-date",
        &[(
            "\"last_name\", \"birth_date\", \"sex\",",
            "\"last_name\", \"sex\",",
        )],
        &[],
    );
    refused(
        &job,
        11,
        "parties[2].elements.person",
        "reads person.birth_date, a data element recipient research_office may not receive",
    );
}

#[test]
fn a_source_system_not_permitted_is_refused() {
    let job = variant(
        "no-credentials",
        &[(
            "industry_credential = [",
            "# withheld: industry credentials\nwithheld_industry_credential = [",
        )],
        &[],
    );
    // A key the file format does not know is an error of the agreement file itself.
    let (status, out) = p20w_on("run", &job);
    assert_eq!(status, 2, "{out}");
    assert!(out.contains("withheld_industry_credential"), "{out}");
    let text = std::fs::read_to_string(state().join("agreement-no-credentials.toml")).unwrap();
    let start = text.find("# withheld").unwrap();
    let end = start + text[start..].find("]\n").unwrap() + 2;
    std::fs::write(
        state().join("agreement-no-credentials.toml"),
        format!("{}{}", &text[..start], &text[end..]),
    )
    .unwrap();
    refused(
        &job,
        11,
        "parties[2].elements.industry_credential",
        "which recipient research_office may not receive",
    );
}

#[test]
fn a_weaker_suppression_rule_is_refused() {
    let job = variant(
        "weaker",
        &[],
        &[("min_cell_size = 10", "min_cell_size = 5")],
    );
    refused(
        &job,
        12,
        "disclosure.min_cell_size",
        "min_cell_size 5 is below the agreement's floor of 10",
    );
}

#[test]
fn a_link_the_agreement_does_not_allow_is_refused() {
    let job = variant("no-wage-link", &[("[\"k12\", \"ui_wage\"], ", "")], &[]);
    refused(
        &job,
        13,
        "allowed_links",
        "the agreement allows no k12–ui_wage link",
    );
}

#[test]
fn a_dataset_or_purpose_not_permitted_is_refused() {
    let job = variant("no-q4", &[("\"employment_q4\",\n", "\n")], &[]);
    refused(
        &job,
        11,
        "parties[2].datasets",
        "dataset employment_q4 is not one recipient research_office may receive",
    );
    let job = variant(
        "other-purpose",
        &[(
            "purposes = [\"perkins_v_accountability\"]",
            "purposes = [\"college_going\"]",
        )],
        &[],
    );
    refused(
        &job,
        11,
        "purposes",
        "purpose \"perkins_v_accountability\" is not among the agreement's (college_going)",
    );
}

#[test]
fn an_agreement_file_with_an_unknown_key_or_a_job_with_the_old_agreement_id_is_a_usage_error() {
    let job = variant("typo", &[("min_cell_size = 10", "min_cel_size = 10")], &[]);
    let (status, out) = p20w_on("validate", &job);
    assert_eq!(status, 2, "{out}");
    assert!(
        out.contains("agreement-typo.toml") && out.contains("min_cel_size"),
        "{out}"
    );
    let job = variant(
        "old-job",
        &[],
        &[(
            "agreement_file = \"agreement-old-job.toml\"",
            "agreement_id = \"demo-mou-2026\"",
        )],
    );
    let (status, out) = p20w_on("run", &job);
    assert_eq!(status, 2, "{out}");
    assert!(out.contains("agreement_file"), "{out}");
}

#[test]
fn a_refused_run_is_in_the_audit_log() {
    let job = variant(
        "audited",
        &[("effective = 2026-01-01", "effective = 2098-06-01")],
        &[],
    );
    let log = state().join("p20w-audit.jsonl");
    let before = std::fs::read_to_string(&log).unwrap_or_default();
    let (status, _) = p20w_on("run", &job);
    assert_eq!(status, 10);
    let after = std::fs::read_to_string(&log).unwrap();
    let added: Vec<serde_json::Value> = after[before.len()..]
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        added.iter().any(|e| e["action"] == "run"
            && e["outcome"] == "refused"
            && e["job"].as_str().unwrap().ends_with("job-audited.toml")
            && e["message"]
                .as_str()
                .unwrap()
                .contains("clause `effective`")),
        "{added:?}"
    );
}
