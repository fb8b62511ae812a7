//! A certification counts only if its issuer could make it: judged at
//! its own time under the policy `verify` uses (hard revocation never,
//! soft only before its date, not by an expired issuer, not once revoked
//! by a certification revocation), by `inspect` and its chain of custody;
//! gpg shown alongside.

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::UserID;
use openpgp::serialize::SerializeInto;
use openpgp::types::{ReasonForRevocation, SignatureType};
use openpgp::Cert;

use crate::common::*;

const T: &str = "2026-06-01T00:00:00Z";

fn key(cycle: &str, created: &str, validity_days: Option<u64>) -> Cert {
    CertBuilder::new()
        .add_userid(format!(
            "OpenStack Infra ({cycle} Cycle) <infra-root@openstack.org>"
        ))
        .set_creation_time(system_time(created))
        .set_validity_period(validity_days.map(|d| std::time::Duration::from_secs(d * 86400)))
        .add_signing_subkey()
        .generate()
        .unwrap()
        .0
}

/// `new` with a certification (or certification revocation) by `issuer`
/// of its user ID made at `at`.
fn sign_uid(issuer: &Cert, new: &Cert, typ: SignatureType, at: &str) -> Cert {
    let uid: UserID = new.userids().next().unwrap().userid().clone();
    let mut b = SignatureBuilder::new(typ)
        .set_signature_creation_time(system_time(at))
        .unwrap();
    if typ == SignatureType::CertificationRevocation {
        b = b
            .set_reason_for_revocation(ReasonForRevocation::Unspecified, b"withdrawn")
            .unwrap();
    }
    let sig = b
        .sign_userid_binding(&mut primary_keypair(issuer), new.primary_key().key(), &uid)
        .unwrap();
    new.clone()
        .insert_packets(vec![openpgp::Packet::from(uid), sig.into()])
        .unwrap()
        .0
}

fn soft_revoked(secret: &Cert, at: &str) -> Cert {
    revoked(secret, at, ReasonForRevocation::KeyRetired, b"retired")
}

struct Case {
    name: &'static str,
    predecessor: Cert,
    new: Cert,
    /// keycycle's reason, or None for a certification that counts.
    reason: Option<&'static str>,
    /// gpg's letter for it: `?` when the issuer is revoked (whatever the
    /// reason and the date) or expired now, `!` otherwise.
    gpg: &'static str,
}

fn cases() -> Vec<Case> {
    let pred = key("2026.1/Gazpacho", "2026-01-01T00:00:00Z", None);
    let new = || key("2026.2/Hibiscus", "2026-03-01T00:00:00Z", None);
    let cert = SignatureType::GenericCertification;
    let hard = hard_revoked(&pred, "2026-04-01T00:00:00Z");
    let soft = soft_revoked(&pred, "2026-04-01T00:00:00Z");
    let short = key("2026.1/Gazpacho", "2026-01-01T00:00:00Z", Some(60));
    let revoked = sign_uid(&pred, &new(), cert, "2026-03-15T00:00:00Z");
    let revoked = sign_uid(
        &pred,
        &revoked,
        SignatureType::CertificationRevocation,
        "2026-04-15T00:00:00Z",
    );
    let public = |c: &Cert| c.clone().strip_secret_key_material();
    vec![
        Case {
            name: "after a hard revocation",
            new: sign_uid(&pred, &new(), cert, "2026-05-01T00:00:00Z"),
            predecessor: hard.clone(),
            reason: Some("issuer hard-revoked on 2026-04-01 (key compromised)"),
            gpg: "?",
        },
        Case {
            name: "before a hard revocation",
            new: sign_uid(&pred, &new(), cert, "2026-03-15T00:00:00Z"),
            predecessor: hard,
            reason: Some("issuer hard-revoked on 2026-04-01 (key compromised)"),
            gpg: "?",
        },
        Case {
            name: "after a soft revocation",
            new: sign_uid(&pred, &new(), cert, "2026-05-01T00:00:00Z"),
            predecessor: soft.clone(),
            reason: Some("made after the issuer was revoked on 2026-04-01 (retired)"),
            gpg: "?",
        },
        Case {
            name: "before a soft revocation",
            new: sign_uid(&pred, &new(), cert, "2026-03-15T00:00:00Z"),
            predecessor: soft,
            reason: None,
            gpg: "?",
        },
        Case {
            name: "by an expired issuer",
            new: sign_uid(&short, &new(), cert, "2026-05-01T00:00:00Z"),
            predecessor: public(&short),
            reason: Some("issuer expired on 2026-03-02"),
            gpg: "?",
        },
        Case {
            name: "revoked by its issuer",
            new: public(&revoked),
            predecessor: public(&pred),
            reason: Some("certification revoked on 2026-04-15"),
            gpg: "!",
        },
    ]
}

/// gpg's validity letter for the predecessor's certification of `new`
/// (`--check-sigs --with-colons` at `T`): `!` good, `-` bad.
fn gpg_letter(case: &Case) -> String {
    let gpg = Gpg::at(T);
    for c in [&case.predecessor, &case.new] {
        gpg.ok(&["--import"], Some(&c.armored().to_vec().unwrap()));
    }
    let out = gpg.ok(
        &[
            "--with-colons",
            "--check-sigs",
            &case.new.fingerprint().to_hex(),
        ],
        None,
    );
    let id = case.predecessor.keyid().to_hex();
    out.lines()
        .filter(|l| l.starts_with("sig:") && l.split(':').nth(4) == Some(id.as_str()))
        .map(|l| l.split(':').nth(1).unwrap_or("").to_string())
        .collect::<Vec<_>>()
        .join(",")
}

#[test]
fn a_certification_counts_only_if_its_issuer_could_make_it() {
    let env = Env::new(T);
    for case in cases() {
        let (p, n) = (env.path("pred.asc"), env.path("new.asc"));
        std::fs::write(&p, case.predecessor.armored().to_vec().unwrap()).unwrap();
        std::fs::write(&n, case.new.armored().to_vec().unwrap()).unwrap();
        let (p, n) = (p.display().to_string(), n.display().to_string());
        let j: serde_json::Value =
            serde_json::from_str(&env.ok(&["--json", "inspect", &p, &n])).unwrap();
        let certs = &j["certificates"][1]["certifications"];
        let ours: Vec<&serde_json::Value> = certs
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["issuer_fingerprint"] == case.predecessor.fingerprint().to_hex())
            .collect();
        assert!(!ours.is_empty(), "{}: {certs:#}", case.name);
        let custody = &j["custody"];
        let text = env.ok(&["inspect", &p, &n]);
        assert_eq!(gpg_letter(&case), case.gpg, "{}: gpg", case.name);
        match case.reason {
            None => {
                assert_eq!(ours[0]["check"], "valid", "{}", case.name);
                assert_eq!(
                    custody["gaps"].as_array().unwrap().len(),
                    0,
                    "{}",
                    case.name
                );
                assert!(
                    text.contains("Chain of custody unbroken"),
                    "{}: {text}",
                    case.name
                );
            }
            Some(why) => {
                assert!(
                    ours.iter().all(|c| c["check"] == "invalid"),
                    "{}: {ours:#?}",
                    case.name
                );
                assert_eq!(ours.last().unwrap()["reason"], why, "{}", case.name);
                assert_eq!(custody["broken"][0][1], why, "{}: {custody:#}", case.name);
                assert!(!text.contains("unbroken"), "{}: {text}", case.name);
                assert!(
                    text.contains(&format!("but that does not count: {why}")),
                    "{}: {text}",
                    case.name
                );
            }
        }
    }
}

/// A vault where Hibiscus (2026.2) certified Indri (2027.1), then was
/// revoked as compromised: status and the announcement say the link does
/// not count and why; cross-sign from it is refused.
#[test]
fn a_compromised_predecessor_vouches_for_nothing() {
    let at = "2026-08-16T09:00:00Z";
    let env = Env::new(at);
    env.ok(&["init"]);
    let (id, r) = env.age_identity("ada");
    let id = id.to_str().unwrap().to_string();
    let ada = gpg_root(&env, "Ada");
    env.roster_add_root("Ada", "ada@example.org", &ada.public, &r);
    for (t, cycle) in [("2026-03-01", "2026.2"), ("2026-08-15T10:00:00Z", "2027.1")] {
        let out = env.run_at(t, &["generate", "--cycle", cycle]);
        assert_ok(&out);
    }
    let cross = cross_sign_args(&id);
    env.ok(&cross);
    let status = |env: &Env| -> serde_json::Value {
        serde_json::from_str(&env.ok(&["--json", "status"])).unwrap()
    };
    let indri = |j: &serde_json::Value| {
        j["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["cycle"] == "2027.1")
            .unwrap()
            .clone()
    };
    assert_eq!(indri(&status(&env))["cross_signed"], true);
    env.ok(&revoke_args("2026.2", "compromised", "stolen", &id));
    let why = "issuer hard-revoked on 2026-08-16 (key compromised)";
    let k = indri(&status(&env));
    assert_eq!(k["cross_signed"], false, "{k:#}");
    assert_eq!(k["cross_sign_void"], why, "{k:#}");
    let text = env.ok(&["status"]);
    assert!(text.contains(&format!("does not count: {why}")), "{text}");
    let j: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "announce", "2027.1"])).unwrap();
    assert_eq!(j["previous"]["cross_signed"], false);
    assert_eq!(j["previous"]["cross_sign_void"], why);
    let ann = env.path("announcement.txt");
    env.ok(&["announce", "--identity", &id, "-o", ann.to_str().unwrap()]);
    let ann = std::fs::read_to_string(ann).unwrap();
    assert!(!ann.contains("has certified the new key"), "{ann}");
    assert!(ann.contains(&format!("does NOT count\n({why})")), "{ann}");
    // Certifying again from the revoked key is refused, in one line.
    let out = env.fails(&cross);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(&format!("cannot certify at 2026-08-16: {why}")),
        "{err}"
    );
}

/// `certify` refuses a signer that could not make the certification at
/// `--time` — expired, or revoked before — in one line, and writes
/// nothing; the same key a day inside its life certifies.
#[test]
fn certify_refuses_a_key_that_cannot_certify_now() {
    let env = Env::new(T);
    let target = key("2026.2", "2026-01-01T00:00:00Z", None);
    let target_file = env.path("target.asc");
    std::fs::write(&target_file, target.armored().to_vec().unwrap()).unwrap();
    let write_tsk = |name: &str, c: &Cert| {
        let p = env.path(name);
        std::fs::write(&p, c.as_tsk().armored().to_vec().unwrap()).unwrap();
        p
    };
    // Alive 2026-01-01 … 2026-01-31.
    let short = key("Ada", "2026-01-01T00:00:00Z", Some(30));
    let short_file = write_tsk("short.asc", &short);
    // Soft-revoked on 2026-03-01 (the secret kept beside the revocation).
    let bob = key("Bob", "2026-01-01T00:00:00Z", None);
    let with_rev = soft_revoked(&bob, "2026-03-01T00:00:00Z");
    let revoked = bob.merge_public(with_rev).unwrap();
    let revoked_file = write_tsk("revoked.asc", &revoked);
    let fpr = target.fingerprint().to_hex();
    let certify = |at: &str, with: &std::path::Path, out: &str| {
        env.cmd_at(at)
            .args(["certify", target_file.to_str().unwrap(), "--with-key"])
            .arg(with)
            .args(["--fingerprint", &fpr, "-o"])
            .arg(env.path(out))
            .output()
            .unwrap()
    };
    for (with, why) in [
        (&short_file, "issuer expired on 2026-01-31"),
        (
            &revoked_file,
            "made after the issuer was revoked on 2026-03-01",
        ),
    ] {
        let out = certify(T, with, "refused.asc");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{err}");
        assert!(
            err.contains("cannot certify at 2026-06-01") && err.contains(why),
            "{err}"
        );
        assert!(!env.path("refused.asc").exists());
    }
    for (with, out) in [(&short_file, "ok-ada.asc"), (&revoked_file, "ok-bob.asc")] {
        let out = certify("2026-01-15T00:00:00Z", with, out);
        assert_ok(&out);
    }
}
