//! Objects in a cloud store (`s3://`, `gs://`, `az://`), read through `object_store` as a
//! blocking [`Read`] so the synchronous format readers work on them unchanged.
//!
//! Credentials come only from the environment (the `AWS_*`, `GOOGLE_*` and `AZURE_*` variables
//! each store's `from_env` reads, or the machine's instance credentials); the job may add
//! non-secret settings such as an endpoint or region. A URL never carries credentials, and
//! nothing here formats the store itself, whose configuration holds them.

use std::collections::BTreeMap;
use std::io::Read;
use std::sync::Arc;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::runtime::Handle;
use url::Url;

use super::LocationError;
use super::blocking::runtime_handle;

/// The clouds a URL may name, by scheme, with the prefix their settings' keys carry.
const CLOUDS: &[(&str, &str)] = &[("s3", "aws_"), ("gs", "google_"), ("az", "azure_")];

/// A bucket (container) and key prefix in an object store, with the store to reach it.
#[derive(Clone)]
pub struct ObjectLocation {
    url: Url,
    store: Arc<dyn ObjectStore>,
    path: ObjectPath,
}

// By hand: the store's own `Debug` would show its configuration.
impl std::fmt::Debug for ObjectLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ObjectLocation")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl PartialEq for ObjectLocation {
    fn eq(&self, other: &Self) -> bool {
        self.url == other.url
    }
}
impl Eq for ObjectLocation {}

impl ObjectLocation {
    /// Parses `url` and builds its store from the environment plus `settings` (the job's
    /// `[storage]` table: keys such as `aws_endpoint` or `aws_region`, each applied to the URLs
    /// of its own cloud). No request is made.
    pub fn parse(
        url: &str,
        settings: &BTreeMap<String, String>,
    ) -> Result<ObjectLocation, LocationError> {
        let invalid = |message: String| LocationError::Invalid {
            location: shown_url(url),
            message,
        };
        let parsed = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(invalid(
                "credentials do not belong in a URL; set them in the environment".into(),
            ));
        }
        if parsed.query().is_some() || parsed.fragment().is_some() {
            return Err(invalid("a store URL takes no query or fragment".into()));
        }
        let Some((scheme, prefix)) = CLOUDS.iter().find(|(s, _)| *s == parsed.scheme()) else {
            return Err(invalid(format!(
                "unsupported scheme {:?}; use s3://, gs:// or az://",
                parsed.scheme()
            )));
        };
        if parsed.host_str().is_none_or(str::is_empty) {
            return Err(invalid("the URL names no bucket".into()));
        }
        for key in settings.keys() {
            if !CLOUDS.iter().any(|(_, p)| key.starts_with(p)) {
                return Err(invalid(format!(
                    "storage setting {key:?} must start with aws_, google_ or azure_"
                )));
            }
        }
        let own = settings.iter().filter(|(k, _)| k.starts_with(prefix));
        let store = build_store(scheme, &parsed, own).map_err(invalid)?;
        let path = ObjectPath::from_url_path(parsed.path()).map_err(|e| invalid(e.to_string()))?;
        Ok(ObjectLocation {
            url: parsed,
            store,
            path,
        })
    }

    /// A location over a store built elsewhere (an in-memory store in tests).
    pub fn with_store(url: Url, store: Arc<dyn ObjectStore>) -> ObjectLocation {
        let path = ObjectPath::from_url_path(url.path()).unwrap_or_default();
        ObjectLocation { url, store, path }
    }

    pub fn url(&self) -> &Url {
        &self.url
    }

    pub fn store(&self) -> &Arc<dyn ObjectStore> {
        &self.store
    }

    /// The key (or key prefix) this location names inside its bucket.
    pub fn path(&self) -> &ObjectPath {
        &self.path
    }

    /// The key of `child` under this prefix.
    pub fn child(&self, child: &str) -> ObjectPath {
        child
            .split('/')
            .filter(|p| !p.is_empty())
            .fold(self.path.clone(), |p, part| p.join(part))
    }

    /// What errors and reports call the object at `path`: the URL, never a setting.
    pub fn describe(&self, path: &ObjectPath) -> String {
        format!(
            "{}://{}/{}",
            self.url.scheme(),
            self.url.host_str().unwrap_or_default(),
            path
        )
    }

    /// Opens the object at `path` for reading (a blocking call: not on an async worker).
    pub fn open(&self, path: &ObjectPath) -> std::io::Result<ObjectRead> {
        ObjectRead::open(self.store.clone(), path.clone(), runtime_handle())
    }

    /// Whether an object exists at `path` (a HEAD request).
    pub fn exists(&self, path: &ObjectPath) -> bool {
        runtime_handle().block_on(self.store.head(path)).is_ok()
    }
}

/// A URL as errors show it: scheme, bucket and key, never a user or password it may carry.
fn shown_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(mut u) => {
            let _ = u.set_username("");
            let _ = u.set_password(None);
            u.set_query(None);
            u.to_string()
        }
        Err(_) => "the URL".into(),
    }
}

/// One store per URL: its cloud's builder from the environment, the job's settings on top.
fn build_store<'a>(
    scheme: &str,
    url: &Url,
    settings: impl Iterator<Item = (&'a String, &'a String)>,
) -> Result<Arc<dyn ObjectStore>, String> {
    let unknown = |k: &str| format!("unknown storage setting {k:?}");
    let secret = |k: &str| {
        format!("storage setting {k:?} is a credential: set it in the environment, not the job")
    };
    // Only the secret-free error text: a builder error names the missing setting, not values.
    let built = |e: object_store::Error| format!("cannot configure the store: {e}");
    Ok(match scheme {
        "s3" => {
            let mut b = AmazonS3Builder::from_env().with_url(url.as_str());
            for (k, v) in settings {
                let key: AmazonS3ConfigKey = k.parse().map_err(|_| unknown(k))?;
                let is_secret = matches!(
                    key,
                    AmazonS3ConfigKey::AccessKeyId
                        | AmazonS3ConfigKey::SecretAccessKey
                        | AmazonS3ConfigKey::Token
                ) || key.as_ref() == "aws_sse_customer_key_base64";
                if is_secret {
                    return Err(secret(k));
                }
                b = b.with_config(key, v);
            }
            Arc::new(b.build().map_err(built)?)
        }
        "gs" => {
            let mut b = GoogleCloudStorageBuilder::from_env().with_url(url.as_str());
            for (k, v) in settings {
                let key: GoogleConfigKey = k.parse().map_err(|_| unknown(k))?;
                if matches!(key, GoogleConfigKey::ServiceAccountKey) {
                    return Err(secret(k));
                }
                b = b.with_config(key, v);
            }
            Arc::new(b.build().map_err(built)?)
        }
        _ => {
            let mut b = MicrosoftAzureBuilder::from_env().with_url(url.as_str());
            for (k, v) in settings {
                let key: AzureConfigKey = k.parse().map_err(|_| unknown(k))?;
                let is_secret = matches!(
                    key,
                    AzureConfigKey::AccessKey
                        | AzureConfigKey::ClientSecret
                        | AzureConfigKey::SasKey
                        | AzureConfigKey::Token
                        | AzureConfigKey::FabricSessionToken
                );
                if is_secret {
                    return Err(secret(k));
                }
                b = b.with_config(key, v);
            }
            Arc::new(b.build().map_err(built)?)
        }
    })
}

/// An object's bytes as a blocking [`Read`]: one GET whose body is pulled chunk by chunk as the
/// format asks for more, so memory stays at one network chunk whatever the object's size.
pub struct ObjectRead {
    handle: Handle,
    body: BoxStream<'static, object_store::Result<Bytes>>,
    chunk: Bytes,
}

impl ObjectRead {
    /// Starts the GET (a blocking call: `handle.block_on`, so never on an async worker).
    pub fn open(
        store: Arc<dyn ObjectStore>,
        path: ObjectPath,
        handle: Handle,
    ) -> std::io::Result<ObjectRead> {
        let result = handle.block_on(store.get(&path)).map_err(io_error)?;
        Ok(ObjectRead {
            handle,
            body: result.into_stream(),
            chunk: Bytes::new(),
        })
    }
}

impl Read for ObjectRead {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.handle.block_on(self.body.next()) {
                Some(Ok(next)) => self.chunk = next,
                Some(Err(e)) => return Err(io_error(e)),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len());
        buf[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

/// A store error as an I/O error of the input; the store's message names the object and the
/// request, never the credentials (they travel in signed headers, not the URL).
fn io_error(e: object_store::Error) -> std::io::Error {
    let kind = match e {
        object_store::Error::NotFound { .. } => std::io::ErrorKind::NotFound,
        _ => std::io::ErrorKind::Other,
    };
    std::io::Error::new(kind, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use object_store::PutPayload;
    use object_store::memory::InMemory;

    fn settings(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn s3_urls_parse_into_bucket_and_key_with_job_settings() {
        let s = settings(&[
            ("aws_endpoint", "http://127.0.0.1:9"),
            ("aws_region", "us-east-1"),
            ("aws_allow_http", "true"),
            ("google_bucket", "ignored-for-s3"),
        ]);
        let loc = ObjectLocation::parse("s3://state-data/2026/k12/students.csv", &s).unwrap();
        assert_eq!(loc.path().as_ref(), "2026/k12/students.csv");
        assert_eq!(loc.url().host_str(), Some("state-data"));
        assert_eq!(
            loc.describe(&loc.child("a/b.csv")),
            "s3://state-data/2026/k12/students.csv/a/b.csv"
        );
        let root = ObjectLocation::parse("s3://state-data", &s).unwrap();
        assert_eq!(root.child("x.csv").as_ref(), "x.csv");
    }

    #[test]
    fn gs_and_az_urls_are_accepted() {
        let none = BTreeMap::new();
        let gs = ObjectLocation::parse("gs://bucket/folder/", &none).unwrap();
        assert_eq!(gs.path().as_ref(), "folder");
        let az = ObjectLocation::parse(
            "az://container/x.csv",
            &settings(&[("azure_storage_account_name", "acct")]),
        )
        .unwrap();
        assert_eq!(az.path().as_ref(), "x.csv");
    }

    #[test]
    fn bad_urls_and_settings_are_refused_without_echoing_secrets() {
        let none = BTreeMap::new();
        let err = |url: &str, s: &BTreeMap<String, String>| {
            ObjectLocation::parse(url, s).unwrap_err().to_string()
        };
        let e = err("s3://AKIDEXAMPLE:hunter2@bucket/x.csv", &none);
        assert!(e.contains("credentials do not belong"), "{e}");
        assert!(!e.contains("hunter2") && !e.contains("AKIDEXAMPLE"), "{e}");
        let e = err("ftp://bucket/x.csv", &none);
        assert!(e.contains("unsupported scheme"), "{e}");
        let e = err("s3://b/x.csv?versionId=1", &none);
        assert!(e.contains("no query"), "{e}");
        let s = settings(&[("aws_secret_access_key", "hunter2")]);
        let e = err("s3://b/x.csv", &s);
        assert!(
            e.contains("is a credential") && !e.contains("hunter2"),
            "{e}"
        );
        let s = settings(&[("azure_storage_sas_key", "sig=hunter2")]);
        let e = err("az://c/x.csv", &s);
        assert!(
            e.contains("is a credential") && !e.contains("hunter2"),
            "{e}"
        );
        let e = err("s3://b/x.csv", &settings(&[("aws_endpiont", "x")]));
        assert!(
            e.contains("unknown storage setting \"aws_endpiont\""),
            "{e}"
        );
        let e = err("s3://b/x.csv", &settings(&[("endpoint", "x")]));
        assert!(e.contains("must start with aws_"), "{e}");
    }

    #[test]
    fn an_object_streams_through_read_in_chunks() {
        let store = Arc::new(InMemory::new());
        let path = ObjectPath::from("data/big.csv");
        // Several chunks, so reads cross chunk boundaries.
        let parts: Vec<Bytes> = (0..5u8)
            .map(|i| Bytes::from(vec![b'a' + i; 1000 + i as usize]))
            .collect();
        let whole: Vec<u8> = parts.iter().flat_map(|b| b.to_vec()).collect();
        let payload: PutPayload = parts.into_iter().collect();
        runtime_handle()
            .block_on(store.put(&path, payload))
            .unwrap();
        let loc = ObjectLocation::with_store(Url::parse("s3://b/data").unwrap(), store);
        let child = loc.child("big.csv");
        assert!(loc.exists(&child) && !loc.exists(&loc.child("nope.csv")));
        let mut read = loc.open(&child).unwrap();
        let mut got = Vec::new();
        let mut buf = [0u8; 333];
        loop {
            let n = read.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, whole);
        let missing = loc.open(&loc.child("nope.csv")).err().unwrap();
        assert_eq!(missing.kind(), std::io::ErrorKind::NotFound);
    }
}
