//! The master key: loaded from a file or an environment variable, never printed.

use std::fmt;
use std::io::Write;
use std::path::Path;

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

/// Keys shorter than this are refused: HMAC-SHA256's security rests on 256 bits of key.
pub const MIN_KEY_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read key file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write key file {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("environment variable {0} is not set")]
    EnvMissing(String),
    #[error("{origin}: the key must be hexadecimal (two characters per byte)")]
    NotHex { origin: String },
    #[error(
        "{origin}: the key has {bytes} bytes; at least {MIN_KEY_BYTES} random bytes are required"
    )]
    TooShort { origin: String, bytes: usize },
    #[error("{origin}: the key has {bytes} bytes; a key of {expected} bytes is required")]
    WrongLength {
        origin: String,
        bytes: usize,
        expected: usize,
    },
    #[error("{origin}: not an Ed25519 public key")]
    NotAPublicKey { origin: String },
    #[error("key file {0} is readable by group or others; run `chmod 600` on it")]
    Permissions(String),
    #[error("the operating system's random source failed: {0}")]
    Random(String),
}

/// The custodian's secret. `Debug` and `Display` never show it; its bytes are overwritten with
/// zeros when it is dropped.
#[derive(Clone)]
pub struct MasterKey(Vec<u8>);

// By hand: zeroize's derive macros are a feature of a crate the object-store stack shares,
// and turning it on would rebuild that whole stack.
impl Drop for MasterKey {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MasterKey(<redacted>, id {})", self.key_id())
    }
}

impl MasterKey {
    /// A key from raw bytes; refuses short keys.
    pub fn from_bytes(bytes: Vec<u8>, origin: &str) -> Result<MasterKey, KeyError> {
        if bytes.len() < MIN_KEY_BYTES {
            return Err(KeyError::TooShort {
                origin: origin.to_string(),
                bytes: bytes.len(),
            });
        }
        Ok(MasterKey(bytes))
    }

    /// Parses the hex text of a key file or variable (surrounding white space ignored).
    pub fn from_hex(text: &str, origin: &str) -> Result<MasterKey, KeyError> {
        let bytes = hex::decode(text.trim()).map_err(|_| KeyError::NotHex {
            origin: origin.to_string(),
        })?;
        MasterKey::from_bytes(bytes, origin)
    }

    /// Reads a key file written by [`MasterKey::generate_file`]. On Unix a file that group or
    /// others can read is refused, as ssh does.
    pub fn from_file(path: &Path) -> Result<MasterKey, KeyError> {
        let text = read_private_file(path)?;
        MasterKey::from_hex(&text, &path.display().to_string())
    }

    /// Reads the key from an environment variable holding hex.
    pub fn from_env(var: &str) -> Result<MasterKey, KeyError> {
        let text =
            Zeroizing::new(std::env::var(var).map_err(|_| KeyError::EnvMissing(var.to_string()))?);
        MasterKey::from_hex(&text, &format!("${var}"))
    }

    /// Writes 32 fresh random bytes as hex to a new file with mode 0600. Never overwrites.
    pub fn generate_file(path: &Path) -> Result<MasterKey, KeyError> {
        let mut bytes = vec![0u8; MIN_KEY_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| KeyError::Random(e.to_string()))?;
        let mut text = hex::encode(&bytes) + "\n";
        let written = write_new_file(path, text.as_bytes(), 0o600);
        text.zeroize();
        written?;
        Ok(MasterKey(bytes))
    }

    /// A public fingerprint for manifests: the first 16 hex characters of
    /// HMAC-SHA256(key, "p20w/key-id/v1"). It names the key without revealing it.
    pub fn key_id(&self) -> String {
        let mut mac =
            <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(b"p20w/key-id/v1");
        hex::encode(mac.finalize().into_bytes())[..16].to_string()
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

/// Reads a secret file, refusing on Unix one that group or others can read, as ssh does. The
/// text is wiped when the caller drops it.
pub(crate) fn read_private_file(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    let shown = path.display().to_string();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(path).map_err(|source| KeyError::Read {
            path: shown.clone(),
            source,
        })?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(KeyError::Permissions(shown));
        }
    }
    std::fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(|source| KeyError::Read {
            path: shown,
            source,
        })
}

/// Writes a new file so that it appears whole or not at all, and never replaces one: the bytes
/// go to a temporary file beside it (created with `mode`, synced), which is then hard-linked
/// under the final name (refused if that name exists) and the folder synced. A crash leaves at
/// most the temporary file, never a truncated key under the key's name.
pub(crate) fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> Result<(), KeyError> {
    let failed = |source: std::io::Error| KeyError::Write {
        path: path.display().to_string(),
        source,
    };
    if path.exists() {
        return Err(failed(std::io::ErrorKind::AlreadyExists.into()));
    }
    let name = path
        .file_name()
        .ok_or_else(|| failed(std::io::ErrorKind::InvalidInput.into()))?;
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| KeyError::Random(e.to_string()))?;
    let temp = path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        hex::encode(suffix)
    ));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, mode);
    #[cfg(not(unix))]
    let _ = mode;
    let result = options
        .open(&temp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::hard_link(&temp, path));
    let _ = std::fs::remove_file(&temp);
    result.map_err(failed)?;
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    #[cfg(unix)]
    std::fs::File::open(folder)
        .and_then(|d| d.sync_all())
        .map_err(failed)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_keys_are_refused() {
        let err = MasterKey::from_hex(&"ab".repeat(31), "test").unwrap_err();
        assert!(matches!(err, KeyError::TooShort { bytes: 31, .. }));
        assert!(matches!(
            MasterKey::from_hex("zz", "t"),
            Err(KeyError::NotHex { .. })
        ));
    }

    #[test]
    fn debug_never_shows_the_key() {
        let key = MasterKey::from_hex(&"5a".repeat(32), "test").unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.contains("5a5a"), "{shown}");
        assert!(shown.contains("redacted"));
    }

    #[test]
    fn generated_file_is_private_and_reloads() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p20w.key");
        let key = MasterKey::generate_file(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let again = MasterKey::from_file(&path).unwrap();
        assert_eq!(key.key_id(), again.key_id());
        assert!(
            MasterKey::generate_file(&path).is_err(),
            "must not overwrite a key"
        );
    }

    #[cfg(unix)]
    #[test]
    fn world_readable_key_file_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("open.key");
        std::fs::write(&path, "5a".repeat(32)).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(matches!(
            MasterKey::from_file(&path),
            Err(KeyError::Permissions(_))
        ));
    }
}
