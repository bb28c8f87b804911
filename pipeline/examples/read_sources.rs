//! Reader throughput: opens every source of the job files given, through the same connectors
//! `p20w run` uses, drains each reader and prints MB/s and records/s. Connector work only: no
//! pseudonymizing, no engine. Run by `bench/readers.sh`.

use std::path::Path;
use std::time::Instant;

use p20w_pipeline::config::JobConfig;

fn main() -> anyhow::Result<()> {
    let jobs: Vec<String> = std::env::args().skip(1).collect();
    anyhow::ensure!(!jobs.is_empty(), "usage: read_sources JOB.toml [JOB.toml ...]");
    println!(
        "{:<24} {:<22} {:<12} {:>12} {:>10} {:>9} {:>13}",
        "job", "source", "format", "records", "MB", "MB/s", "records/s"
    );
    let mut seen = std::collections::BTreeSet::new();
    for job_path in &jobs {
        let job = JobConfig::load(Path::new(job_path))?;
        let job_name = Path::new(job_path)
            .file_name()
            .map_or(job_path.clone(), |n| n.to_string_lossy().into_owned());
        for source in &job.sources {
            // A source read by an earlier job file (same format, same input) is not timed again.
            if !seen.insert((source.format.clone(), source.location.describe(), source.entity.name())) {
                continue;
            }
            let start = Instant::now();
            let mut reader = p20w_connectors::open(&source.spec())?;
            for batch in reader.by_ref() {
                batch?;
            }
            let secs = start.elapsed().as_secs_f64().max(1e-9);
            let summary = reader.summary();
            let mb = reader.bytes_read() as f64 / 1e6;
            println!(
                "{:<24} {:<22} {:<12} {:>12} {:>10.1} {:>9.1} {:>13.0}",
                job_name,
                source.name,
                source.format,
                summary.counts.read,
                mb,
                mb / secs,
                summary.counts.read as f64 / secs
            );
        }
    }
    Ok(())
}
