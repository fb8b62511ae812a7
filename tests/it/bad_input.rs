//! Bad input: a one-line error with a hint, a non-zero exit, no panic, and
//! the vault byte-for-byte unchanged. The cases are data in
//! `tests/cmd/bad-input/` (see `cmd.rs`, which checks this shape for every
//! one of them); here are only those that cannot be files: a 20 MiB input,
//! a path that is not UTF-8, and a refusal followed by the `--force` that
//! gets through.

use crate::common::*;

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

const T: &str = "2026-08-01T12:00:00Z";

/// Run `args` against `env`; check the error shape and that the vault did
/// not change. Returns stderr.
fn refused<S: AsRef<OsStr>>(env: &Env, args: &[S]) -> String {
    let before = snapshot(&env.vault);
    let out = env.cmd().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let shown: Vec<_> = args.iter().map(|a| a.as_ref().to_owned()).collect();
    assert!(!out.status.success(), "{shown:?} succeeded");
    assert_ne!(out.status.code(), Some(101), "{shown:?} panicked: {stderr}");
    assert!(!stderr.contains("panicked"), "{shown:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() == 2 && lines[0].starts_with("error: ") && lines[1].starts_with("hint: "),
        "{shown:?}: want one error line and one hint line, got:\n{stderr}"
    );
    assert_eq!(before, snapshot(&env.vault), "{shown:?} changed the vault");
    stderr
}

#[test]
fn generating_twice_needs_force() {
    let env = Env::new(T);
    env.vault_with_ada();
    env.ok(&["generate", "--cycle", "next"]);
    let e = refused(&env, &["generate", "--cycle", "2027.1"]);
    assert!(e.contains("already holds a key for 2027.1/Indri"), "{e}");
    assert!(e.contains("--force"), "{e}");
    env.ok(&["generate", "--cycle", "2027.1", "--force"]);
    assert_eq!(
        std::fs::read_dir(env.vault.join("keys")).unwrap().count(),
        2
    );
}

/// The bad-input corpus's two kinds of input that are not committed files.
#[test]
fn an_oversized_certificate_and_a_non_utf8_path_are_refused_cleanly() {
    let env = Env::new(T);
    let (_, r) = env.vault_with_ada();
    env.ok(&["generate", "--cycle", "next"]);
    let mut big = b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n".to_vec();
    big.resize(20 << 20, b'A');
    let oversized = env.path("oversized.asc");
    std::fs::write(&oversized, &big).unwrap();
    let oversized = oversized.display().to_string();
    for args in [
        vec!["inspect", &oversized],
        vec![
            "roster",
            "add",
            "--name",
            "Eve",
            "--email",
            "x@example.org",
            "--escrow-recipient",
            &r,
            "--cert",
            &oversized,
        ],
        vec!["attestations", "import", &oversized],
    ] {
        let e = refused(&env, &args);
        assert!(e.to_lowercase().contains("too large"), "{args:?}: {e}");
    }
    let data = env.path("release.tar.gz");
    std::fs::write(&data, b"release bytes\n").unwrap();
    let mut raw = env.dir.path().as_os_str().as_bytes().to_vec();
    raw.extend_from_slice(b"/bad-\xff\xfe.asc");
    let raw = PathBuf::from(OsString::from(OsStr::from_bytes(&raw)));
    std::fs::write(&raw, b"garbage").unwrap();
    let e = refused(&env, &[OsStr::new("inspect"), raw.as_os_str()]);
    assert!(e.contains("bad-"), "{e}");
    let e = refused(
        &env,
        &[
            OsStr::new("sign"),
            OsStr::new("--key"),
            raw.as_os_str(),
            data.as_os_str(),
        ],
    );
    assert!(e.contains("bad-"), "{e}");
}
