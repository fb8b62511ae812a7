//! Atomic file writes: temporary file in the same directory, fsync, rename,
//! fsync the directory. A crash leaves the old file or the new one.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

use crate::base::error::{IoContext, Result};

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
            format!("{} exists", crate::base::text::path(path)),
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

/// Copy a directory tree of the vault (files keep their modes; directories
/// get 0700). Regular files and directories only: a symbolic link or a
/// special file anywhere in it is an error naming it (never followed, never
/// skipped — a link copied as the file it points to would put an
/// operator's file into the vault). Temporaries (`.tmp-*`) are left out;
/// other regular files are copied, whatever their name.
pub fn copy_tree(from: &Path, to: &Path) -> Result<()> {
    if !super::fsx::check_dir(from)? {
        return Err(std::io::Error::from(std::io::ErrorKind::NotFound)).with_path(from);
    }
    create_dir(to)?;
    for (src, kind) in super::fsx::entries(from, true)? {
        let name = src.file_name().unwrap_or_default();
        if name.to_string_lossy().starts_with(".tmp-") {
            continue;
        }
        let dst = to.join(name);
        match kind {
            super::fsx::Kind::Dir => copy_tree(&src, &dst)?,
            super::fsx::Kind::File => copy_file(&src, &dst)?,
        }
    }
    Ok(())
}

/// Copy one regular file (opened without following a link) to a new file.
fn copy_file(src: &Path, dst: &Path) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut from = super::fsx::open_nofollow(src)?;
    let mode = from.metadata().with_path(src)?.permissions().mode() & 0o7777;
    let mut to = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(dst)
        .with_path(dst)?;
    std::io::copy(&mut from, &mut to).with_path(dst)?;
    fs::set_permissions(dst, fs::Permissions::from_mode(mode)).with_path(dst)
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn a_write_replaces_a_link_at_its_name_and_never_writes_through_it() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("identity");
        fs::write(&target, "AGE-SECRET-KEY-1").unwrap();
        let name = d.path().join("audit.log");
        symlink(&target, &name).unwrap();
        write(&name, b"new", PUBLIC_MODE).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"AGE-SECRET-KEY-1");
        let meta = fs::symlink_metadata(&name).unwrap();
        assert!(meta.file_type().is_file(), "the link was replaced");
        assert_eq!(fs::read(&name).unwrap(), b"new");
        // The same for a dangling link: its target is not created.
        let dangling = d.path().join("state.toml");
        symlink(d.path().join("elsewhere"), &dangling).unwrap();
        let staged = stage(&dangling, b"s", PUBLIC_MODE).unwrap();
        assert!(commit(vec![staged]).into_iter().all(|r| r.is_ok()));
        assert!(!d.path().join("elsewhere").exists());
        assert!(fs::symlink_metadata(&dangling).unwrap().is_file());
    }

    #[test]
    fn copy_tree_refuses_links_and_special_files_by_name() {
        let d = tempfile::tempdir().unwrap();
        let from = d.path().join("key");
        create_dir(&from.join("shares")).unwrap();
        fs::write(from.join("cert.asc"), "c").unwrap();
        fs::write(from.join("shares/01-ada.age"), "s").unwrap();
        fs::write(from.join("NOTES"), "n").unwrap();
        copy_tree(&from, &d.path().join("copy")).unwrap();
        assert_eq!(
            fs::read(d.path().join("copy/shares/01-ada.age")).unwrap(),
            b"s"
        );
        assert_eq!(fs::read(d.path().join("copy/NOTES")).unwrap(), b"n");
        let secret = d.path().join("alice.key");
        fs::write(&secret, "AGE-SECRET-KEY-1").unwrap();
        symlink(&secret, from.join("shares/README")).unwrap();
        let e = copy_tree(&from, &d.path().join("copy2"))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("shares/README") && e.contains("symbolic link"),
            "{e}"
        );
        assert!(!e.contains("AGE-SECRET"), "{e}");
        fs::remove_file(from.join("shares/README")).unwrap();
        let fifo = std::ffi::CString::new(from.join("pipe").to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let e = copy_tree(&from, &d.path().join("copy3"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("pipe") && e.contains("FIFO"), "{e}");
    }
}
