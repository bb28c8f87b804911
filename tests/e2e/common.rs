//! Running the binary and sharing one synthesized, processed state across tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

pub const BIN: &str = env!("CARGO_BIN_EXE_p20w");

/// Runs `p20w` with `args` and returns its output, failing the test with stderr on error.
pub fn p20w(args: &[&str]) -> Output {
    let out = Command::new(BIN).args(args).output().expect("p20w runs");
    assert!(
        out.status.success(),
        "p20w {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// `p20w args…` whatever its exit status: the status, and stdout followed by stderr.
pub fn status(args: &[&str]) -> (i32, String) {
    let out = Command::new(BIN).args(args).output().expect("p20w runs");
    (
        out.status.code().expect("exited"),
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A fresh folder under cargo's per-target scratch space.
pub fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("e2e-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A synthesized state with its key, run once per test process.
pub struct State {
    pub dir: PathBuf,
    /// The release of the job with deterministic linkage only, which the truth checks cell by
    /// cell (`truth.rs`).
    pub release: PathBuf,
    pub stdout: String,
    /// The release of the job as shipped: deterministic linkage, then fuzzy.
    pub fuzzy_release: PathBuf,
}

/// `job` with fuzzy linkage turned off, written beside it as `<stem>-deterministic.toml`.
pub fn deterministic(job: &Path) -> PathBuf {
    let mut text = std::fs::read_to_string(job).unwrap();
    assert!(
        !text.contains("[linkage]"),
        "{} sets linkage",
        job.display()
    );
    text.push_str("\n[linkage]\nfuzzy = false\n");
    let stem = job.file_stem().unwrap().to_str().unwrap();
    let path = job.with_file_name(format!("{stem}-deterministic.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

pub const STUDENTS: &str = "4000";

pub fn synthesize(dir: &Path, students: &str) {
    let d = dir.to_str().unwrap();
    p20w(&[
        "synth",
        "--out",
        d,
        "--students",
        students,
        "--other-workers-per-student",
        "0.5",
    ]);
    p20w(&["keygen", dir.join("p20w.key").to_str().unwrap()]);
}

pub fn run(job: &Path) -> (PathBuf, String) {
    let out = p20w(&["run", job.to_str().unwrap()]);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let release = stdout
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .unwrap_or_else(|| panic!("no release line in:\n{stdout}"));
    (PathBuf::from(release), stdout)
}

/// The shared state: synthesized and run once, read by many tests.
pub fn state() -> &'static State {
    static STATE: OnceLock<State> = OnceLock::new();
    STATE.get_or_init(|| {
        let dir = scratch("shared");
        synthesize(&dir, STUDENTS);
        let (release, stdout) = run(&deterministic(&dir.join("job-csv.toml")));
        let (fuzzy_release, _) = run(&dir.join("job-csv.toml"));
        State {
            dir,
            release,
            stdout,
            fuzzy_release,
        }
    })
}

/// Reads a CSV file into header-keyed rows.
pub fn read_csv(path: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            let rec = rec.unwrap();
            headers
                .iter()
                .zip(rec.iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// Every Parquet file of a release, decoded: (relative path, batches).
pub fn release_tables(release: &Path) -> Vec<(String, Vec<datafusion::arrow::array::RecordBatch>)> {
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let mut out = Vec::new();
    for entry in walk(release) {
        if entry.extension().is_some_and(|e| e == "parquet") {
            let f = std::fs::File::open(&entry).unwrap();
            let reader = ParquetRecordBatchReaderBuilder::try_new(f)
                .unwrap()
                .build()
                .unwrap();
            let batches = reader.map(|b| b.unwrap()).collect();
            out.push((
                entry.strip_prefix(release).unwrap().display().to_string(),
                batches,
            ));
        }
    }
    out
}

pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p))
        } else {
            out.push(p)
        }
    }
    out.sort();
    out
}

/// The outcome tables' dimension columns, as the data dictionary lists them.
pub const DIMS: [&str; 13] = [
    "sex",
    "race_ethnicity",
    "disability",
    "economic_disadvantage",
    "nontraditional",
    "single_parent",
    "out_of_workforce",
    "english_learner",
    "homeless",
    "foster_care",
    "military_connected",
    "program",
    "career_cluster",
];

/// How far a group's linkage recall may sit from the overall `recall` (the targets: within a
/// point) when it has `n` true pairs: each run draws a new key, so which few pairs are missed
/// is random, and a small group differs from the whole by sampling noise alone, about
/// sqrt(q(1-q)/n) for an overall miss rate q. One point, or 3.5 of those.
pub fn group_recall_tolerance(recall: f64, n: usize) -> f64 {
    let q = (1.0 - recall).abs().max(0.005);
    0.01f64.max(3.5 * (q * (1.0 - q) / n as f64).sqrt())
}
