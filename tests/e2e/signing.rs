//! Signed releases as a recipient checks them: `p20w verify` with only the folder and the
//! custodian's public key, each kind of damage with its own exit status.

use std::path::{Path, PathBuf};

use crate::common::{p20w, run, scratch, status, synthesize};

/// `text` with top-level `line` added before the first source.
pub fn with_setting(text: &str, line: &str) -> String {
    text.replacen("[[sources]]", &format!("{line}\n\n[[sources]]"), 1)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

fn verify(release: &Path, public_key: &Path) -> (i32, String) {
    status(&[
        "verify",
        release.to_str().unwrap(),
        "--public-key",
        public_key.to_str().unwrap(),
    ])
}

#[test]
fn a_signed_release_verifies_and_every_change_to_it_is_caught() {
    let dir = scratch("signing");
    synthesize(&dir, "600");
    let key = dir.join("release-signing.key");
    p20w(&["sign-keygen", key.to_str().unwrap()]);
    let public = PathBuf::from(format!("{}.pub", key.display()));
    let other = dir.join("other.key");
    p20w(&["sign-keygen", other.to_str().unwrap()]);
    let job = dir.join("job-signed.toml");
    let text = std::fs::read_to_string(dir.join("job-csv.toml")).unwrap();
    std::fs::write(
        &job,
        with_setting(&text, "signing_key_file = \"release-signing.key\""),
    )
    .unwrap();
    let (release, _) = run(&job);
    assert!(release.join("manifest.sig.json").exists());
    // The dictionary says which clause permits each dataset, and under which rule.
    let dictionary = std::fs::read_to_string(release.join("dictionary.md")).unwrap();
    assert!(
        dictionary.contains("## Agreement")
            && dictionary.contains(
                "| employment_earnings | `parties[2].datasets` | minimum cell size 10 (the \
                 agreement's floor, `disclosure.min_cell_size`, is 10)"
            ),
        "{dictionary}"
    );

    let (code, out) = verify(&release, &public);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("signature: valid"), "{out}");
    assert!(out.contains("agreement: demo-mou-2026"), "{out}");
    assert!(out.contains("minimum cell size: 10"), "{out}");
    assert!(out.contains("protection: primary suppression"), "{out}");

    // Each case on its own copy of the release.
    let case = |name: &str| {
        let copy = dir.join("cases").join(name);
        copy_dir(&release, &copy);
        copy
    };
    let changed = case("changed");
    let parquet = changed.join("employment_earnings/part-0.parquet");
    let mut bytes = std::fs::read(&parquet).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&parquet, bytes).unwrap();
    let (code, out) = verify(&changed, &public);
    assert_eq!(code, 5, "{out}");
    assert!(
        out.contains("employment_earnings/part-0.parquet: changed"),
        "{out}"
    );

    let added = case("added");
    std::fs::write(added.join("readme.txt"), "added later").unwrap();
    let (code, out) = verify(&added, &public);
    assert_eq!(code, 5, "{out}");
    assert!(out.contains("readme.txt: not listed"), "{out}");

    let removed = case("removed");
    std::fs::remove_file(removed.join("quarantine.csv")).unwrap();
    let (code, out) = verify(&removed, &public);
    assert_eq!(code, 5, "{out}");
    assert!(
        out.contains("quarantine.csv: listed in the manifest, missing"),
        "{out}"
    );

    // Editing the manifest to match a changed file does not help: the signature breaks.
    let manifest = case("manifest");
    let text = std::fs::read_to_string(manifest.join("manifest.json")).unwrap();
    let edited = text.replacen("\"min_cell_size\": 10", "\"min_cell_size\": 5", 1);
    assert_ne!(text, edited);
    std::fs::write(manifest.join("manifest.json"), edited).unwrap();
    let (code, out) = verify(&manifest, &public);
    assert_eq!(code, 6, "{out}");
    assert!(out.contains("signature: INVALID"), "{out}");

    let (code, out) = verify(&release, &PathBuf::from(format!("{}.pub", other.display())));
    assert_eq!(code, 6, "{out}");
    assert!(out.contains("signed by key"), "{out}");

    let unsigned = case("unsigned");
    std::fs::remove_file(unsigned.join("manifest.sig.json")).unwrap();
    let (code, out) = verify(&unsigned, &public);
    assert_eq!(code, 7, "{out}");

    let (code, out) = verify(&dir.join("no-such-release"), &public);
    assert_eq!(code, 2, "{out}");
    assert!(
        out.contains("no-such-release is not a release folder"),
        "{out}"
    );
}

#[test]
fn sign_keygen_writes_a_private_key_and_its_public_key_and_never_overwrites() {
    let dir = scratch("sign-keygen");
    let key = dir.join("k");
    let (code, out) = status(&["sign-keygen", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{out}");
    let private = std::fs::read_to_string(&key).unwrap();
    assert!(
        !out.contains(private.trim()),
        "the private key is never printed"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("k.pub"))
            .unwrap()
            .trim()
            .len(),
        64
    );
    let (code, _) = status(&["sign-keygen", key.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(std::fs::read_to_string(&key).unwrap(), private);
}
