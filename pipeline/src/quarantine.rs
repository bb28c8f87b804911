//! The quarantine file: where and why each rejected row was rejected (never its values),
//! written to the run's work folder as the rows come, so memory stays bounded whatever the
//! number of bad rows. Only counts per source and rule stay in memory, for the run report;
//! publish copies the finished file into the release.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use p20w_connectors::QuarantinedRow;

use crate::RunError;

/// The file's name, in the work folder and in the release.
pub const FILE: &str = "quarantine.csv";
const HEADER: [&str; 6] = ["source", "file", "line", "field", "rule", "message"];

/// A quarantine file being written; clones share it (ingest writes from the engine's threads).
#[derive(Clone)]
pub struct Quarantine {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    path: PathBuf,
    writer: csv::Writer<BufWriter<File>>,
    rows: u64,
    by_rule: BTreeMap<(String, &'static str), u64>,
}

impl Quarantine {
    /// Creates (or empties) `dir/quarantine.csv` and writes its header.
    pub fn create(dir: &Path) -> Result<Quarantine, RunError> {
        let path = dir.join(FILE);
        let file = File::create(&path).map_err(|e| RunError::io(&path, e))?;
        let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file));
        writer
            .write_record(HEADER)
            .map_err(|e| csv_error(&path, e))?;
        Ok(Quarantine {
            inner: Arc::new(Mutex::new(Inner {
                path,
                writer,
                rows: 0,
                by_rule: BTreeMap::new(),
            })),
        })
    }

    /// Appends `rows`, quarantined from source `source`.
    pub fn write(&self, source: &str, rows: &[QuarantinedRow]) -> Result<(), RunError> {
        let mut q = self.inner.lock().expect("not poisoned");
        let q = &mut *q;
        for row in rows {
            let line = row.line.to_string();
            let record = [
                source,
                row.file.as_str(),
                line.as_str(),
                row.field.as_deref().unwrap_or(""),
                row.rule.as_str(),
                row.message.as_str(),
            ];
            q.writer
                .write_record(record)
                .map_err(|e| csv_error(&q.path, e))?;
            q.rows += 1;
            *q.by_rule
                .entry((source.to_string(), row.rule.as_str()))
                .or_default() += 1;
        }
        Ok(())
    }

    /// Rows quarantined from `source`, per rule id.
    pub fn counts_of(&self, source: &str) -> BTreeMap<String, u64> {
        let q = self.inner.lock().expect("not poisoned");
        q.by_rule
            .iter()
            .filter(|((s, _), _)| s == source)
            .map(|((_, rule), n)| (rule.to_string(), *n))
            .collect()
    }

    /// Flushes the file to disk; returns its path and its number of data rows.
    pub fn finish(&self) -> Result<(PathBuf, u64), RunError> {
        let mut q = self.inner.lock().expect("not poisoned");
        let path = q.path.clone();
        q.writer
            .flush()
            .and_then(|_| q.writer.get_ref().get_ref().sync_all())
            .map_err(|e| RunError::io(&path, e))?;
        Ok((path, q.rows))
    }
}

fn csv_error(path: &Path, e: csv::Error) -> RunError {
    match e.into_kind() {
        csv::ErrorKind::Io(io) => RunError::io(path, io),
        other => RunError::Internal(format!("{}: {other:?}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p20w_connectors::Rule;

    fn row(file: &str, line: u64, rule: Rule, message: &str) -> QuarantinedRow {
        QuarantinedRow {
            file: file.into(),
            line,
            field: Some("quarter".into()),
            rule,
            message: message.into(),
        }
    }

    #[test]
    fn awkward_characters_survive_a_round_trip_through_a_csv_reader() {
        let dir = tempfile::tempdir().unwrap();
        let q = Quarantine::create(dir.path()).unwrap();
        let awkward = "carriage\rreturn, \"quoted\"\nand more";
        q.write("wages", &[row("a\rb.csv", 7, Rule::Range, awkward)])
            .unwrap();
        let (path, rows) = q.finish().unwrap();
        assert_eq!(rows, 1);
        let mut r = csv::Reader::from_path(&path).unwrap();
        assert_eq!(r.headers().unwrap(), HEADER.as_slice());
        let got: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(got.len(), 1);
        assert_eq!(
            got[0].iter().collect::<Vec<_>>(),
            ["wages", "a\rb.csv", "7", "quarter", "range", awkward]
        );
    }

    #[test]
    fn rows_reach_the_file_as_they_come_and_only_counts_stay_in_memory() {
        let dir = tempfile::tempdir().unwrap();
        let q = Quarantine::create(dir.path()).unwrap();
        let batch: Vec<QuarantinedRow> = (0..10_000)
            .map(|i| row("w.csv", i + 2, Rule::Range, "quarter out of range"))
            .collect();
        for _ in 0..20 {
            q.write("wages", &batch).unwrap();
        }
        q.write("students", &[row("s.csv", 2, Rule::Date, "bad date")])
            .unwrap();
        // 200,001 rows of ~40 bytes cannot sit in a 64 KiB buffer: most are on disk already.
        let on_disk = std::fs::metadata(dir.path().join(FILE)).unwrap().len();
        assert!(on_disk > 7_000_000, "{on_disk} bytes written before finish");
        let (_, rows) = q.finish().unwrap();
        assert_eq!(rows, 200_001);
        assert_eq!(
            q.counts_of("wages"),
            BTreeMap::from([("range".to_string(), 200_000)])
        );
        assert_eq!(
            q.counts_of("students"),
            BTreeMap::from([("date".to_string(), 1)])
        );
        let n = csv::Reader::from_path(dir.path().join(FILE))
            .unwrap()
            .records()
            .count();
        assert_eq!(n, 200_001);
    }
}
