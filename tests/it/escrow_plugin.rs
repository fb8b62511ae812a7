//! Escrow to age plugin recipients (tokens), with keycycle's test plugin
//! `age-plugin-kctest` (tests/age-plugin-test/): it shows a message, asks
//! for its PIN (123456) through request-secret, and refuses a wrong one.
//! scripts/test.sh builds it and names its directory in
//! KEYCYCLE_TEST_PLUGIN_DIR; without that, these tests fail.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Once};

use crate::common::*;
use keycycle::custody::age::{self as escrow, Identities, Recipient, Stanza};
use keycycle::custody::token::{BatchUi, TokenUi};

const PIN: &str = "123456";

fn plugin_dir() -> PathBuf {
    let dir = std::env::var("KEYCYCLE_TEST_PLUGIN_DIR").expect(
        "KEYCYCLE_TEST_PLUGIN_DIR is not set: run the suite with scripts/test.sh, which builds the test plugin",
    );
    let dir = PathBuf::from(dir);
    assert!(
        dir.join("age-plugin-kctest").is_file(),
        "{} holds no age-plugin-kctest: run scripts/test.sh",
        dir.display()
    );
    dir
}

/// PATH with the test plugin first (this process and children).
fn path_with_plugin() -> String {
    format!(
        "{}:{}",
        plugin_dir().display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

/// For the in-process tests: put the plugin on this process's PATH once,
/// before any test here looks a plugin up.
fn plugin_on_path() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::env::set_var("PATH", path_with_plugin()));
}

/// A new kctest "token": (identity file, recipient).
fn token(env: &Env, name: &str) -> (PathBuf, String) {
    let out = std::process::Command::new(plugin_dir().join("age-plugin-kctest"))
        .arg("--generate")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let recipient = text
        .lines()
        .find_map(|l| l.strip_prefix("# recipient: "))
        .unwrap()
        .to_string();
    assert!(recipient.starts_with("age1kctest1"), "{recipient}");
    assert!(text.contains("AGE-PLUGIN-KCTEST-1"));
    let path = env.path(&format!("{name}.kctest"));
    std::fs::write(&path, &text).unwrap();
    (path, recipient)
}

/// A batch UI with `pin` that records the plugin's messages.
fn ui(pin: Option<&str>) -> (Arc<dyn TokenUi>, Arc<Mutex<Vec<String>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let ui = BatchUi::new(pin.map(|p| p.to_string().into()))
        .with_messages(move |m| s.lock().unwrap().push(m.to_string()));
    (Arc::new(ui), seen)
}

/// The command failed, its first line saying `what`.
fn fails_first_saying(out: &std::process::Output, what: &str) {
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.lines().next().unwrap().contains(what), "{err}");
}

#[test]
fn seal_to_a_token_and_open_with_its_pin() {
    plugin_on_path();
    let env = Env::new("2026-08-01T12:00:00Z");
    let (tok, tok_r) = token(&env, "ada");
    let (age_id, age_r) = env.age_identity("bob");
    let rs = [
        Recipient::parse(&tok_r).unwrap(),
        Recipient::parse(&age_r).unwrap(),
    ];
    assert!(matches!(rs[0], Recipient::Plugin(_)));
    assert_eq!(rs[0].to_string(), tok_r);
    let (silent, _) = ui(None);
    let sealed = escrow::seal_with(&rs, b"the secret", &silent).unwrap();

    // The header: one X25519 stanza, one plugin stanza; the check counts both.
    let st = escrow::stanzas(&sealed).unwrap();
    assert!(st.contains(&Stanza::X25519), "{st:?}");
    assert!(
        st.contains(&Stanza::Plugin {
            tag: "kctest".into()
        }),
        "{st:?}"
    );
    escrow::check_recipients(&sealed, &rs).unwrap();
    let e = escrow::check_recipients(&sealed, &rs[1..]).unwrap_err();
    assert!(
        e.to_string().contains("names 2 recipient(s), the roster 1"),
        "{e}"
    );
    let only_token = escrow::seal_with(&rs[..1], b"x", &silent).unwrap();
    assert!(escrow::check_recipients(&only_token, &rs).is_err());

    // The token opens it with its PIN, after saying what to do.
    let (right, seen) = ui(Some(PIN));
    let ids = Identities::from_paths_with(&[&tok], &right).unwrap();
    assert_eq!(&ids.open(&sealed).unwrap()[..], b"the secret");
    assert!(
        seen.lock()
            .unwrap()
            .iter()
            .any(|m| m.contains("insert the test token")),
        "{:?}",
        seen.lock().unwrap()
    );
    // The other root is unaffected; Go's age reads the file too.
    let f = env.path("sealed.age");
    std::fs::write(&f, &sealed).unwrap();
    assert_eq!(age_decrypt(&age_id, &f), b"the secret");
}

#[test]
fn wrong_or_missing_pin_fails_in_one_line() {
    plugin_on_path();
    let env = Env::new("2026-08-01T12:00:00Z");
    let (tok, tok_r) = token(&env, "ada");
    let rs = [Recipient::parse(&tok_r).unwrap()];
    let (silent, _) = ui(None);
    let sealed = escrow::seal_with(&rs, b"the secret", &silent).unwrap();

    let (wrong, _) = ui(Some("000000"));
    let ids = Identities::from_paths_with(&[&tok], &wrong).unwrap();
    let e = ids.open(&sealed).unwrap_err();
    let msg = e.to_string();
    assert!(!msg.contains('\n'), "one line: {msg:?}");
    assert!(msg.contains("wrong PIN for the kctest token"), "{msg}");
    assert!(msg.contains("age-plugin-kctest"), "{msg}");
    assert!(e.hint().unwrap().contains("PIN"), "{:?}", e.hint());
    // A wrong PIN is an error, not "this identity does not match".
    assert!(ids.try_open(&sealed).is_err());

    let ids = Identities::from_paths_with(&[&tok], &silent).unwrap();
    let msg = ids.open(&sealed).unwrap_err().to_string();
    assert!(!msg.contains('\n'), "{msg:?}");
    assert!(msg.contains("no PIN was given"), "{msg}");
}

#[test]
fn a_missing_plugin_binary_is_named() {
    let env = Env::new("2026-08-01T12:00:00Z");
    let (tok, tok_r) = token(&env, "ada");
    let (ssh, ssh_pub) = env.ssh_key("bob_ssh", "ed25519");
    env.ok(&["init"]);
    // PATH without the plugin: roster add refuses, naming the binary.
    let out = env
        .cmd()
        .env("PATH", "/usr/bin:/bin")
        .args(strs(&roster_add_args(
            "Ada",
            "ada@example.org",
            &tok_r,
            None,
        )))
        .output()
        .unwrap();
    fails_first_saying(
        &out,
        "needs the age plugin binary age-plugin-kctest, which is not on PATH",
    );
    // With it on PATH, the same root is added; a key is escrowed to them.
    let p = path_with_plugin();
    let with = |args: &[&str]| {
        let out = env.cmd().env("PATH", &p).args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    with(&strs(&roster_add_args(
        "Ada",
        "ada@example.org",
        &tok_r,
        None,
    )));
    let at = format!("@{}", ssh_pub.display());
    with(&strs(&roster_add_args("Bob", "bob@example.org", &at, None)));
    with(&["generate", "--cycle", "next"]);
    let _ = ssh;
    // Opening with the token's identity, but without its plugin: named too.
    let out = env
        .cmd()
        .env("PATH", "/usr/bin:/bin")
        .env("KEYCYCLE_PIN", PIN)
        .args(["escrow", "verify", "--identity"])
        .arg(&tok)
        .output()
        .unwrap();
    fails_first_saying(&out, "needs the age plugin binary age-plugin-kctest");
}

/// A vault whose roster is a token root (Ada) and an SSH root (Bob).
fn token_vault(threshold: u8) -> (Env, PathBuf, PathBuf, String) {
    let env = Env::new("2026-08-01T12:00:00Z");
    let (tok, tok_r) = token(&env, "ada");
    let (ssh, ssh_pub) = env.ssh_key("bob_ssh", "ed25519");
    let p = path_with_plugin();
    env.ok(&["init"]);
    if threshold > 1 {
        env.edit_config("threshold = 1", &format!("threshold = {threshold}"));
    }
    let at = format!("@{}", ssh_pub.display());
    for (name, r) in [("Ada", tok_r.as_str()), ("Bob", at.as_str())] {
        let email = format!("{}@example.org", name.to_lowercase());
        env.cmd()
            .env("PATH", &p)
            .args(strs(&roster_add_args(name, &email, r, None)))
            .assert()
            .success();
    }
    env.cmd()
        .env("PATH", &p)
        .args(["generate", "--cycle", "next"])
        .assert()
        .success();
    (env, tok, ssh, p)
}

fn run(env: &Env, path: &str, pin: &str, args: &[&str], ids: &[&Path]) -> std::process::Output {
    let mut c = env.cmd_with_ids("2026-09-01", args, ids);
    c.env("PATH", path)
        .env("KEYCYCLE_PIN", pin)
        .output()
        .unwrap()
}

#[test]
fn single_escrow_drill_and_rewrap_with_a_token() {
    let (env, tok, ssh, p) = token_vault(1);
    let out = run(&env, &p, PIN, &["escrow", "verify"], &[&tok]);
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("the secret matches the cert"));
    // The plugin's message reached the person through the UI layer.
    assert!(String::from_utf8_lossy(&out.stderr).contains("insert the test token"));

    // A wrong PIN: one error line (and its hint), nothing changed.
    let before = snapshot(&env.vault);
    let out = run(&env, &p, "000000", &["escrow", "verify"], &[&tok]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let errors: Vec<&str> = err.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(errors.len(), 1, "{err}");
    assert!(
        errors[0].contains("wrong PIN for the kctest token"),
        "{err}"
    );
    assert_eq!(snapshot(&env.vault), before);

    // Rewrap (a roster change goes through the signed policy, tested in
    // policy::): Ada's token opens the escrow, and it still opens after.
    let out = run(&env, &p, PIN, &["escrow", "rewrap"], &[&tok]);
    assert_ok(&out);
    for id in [&tok, &ssh] {
        let out = run(&env, &p, PIN, &["escrow", "verify"], &[id]);
        assert!(
            out.status.success(),
            "{}: {}",
            id.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn threshold_shares_to_a_token_and_an_ssh_key() {
    let (env, tok, ssh, p) = token_vault(2);
    let shares: Vec<PathBuf> = std::fs::read_dir(env.key_dir().join("shares"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(shares.len(), 2);
    // Each share's header names its holder's kind of recipient.
    let mut kinds: Vec<String> = shares
        .iter()
        .map(|s| format!("{:?}", escrow::stanzas(&std::fs::read(s).unwrap()).unwrap()))
        .collect();
    kinds.sort();
    assert!(
        kinds[0].contains("Plugin") && kinds[1].contains("Ssh"),
        "{kinds:?}"
    );
    // The drill with the token opens Ada's share only.
    let out = run(&env, &p, PIN, &["escrow", "verify"], &[&tok]);
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(threshold 2) held by Ada"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Both roots together open the escrow; the token alone does not.
    let export = |ids: &[&Path], pin: &str| run(&env, &p, pin, &EXPORT_SUBKEY, ids);
    let out = export(&[&tok, &ssh], PIN);
    assert_ok(&out);
    let out = export(&[&tok], PIN);
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 more needed"));
    let out = export(&[&tok, &ssh], "000000");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("wrong PIN"));
}
