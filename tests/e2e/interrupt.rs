//! A run that is stopped leaves no person-level data behind: SIGTERM and SIGINT make it remove
//! its work folder before it exits; after SIGKILL the next run removes it, and that run's
//! release is the same as a clean run's.
//!
//! To stop the run while it is surely working, the wage file is replaced by a named pipe: the
//! run ingests the sources before it, then blocks reading wages that the test feeds slowly.
//! Opening the pipe for writing succeeds only once the run has opened it for reading, which is
//! the moment to send the signal. No timing guess, so no flakiness.

#![cfg(unix)]

use std::io::{Read, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::common::{BIN, run, scratch, synthesize};

const WAGES: &str = "workforce/ui_wages.csv";
const BOUND: Duration = Duration::from_secs(120);

/// A copy of the state's job with `work_dir` and `output` set (and no other change).
fn job_with(dir: &Path, name: &str, work_dir: &str, output: &str) -> PathBuf {
    let text = std::fs::read_to_string(dir.join("job-csv.toml")).unwrap();
    let (top, sources) = text.split_at(text.find("[[sources]]").unwrap());
    let top: String = top
        .lines()
        .filter(|l| !l.starts_with("output") && !l.starts_with("work_dir"))
        .map(|l| format!("{l}\n"))
        .collect();
    let job = dir.join(name);
    std::fs::write(
        &job,
        format!("{top}output = \"{output}\"\nwork_dir = \"{work_dir}\"\n\n{sources}"),
    )
    .unwrap();
    job
}

/// Replaces the wage file by a named pipe; returns where the real file was moved.
fn wages_as_pipe(dir: &Path) -> PathBuf {
    let wages = dir.join(WAGES);
    let real = dir.join("ui_wages.real.csv");
    std::fs::rename(&wages, &real).unwrap();
    let status = Command::new("mkfifo").arg(&wages).status().unwrap();
    assert!(status.success(), "mkfifo");
    real
}

fn restore_wages(dir: &Path, real: &Path) {
    std::fs::remove_file(dir.join(WAGES)).unwrap();
    std::fs::rename(real, dir.join(WAGES)).unwrap();
}

fn start_run(job: &Path) -> Child {
    Command::new(BIN)
        .args(["run", job.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("p20w starts")
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut s);
    }
    s
}

/// Waits until the run has opened the wage pipe, feeds it a header and a few rows, and returns
/// the open pipe: the run now blocks for more, in the middle of its work.
fn feed_until_working(child: &mut Child, dir: &Path, real: &Path) -> std::fs::File {
    let deadline = Instant::now() + BOUND;
    let pipe = loop {
        // Non-blocking: fails (ENXIO) until a reader has the pipe open.
        match std::fs::OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(dir.join(WAGES))
        {
            Ok(f) => break f,
            Err(_) => {
                if let Some(status) = child.try_wait().unwrap() {
                    panic!(
                        "the run ended ({status}) before reading wages:\n{}",
                        stderr_of(child)
                    );
                }
                assert!(Instant::now() < deadline, "the run never opened the wages");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    };
    let text = std::fs::read_to_string(real).unwrap();
    let head: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
    (&pipe).write_all(head.as_bytes()).unwrap();
    pipe
}

/// Every run folder (and its lock file) under a work root; the shared mutex file is not one.
fn run_folders(work: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(work) {
        Ok(entries) => {
            let mut v: Vec<PathBuf> = entries
                .map(|e| e.unwrap().path())
                .filter(|p| p.file_name().unwrap() != ".p20w.lock")
                .collect();
            v.sort();
            v
        }
        Err(_) => Vec::new(),
    }
}

/// Parquet files under `dir`: the pseudonymized person-level rows a run writes.
fn parquet_under(dir: &Path) -> usize {
    walkdir(dir)
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .count()
}

fn walkdir(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                out.extend(walkdir(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn wait_bounded(child: &mut Child) -> ExitStatus {
    let deadline = Instant::now() + BOUND;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the run did not stop within {BOUND:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn stopped_by(signal: &str, code: i32) {
    let dir = scratch(&format!("stop-{signal}"));
    synthesize(&dir, "600");
    let job = job_with(&dir, "job-stop.toml", "work", "releases");
    let real = wages_as_pipe(&dir);
    let mut child = start_run(&job);
    let pipe = feed_until_working(&mut child, &dir, &real);

    let work = dir.join("work");
    let held = run_folders(&work);
    assert_eq!(held.len(), 2, "one run folder and its lock: {held:?}");
    assert!(
        parquet_under(&work) > 0,
        "the run holds person-level data by now: {:?}",
        walkdir(&work)
    );

    let sent = Instant::now();
    let kill = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = wait_bounded(&mut child);
    let took = sent.elapsed();
    drop(pipe);
    let stderr = stderr_of(&mut child);

    assert_eq!(status.code(), Some(code), "{stderr}");
    assert!(stderr.contains(&format!("SIG{signal}")), "{stderr}");
    assert!(
        run_folders(&work).is_empty(),
        "left behind: {:?}",
        walkdir(&work)
    );
    let agreement = dir.join("releases/demo-mou-2026");
    assert!(
        run_folders(&agreement).is_empty(),
        "no staging folder and no release: {:?}",
        run_folders(&agreement)
    );
    eprintln!("stopped by SIG{signal} in {took:?}");
    restore_wages(&dir, &real);
}

#[test]
fn a_run_stopped_by_sigterm_leaves_no_person_level_data() {
    stopped_by("TERM", 143);
}

#[test]
fn a_run_stopped_by_sigint_leaves_no_person_level_data() {
    stopped_by("INT", 130);
}

#[test]
fn after_sigkill_the_next_run_sweeps_the_dead_folder_and_matches_a_clean_run() {
    let dir = scratch("sigkill");
    synthesize(&dir, "600");
    let job = job_with(&dir, "job-killed.toml", "work", "releases");
    let real = wages_as_pipe(&dir);
    let mut child = start_run(&job);
    let pipe = feed_until_working(&mut child, &dir, &real);
    child.kill().unwrap(); // SIGKILL: no handler, no destructor runs
    wait_bounded(&mut child);
    drop(pipe);
    restore_wages(&dir, &real);

    let work = dir.join("work");
    let dead = run_folders(&work);
    assert_eq!(dead.len(), 2, "a killed run leaves its folder: {dead:?}");
    assert!(parquet_under(&work) > 0, "{:?}", walkdir(&work));

    // The same job again: it sweeps the dead run's folder and succeeds.
    let (release, _) = run(&job);
    assert!(
        run_folders(&work).is_empty(),
        "left behind: {:?}",
        walkdir(&work)
    );

    // A clean run of the same inputs into a separate output and work folder.
    let clean_job = job_with(&dir, "job-clean.toml", "work-clean", "releases-clean");
    let (clean, _) = run(&clean_job);
    assert_ne!(release, clean);
    assert_eq!(release.file_name(), clean.file_name(), "same release id");
    let manifest = |r: &Path| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(r.join("manifest.json")).unwrap()).unwrap()
    };
    let (m, c) = (manifest(&release), manifest(&clean));
    assert_eq!(
        m["files"], c["files"],
        "every file's checksum and row count"
    );
    for f in m["files"].as_array().unwrap() {
        let p = f["path"].as_str().unwrap();
        if p.ends_with(".parquet") {
            assert_eq!(
                std::fs::read(release.join(p)).unwrap(),
                std::fs::read(clean.join(p)).unwrap(),
                "{p}"
            );
        }
    }
}
