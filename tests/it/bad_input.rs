//! Bad input: a one-line error with a hint, a non-zero exit, no panic, and
//! the vault byte-for-byte unchanged.


use crate::common::*;

const T: &str = "2026-08-01T12:00:00Z";

/// Run `args` against `env`; check the error shape and that the vault did
/// not change. Returns stderr.
fn refused(env: &Env, args: &[&str]) -> String {
    let before = snapshot(&env.vault);
    let out = env.cmd().args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_ne!(out.status.code(), Some(101), "{args:?} panicked: {stderr}");
    assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() == 2 && lines[0].starts_with("error: ") && lines[1].starts_with("hint: "),
        "{args:?}: want one error line and one hint line, got:\n{stderr}"
    );
    assert_eq!(before, snapshot(&env.vault), "{args:?} changed the vault");
    stderr
}

fn ready() -> (Env, String) {
    let env = Env::new(T);
    let (_, r) = env.vault_with_ada();
    (env, r)
}

#[test]
fn malformed_recipients() {
    let (env, _) = ready();
    for bad in [
        "age1qqqq",
        "age1",
        "AGE-SECRET-KEY-1QQQQ",
        "ssh-ed25519 AAAAnotbase64",
        "ssh-dss AAAAB3NzaC1kc3MAAACBAP",
        "ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBEmKSENjQEezOmxkZMy7opKgwFB9nkt5YRrYMjNuG5N87uRgg6CLrbo5wAdT/y6v0mKV0U2w0WZ2YB/++Tpockg=",
        "hello",
    ] {
        let e = refused(&env, &["roster", "add", "--name", "Eve", "--email", "eve@example.org", "--escrow-recipient", bad]);
        assert!(e.contains("malformed escrow recipient"), "{bad}: {e}");
        refused(&env, &["generate", "--cycle", "next", "--escrow-recipient", bad]);
    }
    let e = refused(
        &env,
        &[
            "roster",
            "add",
            "--name",
            "Eve",
            "--email",
            "eve@example.org",
            "--escrow-recipient",
            "@/nonexistent/key.pub",
        ],
    );
    assert!(e.contains("/nonexistent/key.pub"), "{e}");
}

#[test]
fn duplicates_on_the_roster() {
    let (env, r) = ready();
    let (_, other) = env.age_identity("other");
    let e = refused(
        &env,
        &[
            "roster",
            "add",
            "--name",
            "Ada",
            "--email",
            "x@example.org",
            "--escrow-recipient",
            &other,
        ],
    );
    assert!(e.contains("already has that name"), "{e}");
    let e = refused(
        &env,
        &[
            "roster",
            "add",
            "--name",
            "Zed",
            "--email",
            "ada@example.org",
            "--escrow-recipient",
            &other,
        ],
    );
    assert!(e.contains("e-mail"), "{e}");
    let e = refused(
        &env,
        &[
            "roster",
            "add",
            "--name",
            "Zed",
            "--email",
            "zed@example.org",
            "--escrow-recipient",
            &r,
        ],
    );
    assert!(e.contains("escrow recipient"), "{e}");
    refused(&env, &["roster", "remove", "nobody"]);
}

#[test]
fn unknown_cycle_and_bad_time() {
    let (env, _) = ready();
    let e = refused(&env, &["generate", "--cycle", "kilimanjaro"]);
    assert!(e.contains("unknown cycle 'kilimanjaro'"), "{e}");
    for bad in ["yesterday", "2026-13-01", "2026-10-01T25:00:00Z", ""] {
        let before = snapshot(&env.vault);
        let mut c = assert_cmd::Command::new(BIN);
        let out = c
            .args(["--batch", "--vault"])
            .arg(&env.vault)
            .args(["--time", bad, "generate", "--cycle", "next"])
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{bad}: {stderr}");
        assert!(
            stderr.starts_with(&format!("error: invalid time '{bad}'")),
            "{stderr}"
        );
        assert!(stderr.contains("hint: "), "{stderr}");
        assert_eq!(before, snapshot(&env.vault));
    }
    // A cycle whose key would already be expired.
    let e = refused(&env, &["generate", "--cycle", "zed"]);
    assert!(e.contains("before it is created"), "{e}");
}

#[test]
fn missing_and_corrupt_vault() {
    let env = Env::new(T);
    let e = refused(&env, &["generate", "--cycle", "next"]);
    assert!(e.contains("no vault at"), "{e}");
    assert!(e.contains("keycycle init"), "{e}");
    refused(&env, &["status"]);
    // A directory that is not a vault.
    std::fs::create_dir_all(&env.vault).unwrap();
    let e = refused(&env, &["roster", "list"]);
    assert!(e.contains("not a keycycle vault"), "{e}");
    // A corrupt config.
    std::fs::write(env.vault.join("keycycle.toml"), "organisation = \n[[[").unwrap();
    let e = refused(&env, &["generate", "--cycle", "next"]);
    assert!(e.contains("keycycle.toml:1:"), "{e}");
}

#[test]
fn a_config_value_of_the_wrong_type_names_its_line() {
    let (env, _) = ready();
    let path = env.vault.join("keycycle.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let line = text
        .lines()
        .position(|l| l.starts_with("overlap_days"))
        .unwrap()
        + 1;
    std::fs::write(
        &path,
        text.replace("overlap_days = 60", "overlap_days = \"sixty\""),
    )
    .unwrap();
    let e = refused(&env, &["generate", "--cycle", "next"]);
    assert!(e.contains(&format!("keycycle.toml:{line}:")), "{e}");
    assert!(e.contains("expected"), "{e}");
    std::fs::write(
        &path,
        text.replace("cipher_suite = \"ed25519\"", "cipher_suite = \"dsa\""),
    )
    .unwrap();
    let e = refused(&env, &["generate", "--cycle", "next"]);
    assert!(e.contains("keycycle.toml:"), "{e}");
}

#[test]
fn generating_twice_needs_force() {
    let (env, _) = ready();
    env.ok(&["generate", "--cycle", "next"]);
    let e = refused(&env, &["generate", "--cycle", "2027.1"]);
    assert!(e.contains("already holds a key for 2027.1/Indri"), "{e}");
    assert!(e.contains("--force"), "{e}");
    env.ok(&["generate", "--cycle", "2027.1", "--force"]);
    assert_eq!(
        std::fs::read_dir(env.vault.join("keys")).unwrap().count(),
        2
    );
}

#[test]
fn nobody_to_escrow_to() {
    let env = Env::new(T);
    env.ok(&["init"]);
    let e = refused(&env, &["generate", "--cycle", "next"]);
    assert!(e.contains("nobody to escrow the key to"), "{e}");
}

#[test]
fn batch_names_the_flag_instead_of_prompting() {
    let (env, _) = ready();
    let e = refused(&env, &["generate"]);
    assert!(e.contains("pass --cycle"), "{e}");
}

#[test]
fn bad_cipher_suite_and_unknown_key() {
    let (env, _) = ready();
    let e = refused(
        &env,
        &["generate", "--cycle", "next", "--cipher-suite", "dsa1024"],
    );
    assert!(e.contains("unknown cipher suite"), "{e}");
    refused(&env, &["status", "0x0123456789ABCDEF"]);
    refused(&env, &["export", "public", "2027.1"]);
    let out = env
        .cmd()
        .args(["status", "--check", "0x0123456789ABCDEF"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "unknown for monitoring");
}

#[test]
fn inspect_rejects_garbage() {
    let env = Env::new(T);
    let junk = env.path("junk.asc");
    std::fs::write(&junk, "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 at all\n-----END PGP PUBLIC KEY BLOCK-----\n").unwrap();
    refused(&env, &["inspect", junk.to_str().unwrap()]);
    std::fs::write(&junk, "").unwrap();
    refused(&env, &["inspect", junk.to_str().unwrap()]);
    refused(&env, &["inspect", "/nonexistent.asc"]);
}
