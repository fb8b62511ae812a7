//! A passphrase-protected SSH key as a root's escrow identity: the
//! passphrase comes from `--identity-passphrase-file` (or, interactively,
//! a prompt in the UI layer); with `--batch` and no file keycycle names
//! the flag; a wrong passphrase is one line.

use crate::common::*;

const T: &str = "2026-08-01T12:00:00Z";
/// What `escrow verify` says when the drill passed.
const SUCCESS: &str = "your identity opens the escrow";

/// A vault whose roster has Ada (age) and Carol, whose SSH key has the
/// passphrase "pass phrase"; a key generated. (env, Carol's key, fingerprint)
fn with_carol() -> (Env, std::path::PathBuf, String) {
    require("ssh-keygen");
    let env = Env::new(T);
    env.vault_with_ada();
    let key = env.path("carol_ssh");
    let made = std::process::Command::new("ssh-keygen")
        .args([
            "-q",
            "-t",
            "ed25519",
            "-N",
            "pass phrase",
            "-C",
            "carol",
            "-f",
        ])
        .arg(&key)
        .status()
        .unwrap();
    assert!(made.success());
    let public = format!("@{}", key.with_extension("pub").display());
    env.roster_add("Carol", "carol@example.org", &public);
    let json = env.generate("next");
    let fpr = json["fingerprint"].as_str().unwrap().to_string();
    (env, key, fpr)
}

#[test]
fn a_passphrase_protected_ssh_key_opens_the_escrow_with_its_passphrase_file() {
    let (env, key, fpr) = with_carol();
    let fpr = fpr.as_str();
    let good = env.path("good.pass");
    std::fs::write(&good, "pass phrase\n").unwrap();
    let bad = env.path("bad.pass");
    std::fs::write(&bad, "not it\n").unwrap();
    let verify = |extra: &[&str]| {
        let mut a = vec!["escrow", "verify", fpr, "--identity", key.to_str().unwrap()];
        a.extend(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    // The drill opens every escrowed file with Carol's key.
    let out = env.ok(&strs(&verify(&[
        "--identity-passphrase-file",
        good.to_str().unwrap(),
    ])));
    assert!(out.contains(SUCCESS), "{out}");
    // --batch without the file: the flag is named.
    let err = one_refusal(&env.fails(&strs(&verify(&[]))));
    assert!(err.contains("passphrase-protected"), "{err}");
    assert!(err.contains("--identity-passphrase-file"), "{err}");
    // A wrong passphrase: one line, no secret.
    let err = one_refusal(&env.fails(&strs(&verify(&[
        "--identity-passphrase-file",
        bad.to_str().unwrap(),
    ]))));
    assert!(err.contains("wrong passphrase"), "{err}");
    assert!(!err.contains("not it"), "{err}");
}

#[test]
fn without_batch_the_passphrase_is_asked_on_the_terminal() {
    use expectrl::Expect;
    let (env, key, fpr) = with_carol();
    let key_arg = key.to_str().unwrap();
    let mut p = env.pty(&["escrow", "verify", &fpr, "--identity", key_arg]);
    p.expect("Passphrase of the SSH key").unwrap();
    settle();
    p.send("pass phrase\r").unwrap();
    p.expect(SUCCESS).unwrap();
}
