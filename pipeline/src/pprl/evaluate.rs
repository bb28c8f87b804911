//! The evaluation mode: link two clear person files exactly as `encode` + `link` would, and
//! write the pairs with the caller's own record ids, so anyone can score the linkage against
//! their own ground truth. The key is drawn fresh and dropped: nothing encoded is kept.

use std::path::Path;

use p20w_privacy::MasterKey;
use p20w_privacy::linkage::{Encoder, Encoding, LinkConfig, ThresholdFit, link_one_to_one};
use serde::Serialize;

use super::PprlError;
use super::people::{RecordPool, RejectedRow, Row, encode_all, for_each_chunk};

#[derive(Debug, Clone, Serialize)]
pub struct EvaluationSummary {
    pub left_records: u64,
    pub right_records: u64,
    pub quarantined: Vec<(String, RejectedRow)>,
    pub pairs: u64,
    pub ssn_links: u64,
    pub fuzzy_links: u64,
    pub duplicate_links: u64,
    pub pairs_scored: u64,
    pub threshold: ThresholdFit,
    pub encode_seconds: f64,
    pub link_seconds: f64,
}

pub fn evaluate(
    left: &Path,
    right: &Path,
    out: &Path,
    config: &LinkConfig,
) -> Result<EvaluationSummary, PprlError> {
    let mut bytes = vec![0u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| PprlError::input(out, format!("no random key: {e}")))?;
    let key = MasterKey::from_bytes(bytes, "evaluation").expect("32 bytes");
    let encoder = Encoder::new(&key, "evaluation");
    let mut quarantined = Vec::new();
    let started = std::time::Instant::now();
    let mut read = |path: &Path| -> Result<(Vec<String>, Vec<Encoding>), PprlError> {
        let (mut ids, mut encodings) = (Vec::new(), Vec::new());
        let pool = RecordPool::default();
        for_each_chunk(path, &pool, |cols, records, rows| {
            encodings.extend(encode_all(&encoder, &cols, &records));
            ids.extend(records.iter().map(|r| cols.record_id(r).to_string()));
            pool.give(records);
            for row in rows {
                if let Row::Rejected(r) = row {
                    quarantined.push((path.display().to_string(), r));
                }
            }
            Ok(())
        })?;
        Ok((ids, encodings))
    };
    let (left_ids, left_enc) = read(left)?;
    let (right_ids, right_enc) = read(right)?;
    let encode_seconds = started.elapsed().as_secs_f64();
    let started = std::time::Instant::now();
    let linkage = link_one_to_one(&left_enc, &right_enc, config);
    let link_seconds = started.elapsed().as_secs_f64();

    let partial = out.with_extension("csv.partial");
    let csv_err = |e: csv::Error| PprlError::input(&partial, e.to_string());
    let mut w = csv::Writer::from_path(&partial).map_err(csv_err)?;
    w.write_record(["left_record_id", "right_record_id", "score"])
        .map_err(csv_err)?;
    for l in &linkage.links {
        w.write_record([
            &left_ids[l.left as usize],
            &right_ids[l.right as usize],
            &format!("{:.4}", l.score),
        ])
        .map_err(csv_err)?;
    }
    w.flush().map_err(|source| PprlError::Io {
        file: partial.display().to_string(),
        source,
    })?;
    drop(w);
    std::fs::rename(&partial, out).map_err(|source| PprlError::Io {
        file: out.display().to_string(),
        source,
    })?;
    Ok(EvaluationSummary {
        left_records: left_ids.len() as u64,
        right_records: right_ids.len() as u64,
        quarantined,
        pairs: linkage.links.len() as u64,
        ssn_links: linkage.ssn_links,
        fuzzy_links: linkage.fuzzy_links,
        duplicate_links: linkage.duplicate_links,
        pairs_scored: linkage.pairs_scored,
        threshold: linkage.threshold,
        encode_seconds,
        link_seconds,
    })
}
