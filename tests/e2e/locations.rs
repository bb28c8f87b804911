//! Sources in an object store (a moto S3 server) and in PostgreSQL, and a release written to
//! S3, against real servers that `.ci/services.sh` starts. The same inputs and key must give
//! the same release as from local disk, and a release on S3 is never overwritten.
//!
//! Without the servers' variables these tests skip with a message, so `cargo test` works on a
//! laptop; `.ci/run` sets `P20W_REQUIRE_SERVICES=1`, under which a missing server fails them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Arc;

use futures::{SinkExt, StreamExt};
use object_store::aws::AmazonS3Builder;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::common::{BIN, scratch, state};

/// The servers the tests talk to.
struct Services {
    pg_url_env: &'static str,
    s3_endpoint: String,
    bucket: String,
}

const PG_VAR: &str = "P20W_TEST_PG_URL";

fn services() -> Option<Services> {
    let s3 = std::env::var("P20W_TEST_S3_ENDPOINT");
    let bucket = std::env::var("P20W_TEST_S3_BUCKET");
    let pg = std::env::var(PG_VAR);
    match (s3, bucket, pg) {
        (Ok(s3_endpoint), Ok(bucket), Ok(_)) => Some(Services {
            pg_url_env: PG_VAR,
            s3_endpoint,
            bucket,
        }),
        _ if std::env::var("P20W_REQUIRE_SERVICES").as_deref() == Ok("1") => panic!(
            "P20W_REQUIRE_SERVICES=1 but P20W_TEST_PG_URL, P20W_TEST_S3_ENDPOINT or \
             P20W_TEST_S3_BUCKET is unset: start the servers with `source .ci/services.sh`"
        ),
        _ => {
            eprintln!(
                "skipping: no PostgreSQL/S3 test servers (run `source .ci/services.sh` first)"
            );
            None
        }
    }
}

impl Services {
    fn store(&self) -> Arc<dyn ObjectStore> {
        Arc::new(
            AmazonS3Builder::new()
                .with_endpoint(&self.s3_endpoint)
                .with_bucket_name(&self.bucket)
                .with_region("us-east-1")
                .with_access_key_id("test")
                .with_secret_access_key("test")
                .with_allow_http(true)
                .build()
                .unwrap(),
        )
    }

    /// Runs `p20w` with the S3 credentials in its environment, as an operator would.
    fn p20w(&self, args: &[&str]) -> Output {
        Command::new(BIN)
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .output()
            .expect("p20w runs")
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

/// Loads a CSV file into a new table of text columns named by its header, with COPY FROM.
async fn load_table(client: &tokio_postgres::Client, table: &str, csv: &Path) {
    let text = std::fs::read(csv).unwrap();
    let header = std::str::from_utf8(&text[..text.iter().position(|b| *b == b'\n').unwrap()])
        .unwrap()
        .to_string();
    let columns: Vec<String> = header.split(',').map(|c| format!("\"{c}\" text")).collect();
    client
        .batch_execute(&format!("CREATE TABLE {table} ({})", columns.join(", ")))
        .await
        .unwrap();
    let sink = client
        .copy_in(&format!("COPY {table} FROM STDIN (FORMAT csv, HEADER)"))
        .await
        .unwrap();
    futures::pin_mut!(sink);
    // In pieces, as a large extract would go.
    for piece in text.chunks(64 * 1024) {
        sink.send(std::io::Cursor::new(piece.to_vec()))
            .await
            .unwrap();
    }
    sink.as_mut().finish().await.unwrap();
}

async fn get(store: &dyn ObjectStore, key: &str) -> Vec<u8> {
    let got = store.get(&ObjectPath::from(key)).await;
    got.unwrap_or_else(|e| panic!("{key}: {e}"))
        .bytes()
        .await
        .unwrap()
        .to_vec()
}

fn manifest_files(manifest: &Value) -> BTreeMap<String, (String, u64)> {
    manifest["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["path"].as_str().unwrap().to_string(),
                (
                    f["sha256"].as_str().unwrap().to_string(),
                    f["rows"].as_u64().unwrap(),
                ),
            )
        })
        .collect()
}

#[test]
fn sources_on_s3_and_postgres_publish_to_s3_the_same_release_as_local_disk() {
    let Some(svc) = services() else { return };
    let local = state();
    let dir = scratch("locations");
    let run_id = format!("e2e-{}", std::process::id());
    let store = svc.store();
    let rt = runtime();

    // Inputs: the shared state's CSV files, uploaded to S3 unchanged; two of them also loaded
    // into PostgreSQL, one read back as a table and one through a query.
    let job_text = std::fs::read_to_string(local.dir.join("job-csv.toml")).unwrap();
    let schema = format!("p20w_{}", std::process::id());
    rt.block_on(async {
        let (client, conn) =
            tokio_postgres::connect(&std::env::var(PG_VAR).unwrap(), tokio_postgres::NoTls)
                .await
                .unwrap();
        tokio::spawn(conn);
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {schema} CASCADE; CREATE SCHEMA {schema}"
            ))
            .await
            .unwrap();
        load_table(
            &client,
            &format!("{schema}.students"),
            &local.dir.join("k12/students.csv"),
        )
        .await;
        load_table(
            &client,
            &format!("{schema}.awards"),
            &local.dir.join("postsecondary/awards.csv"),
        )
        .await;
        for rel in job_text.lines().filter_map(|l| l.strip_prefix("path = ")) {
            let rel = rel.trim_matches('"');
            let bytes = std::fs::read(local.dir.join(rel)).unwrap();
            let key = ObjectPath::from(format!("{run_id}/inputs/{rel}"));
            store.put(&key, PutPayload::from(bytes)).await.unwrap();
        }
    });
    let s3 = |rel: &str| format!("s3://{}/{run_id}/{rel}", svc.bucket);
    let release_id = local.fuzzy_release.file_name().unwrap().to_str().unwrap();
    let agreement = local
        .fuzzy_release
        .parent()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap();
    let mut job = String::new();
    for line in job_text.lines() {
        let replaced = match line.strip_prefix("path = ") {
            Some("\"k12/students.csv\"") => format!(
                "[sources.postgres]\nurl_env = \"{}\"\ntable = \"{schema}.students\"",
                svc.pg_url_env
            ),
            Some("\"postsecondary/awards.csv\"") => format!(
                "[sources.postgres]\nurl_env = \"{}\"\nquery = \"SELECT * FROM {schema}.awards\"",
                svc.pg_url_env
            ),
            Some(rel) => format!(
                "url = \"{}\"",
                s3(&format!("inputs/{}", rel.trim_matches('"')))
            ),
            None if line.starts_with("output = ") => format!("output = \"{}\"", s3("releases")),
            None if line.starts_with("key_file = ") => {
                format!("key_file = \"{}\"", local.dir.join("p20w.key").display())
            }
            None if line.starts_with("agreement_file = ") => format!(
                "agreement_file = \"{}\"",
                local.dir.join("agreement.toml").display()
            ),
            // The endpoint is a job setting; the credentials stay in the environment.
            // A table has no row order, so the digest of what PostgreSQL sends (and with it
            // the derived release id) may differ from the file's; the release is named alike
            // so the two can be compared file by file.
            None if line == "[[sources]]" && !job.contains("[storage]") => format!(
                "release_id = \"{release_id}\"\n\n[storage]\naws_endpoint = \"{}\"\n\
                 aws_allow_http = true\n\n[[sources]]",
                svc.s3_endpoint
            ),
            None => line.to_string(),
        };
        job.push_str(&replaced);
        job.push('\n');
    }
    assert!(
        job.contains("[sources.postgres]") && job.contains("url = \"s3://"),
        "{job}"
    );
    let job_path = dir.join("job-csv.toml");
    std::fs::write(&job_path, &job).unwrap();

    let out = svc.p20w(&["run", job_path.to_str().unwrap()]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "p20w run failed:\n{stderr}\n{stdout}");
    let url = stdout
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .unwrap_or_else(|| panic!("no release line in:\n{stdout}"))
        .to_string();
    assert_eq!(
        url,
        s3(&format!("releases/{agreement}/{release_id}")),
        "{stdout}"
    );
    assert!(!stderr.contains("AWS_SECRET") && !stderr.contains("secret_access_key"));

    let prefix = format!("{run_id}/releases/{agreement}/{release_id}");
    let local_manifest: Value =
        serde_json::from_slice(&std::fs::read(local.fuzzy_release.join("manifest.json")).unwrap())
            .unwrap();
    rt.block_on(async {
        let remote_manifest: Value =
            serde_json::from_slice(&get(store.as_ref(), &format!("{prefix}/manifest.json")).await)
                .unwrap();
        let (ours, theirs) = (
            manifest_files(&remote_manifest),
            manifest_files(&local_manifest),
        );
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>()
        );
        for (path, (sha, rows)) in &theirs {
            let remote = get(store.as_ref(), &format!("{prefix}/{path}")).await;
            assert_eq!(
                &hex::encode(Sha256::digest(&remote)),
                &ours[path].0,
                "{path}"
            );
            assert_eq!(rows, &ours[path].1, "{path}");
            // The tables are the same bytes; the reports name where each input was read from.
            if path.ends_with(".parquet") {
                assert_eq!(sha, &ours[path].0, "{path} differs from the local release");
                assert_eq!(
                    remote,
                    std::fs::read(local.fuzzy_release.join(path)).unwrap(),
                    "{path}"
                );
            }
        }
        // Every object read has the digest of the same file read from disk; every source read
        // as many rows.
        let digests = |m: &Value| -> BTreeMap<String, (String, u64)> {
            m["inputs"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| {
                    (
                        i["source"].as_str().unwrap().to_string(),
                        (
                            i["sha256"].as_str().unwrap().to_string(),
                            i["rows_read"].as_u64().unwrap(),
                        ),
                    )
                })
                .collect()
        };
        let (ours, theirs) = (digests(&remote_manifest), digests(&local_manifest));
        assert_eq!(ours.len(), theirs.len());
        for (source, (sha, rows)) in &theirs {
            assert_eq!(rows, &ours[source].1, "{source}");
            if !["k12_students", "ps_awards"].contains(&source.as_str()) {
                assert_eq!(sha, &ours[source].0, "{source}");
            }
        }
        let files: Vec<String> = remote_manifest["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["file"].as_str().unwrap().to_string())
            .collect();
        assert!(
            files.contains(&format!("postgres:${PG_VAR}/{schema}.students")),
            "{files:?}"
        );
        assert!(
            files.contains(&format!("postgres:${PG_VAR}/query")),
            "{files:?}"
        );
        assert!(files.iter().any(|f| f.starts_with("s3://")), "{files:?}");
    });

    // Run again: the release exists, so nothing is written and the manifest is the same.
    let before = rt.block_on(get(store.as_ref(), &format!("{prefix}/manifest.json")));
    let again = svc.p20w(&["run", job_path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(!again.status.success());
    assert!(stderr.contains("already exists"), "{stderr}");
    let after = rt.block_on(get(store.as_ref(), &format!("{prefix}/manifest.json")));
    assert_eq!(before, after);

    // A prefix holding anything (here the remains of a failed upload) is not written to
    // either, and what is there stays.
    let stray = format!("{run_id}/releases/{agreement}/taken/run_report.json");
    rt.block_on(store.put(
        &ObjectPath::from(stray.as_str()),
        PutPayload::from_static(b"stray"),
    ))
    .unwrap();
    let taken = dir.join("taken.toml");
    let release_line = format!("release_id = \"{release_id}\"");
    std::fs::write(
        &taken,
        job.replacen(&release_line, "release_id = \"taken\"", 1),
    )
    .unwrap();
    let refused = svc.p20w(&["run", taken.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && stderr.contains("already exists"),
        "{stderr}"
    );
    rt.block_on(async {
        assert_eq!(get(store.as_ref(), &stray).await, b"stray");
        let listed: Vec<_> = store
            .list(Some(&ObjectPath::from(format!(
                "{run_id}/releases/{agreement}/taken"
            ))))
            .collect()
            .await;
        assert_eq!(listed.len(), 1, "nothing but the stray object");
    });
}

#[test]
fn a_postgres_source_names_the_table_not_the_connection_string_in_errors() {
    let Some(svc) = services() else { return };
    let local = state();
    let dir = scratch("locations-missing-table");
    let job_text = std::fs::read_to_string(local.dir.join("job-csv.toml")).unwrap();
    let job = job_text
        .replacen(
            "path = \"k12/students.csv\"",
            &format!(
                "[sources.postgres]\nurl_env = \"{}\"\ntable = \"no_such_table\"",
                svc.pg_url_env
            ),
            1,
        )
        .replace("path = \"", &format!("path = \"{}/", local.dir.display()))
        .replace(
            "key_file = \"",
            &format!("key_file = \"{}/", local.dir.display()),
        )
        .replace(
            "agreement_file = \"",
            &format!("agreement_file = \"{}/", local.dir.display()),
        )
        .replace(
            "output = \"releases\"",
            &format!("output = \"{}\"", dir.join("out").display()),
        );
    let job_path = dir.join("job-csv.toml");
    std::fs::write(&job_path, &job).unwrap();
    let out = svc.p20w(&["run", job_path.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("postgres:$P20W_TEST_PG_URL/no_such_table") && stderr.contains("42P01"),
        "{stderr}"
    );
    let conninfo = std::env::var(PG_VAR).unwrap();
    assert!(!stderr.contains(&conninfo), "{stderr}");
}
