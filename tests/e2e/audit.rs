//! The audit log a run and a validation leave, and `p20w audit-log verify` on it and on
//! tampered copies.

use crate::common::{p20w, run, scratch, status, synthesize};

#[test]
fn a_run_and_a_validation_are_logged_and_tampering_with_the_log_is_detected() {
    let dir = scratch("audit");
    synthesize(&dir, "400");
    let job = dir.join("job-csv.toml");
    let (release, _) = run(&job);
    let (code, _) = status(&["validate", job.to_str().unwrap()]);
    assert!(code == 0 || code == 3, "validate ran");
    let log = dir.join("p20w-audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let entries: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let actions: Vec<&str> = entries
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["key_use", "release", "run", "validation"]);
    let user = std::env::var("USER").unwrap_or_else(|_| "unknown".into());
    for (i, e) in entries.iter().enumerate() {
        assert_eq!(e["seq"], i as u64);
        assert_eq!(e["user"], user.as_str());
        assert_eq!(e["agreement_id"], "demo-mou-2026");
    }
    assert_eq!(entries[0]["purpose"], "pseudonyms");
    // The key's public id, never the key.
    let key = std::fs::read_to_string(dir.join("p20w.key")).unwrap();
    assert!(!text.contains(key.trim()));
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("manifest.json")).unwrap())
            .unwrap();
    assert_eq!(entries[0]["key_id"], manifest["key_id"]);
    // What the run read (job file and every input, by hash) and what it wrote.
    let read = entries[2]["read"].as_array().unwrap();
    for input in manifest["inputs"].as_array().unwrap() {
        assert!(
            read.iter()
                .any(|r| r["file"] == input["file"] && r["sha256"] == input["sha256"]),
            "{input} not among what the run read"
        );
    }
    assert!(read[0]["file"].as_str().unwrap().ends_with("job-csv.toml"));
    let wrote = entries[1]["wrote"].as_array().unwrap();
    assert_eq!(wrote.len(), manifest["files"].as_array().unwrap().len() + 1);
    assert_eq!(entries[3]["read"].as_array().unwrap().len(), read.len());

    let log_arg = log.to_str().unwrap();
    let (code, out) = status(&["audit-log", "verify", log_arg]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("4 entries"), "{out}");

    let copy = dir.join("tampered.jsonl");
    let copy_arg = copy.to_str().unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let edited = text.replacen("\"outcome\":\"ok\"", "\"outcome\":\"ko\"", 1);
    std::fs::write(&copy, edited).unwrap();
    let (code, out) = status(&["audit-log", "verify", copy_arg]);
    assert_eq!(code, 8, "{out}");
    assert!(out.contains("line 1: edited"), "{out}");

    std::fs::write(&copy, format!("{}\n{}\n{}\n", lines[0], lines[2], lines[3])).unwrap();
    let (code, out) = status(&["audit-log", "verify", copy_arg]);
    assert_eq!(code, 8, "{out}");
    assert!(out.contains("line 2: does not follow"), "{out}");

    std::fs::write(&copy, format!("{}{}", text, &lines[0][..30])).unwrap();
    let (code, out) = status(&["audit-log", "verify", copy_arg]);
    assert_eq!(code, 9, "{out}");
    // A run refuses to write after the torn line, and repair cuts it off on the record.
    let (code, out) = status(&["audit-log", "repair", copy_arg]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = status(&["audit-log", "verify", copy_arg]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("5 entries"), "{out}");

    p20w(&["audit-log", "verify", log_arg]);
}

/// After `destroy`, the run cannot start with the old key, and a new key gives other
/// pseudonyms (its id differs); the destruction is in the audit log, which still verifies.
#[test]
fn destroy_removes_the_key_and_records_the_destruction() {
    let dir = scratch("destroy");
    synthesize(&dir, "300");
    let job = dir.join("job-csv.toml");
    let key = dir.join("p20w.key");
    let (release, _) = run(&job);
    let manifest = |release: &std::path::Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(release.join("manifest.json")).unwrap())
            .unwrap()
    };
    let old_id = manifest(&release)["key_id"].as_str().unwrap().to_string();

    let (code, out) = status(&["destroy", job.to_str().unwrap(), "--agreement", "other"]);
    assert_eq!(code, 2, "{out}");
    assert!(key.exists(), "a wrong agreement id destroys nothing");
    let (code, out) = status(&[
        "destroy",
        job.to_str().unwrap(),
        "--agreement",
        "demo-mou-2026",
    ]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(&old_id), "{out}");
    assert!(!key.exists());

    let (code, out) = status(&["run", job.to_str().unwrap()]);
    assert_eq!(code, 2, "no key, no run: {out}");
    p20w(&["keygen", key.to_str().unwrap()]);
    let (again, _) = run(&job);
    assert_ne!(manifest(&again)["key_id"].as_str().unwrap(), old_id);

    let log = dir.join("p20w-audit.jsonl");
    let text = std::fs::read_to_string(&log).unwrap();
    let destruction: serde_json::Value = text
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .find(|e| e["action"] == "destruction")
        .expect("a destruction entry");
    assert_eq!(destruction["key_id"], old_id.as_str());
    assert_eq!(destruction["agreement_id"], "demo-mou-2026");
    p20w(&["audit-log", "verify", log.to_str().unwrap()]);
}
