//! inspect and export on the 21 real OpenStack cycle keys (2016–2026).

use crate::common::*;

use openpgp::Cert;
use sequoia_openpgp as openpgp;

const T: &str = "2026-11-25T00:00:00Z";

fn keys_json() -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/keys.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn all_files() -> Vec<String> {
    keys_json()
        .iter()
        .map(|k| {
            fixture(k["fingerprint"].as_str().unwrap())
                .display()
                .to_string()
        })
        .collect()
}

fn inspect(env: &Env, files: &[String]) -> serde_json::Value {
    let mut args = vec!["--json", "inspect"];
    args.extend(files.iter().map(String::as_str));
    serde_json::from_str(&env.ok(&args)).unwrap()
}

#[test]
fn every_real_key_is_read_with_its_cycle_and_expiry() {
    let env = Env::new(T);
    let expected = keys_json();
    assert_eq!(expected.len(), 21);
    for k in &expected {
        let file = fixture(k["fingerprint"].as_str().unwrap())
            .display()
            .to_string();
        let report = inspect(&env, std::slice::from_ref(&file));
        let c = &report["certificates"][0];
        assert_eq!(c["fingerprint"], k["fingerprint"], "{file}");
        let series = k["series"].as_str().unwrap();
        assert_eq!(
            c["cycle_name"].as_str().unwrap().to_lowercase(),
            series,
            "{file}"
        );
        if let Some(id) = k["release_id"].as_str() {
            // Epoxy's UID lacks its release id; the others carry it.
            if series != "epoxy" {
                assert_eq!(c["cycle_id"], id, "{file}");
            }
        }
        assert_eq!(c["expires"], k["expires"], "{file}");
        assert_eq!(
            c["expired"], true,
            "every key but none is expired at {T}: {file}"
        );
        let signing: Vec<_> = c["subkeys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["flags"] == "S")
            .collect();
        assert!(!signing.is_empty(), "{file}: a signing subkey");
        assert_eq!(c["secret"], false);
    }
}

#[test]
fn sha1_self_signatures_are_flagged_not_fatal() {
    let env = Env::new(T);
    for k in keys_json() {
        let series = k["series"].as_str().unwrap();
        let report = inspect(
            &env,
            &[fixture(k["fingerprint"].as_str().unwrap())
                .display()
                .to_string()],
        );
        let warnings = report["certificates"][0]["warnings"].to_string();
        let sha1 = matches!(series, "ocata" | "pike" | "queens" | "rocky");
        assert_eq!(
            warnings.contains("SHA1 self-signature"),
            sha1,
            "{series}: {warnings}"
        );
    }
}

#[test]
fn the_gazpacho_subkey_rotation_is_shown() {
    let env = Env::new(T);
    let file = fixture("B8E9315F48553EC5AFF9FFE5E69D97DA9EFB5AFF")
        .display()
        .to_string();
    let report = inspect(&env, std::slice::from_ref(&file));
    let subkeys = report["certificates"][0]["subkeys"]
        .as_array()
        .unwrap()
        .clone();
    let old = subkeys
        .iter()
        .find(|s| s["key_id"] == "0x85E1426370940CEB")
        .unwrap();
    let new = subkeys
        .iter()
        .find(|s| s["key_id"] == "0x90364272486FD056")
        .unwrap();
    let rev = &old["revocations"][0];
    assert_eq!(rev["reason"], "superseded");
    assert_eq!(rev["hard"], false);
    assert_eq!(rev["time"], "2026-01-09T15:40:35Z");
    assert!(rev["message"]
        .as_str()
        .unwrap()
        .starts_with("Unscheduled subkey rotation"));
    // The re-binding (2026-01-09T15:35:05Z) gave the old subkey exactly a
    // day. (keys.json says 15:34:13: it was derived from gpg's rounded
    // "148d19h40m"; the subpacket holds 12858052 s.)
    assert_eq!(old["expires"], "2026-01-10T15:35:05Z");
    assert!(new["revocations"].as_array().unwrap().is_empty());
    assert_eq!(new["flags"], "S");
    let text = env.ok(&["inspect", &file]);
    assert!(
        text.contains("revoked    2026-01-09 (superseded) soft: Unscheduled subkey rotation"),
        "{text}"
    );
    // The version before the rotation has one signing subkey, unrevoked.
    let before = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/0xb8e9315f48553ec5aff9ffe5e69d97da9efb5aff.txt.at-8c857297-before-subkey-rotation");
    let report = inspect(&env, &[before.to_string()]);
    let subs = report["certificates"][0]["subkeys"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(subs.iter().filter(|s| s["flags"] == "S").count(), 1);
}

#[test]
fn the_chain_of_predecessor_certifications_from_yoga_to_hibiscus() {
    let env = Env::new(T);
    let report = inspect(&env, &all_files());
    let chain: Vec<(String, String)> = report["chain"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["subject"].as_str().unwrap().to_string(),
                l["issuer"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    let name = |s: &str| s.split(" (").next().unwrap().to_string();
    let pairs: Vec<(String, String)> = chain.iter().map(|(s, i)| (name(s), name(i))).collect();
    let want = [
        ("Yoga", "Xena"),
        ("Zed", "Yoga"),
        ("2023.1/Antelope", "Zed"),
        ("2023.2/Bobcat", "2023.1/Antelope"),
        ("2024.1/Caracal", "2023.2/Bobcat"),
        ("2024.2/Dalmatian", "2024.1/Caracal"),
        ("Epoxy", "2024.2/Dalmatian"),
        ("2025.2/Flamingo", "Epoxy"),
        ("2026.1/Gazpacho", "2025.2/Flamingo"),
        ("2026.2/Hibiscus", "2026.1/Gazpacho"),
    ];
    let want: Vec<(String, String)> = want
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(pairs, want);
    // Certifications by known issuers are verified and named.
    let hib = report["certificates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["cycle_name"] == "Hibiscus")
        .unwrap();
    let by_gazpacho = hib["certifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["issuer_key_id"] == "0xE69D97DA9EFB5AFF")
        .unwrap();
    assert_eq!(by_gazpacho["check"], "valid");
    assert_eq!(
        by_gazpacho["issuer"],
        "OpenStack Infra (2026.1/Gazpacho Cycle) <infra-root@openstack.org>"
    );
    let by_stanley = hib["certifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["issuer_key_id"] == "0x48F9961143495829")
        .unwrap();
    assert_eq!(by_stanley["check"], "unchecked");
}

#[test]
fn a_tampered_certification_is_not_a_chain_link() {
    // Flip a byte inside Gazpacho's certification of Hibiscus: the chain
    // must drop the link instead of trusting the issuer subpacket.
    let env = Env::new(T);
    let hib = std::fs::read(fixture("30566C450E41D7C91E442DFB231F942F608DDEFF")).unwrap();
    let cert = keycycle::cert::parse_certs(&hib).unwrap().remove(0);
    let gaz = keycycle::cert::parse_certs(
        &std::fs::read(fixture("B8E9315F48553EC5AFF9FFE5E69D97DA9EFB5AFF")).unwrap(),
    )
    .unwrap()
    .remove(0);
    let ok = keycycle::cert::certification_chain(
        &[cert.clone(), gaz.clone()],
        keycycle::base::clock::parse_time(T).unwrap(),
    );
    assert_eq!(ok.len(), 1);
    use openpgp::serialize::SerializeInto;
    let mut bytes = cert.to_vec().unwrap();
    // Corrupt the last byte of the signature MPI of Gazpacho's certification.
    let sig = cert
        .userids()
        .next()
        .unwrap()
        .certifications()
        .find(|s| {
            s.get_issuers()
                .iter()
                .any(|h| h.aliases(openpgp::KeyHandle::from(gaz.fingerprint())))
        })
        .unwrap()
        .clone();
    let sig_bytes = openpgp::Packet::from(sig).to_vec().unwrap();
    let pos = bytes
        .windows(sig_bytes.len())
        .position(|w| w == sig_bytes.as_slice())
        .unwrap();
    bytes[pos + sig_bytes.len() - 1] ^= 0x01;
    let tampered = <Cert as openpgp::parse::Parse<Cert>>::from_bytes(&bytes).unwrap();
    assert!(keycycle::cert::certification_chain(
        &[tampered.clone(), gaz.clone()],
        keycycle::base::clock::parse_time(T).unwrap()
    )
    .is_empty());
    let path = env.path("tampered.pgp");
    std::fs::write(&path, &bytes).unwrap();
    let report = inspect(
        &env,
        &[
            path.display().to_string(),
            fixture("B8E9315F48553EC5AFF9FFE5E69D97DA9EFB5AFF")
                .display()
                .to_string(),
        ],
    );
    let c = report["certificates"][0]["certifications"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["issuer_key_id"] == "0xE69D97DA9EFB5AFF")
        .unwrap()
        .clone();
    assert_eq!(c["check"], "invalid");
}

#[test]
fn releases_listing_matches_the_published_files() {
    // Our gpg-style listing of a published key equals the header of the
    // file in openstack/releases, bar the names of issuers we do not hold.
    // gpg lists subkeys in the order of its keyring, we in the order of the
    // key block we emit, so subkey blocks are compared as a set.
    for (fpr, issuer, made) in [
        (
            "30566C450E41D7C91E442DFB231F942F608DDEFF",
            "B8E9315F48553EC5AFF9FFE5E69D97DA9EFB5AFF",
            "2026-02-20",
        ),
        (
            "B8E9315F48553EC5AFF9FFE5E69D97DA9EFB5AFF",
            "C71B007EF97887FD8FB6365CEB4FD6D618E62181",
            "2026-03-20",
        ),
    ] {
        let text = std::fs::read_to_string(fixture(fpr)).unwrap();
        let cert = keycycle::cert::parse_certs(text.as_bytes())
            .unwrap()
            .remove(0);
        let at = keycycle::base::clock::parse_time(made).unwrap();
        let issuer_cert = keycycle::cert::parse_certs(&std::fs::read(fixture(issuer)).unwrap())
            .unwrap()
            .remove(0);
        let mut known = keycycle::cert::Known::default();
        known.add(&issuer_cert);
        let ours = keycycle::cert::releases_text(&cert, at, &known).unwrap();
        // (head lines in order, sig lines sorted, subkey blocks sorted)
        let shape = |t: &str| {
            let lines: Vec<String> = t
                .split("-----BEGIN")
                .next()
                .unwrap()
                .lines()
                .map(|l| l.replace("Jeremy Stanley <fungi@yuggoth.org>", "[User ID not found]"))
                .filter(|l| !l.is_empty())
                .collect();
            let first_sub = lines.iter().position(|l| l.starts_with("sub ")).unwrap();
            let mut head: Vec<String> = lines[..first_sub]
                .iter()
                .filter(|l| !l.starts_with("sig"))
                .cloned()
                .collect();
            let mut sigs: Vec<String> = lines[..first_sub]
                .iter()
                .filter(|l| l.starts_with("sig"))
                .cloned()
                .collect();
            sigs.sort();
            head.extend(sigs);
            let mut blocks: Vec<String> = Vec::new();
            for l in &lines[first_sub..] {
                if l.starts_with("sub ") {
                    blocks.push(String::new());
                }
                let b = blocks.last_mut().unwrap();
                b.push_str(l);
                b.push('\n');
            }
            blocks.sort();
            (head, blocks)
        };
        assert_eq!(shape(&ours), shape(&text), "{fpr}");
        // And the armored key is the same certificate.
        let reparsed = keycycle::cert::parse_certs(ours.as_bytes())
            .unwrap()
            .remove(0);
        assert_eq!(reparsed, cert);
    }
}

#[test]
fn chain_of_custody_is_unbroken_from_yoga_and_absent_before() {
    let env = Env::new(T);
    let report = inspect(&env, &all_files());
    let custody = &report["custody"];
    let longest: Vec<String> = custody["longest"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    assert!(longest.first().unwrap().starts_with("Xena"), "{longest:?}");
    assert!(
        longest.last().unwrap().starts_with("2026.2/Hibiscus"),
        "{longest:?}"
    );
    assert_eq!(longest.len(), 11);
    // Every key from Yoga on is certified by its predecessor; none before.
    let gaps: Vec<String> = custody["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            g[0].as_str()
                .unwrap()
                .split(" (")
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        gaps,
        [
            "Ocata", "Pike", "Queens", "Rocky", "Stein", "Train", "Ussuri", "Victoria", "Wallaby",
            "Xena"
        ]
    );
    let text = env.ok(&["inspect", &all_files()[0], &all_files()[1]]);
    assert!(!text.contains("panicked"));
}

/// Revocation certificates (the escrowed hard one and the soft ladder) are
/// described and checked against the vault's key.
#[test]
fn inspect_describes_revocation_certificates() {
    let Keyed { env, roster, .. } = vault_with_key("2026-09-01");
    let dir = env.key_dir();
    let hard = env.path("revocation.asc");
    std::fs::write(
        &hard,
        age_decrypt(&roster.age_id, &dir.join("revocation.age")),
    )
    .unwrap();
    let out = env.ok(&["inspect", hard.to_str().unwrap()]);
    assert!(out.contains("key revocation by"), "{out}");
    assert!(out.contains("hard: voids every signature"), "{out}");
    assert!(out.contains("check        valid"), "{out}");
    assert!(out.contains("issuer       2027.1/Indri"), "{out}");
    let ladder = env.path("ladder.asc");
    std::fs::write(
        &ladder,
        age_decrypt(&roster.age_id, &dir.join("revocation-retired.age")),
    )
    .unwrap();
    let out = env.ok(&["--json", "inspect", ladder.to_str().unwrap()]);
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let sigs = j["signatures"].as_array().unwrap();
    assert!(sigs.len() > 30, "{}", sigs.len());
    assert!(sigs
        .iter()
        .all(|s| s["signature"]["hard"] == false && s["signature"]["check"] == "valid"));
    // A tampered one is BAD, not valid.
    let text = std::fs::read_to_string(&hard).unwrap();
    use sequoia_openpgp::parse::Parse;
    let mut sig = sequoia_openpgp::Packet::from_bytes(text.as_bytes()).unwrap();
    if let sequoia_openpgp::Packet::Signature(s) = &mut sig {
        let mut h = s.hashed_area().clone();
        h.remove_all(
            sequoia_openpgp::packet::signature::subpacket::SubpacketTag::ReasonForRevocation,
        );
        h.add(sequoia_openpgp::packet::signature::subpacket::Subpacket::new(
            sequoia_openpgp::packet::signature::subpacket::SubpacketValue::ReasonForRevocation {
                code: sequoia_openpgp::types::ReasonForRevocation::KeyRetired,
                reason: b"forged".to_vec(),
            },
            false,
        ).unwrap()).unwrap();
        *s.hashed_area_mut() = h;
    }
    use sequoia_openpgp::serialize::SerializeInto;
    let forged = env.path("forged.pgp");
    std::fs::write(&forged, sig.to_vec().unwrap()).unwrap();
    let out = env.ok(&["inspect", forged.to_str().unwrap()]);
    assert!(out.contains("check        BAD"), "{out}");
}
