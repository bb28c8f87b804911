//! The release signing key: an Ed25519 key pair. The custodian signs each release's manifest
//! with the private half; a recipient who holds only the public half can check that the
//! manifest (and through its checksums, every file) is the one the custodian published.
//!
//! Files: the private key is 64 hex characters (the 32-byte seed) in a file of mode 0600; the
//! public key is 64 hex characters in `<file>.pub`, meant to be handed to recipients.

use std::fmt;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::key::{KeyError, read_private_file, write_new_file};

/// The private half. Not `Clone`; its bytes are wiped when it is dropped (ed25519-dalek's
/// `zeroize` feature), and `Debug` shows only the public key's id.
pub struct ReleaseSigningKey(SigningKey);

/// The public half, which recipients use to check a release.
#[derive(Clone, PartialEq, Eq)]
pub struct ReleasePublicKey(VerifyingKey);

impl fmt::Debug for ReleaseSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ReleaseSigningKey(<redacted>, public key id {})",
            self.public_key().key_id()
        )
    }
}

impl fmt::Debug for ReleasePublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ReleasePublicKey({})", self.key_id())
    }
}

/// Where the public key of the signing key file `path` is written: `<path>.pub`.
pub fn public_key_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

impl ReleaseSigningKey {
    /// Makes a new key pair from the operating system's random source and writes the private
    /// key to `path` (mode 0600) and the public key to `<path>.pub`, each appearing whole or
    /// not at all and synced to disk. Refuses when either file exists.
    pub fn generate_files(path: &Path) -> Result<ReleaseSigningKey, KeyError> {
        let public_path = public_key_path(path);
        for p in [path, public_path.as_path()] {
            if p.exists() {
                return Err(KeyError::Write {
                    path: p.display().to_string(),
                    source: std::io::ErrorKind::AlreadyExists.into(),
                });
            }
        }
        let mut seed = Zeroizing::new([0u8; 32]);
        getrandom::fill(seed.as_mut_slice()).map_err(|e| KeyError::Random(e.to_string()))?;
        let key = ReleaseSigningKey(SigningKey::from_bytes(&seed));
        let text = Zeroizing::new(hex::encode(seed.as_slice()) + "\n");
        write_new_file(path, text.as_bytes(), 0o600)?;
        let public = key.public_key().to_hex() + "\n";
        write_new_file(&public_path, public.as_bytes(), 0o644)?;
        Ok(key)
    }

    /// Reads a private key file written by [`ReleaseSigningKey::generate_files`]; a file that
    /// group or others can read is refused.
    pub fn from_file(path: &Path) -> Result<ReleaseSigningKey, KeyError> {
        let text = read_private_file(path)?;
        let origin = path.display().to_string();
        let seed = Zeroizing::new(decode_32(&text, &origin)?);
        Ok(ReleaseSigningKey(SigningKey::from_bytes(&seed)))
    }

    pub fn public_key(&self) -> ReleasePublicKey {
        ReleasePublicKey(self.0.verifying_key())
    }

    /// The Ed25519 signature of `message`, as 128 hex characters.
    pub fn sign(&self, message: &[u8]) -> String {
        hex::encode(self.0.sign(message).to_bytes())
    }
}

impl ReleasePublicKey {
    /// Reads a public key file (64 hex characters).
    pub fn from_file(path: &Path) -> Result<ReleasePublicKey, KeyError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| KeyError::Read {
            path: shown.clone(),
            source,
        })?;
        ReleasePublicKey::from_hex(&text, &shown)
    }

    pub fn from_hex(text: &str, origin: &str) -> Result<ReleasePublicKey, KeyError> {
        let bytes = decode_32(text, origin)?;
        VerifyingKey::from_bytes(&bytes)
            .map(ReleasePublicKey)
            .map_err(|_| KeyError::NotAPublicKey {
                origin: origin.to_string(),
            })
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0.to_bytes())
    }

    /// A short public name for the key, written into manifests and signatures: the first 16
    /// hex characters of SHA-256("p20w/signing-key-id/v1" || public key).
    pub fn key_id(&self) -> String {
        let mut sha = Sha256::new();
        sha.update(b"p20w/signing-key-id/v1");
        sha.update(self.0.to_bytes());
        hex::encode(sha.finalize())[..16].to_string()
    }

    /// Whether `signature_hex` is this key's signature of `message`. Strict verification:
    /// a signature that only a lax verifier would accept is refused.
    pub fn verifies(&self, message: &[u8], signature_hex: &str) -> bool {
        let Ok(bytes) = hex::decode(signature_hex.trim()) else {
            return false;
        };
        let Ok(bytes) = <[u8; 64]>::try_from(bytes.as_slice()) else {
            return false;
        };
        self.0
            .verify_strict(message, &Signature::from_bytes(&bytes))
            .is_ok()
    }
}

/// 32 bytes from hex text (surrounding white space ignored).
fn decode_32(text: &str, origin: &str) -> Result<[u8; 32], KeyError> {
    let bytes = Zeroizing::new(hex::decode(text.trim()).map_err(|_| KeyError::NotHex {
        origin: origin.to_string(),
    })?);
    <[u8; 32]>::try_from(bytes.as_slice()).map_err(|_| KeyError::WrongLength {
        origin: origin.to_string(),
        bytes: bytes.len(),
        expected: 32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_key_pair_signs_and_its_public_key_verifies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("release.key");
        let key = ReleaseSigningKey::generate_files(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let public = ReleasePublicKey::from_file(&public_key_path(&path)).unwrap();
        assert_eq!(public, key.public_key());
        let reloaded = ReleaseSigningKey::from_file(&path).unwrap();
        let signature = reloaded.sign(b"manifest");
        assert!(public.verifies(b"manifest", &signature));
        assert!(!public.verifies(b"manifest!", &signature));
        assert!(!public.verifies(b"manifest", "00"));
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 2, "no temporary file is left: {names:?}");
    }

    #[test]
    fn another_key_s_signature_is_refused_and_nothing_is_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let ours = ReleaseSigningKey::generate_files(&dir.path().join("a.key")).unwrap();
        let theirs = ReleaseSigningKey::generate_files(&dir.path().join("b.key")).unwrap();
        let signature = theirs.sign(b"manifest");
        assert!(!ours.public_key().verifies(b"manifest", &signature));
        assert_ne!(ours.public_key().key_id(), theirs.public_key().key_id());
        let again = ReleaseSigningKey::generate_files(&dir.path().join("a.key"));
        assert!(matches!(again, Err(KeyError::Write { .. })));
        assert_eq!(
            ReleaseSigningKey::from_file(&dir.path().join("a.key"))
                .unwrap()
                .public_key(),
            ours.public_key()
        );
    }

    #[test]
    fn debug_never_shows_the_private_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        let key = ReleaseSigningKey::generate_files(&path).unwrap();
        let seed = std::fs::read_to_string(&path).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains(seed.trim()), "{shown}");
        assert!(shown.contains(&key.public_key().key_id()));
    }
}
