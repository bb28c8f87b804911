//! Stages 1 and 2: read each source through its connector and pseudonymize it on the way to
//! the work folder. Clear identifiers exist only inside this stage's record batches; what
//! reaches disk is the entity's canonical schema, and quarantined rows carry no values.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use std::sync::{Arc, Mutex};

use futures::{SinkExt, StreamExt};

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
use p20w_connectors::{
    InputFile, ReadSummary, SkippedRecords, SourceCounts, SourceReader, UnmappedCode,
};
use p20w_schemas::{Entity, IdType, LINKAGE_ENCODING, Role, SSN_STATUS, pseudonym_column};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::RunError;
use crate::config::SourceConfig;
use crate::progress::Meter;
use crate::quarantine::Quarantine;
use crate::udf::{LINKAGE_ENCODING_FUNCTION, pseudonym_function};

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
    /// Where the source was read from.
    pub file: String,
    /// SHA-256 of the input, or for a source of several files, of their names and digests.
    pub sha256: String,
    /// Every file or object the source read.
    pub inputs: Vec<InputFile>,
    pub read: u64,
    pub accepted: u64,
    pub quarantined: u64,
    /// Quarantined rows per rule id.
    pub quarantined_by_rule: BTreeMap<String, u64>,
    pub ignored_columns: Vec<String>,
    /// Codes neither canonical nor crosswalked, with their row counts.
    pub unmapped_codes: Vec<UnmappedCode>,
    /// Input records that are not records of this source's entity (NSC not-found rows, …).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_records: Vec<SkippedRecords>,
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
    summary: Option<ReadSummary>,
    error: Option<String>,
}

/// A connector as a one-shot DataFusion partition, so batches stream from file to Parquet.
struct ConnectorPartition {
    schema: SchemaRef,
    reader: Mutex<Option<Box<dyn SourceReader>>>,
    progress: Arc<Mutex<Progress>>,
    runtime: tokio::runtime::Handle,
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

    /// Runs the connector on a blocking thread: its reads (a file, or a network stream driven
    /// with `Handle::block_on`) never hold an async worker, so the engine keeps writing the
    /// batches already read. Two batches wait in the channel at most.
    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let reader = self.reader.lock().expect("not poisoned").take();
        let progress = self.progress.clone();
        let (mut tx, rx) = futures::channel::mpsc::channel::<DfResult<RecordBatch>>(1);
        self.runtime.spawn_blocking(move || {
            let batches = ReaderBatches {
                reader,
                progress,
                finished: false,
            };
            for item in batches {
                // The engine dropped the stream (an error elsewhere, or a stop): read no more.
                if futures::executor::block_on(tx.send(item)).is_err() {
                    break;
                }
            }
        });
        let progress = self.progress.clone();
        let ended = futures::stream::once(async move {
            let p = progress.lock().expect("not poisoned");
            // A thread that panicked or was never run leaves neither summary nor error.
            (p.summary.is_none() && p.error.is_none()).then(|| {
                Err(DataFusionError::Execution(format!(
                    "source {}: the connector stopped before the end of its input",
                    p.source
                )))
            })
        })
        .filter_map(futures::future::ready);
        Box::pin(RecordBatchStreamAdapter::new(
            self.schema.clone(),
            rx.chain(ended),
        ))
    }
}

struct ReaderBatches {
    reader: Option<Box<dyn SourceReader>>,
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
        let summary = reader.summary();
        p.counts = summary.counts;
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
                p.summary = Some(summary);
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
    if entity.carries_linkage_encoding() {
        let field = |name: &str| {
            let present = entity.fields().iter().any(|f| f.name == name);
            if present {
                format!("\"{name}\"")
            } else {
                "NULL".to_string()
            }
        };
        items.push(format!(
            "{LINKAGE_ENCODING_FUNCTION}({}, {}, {}, {}) AS \"{LINKAGE_ENCODING}\"",
            field("first_name"),
            field("last_name"),
            field("birth_date"),
            field("sex"),
        ));
    }
    items.join(", ")
}

/// Reads one source and writes its canonical, pseudonymized rows as Parquet under
/// `work_dir/<source table>/`. Quarantined rows go to `quarantine` as they are found; `meter`
/// is updated once per batch.
pub async fn ingest_source(
    ctx: &SessionContext,
    source: &SourceConfig,
    work_dir: &Path,
    quarantine: &Quarantine,
    meter: Meter,
) -> Result<(SourceReport, WrittenTable), RunError> {
    let (name, entity) = (source.name.as_str(), source.entity);
    // Opening reads the first bytes (a CSV header), perhaps over the network: off the workers.
    let spec = source.spec();
    let reader = tokio::task::spawn_blocking(move || p20w_connectors::open(&spec))
        .await
        .map_err(|e| RunError::internal(&format!("opening source {name}: {e}")))??;
    let progress = Arc::new(Mutex::new(Progress {
        source: name.to_string(),
        quarantine: quarantine.clone(),
        meter,
        counts: SourceCounts::default(),
        summary: None,
        error: None,
    }));
    let partition = ConnectorPartition {
        schema: entity.ingest_schema(),
        reader: Mutex::new(Some(reader)),
        progress: progress.clone(),
        runtime: tokio::runtime::Handle::current(),
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
    let summary = p.summary.take().unwrap_or_default();
    let counts = summary.counts;
    Ok((
        SourceReport {
            name: name.to_string(),
            entity: entity.name().to_string(),
            file: source.location.describe(),
            sha256: combined_sha256(&summary.inputs),
            inputs: summary.inputs,
            read: counts.read,
            accepted: counts.accepted,
            quarantined: counts.quarantined,
            quarantined_by_rule: quarantine.counts_of(name),
            ignored_columns: summary.ignored,
            unmapped_codes: summary.unmapped,
            skipped_records: summary.skipped,
        },
        WrittenTable { dir: out, schema },
    ))
}

/// One digest for a source: its file's own when it read one, else a digest over each file's
/// name and digest, so a release id changes when any input does.
fn combined_sha256(inputs: &[InputFile]) -> String {
    match inputs {
        [one] => one.sha256.clone(),
        many => {
            let mut sha = Sha256::new();
            for i in many {
                sha.update(format!("{}\0{}\0", i.file, i.sha256));
            }
            hex::encode(sha.finalize())
        }
    }
}
