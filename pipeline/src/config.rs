//! The job file (`job.toml`): what to read, under which agreement and key, what to measure and
//! where to publish. Unknown keys are errors; relative paths are relative to the job file.

use std::path::{Path, PathBuf};

use std::sync::Arc;

use std::collections::BTreeMap;

use p20w_connectors::{
    FORMATS, Location, ObjectLocation, PostgresLocation, Relation, SourceSpec, UnmappedCodes,
    Validation,
};
use p20w_privacy::MasterKey;
use p20w_schemas::{Crosswalk, CteProgramCatalog, Entity};
use serde::Deserialize;
use sha2::Digest;

use crate::agreement::{Agreement, AgreementError};
use crate::measures::{MeasureCatalog, MeasurePlan, read_measure_files};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read job file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("job file {path}: {message}")]
    Invalid { path: String, message: String },
    #[error(transparent)]
    Key(#[from] p20w_privacy::KeyError),
    #[error(transparent)]
    Measure(#[from] crate::measures::SpecError),
    #[error(transparent)]
    Agreement(#[from] AgreementError),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobFile {
    /// The data-sharing agreement file (`crate::agreement`); its id names the agreement.
    agreement_file: Option<PathBuf>,
    /// Replaced by `agreement_file`; read only to say so.
    agreement_id: Option<String>,
    /// Why the job runs: one of the agreement's `purposes`.
    purpose: String,
    /// The recipient party the job runs for; needed when the agreement has several.
    recipient: Option<String>,
    key_file: Option<PathBuf>,
    key_env: Option<String>,
    /// The release signing key (`p20w sign-keygen`): when set, every release's manifest is
    /// signed, and recipients check it with `p20w verify`.
    signing_key_file: Option<PathBuf>,
    /// The audit log this job's runs and validations append to (default: `p20w-audit.jsonl`
    /// beside the job file).
    audit_log: Option<PathBuf>,
    /// A folder, or an object-store URL (`s3://bucket/prefix`).
    output: String,
    /// Non-secret object-store settings (`aws_endpoint`, `aws_region`, `google_…`,
    /// `azure_…`) for every URL of the job; credentials come from the environment.
    #[serde(default)]
    storage: BTreeMap<String, toml::Value>,
    work_dir: Option<PathBuf>,
    cohorts: Vec<i32>,
    /// Datasets to publish, each a shipped measure or one of `measure_files`.
    measures: Vec<String>,
    /// The state's own measure specifications: each adds a measure or replaces the shipped
    /// one of its dataset.
    #[serde(default)]
    measure_files: Vec<PathBuf>,
    /// Population definitions in place of the shipped ones (`pipeline/measures/definitions.toml`).
    #[serde(default)]
    definitions: toml::Table,
    #[serde(default = "default_min_cell")]
    min_cell_size: u64,
    memory_limit_mib: Option<usize>,
    release_id: Option<String>,
    /// The state's CTE program catalogue, replacing the shipped one (`schemas/data`).
    cte_programs: Option<PathBuf>,
    /// Crosswalk files applied to every source, before each source's own.
    #[serde(default)]
    crosswalks: Vec<PathBuf>,
    #[serde(default)]
    unmapped_codes: UnmappedCodes,
    #[serde(default = "default_max_quarantined_share")]
    max_quarantined_share: f64,
    #[serde(default)]
    linkage: LinkageSettings,
    sources: Vec<SourceFile>,
}

/// `[linkage]`: how records without a shared identifier are linked (`crate::link`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkageSettings {
    /// After the deterministic link, match the remaining postsecondary records to K-12
    /// students on their name and birth-date encodings. On unless the job turns it off.
    #[serde(default = "fuzzy_on")]
    pub fuzzy: bool,
    /// A fixed match score threshold instead of the one fitted to each run's scores.
    pub threshold: Option<f64>,
}

fn fuzzy_on() -> bool {
    true
}

impl Default for LinkageSettings {
    fn default() -> Self {
        LinkageSettings {
            fuzzy: true,
            threshold: None,
        }
    }
}

/// A source losing more than this share of its rows to quarantine fails the run unless the
/// job says otherwise: a wrong layout or a new local code set should stop a run, not thin it.
fn default_max_quarantined_share() -> f64 {
    0.05
}

fn default_min_cell() -> u64 {
    10
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceFile {
    name: String,
    entity: String,
    #[serde(default = "default_format")]
    format: String,
    /// Exactly one of `path` (local file or folder), `url` (object store) and `postgres`.
    path: Option<PathBuf>,
    url: Option<String>,
    postgres: Option<PostgresSource>,
    /// The format's own settings, checked by the format.
    #[serde(default)]
    options: toml::Table,
    /// This source's crosswalk files, layered over the job's.
    #[serde(default)]
    crosswalks: Vec<PathBuf>,
    unmapped_codes: Option<UnmappedCodes>,
    max_quarantined_share: Option<f64>,
}

/// `[sources.postgres]`: a table or a query, and the variable holding the connection string.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct PostgresSource {
    url_env: String,
    table: Option<String>,
    query: Option<String>,
}

fn default_format() -> String {
    "csv".into()
}

/// Where the master key comes from. The key itself is never part of the configuration.
#[derive(Debug, Clone)]
pub enum KeySource {
    File(PathBuf),
    Env(String),
}

impl KeySource {
    pub fn load(&self) -> Result<MasterKey, p20w_privacy::KeyError> {
        match self {
            KeySource::File(p) => MasterKey::from_file(p),
            KeySource::Env(v) => MasterKey::from_env(v),
        }
    }
}

/// Where releases are published.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// A local folder.
    Local(PathBuf),
    /// A prefix in an object store.
    Object(ObjectLocation),
}

impl Output {
    pub fn describe(&self) -> String {
        match self {
            Output::Local(p) => p.display().to_string(),
            Output::Object(o) => o.describe(o.path()),
        }
    }
}

/// One input, resolved.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub name: String,
    pub entity: Entity,
    pub format: String,
    pub options: toml::Table,
    pub location: Location,
    /// Validation settings: catalogue, crosswalk, unmapped-code policy.
    pub validation: Validation,
    /// The largest share of rows read that may be quarantined before the run fails.
    pub max_quarantined_share: f64,
}

impl SourceConfig {
    /// What a connector needs to open this source.
    pub fn spec(&self) -> SourceSpec {
        SourceSpec {
            options: self.options.clone(),
            validation: self.validation.clone(),
            ..SourceSpec::new(&self.name, self.entity, &self.format, self.location.clone())
        }
    }

    /// Whether a run stops on this source: more of the rows read were quarantined than
    /// `max_quarantined_share` allows. `run` and `validate` both decide by this.
    pub fn loses_too_many(&self, read: u64, quarantined: u64) -> bool {
        quarantined as f64 > self.max_quarantined_share * read as f64
    }
}

/// A validated job.
#[derive(Debug, Clone)]
pub struct JobConfig {
    pub job_path: PathBuf,
    /// SHA-256 of the job file's text as parsed: the audit log records the job the run used,
    /// not the file as it may be by the time an entry is written.
    pub job_sha256: String,
    /// The agreement's id (from its file): pseudonym keys and release folders derive from it.
    pub agreement_id: String,
    pub agreement: Arc<Agreement>,
    pub agreement_file: PathBuf,
    pub purpose: String,
    pub recipient: Option<String>,
    pub key: KeySource,
    /// The release signing key file, when releases are signed.
    pub signing_key: Option<PathBuf>,
    /// The audit log file (`crate::audit`).
    pub audit_log: PathBuf,
    pub output: Output,
    pub work_dir: Option<PathBuf>,
    pub cohorts: Vec<i32>,
    /// The definitions and measures in force.
    pub measures: MeasurePlan,
    pub min_cell_size: u64,
    pub memory_limit_bytes: usize,
    pub release_id: Option<String>,
    /// The CTE program catalogue in force: the job's own, or the shipped one.
    pub catalog: Arc<CteProgramCatalog>,
    pub linkage: LinkageSettings,
    pub sources: Vec<SourceConfig>,
}

/// A name safe as a folder name and in a key's derivation: letters, digits, '-', '_' or '.'.
pub(crate) fn valid_id(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
}

impl JobConfig {
    pub fn load(path: &Path) -> Result<JobConfig, ConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        JobConfig::parse(&text, path)
    }

    pub fn parse(text: &str, path: &Path) -> Result<JobConfig, ConfigError> {
        JobConfig::parse_with(text, path, Agreement::load)
    }

    /// [`JobConfig::parse`] with the agreement file read by `load_agreement`.
    fn parse_with(
        text: &str,
        path: &Path,
        load_agreement: impl FnOnce(&Path) -> Result<Agreement, AgreementError>,
    ) -> Result<JobConfig, ConfigError> {
        let shown = path.display().to_string();
        let invalid = |message: String| ConfigError::Invalid {
            path: shown.clone(),
            message,
        };
        let raw: JobFile = toml::from_str(text).map_err(|e| invalid(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let resolve = |p: &Path| {
            if p.is_absolute() {
                p.to_path_buf()
            } else {
                base.join(p)
            }
        };

        let storage = storage_settings(&raw.storage).map_err(invalid)?;
        let object =
            |url: &str| ObjectLocation::parse(url, &storage).map_err(|e| invalid(e.to_string()));
        let output = if raw.output.contains("://") {
            Output::Object(object(&raw.output)?)
        } else {
            Output::Local(resolve(Path::new(&raw.output)))
        };

        if raw.agreement_id.is_some() {
            return Err(invalid(
                "agreement_id is replaced by agreement_file, the agreement's TOML file, whose id \
                 names the agreement (README \"Agreements\")"
                    .into(),
            ));
        }
        let agreement_file = resolve(raw.agreement_file.as_deref().ok_or_else(|| {
            invalid("agreement_file is required: the agreement this job runs under".into())
        })?);
        let agreement = load_agreement(&agreement_file)?;
        let key = match (raw.key_file, raw.key_env) {
            (Some(f), None) => KeySource::File(resolve(&f)),
            (None, Some(v)) => KeySource::Env(v),
            _ => return Err(invalid("set exactly one of key_file and key_env".into())),
        };
        if raw.cohorts.is_empty() {
            return Err(invalid("cohorts must name at least one exit year".into()));
        }
        if raw.min_cell_size == 0 {
            return Err(invalid("min_cell_size must be at least 1".into()));
        }
        let files: Vec<PathBuf> = raw.measure_files.iter().map(|p| resolve(p)).collect();
        let catalog_of_measures = read_measure_files(&files)
            .and_then(|texts| MeasureCatalog::load(&texts, &raw.definitions, &shown))?;
        let measures = catalog_of_measures.select(&raw.measures).map_err(invalid)?;
        let catalog = Arc::new(match &raw.cte_programs {
            Some(p) => {
                CteProgramCatalog::from_path(&resolve(p)).map_err(|e| invalid(e.to_string()))?
            }
            None => CteProgramCatalog::builtin().clone(),
        });
        let share_ok = |v: f64| (0.0..=1.0).contains(&v);
        if !share_ok(raw.max_quarantined_share) {
            return Err(invalid("max_quarantined_share must be within 0..=1".into()));
        }
        let mut sources = Vec::new();
        for s in raw.sources {
            let entity = Entity::from_name(&s.entity).ok_or_else(|| {
                invalid(format!("source {}: unknown entity {:?}", s.name, s.entity))
            })?;
            if !FORMATS.contains(&s.format.as_str()) {
                return Err(invalid(format!(
                    "source {}: unknown format {:?}; known: {}",
                    s.name,
                    s.format,
                    FORMATS.join(", ")
                )));
            }
            // Case does not tell sources apart: their tables and work folders are named in
            // lower case (the engine folds unquoted names), and file systems may fold case too.
            if !valid_id(&s.name)
                || sources
                    .iter()
                    .any(|o: &SourceConfig| o.name.eq_ignore_ascii_case(&s.name))
            {
                return Err(invalid(format!(
                    "source name {:?} must be unique (whatever its case) and simple",
                    s.name
                )));
            }
            let mut crosswalk = Crosswalk::default();
            for file in raw.crosswalks.iter().chain(&s.crosswalks) {
                crosswalk
                    .add_file(&resolve(file))
                    .map_err(|e| invalid(format!("source {}: {e}", s.name)))?;
            }
            let max_quarantined_share =
                s.max_quarantined_share.unwrap_or(raw.max_quarantined_share);
            if !share_ok(max_quarantined_share) {
                return Err(invalid(format!(
                    "source {}: max_quarantined_share must be within 0..=1",
                    s.name
                )));
            }
            let location = match (s.path, s.url, s.postgres) {
                (Some(p), None, None) => Location::Local(resolve(&p)),
                (None, Some(u), None) => Location::Object(object(&u)?),
                (None, None, Some(pg)) => Location::Postgres(
                    postgres_location(pg)
                        .map_err(|m| invalid(format!("source {}: {m}", s.name)))?,
                ),
                _ => {
                    return Err(invalid(format!(
                        "source {}: set exactly one of path, url and [sources.postgres]",
                        s.name
                    )));
                }
            };
            sources.push(SourceConfig {
                name: s.name,
                entity,
                format: s.format,
                options: s.options,
                location,
                validation: Validation {
                    catalog: catalog.clone(),
                    crosswalk: Arc::new(crosswalk),
                    unmapped: s.unmapped_codes.unwrap_or(raw.unmapped_codes),
                    ..Validation::default()
                },
                max_quarantined_share,
            });
        }
        for needed in [
            Entity::Person,
            Entity::K12Enrollment,
            Entity::CteCourseCompletion,
        ] {
            if !sources.iter().any(|s| s.entity == needed) {
                return Err(invalid(format!(
                    "a source of entity {} is required",
                    needed.name()
                )));
            }
        }
        // A measure over records the job does not read would publish zeros as if measured.
        for m in &measures.measures {
            for entity in m.outcome_entities() {
                if !sources.iter().any(|s| s.entity.name() == entity) {
                    return Err(invalid(format!(
                        "measure {:?} counts {entity} records, and no source has entity {entity}",
                        m.spec.dataset
                    )));
                }
            }
        }
        let most = p20w_privacy::linkage::MAX_SCORE;
        if let Some(t) = raw.linkage.threshold
            && !(t > 0.0 && t <= most)
        {
            return Err(invalid(format!(
                "linkage.threshold must be above 0 and at most {most} (a match score, the \
                 evidence of the fields two records share)"
            )));
        }
        if let Some(id) = &raw.release_id
            && !valid_id(id)
        {
            return Err(invalid(
                "release_id must be letters, digits, '-', '_' or '.'".into(),
            ));
        }
        Ok(JobConfig {
            job_path: path.to_path_buf(),
            job_sha256: hex::encode(sha2::Sha256::digest(text.as_bytes())),
            agreement_id: agreement.id.clone(),
            agreement: Arc::new(agreement),
            agreement_file,
            purpose: raw.purpose,
            recipient: raw.recipient,
            key,
            signing_key: raw.signing_key_file.map(|f| resolve(&f)),
            audit_log: resolve(
                raw.audit_log
                    .as_deref()
                    .unwrap_or(Path::new(crate::audit::DEFAULT_FILE)),
            ),
            output,
            work_dir: raw.work_dir.map(|w| resolve(&w)),
            cohorts: raw.cohorts,
            measures,
            min_cell_size: raw.min_cell_size,
            memory_limit_bytes: raw.memory_limit_mib.unwrap_or(4096) << 20,
            release_id: raw.release_id,
            catalog,
            linkage: raw.linkage,
            sources,
        })
    }

    pub fn sources_of(&self, entity: Entity) -> impl Iterator<Item = &SourceConfig> {
        self.sources.iter().filter(move |s| s.entity == entity)
    }
}

/// The `[storage]` table as text: TOML booleans and numbers are given as the store expects.
fn storage_settings(
    table: &BTreeMap<String, toml::Value>,
) -> Result<BTreeMap<String, String>, String> {
    table
        .iter()
        .map(|(k, v)| {
            let text = match v {
                toml::Value::String(s) => s.clone(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Integer(i) => i.to_string(),
                _ => {
                    return Err(format!(
                        "storage setting {k:?} must be a string, boolean or integer"
                    ));
                }
            };
            Ok((k.clone(), text))
        })
        .collect()
}

fn postgres_location(pg: PostgresSource) -> Result<PostgresLocation, String> {
    let relation = match (pg.table, pg.query) {
        (Some(t), None) => Relation::Table(t),
        (None, Some(q)) => Relation::Query(q),
        _ => return Err("[sources.postgres] takes exactly one of table and query".into()),
    };
    PostgresLocation::new(&pg.url_env, relation).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = include_str!("../../demo/job-csv.toml");

    /// Parses a job under the demo agreement, wherever the job says its file is.
    fn parse(text: &str, path: &Path) -> Result<JobConfig, ConfigError> {
        JobConfig::parse_with(text, path, |file| {
            assert!(file.ends_with("agreement.toml"), "{}", file.display());
            Agreement::parse(
                include_bytes!("../../demo/agreement.toml"),
                Path::new("agreement.toml"),
            )
        })
    }

    #[test]
    fn the_bundled_demo_jobs_parse() {
        for ((name, text), sources) in crate::demo::DEMO_JOBS.iter().zip([11, 13, 9]) {
            let job = parse(text, Path::new("/x/job.toml")).unwrap();
            assert_eq!(job.agreement_id, "demo-mou-2026", "{name}");
            assert_eq!(job.agreement_file, Path::new("/x/agreement.toml"));
            assert_eq!(
                job.agreement
                    .check_job(&job, p20w_schemas::Date::today())
                    .ok(),
                Some(())
            );
            assert_eq!(job.sources.len(), sources, "{name}");
            assert_eq!(job.output, Output::Local("/x/releases".into()));
            assert!(matches!(job.key, KeySource::File(ref p) if p == Path::new("/x/p20w.key")));
            assert_eq!(job.min_cell_size, 10);
        }
    }

    #[test]
    fn unknown_keys_are_rejected_with_their_name() {
        let text = format!("{DEMO}\nmin_cel_size = 5\n");
        let err = parse(&text, Path::new("job.toml")).unwrap_err().to_string();
        assert!(err.contains("min_cel_size"), "{err}");
    }

    #[test]
    fn source_names_are_unique_whatever_their_case() {
        let text = DEMO.replace("name = \"ps_awards\"", "name = \"K12_Students\"");
        let err = parse(&text, Path::new("j.toml")).unwrap_err().to_string();
        assert!(err.contains("\"K12_Students\" must be unique"), "{err}");
        let text = DEMO.replace("name = \"k12_students\"", "name = \"K12_Students\"");
        let job = parse(&text, Path::new("j.toml")).unwrap();
        assert_eq!(job.sources[0].name, "K12_Students");
    }

    #[test]
    fn linkage_is_fuzzy_unless_turned_off_and_a_bad_threshold_is_refused() {
        let job = parse(DEMO, Path::new("j.toml")).unwrap();
        assert_eq!(job.linkage, LinkageSettings::default());
        assert!(job.linkage.fuzzy);
        let off = format!("{DEMO}\n[linkage]\nfuzzy = false\nthreshold = 20.5\n");
        let job = parse(&off, Path::new("j.toml")).unwrap();
        assert_eq!(
            job.linkage,
            LinkageSettings {
                fuzzy: false,
                threshold: Some(20.5)
            }
        );
        for bad in ["threshold = 0.0", "threshold = 90.0", "fuzy = true"] {
            let text = format!("{DEMO}\n[linkage]\n{bad}\n");
            let err = parse(&text, Path::new("j.toml")).unwrap_err().to_string();
            let key = bad.split(' ').next().unwrap();
            assert!(err.contains("j.toml") && err.contains(key), "{err}");
        }
    }

    #[test]
    fn a_measure_listed_twice_is_rejected() {
        let text = DEMO.replace(
            "\"employment_q4\",",
            "\"employment_q4\", \"employment_q4\",",
        );
        assert_ne!(text, DEMO);
        let err = parse(&text, Path::new("j.toml")).unwrap_err().to_string();
        assert!(err.contains("twice"), "{err}");
    }

    #[test]
    fn unknown_measures_and_entities_are_rejected() {
        let text = DEMO.replace("\"employment_earnings\"", "\"employment\"");
        assert!(parse(&text, Path::new("j.toml")).is_err());
        let text = DEMO.replace("entity = \"ps_award\"", "entity = \"award\"");
        assert!(parse(&text, Path::new("j.toml")).is_err());
    }

    #[test]
    fn a_measure_needs_a_source_of_the_records_it_counts() {
        let text = DEMO.replace(
            "entity = \"work_based_learning\"",
            "entity = \"industry_credential\"",
        );
        assert_ne!(text, DEMO);
        let err = parse(&text, Path::new("j.toml")).unwrap_err().to_string();
        assert!(
            err.contains("perkins_5s3_work_based_learning")
                && err.contains("no source has entity work_based_learning"),
            "{err}"
        );
    }

    /// The demo job with its first source (k12_students) read from `location` instead.
    fn with_first_source(location: &str) -> String {
        DEMO.replacen("path = \"k12/students.csv\"", location, 1)
    }

    /// `job` with a `[storage]` table, placed after the top-level keys.
    fn with_storage(job: &str, settings: &str) -> String {
        job.replacen(
            "[[sources]]",
            &format!("[storage]\n{settings}\n\n[[sources]]"),
            1,
        )
    }

    #[test]
    fn a_source_reads_from_exactly_one_location() {
        let url = with_first_source("url = \"s3://state/k12/students.csv\"");
        let text = with_storage(&url, "aws_region = \"us-east-1\"\naws_allow_http = true");
        let job = parse(&text, Path::new("/x/job.toml")).unwrap();
        match &job.sources[0].location {
            Location::Object(o) => assert_eq!(o.describe(o.path()), "s3://state/k12/students.csv"),
            other => panic!("{other:?}"),
        }
        assert_eq!(
            job.sources[1].location,
            Location::Local("/x/k12/enrollments.csv".into()),
            "relative paths stay relative to the job file"
        );
        let pg =
            with_first_source("[sources.postgres]\nurl_env = \"SIS_DB\"\ntable = \"k12.students\"");
        let job = parse(&pg, Path::new("/x/job.toml")).unwrap();
        assert_eq!(
            job.sources[0].location.describe(),
            "postgres:$SIS_DB/k12.students"
        );
        let both = with_first_source("path = \"a.csv\"\nurl = \"s3://b/a.csv\"");
        let none = with_first_source("");
        for text in [both, none] {
            let err = parse(&text, Path::new("j.toml")).unwrap_err().to_string();
            assert!(
                err.contains("exactly one of path, url and [sources.postgres]"),
                "{err}"
            );
        }
        let two = with_first_source(
            "[sources.postgres]\nurl_env = \"SIS_DB\"\ntable = \"t\"\nquery = \"SELECT 1\"",
        );
        let err = parse(&two, Path::new("j.toml")).unwrap_err().to_string();
        assert!(err.contains("exactly one of table and query"), "{err}");
        let secret = with_storage(&url, "aws_secret_access_key = \"hunter2\"");
        let err = parse(&secret, Path::new("j.toml")).unwrap_err().to_string();
        assert!(
            err.contains("is a credential") && !err.contains("hunter2"),
            "{err}"
        );
    }

    #[test]
    fn the_output_may_be_an_object_store_prefix() {
        let text = DEMO.replace("output = \"releases\"", "output = \"s3://pub/releases\"");
        let job = parse(&text, Path::new("/x/job.toml")).unwrap();
        assert!(matches!(job.output, Output::Object(_)));
        assert_eq!(job.output.describe(), "s3://pub/releases");
        let text = DEMO.replace("output = \"releases\"", "output = \"ftp://pub/releases\"");
        assert!(parse(&text, Path::new("/x/job.toml")).is_err());
    }
}
