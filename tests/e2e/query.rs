//! `p20w query` only reads: every statement that could write is refused with exit status 2,
//! and the release's files are byte-for-byte the same afterwards.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};

use crate::common::{BIN, p20w, run, scratch, synthesize};

/// A small release of its own, so a write that got through could not disturb other tests.
struct Release {
    dir: PathBuf,
    output: PathBuf,
    release: PathBuf,
}

fn release() -> &'static Release {
    static R: OnceLock<Release> = OnceLock::new();
    R.get_or_init(|| {
        let dir = scratch("query");
        synthesize(&dir, "400");
        let (release, _) = run(&dir.join("job-csv.toml"));
        Release {
            output: dir.join("releases"),
            dir,
            release,
        }
    })
}

fn query(args: &[&str]) -> Output {
    Command::new(BIN)
        .arg("query")
        .args(args)
        .output()
        .expect("p20w runs")
}

/// Every file and folder under `root`, with each file's SHA-256.
fn snapshot(root: &Path) -> BTreeMap<PathBuf, Option<String>> {
    let mut out = BTreeMap::new();
    let mut todo = vec![root.to_path_buf()];
    while let Some(dir) = todo.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_path_buf();
            if path.is_dir() {
                out.insert(rel, None);
                todo.push(path);
            } else {
                let bytes = std::fs::read(&path).unwrap();
                out.insert(rel, Some(hex::encode(Sha256::digest(&bytes))));
            }
        }
    }
    out
}

#[test]
fn statements_that_write_are_refused_and_the_release_is_unchanged() {
    let r = release();
    let rel = r.release.display().to_string();
    let outside = r.dir.join("copied.parquet");
    let inside = r.release.join("employment_earnings/forged.parquet");
    let statements = [
        format!(
            "COPY (SELECT * FROM employment_earnings) TO '{}'",
            outside.display()
        ),
        format!(
            "COPY (SELECT * FROM employment_earnings) TO '{}'",
            inside.display()
        ),
        "INSERT INTO employment_earnings SELECT * FROM employment_earnings".to_string(),
        "EXPLAIN ANALYZE INSERT INTO employment_earnings SELECT * FROM employment_earnings"
            .to_string(),
        format!("CREATE EXTERNAL TABLE forged STORED AS PARQUET LOCATION '{rel}/forged/'"),
        "CREATE TABLE forged AS SELECT * FROM employment_earnings".to_string(),
        "SELECT * INTO forged FROM employment_earnings".to_string(),
        "DROP TABLE employment_earnings".to_string(),
        "DELETE FROM employment_earnings".to_string(),
        "SET datafusion.execution.batch_size = 1".to_string(),
        "SELECT 1; SELECT 2".to_string(),
        format!("SELECT 1; COPY (SELECT 1) TO '{}'", outside.display()),
    ];
    let before = snapshot(&r.output);
    assert!(
        before.keys().any(|p| p.ends_with("part-0.parquet")),
        "{before:?}"
    );
    for sql in &statements {
        let out = query(&[&rel, sql]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{sql}: {stderr}");
        assert!(stderr.contains("query refused"), "{sql}: {stderr}");
        assert!(!outside.exists(), "{sql} wrote {}", outside.display());
        assert_eq!(snapshot(&r.output), before, "{sql} changed the output tree");
    }
}

#[test]
fn reading_statements_still_work() {
    let r = release();
    let rel = r.release.display().to_string();
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(r.release.join("manifest.json")).unwrap())
            .unwrap();
    let rows = manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["path"] == "employment_earnings/part-0.parquet")
        .unwrap()["rows"]
        .as_u64()
        .unwrap();
    let stdout = |args: &[&str]| {
        let out = query(args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let counted = stdout(&[
        &rel,
        "SELECT count(*) AS n FROM employment_earnings",
        "--format",
        "csv",
    ]);
    assert_eq!(counted.lines().nth(1), Some(rows.to_string().as_str()));
    let with = stdout(&[
        &rel,
        "WITH c AS (SELECT cohort FROM employment_earnings) SELECT count(*) AS n FROM c",
        "--format",
        "csv",
    ]);
    assert_eq!(with.lines().nth(1), Some(rows.to_string().as_str()));
    assert!(stdout(&[&rel, "EXPLAIN SELECT * FROM employment_earnings"]).contains("logical_plan"));
    assert!(stdout(&[&rel, "SHOW TABLES"]).contains("postsecondary_enrollment"));
    assert!(stdout(&[&rel, "DESCRIBE employment_earnings"]).contains("cohort"));
}

#[test]
fn out_inside_the_release_is_refused_and_outside_it_works() {
    let r = release();
    let rel = r.release.display().to_string();
    let name = r.release.file_name().unwrap().to_str().unwrap();
    // Another release (any folder holding a manifest) is refused as well.
    let other = r.dir.join("other-release");
    std::fs::create_dir_all(other.join("employment_earnings")).unwrap();
    std::fs::write(other.join("manifest.json"), "{}\n").unwrap();
    // A link, even a dangling one, would be followed into the release.
    let link = r.dir.join("into-release.csv");
    let _ = std::fs::remove_file(&link);
    std::os::unix::fs::symlink(r.release.join("z.csv"), &link).unwrap();
    let before = (snapshot(&r.output), snapshot(&other));
    for out in [
        other.join("employment_earnings/part-1.parquet"),
        link.clone(),
        r.release.join("extra.csv"),
        r.release.join("employment_earnings/part-1.parquet"),
        // The same folder reached through `..`.
        r.release.join("employment_earnings/..").join("x.csv"),
        r.release.join("..").join(name).join("y.csv"),
    ] {
        let o = query(&[
            &rel,
            "SELECT 1 AS x",
            "--format",
            "csv",
            "--out",
            out.to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}: {stderr}", out.display());
        assert!(
            stderr.contains("inside the release") || stderr.contains("symbolic link"),
            "{stderr}"
        );
        assert_eq!(
            (snapshot(&r.output), snapshot(&other)),
            before,
            "{}",
            out.display()
        );
    }
    let elsewhere = r.dir.join("result.csv");
    p20w(&[
        "query",
        &rel,
        "SELECT 1 AS x",
        "--format",
        "csv",
        "--out",
        elsewhere.to_str().unwrap(),
    ]);
    assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "x\n1\n");
}
