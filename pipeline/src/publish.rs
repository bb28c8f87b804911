//! Stage 7: write the release under a staging name, then move it into place in one rename, so a
//! reader (or a crash) never sees half a release. The manifest, written last, lists the SHA-256
//! and row count of every file, the SHA-256 of every input, the agreement and the key id; when
//! the job names a signing key, its Ed25519 signature of the manifest's bytes is written beside
//! it before the rename, so a release appears signed or not at all (`crate::verify` checks it).

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use p20w_privacy::ReleaseSigningKey;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::RunError;
use crate::ingest::SourceReport;
use crate::workdir::{Access, LockedDir, STAGING_FAMILY};

pub const MANIFEST: &str = "manifest.json";
/// The signature of the manifest, beside it; listed in no manifest, as it signs the manifest.
pub const SIGNATURE: &str = "manifest.sig.json";
pub const SIGNATURE_FORMAT: &str = "p20w-signature/1";

/// `manifest.sig.json`: which key signed which file, and the signature of its exact bytes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignatureFile {
    pub format: String,
    pub algorithm: String,
    pub signed_file: String,
    /// The id of the public key that verifies it ([`p20w_privacy::ReleasePublicKey::key_id`]).
    pub public_key_id: String,
    /// 128 hex characters.
    pub signature: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FileEntry {
    pub path: String,
    pub sha256: String,
    pub bytes: u64,
    /// Data rows (Parquet rows; CSV rows after the header; 0 for JSON documents).
    pub rows: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct InputEntry {
    pub source: String,
    pub entity: String,
    pub file: String,
    pub sha256: String,
    pub bytes: u64,
    /// Records read from the file; given when the source is this one file (a source of several
    /// files reports its total in the run report).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows_read: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub format: &'static str,
    pub tool: &'static str,
    pub tool_version: &'static str,
    pub release_id: String,
    pub agreement_id: String,
    pub agreement_version: u32,
    /// SHA-256 of the agreement file the run enforced.
    pub agreement_sha256: String,
    /// The job's purpose, one the agreement permits.
    pub purpose: String,
    pub key_id: String,
    /// The id of the public key whose signature (`manifest.sig.json`) accompanies the manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_key_id: Option<String>,
    pub cohorts: Vec<i32>,
    pub min_cell_size: u64,
    pub protection: Vec<String>,
    pub inputs: Vec<InputEntry>,
    pub files: Vec<FileEntry>,
}

impl Manifest {
    pub fn inputs_from(sources: &[SourceReport]) -> Vec<InputEntry> {
        sources
            .iter()
            .flat_map(|s| {
                let single = s.inputs.len() == 1;
                s.inputs.iter().map(move |i| InputEntry {
                    source: s.name.clone(),
                    entity: s.entity.clone(),
                    file: i.file.clone(),
                    sha256: i.sha256.clone(),
                    bytes: i.bytes,
                    rows_read: single.then_some(s.read),
                })
            })
            .collect()
    }
}

/// A release being assembled in a staging folder next to its final place. The staging folder
/// is removed when this is dropped uncommitted, and the next run removes it if this process is
/// killed (see [`crate::workdir`]).
pub struct StagedRelease {
    staging: LockedDir,
    final_dir: PathBuf,
    files: Vec<FileEntry>,
}

impl StagedRelease {
    /// Refuses to start when the release already exists: a release is never overwritten.
    pub fn begin(
        output: &Path,
        agreement_id: &str,
        release_id: &str,
    ) -> Result<StagedRelease, RunError> {
        let parent = output.join(agreement_id);
        let final_dir = parent.join(release_id);
        if final_dir.exists() {
            return Err(RunError::ReleaseExists(final_dir.display().to_string()));
        }
        let staging = LockedDir::create(
            &parent,
            &format!("{STAGING_FAMILY}{release_id}-"),
            STAGING_FAMILY,
            Access::Default,
        )?;
        Ok(StagedRelease {
            staging,
            final_dir,
            files: Vec::new(),
        })
    }

    pub fn final_dir(&self) -> &Path {
        &self.final_dir
    }

    /// Writes one dataset as `<name>/part-0.parquet`, zstd-compressed with page statistics.
    pub fn write_parquet(&mut self, name: &str, batch: &RecordBatch) -> Result<(), RunError> {
        let rel = format!("{name}/part-0.parquet");
        let path = self.staging.path().join(&rel);
        std::fs::create_dir_all(path.parent().expect("has parent"))
            .map_err(|e| RunError::io(&path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            .set_statistics_enabled(EnabledStatistics::Page)
            .build();
        let file = File::create(&path).map_err(|e| RunError::io(&path, e))?;
        let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
        writer.write(batch)?;
        let file = writer.into_inner()?;
        file.sync_all().map_err(|e| RunError::io(&path, e))?;
        self.record(&rel, batch.num_rows() as u64)
    }

    /// Writes a text file (JSON or CSV) into the release.
    pub fn write_text(&mut self, rel: &str, text: &str, rows: u64) -> Result<(), RunError> {
        self.write_synced(rel, text.as_bytes())?;
        self.record(rel, rows)
    }

    /// Copies a finished file (the quarantine, written during the run) into the release.
    pub fn copy_file(&mut self, rel: &str, from: &Path, rows: u64) -> Result<(), RunError> {
        let path = self.staging.path().join(rel);
        std::fs::copy(from, &path).map_err(|e| RunError::io(from, e))?;
        File::open(&path)
            .and_then(|f| f.sync_all())
            .map_err(|e| RunError::io(&path, e))?;
        self.record(rel, rows)
    }

    fn record(&mut self, rel: &str, rows: u64) -> Result<(), RunError> {
        let path = self.staging.path().join(rel);
        let (sha256, bytes) = sha256_file(&path)?;
        self.files.push(FileEntry {
            path: rel.to_string(),
            sha256,
            bytes,
            rows,
        });
        Ok(())
    }

    /// Writes the manifest last, and its signature when `signer` is given, then renames the
    /// staging folder to the release's name. Returns the release folder and every file in it:
    /// the manifest, its signature, then the files the manifest lists (hashed as written, so
    /// no one reads them back to record them).
    pub fn commit(
        mut self,
        mut manifest: Manifest,
        signer: Option<&ReleaseSigningKey>,
    ) -> Result<(PathBuf, Vec<FileEntry>), RunError> {
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        manifest.files = std::mem::take(&mut self.files);
        let key_id = signer.map(|k| k.public_key().key_id());
        manifest.signing_key_id = key_id.clone();
        let text = serde_json::to_string_pretty(&manifest)
            .map_err(|e| RunError::internal(&e.to_string()))?
            + "\n";
        self.write_synced(MANIFEST, text.as_bytes())?;
        let mut written = vec![entry_of(MANIFEST, text.as_bytes())];
        if let (Some(key), Some(public_key_id)) = (signer, key_id) {
            let signature = SignatureFile {
                format: SIGNATURE_FORMAT.into(),
                algorithm: "ed25519".into(),
                signed_file: MANIFEST.into(),
                public_key_id,
                signature: key.sign(text.as_bytes()),
            };
            let json = serde_json::to_string_pretty(&signature)
                .map_err(|e| RunError::internal(&e.to_string()))?
                + "\n";
            self.write_synced(SIGNATURE, json.as_bytes())?;
            written.push(entry_of(SIGNATURE, json.as_bytes()));
        }
        sync_dir(self.staging.path())?;
        std::fs::rename(self.staging.path(), &self.final_dir)
            .map_err(|e| RunError::io(&self.final_dir, e))?;
        sync_dir(self.final_dir.parent().expect("has parent"))?;
        written.append(&mut manifest.files);
        Ok((self.final_dir.clone(), written))
    }

    fn write_synced(&self, rel: &str, bytes: &[u8]) -> Result<(), RunError> {
        let path = self.staging.path().join(rel);
        let mut f = File::create(&path).map_err(|e| RunError::io(&path, e))?;
        f.write_all(bytes).map_err(|e| RunError::io(&path, e))?;
        f.sync_all().map_err(|e| RunError::io(&path, e))
    }
}

/// A JSON document's entry, from the bytes written.
fn entry_of(path: &str, bytes: &[u8]) -> FileEntry {
    FileEntry {
        path: path.to_string(),
        sha256: hex::encode(Sha256::digest(bytes)),
        bytes: bytes.len() as u64,
        rows: 0,
    }
}

fn sync_dir(dir: &Path) -> Result<(), RunError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| RunError::io(dir, e))
}

/// SHA-256 and size of a file, read in blocks.
pub fn sha256_file(path: &Path) -> Result<(String, u64), RunError> {
    let mut f = File::open(path).map_err(|e| RunError::io(path, e))?;
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut bytes = 0u64;
    loop {
        let n = std::io::Read::read(&mut f, &mut buf).map_err(|e| RunError::io(path, e))?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((hex::encode(sha.finalize()), bytes))
}

/// A manifest for tests of releases: a fixed agreement, no inputs, no files yet.
#[cfg(test)]
pub(crate) fn test_manifest() -> Manifest {
    Manifest {
        format: "p20w-release/1",
        tool: "p20w",
        tool_version: "test",
        release_id: "r1".into(),
        agreement_id: "a".into(),
        agreement_version: 1,
        agreement_sha256: "0".repeat(64),
        purpose: "p".into(),
        key_id: "k".into(),
        signing_key_id: None,
        cohorts: vec![2022],
        min_cell_size: 10,
        protection: vec!["primary suppression below 10".into()],
        inputs: vec![],
        files: vec![],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an agreement folder holds, less the mutex every run shares.
    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n != ".p20w.lock")
            .collect();
        names.sort();
        names
    }

    /// A process killed before commit (no destructor runs) leaves only a staging folder,
    /// never a folder under the release's name.
    #[test]
    fn a_crash_before_commit_leaves_no_release() {
        let dir = tempfile::tempdir().unwrap();
        let mut staged = StagedRelease::begin(dir.path(), "a", "r1").unwrap();
        staged.write_text("run_report.json", "{}", 0).unwrap();
        let final_dir = staged.final_dir().to_path_buf();
        std::mem::forget(staged);
        assert!(!final_dir.exists());
        let names = entries(&dir.path().join("a"));
        assert_eq!(names.len(), 2, "{names:?}");
        assert!(names[0].starts_with(".staging-r1-"), "{names:?}");
        assert_eq!(names[1], format!("{}.lock", names[0]));
    }

    #[test]
    fn a_killed_run_s_staging_folder_is_removed_by_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let agreement = dir.path().join("a");
        // Left by a killed run: nobody holds its lock any more.
        let dead = agreement.join(format!(".staging-r0-{}", "7".repeat(32)));
        std::fs::create_dir_all(dead.join("employment_earnings")).unwrap();
        std::fs::write(
            agreement.join(format!(".staging-r0-{}.lock", "7".repeat(32))),
            "",
        )
        .unwrap();
        // A run still writing another release.
        let live = StagedRelease::begin(dir.path(), "a", "r2").unwrap();
        let _staged = StagedRelease::begin(dir.path(), "a", "r1").unwrap();
        assert!(!dead.exists());
        assert!(
            live.staging.path().exists(),
            "a live run's staging folder stays"
        );
        let names = entries(&agreement);
        assert_eq!(
            names.len(),
            4,
            "two live staging folders and their locks: {names:?}"
        );
    }

    #[test]
    fn an_abandoned_release_is_cleaned_up_and_a_committed_one_is_complete() {
        let dir = tempfile::tempdir().unwrap();
        {
            let mut staged = StagedRelease::begin(dir.path(), "a", "r1").unwrap();
            staged.write_text("quarantine.csv", "source\n", 0).unwrap();
        }
        assert!(entries(&dir.path().join("a")).is_empty());
        let mut staged = StagedRelease::begin(dir.path(), "a", "r1").unwrap();
        staged.write_text("quarantine.csv", "source\n", 0).unwrap();
        let (released, _) = staged.commit(test_manifest(), None).unwrap();
        let text = std::fs::read_to_string(released.join(MANIFEST)).unwrap();
        let m: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(m["files"][0]["path"], "quarantine.csv");
        assert_eq!(
            m["files"][0]["sha256"],
            hex::encode(Sha256::digest(b"source\n"))
        );
        assert!(matches!(
            StagedRelease::begin(dir.path(), "a", "r1"),
            Err(RunError::ReleaseExists(_))
        ));
    }
}
