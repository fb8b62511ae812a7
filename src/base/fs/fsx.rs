//! Files as files. Everything in the vault may have been committed by
//! someone else, so every read of a vault file goes through here: a
//! symbolic link, a FIFO, a socket or a device where the vault should hold
//! a regular file or a directory is refused, naming the path, and never
//! followed — a link would make keycycle read a file of the operator's
//! (and copy it into the vault, to be committed), or write through it.
//! Links are refused rather than skipped, so that a vault someone tampered
//! with stops every command instead of half-working. Errors never show
//! what a file holds.
//!
//! The vault's own writes go through [`super::atomic`]: a temporary file
//! renamed over the final name, which replaces a link planted there
//! instead of following it. The directories written into are checked
//! here first ([`check_dir`]).

use std::fs::{self, File, FileType};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::base::error::{Error, IoContext, Result};

/// What a vault path holds, when it is one of the two things it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Dir,
}

const HINT: &str = "nothing was changed; restore it as a plain file or directory from the vault's git history (`git log --stat -- PATH` in the vault shows who committed it)";

/// The error for `path`, which is `what` ("a symbolic link") instead of a
/// regular file or directory.
pub fn not_plain(path: &Path, what: &str) -> Error {
    Error::vault(
        format!(
            "{}: is {what}; keycycle reads and writes only regular files and directories in the vault",
            crate::base::text::path(path)
        ),
        HINT,
    )
}

fn describe(t: FileType) -> &'static str {
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

/// What is at `path`, without following a link; `None` when nothing is.
pub fn kind(path: &Path) -> Result<Option<Kind>> {
    match fs::symlink_metadata(path) {
        Ok(m) => of_type(path, m.file_type()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(path, e)),
    }
}

fn of_type(path: &Path, t: FileType) -> Result<Kind> {
    if t.is_file() {
        Ok(Kind::File)
    } else if t.is_dir() {
        Ok(Kind::Dir)
    } else {
        Err(not_plain(path, describe(t)))
    }
}

/// Whether `path` is a directory — itself, not a link to one; `false`
/// when nothing is there, an error for anything else.
pub fn check_dir(path: &Path) -> Result<bool> {
    match kind(path)? {
        None => Ok(false),
        Some(Kind::Dir) => Ok(true),
        Some(Kind::File) => Err(Error::vault(
            format!(
                "{}: is a file where the vault has a directory",
                crate::base::text::path(path)
            ),
            HINT,
        )),
    }
}

/// Check every directory from below `root` down to `dir` that exists
/// ([`check_dir`]); `dir` outside `root` is not checked.
pub fn check_dirs(root: &Path, dir: &Path) -> Result<()> {
    let Ok(rel) = dir.strip_prefix(root) else {
        return Ok(());
    };
    let mut p = root.to_path_buf();
    for c in rel.components() {
        p.push(c);
        if !check_dir(&p)? {
            break;
        }
    }
    Ok(())
}

/// Open a regular file for reading, never through a link (`O_NOFOLLOW`;
/// `O_NONBLOCK` so that a FIFO is refused instead of waited on).
pub fn open_nofollow(path: &Path) -> Result<File> {
    if let Some(Kind::Dir) = kind(path)? {
        return Err(Error::vault(
            format!(
                "{}: is a directory where the vault has a file",
                crate::base::text::path(path)
            ),
            HINT,
        ));
    }
    let f = fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| match e.raw_os_error() {
            Some(libc::ELOOP) => not_plain(path, "a symbolic link"),
            _ => Error::io(path, e),
        })?;
    let t = f.metadata().with_path(path)?.file_type();
    if !t.is_file() {
        return Err(not_plain(path, describe(t)));
    }
    Ok(f)
}

/// The bytes of a regular file.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    open_nofollow(path)?.read_to_end(&mut out).with_path(path)?;
    Ok(out)
}

/// The text of a regular file; one that is not UTF-8 is an error that
/// says so (and shows none of it).
pub fn read_to_string(path: &Path) -> Result<String> {
    String::from_utf8(read_file(path)?).map_err(|e| {
        Error::vault(
            format!(
                "{}: is not UTF-8 text (byte {})",
                crate::base::text::path(path),
                e.utf8_error().valid_up_to() + 1
            ),
            "restore it from the vault's git history",
        )
    })
}

/// [`read_file`], or `None` when there is no such file.
pub fn read_optional(path: &Path) -> Result<Option<Vec<u8>>> {
    match kind(path)? {
        None => Ok(None),
        Some(_) => read_file(path).map(Some),
    }
}

/// [`read_to_string`], or `None` when there is no such file.
pub fn read_string_optional(path: &Path) -> Result<Option<String>> {
    match kind(path)? {
        None => Ok(None),
        Some(_) => read_to_string(path).map(Some),
    }
}

/// The entries of directory `dir` (itself checked), sorted by name: each
/// a regular file or a directory; anything else is an error naming it.
/// Names starting with `.` (the vault's temporaries) are left out unless
/// `hidden`.
pub fn entries(dir: &Path, hidden: bool) -> Result<Vec<(PathBuf, Kind)>> {
    if !check_dir(dir)? {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for e in fs::read_dir(dir).with_path(dir)? {
        let e = e.with_path(dir)?;
        if !hidden && e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        let path = e.path();
        let t = e.file_type().with_path(&path)?;
        out.push((path.clone(), of_type(&path, t)?));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The directories in `dir` (see [`entries`]; regular files are left out).
pub fn subdirs(dir: &Path) -> Result<Vec<PathBuf>> {
    Ok(entries(dir, false)?
        .into_iter()
        .filter(|(_, k)| *k == Kind::Dir)
        .map(|(p, _)| p)
        .collect())
}

/// Whether `name` may be used as one component of a vault path: ASCII
/// letters, digits, `.`, `_`, `-` and `+`; not empty, not starting with
/// `.` (so neither `.` nor `..`, nor a hidden or temporary name), at most
/// 100 characters. Cycle ids, key directory names and share holder names
/// are checked with this before a path is built from them.
pub fn is_safe_component(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 100
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn links_fifos_and_directories_are_refused_by_name() {
        let d = tempfile::tempdir().unwrap();
        let secret = d.path().join("secret");
        std::fs::write(&secret, "AGE-SECRET-KEY-1XYZ").unwrap();
        let link = d.path().join("link");
        symlink(&secret, &link).unwrap();
        for e in [
            read_file(&link).unwrap_err(),
            read_to_string(&link).unwrap_err(),
            read_optional(&link).unwrap_err(),
        ] {
            let m = e.to_string();
            assert!(
                m.contains("is a symbolic link") && m.contains("link"),
                "{m}"
            );
            assert!(!m.contains("AGE-SECRET"), "{m}");
        }
        let dangling = d.path().join("dangling");
        symlink(d.path().join("nothing"), &dangling).unwrap();
        assert!(read_optional(&dangling).is_err());
        let fifo = d.path().join("fifo");
        let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
        // SAFETY: mkfifo on a NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(read_file(&fifo).unwrap_err().to_string().contains("FIFO"));
        assert!(read_file(d.path()).is_err());
        assert_eq!(read_optional(&d.path().join("none")).unwrap(), None);
        assert_eq!(read_file(&secret).unwrap(), b"AGE-SECRET-KEY-1XYZ");
        let dirlink = d.path().join("dirlink");
        symlink(d.path(), &dirlink).unwrap();
        assert!(check_dir(&dirlink).is_err());
        assert!(check_dirs(d.path(), &dirlink.join("x")).is_err());
        assert!(entries(d.path(), false).is_err());
    }

    #[test]
    fn safe_components() {
        for ok in ["2027.1", "zed", "zed+1", "Indri_2", "a-b"] {
            assert!(is_safe_component(ok), "{ok}");
        }
        for bad in [
            "", ".", "..", ".hidden", "/tmp/x", "../../x", "a/b", "a b", "é", "a\n",
        ] {
            assert!(!is_safe_component(bad), "{bad:?}");
        }
    }
}
