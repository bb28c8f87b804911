//! The audit log: one JSON line per event (a run, a validation, a release, a use of a key),
//! saying who did it, under which agreement, what was read and what was written, as FERPA's
//! record of disclosures and 20 CFR 603.9's audit of compliance ask.
//!
//! Tamper evidence: every line ends with `"sha256":"…"`, the SHA-256 of the line's text before
//! that field (closed with `}`), and carries `prev`, the `sha256` of the line before it (64
//! zeros for the first), and `seq`, its number from 0. An edited byte breaks the line's own
//! hash; a removed, inserted or moved line breaks the next line's `prev` and the numbering.
//! Removing lines from the end leaves a shorter valid chain: an auditor who keeps the head
//! printed by `p20w audit-log verify` catches that with `--head`.
//!
//! Crash safety: a line is appended in one write to a file opened for appending, under an
//! exclusive lock, and synced before the command goes on. A line cut short by a crash is found
//! by the next append, which refuses to write after it, and by `verify`; `p20w audit-log
//! repair` cuts it off and records that it did.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// `p20w audit-log verify`: an entry was edited, removed, inserted or reordered.
pub const EXIT_TAMPERED: u8 = 8;
/// `p20w audit-log verify`: the chain holds, but the last line was cut short (a crash while
/// writing it).
pub const EXIT_TORN: u8 = 9;

/// The log's file name when the job does not set `audit_log`: beside the job file.
pub const DEFAULT_FILE: &str = "p20w-audit.jsonl";

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const HASH_FIELD: &str = ",\"sha256\":\"";
/// `,"sha256":"` + 64 hex characters + `"}`.
const HASH_TAIL_LEN: usize = HASH_FIELD.len() + 64 + 2;

#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("audit log {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error(
        "audit log {path} ends in an incomplete entry ({bytes} bytes after the last complete \
         line, from an interrupted write); nothing is added after it until `p20w audit-log \
         repair {path}` removes it and records the removal"
    )]
    TornTail { path: String, bytes: usize },
    #[error(
        "audit log {path}: its last entry (line {line}) does not match its own hash; nothing is \
         added to a log that was altered (check it with `p20w audit-log verify`)"
    )]
    Altered { path: String, line: usize },
}

/// A file read or written, by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileHash {
    pub file: String,
    pub sha256: String,
}

/// What happened: the fields every kind of event shares, empty ones left out of the line.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Event {
    /// `run`, `validation`, `release`, `key_use`, `repair` or `destruction`.
    pub action: String,
    /// `ok`, `refused` (an agreement clause), `failed`, or a validation's outcome.
    pub outcome: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agreement_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<String>,
    /// For `key_use`: which key (its public id, never the key) and what for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub read: Vec<FileHash>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wrote: Vec<FileHash>,
    /// Why a run failed or was refused, in the operator's words (never a data value).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// One line as written, less its trailing `sha256`.
#[derive(Serialize, Deserialize)]
struct Entry {
    seq: u64,
    prev: String,
    /// UTC, RFC 3339, to the second.
    time: String,
    /// The operating-system account that ran the command ($USER, else $LOGNAME) and its uid.
    user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    uid: Option<u32>,
    #[serde(flatten)]
    event: Event,
}

/// An audit log file. Appending takes an exclusive lock, so runs of one agreement may share it.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    pub fn at(path: &Path) -> AuditLog {
        AuditLog {
            path: path.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends `event` as the next entry and syncs it to disk.
    pub fn append(&self, event: Event) -> Result<(), AuditError> {
        let io = |source| AuditError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let mut file = open_locked(&self.path).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (seq, prev) = match last_line(&bytes) {
            Tail::Empty => (0, GENESIS.to_string()),
            Tail::Torn(n) => {
                return Err(AuditError::TornTail {
                    path: self.path.display().to_string(),
                    bytes: n,
                });
            }
            Tail::Line(line) => match checked(line).map(|(e, h)| (e.seq, h)) {
                Some((seq, hash)) => (seq + 1, hash),
                None => {
                    // The last line's number: the log ends with its newline.
                    return Err(AuditError::Altered {
                        path: self.path.display().to_string(),
                        line: bytes.iter().filter(|&&b| b == b'\n').count(),
                    });
                }
            },
        };
        let line = seal(&Entry {
            seq,
            prev,
            time: now_utc(),
            user: user_name(),
            uid: uid(),
            event,
        });
        file.write_all(line.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)?;
        if bytes.is_empty() {
            sync_parent(&self.path).map_err(io)?;
        }
        Ok(())
    }

    /// Cuts an incomplete last line off and records the cut (its length and SHA-256) as a
    /// `repair` entry. Returns the bytes removed (0 when the log was whole: nothing is done).
    pub fn repair(&self) -> Result<usize, AuditError> {
        let io = |source| AuditError::Io {
            path: self.path.display().to_string(),
            source,
        };
        let removed = {
            let mut file = open_locked(&self.path).map_err(io)?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).map_err(io)?;
            let Tail::Torn(n) = last_line(&bytes) else {
                return Ok(0);
            };
            let cut = &bytes[bytes.len() - n..];
            let sha256 = hex::encode(Sha256::digest(cut));
            file.set_len((bytes.len() - n) as u64).map_err(io)?;
            file.sync_data().map_err(io)?;
            (n, sha256)
        };
        self.append(Event {
            action: "repair".into(),
            outcome: "ok".into(),
            message: Some(format!(
                "removed an incomplete last line of {} bytes (SHA-256 {})",
                removed.0, removed.1
            )),
            ..Event::default()
        })?;
        Ok(removed.0)
    }
}

/// The result of checking a whole log.
#[derive(Debug, Clone, Default)]
pub struct LogCheck {
    pub entries: usize,
    /// The last complete entry's `sha256`: note it to catch a later truncation with `--head`.
    pub head: Option<String>,
    /// Broken links of the chain, each naming its line.
    pub problems: Vec<String>,
    /// Bytes of an incomplete last line.
    pub torn_bytes: Option<usize>,
}

impl LogCheck {
    pub fn exit_code(&self) -> u8 {
        if !self.problems.is_empty() {
            EXIT_TAMPERED
        } else if self.torn_bytes.is_some() {
            EXIT_TORN
        } else {
            0
        }
    }
}

/// Checks every entry of the log at `path`; with `head`, also that an entry with that
/// `sha256` is still in it (entries cut from the end leave the chain valid otherwise).
pub fn verify_log(path: &Path, head: Option<&str>) -> Result<LogCheck, AuditError> {
    let bytes = std::fs::read(path).map_err(|source| AuditError::Io {
        path: path.display().to_string(),
        source,
    })?;
    let mut check = LogCheck::default();
    let complete = match last_line(&bytes) {
        Tail::Torn(n) => {
            check.torn_bytes = Some(n);
            &bytes[..bytes.len() - n]
        }
        _ => &bytes[..],
    };
    let lines: Vec<&[u8]> = match complete.strip_suffix(b"\n") {
        Some(body) => body.split(|&b| b == b'\n').collect(),
        None => Vec::new(),
    };
    let mut prev = GENESIS.to_string();
    let mut last_seq: Option<u64> = None;
    let mut hashes = Vec::new();
    for (i, line) in lines.into_iter().enumerate() {
        let number = i + 1;
        let Some((entry, hash)) = checked(line) else {
            check.problems.push(format!(
                "line {number}: edited (it does not match its own hash)"
            ));
            // The hash it claims, so the next line is judged on its own link.
            prev = claimed_hash(line).unwrap_or_default();
            hashes.push(String::new());
            last_seq = last_seq.map(|s| s + 1);
            continue;
        };
        if entry.prev != prev {
            check.problems.push(format!(
                "line {number}: does not follow the line before it (an entry was removed, \
                 inserted or moved here)"
            ));
        }
        let expected = last_seq.map_or(0, |s| s + 1);
        if entry.seq != expected {
            check.problems.push(format!(
                "line {number}: entry number {}, expected {expected}",
                entry.seq
            ));
        }
        last_seq = Some(entry.seq);
        prev = hash.clone();
        hashes.push(hash);
    }
    check.entries = hashes.len();
    check.head = hashes.last().filter(|h| !h.is_empty()).cloned();
    if let Some(head) = head
        && !hashes.iter().any(|h| h == head)
    {
        check.problems.push(format!(
            "the entry with sha256 {head} is no longer in the log (entries were removed from \
             its end, or it was rewritten)"
        ));
    }
    Ok(check)
}

/// The last line of a log's bytes.
enum Tail<'a> {
    Empty,
    /// Bytes after the last newline: a line whose write did not finish.
    Torn(usize),
    /// Its bytes, without the newline.
    Line(&'a [u8]),
}

fn last_line(bytes: &[u8]) -> Tail<'_> {
    if bytes.is_empty() {
        return Tail::Empty;
    }
    if bytes.last() != Some(&b'\n') {
        let start = bytes.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
        return Tail::Torn(bytes.len() - start);
    }
    let body = &bytes[..bytes.len() - 1];
    let start = body.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    Tail::Line(&body[start..])
}

/// The line as text with its `sha256` appended and a newline.
fn seal(entry: &Entry) -> String {
    let body = serde_json::to_string(entry).expect("an entry always serializes");
    let hash = hex::encode(Sha256::digest(body.as_bytes()));
    format!("{}{HASH_FIELD}{hash}\"}}\n", &body[..body.len() - 1])
}

/// The text before a line's `sha256` field and the hash that field holds.
fn split_hash(line: &[u8]) -> Option<(&str, &str)> {
    let text = std::str::from_utf8(line).ok()?;
    let split = text.len().checked_sub(HASH_TAIL_LEN)?;
    let (head, tail) = (text.get(..split)?, text.get(split..)?);
    let hash = tail.strip_prefix(HASH_FIELD)?.strip_suffix("\"}")?;
    Some((head, hash))
}

fn claimed_hash(line: &[u8]) -> Option<String> {
    split_hash(line).map(|(_, hash)| hash.to_string())
}

/// A line's entry and `sha256`, when the hash matches the text before it.
fn checked(line: &[u8]) -> Option<(Entry, String)> {
    let (head, hash) = split_hash(line)?;
    let body = format!("{head}}}");
    if hex::encode(Sha256::digest(body.as_bytes())) != hash {
        return None;
    }
    let entry: Entry = serde_json::from_str(&body).ok()?;
    Some((entry, hash.to_string()))
}

fn open_locked(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o640);
    let file = options.open(path)?;
    // Released when the file is closed.
    file.lock()?;
    Ok(file)
}

/// Syncs the folder holding `path`, so a file created or removed there stays so after a crash.
pub(crate) fn sync_parent(path: &Path) -> std::io::Result<()> {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => File::open(p)?.sync_all(),
        _ => File::open(".")?.sync_all(),
    }
}

/// Now, as `YYYY-MM-DDTHH:MM:SSZ`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let date = p20w_schemas::Date::from_days((secs / 86_400) as i32);
    let s = secs % 86_400;
    format!("{date}T{:02}:{:02}:{:02}Z", s / 3600, s / 60 % 60, s % 60)
}

fn user_name() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into())
}

#[cfg(unix)]
fn uid() -> Option<u32> {
    // SAFETY: getuid has no preconditions and cannot fail.
    Some(unsafe { libc::getuid() })
}

#[cfg(not(unix))]
fn uid() -> Option<u32> {
    None
}

/// The entry of a finished (or failed) run: the job and agreement files and every input it
/// read, by hash.
pub fn run_event(
    job: &crate::config::JobConfig,
    outcome: &str,
    inputs: &[crate::publish::InputEntry],
    release_id: Option<&str>,
    message: Option<String>,
) -> Event {
    let mut read = vec![job_hash(job), agreement_hash(job)];
    read.extend(inputs.iter().map(|i| FileHash {
        file: i.file.clone(),
        sha256: i.sha256.clone(),
    }));
    Event {
        action: "run".into(),
        outcome: outcome.into(),
        agreement_id: Some(job.agreement_id.clone()),
        job: Some(job.job_path.display().to_string()),
        release_id: release_id.map(str::to_string),
        read,
        message,
        ..Event::default()
    }
}

/// The entry of a validation: the job file and every input it read, by hash; writes nothing
/// but the optional JSON report.
pub fn validation_event(
    job: &crate::config::JobConfig,
    report: &crate::validate::ValidationReport,
    json: Option<(&Path, &[u8])>,
) -> Event {
    let mut read = vec![job_hash(job), agreement_hash(job)];
    for s in &report.sources {
        read.extend(s.inputs.iter().map(|i| FileHash {
            file: i.file.clone(),
            sha256: i.sha256.clone(),
        }));
    }
    Event {
        action: "validation".into(),
        outcome: serde_json::to_value(report.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        agreement_id: Some(job.agreement_id.clone()),
        job: Some(job.job_path.display().to_string()),
        read,
        wrote: json
            .map(|(path, bytes)| FileHash {
                file: path.display().to_string(),
                sha256: hex::encode(Sha256::digest(bytes)),
            })
            .into_iter()
            .collect(),
        ..Event::default()
    }
}

/// The job file as it was parsed, not as it may be now.
fn job_hash(job: &crate::config::JobConfig) -> FileHash {
    FileHash {
        file: job.job_path.display().to_string(),
        sha256: job.job_sha256.clone(),
    }
}

/// The agreement file as the job read it: its hash when the job was loaded, not now.
fn agreement_hash(job: &crate::config::JobConfig) -> FileHash {
    FileHash {
        file: job.agreement_file.display().to_string(),
        sha256: job.agreement.sha256.clone(),
    }
}

/// The entry of a validation its agreement refused.
pub fn refused_validation_event(
    job: &crate::config::JobConfig,
    refusal: &crate::agreement::Refusal,
) -> Event {
    Event {
        action: "validation".into(),
        outcome: "refused".into(),
        agreement_id: Some(job.agreement_id.clone()),
        job: Some(job.job_path.display().to_string()),
        read: vec![job_hash(job), agreement_hash(job)],
        message: Some(refusal.to_string()),
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: usize) -> Event {
        Event {
            action: "run".into(),
            outcome: "ok".into(),
            agreement_id: Some("mou".into()),
            read: vec![FileHash {
                file: format!("k12/students-{n}.csv"),
                sha256: "ab".repeat(32),
            }],
            ..Event::default()
        }
    }

    /// A log of `n` entries and its lines.
    fn log(dir: &Path, n: usize) -> (AuditLog, Vec<String>) {
        let log = AuditLog::at(&dir.join("audit.jsonl"));
        for i in 0..n {
            log.append(event(i)).unwrap();
        }
        let text = std::fs::read_to_string(log.path()).unwrap();
        let lines = text.lines().map(|l| format!("{l}\n")).collect();
        (log, lines)
    }

    fn rewrite(log: &AuditLog, lines: &[String]) -> LogCheck {
        std::fs::write(log.path(), lines.concat()).unwrap();
        verify_log(log.path(), None).unwrap()
    }

    #[test]
    fn an_untouched_log_verifies_and_names_its_head() {
        let dir = tempfile::tempdir().unwrap();
        let (log, lines) = log(dir.path(), 4);
        let check = verify_log(log.path(), None).unwrap();
        assert_eq!(check.exit_code(), 0, "{:?}", check.problems);
        assert_eq!(check.entries, 4);
        let head = check.head.clone().unwrap();
        assert!(lines[3].ends_with(&format!("\"sha256\":\"{head}\"}}\n")));
        let entry: serde_json::Value = serde_json::from_str(&lines[2]).unwrap();
        assert_eq!(entry["seq"], 2);
        assert_eq!(entry["action"], "run");
        assert!(entry["user"].is_string() && entry["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn one_edited_byte_in_any_entry_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let (log, lines) = log(dir.path(), 4);
        for (i, line) in lines.iter().enumerate() {
            // Every position of the line but its newline: values, keys, punctuation, hash.
            for at in (0..line.len() - 1).step_by(7) {
                let mut bytes = line.clone().into_bytes();
                bytes[at] = if bytes[at] == b'1' { b'2' } else { b'1' };
                let mut edited = lines.clone();
                edited[i] = String::from_utf8(bytes).unwrap();
                let check = rewrite(&log, &edited);
                assert_eq!(
                    check.exit_code(),
                    EXIT_TAMPERED,
                    "line {i} byte {at} edited, undetected"
                );
            }
        }
    }

    #[test]
    fn a_removed_inserted_or_reordered_entry_is_detected() {
        let dir = tempfile::tempdir().unwrap();
        let (log, lines) = log(dir.path(), 4);
        for i in 0..3 {
            let mut removed = lines.clone();
            removed.remove(i);
            assert_eq!(rewrite(&log, &removed).exit_code(), EXIT_TAMPERED, "{i}");
            let mut swapped = lines.clone();
            swapped.swap(i, i + 1);
            assert_eq!(rewrite(&log, &swapped).exit_code(), EXIT_TAMPERED, "{i}");
        }
        // An entry from another log, well formed on its own.
        let other = tempfile::tempdir().unwrap();
        let foreign_log = AuditLog::at(&other.path().join("other.jsonl"));
        for i in 0..3 {
            foreign_log
                .append(Event {
                    agreement_id: Some("another".into()),
                    ..event(i)
                })
                .unwrap();
        }
        let foreign: Vec<String> = std::fs::read_to_string(foreign_log.path())
            .unwrap()
            .lines()
            .map(|l| format!("{l}\n"))
            .collect();
        let mut inserted = lines.clone();
        inserted.insert(2, foreign[2].clone());
        let check = rewrite(&log, &inserted);
        assert_eq!(check.exit_code(), EXIT_TAMPERED);
        assert!(
            check.problems[0].starts_with("line 3"),
            "{:?}",
            check.problems
        );
        let mut duplicated = lines.clone();
        duplicated.insert(2, lines[1].clone());
        assert_eq!(rewrite(&log, &duplicated).exit_code(), EXIT_TAMPERED);
        // The last entry removed: caught against the head an auditor noted.
        let head = rewrite(&log, &lines).head.unwrap();
        std::fs::write(log.path(), lines[..3].concat()).unwrap();
        assert_eq!(verify_log(log.path(), None).unwrap().exit_code(), 0);
        let check = verify_log(log.path(), Some(&head)).unwrap();
        assert_eq!(check.exit_code(), EXIT_TAMPERED);
    }

    #[test]
    fn a_torn_last_line_is_reported_refused_and_repaired_on_the_record() {
        let dir = tempfile::tempdir().unwrap();
        let (log, lines) = log(dir.path(), 2);
        let torn = &lines[1][..40];
        std::fs::write(log.path(), format!("{}{torn}", lines[0])).unwrap();
        let check = verify_log(log.path(), None).unwrap();
        assert_eq!(check.exit_code(), EXIT_TORN);
        assert_eq!(check.torn_bytes, Some(40));
        assert!(matches!(
            log.append(event(9)),
            Err(AuditError::TornTail { bytes: 40, .. })
        ));
        assert_eq!(log.repair().unwrap(), 40);
        log.append(event(9)).unwrap();
        let check = verify_log(log.path(), None).unwrap();
        assert_eq!(check.exit_code(), 0, "{:?}", check.problems);
        assert_eq!(check.entries, 3);
        let text = std::fs::read_to_string(log.path()).unwrap();
        assert!(
            text.lines()
                .nth(1)
                .unwrap()
                .contains("\"action\":\"repair\"")
        );
        assert_eq!(log.repair().unwrap(), 0, "a whole log is left alone");
    }

    #[test]
    fn nothing_is_appended_after_an_altered_last_entry() {
        let dir = tempfile::tempdir().unwrap();
        let (log, lines) = log(dir.path(), 2);
        let edited = lines[1].replace("\"ok\"", "\"no\"");
        std::fs::write(log.path(), format!("{}{edited}", lines[0])).unwrap();
        assert!(matches!(
            log.append(event(3)),
            Err(AuditError::Altered { line: 2, .. })
        ));
    }
}
