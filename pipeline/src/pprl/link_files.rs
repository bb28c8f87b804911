//! Linking encoded files and keeping person link ids stable across runs.
//!
//! The first file is the spine (in `p20w run`, K-12); every other file is linked to it one to
//! one, except that in files said to hold records rather than persons ([`LinkConfig`]'s
//! `repeated_*`) a person's second record joins their link as a duplicate, and spine records
//! linked to the same record share one id (unless one already had another: ids never move). A person's link id is the id any of their records
//! already had in the previous run's `link_ids.parquet` (the spine's first), else a hash of the
//! spine record's key, else of the record's own key: so the same inputs give the same ids, and
//! a new quarter's records join the ids that exist without relinking or renumbering anyone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use p20w_privacy::linkage::{LinkConfig, LinkMethod, Side, ThresholdFit, link_one_to_one};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::PprlError;
use super::encoded::{EncodedFile, read_encoded};

#[derive(Debug, Clone, Serialize)]
pub struct PairSummary {
    pub left: String,
    pub right: String,
    pub left_records: u64,
    pub right_records: u64,
    pub ssn_links: u64,
    pub fuzzy_links: u64,
    pub duplicate_links: u64,
    /// Share of the right file's records linked to the spine.
    pub right_link_rate: f64,
    pub pairs_scored: u64,
    pub skipped_blocks: u64,
    pub threshold: ThresholdFit,
}

#[derive(Debug, Clone, Serialize)]
pub struct LinkSummary {
    pub pairs: Vec<PairSummary>,
    pub records: u64,
    pub link_ids: u64,
    /// Records whose id came from the previous run's link ids.
    pub ids_kept: u64,
    /// Linked records that carried two different previous ids; each kept its own.
    pub id_conflicts: u64,
}

/// A file's label in the outputs: its name without `.parquet`.
fn label(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().trim_end_matches(".parquet").to_string())
        .unwrap_or_default()
}

fn new_link_id(source: &str, record_key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"p20w/link-id/v1\x00")
        .chain_update(source.as_bytes())
        .chain_update(b"\x00")
        .chain_update(record_key.as_bytes())
        .finalize();
    hex::encode(&digest[..16])
}

pub fn link_files(
    files: &[PathBuf],
    out_dir: &Path,
    previous_ids: Option<&Path>,
    config: &LinkConfig,
) -> Result<LinkSummary, PprlError> {
    if files.len() < 2 {
        return Err(PprlError::input(
            out_dir,
            "link needs at least two encoded files",
        ));
    }
    let encoded: Vec<EncodedFile> = files
        .iter()
        .map(|f| read_encoded(f))
        .collect::<Result<_, _>>()?;
    let labels: Vec<String> = files.iter().map(|f| label(f)).collect();
    for (i, f) in encoded.iter().enumerate() {
        if (f.agreement_id.as_str(), f.key_id.as_str())
            != (encoded[0].agreement_id.as_str(), encoded[0].key_id.as_str())
        {
            return Err(PprlError::input(
                Path::new(&f.path),
                format!(
                    "encoded under agreement {} key {}, but {} under agreement {} key {}: encodings under different keys never match",
                    f.agreement_id,
                    f.key_id,
                    encoded[0].path,
                    encoded[0].agreement_id,
                    encoded[0].key_id
                ),
            ));
        }
        if labels[..i].contains(&labels[i]) {
            return Err(PprlError::input(
                Path::new(&f.path),
                "two inputs have the same file name; the link table names files by it",
            ));
        }
    }
    let previous = match previous_ids {
        Some(p) => read_link_ids(p)?,
        None => HashMap::new(),
    };

    let spine = &encoded[0];
    // Per file, per record: the spine record it links to.
    let mut partner: Vec<Vec<Option<u32>>> = vec![Vec::new(); encoded.len()];
    // Per spine record: the spine record whose id it takes (a second record of one person).
    let mut same_as: Vec<u32> = (0..spine.encodings.len() as u32).collect();
    let mut link_rows: Vec<(usize, u32, u32, f64, &'static str)> = Vec::new();
    let mut pairs = Vec::new();
    for (k, other) in encoded.iter().enumerate().skip(1) {
        let linkage = link_one_to_one(&spine.encodings, &other.encodings, config);
        partner[k] = vec![None; other.encodings.len()];
        for l in &linkage.links {
            link_rows.push((k, l.left, l.right, l.score, l.method.as_str()));
            if l.method != LinkMethod::Duplicate(Side::Left) {
                partner[k][l.right as usize] = Some(l.left);
            }
        }
        for l in &linkage.links {
            if let (LinkMethod::Duplicate(Side::Left), Some(first)) =
                (l.method, partner[k][l.right as usize])
            {
                let (a, b) = (root(&mut same_as, l.left), root(&mut same_as, first));
                same_as[a.max(b) as usize] = a.min(b);
            }
        }
        tracing::info!(left = %labels[0], right = %labels[k], ssn_links = linkage.ssn_links, fuzzy_links = linkage.fuzzy_links, duplicate_links = linkage.duplicate_links, threshold = linkage.threshold.threshold, "linked");
        pairs.push(PairSummary {
            left: labels[0].clone(),
            right: labels[k].clone(),
            left_records: spine.encodings.len() as u64,
            right_records: other.encodings.len() as u64,
            ssn_links: linkage.ssn_links,
            fuzzy_links: linkage.fuzzy_links,
            duplicate_links: linkage.duplicate_links,
            right_link_rate: partner[k].iter().filter(|p| p.is_some()).count() as f64
                / other.encodings.len().max(1) as f64,
            pairs_scored: linkage.pairs_scored,
            skipped_blocks: linkage.skipped_blocks,
            threshold: linkage.threshold,
        });
    }

    // Ids: the spine first, taking a previous id of any record linked to it.
    let prev =
        |k: usize, i: usize| previous.get(&(labels[k].clone(), encoded[k].record_keys[i].clone()));
    let mut spine_ids: Vec<Option<String>> = (0..spine.encodings.len())
        .map(|i| prev(0, i).cloned())
        .collect();
    for k in 1..encoded.len() {
        for (j, p) in partner[k].iter().enumerate() {
            if let (Some(i), Some(id)) = (p, prev(k, j)) {
                spine_ids[*i as usize].get_or_insert_with(|| id.clone());
            }
        }
    }
    // One person's spine records (second records joined by `--repeated`): each keeps an id it
    // already has, so no id moves; the others take the id of the member with the smallest
    // record key that has one, else a hash of that smallest key, so row order changes nothing.
    let mut group_id: HashMap<u32, (&str, Option<&String>)> = HashMap::new();
    for (i, own) in spine_ids.iter().enumerate() {
        let key = spine.record_keys[i].as_str();
        let g = group_id
            .entry(root(&mut same_as, i as u32))
            .or_insert((key, own.as_ref()));
        let better = match (own, g.1) {
            (Some(_), None) => true,
            (Some(_), Some(_)) | (None, None) => key < g.0,
            (None, Some(_)) => false,
        };
        if better {
            *g = (key, own.as_ref());
        }
    }
    let spine_ids: Vec<String> = (0..spine_ids.len())
        .map(|i| {
            spine_ids[i].clone().unwrap_or_else(|| {
                let (key, id) = group_id[&root(&mut same_as, i as u32)];
                id.cloned().unwrap_or_else(|| new_link_id(&labels[0], key))
            })
        })
        .collect();
    let (mut ids_kept, mut id_conflicts) = (0u64, 0u64);
    let mut id_rows: Vec<(usize, usize, String)> = Vec::new();
    for (k, f) in encoded.iter().enumerate() {
        for j in 0..f.record_keys.len() {
            let from_spine = if k == 0 {
                Some(&spine_ids[j])
            } else {
                partner[k][j].map(|i| &spine_ids[i as usize])
            };
            let id = match (prev(k, j), from_spine) {
                (Some(old), linked) => {
                    ids_kept += 1;
                    if linked.is_some_and(|s| s != old) {
                        id_conflicts += 1;
                    }
                    old.clone()
                }
                (None, Some(s)) => s.clone(),
                (None, None) => new_link_id(&labels[k], &f.record_keys[j]),
            };
            id_rows.push((k, j, id));
        }
    }
    let link_ids = id_rows
        .iter()
        .map(|r| r.2.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len() as u64;

    std::fs::create_dir_all(out_dir).map_err(|source| PprlError::Io {
        file: out_dir.display().to_string(),
        source,
    })?;
    let s = |v: Vec<&str>| Arc::new(StringArray::from(v)) as ArrayRef;
    write_parquet(
        &out_dir.join("links.parquet"),
        vec![
            (
                "left_file",
                s(link_rows.iter().map(|_| labels[0].as_str()).collect()),
            ),
            (
                "left_key",
                s(link_rows
                    .iter()
                    .map(|r| spine.record_keys[r.1 as usize].as_str())
                    .collect()),
            ),
            (
                "right_file",
                s(link_rows.iter().map(|r| labels[r.0].as_str()).collect()),
            ),
            (
                "right_key",
                s(link_rows
                    .iter()
                    .map(|r| encoded[r.0].record_keys[r.2 as usize].as_str())
                    .collect()),
            ),
            (
                "score",
                Arc::new(Float64Array::from(
                    link_rows.iter().map(|r| r.3).collect::<Vec<_>>(),
                )),
            ),
            ("method", s(link_rows.iter().map(|r| r.4).collect())),
        ],
    )?;
    write_parquet(
        &out_dir.join("link_ids.parquet"),
        vec![
            (
                "file",
                s(id_rows.iter().map(|r| labels[r.0].as_str()).collect()),
            ),
            (
                "record_key",
                s(id_rows
                    .iter()
                    .map(|r| encoded[r.0].record_keys[r.1].as_str())
                    .collect()),
            ),
            ("link_id", s(id_rows.iter().map(|r| r.2.as_str()).collect())),
        ],
    )?;
    let summary = LinkSummary {
        pairs,
        records: id_rows.len() as u64,
        link_ids,
        ids_kept,
        id_conflicts,
    };
    let report = out_dir.join("linkage_report.json");
    let text = serde_json::to_string_pretty(&summary).expect("plain data serializes");
    std::fs::write(&report, text + "\n").map_err(|source| PprlError::Io {
        file: report.display().to_string(),
        source,
    })?;
    Ok(summary)
}

/// The first record of `i`'s person (union-find with path halving).
fn root(same_as: &mut [u32], mut i: u32) -> u32 {
    while same_as[i as usize] != i {
        same_as[i as usize] = same_as[same_as[i as usize] as usize];
        i = same_as[i as usize];
    }
    i
}

/// Writes all columns as one Parquet file, beside and then renamed into place.
fn write_parquet(path: &Path, columns: Vec<(&str, ArrayRef)>) -> Result<(), PprlError> {
    let shown = path.display().to_string();
    let schema = Arc::new(Schema::new(
        columns
            .iter()
            .map(|(n, a)| Field::new(*n, a.data_type().clone(), false))
            .collect::<Vec<_>>(),
    ));
    let batch = RecordBatch::try_new(schema.clone(), columns.into_iter().map(|c| c.1).collect())
        .map_err(|source| PprlError::Arrow {
            file: shown.clone(),
            source,
        })?;
    let partial = path.with_extension("parquet.partial");
    let file = std::fs::File::create(&partial).map_err(|source| PprlError::Io {
        file: shown.clone(),
        source,
    })?;
    let parquet = |source| PprlError::Parquet {
        file: shown.clone(),
        source,
    };
    let mut writer = ArrowWriter::try_new(file, schema, None).map_err(parquet)?;
    writer.write(&batch).map_err(parquet)?;
    writer.close().map_err(parquet)?;
    std::fs::rename(&partial, path).map_err(|source| PprlError::Io {
        file: shown.clone(),
        source,
    })
}

/// A link id table (`link_ids.parquet`): (file, record key) → link id.
pub fn read_link_ids(path: &Path) -> Result<HashMap<(String, String), String>, PprlError> {
    let shown = path.display().to_string();
    let parquet = |source| PprlError::Parquet {
        file: shown.clone(),
        source,
    };
    let file = std::fs::File::open(path).map_err(|source| PprlError::Io {
        file: shown.clone(),
        source,
    })?;
    let mut ids = HashMap::new();
    for batch in ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(parquet)?
        .build()
        .map_err(parquet)?
    {
        let batch = batch.map_err(|source| PprlError::Arrow {
            file: shown.clone(),
            source,
        })?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .filter(|c| c.data_type() == &DataType::Utf8)
                .map(|c| c.as_string::<i32>().clone())
                .ok_or_else(|| {
                    PprlError::input(
                        path,
                        format!("no `{name}` text column: not a link_ids.parquet"),
                    )
                })
        };
        let (f, k, id) = (col("file")?, col("record_key")?, col("link_id")?);
        for i in 0..batch.num_rows() {
            ids.insert(
                (f.value(i).to_string(), k.value(i).to_string()),
                id.value(i).to_string(),
            );
        }
    }
    Ok(ids)
}
