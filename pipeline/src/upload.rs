//! Publishing a release to an object store. The release is first staged and committed on local
//! disk exactly as for a local output (see [`crate::publish`]); then every file goes up under
//! `<output>/<agreement>/<release id>/` with the manifest last. A store has no rename, so the
//! manifest is what makes a release: a prefix without `manifest.json` is not a release, and
//! every object, the manifest included, is written with `PutMode::Create`, so no existing object
//! is ever replaced, not even by a second run racing this one.

use std::path::{Path, PathBuf};

use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt, PutMode, PutOptions, PutPayload};
use p20w_connectors::ObjectLocation;

use crate::RunError;
use crate::publish::MANIFEST;

/// The prefix a release takes under the job's output, and how errors name it.
pub fn release_prefix(output: &ObjectLocation, agreement_id: &str, release_id: &str) -> ObjectPath {
    output.child(&format!("{agreement_id}/{release_id}"))
}

/// Refuses when anything at all is stored under the release's prefix: a published release, or
/// the remains of an upload that failed (which its operator should look at, not overwrite).
pub async fn refuse_existing(output: &ObjectLocation, prefix: &ObjectPath) -> Result<(), RunError> {
    let shown = output.describe(prefix);
    // `list` matches whole path segments, so `r1` does not find `r10/`.
    match output.store().list(Some(prefix)).next().await {
        None => Ok(()),
        Some(Ok(_)) => Err(RunError::ReleaseExists(shown)),
        Some(Err(e)) => Err(store_error(&shown, e)),
    }
}

/// Uploads the committed local release in `local`, manifest last; returns the release's URL.
/// On failure the objects this upload created are deleted again (best effort): without a
/// manifest they are no release, but they would make the next attempt refuse.
pub async fn upload_release(
    local: &Path,
    output: &ObjectLocation,
    prefix: &ObjectPath,
) -> Result<String, RunError> {
    let store = output.store();
    refuse_existing(output, prefix).await?;
    let mut files: Vec<String> = walk(local)?
        .iter()
        .map(|p| relative(local, p))
        .filter(|rel| rel != MANIFEST)
        .collect();
    files.sort();
    files.push(MANIFEST.to_string());
    let mut created = Vec::new();
    for rel in &files {
        let key = rel.split('/').fold(prefix.clone(), |p, part| p.join(part));
        match put_new(
            store.as_ref(),
            &local.join(rel),
            &key,
            &output.describe(&key),
        )
        .await
        {
            Ok(()) => created.push(key),
            Err(e) => {
                for key in &created {
                    if let Err(d) = store.delete(key).await {
                        tracing::warn!(object = %output.describe(key), error = %d,
                            "could not remove an object of the failed upload");
                    }
                }
                return Err(e);
            }
        }
    }
    tracing::info!(release = %output.describe(prefix), files = files.len(), "release uploaded");
    Ok(output.describe(prefix))
}

/// Writes one file as a new object; an object already there is an existing release.
async fn put_new(
    store: &dyn ObjectStore,
    file: &Path,
    key: &ObjectPath,
    shown: &str,
) -> Result<(), RunError> {
    // Release files are tables of aggregates and reports: small enough for one request.
    let bytes = tokio::fs::read(file)
        .await
        .map_err(|e| RunError::io(file, e))?;
    let options = PutOptions {
        mode: PutMode::Create,
        ..PutOptions::default()
    };
    match store.put_opts(key, PutPayload::from(bytes), options).await {
        Ok(_) => Ok(()),
        Err(object_store::Error::AlreadyExists { .. }) => {
            Err(RunError::ReleaseExists(shown.to_string()))
        }
        Err(e) => Err(store_error(shown, e)),
    }
}

/// A store error naming the object; the store's text names requests, never credentials.
fn store_error(shown: &str, e: object_store::Error) -> RunError {
    RunError::Io {
        path: shown.to_string(),
        source: std::io::Error::other(e.to_string()),
    }
}

/// `path` under `root` as a `/`-separated relative path (a manifest's and a store key's form).
pub(crate) fn relative(root: &Path, path: &Path) -> String {
    path.strip_prefix(root)
        .expect("walked under root")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// Every file under `dir`, at any depth.
pub(crate) fn walk(dir: &Path) -> Result<Vec<PathBuf>, RunError> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| RunError::io(dir, e))? {
        let path = entry.map_err(|e| RunError::io(dir, e))?.path();
        if path.is_dir() {
            out.extend(walk(&path)?);
        } else {
            out.push(path);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    use object_store::memory::InMemory;

    fn release(dir: &Path) {
        std::fs::create_dir_all(dir.join("employment_earnings")).unwrap();
        std::fs::write(dir.join("employment_earnings/part-0.parquet"), b"PAR1").unwrap();
        std::fs::write(dir.join("run_report.json"), b"{}").unwrap();
        std::fs::write(dir.join(MANIFEST), b"{\"files\":[]}").unwrap();
    }

    async fn keys(store: &InMemory) -> Vec<String> {
        let mut keys: Vec<String> = store
            .list(None)
            .map(|m| m.unwrap().location.to_string())
            .collect()
            .await;
        keys.sort();
        keys
    }

    #[tokio::test]
    async fn a_release_goes_up_whole_and_is_never_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        release(dir.path());
        let store = Arc::new(InMemory::new());
        let out = ObjectLocation::with_store("s3://b/releases".parse().unwrap(), store.clone());
        let prefix = release_prefix(&out, "mou", "r1");
        let url = upload_release(dir.path(), &out, &prefix).await.unwrap();
        assert_eq!(url, "s3://b/releases/mou/r1");
        assert_eq!(
            keys(&store).await,
            [
                "releases/mou/r1/employment_earnings/part-0.parquet",
                "releases/mou/r1/manifest.json",
                "releases/mou/r1/run_report.json",
            ]
        );
        let again = upload_release(dir.path(), &out, &prefix).await.unwrap_err();
        assert!(matches!(again, RunError::ReleaseExists(ref u) if u == "s3://b/releases/mou/r1"));
        // A prefix that merely starts the same way is another release.
        let other = release_prefix(&out, "mou", "r");
        refuse_existing(&out, &other).await.unwrap();
    }

    #[tokio::test]
    async fn a_leftover_object_under_the_prefix_refuses_and_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        release(dir.path());
        let store = Arc::new(InMemory::new());
        let out = ObjectLocation::with_store("s3://b/x".parse().unwrap(), store.clone());
        let prefix = release_prefix(&out, "mou", "r1");
        let stray = ObjectPath::from("x/mou/r1/run_report.json");
        store
            .put(&stray, PutPayload::from_static(b"old"))
            .await
            .unwrap();
        let err = upload_release(dir.path(), &out, &prefix).await.unwrap_err();
        assert!(matches!(err, RunError::ReleaseExists(_)), "{err}");
        let kept = store.get(&stray).await.unwrap().bytes().await.unwrap();
        assert_eq!(&kept[..], b"old");
        assert!(
            store
                .head(&ObjectPath::from("x/mou/r1/manifest.json"))
                .await
                .is_err()
        );
    }
}
