//! The policy's history only moves forward (docs/threat-model.md, attacks
//! 9–13), against someone who can commit to the vault and holds no root's
//! secret: deleting a version or its signatures, voiding a root's old
//! signatures with their public hard revocation, re-encoding a signed file,
//! a new version signed without its new roots, a version that breaks the
//! rules, an expired policy, a truncated or rewritten audit log. Each is a
//! plain file edit and then the command a root runs next; age, gpg and the
//! exit status judge.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

const T: &str = "2026-08-01T12:00:00Z";
const LATER: &str = "2026-08-20T12:00:00Z";
const AFTER: &str = "2026-09-01T12:00:00Z";

/// `policy propose --expires UNTIL` at `at`: the next version, the same
/// roster.
fn renew(env: &Env, at: &str, until: &str) {
    let out = env.run_at(at, &["--json", "policy", "propose", "--expires", until]);
    assert_ok(&out);
}

/// A vault whose roots removed Bob in policy version 2 (Ada signed it), and
/// whose escrow was re-wrapped since: Bob's SSH key no longer opens it.
struct BobLeft {
    k: Keyed,
    ada: GpgRoot,
    primary: PathBuf,
}

fn bob_left() -> BobLeft {
    let (k, ada, _bob) = vault_with_signed_key(T);
    k.env
        .cmd_at(LATER)
        .args(["roster", "remove", "Bob"])
        .assert()
        .success();
    assert_eq!(k.env.propose(LATER), 2);
    ada.sign_policy(&k.env, LATER);
    let primary = k.env.key_dir().join("primary.age");
    let b = BobLeft { k, ada, primary };
    assert!(b.rewrap(AFTER).status.success());
    assert!(age_opens(&b.k.roster.age_id, &b.primary));
    assert!(!age_opens(&b.k.roster.ssh_id, &b.primary), "Bob left");
    b
}

impl BobLeft {
    fn rewrap(&self, at: &str) -> Output {
        self.k
            .env
            .run_at(at, &["escrow", "rewrap", "--identity", &self.k.id()])
    }

    /// The escrow re-wrapped by the next honest root, and whether Bob's
    /// SSH key opens it then.
    fn bob_opens_after_rewrap(&self) -> bool {
        let out = self.rewrap(AFTER);
        out.status.success() && age_opens(&self.k.roster.ssh_id, &self.primary)
    }

    fn policy_status(&self) -> String {
        let out = self.k.env.run_at(AFTER, &["policy", "status"]);
        assert_ok(&out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Version 2 is in force, and a rewrap keeps Bob out.
    fn assert_version_2_stays_in_force(&self) {
        let status = self.policy_status();
        assert!(status.contains("in force: policy version 2"), "{status}");
        assert!(!self.bob_opens_after_rewrap(), "version 1 came back");
    }

    fn file(&self, rel: &str) -> PathBuf {
        self.k.env.vault.join(rel)
    }
}

/// Attack 9a: `policy/v2.toml` deleted. Version 1 (Bob still a root)
/// would be back in force: every command that reads the policy refuses,
/// naming both versions, and monitoring is CRITICAL.
#[test]
fn a_deleted_version_is_a_rollback_and_refused() {
    let b = bob_left();
    std::fs::remove_file(b.file("policy/v2.toml")).unwrap();
    let err = one_refusal(&b.rewrap(AFTER));
    assert!(
        err.contains("policy/v2.toml is missing")
            && err.contains("accepted version 2")
            && err.contains("roll back to version 1"),
        "{err}"
    );
    assert!(err.contains("runbooks/policy-change.md"), "{err}");
    for args in [
        &["policy", "status"][..],
        &["generate", "--cycle", "2027.2"],
        &["export", "public", "2027.1"],
    ] {
        let err = one_refusal(&b.k.env.run_at(AFTER, args));
        assert!(err.contains("roll back to version 1"), "{args:?}: {err}");
    }
    let check = b.k.env.run_at(AFTER, &["status", "--check"]);
    assert_eq!(check.status.code(), Some(2), "status --check is CRITICAL");
    let said = String::from_utf8_lossy(&check.stdout);
    assert!(
        said.contains("CRITICAL: the signed policy cannot be trusted"),
        "{said}"
    );
    assert!(!age_opens(&b.k.roster.ssh_id, &b.primary));
}

/// Attack 9b: only `policy/v2.sig/` deleted. Version 2 was accepted on
/// this machine: it stays in force, and Bob stays out.
#[test]
fn deleted_signatures_leave_an_accepted_version_in_force() {
    let b = bob_left();
    std::fs::remove_dir_all(b.file("policy/v2.sig")).unwrap();
    b.assert_version_2_stays_in_force();
}

/// Attack 9c: Ada's public hard revocation (as she would publish it after
/// losing her key) added to `roster/<ADA>.asc`. gpg sees her key revoked;
/// the signature she made on version 2 while it was good still counts
/// here: an accepted version is never judged again.
#[test]
fn a_roots_later_hard_revocation_does_not_undo_what_she_signed() {
    use openpgp::parse::Parse;
    use openpgp::serialize::Serialize;
    use sequoia_openpgp as openpgp;
    let b = bob_left();
    let secret = openpgp::Cert::from_file(&b.ada.secret).unwrap();
    let revoked = hard_revoked(&secret, "2026-08-25T00:00:00Z");
    let file = b.file(&format!("roster/{}.asc", b.ada.fpr));
    assert!(file.exists(), "{}", file.display());
    let mut out = Vec::new();
    revoked.armored().serialize(&mut out).unwrap();
    std::fs::write(&file, out).unwrap();
    let colons = Gpg::at(AFTER).ok(
        &["--show-keys", "--with-colons", file.to_str().unwrap()],
        None,
    );
    assert!(
        colons.starts_with("pub:r:"),
        "gpg sees it revoked: {colons}"
    );
    b.assert_version_2_stays_in_force();
}

/// Attack 9d: `policy/v2.toml` re-encoded LF → CRLF (the signatures no
/// longer match it). Not the version 2 accepted here: refused, naming the
/// digest accepted and the file's.
#[test]
fn a_re_encoded_version_is_refused() {
    let b = bob_left();
    let v2 = b.file("policy/v2.toml");
    let text = std::fs::read_to_string(&v2).unwrap();
    std::fs::write(&v2, text.replace('\n', "\r\n")).unwrap();
    let err = one_refusal(&b.rewrap(AFTER));
    assert!(
        err.contains("policy/v2.toml is not the version 2 this machine accepted")
            && err.contains("roll back to version 1"),
        "{err}"
    );
    assert!(!age_opens(&b.k.roster.ssh_id, &b.primary));
}

/// Attack 10: a version that adds a root and raises the threshold needs
/// the threshold of the version in force (Ada: 1 of 1) AND its own (2 of
/// 3): Carol, the new root, co-signs before she can open anything.
#[test]
fn a_new_version_needs_its_own_roots_to_co_sign() {
    let (k, ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    let carol = gpg_root(env, "Carol");
    let (carol_id, carol_r) = env.age_identity("carol");
    env.roster_add_root("Carol", "carol@example.org", &carol.public, &carol_r);
    let cfg = env.vault.join("keycycle.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    assert!(text.contains("\nthreshold = 0\n"), "{text}");
    std::fs::write(&cfg, text.replace("\nthreshold = 0\n", "\nthreshold = 2\n")).unwrap();
    assert_eq!(env.propose(LATER), 2);
    ada.sign_policy(env, LATER);
    let status = env.ok(&["policy", "status"]);
    assert!(
        status.contains("pending: version 2") && status.contains("in force: policy version 1"),
        "{status}"
    );
    let rewrap = || {
        k.rewrap(AFTER);
    };
    let primary = env.key_dir().join("primary.age");
    rewrap();
    assert!(
        !age_opens(&carol_id, &primary),
        "version 2 is in force without its new root"
    );
    carol.sign_policy(env, LATER);
    let status = env.ok(&["policy", "status"]);
    assert!(status.contains("in force: policy version 2"), "{status}");
    rewrap();
    assert!(
        age_opens(&carol_id, &primary),
        "the co-signed version is in force"
    );
}

/// Version 2 as the roots would sign it, then edited by `edit` and signed
/// with gpg by Ada (who did not read it closely): refused on load, with
/// the file named and what is wrong, however many roots signed.
fn hand_written_v2(edit: impl Fn(&str) -> String, says: &str) {
    let (k, ada, bob) = vault_with_signed_key(T);
    let env = &k.env;
    renew(env, LATER, "2027-06-01");
    let v2 = env.vault.join("policy/v2.toml");
    let text = std::fs::read_to_string(&v2).unwrap();
    let edited = edit(&text);
    assert_ne!(edited, text);
    std::fs::write(&v2, edited).unwrap();
    ada.sign_policy_with_gpg(env, 2);
    bob.sign_policy_with_gpg(env, 2);
    let out = env.run_at(AFTER, &["escrow", "rewrap", "--identity", &k.id()]);
    let err = one_refusal(&out);
    assert!(
        err.contains("policy/v2.toml") && err.contains(says),
        "{err}"
    );
    assert!(err.contains("breaks the policy rules"), "{err}");
}

/// Attack 11a: `policy_threshold = 0` — every later version would need
/// no signature at all.
#[test]
fn a_loaded_version_with_threshold_zero_is_refused() {
    hand_written_v2(
        |t| t.replace("policy_threshold = 1", "policy_threshold = 0"),
        "policy threshold 0 of 2 roots is not possible",
    );
}

/// Attack 11b: Bob listed twice (his fingerprint under a second name):
/// his one signature would count twice.
#[test]
fn a_loaded_version_listing_a_fingerprint_twice_is_refused() {
    hand_written_v2(
        |t| {
            let bob = t.find("[[root]]\nname = \"Bob\"").unwrap();
            let end = t[bob + 1..].find("\n\n").map(|e| bob + 1 + e).unwrap();
            let block = &t[bob..end];
            let fpr = block
                .lines()
                .find(|l| l.starts_with("fingerprint"))
                .unwrap()
                .to_string();
            let twin = format!(
                "\n\n[[root]]\nname = \"Rob\"\nemail = \"rob@example.org\"\n{fpr}\nescrow_recipient = \"age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p\"\n"
            );
            format!("{}{twin}{}", &t[..end], &t[end..])
        },
        "two roots have the same OpenPGP fingerprint",
    );
}

/// Attack 12: the policy expires (here version 2 with `--expires
/// 2026-12-01`). `status` warns 30 days before; once expired, nothing is
/// sealed to the roots (rewrap, extend, generate) — but a release still
/// verifies and the key can still be revoked; a renewal signed by the
/// roots puts it right.
#[test]
fn an_expired_policy_seals_nothing_but_never_blocks_revocation() {
    let (k, ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    renew(env, LATER, "2026-12-01");
    ada.sign_policy(env, LATER);
    // A release signed in October.
    let (tarball, _) = signed_release(&k);
    let id = k.id();
    let check = env.run_at("2026-11-10", &["status", "--check"]);
    let said = String::from_utf8_lossy(&check.stdout);
    assert_eq!(check.status.code(), Some(1), "{said}");
    assert!(
        said.contains("WARNING: the policy in force (version 2) expires on 2026-12-01"),
        "{said}"
    );
    let expired = "2026-12-02T09:00:00Z";
    let run = |args: &[&str]| env.cmd_at(expired).args(args).output().unwrap();
    for args in [
        &["escrow", "rewrap", "--identity", &id][..],
        &[
            "extend",
            "2027.1",
            "--until",
            "2027-12-31",
            "--identity",
            &id,
        ],
        &["generate", "--cycle", "2027.2"],
    ] {
        let err = one_refusal(&run(args));
        assert!(
            err.contains("the policy in force (version 2) expired on 2026-12-01"),
            "{args:?}: {err}"
        );
        assert!(err.contains("revoking and verifying still work"), "{err}");
    }
    let check = run(&["status", "--check"]);
    assert_eq!(check.status.code(), Some(2));
    let verified = run(&["verify", tarball.to_str().unwrap()]);
    assert_ok(&verified);
    let revoked = run(&[
        "revoke",
        "2027.1",
        "--reason",
        "compromised",
        "--message",
        "drill",
        "--escrowed-certificate",
        "--identity",
        &id,
        "--yes",
    ]);
    assert_ok(&revoked);
    let cert = env.key_dir().join("cert.asc");
    let colons = Gpg::at(expired).ok(
        &["--show-keys", "--with-colons", cert.to_str().unwrap()],
        None,
    );
    assert!(colons.starts_with("pub:r:"), "{colons}");
    // The roots renew it.
    renew(env, expired, "2027-12-01");
    ada.sign_policy(env, expired);
    assert!(run(&["escrow", "rewrap", "--identity", &id])
        .status
        .success());
}

/// The audit log as it stands, and `audit verify` at `at` on the machine
/// whose trust store is `home`.
fn audit_verify(env: &Env, home: &Path) -> Output {
    env.cmd_at(AFTER)
        .env("KEYCYCLE_HOME", home)
        .args(["audit", "verify"])
        .output()
        .unwrap()
}

/// Attack 13: the audit log truncated (its tail dropped: the chain still
/// links) or replaced by another consistent log. This machine remembers
/// the head it wrote and verified; a fresh machine still has the head the
/// signed policy recorded at proposal.
#[test]
fn a_truncated_or_rewritten_audit_log_is_reported() {
    let (k, ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    let log_path = env.vault.join("audit.log");
    // Version 2 records the head at proposal; entries follow it.
    renew(env, LATER, "2027-06-01");
    ada.sign_policy(env, LATER);
    k.rewrap(AFTER);
    let here = trust_home();
    assert!(audit_verify(env, here).status.success());
    let log = std::fs::read_to_string(&log_path).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() >= 4, "{log}");

    // Only the last entry dropped: this machine saw it.
    std::fs::write(
        &log_path,
        format!("{}\n", lines[..lines.len() - 1].join("\n")),
    )
    .unwrap();
    let err = one_refusal(&audit_verify(env, here));
    assert!(
        err.contains("audit.log was truncated or rewritten") && err.contains("by this machine"),
        "{err}"
    );
    // A fresh machine (version 1 pinned, version 2 judged by its
    // signatures) does not know that entry, but the log must still hold
    // the head version 2 recorded: cut back to before the proposal.
    let fresh = env.path("fresh-machine");
    std::fs::create_dir_all(&fresh).unwrap();
    let digest: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "policy", "show", "1"])).unwrap();
    env.cmd_at(AFTER)
        .env("KEYCYCLE_HOME", &fresh)
        .args(["policy", "pin", digest["digest"].as_str().unwrap()])
        .assert()
        .success();
    assert!(audit_verify(env, &fresh).status.success());
    std::fs::write(&log_path, format!("{}\n", lines[..2].join("\n"))).unwrap();
    let fresh2 = env.path("fresh-machine-2");
    std::fs::create_dir_all(&fresh2).unwrap();
    env.cmd_at(AFTER)
        .env("KEYCYCLE_HOME", &fresh2)
        .args(["policy", "pin", digest["digest"].as_str().unwrap()])
        .assert()
        .success();
    let err = one_refusal(&audit_verify(env, &fresh2));
    assert!(err.contains("when policy version 2 was proposed"), "{err}");

    // Rewritten: another vault's log, a consistent chain of as many
    // entries, in its place.
    let other = Env::new(T);
    other.vault_with_signing_roster();
    other.generate("next");
    other.ok(&["audit", "verify"]);
    let forged = std::fs::read_to_string(other.vault.join("audit.log")).unwrap();
    std::fs::write(&log_path, &forged).unwrap();
    let err = one_refusal(&audit_verify(env, here));
    assert!(
        err.contains("audit.log was truncated or rewritten"),
        "{err}"
    );
}
