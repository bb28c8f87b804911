//! One run of a job, front to back.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::SessionContext;
use p20w_privacy::{ReleaseSigningKey, SuppressionRule};
use p20w_schemas::{Entity, SSN_STATUS};
use sha2::{Digest, Sha256};

use crate::audit::{self, AuditLog, Event};
use crate::config::{JobConfig, Output};
use crate::engine_error::{Whereabouts, explain};
use crate::ingest::{SourceReport, ingest_source, source_table};
use crate::measures::person_outcomes;
use crate::progress::Stages;
use crate::protect::{TableRows, protect};
use crate::publish::{FileEntry, Manifest, StagedRelease};
use crate::quarantine::{self, Quarantine};
use crate::report::{RunReport, concentrators_by_cohort, linkage_by_group, ssn_status_counts};
use crate::session::new_session;
use crate::sql::{collect, exec, register_written};
use crate::tables::{CellTable, dictionary_markdown};
use crate::udf::register_catalog_functions;
use crate::udf::register_pseudonym_functions;
use crate::workdir::{self, Access, LockedDir, RUN_STEM};
use crate::{RunError, link, upload};

/// What a finished run hands back to its caller.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Where the release was published: its folder, or its object-store URL.
    pub release: String,
    /// A local copy of the release to read back: the release itself, or for an object-store
    /// output the committed staging copy it was uploaded from (removed with the outcome).
    pub release_dir: PathBuf,
    pub report: RunReport,
    _uploaded_from: Option<Arc<LockedDir>>,
}

/// The family of local folders a release is assembled in before it goes to an object store.
const UPLOAD_STEM: &str = "p20w-upload-";

/// Runs `job`; an engine error comes back in the operator's words, naming the stage. The run
/// is recorded in the job's audit log however it ends (short of being killed).
pub async fn run_job(job: &JobConfig) -> Result<RunOutcome, RunError> {
    let audit = AuditLog::at(&job.audit_log);
    let stages = Stages::default();
    let result = run_stages(job, &stages, &audit).await.map_err(|e| {
        let work_dir = stages.work_dir();
        explain(
            e,
            &Whereabouts {
                stage: stages.current(),
                memory_limit_mib: job.memory_limit_bytes >> 20,
                work_dir: work_dir.as_deref(),
            },
        )
    });
    let event = match &result {
        Ok(outcome) => audit::run_event(
            job,
            "ok",
            &Manifest::inputs_from(&outcome.report.sources),
            Some(&outcome.report.release_id),
            None,
        ),
        // A log that cannot be appended to is not logged in itself.
        Err(RunError::Audit(_)) => return result,
        Err(e @ RunError::Refused(_)) => {
            audit::run_event(job, "refused", &[], None, Some(e.to_string()))
        }
        Err(e) => audit::run_event(job, "failed", &[], None, Some(e.to_string())),
    };
    audit.append(event)?;
    result
}

async fn run_stages(
    job: &JobConfig,
    stages: &Stages,
    audit: &AuditLog,
) -> Result<RunOutcome, RunError> {
    job.agreement.check_job(job, p20w_schemas::Date::today())?;
    let key = job.key.load()?;
    let key_id = key.key_id();
    job.agreement.check_key(&key_id)?;
    // The first entry doubles as the check that the log can be appended to, before any work.
    audit.append(Event {
        action: "key_use".into(),
        outcome: "ok".into(),
        agreement_id: Some(job.agreement_id.clone()),
        job: Some(job.job_path.display().to_string()),
        key_id: Some(key_id.clone()),
        purpose: Some("pseudonyms".into()),
        ..Event::default()
    })?;
    // Read before any work, so a missing or unreadable signing key stops the run at once.
    let signer = job
        .signing_key
        .as_deref()
        .map(ReleaseSigningKey::from_file)
        .transpose()?;
    let rule = SuppressionRule {
        min_cell_size: job.min_cell_size,
    };
    // Person-level data: a new private folder, removed however the run ends (workdir.rs).
    let work_root = job.work_dir.clone().unwrap_or_else(workdir::default_root);
    let work = LockedDir::create(&work_root, RUN_STEM, RUN_STEM, Access::OwnerOnly)?;
    let work_dir = work.path();
    stages.set_work_dir(work_dir);
    let ctx = new_session(job.memory_limit_bytes, &work_dir.join("spill"))?;
    register_catalog_functions(&ctx, job.catalog.clone());
    register_pseudonym_functions(&ctx, &key, &job.agreement_id);

    // 1–2. Ingest and pseudonymize.
    let mut sources = Vec::new();
    let quarantine = Quarantine::create(work_dir)?;
    let mut ssn_status = std::collections::BTreeMap::new();
    for s in &job.sources {
        let stage = stages.ingest(&s.name, &s.location);
        let (report, written) =
            ingest_source(&ctx, s, work_dir, &quarantine, stage.meter()).await?;
        if s.loses_too_many(report.read, report.quarantined) {
            return Err(RunError::SourceLoss {
                source_name: s.name.clone(),
                quarantined: report.quarantined,
                read: report.read,
                max_share: s.max_quarantined_share,
            });
        }
        let table = source_table(&s.name);
        register_written(&ctx, &table, &written.dir, &written.schema).await?;
        if s.entity
            .canonical_schema()
            .field_with_name(SSN_STATUS)
            .is_ok()
        {
            ssn_status.insert(s.name.clone(), ssn_status_counts(&ctx, &table).await?);
        }
        stage.finish(Some(report.read), Some(report.quarantined));
        sources.push(report);
    }
    register_entities(&ctx, job).await?;
    // Every later stage reads wages resolved: one value per person, employer and quarter.
    let wage_resolution = crate::wages::resolve_wages(&ctx, work_dir).await?;

    // 3. Link.
    let stage = stages.start("link");
    let linkage = link::link(&ctx, work_dir, &job.linkage).await?;
    stage.finish(None, None);

    // 4–6. Measure, disaggregate, protect: every table and report figure together.
    let stage = stages.start("measure and protect");
    require_fields(&ctx, &job.measures).await?;
    person_outcomes(&ctx, work_dir, &job.cohorts, &job.measures).await?;
    crate::report::linkage_persons(&ctx).await?;
    let mut specs: Vec<CellTable> = job.measures.cell_tables();
    specs.push(CellTable::linkage_by_group());
    specs.push(CellTable::concentrators_by_cohort());
    let mut aggregates = Vec::with_capacity(specs.len());
    for spec in specs {
        let batches = collect(&ctx, &spec.sql()).await?;
        aggregates.push(TableRows::from_batches(spec, &batches)?);
    }
    let protected = protect(aggregates, rule, &job.catalog);
    let find = |name: &str| {
        protected
            .iter()
            .find(|p| p.table.name == name)
            .ok_or_else(|| RunError::internal(name))
    };
    let mut tables: Vec<(&str, RecordBatch)> = Vec::new();
    let mut suppressed_cells = std::collections::BTreeMap::new();
    let mut published_cells = std::collections::BTreeMap::new();
    for m in &job.measures.measures {
        let name = m.spec.dataset.as_str();
        let p = find(name)?;
        let table = p.record_batch()?;
        suppressed_cells.insert(name.to_string(), p.suppressed);
        published_cells.insert(
            name.to_string(),
            table.num_rows() as u64 - p.suppressed.primary - p.suppressed.complementary,
        );
        tables.push((name, table));
    }
    stage.finish(
        Some(tables.iter().map(|(_, t)| t.num_rows() as u64).sum()),
        None,
    );

    let release_id = job
        .release_id
        .clone()
        .unwrap_or_else(|| derive_release_id(job, &key_id, &sources));
    let stage = stages.start("report");
    let report = RunReport {
        release_id: release_id.clone(),
        agreement_id: job.agreement_id.clone(),
        sources,
        ssn_status,
        link_rates: linkage.rates.clone(),
        fuzzy_linkage: linkage.fuzzy.clone(),
        wage_resolution,
        linkage_by_group: linkage_by_group(find("linkage_by_group")?),
        concentrators_by_cohort: concentrators_by_cohort(find("concentrators_by_cohort")?),
        suppressed_cells,
        published_cells,
    };
    report.check_reconciliation()?;
    stage.finish(None, None);

    // 7. Publish.
    let stage = stages.start("publish");
    let (local_output, upload) = match &job.output {
        Output::Local(dir) => (dir.clone(), None),
        Output::Object(store) => {
            let prefix = upload::release_prefix(store, &job.agreement_id, &release_id);
            // Before writing anything: the same check runs again just before the upload.
            upload::refuse_existing(store, &prefix).await?;
            let dir = LockedDir::create(&work_root, UPLOAD_STEM, UPLOAD_STEM, Access::Default)?;
            (dir.path().to_path_buf(), Some((store, prefix, dir)))
        }
    };
    let mut release = StagedRelease::begin(&local_output, &job.agreement_id, &release_id)?;
    for (name, table) in &tables {
        release.write_parquet(name, table)?;
    }
    let report_json =
        serde_json::to_string_pretty(&report).map_err(|e| RunError::internal(&e.to_string()))?;
    release.write_text("run_report.json", &(report_json + "\n"), 0)?;
    let (quarantined, quarantined_rows) = quarantine.finish()?;
    release.copy_file(quarantine::FILE, &quarantined, quarantined_rows)?;
    let dictionary =
        dictionary_markdown(&job.measures, &linkage) + &job.agreement.dictionary_markdown(job);
    release.write_text("dictionary.md", &dictionary, 0)?;
    let manifest = Manifest {
        format: "p20w-release/1",
        tool: "p20w",
        tool_version: env!("CARGO_PKG_VERSION"),
        release_id,
        agreement_id: job.agreement_id.clone(),
        agreement_version: job.agreement.version,
        agreement_sha256: job.agreement.sha256.clone(),
        purpose: job.purpose.clone(),
        key_id,
        // Filled in by `commit`, from the key that signs.
        signing_key_id: None,
        cohorts: job.cohorts.clone(),
        min_cell_size: job.min_cell_size,
        protection: vec![format!(
            "primary suppression: a rate is suppressed when its denominator, numerator or \
             denominator minus numerator is below {0}; a denominator below {0} is withheld. \
             Complementary suppression over every table and the run report together: further \
             counts are hidden until no relation among published figures has exactly one hidden \
             cell (each grouping's margins, race x sex, programs within their career cluster, \
             cohorts pooled in the run report, and any two figures counting the same people, \
             within or across tables). Not yet LP-audited against combinations of relations or \
             across releases",
            job.min_cell_size
        )],
        inputs: Manifest::inputs_from(&report.sources),
        files: Vec::new(),
    };
    let release_id = manifest.release_id.clone();
    let (release_dir, files) = release.commit(manifest, signer.as_ref())?;
    let (shown, uploaded_from) = match upload {
        None => (release_dir.display().to_string(), None),
        Some((store, prefix, dir)) => (
            upload::upload_release(&release_dir, store, &prefix).await?,
            Some(Arc::new(dir)),
        ),
    };
    record_release(audit, job, &release_id, &shown, &files, signer.as_ref())?;
    stage.finish(None, None);
    Ok(RunOutcome {
        release: shown,
        release_dir,
        report,
        _uploaded_from: uploaded_from,
    })
}

/// The audit entries of a published release: the signing key's use, and every file written.
fn record_release(
    audit: &AuditLog,
    job: &JobConfig,
    release_id: &str,
    location: &str,
    files: &[FileEntry],
    signer: Option<&ReleaseSigningKey>,
) -> Result<(), RunError> {
    if let Some(key) = signer {
        audit.append(Event {
            action: "key_use".into(),
            outcome: "ok".into(),
            agreement_id: Some(job.agreement_id.clone()),
            release_id: Some(release_id.to_string()),
            key_id: Some(key.public_key().key_id()),
            purpose: Some("release signature".into()),
            ..Event::default()
        })?;
    }
    // Paths within the release, which may since have gone to an object store.
    let wrote = files
        .iter()
        .map(|f| audit::FileHash {
            file: f.path.clone(),
            sha256: f.sha256.clone(),
        })
        .collect();
    audit.append(Event {
        action: "release".into(),
        outcome: "ok".into(),
        agreement_id: Some(job.agreement_id.clone()),
        job: Some(job.job_path.display().to_string()),
        release_id: Some(release_id.to_string()),
        wrote,
        message: Some(format!("published to {location}")),
        ..Event::default()
    })?;
    Ok(())
}

/// Registers one table per entity over its sources' pseudonymized Parquet; an entity with no
/// source is an empty table of its canonical schema, so the SQL of later stages always binds.
async fn register_entities(ctx: &SessionContext, job: &JobConfig) -> Result<(), RunError> {
    for entity in Entity::ALL {
        let names: Vec<String> = job
            .sources_of(entity)
            .map(|s| format!("\"{}\"", source_table(&s.name)))
            .collect();
        if names.is_empty() {
            let empty = RecordBatch::new_empty(entity.canonical_schema());
            ctx.register_batch(entity.name(), empty)?;
            continue;
        }
        let union = names
            .iter()
            .map(|n| format!("SELECT * FROM {n}"))
            .collect::<Vec<_>>()
            .join(" UNION ALL ");
        exec(ctx, &format!("CREATE VIEW {} AS {union}", entity.name())).await?;
    }
    Ok(())
}

/// Same inputs, key, job and tool version give the same release id.
fn derive_release_id(job: &JobConfig, key_id: &str, sources: &[SourceReport]) -> String {
    let mut sha = Sha256::new();
    sha.update(env!("CARGO_PKG_VERSION"));
    sha.update(key_id);
    sha.update(&job.agreement_id);
    sha.update(format!(
        "{:?}{:?}{}{:?}",
        job.cohorts, job.measures, job.min_cell_size, job.linkage
    ));
    for s in sources {
        sha.update(format!("{}\0{}\0{}\0", s.name, s.entity, s.sha256));
    }
    let last = job.cohorts.iter().max().copied().unwrap_or_default();
    format!("cohort{last}-{}", &hex::encode(sha.finalize())[..12])
}

/// Refuses a measure whose outcome reads an optional field that no record of the job holds.
async fn require_fields(
    ctx: &SessionContext,
    plan: &crate::measures::MeasurePlan,
) -> Result<(), RunError> {
    for m in &plan.measures {
        for (entity, field) in m.outcomes().filter_map(|o| o.required_field()) {
            let sql = format!("SELECT count(\"{field}\") FROM {entity}");
            if crate::sql::count(ctx, &sql).await? == 0 {
                return Err(RunError::MissingField {
                    measure: m.spec.id.clone(),
                    entity: entity.to_string(),
                    field: field.to_string(),
                });
            }
        }
    }
    Ok(())
}
