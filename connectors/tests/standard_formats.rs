//! The synthetic state's NSC, PESC and PIRL files read, through their formats, into exactly
//! the batches its plain canonical CSVs of the same records read into (batch for batch: both
//! cut a batch every `batch_rows` accepted records).

use arrow_array::RecordBatch;
use p20w_connectors::{Location, SourceSpec, open};
use p20w_schemas::Entity;
use p20w_synth::{SynthConfig, generate_state};

fn read_source(
    dir: &std::path::Path,
    file: &str,
    entity: Entity,
    format: &str,
    options: &str,
) -> (Vec<RecordBatch>, u64, u64) {
    let mut spec = SourceSpec::new("s", entity, format, Location::Local(dir.join(file)));
    spec.options = toml::from_str(options).unwrap();
    spec.batch_rows = 500;
    let mut reader = open(&spec).unwrap();
    let mut batches = Vec::new();
    for b in reader.by_ref() {
        let b = b.unwrap();
        assert!(
            b.quarantined.is_empty(),
            "{file}: {:?}",
            b.quarantined.first()
        );
        batches.push(b.records);
    }
    let summary = reader.summary();
    let skipped = summary.skipped.iter().map(|s| s.records).sum();
    (batches, summary.counts.read, skipped)
}

#[test]
fn each_format_reads_like_its_canonical_csv() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = SynthConfig {
        students: 1_500,
        ..SynthConfig::default()
    };
    let summary = generate_state(&cfg, dir.path()).unwrap();
    let d = dir.path();
    let cases = [
        (
            "postsecondary/nsc_detail.csv",
            "nsc",
            "",
            Entity::PsEnrollment,
            "postsecondary/nsc_enrollments.csv",
        ),
        (
            "postsecondary/nsc_detail.csv",
            "nsc",
            "",
            Entity::PsAward,
            "postsecondary/nsc_awards.csv",
        ),
        (
            "postsecondary/transcripts.xml",
            "pesc",
            "institution_level = \"FourYear\"\nstate_student_id = \"AgencyAssignedID\"",
            Entity::PsEnrollment,
            "postsecondary/pesc_enrollments.csv",
        ),
        (
            "postsecondary/transcripts.xml",
            "pesc",
            "institution_level = \"FourYear\"\nstate_student_id = \"AgencyAssignedID\"",
            Entity::PsAward,
            "postsecondary/pesc_awards.csv",
        ),
        (
            "workforce/pirl.csv",
            "pirl",
            "",
            Entity::WorkforceParticipation,
            "workforce/pirl_participation.csv",
        ),
    ];
    for (file, format, options, entity, canonical) in cases {
        let (got, read, skipped) = read_source(d, file, entity, format, options);
        let (want, want_read, _) = read_source(d, canonical, entity, "csv", "");
        let rows: usize = want.iter().map(RecordBatch::num_rows).sum();
        assert!(rows > 10, "{canonical} is too small to tell");
        assert_eq!(want_read, summary.rows(canonical));
        assert_eq!(read, want_read, "{file} as {}", entity.name());
        assert_eq!(
            got,
            want,
            "{file} as {} differs from {canonical}",
            entity.name()
        );
        if format == "nsc" {
            // Every data row of the detail file is counted once by each source.
            assert_eq!(
                read + skipped,
                summary.rows(file),
                "{file} as {}",
                entity.name()
            );
        }
    }
}
