//! `keycycle announce`: the key transition statement, cleartext-signed by
//! the previous cycle's key and the new key, checked with gpg and sq
//! (keycycle's own `verify` reads detached signatures only).

use crate::common::*;
use std::path::{Path, PathBuf};

const T: &str = "2026-08-16T09:00:00Z";
/// When gpg and sq check the announcement.
const CHECK: &str = "2026-08-16T12:00:00Z";

struct Setup {
    env: Env,
    id: PathBuf,
    old: String,
    new: String,
    /// Ada's own OpenPGP key, to sign policy changes.
    ada: GpgRoot,
}

/// A vault with Hibiscus' key (2026-03-01) and Indri's (2026-08-15),
/// Indri certified by Hibiscus when `cross_sign`.
fn setup(with_previous: bool, cross_sign: bool) -> Setup {
    let env = Env::new(T);
    env.ok(&["init"]);
    let (id, r) = env.age_identity("ada");
    let ada = gpg_root(&env, "Ada");
    env.roster_add_root("Ada", "ada@example.org", &ada.public, &r);
    let generate = |t: &str, cycle: &str| -> String {
        let out = env.run_at(t, &["--json", "generate", "--cycle", cycle]);
        assert_ok(&out);
        let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        j["fingerprint"].as_str().unwrap().to_string()
    };
    let old = if with_previous {
        generate("2026-03-01", "2026.2")
    } else {
        String::new()
    };
    let new = generate("2026-08-15T10:00:00Z", "2027.1");
    if cross_sign {
        env.ok(&cross_sign_args(id.to_str().unwrap()));
    }
    Setup {
        env,
        id,
        old,
        new,
        ada,
    }
}

impl Setup {
    fn announce(&self) -> PathBuf {
        let out = self.env.path("announcement.txt");
        self.env.ok(&[
            "announce",
            "--identity",
            self.id.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        out
    }

    /// `export public` of a key into a file.
    fn public(&self, fpr: &str) -> PathBuf {
        let p = self.env.path(&format!("0x{}.txt", fpr.to_lowercase()));
        self.env
            .ok(&["export", "public", fpr, "-o", p.to_str().unwrap()]);
        p
    }
}

fn grouped(fpr: &str) -> String {
    let g: Vec<&str> = (0..10).map(|i| &fpr[i * 4..i * 4 + 4]).collect();
    format!("{}  {}", g[..5].join(" "), g[5..].join(" "))
}

/// `gpg --status-fd 1 --verify FILE` with the certs imported: (status, stderr, ok).
fn gpg_verify(certs: &[&Path], file: &Path) -> (String, String, bool) {
    let gpg = Gpg::at(CHECK);
    for c in certs {
        gpg.ok(&["--import", c.to_str().unwrap()], None);
    }
    let out = gpg.run(
        &["--status-fd", "1", "--verify", file.to_str().unwrap()],
        None,
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        out.status.success(),
    )
}

/// `sq verify --signer-cert CERT FILE` (Debian's sq 0.27).
fn sq_verify(cert: &Path, file: &Path) -> (bool, String) {
    let out = sq_at(CHECK)
        .args(["verify", "--signer-cert"])
        .arg(cert)
        .arg(file)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The VALIDSIG lines' (signing key, hash algorithm, primary fingerprint).
fn validsigs(status: &str) -> Vec<(String, String, String)> {
    status
        .lines()
        .filter_map(|l| l.strip_prefix("[GNUPG:] VALIDSIG "))
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f[0].to_string(), f[7].to_string(), f[9].to_string())
        })
        .collect()
}

#[test]
fn gpg_reports_two_good_signatures_by_the_previous_and_the_new_key() {
    let s = setup(true, true);
    let ann = s.announce();
    let text = std::fs::read_to_string(&ann).unwrap();
    assert!(
        text.starts_with("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n"),
        "{text}"
    );
    // What it states.
    for want in [
        "OpenStack Infra (2027.1/Indri Cycle) <infra-root@openstack.org>",
        &format!("Key fingerprint = {}", grouped(&s.new)),
        &format!("Key fingerprint = {}", grouped(&s.old)),
        "Algorithm:        ed25519",
        "Created:          2026-08-15",
        "Expires:          2027-05-28",
        "It takes over from the 2026.2/Hibiscus key",
        "which stays valid until 2026-12-04",
        "The 2026.2/Hibiscus key has certified the new key",
        "No infra root has certified it yet",
        "--recv-keys",
        "--locate-keys infra-root@openstack.org",
        "https://openpgpkey.openstack.org/.well-known/openpgpkey/openstack.org/hu/",
        &format!(
            "https://releases.openstack.org/_static/0x{}.txt",
            s.new.to_lowercase()
        ),
        "gpg --verify announcement.txt",
        "sq verify --signer-cert",
        "sqv --keyring",
        "keycycle verify --cert",
        "keycycle inspect",
    ] {
        assert!(text.contains(want), "missing {want:?} in\n{text}");
    }
    let (old_pub, new_pub) = (s.public(&s.old), s.public(&s.new));
    let (status, stderr, ok) = gpg_verify(&[&old_pub, &new_pub], &ann);
    assert!(ok, "{stderr}");
    assert_eq!(stderr.matches("Good signature from").count(), 2, "{stderr}");
    assert!(stderr.contains("Good signature from \"OpenStack Infra (2026.2/Hibiscus Cycle)"));
    assert!(stderr.contains("Good signature from \"OpenStack Infra (2027.1/Indri Cycle)"));
    for fpr in [&s.old, &s.new] {
        assert!(
            stderr.contains(&format!("Primary key fingerprint: {}", grouped(fpr))),
            "{stderr}"
        );
    }
    // gpg reports the previous key's signature first.
    let p_old = stderr.find(&grouped(&s.old)).unwrap();
    let p_new = stderr.find(&grouped(&s.new)).unwrap();
    assert!(p_old < p_new, "{stderr}");
    let v = validsigs(&status);
    assert_eq!(v.len(), 2, "{status}");
    let primaries: Vec<&str> = v.iter().map(|(_, _, p)| p.as_str()).collect();
    assert_eq!(primaries, [s.old.as_str(), s.new.as_str()]);
    for (signer, hash, primary) in &v {
        // Made by the signing subkey, not the certify-only primary; SHA-256 (8).
        assert_ne!(signer, primary, "{status}");
        assert_eq!(hash, "8", "{status}");
    }
}

#[test]
fn sq_accepts_it_with_either_key_alone_and_one_changed_character_fails_everything() {
    let s = setup(true, true);
    let ann = s.announce();
    let (old_pub, new_pub) = (s.public(&s.old), s.public(&s.new));
    for cert in [&old_pub, &new_pub] {
        let (ok, err) = sq_verify(cert, &ann);
        assert!(ok, "sq with {}: {err}", cert.display());
        assert!(err.contains("1 good signature"), "{err}");
    }
    // One character of the statement changed: both signatures are bad.
    let text = std::fs::read_to_string(&ann).unwrap();
    let bad_text = text.replacen(
        "Expires:          2027-05-28",
        "Expires:          2027-05-29",
        1,
    );
    assert_ne!(bad_text, text);
    let bad = s.env.path("tampered.txt");
    std::fs::write(&bad, &bad_text).unwrap();
    // gpg --batch stops at the first bad signature: check each key's alone.
    for (cert, cycle) in [(&old_pub, "2026.2/Hibiscus"), (&new_pub, "2027.1/Indri")] {
        let (status, stderr, ok) = gpg_verify(&[cert], &bad);
        assert!(!ok, "{stderr}");
        assert!(
            stderr.contains(&format!(
                "BAD signature from \"OpenStack Infra ({cycle} Cycle)"
            )),
            "{stderr}"
        );
        assert!(!status.contains("GOODSIG"), "{status}");
    }
    for cert in [&old_pub, &new_pub] {
        let (ok, err) = sq_verify(cert, &bad);
        assert!(
            !ok,
            "sq accepted the tampered copy with {}: {err}",
            cert.display()
        );
    }
}

#[test]
fn without_a_previous_key_it_is_signed_by_the_new_key_alone_and_says_so() {
    let s = setup(false, false);
    let ann = s.announce();
    let text = std::fs::read_to_string(&ann).unwrap();
    assert!(
        text.contains("There is no key of the previous cycle"),
        "{text}"
    );
    assert!(text.contains("signed by the new key alone"), "{text}");
    assert!(
        text.contains("It is signed by the new 2027.1/Indri key"),
        "{text}"
    );
    assert!(!text.contains("two \"Good signature\""), "{text}");
    let new_pub = s.public(&s.new);
    let (status, stderr, ok) = gpg_verify(&[&new_pub], &ann);
    assert!(ok, "{stderr}");
    assert_eq!(stderr.matches("Good signature from").count(), 1, "{stderr}");
    assert_eq!(validsigs(&status).len(), 1);
    assert!(sq_verify(&new_pub, &ann).0);
}

#[test]
fn a_revoked_previous_key_does_not_sign() {
    let s = setup(true, true);
    let id = s.id.to_str().unwrap();
    s.env.ok(&revoke_args("2026.2", "compromised", "test", id));
    let ann = s.announce();
    let text = std::fs::read_to_string(&ann).unwrap();
    assert!(
        text.contains(
            "which is revoked (compromised): this message is signed by the new key alone"
        ),
        "{text}"
    );
    let (status, stderr, ok) = gpg_verify(&[&s.public(&s.new)], &ann);
    assert!(ok, "{stderr}");
    assert_eq!(validsigs(&status).len(), 1, "{status}");
}

#[test]
fn json_prints_the_facts_unsigned_without_opening_the_escrow() {
    let s = setup(true, false);
    let out = s.env.ok(&["--json", "announce", "2027.1"]);
    assert!(!out.contains("BEGIN PGP"));
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j["cycle"], "2027.1");
    assert_eq!(j["key"]["fingerprint"], s.new);
    assert_eq!(j["key"]["expires"], "2027-05-28T00:00:00Z");
    assert_eq!(j["previous"]["fingerprint"], s.old);
    assert_eq!(j["previous"]["expires"], "2026-12-04T00:00:00Z");
    assert_eq!(j["previous"]["cross_signed"], false);
    assert_eq!(j["signers"], serde_json::json!([s.old, s.new]));
    // Ada is the one root with an OpenPGP key, and she has not certified.
    assert_eq!(j["roots"]["of"], 1);
    assert_eq!(j["roots"]["by"], serde_json::json!([]));
    // And the text says the predecessor did not certify it.
    let ann = s.announce();
    let text = std::fs::read_to_string(ann).unwrap();
    assert!(text.contains("has NOT certified the new key"), "{text}");
}

#[test]
fn a_team_template_replaces_the_wording_and_its_mistakes_name_the_line() {
    let s = setup(true, true);
    s.env.edit_config(
        "# template = \"announce.txt\"",
        "template = \"our-announcement.txt\"",
    );
    std::fs::write(
        s.env.vault.join("our-announcement.txt"),
        "New key for {{cycle}}: {{fingerprint}}\n{{#previous_signs}}\nAlso signed by {{previous_cycle}}.\n{{/previous_signs}}\n",
    )
    .unwrap();
    // The release key signs what the template says: only once the roots
    // signed a policy naming it.
    let e = s
        .env
        .fails(&["announce", "--identity", s.id.to_str().unwrap()]);
    let e = String::from_utf8_lossy(&e.stderr);
    assert!(e.contains("not the one the signed policy approved"), "{e}");
    assert_eq!(s.env.propose(T), 2);
    s.ada.sign_policy(&s.env, T);
    let ann = s.announce();
    let text = std::fs::read_to_string(&ann).unwrap();
    assert!(
        text.contains(&format!(
            "New key for 2027.1/Indri: {}\nAlso signed by 2026.2/Hibiscus.\n",
            s.new
        )),
        "{text}"
    );
    let (_, stderr, ok) = gpg_verify(&[&s.public(&s.old), &s.public(&s.new)], &ann);
    assert!(
        ok && stderr.matches("Good signature").count() == 2,
        "{stderr}"
    );
    // A typo in the template: an error naming the line, nothing written.
    std::fs::write(
        s.env.vault.join("our-announcement.txt"),
        "ok\n{{fingerprnt}}\n",
    )
    .unwrap();
    let out = s.env.path("second.txt");
    let e = s.env.fails(&[
        "announce",
        "--identity",
        s.id.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    let e = String::from_utf8_lossy(&e.stderr);
    assert!(e.contains("line 2") && e.contains("{{fingerprnt}}"), "{e}");
    assert!(
        e.contains("{{fingerprint}}"),
        "the hint lists the placeholders: {e}"
    );
    assert!(!out.exists());
}

#[test]
fn an_existing_output_is_kept_without_overwrite_and_batch_names_the_identity_flag() {
    let s = setup(true, true);
    let ann = s.announce();
    let before = std::fs::read(&ann).unwrap();
    let e = s.env.fails(&[
        "announce",
        "--identity",
        s.id.to_str().unwrap(),
        "-o",
        ann.to_str().unwrap(),
    ]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("pass --overwrite"));
    assert_eq!(std::fs::read(&ann).unwrap(), before);
    s.env.ok(&[
        "announce",
        "--identity",
        s.id.to_str().unwrap(),
        "-o",
        ann.to_str().unwrap(),
        "--overwrite",
    ]);
    let e = s.env.fails(&["announce"]);
    assert!(String::from_utf8_lossy(&e.stderr).contains("pass --identity FILE"));
    // Opening the escrow is in the audit log.
    let log = std::fs::read_to_string(s.env.vault.join("audit.log")).unwrap();
    assert!(log.contains("announce"), "{log}");
}
