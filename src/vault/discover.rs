//! Which directory is the vault, found as git finds a repository: the
//! command line's `--vault` (or `$KEYCYCLE_VAULT`) when given, else the
//! nearest directory upwards from the working directory that holds
//! `keycycle.toml`, else `./vault`. Decided once, at the edge; everything
//! below gets the path.
//!
//! The walk reads no file and follows no link: each `keycycle.toml` is
//! looked at with `lstat` ([`fsx::kind`]), so a link there is refused,
//! naming it, as everywhere in the vault. It goes up to the filesystem root
//! and takes only a directory of the user's own: a `keycycle.toml` another
//! user planted above the working directory (`/tmp/keycycle.toml`) would
//! otherwise choose the roster that keys are escrowed to (git refuses a
//! repository of another user the same way).

use std::os::unix::fs::MetadataExt;
use std::path::{Component, Path, PathBuf};

use crate::base::error::{Error, Result};
use crate::base::fs::fsx;
use crate::vault::config::CONFIG_FILE;

/// The vault directory a command uses. `given`: `--vault` or
/// `$KEYCYCLE_VAULT`; `cwd`: the working directory; `creating`: the
/// command makes a vault (`init`), which never looks upwards: it makes
/// `given` or `./vault`, but not inside another vault.
pub fn locate(given: Option<&Path>, cwd: &Path, creating: bool) -> Result<PathBuf> {
    let given = match given {
        Some(p) => p,
        None if creating => Path::new("vault"),
        None => return Ok(nearest(cwd)?.unwrap_or_else(|| PathBuf::from("vault"))),
    };
    if fsx::kind(&given.join(CONFIG_FILE))?.is_some() {
        return Ok(given.to_path_buf());
    }
    match enclosing(&cwd.join(given)) {
        Some(v) => Err(inside(given, &relative(&v, cwd), creating)),
        None => Ok(given.to_path_buf()),
    }
}

/// The nearest of `dir` and its parents holding `keycycle.toml`, when it
/// is the user's own.
pub fn nearest(dir: &Path) -> Result<Option<PathBuf>> {
    for d in dir.ancestors() {
        if fsx::kind(&d.join(CONFIG_FILE))?.is_some() {
            own(d)?;
            own(&d.join(CONFIG_FILE))?;
            return Ok(Some(d.to_path_buf()));
        }
    }
    Ok(None)
}

/// The vault `path` lies inside (one of its parents, taken as written:
/// `a/../b` is `b`), if any.
fn enclosing(path: &Path) -> Option<PathBuf> {
    let path = lexical(path);
    path.ancestors()
        .skip(1)
        .find(|d| matches!(fsx::kind(&d.join(CONFIG_FILE)), Ok(Some(_))))
        .map(Path::to_path_buf)
}

/// `path` without `.` and with `..` taken off the path before it.
fn lexical(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// `path` relative to `cwd` when it is under it (as the user would type
/// it), else as it is.
fn relative(path: &Path, cwd: &Path) -> PathBuf {
    match path.strip_prefix(cwd) {
        Ok(r) if r.as_os_str().is_empty() => PathBuf::from("."),
        Ok(r) => r.to_path_buf(),
        Err(_) => path.to_path_buf(),
    }
}

fn inside(given: &Path, vault: &Path, creating: bool) -> Error {
    let (p, v) = (
        crate::base::text::path(given),
        crate::base::text::path(vault),
    );
    if creating {
        let msg = if vault == Path::new(".") {
            format!(
                "this directory is a vault (it holds {CONFIG_FILE}): init would make {p} inside it"
            )
        } else {
            format!("{p} is inside the vault {v}: a vault is not made inside another")
        };
        Error::input(
            msg,
            format!("run `keycycle init` outside the vault (or pass --vault with a directory outside it); `keycycle --vault {v} init --force` resets {v}/{CONFIG_FILE} to the defaults"),
        )
    } else {
        Error::input(
            format!("{p} is not a vault but a directory inside the vault {v}"),
            format!("pass --vault {v} (or set KEYCYCLE_VAULT to it); inside the vault, keycycle finds it without --vault"),
        )
    }
}

/// Refuse a path that belongs to another user.
fn own(path: &Path) -> Result<()> {
    let m = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    // SAFETY: geteuid has no preconditions and cannot fail.
    let me = unsafe { libc::geteuid() };
    if m.uid() == me {
        return Ok(());
    }
    Err(Error::vault(
        format!(
            "{}: belongs to another user (uid {}), so it is not taken for the vault",
            crate::base::text::path(path),
            m.uid()
        ),
        "pass --vault DIR (or set KEYCYCLE_VAULT) if it is the vault you mean; looking upwards, keycycle takes only a vault of your own",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vault_at(dir: &Path) {
        std::fs::create_dir_all(dir.join("keys/2027.1-x")).unwrap();
        std::fs::write(dir.join(CONFIG_FILE), "format = 1\n").unwrap();
    }

    #[test]
    fn the_nearest_vault_upwards_else_dot_vault() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        let v = root.join("repo/vault");
        vault_at(&v);
        let deep = v.join("keys/2027.1-x");
        assert_eq!(locate(None, &deep, false).unwrap(), v);
        assert_eq!(locate(None, &v, false).unwrap(), v);
        // Outside any vault: ./vault, as before.
        let repo = root.join("repo");
        assert_eq!(locate(None, &repo, false).unwrap(), Path::new("vault"));
    }

    #[test]
    fn a_given_path_inside_a_vault_names_the_vault() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        vault_at(&root.join("vault"));
        let e = locate(Some(Path::new("vault/keys")), &root, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "vault/keys is not a vault but a directory inside the vault vault"
        );
        let e = locate(Some(Path::new("vault/./keys/../keys")), &root, false).unwrap_err();
        assert!(e.to_string().ends_with("inside the vault vault"), "{e}");
        // The vault itself, and a directory outside any vault, as given.
        let v = locate(Some(Path::new("vault")), &root, false).unwrap();
        assert_eq!(v, Path::new("vault"));
        let elsewhere = locate(Some(Path::new("other")), &root, false).unwrap();
        assert_eq!(elsewhere, Path::new("other"));
    }

    #[test]
    fn init_makes_dot_vault_but_not_inside_a_vault() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        assert_eq!(locate(None, &root, true).unwrap(), Path::new("vault"));
        vault_at(&root.join("vault"));
        // ./vault is the vault: init's own "already exists" says the rest.
        assert_eq!(locate(None, &root, true).unwrap(), Path::new("vault"));
        let inner = root.join("vault");
        let e = locate(None, &inner, true).unwrap_err();
        assert!(
            e.to_string().starts_with("this directory is a vault"),
            "{e}"
        );
        let e = locate(Some(Path::new("vault/sub")), &root, true).unwrap_err();
        assert!(e.to_string().contains("inside the vault vault"), "{e}");
    }

    #[test]
    fn a_linked_config_upwards_is_refused_not_followed() {
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        std::fs::write(root.join("elsewhere.toml"), "format = 1\n").unwrap();
        std::os::unix::fs::symlink(root.join("elsewhere.toml"), root.join(CONFIG_FILE)).unwrap();
        std::fs::create_dir(root.join("sub")).unwrap();
        let e = locate(None, &root.join("sub"), false).unwrap_err();
        assert!(e.to_string().contains("is a symbolic link"), "{e}");
        assert!(!e.to_string().contains("format"), "{e}");
    }

    #[test]
    fn a_vault_of_another_user_upwards_is_refused() {
        // Only root can give a directory away.
        if unsafe { libc::geteuid() } != 0 {
            return;
        }
        let t = tempfile::tempdir().unwrap();
        let root = t.path().canonicalize().unwrap();
        vault_at(&root.join("vault"));
        std::os::unix::fs::chown(root.join("vault"), Some(4242), None).unwrap();
        let e = locate(None, &root.join("vault/keys"), false).unwrap_err();
        assert!(
            e.to_string().contains("belongs to another user (uid 4242)"),
            "{e}"
        );
        // Named on the command line, it is the user's choice.
        let v = locate(Some(&root.join("vault")), &root, false).unwrap();
        assert_eq!(v, root.join("vault"));
    }
}
