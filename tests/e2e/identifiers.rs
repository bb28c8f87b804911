//! No clear identifier from any input may appear anywhere in the release.

use std::collections::HashSet;

use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};

use crate::common::{read_csv, release_tables, state, walk};

/// Every SSN, state or institution id, name and birth date in the inputs, in the forms they
/// were written and in canonical form.
pub(crate) fn input_identifiers(dir: &std::path::Path) -> HashSet<String> {
    let mut ids = HashSet::new();
    for file in walk(dir) {
        let rel = file.strip_prefix(dir).unwrap().display().to_string();
        if !rel.ends_with(".csv") || rel.starts_with("releases") {
            continue;
        }
        for row in read_csv(&file) {
            for col in [
                "ssn",
                "state_student_id",
                "institution_student_id",
                "first_name",
                "last_name",
                "birth_date",
            ] {
                // A name of three letters or fewer (Max, Sam) is also a word of the tool's own
                // output (`max_quarantined_share`): such names are left out of a token scan, as
                // the placeholder surname is; identifiers, dates and longer names are not.
                let short_name = |v: &&String| col.ends_with("_name") && v.chars().count() <= 3;
                if let Some(v) = row
                    .get(col)
                    .filter(|v| !v.is_empty())
                    .filter(|v| !short_name(v))
                {
                    ids.insert(v.to_lowercase());
                    ids.insert(v.replace('-', "").to_lowercase());
                }
            }
        }
    }
    ids.remove("worker"); // the placeholder surname of non-student workers
    ids
}

pub(crate) fn tokens(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphanumeric() || c == '-'))
        .filter(|t| !t.is_empty())
        .flat_map(|t| {
            let t = t.to_lowercase();
            [t.replace('-', ""), t]
        })
}

#[test]
fn no_input_identifier_appears_in_the_decoded_release() {
    let s = state();
    assert_no_input_identifier(&s.dir, &s.release, &s.stdout);
    // Fuzzy linkage encodes names and birth dates at ingest; neither they nor the encodings
    // reach the release.
    assert_no_input_identifier(&s.dir, &s.fuzzy_release, "");
}

/// Scans every decoded cell and every other file of `release`, and the run's `stdout`, for the
/// identifiers of the inputs in `dir`.
pub(crate) fn assert_no_input_identifier(
    dir: &std::path::Path,
    release: &std::path::Path,
    stdout: &str,
) {
    let ids = input_identifiers(dir);
    assert!(
        ids.len() > 10_000,
        "the scan must cover the inputs' identifiers ({} found)",
        ids.len()
    );
    let mut cells = 0usize;
    for (path, batches) in release_tables(release) {
        for b in &batches {
            for col in b.columns() {
                let f = ArrayFormatter::try_new(col.as_ref(), &FormatOptions::default()).unwrap();
                for i in 0..col.len() {
                    let v = f.value(i).to_string();
                    cells += 1;
                    for t in tokens(&v) {
                        assert!(
                            !ids.contains(&t),
                            "{path}: a cell holds an input identifier"
                        );
                    }
                }
            }
        }
    }
    assert!(cells > 1_000);
    for file in walk(release) {
        if file.extension().is_some_and(|e| e == "parquet") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for t in tokens(&text) {
            assert!(
                !ids.contains(&t),
                "{}: holds an input identifier",
                file.display()
            );
        }
    }
    // The pipeline's stdout is seen by operators and logs: it must be clean too.
    for t in tokens(stdout) {
        assert!(!ids.contains(&t), "stdout holds an input identifier");
    }
}

/// Person-level work data never lands in the output tree an office ships: the output holds the
/// release and the agreement folder's lock file, nothing else. (That the work folder itself
/// is removed however a run ends is tested in interrupt.rs.)
#[test]
fn no_person_level_work_data_is_left_in_the_output_tree() {
    let s = state();
    let output = s.dir.join("releases");
    let stray: Vec<_> = walk(&output)
        .into_iter()
        .filter(|p| {
            !p.starts_with(&s.release)
                && !p.starts_with(&s.fuzzy_release)
                && !p.ends_with(".p20w.lock")
        })
        .collect();
    assert!(stray.is_empty(), "{stray:?}");
}
