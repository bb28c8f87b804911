//! Folders that must not outlive their run: the private work folder with person-level data, and
//! a release's staging folder.
//!
//! Each folder gets an unpredictable name and is created empty (never reused), so no run can
//! read rows another run left behind. Beside it, `<name>.lock` is held under an exclusive lock
//! for as long as the run lives; the kernel releases that lock however the process ends
//! (SIGKILL and the out-of-memory killer included), so the next run tells a dead run's folder
//! from a live one's and removes it. Process ids cannot do this: in a container every run is
//! pid 1. The lock file sits beside the folder rather than inside it because a staging folder
//! becomes the release, which must hold nothing else.
//!
//! Creating and sweeping both hold `<parent>/.p20w.lock`, so a sweep never sees a folder whose
//! lock is not yet taken. Every folder this process creates is also listed, so a run stopped
//! by a signal can remove them once its tasks have stopped (see [`crate::stop`]).

use std::ffi::OsString;
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::RunError;

/// The stem of every work folder's name: `p20w-run-<32 hex digits>`.
pub const RUN_STEM: &str = "p20w-run-";
/// The family of staging folders in an agreement folder: `.staging-<release id>-<32 hex>`.
pub const STAGING_FAMILY: &str = ".staging-";
const MUTEX: &str = ".p20w.lock";
const RANDOM_HEX: usize = 32;

/// Who may enter the folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Mode 0700 (on unix): person-level data.
    OwnerOnly,
    /// The process's umask: a release to be handed out.
    Default,
}

/// Where work folders go when the job names no `work_dir`: `$TMPDIR/p20w-work` when TMPDIR is
/// set, otherwise `/var/tmp/p20w-work` on unix (disk-backed by convention, while `/tmp` is often
/// RAM-backed and a large state's spills run to gigabytes), otherwise the system's temporary
/// folder. Never inside the output tree an office ships.
pub fn default_root() -> PathBuf {
    default_root_from(std::env::var_os("TMPDIR"))
}

fn default_root_from(tmpdir: Option<OsString>) -> PathBuf {
    let base = match tmpdir {
        Some(t) if !t.is_empty() => PathBuf::from(t),
        _ if cfg!(unix) && Path::new("/var/tmp").is_dir() => PathBuf::from("/var/tmp"),
        _ => std::env::temp_dir(),
    };
    base.join("p20w-work")
}

/// A folder held by this run; dropping it removes the folder and its lock file.
#[derive(Debug)]
pub struct LockedDir {
    path: PathBuf,
    lock_path: PathBuf,
    // Held open for the folder's whole life: closing it releases the lock.
    _lock: File,
}

impl LockedDir {
    /// Creates `<parent>/<stem><32 random hex digits>`, after removing the folders of `family`
    /// (a prefix of `stem`'s family, e.g. every staging folder) whose run is dead.
    pub fn create(
        parent: &Path,
        stem: &str,
        family: &str,
        access: Access,
    ) -> Result<LockedDir, RunError> {
        create_parent(parent, access)?;
        let _mutex = lock_parent(parent)?;
        sweep_locked(parent, family)?;

        let name = format!("{stem}{}", random_hex()?);
        let path = parent.join(&name);
        let lock_path = parent.join(format!("{name}.lock"));
        // The lock is taken before the folder exists, so no sweep ever finds the folder unlocked.
        let lock = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock_path)
            .map_err(|e| RunError::io(&lock_path, e))?;
        lock.lock().map_err(|e| RunError::io(&lock_path, e))?;
        remember(&lock_path);
        remember(&path);
        let mut builder = std::fs::DirBuilder::new();
        set_mode(&mut builder, access);
        // `create`, not `create_all`: a folder of this name that already exists is an error,
        // and is not ours to remove.
        if let Err(e) = builder.create(&path) {
            let _ = std::fs::remove_file(&lock_path);
            return Err(RunError::io(&path, e));
        }
        let dir = LockedDir {
            path,
            lock_path,
            _lock: lock,
        };
        if access == Access::OwnerOnly {
            check_parent_is_safe(parent, &dir.path)?;
        }
        Ok(dir)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for LockedDir {
    fn drop(&mut self) {
        // A committed staging folder has been renamed away; nothing is left under its name.
        let _ = std::fs::remove_dir_all(&self.path);
        let _ = std::fs::remove_file(&self.lock_path);
    }
}

/// Removes every folder of `family` in `parent` whose run is dead; a live run's folder stays.
pub fn sweep(parent: &Path, family: &str) -> Result<(), RunError> {
    if !parent.is_dir() {
        return Ok(());
    }
    let _mutex = lock_parent(parent)?;
    sweep_locked(parent, family)
}

fn sweep_locked(parent: &Path, family: &str) -> Result<(), RunError> {
    let entries = std::fs::read_dir(parent).map_err(|e| RunError::io(parent, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| RunError::io(parent, e))?;
        let name = entry.file_name().to_string_lossy().to_string();
        // Only names this module makes: a `work_dir` may hold other things.
        let folder = name.strip_suffix(".lock").unwrap_or(&name);
        if !is_ours(folder, family) {
            continue;
        }
        let path = parent.join(folder);
        let lock_path = parent.join(format!("{folder}.lock"));
        if name.ends_with(".lock") && path.exists() {
            continue; // handled with its folder
        }
        if !run_is_dead(&lock_path)? {
            continue;
        }
        remove(&path)?;
        match std::fs::remove_file(&lock_path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(RunError::io(&lock_path, e));
            }
            _ => {}
        }
    }
    Ok(())
}

fn is_ours(name: &str, family: &str) -> bool {
    name.len() >= family.len() + RANDOM_HEX
        && name.starts_with(family)
        && name[name.len() - RANDOM_HEX..]
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// A run is dead when its lock file can be locked, or is missing (creation takes the lock
/// before making the folder, under the parent's mutex). Where the file system cannot lock, the
/// folder is kept: only what is proven dead is removed.
fn run_is_dead(lock_path: &Path) -> Result<bool, RunError> {
    let file = match File::open(lock_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(true),
        Err(e) => return Err(RunError::io(lock_path, e)),
    };
    match file.try_lock() {
        Ok(()) => Ok(true),
        Err(TryLockError::WouldBlock) => Ok(false),
        Err(TryLockError::Error(_)) => Ok(false),
    }
}

fn remove(path: &Path) -> Result<(), RunError> {
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(RunError::io(path, e)),
        _ => Ok(()),
    }
}

fn create_parent(parent: &Path, access: Access) -> Result<(), RunError> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    set_mode(&mut builder, access);
    builder.create(parent).map_err(|e| RunError::io(parent, e))
}

fn set_mode(builder: &mut std::fs::DirBuilder, access: Access) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        if access == Access::OwnerOnly {
            builder.mode(0o700);
        }
    }
    let _ = (builder, access);
}

/// Holds the parent's mutex until dropped.
fn lock_parent(parent: &Path) -> Result<File, RunError> {
    let path = parent.join(MUTEX);
    let file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| RunError::io(&path, e))?;
    file.lock().map_err(|e| RunError::io(&path, e))?;
    Ok(file)
}

/// Someone else who owns a folder, or may write to it, can rename what is in it, and so swap a
/// run's private folder for one they can read. A sticky folder (like /tmp) stops the writers
/// but not its owner, so it is safe only when root or this user owns it. The new folder's
/// owner is this process's user.
fn check_parent_is_safe(parent: &Path, created: &Path) -> Result<(), RunError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let p = std::fs::metadata(parent).map_err(|e| RunError::io(parent, e))?;
        let me = std::fs::metadata(created).map_err(|e| RunError::io(created, e))?;
        let sticky = p.mode() & 0o1000 != 0;
        let others_write = p.mode() & 0o022 != 0;
        let owner_trusted = p.uid() == me.uid() || p.uid() == 0;
        let private = p.uid() == me.uid() && !others_write;
        if !private && !(sticky && owner_trusted) {
            return Err(RunError::Internal(format!(
                "work folder {} can be changed by other users; set work_dir in the job (or \
                 TMPDIR) to a folder only you can write",
                parent.display()
            )));
        }
    }
    let _ = (parent, created);
    Ok(())
}

fn random_hex() -> Result<String, RunError> {
    let mut bytes = [0u8; RANDOM_HEX / 2];
    getrandom::fill(&mut bytes)
        .map_err(|e| RunError::Internal(format!("no randomness for a folder name: {e}")))?;
    Ok(hex::encode(bytes))
}

/// Every folder and lock file this process created, for [`remove_created`].
static CREATED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn remember(path: &Path) {
    CREATED
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(path.to_path_buf());
}

/// Removes every folder and lock file this process created that still exists. For a run
/// stopped by a signal: called after its tasks have stopped, since a task still writing could
/// re-create a folder its guard had already removed.
pub fn remove_created() {
    let paths = CREATED.lock().unwrap_or_else(|e| e.into_inner()).clone();
    for path in paths {
        if path.is_dir() {
            let _ = std::fs::remove_dir_all(&path);
        } else {
            let _ = std::fs::remove_file(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n != MUTEX)
            .collect();
        v.sort();
        v
    }

    /// A folder left by a dead run: its lock file exists but nobody holds it.
    fn dead_folder(parent: &Path, name: &str) -> PathBuf {
        let path = parent.join(name);
        std::fs::create_dir_all(path.join("ingest")).unwrap();
        std::fs::write(path.join("ingest/part-0.parquet"), b"rows").unwrap();
        std::fs::write(parent.join(format!("{name}.lock")), b"").unwrap();
        path
    }

    #[test]
    fn a_locked_folder_is_kept_and_an_unlocked_one_removed() {
        let root = tempfile::tempdir().unwrap();
        let dead = dead_folder(root.path(), &format!("{RUN_STEM}{}", "0".repeat(32)));
        let live = LockedDir::create(root.path(), RUN_STEM, RUN_STEM, Access::OwnerOnly).unwrap();
        std::fs::write(live.path().join("rows"), b"x").unwrap();
        assert!(!dead.exists(), "creating a folder sweeps the dead one");
        // A second run (here: the same process opening the lock file anew) sees a live lock.
        sweep(root.path(), RUN_STEM).unwrap();
        assert!(
            live.path().join("rows").exists(),
            "a live run's folder stays"
        );
        let live_path = live.path().to_path_buf();
        drop(live);
        assert!(!live_path.exists());
        assert!(names(root.path()).is_empty(), "{:?}", names(root.path()));
    }

    #[test]
    fn a_folder_whose_lock_file_is_gone_is_dead_and_other_names_are_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let orphan = root.path().join(format!("{RUN_STEM}{}", "a".repeat(32)));
        std::fs::create_dir_all(&orphan).unwrap();
        // Someone else's folders in a shared work_dir: not made by this module.
        for other in ["p20w-run-results-2024", "run-1", "notes.lock"] {
            std::fs::create_dir_all(root.path().join(other)).unwrap();
        }
        sweep(root.path(), RUN_STEM).unwrap();
        assert!(!orphan.exists());
        assert_eq!(
            names(root.path()),
            ["notes.lock", "p20w-run-results-2024", "run-1"]
        );
    }

    #[test]
    fn each_folder_is_new_and_private() {
        let root = tempfile::tempdir().unwrap();
        let a = LockedDir::create(root.path(), RUN_STEM, RUN_STEM, Access::OwnerOnly).unwrap();
        let b = LockedDir::create(root.path(), RUN_STEM, RUN_STEM, Access::OwnerOnly).unwrap();
        assert_ne!(a.path(), b.path());
        assert_eq!(std::fs::read_dir(a.path()).unwrap().count(), 0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(a.path()).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o700);
        }
    }

    #[cfg(unix)]
    #[test]
    fn a_parent_others_can_write_is_refused() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().unwrap();
        let shared = root.path().join("shared");
        std::fs::create_dir(&shared).unwrap();
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = LockedDir::create(&shared, RUN_STEM, RUN_STEM, Access::OwnerOnly).unwrap_err();
        assert!(err.to_string().contains("other users"), "{err}");
        assert!(names(&shared).is_empty(), "{:?}", names(&shared));
        std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
        LockedDir::create(&shared, RUN_STEM, RUN_STEM, Access::OwnerOnly).unwrap();
    }

    #[test]
    fn the_default_work_root_is_outside_the_output_and_follows_tmpdir() {
        assert_eq!(
            default_root_from(Some("/scratch".into())),
            Path::new("/scratch/p20w-work")
        );
        let fallback = default_root_from(None);
        assert!(fallback.ends_with("p20w-work"));
        #[cfg(unix)]
        if Path::new("/var/tmp").is_dir() {
            assert_eq!(fallback, Path::new("/var/tmp/p20w-work"));
        }
    }
}
