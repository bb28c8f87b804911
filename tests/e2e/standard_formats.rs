//! A job that reads postsecondary records from an NSC detail report and PESC transcripts and
//! workforce participation from a PIRL file runs, and every source's counts reconcile with its
//! input, skipped NSC rows included.

use crate::common::{run, scratch, synthesize};

#[test]
fn nsc_pesc_and_pirl_sources_run_and_reconcile() {
    let dir = scratch("standard-formats");
    synthesize(&dir, "1500");
    let job = std::fs::read_to_string(dir.join("job-csv.toml")).unwrap();
    let swaps = [
        (
            "path = \"postsecondary/enrollments.csv\"",
            "format = \"nsc\"\npath = \"postsecondary/nsc_detail.csv\"",
        ),
        (
            "path = \"postsecondary/awards.csv\"",
            "format = \"nsc\"\npath = \"postsecondary/nsc_detail.csv\"",
        ),
        (
            "path = \"workforce/program_participation.csv\"",
            "format = \"pirl\"\npath = \"workforce/pirl.csv\"",
        ),
    ];
    let mut job = job;
    for (from, to) in swaps {
        assert!(job.contains(from), "the synthesized job reads {from}");
        job = job.replace(from, to);
    }
    for entity in ["ps_enrollment", "ps_award"] {
        job.push_str(&format!(
            "\n[[sources]]\nname = \"pesc_{entity}\"\nentity = \"{entity}\"\nformat = \"pesc\"\n\
             path = \"postsecondary/transcripts.xml\"\n[sources.options]\n\
             institution_level = \"FourYear\"\nstate_student_id = \"AgencyAssignedID\"\n"
        ));
    }
    let job_path = dir.join("standard_formats.toml");
    std::fs::write(&job_path, job).unwrap();
    let (release, _) = run(&job_path);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(release.join("run_report.json")).unwrap())
            .unwrap();
    let nsc_rows = std::fs::read_to_string(dir.join("postsecondary/nsc_detail.csv"))
        .unwrap()
        .lines()
        .count() as u64
        - 1;
    let canonical_rows = |file: &str| {
        std::fs::read_to_string(dir.join(file))
            .unwrap()
            .lines()
            .count() as u64
            - 1
    };
    let mut seen = 0;
    for s in report["sources"].as_array().unwrap() {
        let n = |k: &str| s[k].as_u64().unwrap();
        assert_eq!(n("read"), n("accepted") + n("quarantined"), "{}", s["name"]);
        let skipped: u64 = s["skipped_records"].as_array().map_or(0, |a| {
            a.iter().map(|r| r["records"].as_u64().unwrap()).sum()
        });
        let expected = match s["name"].as_str().unwrap() {
            "ps_enrollments" => Some((nsc_rows, "postsecondary/nsc_enrollments.csv")),
            "ps_awards" => Some((nsc_rows, "postsecondary/nsc_awards.csv")),
            "workforce_programs" => None,
            "pesc_ps_enrollment" => None,
            "pesc_ps_award" => None,
            _ => continue,
        };
        seen += 1;
        assert_eq!(n("quarantined"), 0, "{}", s["name"]);
        if let Some((rows, canonical)) = expected {
            assert_eq!(
                n("read") + skipped,
                rows,
                "{}: every NSC row counted once",
                s["name"]
            );
            assert_eq!(n("accepted"), canonical_rows(canonical), "{}", s["name"]);
        }
    }
    assert_eq!(seen, 5);
    let accepted = |name: &str| {
        report["sources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap()["accepted"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(
        accepted("workforce_programs"),
        canonical_rows("workforce/pirl_participation.csv")
    );
    assert_eq!(
        accepted("pesc_ps_enrollment"),
        canonical_rows("postsecondary/pesc_enrollments.csv")
    );
    // NSC echoes the state id of every student it returns, so each NSC record links.
    let ps = report["link_rates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["entity"] == "ps_enrollment")
        .unwrap();
    assert!(
        ps["linked"].as_u64().unwrap() >= accepted("ps_enrollments"),
        "{ps}"
    );
}
