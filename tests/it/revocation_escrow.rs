//! The escrowed revocations are sealed apart from the primary: in a 2-of-3
//! vault any one root revokes with the escrowed certificate (gpg shows
//! `pub:r`, sqv rejects a signature made before), while one root alone
//! cannot open the primary — and the revocation still works with the
//! primary's shares overwritten. A vault sealed before (the revocations
//! inside the shares) moves to the new layout with `escrow rewrap`.

use crate::common::*;
use keycycle::custody::{age, escrow::Bundle, shares};
use std::path::{Path, PathBuf};

const GEN: &str = "2026-08-01T12:00:00Z";

/// A 2-of-3 vault (Ann, Ben, Cat, age identities) with the key 2027.1:
/// the env, the identities, the recipients.
fn two_of_three() -> (Env, Vec<PathBuf>, Vec<String>) {
    let env = Env::new(GEN);
    let (ids, rs) = env.two_of_three_roots();
    env.ok(&["generate", "--cycle", "next"]);
    (env, ids, rs)
}

pub(crate) fn shares_of(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir.join("shares"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// A release signed at 2026-10-02 with the subkey (opened by two roots).
pub(crate) fn signed_file(env: &Env, ids: &[PathBuf]) -> PathBuf {
    let sub = env.path("sub.asc");
    let export = ["export", "signing-subkey", "2027.1", "-o"];
    let mut args = export.to_vec();
    args.push(sub.to_str().unwrap());
    let out = env.run_with_ids("2026-10-01", &args, &[&ids[0], &ids[1]]);
    assert_ok(&out);
    let f = env.path("release.tar.gz");
    std::fs::write(&f, b"release").unwrap();
    env.cmd_at("2026-10-02")
        .args(["sign", "--key"])
        .arg(&sub)
        .arg(&f)
        .assert()
        .success();
    f
}

/// Ann alone revokes (hard, escrowed) and cannot open the primary; with
/// `junk`, the primary's shares are overwritten first.
fn one_root_revokes(junk: bool) {
    let (env, ids, _) = two_of_three();
    let dir = env.key_dir();
    for id in &ids {
        assert!(age_opens(id, &dir.join("revocation.age")));
        assert!(age_opens(id, &dir.join("revocation-retired.age")));
    }
    assert!(!dir.join("primary.age").exists());
    let release = signed_file(&env, &ids);
    assert!(sqv_accepts(
        "2026-10-03",
        &env.key_dir().join("cert.asc"),
        &release
    ));
    if junk {
        for s in shares_of(&dir) {
            std::fs::write(s, b"junk, not an age file\n").unwrap();
        }
    } else {
        // The drill of one root: its share, and the revocations apart.
        let out = env.run_with_ids("2026-10-05", &["escrow", "verify"], &[&ids[0]]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_ok(&out);
        assert!(
            text.contains("share 1 of 3 (threshold 2) held by Ann"),
            "{text}"
        );
        assert!(text.contains("(compromised) and"), "{text}");
        assert!(text.contains("sealed apart, open and are valid"), "{text}");
    }
    // One root alone does not open the primary.
    let extend = ["extend", "2027.1", "--until", "2027-08-01"];
    let out = env.run_with_ids("2026-10-05", &extend, &[&ids[0]]);
    assert!(!out.status.success());
    if !junk {
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(e.contains("needs 2 of 3 shares; 1 given"), "{e}");
    }
    // One root alone revokes with the escrowed certificate.
    let revoke = REVOKE_ESCROWED;
    let out = env.run_with_ids("2026-11-01", &revoke, &[&ids[2]]);
    assert_ok(&out);
    assert_hard_revoked(&dir, &release);
}

/// The cert.asc in `dir` is revoked for gpg on 2026-11-02, and sqv calls
/// `release` void on 2026-11-10 (a hard revocation).
fn assert_hard_revoked(dir: &Path, release: &Path) {
    let cert = dir.join("cert.asc");
    assert_gpg_revoked("2026-11-02", &cert);
    assert!(!sqv_accepts("2026-11-10", &cert, release), "hard: void");
}

#[test]
fn one_root_of_two_of_three_revokes_but_cannot_open_the_primary() {
    one_root_revokes(false);
}

#[test]
fn one_root_revokes_with_the_primary_shares_overwritten() {
    one_root_revokes(true);
}

/// One file set (threshold 1): with `primary.age` overwritten, the
/// escrowed revocation still opens (it never reads `primary.age`).
#[test]
fn a_lost_primary_age_does_not_take_the_revocation_with_it() {
    let k = vault_with_key(GEN);
    let (release, _) = signed_release(&k);
    let dir = k.env.key_dir();
    std::fs::write(dir.join("primary.age"), b"junk, not an age file\n").unwrap();
    let ssh = k.roster.ssh_id.clone();
    // The drill names the primary, and says the revocations still work.
    let out = k
        .env
        .run_with_ids("2026-10-20", &["escrow", "verify"], &[&ssh]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("primary.age: the primary does not open"), "{e}");
    assert!(e.contains("any one root can still revoke"), "{e}");
    let out = k.env.run_with_ids("2026-11-01", &REVOKE_ESCROWED, &[&ssh]);
    assert_ok(&out);
    assert_hard_revoked(&dir, &release);
}

/// Put the vault back in the layout of before: no revocation files, the
/// revocations inside the 2-of-3 shares.
fn old_layout(env: &Env, ids: &[PathBuf], rs: &[String]) {
    let dir = env.key_dir();
    let fpr = dir.file_name().unwrap().to_str().unwrap().to_string();
    let files = shares_of(&dir);
    let opened: Vec<shares::Share> = files[..2]
        .iter()
        .zip(ids)
        .map(|(f, id)| shares::Share::parse(&age_decrypt(id, f)).unwrap())
        .collect();
    let fpr = opened.first().map(|s| s.fingerprint.clone()).unwrap_or(fpr);
    let mut b = Bundle::from_bytes(&shares::combine(&fpr, &opened).unwrap()).unwrap();
    b.revocation = age_decrypt(&ids[0], &dir.join("revocation.age")).into();
    b.ladder = age_decrypt(&ids[0], &dir.join("revocation-retired.age")).into();
    let holders = ["Ann", "Ben", "Cat"].map(String::from);
    let split = shares::split(&fpr, &b.to_bytes(), 2, &holders).unwrap();
    for ((f, s), r) in files.iter().zip(&split).zip(rs) {
        let r = age::Recipient::parse(r).unwrap();
        std::fs::write(f, age::seal(&[r], s.to_text().as_bytes()).unwrap()).unwrap();
    }
    std::fs::remove_file(dir.join("revocation.age")).unwrap();
    std::fs::remove_file(dir.join("revocation-retired.age")).unwrap();
}

#[test]
fn an_old_threshold_vault_keeps_working_and_rewrap_seals_the_revocations_apart() {
    let (env, ids, rs) = two_of_three();
    old_layout(&env, &ids, &rs);
    let dir = env.key_dir();
    // Before: the drill says the revocations are inside the shares, and
    // one root alone cannot revoke.
    let out = env.run_with_ids("2026-10-05", &["escrow", "verify"], &[&ids[0]]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("inside the shares"), "{text}");
    let revoke = REVOKE_ESCROWED;
    let out = env.run_with_ids("2026-11-01", &revoke, &[&ids[0]]);
    assert!(!out.status.success());
    // Two roots re-wrap: the revocations are sealed apart.
    let out = env.run_with_ids("2026-10-06", &["escrow", "rewrap"], &[&ids[0], &ids[1]]);
    assert_ok(&out);
    for id in &ids {
        assert!(age_opens(id, &dir.join("revocation.age")));
    }
    let out = env.run_with_ids("2026-11-01", &revoke, &[&ids[1]]);
    assert_ok(&out);
}
