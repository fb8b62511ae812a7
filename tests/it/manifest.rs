//! Checksum manifests: `sign --manifest` writes a SHA256SUMS that
//! `sha256sum -c` accepts with one signature gpg and sqv accept;
//! `verify --manifest` checks its signature, then every file, and reads
//! manifests made by sha256sum + gpg.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command as Std, Output};

const GEN: &str = "2026-08-01T12:00:00Z";
const EXPORT: &str = "2026-10-10T00:00:00Z";
const SIGN: &str = "2026-10-15T00:00:00Z";
const VERIFY: &str = "2026-10-20T00:00:00Z";

struct Node {
    env: Env,
    subkey: PathBuf,
    cert: PathBuf,
    dist: PathBuf,
}

/// A node with the exported subkey and a dist/ with a subfolder.
fn node() -> Node {
    let k = vault_with_key(GEN);
    let subkey = k.export_subkey(EXPORT, "signing-subkey.asc");
    let Keyed { env, .. } = k;
    let cert = env.key_dir().join("cert.asc");
    let dist = env.path("dist");
    std::fs::create_dir_all(dist.join("sub")).unwrap();
    std::fs::write(dist.join("app-1.0.tar.gz"), b"the release\n").unwrap();
    std::fs::write(dist.join("sub/notes.txt"), b"notes\n").unwrap();
    std::fs::write(dist.join("app-1.0.zip"), b"zipped\n").unwrap();
    Node {
        env,
        subkey,
        cert,
        dist,
    }
}

fn sign_manifest(n: &Node, extra: &[&str]) -> Output {
    n.env
        .cmd_at(SIGN)
        .args(["--json", "sign", "--key"])
        .arg(&n.subkey)
        .args(extra)
        .arg("--manifest")
        .arg(n.dist.join("SHA256SUMS"))
        .arg(n.dist.join("app-1.0.tar.gz"))
        .arg(n.dist.join("app-1.0.zip"))
        .arg(n.dist.join("sub"))
        .output()
        .unwrap()
}

/// `verify --manifest dist/SHA256SUMS dist` at VERIFY.
fn verify(n: &Node, json: bool) -> Output {
    let mut c = n.env.cmd_at(VERIFY);
    if json {
        c.arg("--json");
    }
    c.args(["verify", "--cert"])
        .arg(&n.cert)
        .arg("--manifest")
        .arg(n.dist.join("SHA256SUMS"))
        .arg(&n.dist)
        .output()
        .unwrap()
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn sha256sum_check(dir: &Path, manifest: &str) -> Output {
    require("sha256sum");
    Std::new("sha256sum")
        .args(["-c", manifest])
        .current_dir(dir)
        .output()
        .unwrap()
}

#[test]
fn signed_manifest_is_read_by_sha256sum_sqv_gpg_and_verify() {
    let n = node();
    let out = sign_manifest(&n, &[]);
    assert_ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["signed"], 1);
    assert_eq!(report["manifest"]["entries"].as_array().unwrap().len(), 3);
    let manifest = std::fs::read_to_string(n.dist.join("SHA256SUMS")).unwrap();
    let names: Vec<&str> = manifest.lines().map(|l| &l[66..]).collect();
    assert_eq!(names, ["app-1.0.tar.gz", "app-1.0.zip", "sub/notes.txt"]);
    let check = sha256sum_check(&n.dist, "SHA256SUMS");
    assert_ok(&check);
    let sig = n.dist.join("SHA256SUMS.asc");
    let sq = sqv(VERIFY, &n.cert, &sig, &n.dist.join("SHA256SUMS"));
    assert_ok(&sq);
    let gpg = Gpg::at(VERIFY);
    gpg.ok(&["--import", n.cert.to_str().unwrap()], None);
    gpg.ok(
        &[
            "--verify",
            sig.to_str().unwrap(),
            n.dist.join("SHA256SUMS").to_str().unwrap(),
        ],
        None,
    );

    // Again over the same files: kept, nothing rewritten.
    let again = sign_manifest(&n, &[]);
    assert_ok(&again);
    let report: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(report["kept"], 1, "{report}");
    assert_eq!(
        std::fs::read_to_string(n.dist.join("SHA256SUMS")).unwrap(),
        manifest
    );

    let good = verify(&n, false);
    assert_ok(&good);
    let t = text(&good);
    assert!(t.contains("verify: 4 good, 0 bad"), "{t}");

    // A changed, a missing and an unlisted file: one BAD line each.
    std::fs::write(n.dist.join("app-1.0.tar.gz"), b"tampered\n").unwrap();
    std::fs::remove_file(n.dist.join("sub/notes.txt")).unwrap();
    std::fs::write(n.dist.join("extra.bin"), b"extra\n").unwrap();
    let bad = verify(&n, false);
    assert_eq!(bad.status.code(), Some(1), "{}", text(&bad));
    let t = text(&bad);
    let bads: Vec<&str> = t.lines().filter(|l| l.starts_with("BAD")).collect();
    assert_eq!(bads.len(), 3, "{t}");
    assert!(
        bads.iter()
            .any(|l| l.contains("app-1.0.tar.gz") && l.contains("changed")),
        "{t}"
    );
    assert!(
        bads.iter()
            .any(|l| l.contains("notes.txt") && l.contains("missing")),
        "{t}"
    );
    assert!(
        bads.iter()
            .any(|l| l.contains("extra.bin") && l.contains("unlisted")),
        "{t}"
    );
    assert!(
        !t.contains("SHA256SUMS.asc  "),
        "the signature is not unlisted: {t}"
    );
    let json: serde_json::Value = serde_json::from_slice(&verify(&n, true).stdout).unwrap();
    assert_eq!(json["bad"], 3);
    let statuses: Vec<&str> = json["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["status"].as_str())
        .collect();
    for s in ["changed", "missing", "unlisted"] {
        assert!(statuses.contains(&s), "{json}");
    }
}

#[test]
fn manifest_made_by_sha256sum_and_gpg_verifies() {
    let n = node();
    require("sha256sum");
    let sums = Std::new("sha256sum")
        .args(["app-1.0.tar.gz", "app-1.0.zip", "sub/notes.txt"])
        .current_dir(&n.dist)
        .output()
        .unwrap();
    assert_ok(&sums);
    std::fs::write(n.dist.join("SHA256SUMS"), &sums.stdout).unwrap();
    let gpg = Gpg::at(SIGN);
    gpg.ok(&["--import", n.subkey.to_str().unwrap()], None);
    let out = gpg_command(gpg.home.path(), SIGN)
        .args([
            "--batch",
            "--pinentry-mode",
            "error",
            "--armor",
            "--detach-sign",
        ])
        .arg(n.dist.join("SHA256SUMS"))
        .output()
        .unwrap();
    assert_ok(&out);
    let v = verify(&n, false);
    assert_ok(&v);
    assert!(text(&v).contains("verify: 4 good, 0 bad"), "{}", text(&v));
}

#[test]
fn clearsigned_manifest_verifies_with_keycycle_and_gpg() {
    let n = node();
    assert_ok(&sign_manifest(&n, &["--clearsign"]));
    assert!(!n.dist.join("SHA256SUMS.asc").exists());
    let m = n.dist.join("SHA256SUMS");
    let body = std::fs::read_to_string(&m).unwrap();
    assert!(
        body.starts_with("-----BEGIN PGP SIGNED MESSAGE-----"),
        "{body}"
    );
    let v = verify(&n, false);
    assert_ok(&v);
    assert!(text(&v).contains("verify: 4 good, 0 bad"), "{}", text(&v));
    let gpg = Gpg::at(VERIFY);
    gpg.ok(&["--import", n.cert.to_str().unwrap()], None);
    gpg.ok(&["--verify", m.to_str().unwrap()], None);
    // Changed after signing: bad.
    std::fs::write(n.dist.join("app-1.0.zip"), b"other\n").unwrap();
    assert_eq!(verify(&n, false).status.code(), Some(1));
}

#[test]
fn manifest_line_leaving_its_directory_is_refused() {
    let n = node();
    let line = format!("{}  ../x\n", "0".repeat(64));
    std::fs::write(n.dist.join("SHA256SUMS"), line).unwrap();
    n.env
        .cmd_at(SIGN)
        .args(["sign", "--key"])
        .arg(&n.subkey)
        .arg(n.dist.join("SHA256SUMS"))
        .assert()
        .success();
    let out = verify(&n, false);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("manifest line 1 refused") && err.contains("`..`"),
        "{err}"
    );
    assert!(err.contains("hint"), "{err}");
}

#[test]
fn a_tampered_manifest_is_bad_and_its_files_are_not_checked() {
    let n = node();
    assert_ok(&sign_manifest(&n, &[]));
    let m = n.dist.join("SHA256SUMS");
    let mut body = std::fs::read_to_string(&m).unwrap();
    body.push_str(&format!("{}  evil.bin\n", "1".repeat(64)));
    std::fs::write(&m, body).unwrap();
    let out = verify(&n, false);
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    assert!(t.starts_with("BAD"), "{t}");
    assert!(t.contains("files not checked"), "{t}");
    assert!(!t.contains("GOOD"), "{t}");
}

#[test]
fn a_listed_symbolic_link_is_bad_not_followed() {
    let n = node();
    assert_ok(&sign_manifest(&n, &[]));
    let zip = n.dist.join("app-1.0.zip");
    std::fs::rename(&zip, n.env.path("elsewhere.zip")).unwrap();
    std::os::unix::fs::symlink(n.env.path("elsewhere.zip"), &zip).unwrap();
    let out = verify(&n, false);
    assert_eq!(out.status.code(), Some(1));
    let t = text(&out);
    let bad: Vec<&str> = t.lines().filter(|l| l.starts_with("BAD")).collect();
    assert_eq!(bad.len(), 1, "{t}");
    assert!(bad[0].contains("symbolic link"), "{t}");
}
