//! Atomic file writes: temporary file in the same directory, fsync, rename,
//! fsync the directory. A crash leaves the old file or the new one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use crate::error::{IoContext, Result};

/// Mode of files holding (encrypted) secrets.
pub const SECRET_MODE: u32 = 0o600;
/// Mode of public files.
pub const PUBLIC_MODE: u32 = 0o644;
/// Mode of every vault directory.
pub const DIR_MODE: u32 = 0o700;

/// Write `bytes` to `path` atomically with the given mode.
pub fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let Staged { tmp, path: target } = stage(path, bytes, mode)?;
    tmp.as_file().sync_all().with_path(&target)?;
    failpoint();
    tmp.persist(&target)
        .map_err(|e| e.error)
        .with_path(&target)?;
    sync_dir(parent(&target))
}

/// Write a file the user asked for (`-o FILE`): atomically, and an
/// existing file only when `overwrite`.
pub fn write_new(path: &Path, bytes: &[u8], overwrite: bool, mode: u32) -> Result<()> {
    refuse_existing(path, overwrite)?;
    write(path, bytes, mode)
}

/// The error for an output file that exists, unless `overwrite`.
pub fn refuse_existing(path: &Path, overwrite: bool) -> Result<()> {
    if path.exists() && !overwrite {
        return Err(crate::Error::input(
            format!("{} exists", path.display()),
            "pass --overwrite to replace it",
        ));
    }
    Ok(())
}

/// Crash injection for the tests, compiled into debug builds only: with
/// `KEYCYCLE_CRASH_AT=N` the process kills itself (SIGKILL: no destructors,
/// no cleanup) at the Nth vault write step — each point where a file or
/// directory is about to become visible. Release builds never read it.
pub fn failpoint() {
    #[cfg(debug_assertions)]
    {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static STEPS: AtomicUsize = AtomicUsize::new(0);
        let step = STEPS.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(at) = std::env::var_os("KEYCYCLE_CRASH_AT") {
            if at.to_str().and_then(|s| s.parse().ok()) == Some(step) {
                // `KEYCYCLE_CRASH_MODE=stop` stops instead, so a test can
                // look at the live process (e.g. its core-dump limit).
                let signal = match std::env::var("KEYCYCLE_CRASH_MODE").as_deref() {
                    Ok("stop") => libc::SIGSTOP,
                    _ => libc::SIGKILL,
                };
                // SAFETY: kill(2) on our own pid; no memory is touched.
                unsafe {
                    libc::kill(libc::getpid(), signal);
                }
            }
        }
    }
}

/// Swap two directories atomically (Linux `renameat2(RENAME_EXCHANGE)`).
/// `Ok(false)` when the filesystem cannot do it.
pub fn exchange(a: &Path, b: &Path) -> Result<bool> {
    #[cfg(target_os = "linux")]
    {
        use std::ffi::CString;
        use std::os::unix::ffi::OsStrExt;
        let ca = CString::new(a.as_os_str().as_bytes())
            .map_err(std::io::Error::other)
            .with_path(a)?;
        let cb = CString::new(b.as_os_str().as_bytes())
            .map_err(std::io::Error::other)
            .with_path(b)?;
        // SAFETY: two valid NUL-terminated paths relative to the cwd.
        let rc = unsafe {
            libc::renameat2(
                libc::AT_FDCWD,
                ca.as_ptr(),
                libc::AT_FDCWD,
                cb.as_ptr(),
                libc::RENAME_EXCHANGE,
            )
        };
        if rc == 0 {
            return Ok(true);
        }
        let e = std::io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINVAL) | Some(libc::ENOSYS) | Some(libc::EOPNOTSUPP) => Ok(false),
            _ => Err(e).with_path(b),
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (a, b);
        Ok(false)
    }
}

/// Copy a directory tree (files keep their modes; directories get 0700).
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    create_dir(to)?;
    for entry in fs::read_dir(from).with_path(from)? {
        let entry = entry.with_path(from)?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with(".tmp-") {
            continue;
        }
        let src = entry.path();
        let dst = to.join(&name);
        if entry.file_type().with_path(&src)?.is_dir() {
            copy_tree(&src, &dst)?;
        } else {
            fs::copy(&src, &dst).with_path(&src)?;
        }
    }
    Ok(())
}

/// Sync a whole filesystem through one of its files or directories.
pub fn sync_path(path: &Path) -> Result<()> {
    let f = fs::File::open(path).with_path(path)?;
    sync_filesystem(&f);
    Ok(())
}

/// fsync a directory so a rename in it is durable.
pub fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_path(dir)
}

/// Create a directory (and parents) with mode 0700.
pub fn create_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(DIR_MODE)
        .create(dir)
        .with_path(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(DIR_MODE)).with_path(dir)
}

/// Create a directory (and parents) with mode 0755: for files meant to be
/// published (the key page), not for the vault.
pub fn create_public_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .with_path(dir)?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).with_path(dir)
}

/// A file written under a temporary name in its final directory, not yet
/// durable or visible: see [`commit`].
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

/// Write `bytes` to a temporary file beside `path` (safe to call from many
/// threads; file creation dominates small writes on slow filesystems).
pub fn stage(path: &Path, bytes: &[u8], mode: u32) -> Result<Staged> {
    let dir = parent(path);
    let mut tmp = tempfile::Builder::new()
        .prefix(".tmp-")
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .with_path(dir)?;
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode)).with_path(tmp.path())?;
    tmp.write_all(bytes).with_path(path)?;
    Ok(Staged {
        tmp,
        path: path.to_owned(),
    })
}

/// Make staged files durable with one sync per filesystem (instead of an
/// fsync per file), rename each into place, and sync the directories. Each
/// file appears whole or not at all.
pub fn commit(staged: Vec<Staged>) -> Vec<Result<()>> {
    use std::collections::BTreeSet;
    use std::os::unix::fs::MetadataExt;
    let mut synced = Vec::new();
    for s in &staged {
        let dev = s.tmp.as_file().metadata().map(|m| m.dev()).unwrap_or(0);
        if !synced.contains(&dev) {
            sync_filesystem(s.tmp.as_file());
            synced.push(dev);
        }
    }
    let dirs: BTreeSet<std::path::PathBuf> = staged
        .iter()
        .map(|s| parent(&s.path).to_path_buf())
        .collect();
    let results = staged
        .into_iter()
        .map(|Staged { tmp, path }| {
            failpoint();
            tmp.persist(&path).map_err(|e| e.error).with_path(&path)?;
            Ok(())
        })
        .collect();
    for d in dirs {
        let _ = sync_dir(&d);
    }
    results
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

#[cfg(target_os = "linux")]
fn sync_filesystem(f: &fs::File) {
    use std::os::fd::AsRawFd;
    // SAFETY: syncfs takes a valid open file descriptor, which `f` holds.
    let rc = unsafe { libc::syncfs(f.as_raw_fd()) };
    if rc != 0 {
        let _ = f.sync_all();
    }
}

#[cfg(not(target_os = "linux"))]
fn sync_filesystem(f: &fs::File) {
    let _ = f.sync_all();
}
