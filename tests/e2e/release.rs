//! The release as a reader sees it: manifest, checksums, other engines, determinism.

use std::process::Command;

use sha2::{Digest, Sha256};

use crate::common::{BIN, p20w, release_tables, run, scratch, state, synthesize, walk};

#[test]
fn demo_prints_the_release_path_and_headlines() {
    let dir = scratch("demo");
    let out = p20w(&[
        "demo",
        "--dir",
        dir.join("d").to_str().unwrap(),
        "--students",
        "1500",
    ]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let release = stdout
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .expect("release line");
    assert!(
        std::path::Path::new(release).join("manifest.json").exists(),
        "{stdout}"
    );
    assert!(
        stdout.contains("cte_concentrator_employment_q2_after_exit cohort 2022"),
        "{stdout}"
    );
    // A second demo in the same folder replaces the first instead of failing.
    p20w(&[
        "demo",
        "--dir",
        dir.join("d").to_str().unwrap(),
        "--students",
        "1500",
    ]);
}

#[test]
fn manifest_lists_every_file_with_matching_checksum_and_rows() {
    let s = state();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(s.release.join("manifest.json")).unwrap())
            .unwrap();
    let files = manifest["files"].as_array().unwrap();
    let listed: Vec<String> = files
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    let on_disk: Vec<String> = walk(&s.release)
        .iter()
        .map(|p| p.strip_prefix(&s.release).unwrap().display().to_string())
        .filter(|p| p != "manifest.json")
        .collect();
    assert_eq!(
        listed, on_disk,
        "the manifest must list exactly the release's files"
    );
    let tables = release_tables(&s.release);
    for f in files {
        let path = s.release.join(f["path"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(
            hex::encode(Sha256::digest(&bytes)),
            f["sha256"].as_str().unwrap(),
            "{}",
            path.display()
        );
        assert_eq!(bytes.len() as u64, f["bytes"].as_u64().unwrap());
        if let Some((_, batches)) = tables
            .iter()
            .find(|(p, _)| p == f["path"].as_str().unwrap())
        {
            let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
            assert_eq!(rows as u64, f["rows"].as_u64().unwrap());
        }
    }
    assert_eq!(manifest["agreement_id"], "demo-mou-2026");
    let key_id = manifest["key_id"].as_str().unwrap();
    assert_eq!(key_id.len(), 16);
    // Every input is fingerprinted with the SHA-256 of its bytes.
    for input in manifest["inputs"].as_array().unwrap() {
        let file = input["file"].as_str().unwrap();
        let digest = hex::encode(Sha256::digest(std::fs::read(file).unwrap()));
        assert_eq!(input["sha256"].as_str().unwrap(), digest, "{file}");
    }
    assert_eq!(manifest["inputs"].as_array().unwrap().len(), 9);
    let job = p20w_pipeline::config::JobConfig::load(&s.dir.join("job-csv.toml")).unwrap();
    assert!(
        tables.len() == job.measures.measures.len(),
        "one dataset per measure of the job: {:?}",
        tables.iter().map(|t| &t.0).collect::<Vec<_>>()
    );
}

/// pyarrow and DuckDB must read every Parquet file; `.ci/run` installs both.
#[test]
fn pyarrow_and_duckdb_read_every_parquet_file() {
    let s = state();
    let script = r#"
import sys, json, pathlib
import pyarrow.parquet as pq, duckdb
release = pathlib.Path(sys.argv[1])
con = duckdb.connect()
out = {}
for f in sorted(release.rglob("*.parquet")):
    t = pq.read_table(f)
    t.to_pylist()  # decode every value, not just the footer
    rows = con.execute(f"SELECT * FROM read_parquet('{f}')").fetchall()
    out[str(f.relative_to(release))] = [t.num_rows, len(rows), t.schema.names]
print(json.dumps(out))
"#;
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(&s.release)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "pyarrow/duckdb could not read the release (pip install pyarrow duckdb):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tables = release_tables(&s.release);
    assert_eq!(seen.as_object().unwrap().len(), tables.len());
    for (path, batches) in tables {
        let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
        assert_eq!(
            seen[&path][0].as_u64().unwrap() as usize,
            rows,
            "pyarrow rows of {path}"
        );
        assert_eq!(
            seen[&path][1].as_u64().unwrap() as usize,
            rows,
            "duckdb rows of {path}"
        );
        assert!(
            seen[&path][2]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c == "status")
        );
    }
}

#[test]
fn same_inputs_and_key_give_the_same_release_and_never_overwrite() {
    let s = state();
    let other = scratch("rerun");
    let job = std::fs::read_to_string(s.dir.join("job-csv-deterministic.toml"))
        .unwrap()
        .replace(
            "output = \"releases\"",
            &format!("output = \"{}\"", other.join("releases").display()),
        );
    std::fs::write(s.dir.join("job-rerun.toml"), job).unwrap();
    let (again, _) = run(&s.dir.join("job-rerun.toml"));
    assert_eq!(
        again.file_name(),
        s.release.file_name(),
        "release id must depend only on inputs and key"
    );
    for f in walk(&s.release) {
        let rel = f.strip_prefix(&s.release).unwrap();
        assert_eq!(
            std::fs::read(&f).unwrap(),
            std::fs::read(again.join(rel)).unwrap(),
            "{}",
            rel.display()
        );
    }
    // Running again into the same place must refuse rather than overwrite.
    let out = Command::new(BIN)
        .args(["run", s.dir.join("job-rerun.toml").to_str().unwrap()])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already exists"));
    // No staging folder is left behind.
    let parent = again.parent().unwrap();
    let leftovers: Vec<_> = std::fs::read_dir(parent)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with(".staging"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn query_runs_sql_over_the_release() {
    let s = state();
    let out = p20w(&[
        "query",
        s.release.to_str().unwrap(),
        "SELECT cohort, count(*) AS n FROM employment_earnings GROUP BY cohort ORDER BY cohort",
        "--format",
        "csv",
    ]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("cohort,n"));
    let cohorts: Vec<&str> = lines.map(|l| l.split(',').next().unwrap()).collect();
    assert_eq!(cohorts, ["2019", "2020", "2021", "2022"]);
}

#[test]
fn a_short_key_is_refused_with_a_usage_error() {
    let dir = scratch("shortkey");
    synthesize(&dir, "200");
    std::fs::remove_file(dir.join("p20w.key")).unwrap();
    std::fs::write(dir.join("p20w.key"), "00".repeat(16)).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("p20w.key"), std::fs::Permissions::from_mode(0o600))
            .unwrap();
    }
    let out = Command::new(BIN)
        .args(["run", dir.join("job-csv.toml").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at least 32"), "{err}");
    assert!(
        !err.contains(&"00".repeat(16)),
        "the key must never be printed"
    );
}
