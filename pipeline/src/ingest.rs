//! Stages 1 and 2: read each source through its connector and pseudonymize it on the way to
//! the work folder. Clear identifiers exist only inside this stage's record batches; what
//! reaches disk is the entity's canonical schema, and quarantined rows carry no values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::RecordBatch;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::streaming::StreamingTable;
use datafusion::common::TableReference;
use datafusion::common::{DataFusionError, Result as DfResult};
use datafusion::dataframe::DataFrameWriteOptions;
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::PartitionStream;
use datafusion::prelude::SessionContext;
use p20w_connectors::csv_source::CsvBatchReader;
use p20w_connectors::{CsvSource, SourceCounts};
use p20w_schemas::{Entity, IdType, Role, SSN_STATUS, pseudonym_column};
use serde::Serialize;

use crate::RunError;
use crate::progress::Meter;
use crate::quarantine::Quarantine;
use crate::udf::pseudonym_function;

/// Pseudonymized Parquet written by ingest, with the schema it was written with.
pub struct WrittenTable {
    pub dir: PathBuf,
    pub schema: datafusion::arrow::datatypes::Schema,
}

/// What ingest did with one source, for the run report.
#[derive(Debug, Clone, Serialize)]
pub struct SourceReport {
    pub name: String,
    pub entity: String,
    pub file: String,
    pub sha256: String,
    pub read: u64,
    pub accepted: u64,
    pub quarantined: u64,
    /// Quarantined rows per rule id.
    pub quarantined_by_rule: BTreeMap<String, u64>,
    pub ignored_columns: Vec<String>,
}

/// The table (and work subfolder) holding a source's pseudonymized rows. Source names are
/// compared without regard to case, and the engine folds unquoted names to lower case, so the
/// table takes the lower-case form and is always named quoted.
pub fn source_table(source: &str) -> String {
    format!("src_{}", source.to_ascii_lowercase())
}

struct Progress {
    source: String,
    quarantine: Quarantine,
    meter: Meter,
    counts: SourceCounts,
    sha256: Option<String>,
    ignored: Vec<String>,
    error: Option<String>,
}

/// A connector as a one-shot DataFusion partition, so batches stream from file to Parquet.
struct ConnectorPartition {
    schema: SchemaRef,
    reader: Mutex<Option<CsvBatchReader>>,
    progress: Arc<Mutex<Progress>>,
}

impl std::fmt::Debug for ConnectorPartition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectorPartition")
    }
}

impl PartitionStream for ConnectorPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let reader = self.reader.lock().expect("not poisoned").take();
        let progress = self.progress.clone();
        let batches = ReaderBatches {
            reader,
            progress,
            finished: false,
        };
        Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            futures::stream::iter(batches),
        ))
    }
}

struct ReaderBatches {
    reader: Option<CsvBatchReader>,
    progress: Arc<Mutex<Progress>>,
    finished: bool,
}

impl Iterator for ReaderBatches {
    type Item = DfResult<RecordBatch>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.finished {
            return None;
        }
        let Some(reader) = self.reader.as_mut() else {
            self.finished = true;
            return Some(Err(DataFusionError::Execution(
                "a source can be read once per run".into(),
            )));
        };
        let item = reader.next();
        let mut p = self.progress.lock().expect("not poisoned");
        p.counts = reader.counts();
        p.meter.update(p.counts.read, reader.bytes_read());
        match item {
            Some(Ok(batch)) => {
                tracing::debug!(
                    source = %p.source,
                    accepted = batch.records.num_rows(),
                    quarantined = batch.quarantined.len(),
                    "batch read"
                );
                if let Err(e) = p.quarantine.write(&p.source, &batch.quarantined) {
                    self.finished = true;
                    p.error = Some(e.to_string());
                    return Some(Err(DataFusionError::External(Box::new(e))));
                }
                Some(Ok(batch.records))
            }
            Some(Err(e)) => {
                p.error = Some(e.to_string());
                Some(Err(DataFusionError::External(Box::new(e))))
            }
            None => {
                p.sha256 = Some(reader.sha256_hex());
                p.ignored = reader.ignored_columns().to_vec();
                self.finished = true;
                None
            }
        }
    }
}

/// The SQL select list that turns an entity's ingest schema into its canonical schema.
pub fn pseudonymize_projection(entity: Entity) -> String {
    let mut items = Vec::new();
    for f in entity.fields() {
        let col = format!("\"{}\"", f.name);
        match f.role {
            Role::Attribute => items.push(col),
            Role::QuasiIdentifier => {}
            Role::Identifier(IdType::Ssn) => {
                let pid = pseudonym_column(f.name);
                items.push(format!(
                    "{}(p20w_canonical_ssn({col})) AS \"{pid}\"",
                    pseudonym_function(IdType::Ssn)
                ));
                items.push(format!("p20w_ssn_status({col}) AS \"{SSN_STATUS}\""));
            }
            Role::Identifier(id) => {
                items.push(format!(
                    "{}({col}) AS \"{}\"",
                    pseudonym_function(id),
                    pseudonym_column(f.name)
                ));
            }
        }
    }
    items.join(", ")
}

/// Reads one source and writes its canonical, pseudonymized rows as Parquet under
/// `work_dir/<source table>/`. Quarantined rows go to `quarantine` as they are found; `meter`
/// is updated once per batch.
pub async fn ingest_source(
    ctx: &SessionContext,
    name: &str,
    entity: Entity,
    path: &Path,
    work_dir: &Path,
    quarantine: &Quarantine,
    meter: Meter,
) -> Result<(SourceReport, WrittenTable), RunError> {
    let reader = CsvSource::new(path, entity).open()?;
    let progress = Arc::new(Mutex::new(Progress {
        source: name.to_string(),
        quarantine: quarantine.clone(),
        meter,
        counts: SourceCounts::default(),
        sha256: None,
        ignored: Vec::new(),
        error: None,
    }));
    let partition = ConnectorPartition {
        schema: entity.ingest_schema(),
        reader: Mutex::new(Some(reader)),
        progress: progress.clone(),
    };
    let table = StreamingTable::try_new(entity.ingest_schema(), vec![Arc::new(partition)])?;
    let raw = format!("raw_{}", name.to_ascii_lowercase());
    ctx.register_table(TableReference::bare(raw.as_str()), Arc::new(table))?;
    let df = ctx
        .sql(&format!(
            "SELECT {} FROM \"{raw}\"",
            pseudonymize_projection(entity)
        ))
        .await?;
    let schema = df.schema().as_arrow().clone();
    let out = work_dir.join(source_table(name));
    let result = df
        .write_parquet(
            &format!("{}/", out.display()),
            DataFrameWriteOptions::new(),
            None,
        )
        .await;
    ctx.deregister_table(TableReference::bare(raw.as_str()))?;
    let mut p = progress.lock().expect("not poisoned");
    if let Some(e) = p.error.take() {
        return Err(RunError::Source {
            source_name: name.to_string(),
            message: e,
        });
    }
    result?;
    let counts = p.counts;
    Ok((
        SourceReport {
            name: name.to_string(),
            entity: entity.name().to_string(),
            file: path.display().to_string(),
            sha256: p.sha256.clone().unwrap_or_default(),
            read: counts.read,
            accepted: counts.accepted,
            quarantined: counts.quarantined,
            quarantined_by_rule: quarantine.counts_of(name),
            ignored_columns: p.ignored.clone(),
        },
        WrittenTable { dir: out, schema },
    ))
}
