//! `p20w destroy`: crypto-shredding at the end of an agreement. Every pseudonym and linkage
//! encoding of an agreement is derived from the master key and the agreement id, and no
//! derived key is ever stored, so destroying the key file makes the pseudonyms impossible to
//! reproduce, whatever copies of pseudonymized data remain. Person-level intermediate data
//! never outlives a run (`crate::workdir`). The destruction is recorded in the audit log as
//! the certificate: which key (its id), which file, when and by whom.

use std::io::Write;
use std::path::Path;

use crate::RunError;
use crate::audit::{AuditLog, Event};
use crate::config::{ConfigError, JobConfig, KeySource};

/// What was destroyed.
#[derive(Debug, Clone)]
pub struct Destruction {
    pub key_id: String,
    pub key_file: String,
}

/// Destroys the master key of `job`, whose agreement must be `agreement_id` (so the command
/// says which agreement it ends), and records it in the job's audit log.
pub fn destroy_key(job: &JobConfig, agreement_id: &str) -> Result<Destruction, RunError> {
    let refuse = |message: String| {
        RunError::Config(ConfigError::Invalid {
            path: job.job_path.display().to_string(),
            message,
        })
    };
    if job.agreement_id != agreement_id {
        return Err(refuse(format!(
            "the job runs under agreement {}, not {agreement_id}; nothing was destroyed",
            job.agreement_id
        )));
    }
    let KeySource::File(path) = &job.key else {
        return Err(refuse(
            "the key comes from an environment variable: destroy it where it is kept; nothing \
             was destroyed"
                .into(),
        ));
    };
    let key_id = job.key.load()?.key_id();
    overwrite_and_remove(path)?;
    AuditLog::at(&job.audit_log).append(Event {
        action: "destruction".into(),
        outcome: "ok".into(),
        agreement_id: Some(job.agreement_id.clone()),
        job: Some(job.job_path.display().to_string()),
        key_id: Some(key_id.clone()),
        purpose: Some("pseudonyms".into()),
        message: Some(format!(
            "key file {} overwritten and removed: the agreement's pseudonyms can no longer be \
             reproduced",
            path.display()
        )),
        ..Event::default()
    })?;
    Ok(Destruction {
        key_id,
        key_file: path.display().to_string(),
    })
}

/// Overwrites the file with zeros, syncs, removes it and syncs its folder. (On copy-on-write
/// or journaling file systems the old blocks may survive the overwrite; the removal is what
/// the certificate states.)
fn overwrite_and_remove(path: &Path) -> Result<(), RunError> {
    let io = |e| RunError::io(path, e);
    let len = std::fs::metadata(path).map_err(io)?.len();
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(io)?;
    file.write_all(&vec![0u8; len as usize]).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    std::fs::remove_file(path).map_err(io)?;
    crate::audit::sync_parent(path).map_err(io)
}
