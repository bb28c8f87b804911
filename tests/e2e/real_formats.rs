//! The demo jobs that read the standard formats (Ed-Fi JSON + NSC + ICESA; Ed-Fi + NSC + EFW2 +
//! PIRL) publish exactly what plain CSV of the same records publishes, and the figures of the
//! first equal the ground truth (amended and late wage reports resolved); their releases hold
//! no input identifier and no solvable hidden count.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::common::{STUDENTS, deterministic, release_tables, run, scratch, synthesize};
use crate::disclosure::{assert_no_hidden_count_solvable, assert_no_small_group_published};
use crate::identifiers::assert_no_input_identifier;
use crate::truth::{FAMILIES, NSC_RETURN, check_family};

/// `job-csv.toml` of `dir` reading, instead of the state's own files, the canonical CSVs of
/// exactly the records the standard-format files hold.
fn csv_twin(dir: &Path, name: &str, swaps: &[(&str, &str)]) -> PathBuf {
    let mut job = std::fs::read_to_string(dir.join("job-csv.toml")).unwrap();
    for (from, to) in swaps {
        let from = format!("path = \"{from}\"");
        assert!(job.contains(&from), "job-csv.toml reads {from}");
        job = job.replace(&from, &format!("path = \"{to}\""));
    }
    let path = dir.join(name);
    std::fs::write(&path, job).unwrap();
    path
}

const NSC_RECORDS: [(&str, &str); 2] = [
    (
        "postsecondary/enrollments.csv",
        "postsecondary/nsc_enrollments.csv",
    ),
    ("postsecondary/awards.csv", "postsecondary/nsc_awards.csv"),
];

fn report(release: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(release.join("run_report.json")).unwrap())
        .unwrap()
}

/// Every outcome table, decoded and rendered, by its path in the release.
fn outcome_tables(release: &Path) -> BTreeMap<String, String> {
    release_tables(release)
        .into_iter()
        .map(|(path, batches)| (path, format!("{batches:?}")))
        .collect()
}

/// Rows read, accepted and quarantined per entity, summed over the entity's sources; every
/// source's own counts reconcile.
fn entity_counts(report: &Value) -> BTreeMap<String, [u64; 3]> {
    let mut out: BTreeMap<String, [u64; 3]> = BTreeMap::new();
    for s in report["sources"].as_array().unwrap() {
        let n = |k: &str| s[k].as_u64().unwrap();
        assert_eq!(n("read"), n("accepted") + n("quarantined"), "{}", s["name"]);
        let c = out
            .entry(s["entity"].as_str().unwrap().to_string())
            .or_default();
        c[1] += n("accepted");
        c[2] += n("quarantined");
    }
    out
}

/// The figures a release publishes about people, which must not depend on the input format.
fn same_figures(formats: &Path, csv: &Path, what: &str) {
    let (a, b) = (outcome_tables(formats), outcome_tables(csv));
    assert!(a.len() >= 2, "{what}: outcome tables {:?}", a.keys());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, table) in &a {
        assert!(table == &b[path], "{what}: {path} differs from plain CSV's");
    }
    let (ra, rb) = (report(formats), report(csv));
    for key in [
        "wage_resolution",
        "link_rates",
        "linkage_by_group",
        "concentrators_by_cohort",
        "suppressed_cells",
        "published_cells",
    ] {
        assert_eq!(ra[key], rb[key], "{what}: run report {key}");
    }
    assert_eq!(entity_counts(&ra), entity_counts(&rb), "{what}");
}

#[test]
fn standard_format_jobs_publish_what_plain_csv_publishes_and_the_truth() {
    let dir = scratch("real-formats");
    synthesize(&dir, STUDENTS);
    let (edfi_icesa, stdout) = run(&deterministic(&dir.join("job.toml")));
    let (csv, _) = run(&deterministic(&csv_twin(
        &dir,
        "job-twin.toml",
        &NSC_RECORDS,
    )));
    same_figures(&edfi_icesa, &csv, "Ed-Fi + NSC + ICESA");

    // The formats really were read, and the wage rule met resent, amended and late reports.
    let r = report(&edfi_icesa);
    let formats: Vec<_> = r["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["file"].as_str().unwrap().to_string())
        .collect();
    for f in ["k12/edfi", "nsc_detail.csv", "icesa/received_2025Q2.txt"] {
        assert!(formats.iter().any(|p| p.contains(f)), "{f} in {formats:?}");
    }
    for kind in [
        "resends_dropped",
        "superseded_by_amendment",
        "summed_into_others",
    ] {
        let n = r["wage_resolution"][kind].as_u64().unwrap();
        assert!(n > 0, "{kind}: {}", r["wage_resolution"]);
    }

    for family in FAMILIES {
        check_family(&dir, &edfi_icesa, &NSC_RETURN, family);
    }
    assert_no_input_identifier(&dir, &edfi_icesa, &stdout);
    assert_no_hidden_count_solvable(&edfi_icesa);
    assert_no_small_group_published(&edfi_icesa);

    // As shipped, with fuzzy linkage: the names and birth dates read from Ed-Fi and the NSC
    // return encode as their CSV twins' do, so the figures still agree.
    let (fuzzy, _) = run(&dir.join("job.toml"));
    let (fuzzy_csv, _) = run(&csv_twin(&dir, "job-twin-fuzzy.toml", &NSC_RECORDS));
    same_figures(&fuzzy, &fuzzy_csv, "Ed-Fi + NSC + ICESA, fuzzy linkage");

    let (efw2_pirl, _) = run(&deterministic(&dir.join("job-efw2-pirl.toml")));
    let mut swaps = NSC_RECORDS.to_vec();
    swaps.push((
        "workforce/program_participation.csv",
        "workforce/pirl_participation.csv",
    ));
    let (csv, _) = run(&deterministic(&csv_twin(
        &dir,
        "job-twin-pirl.toml",
        &swaps,
    )));
    same_figures(&efw2_pirl, &csv, "Ed-Fi + NSC + EFW2 + PIRL");
    // ICESA and EFW2 carry the same wage records: the employment figures agree across them.
    let employment = |release: &Path| {
        outcome_tables(release)
            .into_iter()
            .filter(|(p, _)| p.starts_with("employment_earnings"))
            .collect::<Vec<_>>()
    };
    assert_eq!(employment(&efw2_pirl), employment(&edfi_icesa));
}
