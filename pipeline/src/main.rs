//! The `p20w` command line. Exit status: 0 success, 1 a run or data error, 2 a usage or
//! configuration error (a refused query included), 3 input data rejected (a run whose source
//! lost too many rows, a validation with errors), 4 a validation with warnings only, 5–7 a
//! release that `p20w verify` does not vouch for (`verify.rs`), 8–9 an audit log altered or
//! cut short (`audit.rs`), 10–13 a job its agreement refuses (`agreement.rs`), 130/143 a run
//! stopped by SIGINT/SIGTERM.
//! Results go to stdout, logs and progress to stderr; a closed stdout (`p20w query … | head -1`)
//! ends the command quietly with success.

/// mimalloc rather than glibc's malloc: `p20w encode` allocates a few small strings a record on
/// one thread and frees them on another, and glibc spent a seventh of its time doing so.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use p20w_pipeline::audit::{self, AuditLog};
use p20w_pipeline::config::JobConfig;
use p20w_pipeline::logging::{self, LogFormat};
use p20w_pipeline::query::{OutputFormat, check_out_path, query_release, write_results};
use p20w_pipeline::run::{RunOutcome, run_job};
use p20w_pipeline::stdout::{self, Stdout};
use p20w_pipeline::tables::dimension_columns;
use p20w_pipeline::validate::{summary_text, validate_job};
use p20w_pipeline::verify::{self, SignatureCheck, Verification, verify_release};
use p20w_pipeline::{RunError, demo, pprl, progress};
use p20w_privacy::linkage::LinkConfig;
use p20w_privacy::{MasterKey, ReleasePublicKey, ReleaseSigningKey, public_key_path};
use p20w_synth::SynthConfig;

#[derive(Parser)]
#[command(
    name = "p20w",
    version,
    about = "Education-to-workforce outcomes with privacy protection",
    after_help = "Exit status: 0 success; 1 run error; 2 usage or configuration error; 3 input \
                  data rejected; 4 validation warnings only; 5 `verify`: a file changed, missing \
                  or added; 6 `verify`: bad signature; 7 `verify`: unsigned; 8 `audit-log \
                  verify`: log altered; 9 `audit-log verify`: incomplete last line; 10 the \
                  agreement is not in force; 11 data, dataset, purpose or key not permitted by \
                  the agreement; 12 a disclosure rule below the agreement's floor; 13 a link \
                  the agreement does not allow; 130/143 stopped by SIGINT/SIGTERM."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines on stderr are written: text, or one JSON object per line. RUST_LOG
    /// chooses what is logged (default: info for p20w, warn for the libraries it uses).
    #[arg(long, global = true, value_enum, default_value_t = LogFormatArg::Text)]
    log_format: LogFormatArg,
    /// Seconds between progress lines when stderr is not a terminal (0: after every batch).
    /// On a terminal, progress bars are drawn instead.
    #[arg(long, global = true, value_name = "SECONDS", default_value_t = 10)]
    progress_interval: u64,
}

#[derive(Clone, Copy, ValueEnum)]
enum LogFormatArg {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Writes one line of results to stdout; a failed write (a closed pipe too) ends the command.
macro_rules! say {
    ($($arg:tt)*) => {
        writeln!(Stdout, $($arg)*).context("cannot write to stdout")?
    };
}

#[derive(Subcommand)]
enum Command {
    /// Synthesize a small state, run the bundled demo job and print where the release is.
    Demo {
        /// Folder for the demo's state, key and releases.
        #[arg(long, default_value = "demo-out")]
        dir: PathBuf,
        /// Students in the synthetic state.
        #[arg(long, default_value_t = 5_000)]
        students: u64,
    },
    /// Write a deterministic synthetic state (agency extracts, ground truth, job.toml).
    Synth {
        /// Folder to write the state into (created if missing; its files are replaced).
        #[arg(long)]
        out: PathBuf,
        /// Students in the synthetic state.
        #[arg(long, default_value_t = 5_000)]
        students: u64,
        /// Seed of the generator: the same seed gives the same bytes.
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Workers in the wage file who were never students, per student.
        #[arg(long, default_value_t = 4.0)]
        other_workers_per_student: f64,
        /// Leave out the ICESA and EFW2 copies of the wage records (several times the CSV's
        /// size: about 2.4 KB per wage record, hundreds of gigabytes at a million students).
        #[arg(long)]
        no_fixed_width_wages: bool,
    },
    /// Create a new master key file (32 random bytes as hex, mode 0600).
    Keygen {
        /// Where to write the key; an existing file is never overwritten.
        path: PathBuf,
    },
    /// Create a release signing key: an Ed25519 private key (mode 0600) and its public key
    /// beside it as FILE.pub, which recipients use with `p20w verify`.
    SignKeygen {
        /// Where to write the private key; FILE.pub gets the public key. Neither is ever
        /// overwritten.
        path: PathBuf,
    },
    /// Check a release with nothing but its folder and the custodian's public key: the
    /// signature of the manifest, every file's SHA-256, no file added or removed. Exit status:
    /// 0 intact and signed by that key, 5 a file changed, missing or added, 6 the signature
    /// does not verify (the manifest changed, or another key signed it), 7 unsigned, 2 no such
    /// release folder or an unreadable public key.
    Verify {
        /// The release folder (the one holding manifest.json).
        release: PathBuf,
        /// The custodian's public key (the .pub file `p20w sign-keygen` wrote).
        #[arg(long, value_name = "FILE")]
        public_key: PathBuf,
    },
    /// Check or repair an audit log (the hash-chained record of runs, validations, releases
    /// and key use; see README "Audit log").
    AuditLog {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// End an agreement's pseudonyms (crypto-shredding): overwrite and remove the job's master
    /// key file and record the destruction in the audit log. Pseudonyms and linkage encodings
    /// derive from that key and are never stored, so they can no longer be reproduced.
    Destroy {
        /// The job file naming the agreement and its key file.
        job: PathBuf,
        /// The id of the agreement being ended; must be the job's, as a confirmation.
        #[arg(long, value_name = "ID")]
        agreement: String,
    },
    /// Run a job file.
    Run {
        /// The job file (job.toml): sources, agreement, key, measures and output.
        job: PathBuf,
    },
    /// Read and check every source of a job as `run` would, writing nothing but its audit-log
    /// entry. Exit status: 0 clean, 4 warnings only, 3 errors (rows `run` would quarantine, or
    /// an unreadable source), 2 a bad job file or source settings, 10–13 refused by the job's
    /// agreement (see `p20w --help`), 1 could not run.
    Validate {
        /// The job file (job.toml); its key is not needed.
        job: PathBuf,
        /// Also write the report as JSON to this file (never values from the input).
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
        /// Examples (file, line, field, rule) kept per check and source.
        #[arg(long, value_name = "N", default_value_t = 5)]
        examples: usize,
    },
    /// Encode an agency's person file for linkage without identifiers: keyed Bloom filters
    /// of names, birth date and (where given) address and another identifier, blocking keys,
    /// and the SSN pseudonym. No clear value is written.
    Encode {
        /// CSV with a header naming record_id, given_name, family_name, birth_date, sex and
        /// optionally ssn, address, locality, postcode, other_id (any order; other columns
        /// ignored).
        people: PathBuf,
        /// The agreement's key file (the same key every party to the agreement uses).
        #[arg(long)]
        key: PathBuf,
        /// The data-sharing agreement id: encodings under different agreements never match.
        #[arg(long)]
        agreement: String,
        /// The encoded Parquet file to write.
        #[arg(long)]
        out: PathBuf,
    },
    /// Link two or more encoded files one to one (the first is the spine): writes
    /// links.parquet, link_ids.parquet and linkage_report.json. With --evaluate, link two
    /// clear CSV person files instead and write left_record_id,right_record_id,score.
    Link {
        /// Encoded files from `p20w encode` (or, with --evaluate, two person CSV files).
        #[arg(required = true, num_args = 2..)]
        files: Vec<PathBuf>,
        /// Output folder (or, with --evaluate, the pairs CSV file).
        #[arg(long)]
        out: PathBuf,
        /// The previous run's link_ids.parquet: records in it keep their link ids.
        #[arg(long, value_name = "FILE")]
        previous_ids: Option<PathBuf>,
        /// A fixed match threshold instead of the one fitted to the scores.
        #[arg(long)]
        threshold: Option<f64>,
        /// Evaluation mode: two clear CSV person files, a throw-away key, pairs as CSV.
        #[arg(long)]
        evaluate: bool,
        /// Which files may hold one person more than once (records rather than persons): the
        /// first, the others or all. A second record of a person there joins their link as a
        /// duplicate; elsewhere linkage is strictly one to one.
        #[arg(long, value_enum)]
        repeated: Option<Repeated>,
    },
    /// Run SQL over a release's datasets (each dataset folder is a table).
    Query {
        /// The release folder (the one holding manifest.json).
        release: PathBuf,
        /// The SQL to run; each dataset of the release is a table of the same name.
        sql: String,
        /// How to write the result.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write to this file instead of stdout (required for parquet).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Repeated {
    /// The first file (the spine; with --evaluate, the left file).
    First,
    /// Every file but the first (with --evaluate, the right file).
    Others,
    /// Every file.
    All,
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Check every entry's hash and its link to the one before. Exit status: 0 intact,
    /// 8 an entry was edited, removed, inserted or reordered (or --head is missing), 9 intact
    /// but for an incomplete last line (a write cut short by a crash), 2 the log cannot be read.
    Verify {
        /// The audit log file.
        file: PathBuf,
        /// The sha256 of an entry noted earlier (the head a previous verify printed): it must
        /// still be in the log, which catches entries cut from its end.
        #[arg(long, value_name = "SHA256")]
        head: Option<String>,
    },
    /// Remove an incomplete last line left by a crash, recording the removal (its length and
    /// SHA-256) as a new entry. A log without one is left alone.
    Repair {
        /// The audit log file.
        file: PathBuf,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// An aligned text table.
    Table,
    /// CSV with a header row.
    Csv,
    /// A JSON array of objects.
    Json,
    /// A Parquet file (needs --out).
    Parquet,
}

/// The input data failed its checks: a source lost more rows than allowed (`run`), or
/// `validate` found errors.
const EXIT_DATA_REJECTED: u8 = p20w_pipeline::validate::EXIT_ERRORS;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = match cli.log_format {
        LogFormatArg::Text => LogFormat::Text,
        LogFormatArg::Json => LogFormat::Json,
    };
    progress::configure(progress::Display {
        bars: format == LogFormat::Text && std::io::stderr().is_terminal(),
        interval: Duration::from_secs(cli.progress_interval),
    });
    logging::init(format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            report_error(format, &format!("cannot start: {e}"));
            return ExitCode::from(1);
        }
    };
    // A run holds person-level data: SIGINT/SIGTERM cancel it and remove that data (stop.rs).
    let result = if matches!(cli.command, Command::Run { .. } | Command::Demo { .. }) {
        match p20w_pipeline::stop::block_on_until_stopped(runtime, dispatch(cli.command)) {
            Ok(result) => result,
            Err(stopped) => {
                eprintln!("p20w: {stopped}");
                return ExitCode::from(stopped.exit_code());
            }
        }
    } else {
        runtime.block_on(dispatch(cli.command))
    };
    match result {
        Ok(code) => ExitCode::from(code),
        // The reader of our results went away: nothing is wrong and nobody is listening.
        Err(_) if stdout::closed() => ExitCode::SUCCESS,
        Err(err) => {
            report_error(format, &format!("{err:#}"));
            let refused = err
                .chain()
                .find_map(|c| match c.downcast_ref::<RunError>() {
                    Some(RunError::Refused(r)) => Some(r.exit_code()),
                    _ => None,
                });
            if let Some(code) = refused {
                return ExitCode::from(code);
            }
            let usage = err.chain().any(|c| {
                matches!(
                    c.downcast_ref::<RunError>(),
                    Some(
                        RunError::Config(_)
                            | RunError::Key(_)
                            | RunError::QueryRefused(_)
                            | RunError::Audit(_)
                            | RunError::NotARelease(_)
                    )
                )
            });
            let data = err.chain().any(|c| {
                matches!(
                    c.downcast_ref::<RunError>(),
                    Some(
                        RunError::SourceLoss { .. }
                            | RunError::MissingField { .. }
                            | RunError::MissingCpi { .. }
                    )
                )
            });
            ExitCode::from(match (usage, data) {
                (true, _) => 2,
                (_, true) => EXIT_DATA_REJECTED,
                _ => 1,
            })
        }
    }
}

/// The one error report at the binary's edge: a plain line, or a JSON event when logs are
/// JSON so that stderr stays one object per line.
fn report_error(format: LogFormat, message: &str) {
    match format {
        LogFormat::Text => {
            let _ = writeln!(std::io::stderr(), "p20w: error: {message}");
        }
        LogFormat::Json => tracing::error!(error = message, "p20w failed"),
    }
}

/// Runs one command; its exit status when it ran to its end (0, or a validation's verdict).
async fn dispatch(command: Command) -> anyhow::Result<u8> {
    match command {
        Command::Demo { dir, students } => {
            let cfg = SynthConfig {
                students,
                ..SynthConfig::default()
            };
            let outcome = demo::run_demo(&dir, &cfg)
                .await
                .context("demo run failed")?;
            print_outcome(&outcome).await?;
        }
        Command::Synth {
            out,
            students,
            seed,
            other_workers_per_student,
            no_fixed_width_wages,
        } => {
            let cfg = SynthConfig {
                students,
                seed,
                other_workers_per_student,
                fixed_width_wages: !no_fixed_width_wages,
                ..SynthConfig::default()
            };
            let job = demo::synthesize(&out, &cfg).context("synthesis failed")?;
            say!("synthetic state written to {}", out.display());
            say!(
                "job file: {} (it expects a key: p20w keygen {})",
                job.display(),
                out.join("p20w.key").display()
            );
        }
        Command::Keygen { path } => {
            let key = MasterKey::generate_file(&path).map_err(RunError::from)?;
            say!(
                "key written to {} (key id {})",
                path.display(),
                key.key_id()
            );
        }
        Command::SignKeygen { path } => {
            let key = ReleaseSigningKey::generate_files(&path).map_err(RunError::from)?;
            say!(
                "signing key written to {}, public key to {} (key id {})",
                path.display(),
                public_key_path(&path).display(),
                key.public_key().key_id()
            );
        }
        Command::Verify {
            release,
            public_key,
        } => {
            let key = ReleasePublicKey::from_file(&public_key).map_err(RunError::from)?;
            let verification = verify_release(&release, &key)?;
            print_verification(&release, &verification)?;
            return Ok(verification.exit_code());
        }
        Command::AuditLog {
            command: AuditCommand::Verify { file, head },
        } => {
            let check = audit::verify_log(&file, head.as_deref()).map_err(RunError::from)?;
            for p in &check.problems {
                say!("{}: {p}", file.display());
            }
            if let Some(n) = check.torn_bytes {
                say!(
                    "{}: the last line is incomplete ({n} bytes; an interrupted write): \
                     `p20w audit-log repair` removes it on the record",
                    file.display()
                );
            }
            say!(
                "{} entries, head {}",
                check.entries,
                check.head.as_deref().unwrap_or("(none)")
            );
            say!(
                "verdict: {}",
                match check.exit_code() {
                    0 => "intact",
                    audit::EXIT_TORN => "intact but for an incomplete last line",
                    _ => "ALTERED",
                }
            );
            return Ok(check.exit_code());
        }
        Command::AuditLog {
            command: AuditCommand::Repair { file },
        } => {
            let removed = AuditLog::at(&file).repair().map_err(RunError::from)?;
            if removed == 0 {
                say!(
                    "{}: no incomplete last line; nothing changed",
                    file.display()
                );
            } else {
                say!(
                    "{}: removed an incomplete last line of {removed} bytes, recorded as a \
                     repair entry",
                    file.display()
                );
            }
        }
        Command::Destroy { job, agreement } => {
            let config = JobConfig::load(&job).map_err(RunError::from)?;
            let d = p20w_pipeline::destroy::destroy_key(&config, &agreement)?;
            say!(
                "destroyed key {} ({}) of agreement {agreement}; recorded in {}",
                d.key_id,
                d.key_file,
                config.audit_log.display()
            );
        }
        Command::Run { job } => {
            let config = JobConfig::load(&job).map_err(RunError::from)?;
            let outcome = run_job(&config)
                .await
                .with_context(|| format!("job {}", job.display()))?;
            print_outcome(&outcome).await?;
        }
        Command::Encode {
            people,
            key,
            agreement,
            out,
        } => {
            let key = MasterKey::from_file(&key).map_err(RunError::from)?;
            let s = pprl::encode_people(&people, &out, &key, &agreement)?;
            say!(
                "encoded {} of {} records into {} ({} with an SSN pseudonym, {} quarantined)",
                s.encoded,
                s.read,
                out.display(),
                s.with_ssn_pseudonym,
                s.quarantined
            );
            for r in &s.rejected {
                say!("  quarantined line {}: {}", r.line, r.rule);
            }
        }
        Command::Link {
            files,
            out,
            previous_ids,
            threshold,
            evaluate,
            repeated,
        } => {
            let config = LinkConfig {
                threshold,
                repeated_left: matches!(repeated, Some(Repeated::First | Repeated::All)),
                repeated_right: matches!(repeated, Some(Repeated::Others | Repeated::All)),
                ..LinkConfig::default()
            };
            if evaluate {
                let [left, right] = files.as_slice() else {
                    use clap::CommandFactory;
                    Cli::command()
                        .error(
                            clap::error::ErrorKind::WrongNumberOfValues,
                            "--evaluate takes exactly two person files",
                        )
                        .exit();
                };
                let s = pprl::evaluate(left, right, &out, &config)?;
                say!(
                    "{} pairs written to {} ({} by SSN, {} fuzzy, {} second records of a person; threshold {:.3} by {})",
                    s.pairs,
                    out.display(),
                    s.ssn_links,
                    s.fuzzy_links,
                    s.duplicate_links,
                    s.threshold.threshold,
                    s.threshold.method
                );
                say!(
                    "{}",
                    serde_json::to_string(&s).context("cannot encode the summary")?
                );
            } else {
                let s = pprl::link_files(&files, &out, previous_ids.as_deref(), &config)?;
                for p in &s.pairs {
                    say!(
                        "{} ↔ {}: {} by SSN, {} fuzzy, {} second records of a person, {:.1}% of {} linked (threshold {:.3} by {})",
                        p.left,
                        p.right,
                        p.ssn_links,
                        p.fuzzy_links,
                        p.duplicate_links,
                        100.0 * p.right_link_rate,
                        p.right,
                        p.threshold.threshold,
                        p.threshold.method
                    );
                }
                say!(
                    "{} records, {} link ids ({} kept from the previous ids) in {}",
                    s.records,
                    s.link_ids,
                    s.ids_kept,
                    out.display()
                );
            }
        }
        Command::Query {
            release,
            sql,
            format,
            out,
        } => {
            if matches!(format, Format::Parquet) && out.is_none() {
                use clap::CommandFactory;
                Cli::command()
                    .error(
                        clap::error::ErrorKind::MissingRequiredArgument,
                        "--format parquet needs --out FILE",
                    )
                    .exit();
            }
            if let Some(out) = &out {
                check_out_path(&release, out)?;
            }
            let batches = query_release(&release, &sql).await?;
            let format = match format {
                Format::Table => OutputFormat::Table,
                Format::Csv => OutputFormat::Csv,
                Format::Json => OutputFormat::Json,
                Format::Parquet => OutputFormat::Parquet,
            };
            write_results(&batches, format, out.as_deref())?;
        }
        Command::Validate {
            job,
            json,
            examples,
        } => {
            let config = JobConfig::load(&job).map_err(RunError::from)?;
            if let Err(refusal) = config
                .agreement
                .check_job(&config, p20w_schemas::Date::today())
            {
                AuditLog::at(&config.audit_log)
                    .append(audit::refused_validation_event(&config, &refusal))
                    .map_err(RunError::from)?;
                return Err(RunError::from(refusal).into());
            }
            let report = validate_job(&config, examples);
            let mut written = None;
            if let Some(path) = &json {
                let text = serde_json::to_string_pretty(&report)
                    .context("cannot encode the validation report")?
                    + "\n";
                std::fs::write(path, &text)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                written = Some((path.as_path(), text));
            }
            let json_written = written.as_ref().map(|(p, t)| (*p, t.as_bytes()));
            AuditLog::at(&config.audit_log)
                .append(audit::validation_event(&config, &report, json_written))
                .map_err(RunError::from)?;
            // The verdict is the exit status, so a reader that went away does not change it.
            match write!(Stdout, "{}", summary_text(&report)) {
                Err(_) if stdout::closed() => {}
                other => other.context("cannot write to stdout")?,
            }
            return Ok(report.exit_code);
        }
    }
    Ok(0)
}

fn print_verification(release: &std::path::Path, v: &Verification) -> anyhow::Result<()> {
    say!("release {}", release.display());
    match &v.signature {
        SignatureCheck::Valid => say!("  signature: valid, key {}", v.public_key_id),
        SignatureCheck::Missing => say!("  signature: none (the release is not signed)"),
        SignatureCheck::Invalid(why) => say!("  signature: INVALID: {why}"),
    }
    if v.file_problems.is_empty() {
        say!(
            "  files: {} listed, all intact, none added",
            v.files_checked
        );
    } else {
        for p in &v.file_problems {
            say!("  file: {p}");
        }
    }
    if let (Some(id), Some(agreement)) = (&v.release_id, &v.agreement_id) {
        let trust = if v.signature == SignatureCheck::Valid {
            ""
        } else {
            " (as the manifest says; not vouched for by a signature)"
        };
        say!("  release id: {id}{trust}");
        match &v.agreement_sha256 {
            Some(sha) => say!("  agreement: {agreement} (agreement file SHA-256 {sha})"),
            None => say!("  agreement: {agreement}"),
        }
        if let Some(min) = v.min_cell_size {
            say!("  minimum cell size: {min}");
        }
        for p in &v.protection {
            say!("  protection: {p}");
        }
    }
    let verdict = match v.exit_code() {
        0 => "intact, and signed by this key",
        verify::EXIT_FILES_DIFFER => "NOT intact: files differ from the signed manifest",
        verify::EXIT_BAD_SIGNATURE => "NOT verified: the signature does not match this key",
        _ => "NOT verified: unsigned",
    };
    say!("verdict: {verdict}");
    Ok(())
}

async fn print_outcome(outcome: &RunOutcome) -> anyhow::Result<()> {
    let r = &outcome.report;
    say!("release: {}", outcome.release);
    for s in &r.sources {
        say!(
            "  source {:<24} read {:>10}  accepted {:>10}  quarantined {:>6}",
            s.name,
            s.read,
            s.accepted,
            s.quarantined
        );
    }
    if let Err(e) = print_headlines(outcome).await {
        if stdout::closed() {
            return Err(e);
        }
        tracing::warn!(error = %e, "could not read the headline figures back");
    }
    Ok(())
}

/// The cohort totals of each measure, read back from the published release.
async fn print_headlines(outcome: &RunOutcome) -> anyhow::Result<()> {
    let totals = dimension_columns()
        .iter()
        .map(|d| format!("{d} = 'All'"))
        .collect::<Vec<_>>()
        .join(" AND ");
    // Only the families this job published.
    let sql = outcome
        .report
        .published_cells
        .keys()
        .map(|dataset| {
            format!(
                "SELECT cohort, measure, denominator, numerator, rate FROM {dataset} WHERE {totals}"
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let batches = query_release(
        &outcome.release_dir,
        &format!("{sql} ORDER BY measure, cohort"),
    )
    .await?;
    say!("headline figures (all CTE concentrators):");
    for b in &batches {
        let cohort = datafusion::arrow::compute::cast(
            b.column(0),
            &datafusion::arrow::datatypes::DataType::Int64,
        )?;
        let measure = datafusion::arrow::compute::cast(
            b.column(1),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )?;
        let den = b.column(2).as_primitive::<Int64Type>();
        let rate = b.column(4).as_primitive::<Float64Type>();
        for i in 0..b.num_rows() {
            let shown = match (rate.is_null(i), den.is_null(i)) {
                (false, _) => format!("{:.1}% of {}", rate.value(i) * 100.0, den.value(i)),
                (true, false) => format!("suppressed (of {})", den.value(i)),
                (true, true) => "suppressed (group below the minimum cell size)".to_string(),
            };
            say!(
                "  {} cohort {}: {}",
                measure.as_string::<i32>().value(i),
                cohort.as_primitive::<Int64Type>().value(i),
                shown
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    /// Every subcommand and every argument a user can type has help text.
    #[test]
    fn every_argument_and_subcommand_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if matches!(id, "help" | "version") {
                    continue;
                }
                if arg.get_help().is_none() && arg.get_long_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
                for value in arg.get_possible_values() {
                    if value.get_help().is_none() {
                        missing.push(format!("{path} {id}={}", value.get_name()));
                    }
                }
            }
            for sub in cmd.get_subcommands() {
                let name = format!("{path} {}", sub.get_name());
                if sub.get_name() != "help" && sub.get_about().is_none() {
                    missing.push(name.clone());
                }
                walk(sub, &name, missing);
            }
        }
        Cli::command().debug_assert();
        let mut cmd = Cli::command();
        cmd.build();
        let mut missing = Vec::new();
        walk(&cmd, "p20w", &mut missing);
        assert!(missing.is_empty(), "no help text for: {missing:?}");
        assert!(cmd.get_subcommands().count() >= 5);
    }
}
