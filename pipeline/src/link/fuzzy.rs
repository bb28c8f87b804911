//! Stage 3b: fuzzy linkage of the postsecondary persons no identifier linked.
//!
//! Ingest left each K-12 person row and postsecondary record a keyed Bloom-filter encoding of
//! its names and birth date, with sex in a blocking key (`linkage_encoding`). Postsecondary records are grouped into
//! persons by [`PS_IDENTITY`]; persons none of whose records a state id or known SSN linked are
//! matched against the K-12 students with [`link_one_per_group`], one to one within each
//! institution (a student who transferred or took a course at a second college is one person
//! at each; the identities without an institution's student id form one group); the threshold is
//! fitted to the run's own scores unless the job fixes one. A linked postsecondary person
//! brings its SSN pseudonym, so the student's wage records link too.

use std::sync::Arc;

use datafusion::arrow::array::{AsArray, Float64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::prelude::SessionContext;
use p20w_privacy::linkage::{Encoding, LinkConfig, ThresholdFit, link_one_per_group};
use p20w_schemas::LINKAGE_ENCODING;
use serde::Serialize;

use crate::RunError;
use crate::config::LinkageSettings;
use crate::sql::{collect, exec};

/// The table of fuzzy links: `ps_identity`, `student_pid`, `score`.
pub const FUZZY_LINK: &str = "ps_fuzzy_link";

/// A postsecondary record's person, as SQL over alias `r`: what the record carries that tells
/// one person's records from another's. The institution's own student id comes first: it is
/// the same on all of a student's records there, where an SSN may be mistyped on one.
pub const PS_IDENTITY: &str = "COALESCE(
    'inst:' || r.institution_id || ':' || r.institution_student_id_pid,
    'ssn:' || r.ssn_pid,
    'enc:' || encode(r.linkage_encoding, 'hex'))";

/// What the fuzzy step did, for the run report.
#[derive(Debug, Clone, Serialize)]
pub struct FuzzyLinkage {
    /// The two sides: postsecondary persons and K-12 students.
    pub left: &'static str,
    pub right: &'static str,
    /// Postsecondary persons no identifier linked, with an encoding.
    pub left_records: u64,
    /// K-12 students with an encoding.
    pub right_records: u64,
    pub links: u64,
    pub threshold: ThresholdFit,
    pub pairs_scored: u64,
    /// Blocks too large to score (each record has other blocking keys).
    pub skipped_blocks: u64,
}

/// Builds `ps_unlinked` (the records of postsecondary persons none of whose records an
/// identifier linked) and [`FUZZY_LINK`] (empty when the job turns fuzzy linkage off).
/// Expects `ps_record_link`.
pub async fn link_postsecondary(
    ctx: &SessionContext,
    settings: &LinkageSettings,
) -> Result<Option<FuzzyLinkage>, RunError> {
    exec(
        ctx,
        "CREATE VIEW ps_unlinked AS
         SELECT r.ps_identity, r.ssn_pid, r.encoding FROM ps_record_link r
           LEFT JOIN (SELECT DISTINCT ps_identity FROM ps_record_link
                       WHERE student_pid IS NOT NULL) k ON k.ps_identity = r.ps_identity
          WHERE k.ps_identity IS NULL AND r.ps_identity IS NOT NULL AND r.encoding IS NOT NULL",
    )
    .await?;
    if !settings.fuzzy {
        ctx.register_batch(FUZZY_LINK, RecordBatch::new_empty(Arc::new(link_schema())))?;
        return Ok(None);
    }
    // One encoding per person on each side; the smallest when a person's records disagree,
    // so the choice is the same on every run. Ordered, so positions are too.
    let (student_ids, students) = encodings(
        ctx,
        &format!(
            "SELECT state_student_id_pid, min({LINKAGE_ENCODING}) FROM person
              WHERE state_student_id_pid IS NOT NULL AND {LINKAGE_ENCODING} IS NOT NULL
              GROUP BY state_student_id_pid ORDER BY state_student_id_pid"
        ),
    )
    .await?;
    let (identities, persons) = encodings(
        ctx,
        "SELECT ps_identity, min(encoding) FROM ps_unlinked
          GROUP BY ps_identity ORDER BY ps_identity",
    )
    .await?;
    let config = LinkConfig {
        threshold: settings.threshold,
        ..LinkConfig::default()
    };
    let (person_count, student_count) = (persons.len() as u64, students.len() as u64);
    // `inst:<institution>:<student pseudonym>`: the institution is the group.
    let mut institutions: std::collections::HashMap<&str, u32> = Default::default();
    let groups: Vec<u32> = identities
        .iter()
        .map(|id| {
            let institution = id
                .strip_prefix("inst:")
                .and_then(|rest| rest.rsplit_once(':'))
                .map_or("", |(institution, _)| institution);
            let next = institutions.len() as u32;
            *institutions.entry(institution).or_insert(next)
        })
        .collect();
    // The postsecondary persons go first: the threshold fit reads each first-side record's
    // best and second-best scores, and most of them have a partner among the students, while
    // most students have none among them.
    let linkage = tokio::task::spawn_blocking(move || {
        link_one_per_group(&persons, &groups, &students, &config)
    })
    .await
    .map_err(|e| RunError::internal(&format!("fuzzy linkage: {e}")))?;
    let ps_identity: StringArray = linkage
        .links
        .iter()
        .map(|l| Some(identities[l.left as usize].as_str()))
        .collect();
    let student: StringArray = linkage
        .links
        .iter()
        .map(|l| Some(student_ids[l.right as usize].as_str()))
        .collect();
    let score: Float64Array = linkage.links.iter().map(|l| Some(l.score)).collect();
    let batch = RecordBatch::try_new(
        Arc::new(link_schema()),
        vec![Arc::new(ps_identity), Arc::new(student), Arc::new(score)],
    )?;
    ctx.register_batch(FUZZY_LINK, batch)?;
    tracing::info!(
        links = linkage.links.len(),
        threshold = linkage.threshold.threshold,
        "fuzzy linkage of postsecondary records"
    );
    Ok(Some(FuzzyLinkage {
        left: "postsecondary",
        right: "person",
        left_records: person_count,
        right_records: student_count,
        links: linkage.links.len() as u64,
        threshold: linkage.threshold,
        pairs_scored: linkage.pairs_scored,
        skipped_blocks: linkage.skipped_blocks,
    }))
}

fn link_schema() -> Schema {
    Schema::new(vec![
        Field::new("ps_identity", DataType::Utf8, false),
        Field::new("student_pid", DataType::Utf8, false),
        Field::new("score", DataType::Float64, false),
    ])
}

/// Rows of (key, encoding bytes) as parallel vectors.
async fn encodings(
    ctx: &SessionContext,
    sql: &str,
) -> Result<(Vec<String>, Vec<Encoding>), RunError> {
    let (mut keys, mut out) = (Vec::new(), Vec::new());
    for b in collect(ctx, sql).await? {
        let k = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8)?;
        let e = datafusion::arrow::compute::cast(b.column(1), &DataType::Binary)?;
        let (k, e) = (k.as_string::<i32>(), e.as_binary::<i32>());
        for i in 0..b.num_rows() {
            let encoding = Encoding::from_bytes(e.value(i), None)
                .ok_or_else(|| RunError::internal("a linkage encoding of the wrong length"))?;
            keys.push(k.value(i).to_string());
            out.push(encoding);
        }
    }
    Ok((keys, out))
}
