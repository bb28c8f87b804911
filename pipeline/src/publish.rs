//! Stage 7: write the release under a staging name, then move it into place in one rename, so a
//! reader (or a crash) never sees half a release. The manifest, written last, lists the SHA-256
//! and row count of every file, the SHA-256 of every input, the agreement and the key id.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use datafusion::arrow::array::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::{EnabledStatistics, WriterProperties};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::RunError;
use crate::ingest::SourceReport;

pub const MANIFEST: &str = "manifest.json";

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
    pub rows_read: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub format: &'static str,
    pub tool: &'static str,
    pub tool_version: &'static str,
    pub release_id: String,
    pub agreement_id: String,
    pub key_id: String,
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
            .map(|s| InputEntry {
                source: s.name.clone(),
                entity: s.entity.clone(),
                file: s.file.clone(),
                sha256: s.sha256.clone(),
                rows_read: s.read,
            })
            .collect()
    }
}

/// A release being assembled in a staging folder next to its final place.
pub struct StagedRelease {
    staging: PathBuf,
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
        let staging = parent.join(format!(".staging-{release_id}-{}", std::process::id()));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(|e| RunError::io(&staging, e))?;
        }
        std::fs::create_dir_all(&staging).map_err(|e| RunError::io(&staging, e))?;
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
        let path = self.staging.join(&rel);
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
        let path = self.staging.join(rel);
        let mut f = File::create(&path).map_err(|e| RunError::io(&path, e))?;
        f.write_all(text.as_bytes())
            .map_err(|e| RunError::io(&path, e))?;
        f.sync_all().map_err(|e| RunError::io(&path, e))?;
        self.record(rel, rows)
    }

    fn record(&mut self, rel: &str, rows: u64) -> Result<(), RunError> {
        let path = self.staging.join(rel);
        let (sha256, bytes) = sha256_file(&path)?;
        self.files.push(FileEntry {
            path: rel.to_string(),
            sha256,
            bytes,
            rows,
        });
        Ok(())
    }

    /// Writes the manifest last and renames the staging folder to the release's name.
    pub fn commit(mut self, mut manifest: Manifest) -> Result<PathBuf, RunError> {
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        manifest.files = std::mem::take(&mut self.files);
        let text = serde_json::to_string_pretty(&manifest)
            .map_err(|e| RunError::internal(&e.to_string()))?;
        let path = self.staging.join(MANIFEST);
        let mut f = File::create(&path).map_err(|e| RunError::io(&path, e))?;
        f.write_all(text.as_bytes())
            .and_then(|_| f.write_all(b"\n"))
            .map_err(|e| RunError::io(&path, e))?;
        f.sync_all().map_err(|e| RunError::io(&path, e))?;
        sync_dir(&self.staging)?;
        std::fs::rename(&self.staging, &self.final_dir)
            .map_err(|e| RunError::io(&self.final_dir, e))?;
        sync_dir(self.final_dir.parent().expect("has parent"))?;
        Ok(self.final_dir.clone())
    }
}

impl Drop for StagedRelease {
    /// An abandoned release (an error before commit) leaves nothing behind.
    fn drop(&mut self) {
        if self.staging.exists() {
            let _ = std::fs::remove_dir_all(&self.staging);
        }
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
