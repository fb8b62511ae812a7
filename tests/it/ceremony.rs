//! The guided ceremony: unattended with flags, resumable after an
//! interruption, and refusing to guess a missing answer in --batch.

use crate::common::*;
use std::path::Path;
use std::process::Output;

const T: &str = "2026-08-15T10:00:00Z";
/// When gpg looks at what the ceremony made.
const CHECK: &str = "2026-08-15T12:00:00Z";

fn setup() -> (Env, Roster) {
    let env = Env::new(T);
    let r = env.vault_with_roster();
    (env, r)
}

/// Last cycle's key (2026.2), made on 2026-03-01: `generate --json`.
fn previous_key(env: &Env) -> serde_json::Value {
    serde_json::from_slice(
        &env.run_at("2026-03-01", &["--json", "generate", "--cycle", "2026.2"])
            .stdout,
    )
    .unwrap()
}

/// `keycycle [--json] ceremony --cycle next FLAGS --identity ID`,
/// whatever the outcome.
fn ceremony_next(env: &Env, json: bool, flags: &[&str], id: &Path) -> Output {
    let mut args = if json { vec!["--json"] } else { Vec::new() };
    args.extend(["ceremony", "--cycle", "next"]);
    args.extend(flags);
    args.extend(["--identity", id.to_str().unwrap()]);
    env.run(&args)
}

/// `keycycle ceremony --cycle next FLAGS --no-publish --releases-done
/// --subkey-out SUB` in a pseudo-terminal, asking for the identity.
fn pty_next(env: &Env, flags: &[&str], sub: &Path) -> expectrl::session::OsSession {
    let sub_arg = sub.display().to_string();
    let mut args = vec!["ceremony", "--cycle", "next"];
    args.extend(flags);
    args.extend(["--no-publish", "--releases-done", "--subkey-out", &sub_arg]);
    env.pty(&args)
}

#[test]
fn unattended_ceremony_publishes_a_cross_signed_key_and_hands_off_the_subkey() {
    let ks = keyserver();
    let (env, r) = setup();
    // Last cycle's key is in the vault: the ceremony cross-signs with it.
    let prev = previous_key(&env);
    let sub = env.path("signing-subkey.asc");
    let sub_arg = sub.to_str().unwrap();
    let flags = ["--confirm-roster", "--fingerprint-read", "--keyserver", &ks];
    let more = ["--releases-done", "--subkey-out", sub_arg];
    let out = ceremony_next(&env, true, &[&flags[..], &more].concat(), &r.age_id);
    assert_ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["open"], serde_json::json!([]), "{report}");
    let fpr = report["fingerprint"].as_str().unwrap();
    // On the keyserver, with the previous key's certification.
    let gpg = Gpg::from_keyserver(fpr, CHECK);
    let sigs = gpg.ok(&["--list-sigs", "--with-colons", fpr], None);
    assert!(
        sigs.contains(&prev["fingerprint"].as_str().unwrap()[24..]),
        "cross-signature on the server: {sigs}"
    );
    // The subkey for CI: sec# in gpg.
    let g2 = Gpg::at(CHECK);
    g2.ok(&["--import", sub.to_str().unwrap()], None);
    assert!(g2.ok(&["--list-secret-keys"], None).contains("sec#"));
    // Public exports in the vault.
    let lower = fpr.to_lowercase();
    assert!(env.vault.join(format!("exports/0x{lower}.txt")).exists());
    // The announcement, signed by the previous cycle's key and the new one.
    let ann = env.vault.join("exports/announce-2027.1.txt");
    let g3 = Gpg::at(CHECK);
    let prev_cert = env.path("prev.asc");
    env.ok(&[
        "export",
        "public",
        "2026.2",
        "-o",
        prev_cert.to_str().unwrap(),
    ]);
    for cert in [env.vault.join(format!("exports/0x{lower}.asc")), prev_cert] {
        g3.ok(&["--import", cert.to_str().unwrap()], None);
    }
    let v = g3.run(&["--verify", ann.to_str().unwrap()], None);
    let err = String::from_utf8_lossy(&v.stderr);
    assert!(v.status.success(), "{err}");
    assert_eq!(err.matches("Good signature").count(), 2, "{err}");
    // Running it again finds nothing left to do.
    let again = env.run(&["--json", "ceremony", "--cycle", "next"]);
    assert_ok(&again);
}

/// A compromised predecessor vouches for nothing: the ceremony makes no
/// certification with it and says why, and the new key carries none.
#[test]
fn a_compromised_predecessor_does_not_cross_sign_in_the_ceremony() {
    let ks = keyserver();
    let (env, r) = setup();
    let prev = previous_key(&env);
    let id = r.age_id.to_str().unwrap();
    let out = env
        .cmd_at("2026-08-01")
        .args(["revoke", "2026.2", "--reason", "compromised"])
        .args(["--message", "laptop stolen", "--yes", "--identity", id])
        .output()
        .unwrap();
    assert_ok(&out);
    let out = env
        .cmd()
        .args(["--json", "ceremony", "--cycle", "next", "--confirm-roster"])
        .args(["--fingerprint-read", "--identity", id])
        .args(["--keyserver", &ks, "--releases-done", "--subkey-out"])
        .arg(env.path("signing-subkey.asc"))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(
        stdout.contains("cannot certify") && stdout.contains("hard-revoked"),
        "{stdout}"
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let fpr = report["fingerprint"].as_str().unwrap();
    let g = Gpg::at(CHECK);
    let cert = env
        .vault
        .join(format!("exports/0x{}.asc", fpr.to_lowercase()));
    g.ok(&["--import", cert.to_str().unwrap()], None);
    let sigs = g.ok(&["--list-sigs", "--with-colons", fpr], None);
    let old_id = &prev["fingerprint"].as_str().unwrap()[24..];
    assert!(
        !sigs.contains(old_id),
        "certified by the compromised key: {sigs}"
    );
}

#[test]
fn an_interrupted_ceremony_resumes_with_the_same_key() {
    let (env, r) = setup();
    // Stops after generate: the fingerprint was not confirmed.
    let out = env.run(&["ceremony", "--cycle", "next", "--confirm-roster"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --fingerprint-read"));
    let dirs = || std::fs::read_dir(env.vault.join("keys")).unwrap().count();
    assert_eq!(dirs(), 1);
    let first = env.key_dir();
    let flags = ["--fingerprint-read", "--no-publish"];
    let out = ceremony_next(&env, true, &flags, &r.age_id);
    assert_ok(&out);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("Resuming the 2027.1/Indri ceremony at step 'fingerprint'"),
        "{e}"
    );
    assert_eq!(dirs(), 1, "no second key");
    assert_eq!(env.key_dir(), first);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        report["open"],
        serde_json::json!(["publish", "announcement", "signing-subkey"]),
        "{report}"
    );
}

#[test]
fn batch_names_each_missing_answer() {
    let (env, _) = setup();
    let e = String::from_utf8_lossy(&env.run(&["ceremony"]).stderr).into_owned();
    assert!(e.contains("pass --cycle CYCLE"), "{e}");
    let e = String::from_utf8_lossy(&env.run(&["ceremony", "--cycle", "next"]).stderr).into_owned();
    assert!(e.contains("pass --confirm-roster"), "{e}");
    let e = String::from_utf8_lossy(
        &env.run(&[
            "ceremony",
            "--cycle",
            "next",
            "--confirm-roster",
            "--fingerprint-read",
        ])
        .stderr,
    )
    .into_owned();
    assert!(e.contains("pass --identity FILE"), "{e}");
}

/// Drive the interactive ceremony through a pseudo-terminal, answering the
/// prompts like an operator.
#[test]
fn interactive_ceremony_through_a_pty() {
    use expectrl::Expect;
    let ks = keyserver();
    let (env, r) = setup();
    let sub = env.path("ci-subkey.asc");
    let mut p = env.pty(&["ceremony", "--keyserver", &ks]);
    p.expect("Which cycle is the key for?").unwrap();
    // The current cycle has no key: it is offered first, saying why.
    p.expect("offered first: the current cycle has no key yet")
        .unwrap();
    settle();
    p.send("\x1b[B").unwrap(); // down to the second entry: next (2027.1/Indri)
    settle();
    p.send("\r").unwrap();
    p.expect("Is this roster correct").unwrap();
    settle();
    p.send("y").unwrap();
    p.expect("Has the fingerprint been read aloud?").unwrap();
    settle();
    p.send("y").unwrap();
    p.expect("Path to the escrow identity").unwrap();
    settle();
    p.send(format!("{}\r", r.age_id.display())).unwrap();
    p.expect("Escrow drill passed").unwrap();
    p.expect("Published to").unwrap();
    p.expect("Are the previous cycle's releases done").unwrap();
    settle();
    p.send("y").unwrap();
    p.expect("Write the signing subkey for CI to").unwrap();
    settle();
    p.send(format!("{}\r", sub.display())).unwrap();
    p.expect("Attestation request").unwrap();
    p.expect("ceremony is complete").unwrap();
    // A published key and the CI subkey.
    let fpr = std::fs::read_to_string(env.vault.join("ceremonies/2027.1.toml")).unwrap();
    assert!(fpr.contains("publish = "), "{fpr}");
    let gpg = Gpg::at(CHECK);
    gpg.ok(&["--import", sub.to_str().unwrap()], None);
    assert!(gpg.ok(&["--list-secret-keys"], None).contains("sec#"));
}

/// The attestation request leaves the fingerprint in its commands for the
/// roots to type as they heard it: none of them names the key's.
#[test]
fn the_attestation_request_leaves_the_fingerprint_to_type() {
    let (env, r) = setup();
    let flags = ["--confirm-roster", "--fingerprint-read", "--no-publish"];
    let out = ceremony_next(&env, true, &flags, &r.age_id);
    assert_ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let request = report["attestation_request"].as_str().unwrap();
    // The value after each flag is the placeholder, never the key's.
    for cmd in ["--fingerprint", "--quick-sign-key"] {
        let line = request.lines().find(|l| l.contains(cmd)).expect(cmd);
        let value = line.split(cmd).nth(1).unwrap().trim_start();
        assert!(
            value.starts_with("\"<FINGERPRINT READ ALOUD>\""),
            "pre-filled: {line}"
        );
    }
    // What a root types, as it is read aloud (groups of four, two spaces
    // in the middle), works in both commands as printed.
    let grouped = request
        .lines()
        .find_map(|l| l.trim().strip_prefix("Key fingerprint = "))
        .unwrap()
        .to_string();
    let fpr = report["fingerprint"].as_str().unwrap();
    let public = env
        .vault
        .join(format!("exports/0x{}.txt", fpr.to_lowercase()));
    let root = gpg_root(&env, "Carol");
    let signed = root.certify(&env, &public, &grouped);
    let sigs = root.gpg.ok(&["--check-sigs", fpr], None);
    assert!(sigs.contains(&root.fpr[24..]), "{sigs}");
    assert!(std::fs::metadata(signed).unwrap().len() > 0);
    let out = env.path("certified.asc");
    env.cmd()
        .arg("certify")
        .arg(&public)
        .arg("--with-key")
        .arg(&root.secret)
        .args(["--fingerprint", &grouped, "-o"])
        .arg(&out)
        .assert()
        .success();
}

/// Ctrl-C at a prompt stops the ceremony saying where and how to resume;
/// the step at work is not recorded, so the next run resumes there with
/// the same key. The cycle picker shows which cycles already have keys.
#[test]
fn ctrl_c_stops_at_a_step_and_the_ceremony_resumes_there() {
    use expectrl::Expect;
    let (env, r) = setup();
    let mut p = env.pty(&["ceremony", "--cycle", "next", "--confirm-roster"]);
    p.expect("Has the fingerprint been read aloud?").unwrap();
    settle();
    p.send("\x03").unwrap();
    p.expect("error: interrupted at fingerprint — run `keycycle ceremony` again to resume")
        .unwrap();
    p.expect(
        "hint: it resumes at 'fingerprint' with the same key: keycycle ceremony --cycle 2027.1",
    )
    .unwrap();
    p.expect(expectrl::Eof).unwrap();
    let record = std::fs::read_to_string(env.vault.join("ceremonies/2027.1.toml")).unwrap();
    assert!(record.contains("generate = "), "{record}");
    let done = record.split("[done]").nth(1).unwrap();
    assert!(!done.contains("fingerprint"), "{record}");
    let first = env.key_dir();
    // The picker: the next cycle has a key and its ceremony is half done.
    let before = snapshot(&env.vault);
    let mut p = env.pty(&["ceremony"]);
    p.expect("Which cycle is the key for?").unwrap();
    p.expect("current: 2026.2/Hibiscus").unwrap();
    p.expect("next: 2027.1/Indri").unwrap();
    p.expect("has a key (0x").unwrap();
    p.expect("its ceremony resumes at 'fingerprint'").unwrap();
    settle();
    p.send("\x03").unwrap();
    p.expect("interrupted at the choice of cycle — nothing was changed")
        .unwrap();
    p.expect(expectrl::Eof).unwrap();
    assert_eq!(snapshot(&env.vault), before);
    // Resumed, unattended: the same key, from the fingerprint step.
    let flags = ["--fingerprint-read", "--no-publish"];
    let out = ceremony_next(&env, false, &flags, &r.age_id);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{e}");
    assert!(e.contains("at step 'fingerprint'"), "{e}");
    assert_eq!(env.key_dir(), first);
    assert_eq!(
        std::fs::read_dir(env.vault.join("keys")).unwrap().count(),
        1
    );
}

/// A mistyped identity path or the wrong identity is asked for again,
/// saying why, and the third good one opens the escrow.
#[test]
fn a_wrong_identity_is_asked_for_again() {
    use expectrl::Expect;
    let (env, r) = setup();
    let (other, _) = env.age_identity("mallory");
    let sub = env.path("sub.asc");
    let mut p = pty_next(&env, &["--confirm-roster", "--fingerprint-read"], &sub);
    let ask =
        "Path to the escrow identity of a root present, to open the new key's escrow for the drill";
    p.expect(ask).unwrap();
    settle();
    p.send(format!("{}.typo\r", r.age_id.display())).unwrap();
    p.expect("No such file or directory").unwrap();
    p.expect("asking again (2 tries left)").unwrap();
    p.expect(ask).unwrap();
    settle();
    p.send(format!("{}\r", other.display())).unwrap();
    p.expect("that identity did not work (to open the new key's escrow for the drill): none of the given identities opens this escrow — asking again (1 try left)").unwrap();
    p.expect(ask).unwrap();
    settle();
    p.send(format!("{}\r", r.age_id.display())).unwrap();
    p.expect("Escrow drill passed").unwrap();
    p.expect("Signing subkey").unwrap();
    p.expect(expectrl::Eof).unwrap();
    assert!(sub.exists());
}

/// A resumed ceremony says why it asks for an identity again, and stops
/// after three that do not work, recording nothing.
#[test]
fn a_resumed_ceremony_says_why_it_asks_for_an_identity_again() {
    use expectrl::Expect;
    let (env, r) = setup();
    // The drill done with --identity; the hand-off to CI left open.
    let flags = ["--confirm-roster", "--fingerprint-read", "--no-publish"];
    assert_ok(&ceremony_next(&env, false, &flags, &r.age_id));
    let before = snapshot(&env.vault);
    let sub = env.path("sub.asc");
    let mut p = pty_next(&env, &[], &sub);
    p.expect("The escrow identity given in an earlier run (for the drill) is not kept between runs: it is needed again.").unwrap();
    for left in ["2 tries left", "1 try left"] {
        p.expect("to open the new key's escrow for its signing subkey")
            .unwrap();
        settle();
        p.send("no-such-identity\r").unwrap();
        p.expect(left).unwrap();
    }
    p.expect("to open the new key's escrow for its signing subkey")
        .unwrap();
    settle();
    p.send("no-such-identity\r").unwrap();
    p.expect("error: no-such-identity: No such file or directory")
        .unwrap();
    p.expect(expectrl::Eof).unwrap();
    assert!(!sub.exists());
    assert_eq!(snapshot(&env.vault), before);
}
