//! The `p20w` command line. Exit status: 0 success, 1 a run or data error, 2 a usage or
//! configuration error (a refused query included), 130/143 a run stopped by SIGINT/SIGTERM.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use p20w_pipeline::config::JobConfig;
use p20w_pipeline::measure::MeasureFamily;
use p20w_pipeline::query::{OutputFormat, check_out_path, query_release, write_results};
use p20w_pipeline::run::{RunOutcome, run_job};
use p20w_pipeline::tables::dimension_columns;
use p20w_pipeline::{RunError, demo};
use p20w_privacy::MasterKey;
use p20w_synth::SynthConfig;

#[derive(Parser)]
#[command(
    name = "p20w",
    version,
    about = "Education-to-workforce outcomes with privacy protection"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Synthesize a small state, run the bundled demo job and print where the release is.
    Demo {
        /// Folder for the demo's state, key and releases.
        #[arg(long, default_value = "demo-out")]
        dir: PathBuf,
        #[arg(long, default_value_t = 5_000)]
        students: u64,
    },
    /// Write a deterministic synthetic state (agency extracts, ground truth, job.toml).
    Synth {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 5_000)]
        students: u64,
        #[arg(long, default_value_t = 2026)]
        seed: u64,
        /// Workers in the wage file who were never students, per student.
        #[arg(long, default_value_t = 4.0)]
        other_workers_per_student: f64,
    },
    /// Create a new master key file (32 random bytes as hex, mode 0600).
    Keygen { path: PathBuf },
    /// Run a job file.
    Run { job: PathBuf },
    /// Run SQL over a release's datasets (each dataset folder is a table).
    Query {
        release: PathBuf,
        sql: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write to this file instead of stdout (required for parquet).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Csv,
    Json,
    Parquet,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("p20w: cannot start: {e}");
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
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("p20w: error: {err:#}");
            let usage = err.chain().any(|c| {
                matches!(
                    c.downcast_ref::<RunError>(),
                    Some(RunError::Config(_) | RunError::Key(_) | RunError::QueryRefused(_))
                )
            });
            ExitCode::from(if usage { 2 } else { 1 })
        }
    }
}

async fn dispatch(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Demo { dir, students } => {
            let cfg = SynthConfig {
                students,
                ..SynthConfig::default()
            };
            let outcome = demo::run_demo(&dir, &cfg)
                .await
                .context("demo run failed")?;
            print_outcome(&outcome).await;
        }
        Command::Synth {
            out,
            students,
            seed,
            other_workers_per_student,
        } => {
            let cfg = SynthConfig {
                students,
                seed,
                other_workers_per_student,
                ..SynthConfig::default()
            };
            let job = demo::synthesize(&out, &cfg).context("synthesis failed")?;
            println!("synthetic state written to {}", out.display());
            println!(
                "job file: {} (it expects a key: p20w keygen {})",
                job.display(),
                out.join("p20w.key").display()
            );
        }
        Command::Keygen { path } => {
            let key = MasterKey::generate_file(&path).map_err(RunError::from)?;
            println!(
                "key written to {} (key id {})",
                path.display(),
                key.key_id()
            );
        }
        Command::Run { job } => {
            let config = JobConfig::load(&job).map_err(RunError::from)?;
            let outcome = run_job(&config)
                .await
                .with_context(|| format!("job {}", job.display()))?;
            print_outcome(&outcome).await;
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
    }
    Ok(())
}

async fn print_outcome(outcome: &RunOutcome) {
    let r = &outcome.report;
    println!("release: {}", outcome.release_dir.display());
    for s in &r.sources {
        println!(
            "  source {:<24} read {:>10}  accepted {:>10}  quarantined {:>6}",
            s.name, s.read, s.accepted, s.quarantined
        );
    }
    if let Err(e) = print_headlines(outcome).await {
        eprintln!("p20w: could not read headline figures: {e}");
    }
}

/// The cohort totals of each measure, read back from the published release.
async fn print_headlines(outcome: &RunOutcome) -> anyhow::Result<()> {
    let totals = dimension_columns()
        .iter()
        .map(|d| format!("{d} = 'All'"))
        .collect::<Vec<_>>()
        .join(" AND ");
    let sql = MeasureFamily::ALL
        .iter()
        .map(|f| {
            format!(
                "SELECT cohort, measure, denominator, numerator, rate FROM {} WHERE {totals}",
                f.name()
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let batches = query_release(
        &outcome.release_dir,
        &format!("{sql} ORDER BY measure, cohort"),
    )
    .await?;
    println!("headline figures (all CTE concentrators):");
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
            println!(
                "  {} cohort {}: {}",
                measure.as_string::<i32>().value(i),
                cohort.as_primitive::<Int64Type>().value(i),
                shown
            );
        }
    }
    Ok(())
}
