//! Between ceremonies: extend, rotate-subkey, revoke, escrow drill and
//! re-wrap, and the audit log's hash chain.

use crate::common::*;
use std::path::{Path, PathBuf};

const GEN: &str = "2026-08-01T12:00:00Z";

/// The shared fixture: a vault with the 2027.1 key generated at GEN.
type K = Keyed;

fn key() -> K {
    vault_with_key(GEN)
}

/// What these tests do with the key: export, sign, verify, list.
trait Maintain {
    fn export(&self, at: &str, name: &str) -> PathBuf;
    fn sign(&self, at: &str, key: &Path, name: &str) -> PathBuf;
    fn verifies(&self, at: &str, f: &Path) -> bool;
    /// gpg's colon listing of the cert at `at`.
    fn gpg_listing(&self, at: &str) -> String;
}

impl Maintain for K {
    fn export(&self, at: &str, name: &str) -> PathBuf {
        let p = self.env.path(name);
        self.env
            .cmd_at(at)
            .args([
                "export",
                "signing-subkey",
                "2027.1",
                "--overwrite",
                "--identity",
                &self.id(),
                "-o",
            ])
            .arg(&p)
            .assert()
            .success();
        p
    }
    fn sign(&self, at: &str, key: &Path, name: &str) -> PathBuf {
        let f = self.env.path(name);
        std::fs::write(&f, name.as_bytes()).unwrap();
        let out = self
            .env
            .cmd_at(at)
            .args(["sign", "--key"])
            .arg(key)
            .arg(&f)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "sign at {at}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        f
    }
    fn verifies(&self, at: &str, f: &Path) -> bool {
        self.env
            .cmd_at(at)
            .args(["verify"])
            .arg(f)
            .output()
            .unwrap()
            .status
            .success()
    }
    fn gpg_listing(&self, at: &str) -> String {
        let gpg = Gpg::at(at);
        gpg.ok(
            &[
                "--show-keys",
                "--with-colons",
                self.env.key_dir().join("cert.asc").to_str().unwrap(),
            ],
            None,
        )
    }
}

#[test]
fn extend_moves_expiry_and_later_signatures_verify() {
    let k = key();
    let old = k.export("2026-10-01", "old.asc");
    let before = k.sign("2026-10-02", &old, "before.tar.gz");
    assert_ok(&k.extend("2027-04-01", "2027-08-01"));
    let listing = k.gpg_listing("2027-04-02");
    let until = "1817078400"; // 2027-08-01T00:00:00Z
    for l in listing
        .lines()
        .filter(|l| l.starts_with("pub:") || l.starts_with("sub:"))
    {
        assert_eq!(l.split(':').nth(6), Some(until), "{l}");
    }
    // After the old expiry (2027-05-28) the re-exported subkey still signs.
    let new = k.export("2027-04-02", "new.asc");
    let late = k.sign("2027-06-15", &new, "late.tar.gz");
    assert!(k.verifies("2027-06-20", &late));
    assert!(k.verifies("2027-06-20", &before));
    // Shortening is refused.
    let out = k.extend("2027-04-03", "2027-07-01");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not later than"));
}

#[test]
fn rotation_keeps_earlier_signatures_and_stops_later_ones() {
    let k = key();
    let old = k.export("2026-10-01", "old.asc");
    let before = k.sign("2026-10-02", &old, "before.tar.gz");
    k.env
        .cmd_at("2026-11-01")
        .args(rotate_subkey_args(
            "2027.1",
            "superseded",
            "Unscheduled subkey rotation",
            &k.id(),
        ))
        .assert()
        .success();
    let listing = k.gpg_listing("2026-11-02");
    let subs: Vec<&str> = listing.lines().filter(|l| l.starts_with("sub:")).collect();
    assert_eq!(subs.len(), 2, "{listing}");
    assert!(
        subs.iter().any(|l| l.starts_with("sub:r:")),
        "old subkey revoked: {listing}"
    );
    assert!(
        k.verifies("2026-11-10", &before),
        "before the rotation: still good"
    );
    // The old subkey, used after the rotation, is refused by sign and verify.
    let f = k.env.path("after.tar.gz");
    std::fs::write(&f, b"after").unwrap();
    // (the old exported file does not carry the revocation; verify does)
    k.env
        .cmd_at("2026-11-05")
        .args(["sign", "--key"])
        .arg(&old)
        .arg(&f)
        .assert()
        .success();
    assert!(!k.verifies("2026-11-10", &f), "after the rotation: bad");
    let new = k.export("2026-11-02", "new.asc");
    let fresh = k.sign("2026-11-05", &new, "fresh.tar.gz");
    assert!(k.verifies("2026-11-10", &fresh));
}

#[test]
fn revocations_hard_and_soft_with_master_and_escrowed_certificate() {
    // Superseded with the master: earlier signatures stay good.
    let k = key();
    let sub = k.export("2026-10-01", "sub.asc");
    let early = k.sign("2026-10-02", &sub, "early.tar.gz");
    let out = k.env.run_at(
        "2026-11-01",
        &reasoned_args("revoke", "2027.1", "superseded", "replaced", &k.id()),
    );
    assert!(!out.status.success(), "--batch needs --yes");
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --yes"));
    let id = k.id();
    let revoke = [&REVOKE_SUPERSEDED[..], &["--identity", &id]].concat();
    assert_ok(&k.env.run_at("2026-11-01", &revoke));
    assert_gpg_revoked("2026-11-02", &k.env.key_dir().join("cert.asc"));
    assert!(
        k.verifies("2026-11-10", &early),
        "soft: earlier signature good"
    );
    let s: serde_json::Value = serde_json::from_str(
        &k.env
            .cmd_at("2026-11-10")
            .args(["--json", "status", "2027.1"])
            .output()
            .map(|o| String::from_utf8(o.stdout).unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(s["keys"][0]["revocation"]["reason"], "superseded");

    // Master lost: the escrowed (compromised) certificate voids everything.
    let k = key();
    let sub = k.export("2026-10-01", "sub.asc");
    let early = k.sign("2026-10-02", &sub, "early.tar.gz");
    let ssh = k.roster.ssh_id.display().to_string();
    let revoke = [&REVOKE_ESCROWED[..], &["--identity", &ssh]].concat();
    assert_ok(&k.env.run_at("2026-11-01", &revoke));
    assert_gpg_revoked("2026-11-02", &k.env.key_dir().join("cert.asc"));
    assert!(
        !k.verifies("2026-11-10", &early),
        "hard: every signature void"
    );
    let out = k.env.run_at("2026-11-10", &["status", "--check", "2027.1"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn escrow_drill_and_rewrap_after_a_root_leaves() {
    let (k, ada, _bob) = vault_with_signed_key(GEN);
    for id in [&k.roster.age_id, &k.roster.ssh_id] {
        let out = k
            .env
            .cmd_at("2026-09-01")
            .args(["escrow", "verify", "--identity"])
            .arg(id)
            .output()
            .unwrap();
        assert_ok(&out);
        assert!(String::from_utf8_lossy(&out.stdout).contains("the secret matches the cert"));
    }
    let (foreign, _) = k.env.age_identity("foreign");
    let out = k
        .env
        .cmd_at("2026-09-01")
        .args(["escrow", "verify", "--identity"])
        .arg(&foreign)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("none of the given identities"));
    // Bob (the SSH root) leaves; Carol joins. The roster is only a draft:
    // a rewrap before the roots sign the change seals to the same roots.
    let (carol, carol_r) = k.env.age_identity("carol");
    k.env.ok(&["roster", "remove", "Bob"]);
    k.env.roster_add("Carol", "carol@example.org", &carol_r);
    let rewrap = || {
        k.rewrap("2026-09-02");
    };
    rewrap();
    let primary = k.env.key_dir().join("primary.age");
    let bob_opens = || {
        std::process::Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&k.roster.ssh_id)
            .arg(&primary)
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(bob_opens(), "an unsigned roster change changes no escrow");
    assert!(!String::from_utf8_lossy(&std::fs::read(&primary).unwrap()).is_empty());
    // Proposed and signed by Ada (the policy threshold is 1): in force.
    assert_eq!(k.env.propose("2026-09-02"), 2);
    ada.sign_policy(&k.env, "2026-09-02");
    rewrap();
    assert!(!bob_opens(), "Bob no longer opens the escrow");
    for id in [&k.roster.age_id, &carol] {
        assert!(String::from_utf8_lossy(&age_decrypt(id, &primary)).contains("PRIVATE KEY BLOCK"));
        k.env
            .cmd_at("2026-09-03")
            .args(["escrow", "verify", "--identity"])
            .arg(id)
            .assert()
            .success();
    }
    assert_eq!(k.fpr.len(), 40);
}

#[test]
fn audit_log_edits_and_deletions_are_detected() {
    let k = key();
    k.env.ok(&["audit", "verify"]);
    let path = k.env.vault.join("audit.log");
    let text = std::fs::read_to_string(&path).unwrap();
    // Any single changed byte breaks the chain.
    for pos in [10, text.len() / 2, text.len() - 5] {
        let mut b = text.clone().into_bytes();
        b[pos] = if b[pos] == b'1' { b'2' } else { b'1' };
        std::fs::write(&path, &b).unwrap();
        let out = k.env.run(&["audit", "verify"]);
        assert!(!out.status.success(), "edit at {pos} undetected");
    }
    let lines: Vec<&str> = text.lines().collect();
    let without: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 1)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    std::fs::write(&path, without).unwrap();
    assert!(!k.env.run(&["audit", "verify"]).status.success());
    let mut swapped = lines.clone();
    swapped.swap(1, 2);
    std::fs::write(&path, swapped.join("\n") + "\n").unwrap();
    assert!(!k.env.run(&["audit", "verify"]).status.success());
    std::fs::write(&path, &text).unwrap();
    k.env.ok(&["audit", "verify"]);
}

#[test]
fn threshold_two_of_three() {
    let env = Env::new(GEN);
    let (ids, _) = env.two_of_three_roots();
    env.ok(&["generate", "--cycle", "next"]);
    let dir = env.key_dir();
    // The secret in shares only; the revocations sealed apart, to every root.
    assert!(!dir.join("primary.age").exists() && dir.join("revocation.age").exists());
    let shares: Vec<PathBuf> = {
        let mut v: Vec<_> = std::fs::read_dir(dir.join("shares"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    };
    assert_eq!(shares.len(), 3);
    // Each share opens with its holder's identity only, and alone it is not the key.
    for (share, id) in shares.iter().zip(&ids) {
        let text = std::fs::read_to_string(share).unwrap();
        assert!(text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
        let plain = String::from_utf8(age_decrypt(id, share)).unwrap();
        assert!(plain.starts_with("keycycle-share v1") && plain.contains("threshold: 2"));
        assert!(!plain.contains("PRIVATE KEY"));
    }
    let export = |idx: &[usize], extra: &[&Path]| {
        let mut c = env.cmd_at("2026-10-01");
        c.args(EXPORT_SUBKEY);
        for i in idx {
            c.arg("--identity").arg(&ids[*i]);
        }
        for e in extra {
            c.arg("--identity").arg(e);
        }
        c.output().unwrap()
    };
    // Any two open it; one does not, and says how many more are needed.
    for pair in [[0, 1], [0, 2], [1, 2]] {
        let out = export(&pair, &[]);
        assert!(
            out.status.success(),
            "{pair:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = export(&[1], &[]);
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("needs 2 of 3 shares; 1 given: 1 more needed"),
        "{e}"
    );
    // A share decrypted by its holder, handed in as a file, counts.
    let handed = env.path("cat-share.txt");
    std::fs::write(&handed, age_decrypt(&ids[2], &shares[2])).unwrap();
    assert!(export(&[0], &[&handed]).status.success());
    // The drill opens one share and reconstructs nothing.
    let out = env
        .cmd_at("2026-10-01")
        .args(["escrow", "verify", "--identity"])
        .arg(&ids[0])
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("share 1 of 3 (threshold 2) held by Ann"));
    // Extend re-shares (two roots needed), and the result still opens.
    env.cmd_at("2027-04-01")
        .args(["extend", "2027.1", "--until", "2027-08-01", "--identity"])
        .arg(&ids[0])
        .arg("--identity")
        .arg(&ids[2])
        .assert()
        .success();
    assert!(export(&[1, 2], &[]).status.success());
}

/// Master lost but not compromised: the escrowed ladder's newest rung not
/// after now is published; what was signed before its date still verifies,
/// what was signed after does not.
#[test]
fn a_lost_master_is_retired_with_the_escrowed_ladder() {
    let k = key();
    let sub = k.export("2026-10-01", "sub.asc");
    let early = k.sign("2026-10-02", &sub, "early.tar.gz");
    let late = k.sign("2026-11-03", &sub, "late.tar.gz");
    let out = k
        .env
        .cmd_at("2026-11-04T12:00:00Z")
        .args(escrowed_revoke("retired", "lost"))
        .arg("--identity")
        .arg(&k.roster.age_id)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stdout);
    assert_ok(&out);
    // Rungs are weekly from creation (GEN, 2026-08-01): the newest not
    // after 2026-11-04 is 2026-10-31.
    assert!(said.contains("(retired, dated 2026-10-31)"), "{said}");
    assert_gpg_revoked("2026-11-05", &k.env.key_dir().join("cert.asc"));
    assert!(
        k.verifies("2026-11-10", &early),
        "soft: earlier signatures stay valid"
    );
    assert!(
        !k.verifies("2026-11-10", &late),
        "signatures after the rung are void"
    );
    let status = k.env.run_at("2026-11-10", &["status", "2027.1"]);
    let status = String::from_utf8_lossy(&status.stdout);
    assert!(status.contains("retired"), "{status}");
    // Other reasons are not in the escrow.
    let out = k
        .env
        .cmd_at("2026-11-04")
        .args(escrowed_revoke("superseded", "x"))
        .arg("--identity")
        .arg(&k.roster.age_id)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no 'superseded' revocation"));
}

/// Two extensions in the same second: the second one's self-signatures
/// are dated after the first's, so gpg and keycycle agree on the expiry.
/// A rewrap keeps the ladder (its rungs after the newest binding).
#[test]
fn same_second_extensions_agree_and_rewrap_keeps_the_ladder() {
    let k = key();
    let rungs = |k: &K| {
        let text = age_decrypt(
            &k.roster.age_id,
            &k.env.key_dir().join("revocation-retired.age"),
        );
        let mut n = 0;
        let ppr = sequoia_openpgp::PacketPile::from_bytes(&text).unwrap();
        for p in ppr.children() {
            if matches!(p, sequoia_openpgp::Packet::Signature(_)) {
                n += 1;
            }
        }
        n
    };
    use sequoia_openpgp::parse::Parse;
    let before = rungs(&k);
    for until in ["2027-08-01", "2027-09-15"] {
        k.env
            .cmd_at("2026-10-01T00:00:00Z")
            .args(["extend", "2027.1", "--until", until, "--identity", &k.id()])
            .assert()
            .success();
    }
    let listing = k.gpg_listing("2026-10-02");
    let pub_line = listing.lines().find(|l| l.starts_with("pub:")).unwrap();
    let expires: i64 = pub_line.split(':').nth(6).unwrap().parse().unwrap();
    let want = chrono::DateTime::parse_from_rfc3339("2027-09-15T00:00:00Z")
        .unwrap()
        .timestamp();
    assert_eq!(expires, want, "gpg: {pub_line}");
    let s: serde_json::Value = serde_json::from_slice(
        &k.env
            .run_at("2026-10-02", &["--json", "status", "2027.1"])
            .stdout,
    )
    .unwrap();
    assert!(s.to_string().contains("2027-09-15"), "{s}");
    let extended = rungs(&k);
    assert!(extended > before, "{before} -> {extended}");
    // A rewrap months later still holds the rungs dated in the past.
    k.rewrap("2027-02-01");
    assert_eq!(rungs(&k), extended);
}

/// `status --check` warns while the escrow and the roster disagree (a root
/// joined or left) until `escrow rewrap`; past cycles' keys are notes.
#[test]
fn status_warns_until_the_escrow_matches_the_roster() {
    let (k, ada, _bob) = vault_with_signed_key(GEN);
    let check = |at: &str| {
        let out = k.env.run_at(at, &["status", "--check", "2027.1"]);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, text) = check("2026-10-01");
    assert!(!text.contains("escrow does not match"), "{text}");
    assert!(
        !text.contains("not signed") && !text.contains("escrow is not sealed"),
        "{text}"
    );
    let (_, carol_r) = k.env.age_identity("carol");
    k.env.roster_add("Carol", "carol@example.org", &carol_r);
    let (code2, text2) = check("2026-10-01");
    assert!(
        text2.contains("the roster or the thresholds were changed but not signed"),
        "{text2}"
    );
    assert!(code2 >= Some(1) && code2 >= code, "{code2:?}");
    let rewrap = || {
        k.rewrap("2026-10-01");
    };
    // Signed: the escrow no longer matches the policy in force until rewrap.
    k.env.propose("2026-10-01");
    ada.sign_policy(&k.env, "2026-10-01");
    let (code3, text3) = check("2026-10-01");
    assert!(text3.contains("the escrow is not sealed to the roots of the signed policy: run keycycle escrow rewrap"), "{text3}");
    assert!(code3 >= Some(1), "{code3:?}");
    rewrap();
    let (code4, text4) = check("2026-10-01");
    assert!(
        !text4.contains("not signed") && !text4.contains("escrow is not sealed"),
        "{text4}"
    );
    assert_eq!(code4, code);
    // Long after: the 2027.1 key is a past cycle's; its expiry is a note.
    let out = k.env.run_at("2028-06-01", &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("note (past cycle): expired"), "{text}");
    assert!(!text.contains("  CRITICAL: expired"), "{text}");
}
