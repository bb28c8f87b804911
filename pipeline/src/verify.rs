//! `p20w verify`: what a recipient can check with nothing but the release folder and the
//! custodian's public key. The signature makes the manifest trustworthy; the manifest's
//! checksums then vouch for every file, and its list for the folder's contents (no file added,
//! none removed).

use std::path::{Component, Path};

use p20w_privacy::ReleasePublicKey;
use serde::Deserialize;

use crate::RunError;
use crate::publish::{MANIFEST, SIGNATURE, SIGNATURE_FORMAT, SignatureFile, sha256_file};

/// Exit status of `p20w verify` when a file differs from the manifest, is missing, or is not
/// listed in it (or the manifest itself is missing or unreadable).
pub const EXIT_FILES_DIFFER: u8 = 5;
/// The signature does not verify with the given public key: the manifest was changed, or
/// another key signed it.
pub const EXIT_BAD_SIGNATURE: u8 = 6;
/// The release carries no signature.
pub const EXIT_UNSIGNED: u8 = 7;

/// The parts of a manifest a recipient is told about; other fields are read but not needed.
#[derive(Debug, Deserialize)]
struct ManifestView {
    release_id: String,
    agreement_id: String,
    #[serde(default)]
    agreement_sha256: Option<String>,
    #[serde(default)]
    signing_key_id: Option<String>,
    min_cell_size: u64,
    #[serde(default)]
    protection: Vec<String>,
    files: Vec<ListedFile>,
}

#[derive(Debug, Deserialize)]
struct ListedFile {
    path: String,
    sha256: String,
}

/// What the signature says about the manifest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignatureCheck {
    /// Signed by the given key, and the manifest is exactly what it signed.
    Valid,
    /// No `manifest.sig.json`.
    Missing,
    /// A signature that does not verify with the given key; why, in words.
    Invalid(String),
}

/// The outcome of checking one release folder.
#[derive(Debug, Clone)]
pub struct Verification {
    pub public_key_id: String,
    pub signature: SignatureCheck,
    /// Files that differ from the manifest, are missing or are not listed; empty when intact.
    pub file_problems: Vec<String>,
    pub files_checked: usize,
    /// From the manifest (trustworthy only when the signature is valid).
    pub release_id: Option<String>,
    pub agreement_id: Option<String>,
    pub agreement_sha256: Option<String>,
    pub min_cell_size: Option<u64>,
    pub protection: Vec<String>,
}

impl Verification {
    /// The exit status a script reads: a bad signature first (nothing in the manifest can be
    /// trusted then), then a missing one, then files that do not match.
    pub fn exit_code(&self) -> u8 {
        match (&self.signature, self.file_problems.is_empty()) {
            (SignatureCheck::Invalid(_), _) => EXIT_BAD_SIGNATURE,
            (SignatureCheck::Missing, _) => EXIT_UNSIGNED,
            (SignatureCheck::Valid, false) => EXIT_FILES_DIFFER,
            (SignatureCheck::Valid, true) => 0,
        }
    }
}

/// Checks the release folder `dir` against `public_key`. An error means the check could not be
/// made at all (no such folder); everything wrong with the release itself is in the result.
pub fn verify_release(dir: &Path, public_key: &ReleasePublicKey) -> Result<Verification, RunError> {
    if !dir.is_dir() {
        return Err(RunError::NotARelease(dir.display().to_string()));
    }
    let mut v = Verification {
        public_key_id: public_key.key_id(),
        signature: SignatureCheck::Missing,
        file_problems: Vec::new(),
        files_checked: 0,
        release_id: None,
        agreement_id: None,
        agreement_sha256: None,
        min_cell_size: None,
        protection: Vec::new(),
    };
    let manifest_bytes = match std::fs::read(dir.join(MANIFEST)) {
        Ok(bytes) => bytes,
        Err(e) => {
            v.file_problems
                .push(format!("{MANIFEST}: cannot be read: {e}"));
            v.signature = SignatureCheck::Invalid(format!("there is no {MANIFEST} to check"));
            return Ok(v);
        }
    };
    v.signature = check_signature(dir, &manifest_bytes, public_key);
    let manifest: ManifestView = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            v.file_problems
                .push(format!("{MANIFEST}: not a p20w release manifest: {e}"));
            return Ok(v);
        }
    };
    if v.signature == SignatureCheck::Valid
        && manifest.signing_key_id.as_deref() != Some(v.public_key_id.as_str())
    {
        v.signature = SignatureCheck::Invalid(format!(
            "the manifest names signing key {}, not {}",
            manifest.signing_key_id.as_deref().unwrap_or("(none)"),
            v.public_key_id
        ));
    }
    let mut present = files_under(dir)?;
    present.retain(|p| p != MANIFEST && p != SIGNATURE);
    for listed in &manifest.files {
        if !is_plain_relative(&listed.path) {
            v.file_problems.push(format!(
                "{}: the manifest lists a path outside the release",
                listed.path
            ));
            continue;
        }
        v.files_checked += 1;
        match present.iter().position(|p| p == &listed.path) {
            None => v
                .file_problems
                .push(format!("{}: listed in the manifest, missing", listed.path)),
            Some(i) => {
                present.swap_remove(i);
                let (sha256, _) = sha256_file(&dir.join(&listed.path))?;
                if sha256 != listed.sha256 {
                    v.file_problems.push(format!(
                        "{}: changed (SHA-256 {sha256}, the manifest says {})",
                        listed.path, listed.sha256
                    ));
                }
            }
        }
    }
    present.sort();
    for extra in present {
        v.file_problems
            .push(format!("{extra}: not listed in the manifest (added)"));
    }
    v.release_id = Some(manifest.release_id);
    v.agreement_id = Some(manifest.agreement_id);
    v.agreement_sha256 = manifest.agreement_sha256;
    v.min_cell_size = Some(manifest.min_cell_size);
    v.protection = manifest.protection;
    Ok(v)
}

fn check_signature(dir: &Path, manifest: &[u8], key: &ReleasePublicKey) -> SignatureCheck {
    let text = match std::fs::read_to_string(dir.join(SIGNATURE)) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return SignatureCheck::Missing,
        Err(e) => return SignatureCheck::Invalid(format!("{SIGNATURE}: cannot be read: {e}")),
    };
    let file: SignatureFile = match serde_json::from_str(&text) {
        Ok(f) => f,
        Err(e) => return SignatureCheck::Invalid(format!("{SIGNATURE}: {e}")),
    };
    if file.format != SIGNATURE_FORMAT
        || file.algorithm != "ed25519"
        || file.signed_file != MANIFEST
    {
        return SignatureCheck::Invalid(format!(
            "{SIGNATURE}: expected format {SIGNATURE_FORMAT}, algorithm ed25519, signed_file \
             {MANIFEST}"
        ));
    }
    if key.verifies(manifest, &file.signature) {
        SignatureCheck::Valid
    } else if file.public_key_id != key.key_id() {
        SignatureCheck::Invalid(format!(
            "signed by key {}, not by key {}",
            file.public_key_id,
            key.key_id()
        ))
    } else {
        SignatureCheck::Invalid(format!(
            "the signature of key {} does not match {MANIFEST}: the manifest was changed after \
             it was signed",
            key.key_id()
        ))
    }
}

/// A path of plain names, so a manifest can never point the check outside the release.
fn is_plain_relative(path: &str) -> bool {
    !path.is_empty()
        && Path::new(path)
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
}

/// Every file under `dir`, as `/`-separated paths relative to it.
fn files_under(dir: &Path) -> Result<Vec<String>, RunError> {
    Ok(crate::upload::walk(dir)?
        .iter()
        .map(|p| crate::upload::relative(dir, p))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::publish::{StagedRelease, test_manifest};
    use p20w_privacy::ReleaseSigningKey;

    /// A signed release of two files, and the signing key's public half.
    fn signed_release(dir: &Path) -> (std::path::PathBuf, ReleasePublicKey) {
        std::fs::create_dir_all(dir).unwrap();
        let key = ReleaseSigningKey::generate_files(&dir.join("signing.key")).unwrap();
        let mut staged = StagedRelease::begin(&dir.join("out"), "a", "r1").unwrap();
        staged.write_text("run_report.json", "{}\n", 0).unwrap();
        staged.write_text("quarantine.csv", "source\n", 0).unwrap();
        let (released, _) = staged.commit(test_manifest(), Some(&key)).unwrap();
        (released, key.public_key())
    }

    #[test]
    fn an_intact_signed_release_passes_and_says_what_it_carries() {
        let dir = tempfile::tempdir().unwrap();
        let (release, public) = signed_release(dir.path());
        let v = verify_release(&release, &public).unwrap();
        assert_eq!(v.signature, SignatureCheck::Valid);
        assert!(v.file_problems.is_empty(), "{:?}", v.file_problems);
        assert_eq!(v.files_checked, 2);
        assert_eq!(v.exit_code(), 0);
        assert_eq!(v.agreement_id.as_deref(), Some("a"));
        assert_eq!(v.min_cell_size, Some(10));
    }

    #[test]
    fn a_changed_added_or_removed_file_fails() {
        let dir = tempfile::tempdir().unwrap();
        let (release, public) = signed_release(dir.path());
        std::fs::write(release.join("quarantine.csv"), "sourcf\n").unwrap();
        let v = verify_release(&release, &public).unwrap();
        assert_eq!(v.exit_code(), EXIT_FILES_DIFFER);
        assert!(v.file_problems[0].starts_with("quarantine.csv: changed"));

        let (release, public) = signed_release(&dir.path().join("2"));
        std::fs::create_dir(release.join("extra")).unwrap();
        std::fs::write(release.join("extra/notes.txt"), "x").unwrap();
        let v = verify_release(&release, &public).unwrap();
        assert_eq!(v.exit_code(), EXIT_FILES_DIFFER);
        assert_eq!(
            v.file_problems,
            ["extra/notes.txt: not listed in the manifest (added)"]
        );

        let (release, public) = signed_release(&dir.path().join("3"));
        std::fs::remove_file(release.join("run_report.json")).unwrap();
        let v = verify_release(&release, &public).unwrap();
        assert_eq!(v.exit_code(), EXIT_FILES_DIFFER);
        assert!(v.file_problems[0].contains("missing"));
    }

    #[test]
    fn a_changed_manifest_another_key_or_no_signature_fails() {
        let dir = tempfile::tempdir().unwrap();
        let (release, public) = signed_release(dir.path());
        let text = std::fs::read_to_string(release.join(MANIFEST)).unwrap();
        let edited = text.replace("\"min_cell_size\": 10", "\"min_cell_size\": 11");
        assert_ne!(text, edited);
        std::fs::write(release.join(MANIFEST), edited).unwrap();
        let v = verify_release(&release, &public).unwrap();
        assert_eq!(v.exit_code(), EXIT_BAD_SIGNATURE);
        assert!(
            matches!(&v.signature, SignatureCheck::Invalid(why) if why.contains("changed")),
            "{:?}",
            v.signature
        );

        let (release, _) = signed_release(&dir.path().join("2"));
        let other = ReleaseSigningKey::generate_files(&dir.path().join("other.key")).unwrap();
        let v = verify_release(&release, &other.public_key()).unwrap();
        assert_eq!(v.exit_code(), EXIT_BAD_SIGNATURE);
        assert!(
            matches!(&v.signature, SignatureCheck::Invalid(why) if why.contains("signed by key")),
            "{:?}",
            v.signature
        );

        std::fs::remove_file(release.join(SIGNATURE)).unwrap();
        let v = verify_release(&release, &other.public_key()).unwrap();
        assert_eq!(v.exit_code(), EXIT_UNSIGNED);
    }
}
