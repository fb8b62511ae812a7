//! What the roots signed is what keycycle acts on (docs/threat-model.md,
//! attacks 15, 16 and 20): a key is selected by the cycle the signed policy (or
//! this machine's own generate) gives it, its dates come from the
//! certificate, a revocation once seen is never forgotten, and uploads go
//! only where the signed policy or the operator says. Each attack is a
//! plain file edit by someone who can commit, then a root's ordinary
//! command; gpg and sqv judge the certificates.

use crate::common::*;
use std::path::Path;

const T: &str = "2026-08-01T12:00:00Z";
/// 2027.1 (Indri) is the current cycle; 2027.2 is next.
const IN_2027_1: &str = "2027-04-01T09:00:00Z";

/// `revoke 2027.1` as compromised with the escrowed certificate (add
/// `--identity`).
const REVOKE_COMPROMISED: [&str; 8] = [
    "revoke",
    "2027.1",
    "--reason",
    "compromised",
    "--message",
    "stolen",
    "--escrowed-certificate",
    "--yes",
];

/// What gpg makes of a certificate file: the `pub` line of its colon
/// listing (validity `r` when revoked; field 7 the expiry).
fn gpg_pub(at: &str, cert: &Path) -> Vec<String> {
    let colons = Gpg::at(at).ok(
        &["--show-keys", "--with-colons", cert.to_str().unwrap()],
        None,
    );
    colons
        .lines()
        .find(|l| l.starts_with("pub:"))
        .unwrap()
        .split(':')
        .map(str::to_string)
        .collect()
}

/// Attack 15a: the current key's `state.toml` relabelled as the next cycle.
/// `export signing-subkey next` exported the current key and `revoke next`
/// revoked it; now both refuse, name the mismatch, and gpg sees the key
/// unrevoked.
#[test]
fn a_relabelled_key_is_never_taken_for_another_cycle() {
    let k = vault_with_key(T);
    let env = &k.env;
    let state = env.key_dir().join("state.toml");
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.contains("cycle = \"2027.1\""), "{text}");
    std::fs::write(
        &state,
        text.replace("cycle = \"2027.1\"", "cycle = \"2027.2\""),
    )
    .unwrap();
    let out = env.path("next-subkey.asc");
    let export = env.run_at(
        IN_2027_1,
        &[
            "export",
            "signing-subkey",
            "next",
            "--identity",
            &k.id(),
            "-o",
            out.to_str().unwrap(),
        ],
    );
    let err = one_refusal(&export);
    assert!(
        err.contains("state.toml says cycle 2027.2") && err.contains("as cycle 2027.1"),
        "{err}"
    );
    assert!(!out.exists(), "a subkey was exported");
    let revoke = env.run_at(
        IN_2027_1,
        &[
            "revoke",
            "next",
            "--reason",
            "compromised",
            "--message",
            "next key lost",
            "--escrowed-certificate",
            "--identity",
            &k.id(),
            "--yes",
        ],
    );
    let err = one_refusal(&revoke);
    assert!(err.contains("state.toml says cycle 2027.2"), "{err}");
    let cert = env.key_dir().join("cert.asc");
    assert_ne!(
        gpg_pub(IN_2027_1, &cert)[1],
        "r",
        "gpg: the key is not revoked"
    );
}

/// Attack 15b: `state.toml`'s `expires` set to the date the roots are
/// about to extend to. `extend` said "nothing to do" (and the key expired
/// as planned); now the date is read from the certificate and the key is
/// extended (gpg reads the new expiry).
#[test]
fn an_edited_expiry_does_not_stop_an_extension() {
    let k = vault_with_key(T);
    let env = &k.env;
    let state = env.key_dir().join("state.toml");
    let text = std::fs::read_to_string(&state).unwrap();
    let line = text.lines().find(|l| l.starts_with("expires = ")).unwrap();
    std::fs::write(
        &state,
        text.replace(line, "expires = \"2027-12-31T00:00:00Z\""),
    )
    .unwrap();
    let out = k.extend(IN_2027_1, "2027-12-31");
    let said = String::from_utf8_lossy(&out.stdout);
    assert_ok(&out);
    assert!(!said.contains("nothing to do"), "{said}");
    let cert = env.key_dir().join("cert.asc");
    let expiry = gpg_pub(IN_2027_1, &cert)[6].parse::<i64>().unwrap();
    assert_eq!(
        chrono::DateTime::from_timestamp(expiry, 0)
            .unwrap()
            .format("%Y-%m-%d")
            .to_string(),
        "2027-12-31"
    );
}

/// After the revocation at `revoked_at` (done by `revoke`), the older
/// cert.asc is restored: sqv calls the thief's signature good with it,
/// and keycycle refuses it.
fn restored_after(revoke: &[&str], revoked_at: &str) {
    let k = vault_with_key(T);
    let env = &k.env;
    let (file, old) = signed_release(&k);
    let mut args = revoke.to_vec();
    let id = k.id();
    args.extend(["--identity", &id]);
    let out = env.run_at(revoked_at, &args);
    assert_ok(&out);
    let cert = env.key_dir().join("cert.asc");
    let at = "2026-11-10T00:00:00Z";
    assert!(
        !sqv_accepts(at, &cert, &file),
        "sqv: the revocation voids it"
    );
    assert!(!env
        .run_at(at, &["verify", file.to_str().unwrap()])
        .status
        .success());
    std::fs::write(&cert, &old).unwrap();
    assert!(
        sqv_accepts(at, &cert, &file),
        "sqv: the restored cert has no revocation"
    );
    let err = one_refusal(&env.run_at(at, &["verify", file.to_str().unwrap()]));
    assert!(
        err.contains("lacks the revocation")
            && err.contains("an older copy of the certificate was restored"),
        "{err}"
    );
    let said = String::from_utf8_lossy(&env.run_at(at, &["verify", file.to_str().unwrap()]).stdout)
        .into_owned();
    assert!(!said.contains("GOOD"), "{said}");
}

/// Attack 16a: the signing subkey revoked as compromised, then the older
/// cert.asc restored.
#[test]
fn a_restored_cert_cannot_forget_a_subkey_revocation() {
    restored_after(
        &[
            "rotate-subkey",
            "2027.1",
            "--reason",
            "compromised",
            "--message",
            "exposed",
        ],
        "2026-11-01T00:00:00Z",
    );
}

/// Attack 16b: the key revoked as compromised, then the older cert.asc
/// restored.
#[test]
fn a_restored_cert_cannot_forget_a_key_revocation() {
    restored_after(&REVOKE_COMPROMISED, "2026-11-01T00:00:00Z");
}

/// Attack 16c: the same on a machine that never saw the revocation: the
/// roots listed the key as revoked in the signed policy, so the restored
/// cert.asc is refused there too.
#[test]
fn a_fresh_machine_refuses_a_cert_the_policy_lists_as_revoked() {
    let (k, ada, _bob) = vault_with_signed_key(T);
    let env = &k.env;
    let (file, old) = signed_release(&k);
    let out = env.run_at(
        "2026-11-01",
        &[&REVOKE_COMPROMISED[..], &["--identity", &k.id()]].concat(),
    );
    assert_ok(&out);
    assert_eq!(env.propose("2026-11-02"), 2);
    let v2 = std::fs::read_to_string(env.vault.join("policy/v2.toml")).unwrap();
    assert!(v2.contains("revoked = "), "{v2}");
    ada.sign_policy(env, "2026-11-02");
    std::fs::write(env.key_dir().join("cert.asc"), &old).unwrap();
    let fresh = env.path("fresh-machine");
    std::fs::create_dir_all(&fresh).unwrap();
    let digest: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "policy", "show", "1"])).unwrap();
    let on_fresh = |args: &[&str]| {
        env.cmd_at("2026-11-10")
            .env("KEYCYCLE_HOME", &fresh)
            .args(args)
            .output()
            .unwrap()
    };
    assert!(
        on_fresh(&["policy", "pin", digest["digest"].as_str().unwrap()])
            .status
            .success()
    );
    let err = one_refusal(&on_fresh(&["verify", file.to_str().unwrap()]));
    assert!(
        err.contains("the signed policy lists the key") && err.contains("holds no revocation"),
        "{err}"
    );
}

/// Attack 20: `[publish] keyservers` in keycycle.toml (unsigned) pointed
/// at a server the committer runs. `publish` without `--keyserver`
/// refuses, naming the flag, and nothing connects to that server.
#[test]
fn keyservers_from_an_unsigned_config_receive_nothing() {
    let k = vault_with_key(T);
    let env = &k.env;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let port = listener.local_addr().unwrap().port();
    let cfg = env.vault.join("keycycle.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let ours = "keyservers = [\"hkps://keyserver.ubuntu.com\"]";
    assert!(text.contains(ours), "{text}");
    std::fs::write(
        &cfg,
        text.replace(ours, &format!("keyservers = [\"hkp://127.0.0.1:{port}\"]")),
    )
    .unwrap();
    let err = one_refusal(&env.run_at("2026-08-02", &["publish", "2027.1"]));
    assert!(
        err.contains("keycycle.toml names keyservers that the signed policy does not list")
            && err.contains("--keyserver"),
        "{err}"
    );
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "keycycle connected to the committer's keyserver"
    );
}
