//! `p20w demo`: synthesize a small state, write the bundled demo job beside it, make a key if
//! there is none, and run the job.

use std::path::{Path, PathBuf};

use p20w_privacy::MasterKey;
use p20w_synth::{SynthConfig, generate_state};

use crate::RunError;
use crate::config::JobConfig;
use crate::run::{RunOutcome, run_job};

/// The bundled demo jobs, (file name, text); their paths are relative to the folder they are
/// written into. The first is the demo; the standard-format jobs need the state's Ed-Fi dump
/// and fixed-width wage files.
pub const DEMO_JOBS: [(&str, &str); 3] = [
    ("job.toml", include_str!("../../demo/job.toml")),
    (
        "job-efw2-pirl.toml",
        include_str!("../../demo/job-efw2-pirl.toml"),
    ),
    ("job-csv.toml", include_str!("../../demo/job-csv.toml")),
];
/// The demo jobs' agreement, written beside them as `agreement.toml`.
pub const DEMO_AGREEMENT: &str = include_str!("../../demo/agreement.toml");
const MARKER: &str = ".p20w-demo";

/// Generates a synthetic state into `dir` and writes the demo jobs its files allow beside it;
/// returns the path of the first.
pub fn synthesize(dir: &Path, cfg: &SynthConfig) -> Result<PathBuf, RunError> {
    std::fs::create_dir_all(dir).map_err(|e| RunError::io(dir, e))?;
    generate_state(cfg, dir).map_err(|e| RunError::Internal(e.to_string()))?;
    let standard_formats = cfg.fixed_width_wages && cfg.edfi_dump;
    let agreement = dir.join("agreement.toml");
    std::fs::write(&agreement, DEMO_AGREEMENT).map_err(|e| RunError::io(&agreement, e))?;
    let mut written = Vec::new();
    for (name, text) in DEMO_JOBS {
        if name != "job-csv.toml" && !standard_formats {
            continue;
        }
        let job = dir.join(name);
        std::fs::write(&job, text).map_err(|e| RunError::io(&job, e))?;
        written.push(job);
    }
    Ok(written.swap_remove(0))
}

/// Runs the whole demo in `dir`, which must be new or an earlier demo folder.
pub async fn run_demo(dir: &Path, cfg: &SynthConfig) -> Result<RunOutcome, RunError> {
    if dir.exists() {
        if !dir.join(MARKER).exists()
            && std::fs::read_dir(dir)
                .map_err(|e| RunError::io(dir, e))?
                .next()
                .is_some()
        {
            return Err(RunError::Internal(format!(
                "{} exists and is not a p20w demo folder; choose another --dir",
                dir.display()
            )));
        }
        // An earlier demo's release would collide with this one's (same inputs, same key).
        let releases = dir.join("releases");
        if releases.exists() {
            std::fs::remove_dir_all(&releases).map_err(|e| RunError::io(&releases, e))?;
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| RunError::io(dir, e))?;
    std::fs::write(dir.join(MARKER), "made by p20w demo\n").map_err(|e| RunError::io(dir, e))?;
    let job_path = synthesize(dir, cfg)?;
    let key = dir.join("p20w.key");
    if !key.exists() {
        MasterKey::generate_file(&key)?;
    }
    let job = JobConfig::load(&job_path)?;
    run_job(&job).await
}
