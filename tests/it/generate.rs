//! generate → vault → GnuPG, age and sqv: the key's shape, the escrow, the
//! revocation certificate, and the vault's security invariants.

use crate::common::*;

use openpgp::parse::{PacketParser, PacketParserResult, Parse};
use sequoia_openpgp as openpgp;

const T: &str = "2026-08-01T12:00:00Z";
const UID: &str = "OpenStack Infra (2027.1/Indri Cycle) <infra-root@openstack.org>";
/// Indri's successor (projected 2027.2) starts the Monday after Indri's
/// release on 2027-03-24, i.e. 2027-03-29; plus the 60-day overlap.
const INDRI_EXPIRY: i64 = 1_811_462_400; // 2027-05-28T00:00:00Z
const CREATED: i64 = 1_785_585_600; // 2026-08-01T12:00:00Z

fn colons(listing: &str, kind: &str) -> Vec<Vec<String>> {
    listing
        .lines()
        .filter(|l| l.starts_with(&format!("{kind}:")))
        .map(|l| l.split(':').map(String::from).collect())
        .collect()
}

fn generated() -> (Env, Roster, serde_json::Value) {
    let k = vault_with_key(T);
    (k.env, k.roster, k.json)
}

#[test]
fn the_cert_has_the_policy_shape_in_gpg() {
    let (env, _, json) = generated();
    assert_eq!(json["cycle"], "2027.1");
    assert_eq!(json["expires"], "2027-05-28T00:00:00Z");
    let fpr = json["fingerprint"].as_str().unwrap().to_string();
    assert_eq!(fpr.len(), 40);
    assert_eq!(json["signing_subkey"].as_str().unwrap().len(), 40);

    let gpg = Gpg::at(T);
    let cert = env.key_dir().join("cert.asc");
    let listing = gpg.ok(
        &["--show-keys", "--with-colons", cert.to_str().unwrap()],
        None,
    );
    let pubs = colons(&listing, "pub");
    assert_eq!(pubs.len(), 1);
    // Field 12: lowercase letters are the key's own capabilities.
    let own = |caps: &str| {
        caps.chars()
            .filter(|c| c.is_lowercase())
            .collect::<String>()
    };
    assert_eq!(own(&pubs[0][11]), "c", "primary is certify-only: {listing}");
    assert_eq!(pubs[0][5], CREATED.to_string());
    assert_eq!(pubs[0][6], INDRI_EXPIRY.to_string(), "primary expiry");
    assert_eq!(pubs[0][3], "22", "EdDSA primary");
    let subs = colons(&listing, "sub");
    assert_eq!(subs.len(), 1, "one subkey: {listing}");
    assert_eq!(own(&subs[0][11]), "s", "subkey is sign-only");
    assert_eq!(subs[0][6], INDRI_EXPIRY.to_string(), "subkey expiry");
    let uids = colons(&listing, "uid");
    assert_eq!(uids.len(), 1);
    assert_eq!(uids[0][9], UID);
    let fprs = colons(&listing, "fpr");
    assert_eq!(fprs[0][9], fpr);
}

#[test]
fn escrow_opens_with_age_and_ssh_identities_and_gpg_imports_the_secret() {
    let (env, roster, json) = generated();
    let fpr = json["fingerprint"].as_str().unwrap();
    let dir = env.key_dir();
    for identity in [&roster.age_id, &roster.ssh_id] {
        let secret = age_decrypt(identity, &dir.join("primary.age"));
        assert!(String::from_utf8_lossy(&secret).contains("BEGIN PGP PRIVATE KEY BLOCK"));
        let gpg = Gpg::at(T);
        gpg.ok(&["--import"], Some(&secret));
        let listing = gpg.ok(&["--list-secret-keys", "--with-colons"], None);
        let sec = colons(&listing, "sec");
        assert_eq!(sec.len(), 1);
        assert_eq!(
            sec[0][14], "+",
            "the primary secret is really there (not a stub)"
        );
        assert_eq!(colons(&listing, "fpr")[0][9], fpr);
        // The decrypted key signs, and sqv accepts the signature against the
        // public cert from the vault.
        let data = env.path("artifact.tar.gz");
        std::fs::write(&data, b"release artifact\n").unwrap();
        let sig = env.path("artifact.tar.gz.asc");
        let _ = std::fs::remove_file(&sig);
        gpg.ok(
            &[
                "--faked-system-time",
                "20260901T000000!",
                "--armor",
                "--detach-sign",
                "--output",
                sig.to_str().unwrap(),
                data.to_str().unwrap(),
            ],
            None,
        );
        let out = sqv("2026-09-01T00:00:00Z", &dir.join("cert.asc"), &sig, &data);
        assert!(
            out.status.success(),
            "sqv: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // sqv prints the fingerprint of the certificate that signed.
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), fpr);
    }
}

#[test]
fn the_escrowed_revocation_certificate_revokes_the_key_in_gpg() {
    let (env, roster, json) = generated();
    let fpr = json["fingerprint"].as_str().unwrap();
    let dir = env.key_dir();
    let gpg = Gpg::at(T);
    gpg.ok(&["--import", dir.join("cert.asc").to_str().unwrap()], None);
    let before = gpg.ok(&["--list-keys", "--with-colons", fpr], None);
    assert_eq!(colons(&before, "pub")[0][1], "-");
    let rev = age_decrypt(&roster.ssh_id, &dir.join("revocation.age"));
    let text = String::from_utf8_lossy(&rev);
    assert!(
        text.contains("BEGIN PGP PUBLIC KEY BLOCK"),
        "gpg --gen-revoke style armor"
    );
    let packets = gpg.ok(&["--list-packets"], Some(&rev));
    assert!(packets.contains("sigclass 0x20"), "{packets}");
    assert!(
        packets.contains("revocation reason 0x02"),
        "reason: key compromised\n{packets}"
    );
    gpg.ok(&["--import"], Some(&rev));
    let after = gpg.ok(&["--list-keys", "--with-colons", fpr], None);
    assert_eq!(
        colons(&after, "pub")[0][1],
        "r",
        "revoked after import: {after}"
    );
}

#[test]
fn the_ladder_holds_weekly_soft_revocations_until_expiry() {
    let (env, roster, _) = generated();
    let ladder = age_decrypt(
        &roster.age_id,
        &env.key_dir().join("revocation-retired.age"),
    );
    let gpg = Gpg::at(T);
    let packets = gpg.ok(&["--list-packets"], Some(&ladder));
    let rungs = packets.matches("sigclass 0x20").count();
    // 2026-08-01 + 7 d … ≤ 2027-05-28: 42 rungs.
    assert_eq!(rungs, 42, "{packets}");
    assert_eq!(
        packets.matches("revocation reason 0x03").count(),
        42,
        "all 'retired'"
    );
    assert!(!packets.contains("revocation reason 0x02"));
}

/// Invariant 1: no vault file holds an unencrypted secret key packet, and
/// secret-bearing files are 0600 in 0700 folders.
#[test]
fn no_plaintext_secret_and_private_modes() {
    let (env, _, _) = generated();
    // And a second key, RSA, to cover the other suites' code path.
    env.ok(&[
        "generate",
        "--cycle",
        "2027.2",
        "--cipher-suite",
        "rsa2048",
        "--encryption-subkey",
    ]);
    let files = snapshot(&env.vault);
    let mut age_files = 0;
    for (path, (bytes, mode)) in &files {
        let name = path.file_name().unwrap().to_string_lossy();
        if path.is_dir() {
            assert_eq!(mode & 0o777, 0o700, "{}", path.display());
            continue;
        }
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains("PRIVATE KEY"),
            "{} holds a private key block",
            path.display()
        );
        if name.ends_with(".age") {
            age_files += 1;
            assert!(
                text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"),
                "{}",
                path.display()
            );
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
            continue;
        }
        // Anything that parses as OpenPGP must hold no secret key packet.
        if let Ok(mut ppr) = PacketParser::from_bytes(bytes) {
            while let PacketParserResult::Some(pp) = ppr {
                assert!(
                    !matches!(
                        pp.packet,
                        openpgp::Packet::SecretKey(_) | openpgp::Packet::SecretSubkey(_)
                    ),
                    "{} holds a secret key packet",
                    path.display()
                );
                ppr = match pp.recurse() {
                    Ok((_, next)) => next,
                    Err(_) => break,
                };
            }
        }
    }
    assert_eq!(age_files, 6);
}

#[test]
fn rsa_suite_and_encryption_subkey() {
    let env = Env::new(T);
    let roster = env.vault_with_roster();
    let _ = roster;
    env.ok(&[
        "generate",
        "--cycle",
        "indri",
        "--cipher-suite",
        "rsa2048",
        "--encryption-subkey",
    ]);
    let gpg = Gpg::at(T);
    let listing = gpg.ok(
        &[
            "--show-keys",
            "--with-colons",
            env.key_dir().join("cert.asc").to_str().unwrap(),
        ],
        None,
    );
    let pubs = colons(&listing, "pub");
    assert_eq!(pubs[0][3], "1", "RSA");
    assert_eq!(pubs[0][2], "2048");
    let subs = colons(&listing, "sub");
    let caps: Vec<String> = subs.iter().map(|s| s[11].clone()).collect();
    assert_eq!(caps.len(), 2);
    assert!(
        caps.contains(&"s".to_string()) && caps.contains(&"e".to_string()),
        "{caps:?}"
    );
}

#[test]
fn same_time_same_result_and_next_moves_with_time() {
    let a = Env::new("2026-10-04T23:59:59Z");
    let b = Env::new("2026-10-04T23:59:59Z");
    for e in [&a, &b] {
        e.ok(&["init"]);
    }
    let (_, r) = a.age_identity("x");
    let next = |e: &Env| -> serde_json::Value {
        let args = [
            "--json",
            "generate",
            "--cycle",
            "next",
            "--escrow-recipient",
            &r,
        ];
        serde_json::from_str(&e.ok(&args)).unwrap()
    };
    let ja = next(&a);
    let jb = next(&b);
    assert_eq!(ja["cycle"], "2027.1");
    assert_eq!(ja["cycle"], jb["cycle"]);
    assert_eq!(ja["expires"], jb["expires"]);
    // One second later Indri has started: "next" is 2027.2.
    let c = Env::new("2026-10-05T00:00:00Z");
    c.ok(&["init"]);
    let jc = next(&c);
    assert_eq!(jc["cycle"], "2027.2");
    assert_eq!(jc["expires"], "2027-11-26T00:00:00Z");
}

#[test]
fn audit_log_records_generate_in_a_hash_chain() {
    let (env, _, json) = generated();
    let log = std::fs::read_to_string(env.vault.join("audit.log")).unwrap();
    let entries = keycycle::vault::audit::verify(&log).unwrap();
    let last = entries.last().unwrap();
    assert_eq!(last.action, "generate");
    assert_eq!(last.details["fingerprint"], json["fingerprint"]);
    assert_eq!(keycycle::base::clock::iso(last.time), T);
    // The operator's name is recorded with each change.
    env.cmd()
        .args(["--operator", "Ada Lovelace", "roster", "remove", "Bob"])
        .assert()
        .success();
    let log = std::fs::read_to_string(env.vault.join("audit.log")).unwrap();
    let last = keycycle::vault::audit::verify(&log).unwrap().pop().unwrap();
    assert_eq!(last.action, "roster remove");
    assert_eq!(last.operator.as_deref(), Some("Ada Lovelace"));
    assert_eq!(last.result, "ok");
}

#[test]
fn status_and_check_levels() {
    let (env, _, json) = generated();
    // Before Indri starts, Hibiscus is current and has no key: critical.
    let out = env.run(&["status", "--check"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout)
        .contains("no key for the current cycle 2026.2/Hibiscus"));
    // During Indri, far from expiry, with 2027.2's window not yet open: ok.
    let mut c = env.cmd_at("2026-11-01");
    c.args(["status", "--check", "--json"]);
    let out = c.output().unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{report}");
    assert_eq!(report["keys"][0]["fingerprint"], json["fingerprint"]);
    assert_eq!(report["keys"][0]["days_left"], 208);
    // In 2027.2's key window without a key for it: warning.
    let out = env.run_at("2027-02-15", &["status", "--check"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("next key not ready"));
    // After expiry (2027.2 is current, no key): critical.
    let out = env.run_at("2027-06-01", &["status", "--check", "2027.1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stdout).contains("expired"));
    // Expiring soon: warning.
    let out = env.run_at("2027-05-10", &["status", "--check", "2027.1"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("expires in 18 days"));
}

#[test]
fn export_public_holds_no_secret_and_matches_the_vault() {
    let (env, _, json) = generated();
    let armor = env.ok(&["export", "public", "2027.1"]);
    assert!(armor.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert!(!armor.contains("PRIVATE"));
    let cert = openpgp::Cert::from_bytes(armor.as_bytes()).unwrap();
    assert!(!cert.is_tsk());
    assert_eq!(
        cert.fingerprint().to_hex(),
        json["fingerprint"].as_str().unwrap()
    );
    // Key id and fingerprint work as KEY too.
    let fpr = json["fingerprint"].as_str().unwrap();
    assert_eq!(
        env.ok(&["export", "public", &format!("0x{}", &fpr[24..])]),
        armor
    );
    assert_eq!(env.ok(&["export", "public", fpr]), armor);
    let releases = env.ok(&["export", "public", "indri", "--format", "releases"]);
    let mut lines = releases.lines();
    assert!(lines.next().unwrap().starts_with(&format!(
        "pub   ed25519/0x{} 2026-08-01 [C] [expires: 2027-05-28]",
        &fpr[24..]
    )));
    assert!(releases.contains(&format!("uid                              {UID}")));
    assert!(releases.contains("\n\n-----BEGIN PGP PUBLIC KEY BLOCK-----\n"));
    // -o writes atomically and refuses to overwrite.
    let out = env.path("0x.txt");
    env.ok(&["export", "public", "2027.1", "-o", out.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), armor);
    env.fails(&["export", "public", "2027.1", "-o", out.to_str().unwrap()]);
}

/// `generate` before the cycle's key window opens warns as the ceremony
/// does; inside the window it does not.
#[test]
fn generate_outside_the_key_window_warns() {
    let env = Env::new(T);
    env.vault_with_roster();
    let out = env.run(&["generate", "--cycle", "2027.2"]);
    assert_ok(&out);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("warning: the key window for 2027.2") && e.contains("days from now"),
        "{e}"
    );
    // Indri's window opened on 2026-08-10.
    let out = env.run_at("2026-08-15T10:00:00Z", &["generate", "--cycle", "2027.1"]);
    assert_ok(&out);
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(!e.contains("key window"), "{e}");
}
