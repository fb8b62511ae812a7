//! The signed policy in sight (issue 22): a new key is a vault key for
//! nobody else until the roots sign a policy version that lists it, and
//! every command on the way says so — the first `generate` prints the
//! digest the other roots pin, `status` names keys the policy in force does
//! not list and changes not yet published, the ceremony does not end
//! "complete" with such a key, errors during a roster change name the real
//! cause, and attestations count only the roots of the policy in force.

use crate::common::*;

const T: &str = "2026-08-15T10:00:00Z";
const LATER: &str = "2026-09-02T00:00:00Z";

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `status --check` at `at`: exit code and text.
fn check(env: &Env, at: &str) -> (Option<i32>, String) {
    let out = env.run_at(at, &["status", "--check"]);
    (out.status.code(), stdout(&out))
}

#[test]
fn the_first_generate_prints_the_digest_the_other_roots_pin() {
    let env = Env::new(T);
    env.vault_with_ada();
    let out = env.ok(&["generate", "--cycle", "next"]);
    let v1 = std::fs::read(env.vault.join("policy/v1.toml")).unwrap();
    let digest = keycycle::policy::digest(&v1);
    assert!(out.contains(&digest), "{out}");
    assert!(
        out.contains(&format!("keycycle policy pin {digest}\n")),
        "{out}"
    );
    // Another root's machine pins exactly what was printed.
    let other = tempfile::tempdir().unwrap();
    env.cmd()
        .env("KEYCYCLE_HOME", other.path())
        .args(["policy", "pin", &digest])
        .assert()
        .success();
    // The next key is not in version 1: generate says what makes it one.
    let out = env.ok(&["generate", "--cycle", "2027.2"]);
    assert!(
        out.contains("Not in the signed policy in force (version 1)")
            && out.contains("keycycle policy propose"),
        "{out}"
    );
    assert!(!out.contains("policy pin"), "{out}");
}

#[test]
fn the_first_generate_reports_the_pinned_digest_as_json() {
    let env = Env::new(T);
    env.vault_with_ada();
    let json = env.generate("next");
    let v1 = std::fs::read(env.vault.join("policy/v1.toml")).unwrap();
    assert_eq!(
        json["policy_pinned"].as_str(),
        Some(keycycle::policy::digest(&v1).as_str()),
        "{json}"
    );
    let json = env.generate("2027.2");
    assert!(json.get("policy_pinned").is_none(), "{json}");
}

/// A key generated here that the policy in force does not list: `status`
/// names it with the next command, `status --check` warns, until the
/// roots sign the version that lists it.
#[test]
fn status_names_a_key_outside_the_policy_in_force_until_the_roots_sign() {
    let env = Env::new(T);
    let (_roster, ada, bob) = env.vault_with_signing_roster();
    // The current cycle's key (in version 1), attested by both roots.
    let current = env.generate("current");
    let cert = env.key_dir().join("cert.asc");
    let fpr = current["fingerprint"].as_str().unwrap();
    let certified = [ada.certify(&env, &cert, fpr), bob.certify(&env, &cert, fpr)];
    env.cmd_at(LATER)
        .args(["attestations", "import"])
        .args(&certified)
        .assert()
        .success();
    // Then the next one, made here: before the change, all was well.
    let next = env.generate("next");
    let fpr = next["fingerprint"].as_str().unwrap();
    let (code, text) = check(&env, LATER);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains(&format!(
            "WARNING: the 2027.1/Indri key {fpr} is not in the signed policy in force (version 1)"
        )) && text.contains("run keycycle policy propose"),
        "{text}"
    );
    assert!(
        text.contains("NOT in the signed policy in force: a vault key on this machine only"),
        "{text}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "status", "2027.1"])).unwrap();
    assert_eq!(json["keys"][0]["in_policy"], serde_json::json!(false));
    // Proposed: it waits for signatures.
    assert_eq!(env.propose(LATER), 2);
    let (code, text) = check(&env, LATER);
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("policy version 2 lists it and waits for signatures, 0 of 1"),
        "{text}"
    );
    // Signed: in force, nothing to say.
    ada.sign_policy(&env, LATER);
    let (code, text) = check(&env, LATER);
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("not in the signed policy"), "{text}");
    let json: serde_json::Value =
        serde_json::from_slice(&env.run_at(LATER, &["--json", "status", "2027.1"]).stdout).unwrap();
    assert_eq!(json["keys"][0]["in_policy"], serde_json::json!(true));
}

/// The ceremony for a second key does not end "complete": the key is not
/// in the policy in force, and the last lines say what the roots run.
#[test]
fn the_ceremony_names_a_key_outside_the_policy_and_the_next_command() {
    let env = Env::new(T);
    let r = env.vault_with_roster();
    env.cmd_at("2026-03-01")
        .args(["generate", "--cycle", "2026.2"])
        .assert()
        .success();
    let sub = env.path("sub.asc");
    let args = ceremony_no_publish_args(r.age_id.to_str().unwrap(), sub.to_str().unwrap());
    let ceremony = |json: bool| {
        let mut c = env.cmd();
        if json {
            c.arg("--json");
        }
        c.args(&args).output().unwrap()
    };
    let out = ceremony(true);
    assert!(out.status.success(), "{}", stderr(&out));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["policy"]["in_policy"], serde_json::json!(false));
    assert_eq!(summary["policy"]["version"], serde_json::json!(1));
    // Run again (publish and the announcement stay open): the last lines.
    let out = ceremony(false);
    let err = stderr(&out);
    assert!(
        err.contains("key is NOT in the signed policy in force (version 1)")
            && err.contains("keycycle policy propose"),
        "{err}"
    );
}

/// The vault's first key: its ceremony ends with the digest to pin.
#[test]
fn the_first_ceremony_ends_with_the_pin_command() {
    let env = Env::new(T);
    let r = env.vault_with_roster();
    let sub = env.path("sub.asc");
    let out = env.run(&ceremony_no_publish_args(
        r.age_id.to_str().unwrap(),
        sub.to_str().unwrap(),
    ));
    assert!(out.status.success(), "{}", stderr(&out));
    let v1 = std::fs::read(env.vault.join("policy/v1.toml")).unwrap();
    let digest = keycycle::policy::digest(&v1);
    let err = stderr(&out);
    assert!(
        err.contains(&format!("keycycle policy pin {digest}")),
        "{err}"
    );
}

/// A new root on the draft roster: their identity opens nothing, and the
/// error says their key is in the draft, not in the policy in force; once
/// a version with them is in force, that the rewrap is pending.
#[test]
fn roster_change_errors_name_the_draft_and_the_pending_rewrap() {
    let (k, ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    let (carol, carol_r) = env.age_identity("carol");
    env.roster_add("Carol", "carol@example.org", &carol_r);
    let carol = carol.display().to_string();
    let verify = ["escrow", "verify", "--identity", carol.as_str()];
    let rewrap = ["escrow", "rewrap", "--identity", carol.as_str()];
    for args in [&verify, &rewrap] {
        let err = one_refusal(&env.fails(args));
        assert!(
            err.contains("your key is in the draft, not in the policy in force")
                && err.contains("Carol"),
            "{args:?}: {err}"
        );
        assert!(err.contains("keycycle policy propose"), "{err}");
    }
    assert_eq!(env.propose(T), 2);
    ada.sign_policy(env, T);
    for args in [&verify, &rewrap] {
        let err = one_refusal(&env.fails(args));
        assert!(
            err.contains("the rewrap is pending") && err.contains("(version 2)"),
            "{args:?}: {err}"
        );
        assert!(err.contains("keycycle escrow rewrap"), "{err}");
    }
    env.ok(&["escrow", "rewrap", "--identity", &k.id()]);
    env.ok(&verify);
    // Someone else's identity still gets the plain error.
    let (stranger, _) = env.age_identity("stranger");
    let err =
        one_refusal(&env.fails(&["escrow", "verify", "--identity", stranger.to_str().unwrap()]));
    assert!(err.contains("none of the given identities"), "{err}");
}

/// A root on the draft roster signs no policy version yet.
#[test]
fn a_draft_root_signing_the_policy_is_told_their_key_is_in_the_draft() {
    let (k, _ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    let dave = gpg_root(env, "Dave");
    let (_, dave_r) = env.age_identity("dave");
    env.roster_add_root("Dave", "dave@example.org", &dave.public, &dave_r);
    let out = env
        .cmd()
        .args(["policy", "sign", "--with-key"])
        .arg(&dave.secret)
        .output()
        .unwrap();
    let err = one_refusal(&out);
    assert!(
        err.contains("your key is in the draft, not in the policy in force")
            && err.contains("Dave")
            && err.contains("policy version 1"),
        "{err}"
    );
    assert!(err.contains("keycycle policy propose"), "{err}");
    // Once proposed, Dave co-signs the version that lists him.
    assert_eq!(env.propose(T), 2);
    dave.sign_policy(env, T);
}

/// A certification by a root on the draft roster only is kept, flagged,
/// not counted, and both `attestations import` and `status` say why.
#[test]
fn attestations_count_only_the_roots_of_the_policy_in_force() {
    let (k, ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    let dave = gpg_root(env, "Dave");
    let (_, dave_r) = env.age_identity("dave");
    env.roster_add_root("Dave", "dave@example.org", &dave.public, &dave_r);
    let cert = env.key_dir().join("cert.asc");
    let by_dave = dave.certify(env, &cert, &k.fpr);
    let by_ada = ada.certify(env, &cert, &k.fpr);
    let out = env
        .cmd_at(LATER)
        .args(["--json", "attestations", "import"])
        .arg(&by_dave)
        .arg(&by_ada)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let dave_found = report["certifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["issuer"].as_str().is_some_and(|i| i.contains("Dave")))
        .unwrap_or_else(|| panic!("{report}"));
    assert_eq!(dave_found["outcome"], "outside-roster", "{report}");
    assert!(
        dave_found["reason"]
            .as_str()
            .unwrap()
            .contains("Dave is on the draft roster, not in the signed policy in force (version 1)"),
        "{report}"
    );
    let status: serde_json::Value =
        serde_json::from_slice(&env.run_at(LATER, &["--json", "status", "2027.1"]).stdout).unwrap();
    // gpg, given Dave's key, counts his certification as any other: `sig!`.
    let gpg = Gpg::at(LATER);
    gpg.ok(&["--import", dave.public.to_str().unwrap()], None);
    gpg.ok(&["--import", cert.to_str().unwrap()], None);
    let sigs = gpg.ok(&["--with-colons", "--check-sigs", &k.fpr], None);
    assert!(
        sigs.lines()
            .any(|l| l.starts_with("sig:!:") && l.contains(&dave.fpr[24..])),
        "{sigs}"
    );
    let a = &status["keys"][0]["attestations"];
    assert_eq!(a["by"], serde_json::json!(["Ada"]), "{a}");
    assert_eq!(a["of"], serde_json::json!(2), "{a}");
    assert_eq!(a["draft"], serde_json::json!(["Dave"]), "{a}");
    let text = String::from_utf8(env.run_at(LATER, &["status", "2027.1"]).stdout).unwrap();
    assert!(
        text.contains(
            "attestations  1 of 2 roots, majority not reached; missing: Bob; not counted, on the draft roster only: Dave"
        ),
        "{text}"
    );
}

/// Changes made after the last publish — a rotated subkey, a revoked one,
/// a new expiry — are named by `status`, and `status --check` warns, until
/// the key is published again. (Offline: compared with the vault's record
/// of each publish, never with a keyserver.)
#[test]
fn status_names_changes_not_yet_on_the_keyserver() {
    let ks = keyserver();
    let env = Env::new(T);
    let r = env.vault_with_roster();
    let id = r.age_id.display().to_string();
    let made = env.generate("current");
    let fpr = made["fingerprint"].as_str().unwrap().to_string();
    let old_sub = made["signing_subkey"].as_str().unwrap().to_string();
    env.ok(&["publish", "2026.2", "--keyserver", &ks]);
    // What gpg users get from the keyserver: is the old subkey revoked?
    let revoked_there = |at: &str| {
        let gpg = Gpg::from_keyserver(&fpr, at);
        let keys = gpg.ok(&["--with-colons", "--list-keys", &fpr], None);
        let lines: Vec<&str> = keys.lines().collect();
        let at_fpr = lines
            .iter()
            .position(|l| l.starts_with("fpr:") && l.contains(&old_sub))
            .unwrap_or_else(|| panic!("{keys}"));
        lines[at_fpr - 1].starts_with("sub:r:")
    };
    let check_at = |t: &str| {
        let out = env.run_at(t, &["status", "--check", "2026.2"]);
        (out.status.code(), stdout(&out))
    };
    let (code, text) = check_at("2026-08-16");
    assert_eq!(code, Some(0), "{text}");
    // A rotated subkey (the old one revoked, a new one bound).
    env.cmd_at("2026-08-20")
        .args(["rotate-subkey", "2026.2", "--reason", "superseded"])
        .args(["--message", "routine", "--identity", &id])
        .assert()
        .success();
    let (code, text) = check_at("2026-08-21");
    assert_eq!(code, Some(1), "{text}");
    assert!(
        text.contains("a revocation of subkey")
            && text.contains("a new subkey")
            && text.contains(&format!("not yet on {ks}"))
            && text.contains("run keycycle publish 2026.2"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_str(&stdout(
        &env.run_at("2026-08-21", &["--json", "status", "2026.2"]),
    ))
    .unwrap();
    assert_eq!(
        json["keys"][0]["unpublished"]["targets"],
        serde_json::json!([ks])
    );
    assert!(!revoked_there("2026-08-21"), "gpg users still see it valid");
    // Published again: nothing left to say.
    env.cmd_at("2026-08-21")
        .args(["publish", "2026.2", "--keyserver", &ks])
        .assert()
        .success();
    let (code, text) = check_at("2026-08-21");
    assert_eq!(code, Some(0), "{text}");
    assert!(!text.contains("not yet on"), "{text}");
    assert!(revoked_there("2026-08-21"));
    // A new expiry.
    env.cmd_at("2026-08-22")
        .args([
            "extend",
            "2026.2",
            "--until",
            "2027-02-01",
            "--identity",
            &id,
        ])
        .assert()
        .success();
    let (code, text) = check_at("2026-08-23");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("a new expiry"), "{text}");
    // A revocation of the key, after it was published again.
    env.cmd_at("2026-08-23")
        .args(["publish", "2026.2", "--keyserver", &ks])
        .assert()
        .success();
    env.cmd_at("2026-08-24")
        .args([
            "revoke",
            "2026.2",
            "--reason",
            "retired",
            "--message",
            "done",
        ])
        .args(["--yes", "--identity", &id])
        .assert()
        .success();
    let (code, text) = check_at("2026-08-25");
    assert!(code >= Some(1), "{text}");
    assert!(
        text.contains("a revocation of the key") && !text.contains("a new expiry"),
        "{text}"
    );
}
