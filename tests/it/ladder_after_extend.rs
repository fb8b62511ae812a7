//! Issue 21, item 1: a rung of the escrowed ladder must take effect after
//! an extension. Sequoia (so sqv and `keycycle verify`) ignores a soft
//! revocation older than the key's newest binding signature; gpg ignores
//! the dates. The ladder is dated after the newest binding, and `revoke`
//! refuses to publish a revocation that would revoke nothing.

use crate::common::*;
use std::path::{Path, PathBuf};

const GEN: &str = "2026-08-01T12:00:00Z";
/// The extension: new bindings dated 2026-10-11T00:00:00Z. (All times are
/// in the past of the real clock: sqv judges data signatures against it.)
const EXTEND: &str = "2026-10-11";
/// Before the next weekly rung of the grid from GEN (2026-10-17T12:00):
/// the ladder made before this fix offered the 2026-10-10T12:00 rung here.
const REVOKE: &str = "2026-10-12T12:00:00Z";
const VERIFY: &str = "2026-10-13T12:00:00Z";

/// Export the signing subkey at `at` (`sub.asc`; a revoked key is not
/// exported) and sign a file named `name` with it.
fn sign(k: &Keyed, at: &str, name: &str) -> PathBuf {
    let sub = k.env.path("sub.asc");
    let id = k.id();
    let args = ["export", "signing-subkey", "2027.1", "--overwrite"];
    let mut args = args.to_vec();
    args.extend(["--identity", &id, "-o", sub.to_str().unwrap()]);
    k.env.ok_at(at, &args);
    sign_with_exported(k, at, name)
}

/// Sign a file named `name` at `at` with the last exported `sub.asc`.
fn sign_with_exported(k: &Keyed, at: &str, name: &str) -> PathBuf {
    let sub = k.env.path("sub.asc");
    let f = k.env.path(name);
    std::fs::write(&f, name.as_bytes()).unwrap();
    k.env.ok_at(
        at,
        &["sign", "--key", sub.to_str().unwrap(), f.to_str().unwrap()],
    );
    f
}

fn keycycle_good(k: &Keyed, f: &Path) -> bool {
    k.env
        .run_at(VERIFY, &["verify", f.to_str().unwrap()])
        .status
        .success()
}

fn extended() -> Keyed {
    let k = vault_with_key(GEN);
    let id = k.id();
    let until = ["extend", "2027.1", "--until", "2027-08-01", "--identity"];
    let mut args = until.to_vec();
    args.push(&id);
    k.env.ok_at(EXTEND, &args);
    k
}

fn revoke_retired(id: &str, escrowed: bool) -> Vec<&str> {
    let mut args = vec!["revoke", "2027.1", "--yes", "--reason", "retired"];
    if escrowed {
        args.push("--escrowed-certificate");
    }
    args.extend(["--message", "lost", "--identity", id]);
    args
}

/// Generate, sign, extend, sign, revoke with the escrowed ladder, sign:
/// the rung published is dated after the extension's bindings, so sqv,
/// keycycle verify, status and gpg all see the key revoked from then on.
#[test]
fn a_rung_published_after_an_extension_revokes_the_key() {
    let k = extended();
    let before_extension = sign(&k, "2026-10-02", "one.tar.gz");
    let after_extension = sign(&k, "2026-10-11T06:00:00Z", "two.tar.gz");
    let id = k.id();
    let said = k.env.ok_at(REVOKE, &revoke_retired(&id, true));
    // The first rung after the extension: a second after its bindings.
    assert!(said.contains("(retired, dated 2026-10-11)"), "{said}");
    let after_revocation = sign_with_exported(&k, "2026-10-12T18:00:00Z", "three.tar.gz");
    for (f, good) in [
        (&before_extension, true),
        (&after_extension, false),
        (&after_revocation, false),
    ] {
        assert_eq!(
            sqv_accepts(VERIFY, &k.env.key_dir().join("cert.asc"), f),
            good,
            "sqv on {}",
            f.display()
        );
        assert_eq!(keycycle_good(&k, f), good, "keycycle on {}", f.display());
    }
    let status: serde_json::Value =
        serde_json::from_str(&k.env.ok_at(VERIFY, &["--json", "status", "2027.1"])).unwrap();
    assert_eq!(
        status["keys"][0]["revocation"]["reason"], "retired",
        "{status}"
    );
    let cert = k.env.key_dir().join("cert.asc");
    let listing = Gpg::at(VERIFY).ok(
        &["--show-keys", "--with-colons", cert.to_str().unwrap()],
        None,
    );
    assert!(
        listing.lines().any(|l| l.starts_with("pub:r:")),
        "{listing}"
    );
}

/// At a --time before the newest binding no rung (and no soft revocation
/// made with the master) would take effect: revoke refuses, naming the
/// binding, and publishes nothing.
#[test]
fn a_soft_revocation_older_than_the_newest_binding_is_refused() {
    let k = extended();
    let id = k.id();
    let cert = std::fs::read(k.env.key_dir().join("cert.asc")).unwrap();
    for escrowed in [true, false] {
        let out = k.env.run_at("2026-10-10", &revoke_retired(&id, escrowed));
        let err = one_refusal(&out);
        assert!(
            err.contains("newest binding signature (2026-10-11T00:00:00Z)") && err.contains("sqv"),
            "{err}"
        );
    }
    assert_eq!(
        std::fs::read(k.env.key_dir().join("cert.asc")).unwrap(),
        cert
    );
}
