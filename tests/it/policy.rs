//! The signed vault policy against someone with commit access to the vault
//! (docs/threat-model.md, attacks 1 and 2): a planted key is never adopted,
//! resumed, cross-signed or trusted; a roster, state or threshold edit
//! seals nothing to anyone until M roots sign; version 1 is pinned.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

const T: &str = "2026-08-01T12:00:00Z";
const LATER: &str = "2026-08-20T12:00:00Z";

/// Another machine: its own trust store.
fn machine(env: &Env, name: &str) -> PathBuf {
    let home = env.path(name);
    std::fs::create_dir_all(&home).unwrap();
    home
}

/// The digest of the vault's policy version 1.
fn v1_digest(env: &Env) -> String {
    let out = env.ok(&["--json", "policy", "show", "1"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["digest"].as_str().unwrap().to_string()
}

fn key_dirs(vault: &Path) -> Vec<PathBuf> {
    let mut d: Vec<_> = std::fs::read_dir(vault.join("keys"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    d.sort();
    d
}

/// Attack 1: a key directory committed under keys/, escrowed to the roots'
/// real recipients (the attacker made it from a copy of the vault, so the
/// escrow drill would pass).
/// `ceremony --cycle 2027.2` at LATER, unattended but for publishing.
fn ceremony_2027_2(k: &Keyed) -> Output {
    let id = k.id();
    let answers = ["--confirm-roster", "--fingerprint-read", "--identity", &id];
    let args = [
        &["ceremony", "--cycle", "2027.2"],
        &answers[..],
        &["--no-publish"],
    ]
    .concat();
    k.env.run_at(LATER, &args)
}

#[test]
fn attack_planted_key_is_never_adopted_resumed_cross_signed_or_trusted() {
    let (k, _ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    // The attacker's copy, on their own machine (they pin what they like).
    let evil = machine(env, "attacker-home");
    let copy = env.path("attacker-vault");
    copy_dir(&env.vault, &copy);
    let attacker = |args: &[&str]| {
        let out = assert_cmd::Command::new(BIN)
            .args(["--batch", "--time", LATER, "--vault"])
            .arg(&copy)
            .env("KEYCYCLE_HOME", &evil)
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "attacker {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    attacker(&["policy", "pin", &v1_digest(env)]);
    let planted: serde_json::Value =
        serde_json::from_str(&attacker(&["--json", "generate", "--cycle", "2027.2"])).unwrap();
    let planted_fpr = planted["fingerprint"].as_str().unwrap().to_string();
    let sub = env.path("attacker-subkey.asc");
    attacker(&[
        "export",
        "signing-subkey",
        &planted_fpr,
        "--identity",
        &k.id(),
        "-o",
        sub.to_str().unwrap(),
    ]);
    std::fs::write(env.path("evil.tar.gz"), b"backdoored release\n").unwrap();
    attacker(&[
        "sign",
        "--key",
        sub.to_str().unwrap(),
        env.path("evil.tar.gz").to_str().unwrap(),
    ]);
    // The commit: the key directory and a ceremony record that "resumes" it.
    let dir = planted["directory"].as_str().unwrap();
    let name = Path::new(dir).file_name().unwrap();
    copy_dir(Path::new(dir), &env.vault.join("keys").join(name));
    std::fs::create_dir_all(env.vault.join("ceremonies")).unwrap();
    std::fs::write(
        env.vault.join("ceremonies/2027.2.toml"),
        format!("cycle = \"2027.2\"\nfingerprint = \"{planted_fpr}\"\n\n[done]\ngenerate = \"{planted_fpr}\"\nfingerprint = \"read aloud\"\ndrill = \"opened and checked\"\n"),
    )
    .unwrap();
    let planted_cert = env.vault.join("keys").join(name).join("cert.asc");
    let cert_before = std::fs::read(&planted_cert).unwrap();

    // Detected: status --check is CRITICAL and names the directory.
    let out = env.run_at(LATER, &["status", "--check"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert!(text.contains("appeared by commit"), "{text}");
    // Never trusted by verify without --cert.
    let out = env.run_at(
        LATER,
        &["verify", env.path("evil.tar.gz").to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("BAD"));
    // Never cross-signed or handed to CI.
    let err = one_refusal(&env.run_at(
        LATER,
        &[
            "cross-sign",
            "--from",
            "2027.1",
            "--to",
            &planted_fpr,
            "--identity",
            &k.id(),
        ],
    ));
    assert!(err.contains("appeared by commit"), "{err}");
    let err = one_refusal(&env.run_at(
        LATER,
        &[
            "export",
            "signing-subkey",
            &planted_fpr,
            "--identity",
            &k.id(),
        ],
    ));
    assert!(err.contains("appeared by commit"), "{err}");
    // Never resumed by the ceremony.
    let out = ceremony_2027_2(&k);
    let err = one_refusal(&out);
    assert!(
        err.contains(&planted_fpr) || err.contains("appeared by commit"),
        "{err}"
    );
    assert_eq!(
        std::fs::read(&planted_cert).unwrap(),
        cert_before,
        "not cross-signed"
    );
    // Never adopted by generate as "completed after an interruption".
    let made: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "generate", "--cycle", "2027.2"])).unwrap();
    assert_ne!(made["fingerprint"].as_str().unwrap(), planted_fpr);
    let log = std::fs::read_to_string(env.vault.join("audit.log")).unwrap();
    assert!(!log.contains("completed_after_interruption"), "{log}");
    assert_eq!(key_dirs(&env.vault).len(), 3);
}

/// Attack 2a: a member appended to roster/roster.toml is in no escrow,
/// even after a rewrap or a new key, until the roots sign a policy.
#[test]
fn attack_roster_append_seals_nothing_to_the_attacker() {
    let (k, _ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    let (mallory, mallory_r) = env.age_identity("mallory");
    let roster = env.vault.join("roster/roster.toml");
    let mut text = std::fs::read_to_string(&roster).unwrap();
    text.push_str(&format!(
        "\n[[member]]\nname = \"Mallory\"\nemail = \"mallory@example.org\"\nescrow_recipient = \"{mallory_r}\"\n"
    ));
    std::fs::write(&roster, text).unwrap();
    let out = env.run_at(LATER, &["status", "--check"]);
    let status = String::from_utf8_lossy(&out.stdout);
    assert!(status.contains("changed but not signed"), "{status}");
    k.rewrap(LATER);
    let made = env.generate("2027.2");
    let new_dir = PathBuf::from(made["directory"].as_str().unwrap());
    for dir in key_dirs(&env.vault) {
        for f in ["primary.age", "revocation.age", "revocation-retired.age"] {
            assert!(
                !age_opens(&mallory, &dir.join(f)),
                "{} opens for Mallory",
                dir.join(f).display()
            );
            assert!(age_opens(&k.roster.age_id, &dir.join(f)));
        }
    }
    assert!(new_dir.is_dir());
    // The ceremony shows the recipients it seals to: Mallory is not there.
    let out = ceremony_2027_2(&k);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains(&k.roster.age_r), "{said}");
    assert!(said.contains("the signed policy, version 1"), "{said}");
    assert!(!said.contains(&mallory_r), "{said}");
}

/// Attack 2b: a recipient added to a key's state.toml is not sealed to by
/// extend or rotate-subkey.
#[test]
fn attack_state_recipient_seals_nothing_to_the_attacker() {
    let (k, _ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    let (mallory, mallory_r) = env.age_identity("mallory");
    let state = k_dir(env).join("state.toml");
    let text = std::fs::read_to_string(&state).unwrap().replace(
        "escrow_recipients = [",
        &format!("escrow_recipients = [\"{mallory_r}\", "),
    );
    std::fs::write(&state, text).unwrap();
    assert_ok(&k.extend(LATER, "2027-07-01"));
    env.cmd_at(LATER)
        .args(rotate_subkey_args("2027.1", "superseded", "test", &k.id()))
        .assert()
        .success();
    let dir = k_dir(env);
    for f in ["primary.age", "revocation.age", "revocation-retired.age"] {
        assert!(!age_opens(&mallory, &dir.join(f)), "{f} opens for Mallory");
        assert!(age_opens(&k.roster.age_id, &dir.join(f)), "{f}");
    }
}

fn k_dir(env: &Env) -> PathBuf {
    key_dirs(&env.vault).remove(0)
}

/// Attack 2c: `[escrow] threshold` lowered in keycycle.toml turns no 2-of-2
/// escrow into 1-of-N.
#[test]
fn attack_threshold_lowered_has_no_effect() {
    let env = Env::new(T);
    let (roster, _ada, _bob) = {
        env.ok(&["init"]);
        env.edit_config("threshold = 1\n", "threshold = 2\n");
        env.signing_roster()
    };
    env.generate("next");
    assert!(k_dir(&env).join("shares").is_dir());
    env.edit_config("threshold = 2\n", "threshold = 1\n");
    let both = [
        roster.age_id.display().to_string(),
        roster.ssh_id.display().to_string(),
    ];
    env.cmd_at(LATER)
        .args([
            "escrow",
            "rewrap",
            "--identity",
            &both[0],
            "--identity",
            &both[1],
        ])
        .assert()
        .success();
    let dir = k_dir(&env);
    assert!(dir.join("shares").is_dir() && !dir.join("primary.age").exists());
    let err = one_refusal(
        &env.cmd_at(LATER)
            .args(["export", "signing-subkey", "2027.1", "--identity", &both[0]])
            .output()
            .unwrap(),
    );
    assert!(err.contains("needs 2 of 2 shares"), "{err}");
    let out = env.run_at(LATER, &["status", "--check"]);
    assert!(String::from_utf8_lossy(&out.stdout).contains("changed but not signed"));
}

/// A change needs M signatures by the roots of the version in force: one
/// of two is a proposal (shown, not used); a tampered version counts for
/// nothing; gpg's detached signature counts like keycycle's.
#[test]
fn a_policy_change_takes_effect_only_with_m_root_signatures() {
    let env = Env::new(T);
    env.ok(&["init"]);
    env.edit_config("[policy]\n", "[policy]\n# two roots sign every change\n");
    env.edit_config("threshold = 0\n", "threshold = 2\n");
    let (roster, ada, bob) = env.signing_roster();
    env.generate("next");
    let status_now = || {
        let out = env.run_at(LATER, &["policy", "status"]);
        assert_ok(&out);
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (carol, carol_r) = env.age_identity("carol");
    env.roster_add("Carol", "carol@example.org", &carol_r);
    assert_eq!(env.propose(LATER), 2);
    ada.sign_policy(&env, LATER);
    let status = status_now();
    assert!(
        status.contains("pending: version 2") && status.contains("1 of 2 signatures"),
        "{status}"
    );
    let rewrap = || {
        env.cmd_at(LATER)
            .args([
                "escrow",
                "rewrap",
                "--identity",
                &roster.age_id.display().to_string(),
            ])
            .assert()
            .success();
    };
    rewrap();
    let primary = k_dir(&env).join("primary.age");
    assert!(
        !age_opens(&carol, &primary),
        "one signature of two changes nothing"
    );
    // A tampered proposal: Bob's signature is over other bytes.
    let v2 = env.vault.join("policy/v2.toml");
    let good = std::fs::read(&v2).unwrap();
    std::fs::write(
        &v2,
        String::from_utf8_lossy(&good).replace("Carol", "Carla"),
    )
    .unwrap();
    bob.sign_policy_with_gpg(&env, 2);
    std::fs::write(&v2, &good).unwrap();
    let status = status_now();
    assert!(
        status.contains("1 of 2") && status.contains("BAD"),
        "{status}"
    );
    rewrap();
    assert!(!age_opens(&carol, &primary));
    // Bob signs the real file with gpg: in force.
    bob.sign_policy_with_gpg(&env, 2);
    let status = status_now();
    assert!(status.contains("in force: policy version 2"), "{status}");
    rewrap();
    assert!(age_opens(&carol, &primary), "the signed change is in force");
}

/// Version 1 is trusted because it is pinned here: a fresh machine trusts
/// nothing until it pins the digest; a replaced or removed policy is
/// refused.
#[test]
fn the_first_policy_is_pinned_and_a_replaced_one_is_refused() {
    let (k, _ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    let digest = v1_digest(env);
    let fresh = machine(env, "laptop");
    let on = |args: &[&str]| {
        env.cmd_at(LATER)
            .env("KEYCYCLE_HOME", &fresh)
            .args(args)
            .output()
            .unwrap()
    };
    let err = one_refusal(&on(&["escrow", "rewrap", "--identity", &k.id()]));
    assert!(
        err.contains("has not pinned") && err.contains(&digest),
        "{err}"
    );
    let err = one_refusal(&on(&["policy", "pin", "sha256:0000"]));
    assert!(err.contains("not the digest given"), "{err}");
    assert!(on(&["policy", "pin", &digest]).status.success());
    assert!(on(&["escrow", "rewrap", "--identity", &k.id()])
        .status
        .success());
    // Someone replaces version 1 in the repository.
    let before = snapshot(&env.vault);
    let v1 = env.vault.join("policy/v1.toml");
    let text = std::fs::read_to_string(&v1)
        .unwrap()
        .replace("Bob", "Mallory");
    std::fs::write(&v1, text).unwrap();
    let err = one_refusal(&on(&["escrow", "rewrap", "--identity", &k.id()]));
    assert!(
        err.contains("is not the version 1 this machine pinned"),
        "{err}"
    );
    // ... or removes the policy.
    std::fs::remove_dir_all(env.vault.join("policy")).unwrap();
    let err = one_refusal(&env.run_at(LATER, &["generate", "--cycle", "2027.2"]));
    assert!(err.contains("signed policy is missing"), "{err}");
    let mut after = snapshot(&env.vault);
    after.retain(|p, _| !p.starts_with(env.vault.join("policy")));
    let mut before = before;
    before.retain(|p, _| !p.starts_with(env.vault.join("policy")));
    assert_eq!(after, before, "nothing else changed");
}

/// `policy sign --with-key` given a public certificate (the file on the
/// roster, or the signing subkey's public half) says a root signs with
/// their own secret key, not "the signing subkey exported for CI".
#[test]
fn policy_sign_with_a_public_certificate_names_the_root_secret_key() {
    let env = Env::new("2026-08-15T10:00:00Z");
    env.ok(&["init"]);
    let (_id, r) = env.age_identity("ada");
    let ada = gpg_root(&env, "Ada");
    env.roster_add_root("Ada", "ada@example.org", &ada.public, &r);
    env.ok(&["generate", "--cycle", "2027.1"]);
    env.ok(&["policy", "propose", "--expires", "2027-06-01"]);
    let out = env.fails(&["policy", "sign", "--with-key", ada.public.to_str().unwrap()]);
    let e = one_refusal(&out);
    assert!(e.contains("public certificate"), "{e}");
    assert!(e.contains("your own secret key"), "{e}");
    assert!(!e.contains("signing-subkey"), "{e}");
    ada.sign_policy(&env, &env.time);
}
