//! The escrowed revocations have their own threshold R in the signed
//! policy (`revocation_threshold`): with R = 2 of 3 roots one root alone is
//! refused ("needs 2 of 3") and two revoke (gpg shows `pub:r`, sqv rejects
//! a later signature); a policy signed before the field existed means R = 1
//! and keeps its bytes; raising R is a signed policy change that `policy
//! show` names, after which `escrow rewrap` splits the revocations.

use crate::common::*;
use crate::revocation_escrow::signed_file;
use std::path::{Path, PathBuf};

const GEN: &str = "2026-08-01T12:00:00Z";

/// A vault of three roots (Ann, Ben, Cat: age identities; with `signing`
/// also OpenPGP keys to sign policy changes) under `[escrow] threshold =
/// 2` and `revocation_threshold = r`, with the key 2027.1. The env, the
/// identities, and the roots' gpg homes (empty without `signing`).
fn three_roots(r: u8, signing: bool) -> (Env, Vec<PathBuf>, Vec<GpgRoot>) {
    let env = Env::new(GEN);
    env.ok(&["init"]);
    set_revocation_threshold(&env, r);
    let (mut ids, mut roots) = (Vec::new(), Vec::new());
    for name in ["Ann", "Ben", "Cat"] {
        let (id, recipient) = env.age_identity(name);
        let email = format!("{}@example.org", name.to_lowercase());
        if signing {
            let root = gpg_root(&env, name);
            env.roster_add_root(name, &email, &root.public, &recipient);
            roots.push(root);
        } else {
            env.roster_add(name, &email, &recipient);
        }
        ids.push(id);
    }
    env.ok(&["generate", "--cycle", "next"]);
    (env, ids, roots)
}

/// keycycle.toml: `[escrow] threshold = 2`, `revocation_threshold = r`.
fn set_revocation_threshold(env: &Env, r: u8) {
    let cfg = env.vault.join("keycycle.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let escrow = text.find("[escrow]\n").unwrap();
    let (head, tail) = text.split_at(escrow);
    let tail = tail
        .replacen("threshold = 1\n", "threshold = 2\n", 1)
        .lines()
        .filter(|l| !l.starts_with("revocation_threshold"))
        .collect::<Vec<_>>()
        .join("\n");
    let tail = tail.replacen(
        "[escrow]\n",
        &format!("[escrow]\nrevocation_threshold = {r}\n"),
        1,
    );
    std::fs::write(&cfg, format!("{head}{tail}\n")).unwrap();
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Cat alone is refused in one line naming how many are needed; Ann and
/// Cat revoke: gpg shows the key revoked, and sqv (and keycycle verify)
/// reject a signature made after the revocation, at the same time.
fn one_refused_two_revoke(env: &Env, ids: &[PathBuf], release: &Path) {
    let dir = env.key_dir();
    let before = std::fs::read(dir.join("cert.asc")).unwrap();
    let err = one_refusal(&env.run_with_ids("2026-11-01", &REVOKE_ESCROWED, &[&ids[2]]));
    assert!(err.contains("needs 2 of 3 shares; 1 given"), "{err}");
    assert_eq!(std::fs::read(dir.join("cert.asc")).unwrap(), before);
    let out = env.run_with_ids("2026-11-01", &REVOKE_ESCROWED, &[&ids[0], &ids[2]]);
    assert!(out.status.success(), "{}", stderr(&out));
    let cert = dir.join("cert.asc");
    assert_gpg_revoked("2026-11-02", &cert);
    let later = env.path("later.tar.gz");
    std::fs::write(&later, b"after the revocation").unwrap();
    env.cmd_at("2026-11-05")
        .args(["sign", "--key"])
        .arg(env.path("sub.asc"))
        .arg(&later)
        .assert()
        .success();
    assert!(
        !sqv_accepts("2026-11-05", &env.key_dir().join("cert.asc"), &later),
        "sqv: BAD"
    );
    assert!(
        !sqv_accepts("2026-11-05", &env.key_dir().join("cert.asc"), release),
        "hard: void"
    );
    let verify = env
        .cmd_at("2026-11-05")
        .arg("verify")
        .arg(&later)
        .output()
        .unwrap();
    assert!(!verify.status.success(), "keycycle verify: BAD");
}

#[test]
fn with_revocation_threshold_two_one_root_is_refused_and_two_revoke() {
    let (env, ids, _) = three_roots(2, false);
    let dir = env.key_dir();
    let v1 = std::fs::read_to_string(env.vault.join("policy/v1.toml")).unwrap();
    assert!(v1.contains("\nrevocation_threshold = 2\n"), "{v1}");
    // The revocations are split: no file any one root opens alone.
    assert!(!dir.join("revocation.age").exists());
    assert!(!dir.join("revocation-retired.age").exists());
    for sub in ["revocation-shares", "revocation-retired-shares"] {
        let shares: Vec<_> = std::fs::read_dir(dir.join(sub)).unwrap().collect();
        assert_eq!(shares.len(), 3, "{sub}");
    }
    let status = env.ok(&["status", "2027.1"]);
    assert!(
        status.contains("primary 2 of 3 roots, revocations 2 of 3 roots"),
        "{status}"
    );
    let show = env.ok(&["policy", "show"]);
    assert!(show.contains("revocations: 2 of 3 roots"), "{show}");
    // The drill of one root: its shares, nothing reconstructed.
    let out = env.run_with_ids("2026-10-05", &["escrow", "verify"], &[&ids[0]]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("revocation.age share 1 of 3 (threshold 2) held by Ann"),
        "{text}"
    );
    // Two roots: the revocations reconstructed and checked.
    let out = env.run_with_ids("2026-10-05", &["escrow", "verify"], &[&ids[0], &ids[1]]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(
        text.contains("reconstructed from them, are valid"),
        "{text}"
    );
    let release = signed_file(&env, &ids);
    assert!(sqv_accepts(
        "2026-10-03",
        &env.key_dir().join("cert.asc"),
        &release
    ));
    one_refused_two_revoke(&env, &ids, &release);
}

/// A vault whose policy was signed before `revocation_threshold` existed
/// (the fixture's v1.toml, and one written now with R = 1): it parses as
/// R = 1, its canonical text is its bytes (so its digest is unchanged), and
/// any one root revokes.
#[test]
fn a_policy_without_the_field_means_any_one_root_and_keeps_its_digest() {
    use keycycle::policy::{digest, Policy};
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cmd/fixtures/key/vault/policy/v1.toml");
    let k = vault_with_key(GEN);
    let written = k.env.vault.join("policy/v1.toml");
    for path in [fixture, written] {
        let bytes = std::fs::read(&path).unwrap();
        assert!(!String::from_utf8_lossy(&bytes).contains("revocation_threshold"));
        let p = Policy::parse(&bytes, &path).unwrap();
        assert_eq!(p.revocation_threshold, 1, "{}", path.display());
        assert_eq!(p.text().unwrap().as_bytes(), &bytes[..]);
        assert_eq!(digest(p.text().unwrap().as_bytes()), digest(&bytes));
    }
    let status = k.env.ok(&["status", "2027.1"]);
    assert!(
        status.contains("primary 1 of 2 roots, revocations any one root"),
        "{status}"
    );
    let show = k.env.ok(&["policy", "show"]);
    assert!(show.contains("revocations: any one root"), "{show}");
    let ssh = k.roster.ssh_id.clone();
    let out = k.env.run_with_ids("2026-11-01", &REVOKE_ESCROWED, &[&ssh]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// R from 1 to 2 through a signed policy change: `policy show` names it,
/// `status` says the escrow lags until `escrow rewrap`, which splits the
/// revocations; then one root is refused and two revoke.
#[test]
fn raising_the_revocation_threshold_is_a_signed_change_then_a_rewrap() {
    let (env, ids, roots) = three_roots(1, true);
    let dir = env.key_dir();
    let release = signed_file(&env, &ids);
    assert!(age_opens(&ids[2], &dir.join("revocation.age")));
    set_revocation_threshold(&env, 2);
    let status = env.ok(&["status", "2027.1"]);
    assert!(
        status.contains("thresholds were changed but not signed"),
        "{status}"
    );
    let v = env.propose("2026-10-03");
    assert_eq!(v, 2);
    let show = env.ok(&["policy", "show"]);
    assert!(
        show.contains("~ revocation threshold\n        value: 1 -> 2\n"),
        "{show}"
    );
    for root in &roots[..2] {
        root.sign_policy(&env, "2026-10-03");
    }
    let status = env.run_at("2026-10-04", &["status", "2027.1"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("revocations 2 of 3 roots")
            && text.contains("sealed to every root, but the signed policy's revocation threshold is 2: run keycycle escrow rewrap"),
        "{text}"
    );
    let rewrap = ["escrow", "rewrap"];
    let out = env.run_with_ids("2026-10-04", &rewrap, &[&ids[0], &ids[1]]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(!dir.join("revocation.age").exists());
    assert!(!dir.join("revocation-retired.age").exists());
    assert_eq!(
        std::fs::read_dir(dir.join("revocation-shares"))
            .unwrap()
            .count(),
        3
    );
    one_refused_two_revoke(&env, &ids, &release);
}
