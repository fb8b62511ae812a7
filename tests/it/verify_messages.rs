//! What `verify` says when a file is bad for a reason a release team can
//! fix: a revoked signing subkey is named as the subkey (the key is fine),
//! a vault key the signed policy does not list yet gets the policy step
//! (not a keyserver), and no certificate at all says `pass --cert`.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Export the signing subkey of `cycle` at `at` to `name`.
fn export(k: &Keyed, cycle: &str, at: &str, name: &str) -> PathBuf {
    let out = k.env.path(name);
    k.env
        .cmd_at(at)
        .args([
            "export",
            "signing-subkey",
            cycle,
            "--identity",
            &k.id(),
            "-o",
        ])
        .arg(&out)
        .assert()
        .success();
    out
}

/// Write `name` and sign it with `key` at `at`.
fn signed(k: &Keyed, key: &Path, at: &str, name: &str) -> PathBuf {
    let file = k.env.path(name);
    std::fs::write(&file, name.as_bytes()).unwrap();
    k.env
        .cmd_at(at)
        .args(["sign", "--key"])
        .arg(key)
        .arg(&file)
        .assert()
        .success();
    file
}

/// gpgv's exit status, and gpg --verify's with whether it warns of a
/// revocation (what most users see).
fn gpg_sees(k: &Keyed, at: &str, cert: &Path, file: &Path) -> String {
    let ring = k.env.path("gpgv-ring.gpg");
    let g = Gpg::at(at);
    g.ok(&["--import", cert.to_str().unwrap()], None);
    let _ = std::fs::remove_file(&ring);
    g.ok(&["--output", ring.to_str().unwrap(), "--export"], None);
    let sig = PathBuf::from(format!("{}.asc", file.display()));
    let gpgv = gpgv_at(at)
        .arg("--keyring")
        .arg(&ring)
        .arg(&sig)
        .arg(file)
        .output()
        .unwrap();
    let gpg = g.run(
        &["--verify", sig.to_str().unwrap(), file.to_str().unwrap()],
        None,
    );
    let warns = String::from_utf8_lossy(&gpg.stderr).contains("revoked");
    format!(
        "gpgv {}, gpg --verify {}{}",
        if gpgv.status.success() { "good" } else { "bad" },
        if gpg.status.success() { "good" } else { "bad" },
        if warns { " (warns: revoked)" } else { "" }
    )
}

fn rotate(k: &Keyed, reason: &str) {
    k.env
        .cmd_at("2026-11-01")
        .args(["rotate-subkey", "2027.1", "--reason", reason])
        .args(["--message", "CI node exposed", "--identity", &k.id()])
        .assert()
        .success();
}

/// `verify --cert CERT FILE` at 2026-11-10.
fn verify_with(k: &Keyed, cert: &Path, file: &Path) -> Output {
    let args = [
        "verify",
        "--cert",
        cert.to_str().unwrap(),
        file.to_str().unwrap(),
    ];
    k.env.run_at("2026-11-10", &args)
}

/// Only the signing subkey was revoked (`rotate-subkey`): the BAD line
/// says "signing subkey", not "key", with what to do. sqv agrees with
/// keycycle's verdicts; gpgv is measured.
#[test]
fn a_revoked_signing_subkey_is_named_as_the_subkey() {
    let k = vault_with_key("2026-09-01");
    let old = export(&k, "2027.1", "2026-10-01", "old.asc");
    let early = signed(&k, &old, "2026-10-02", "early.tar.gz");
    rotate(&k, "compromised");
    let cert = k.env.key_dir().join("cert.asc");
    let verify = |file: &Path| verify_with(&k, &cert, file);
    let out = verify(&early);
    let said = stdout(&out);
    assert!(!out.status.success(), "{said}");
    let sub = format!("0x{}", &k.sub_fpr[24..]);
    assert!(
        said.contains(&format!(
            "whose signing subkey {sub} was revoked on 2026-11-01 (compromised): a hard revocation voids every signature of the subkey"
        )),
        "{said}"
    );
    assert!(!said.contains("whose key was revoked"), "{said}");
    assert!(
        said.contains("hint: sign the release again with the current signing subkey"),
        "{said}"
    );
    assert!(
        !sqv_accepts("2026-11-10", &cert, &early),
        "sqv: a compromised subkey's signature"
    );
    eprintln!(
        "MEASURED compromised subkey, earlier signature: {}",
        gpg_sees(&k, "2026-11-10", &cert, &early)
    );

    // Superseded: earlier signatures stay good, later ones name the subkey.
    let k = vault_with_key("2026-09-01");
    let old = export(&k, "2027.1", "2026-10-01", "old.asc");
    let early = signed(&k, &old, "2026-10-02", "early.tar.gz");
    rotate(&k, "superseded");
    let late = signed(&k, &old, "2026-11-05", "late.tar.gz");
    let cert = k.env.key_dir().join("cert.asc");
    let verify = |file: &Path| verify_with(&k, &cert, file);
    assert!(verify(&early).status.success());
    let said = stdout(&verify(&late));
    let sub = format!("0x{}", &k.sub_fpr[24..]);
    assert!(
        said.contains(&format!(
            "made 2026-11-05 by 2027.1/Indri (0x{}) after its signing subkey {sub} was revoked on 2026-11-01 (superseded)",
            &k.fpr[24..]
        )) || said.contains(&format!("after its signing subkey {sub} was revoked on 2026-11-01 (superseded)")),
        "{said}"
    );
    assert!(
        said.contains("hint: signatures it made before the revocation stay good"),
        "{said}"
    );
    assert!(sqv_accepts("2026-11-10", &cert, &early));
    assert!(!sqv_accepts("2026-11-10", &cert, &late));
    eprintln!(
        "MEASURED superseded subkey: earlier {}; later {}",
        gpg_sees(&k, "2026-11-10", &cert, &early),
        gpg_sees(&k, "2026-11-10", &cert, &late)
    );
}

/// In a vault, `verify` trusts the keys the signed policy lists. A key
/// generated since is not "a key you did not give — fetch it from a
/// keyserver": it is the vault's, waiting for the policy step, which the
/// message names — `policy propose`, then, once proposed, the roots'
/// signatures — until the roots sign and it verifies.
#[test]
fn a_vault_key_not_in_the_policy_gets_the_policy_step() {
    let (k, ada, _bob) = vault_with_signed_key("2026-09-01");
    let env = &k.env;
    env.cmd_at("2026-10-03")
        .args(["generate", "--cycle", "2027.2"])
        .assert()
        .success();
    let sub = export(&k, "2027.2", "2026-10-03", "sub2.asc");
    let file = signed(&k, &sub, "2026-10-03", "two.tar.gz");
    let verify = || {
        env.cmd_at("2026-10-04")
            .arg("verify")
            .arg(&file)
            .output()
            .unwrap()
    };

    let out = verify();
    let said = stdout(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(
            "a key of the vault that the signed policy in force (version 1) does not list"
        ),
        "{said}"
    );
    assert!(said.contains("hint: a new key is trusted once the roots sign a policy listing it: keycycle policy propose"), "{said}");
    assert!(!said.contains("recv-keys"), "{said}");

    let n = env.propose("2026-10-04");
    let out = verify();
    let said = stdout(&out);
    assert!(!out.status.success(), "{said}");
    assert!(
        said.contains(&format!(
            "version {n} lists it, signed by 0 of the 1 roots it needs"
        )),
        "{said}"
    );
    assert!(
        said.contains(&format!(
            "hint: the roots sign version {n} (keycycle policy sign"
        )),
        "{said}"
    );

    ada.sign_policy(env, "2026-10-04");
    let out = verify();
    assert!(out.status.success(), "{}", stdout(&out));
}

/// No certificate at all — no vault, or a vault whose roots have signed
/// no policy yet — says `pass --cert`.
#[test]
fn no_certificate_at_all_says_pass_cert() {
    let env = Env::new("2026-10-04");
    let file = env.path("a.tar.gz");
    std::fs::write(&file, b"a").unwrap();
    let verify = || env.cmd().arg("verify").arg(&file).output().unwrap();
    let err = one_refusal(&verify());
    assert!(err.contains("hint: pass --cert FILE"), "no vault: {err}");
    env.ok(&["init"]);
    let err = one_refusal(&verify());
    assert!(
        err.contains(
            "error: no certificates to verify against: the vault has no signed policy yet"
        ),
        "{err}"
    );
    assert!(
        err.contains("hint: pass --cert FILE"),
        "a vault without a policy: {err}"
    );
}
