//! The signing node: export signing-subkey → gpg (sec#), sign → gpg and
//! sqv accept, verify → rejects each kind of bad signature with its reason.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

use openpgp::packet::signature::SignatureBuilder;
use openpgp::parse::Parse;
use openpgp::serialize::Serialize;
use openpgp::types::SignatureType;
use openpgp::{Cert, Packet, PacketPile};
use sequoia_openpgp as openpgp;

const GEN: &str = "2026-08-01T12:00:00Z";
const EXPORT: &str = "2026-10-10T00:00:00Z";
const SIGN: &str = "2026-10-15T00:00:00Z";
const VERIFY: &str = "2026-10-20T00:00:00Z";
const GPG_TIME: &str = "20261015T000000!";

struct Node {
    env: Env,
    roster: Roster,
    subkey: PathBuf,
    cert: PathBuf,
    sub_fpr: String,
}

fn node() -> Node {
    let k = vault_with_key(GEN);
    let subkey = k.export_subkey(EXPORT, "signing-subkey.asc");
    let Keyed {
        env,
        roster,
        sub_fpr,
        ..
    } = k;
    let cert = env.key_dir().join("cert.asc");
    Node {
        sub_fpr,
        env,
        roster,
        subkey,
        cert,
    }
}

fn write(p: &Path, data: &[u8]) -> String {
    std::fs::write(p, data).unwrap();
    p.display().to_string()
}

/// `keycycle verify` at VERIFY; returns (exit ok, report).
fn verify(n: &Node, certs: &[&Path], files: &[&str], extra: &[&str]) -> (bool, serde_json::Value) {
    verify_at(n, VERIFY, certs, files, extra)
}

fn verify_at(
    n: &Node,
    at: &str,
    certs: &[&Path],
    files: &[&str],
    extra: &[&str],
) -> (bool, serde_json::Value) {
    let mut c = n.env.cmd_at(at);
    c.args(["--json", "verify"]);
    for cert in certs {
        c.arg("--cert").arg(cert);
    }
    c.args(extra).args(files);
    let out = c.output().unwrap();
    assert_ne!(
        out.status.code(),
        Some(101),
        "panic: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    (out.status.success(), json)
}

fn reason(report: &serde_json::Value) -> String {
    report["files"][0]["reason"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[test]
fn exported_subkey_is_a_gpg_stub_that_signs_without_a_passphrase() {
    let n = node();
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &std::fs::metadata(&n.subkey).unwrap().permissions(),
    );
    assert_eq!(mode & 0o777, 0o600);
    let gpg = Gpg::at(VERIFY);
    gpg.ok(&["--import", n.subkey.to_str().unwrap()], None);
    let human = gpg.ok(&["--list-secret-keys"], None);
    assert!(human.contains("sec#"), "{human}");
    let colons = gpg.ok(&["--list-secret-keys", "--with-colons"], None);
    let sec = colons.lines().find(|l| l.starts_with("sec:")).unwrap();
    assert_eq!(
        sec.split(':').nth(14),
        Some("#"),
        "primary secret is a stub: {sec}"
    );
    let ssb = colons.lines().find(|l| l.starts_with("ssb:")).unwrap();
    assert_eq!(ssb.split(':').nth(11), Some("s"), "{ssb}");
    assert_eq!(
        ssb.split(':').nth(14),
        Some("+"),
        "subkey secret present: {ssb}"
    );
    // No passphrase prompt may happen: pinentry-mode error fails on one.
    let data = n.env.path("artifact.tar.gz");
    write(&data, b"release\n");
    let out = gpg_command(gpg.home.path(), SIGN)
        .args([
            "--batch",
            "--pinentry-mode",
            "error",
            "--armor",
            "--detach-sign",
        ])
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "gpg signs unattended: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sig = n.env.path("artifact.tar.gz.asc");
    gpg.ok(
        &["--verify", sig.to_str().unwrap(), data.to_str().unwrap()],
        None,
    );
    let (ok, report) = verify(&n, &[&n.cert], &[data.to_str().unwrap()], &[]);
    assert!(ok, "{report}");
    assert_eq!(report["files"][0]["subkey"], n.sub_fpr.as_str());
    // The primary's secret in the file is gpg's gnu-dummy stub.
    let packets = gpg.ok(&["--list-packets", n.subkey.to_str().unwrap()], None);
    assert!(packets.contains("gnu-dummy"), "{packets}");
    assert_eq!(packets.matches(":secret key packet:").count(), 1);
}

#[test]
fn every_signature_keycycle_makes_verifies_with_gpg_and_sqv() {
    let n = node();
    let dir = n.env.path("dist");
    std::fs::create_dir_all(dir.join("wheels")).unwrap();
    let mut files = Vec::new();
    for (i, size) in [0usize, 1, 4096, 1 << 20, 3_000_001].iter().enumerate() {
        let p = if i % 2 == 0 {
            dir.join(format!("a{i}.tar.gz"))
        } else {
            dir.join("wheels").join(format!("b{i}.whl"))
        };
        let data: Vec<u8> = (0..*size).map(|j| (j * 31 + i) as u8).collect();
        std::fs::write(&p, data).unwrap();
        files.push(p);
    }
    let out = n
        .env
        .cmd_at(SIGN)
        .args(["--json", "sign", "--recursive", "--key"])
        .arg(&n.subkey)
        .arg(&dir)
        .output()
        .unwrap();
    assert_ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["files"].as_array().unwrap().len(), files.len());
    assert_eq!(report["subkey"], n.sub_fpr.as_str());
    let gpg = Gpg::at(VERIFY);
    gpg.ok(&["--import", n.cert.to_str().unwrap()], None);
    for f in &files {
        let sig = PathBuf::from(format!("{}.asc", f.display()));
        let text = std::fs::read_to_string(&sig).unwrap();
        assert!(text.starts_with("-----BEGIN PGP SIGNATURE-----"), "{text}");
        let status = gpg.ok(
            &[
                "--status-fd",
                "1",
                "--verify",
                sig.to_str().unwrap(),
                f.to_str().unwrap(),
            ],
            None,
        );
        assert!(status.contains("[GNUPG:] GOODSIG"), "{status}");
        assert!(
            status.contains(&format!("VALIDSIG {}", n.sub_fpr)),
            "{status}"
        );
        // SHA-256 (digest algo 8).
        assert!(gpg
            .ok(&["--list-packets", sig.to_str().unwrap()], None)
            .contains("digest algo 8"));
        let out = sqv(VERIFY, &n.cert, &sig, f);
        assert!(
            out.status.success(),
            "sqv: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The vault's keys verify them too (no --cert), naming the cycle key.
    let mut c = n.env.cmd_at(VERIFY);
    let out = c.arg("verify").args(&files).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("by 2027.1/Indri"), "{text}");
}

#[test]
fn existing_signatures_are_kept_unless_overwrite_and_output_names_one() {
    let n = node();
    let f = n.env.path("x.tar.gz");
    write(&f, b"one");
    let key = n.subkey.display().to_string();
    let fs = f.display().to_string();
    n.env
        .cmd_at(SIGN)
        .args(["sign", "--key", &key, &fs])
        .assert()
        .success();
    let sig = n.env.path("x.tar.gz.asc");
    let first = std::fs::read(&sig).unwrap();
    let out = n.env.run_at("2026-10-16", &["sign", "--key", &key, &fs]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("kept"));
    assert_eq!(std::fs::read(&sig).unwrap(), first);
    n.env
        .cmd_at("2026-10-16")
        .args(["sign", "--overwrite", "--key", &key, &fs])
        .assert()
        .success();
    assert_ne!(std::fs::read(&sig).unwrap(), first);
    let other = n.env.path("elsewhere.sig");
    n.env
        .cmd_at(SIGN)
        .args(["sign", "--key", &key, "--output"])
        .arg(&other)
        .arg(&f)
        .assert()
        .success();
    assert!(sqv(VERIFY, &n.cert, &other, &f).status.success());
    // A directory without --recursive is refused.
    let out = n
        .env
        .cmd_at(SIGN)
        .args(["sign", "--key", &key])
        .arg(n.env.dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--recursive"));
}

#[test]
fn sign_refuses_unusable_keys_and_warns_near_expiry() {
    let n = node();
    let f = n.env.path("y.tar.gz");
    let fs = write(&f, b"y");
    let key = n.subkey.display().to_string();
    // Expired.
    let out = n.env.run_at("2027-06-01", &["sign", "--key", &key, &fs]);
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.contains("expired on 2027-05-28"), "{e}");
    // No secret: the public cert.
    let sign_says = |key: &Path, what: &str| {
        let out = n
            .env
            .cmd_at(SIGN)
            .args(["sign", "--key"])
            .arg(key)
            .arg(&f)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(what), "{err}");
    };
    sign_says(&n.cert, "public keys only");
    // Revoked: the subkey file with the escrowed hard revocation merged.
    let revoked = revoke_with(&n, &n.subkey, "revocation.age", None, "revoked-subkey.asc");
    sign_says(&revoked, "revoked (compromised)");
    assert!(!n.env.path("y.tar.gz.asc").exists());
    // Near expiry: signs, and warns.
    let out = n.env.run_at("2027-05-10", &["sign", "--key", &key, &fs]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("expires in 18 days"));
}

/// Merge a revocation from the escrow (`rung` picks a ladder rung by its
/// date) into the cert in `base`; returns the new file.
fn revoke_with(
    n: &Node,
    base: &Path,
    escrow_file: &str,
    rung: Option<&str>,
    name: &str,
) -> PathBuf {
    let bytes = age_decrypt(&n.roster.age_id, &n.env.key_dir().join(escrow_file));
    let pile = PacketPile::from_bytes(&bytes).unwrap();
    let sig = pile
        .into_children()
        .filter_map(|p| match p {
            Packet::Signature(s) => Some(s),
            _ => None,
        })
        .find(|s| match rung {
            None => true,
            Some(t) => {
                keycycle::base::clock::iso(keycycle::base::clock::from_system(
                    s.signature_creation_time().unwrap(),
                )) == t
            }
        })
        .expect("revocation");
    let cert = Cert::from_file(base)
        .unwrap()
        .insert_packets(sig)
        .unwrap()
        .0;
    let out = n.env.path(name);
    let mut f = std::fs::File::create(&out).unwrap();
    cert.as_tsk().armored().serialize(&mut f).unwrap();
    out
}

/// A signature by `key_file`'s signing subkey at `at`, made directly with
/// sequoia (which does not check validity), for the cases keycycle sign
/// and gpg refuse to produce.
fn raw_signature(key_file: &Path, data: &[u8], at: &str) -> Vec<u8> {
    let cert = Cert::from_file(key_file).unwrap();
    let ka = cert
        .keys()
        .subkeys()
        .secret()
        .find(|k| !k.key().secret().is_encrypted())
        .unwrap();
    let mut kp = ka.key().clone().into_keypair().unwrap();
    let t = keycycle::base::clock::to_system(keycycle::base::clock::parse_time(at).unwrap());
    let sig = SignatureBuilder::new(SignatureType::Binary)
        .set_signature_creation_time(t)
        .unwrap()
        .sign_message(&mut kp, data)
        .unwrap();
    armored_signature(sig)
}

#[test]
fn verify_rejects_each_bad_case_with_its_own_reason() {
    let n = node();
    let key = n.subkey.display().to_string();
    let good = n.env.path("good.tar.gz");
    let gs = write(&good, b"the real artifact\n");
    n.env
        .cmd_at(SIGN)
        .args(["sign", "--key", &key, &gs])
        .assert()
        .success();
    let good_sig = std::fs::read(n.env.path("good.tar.gz.asc")).unwrap();
    let (ok, _) = verify(&n, &[&n.cert], &[&gs], &[]);
    assert!(ok);

    let case = |name: &str, data: &[u8], sig: Option<&[u8]>| -> String {
        let p = n.env.path(name);
        write(&p, data);
        if let Some(s) = sig {
            write(&n.env.path(&format!("{name}.asc")), s);
        }
        p.display().to_string()
    };
    let mut reasons = Vec::new();
    let mut expect = |file: String, certs: &[&Path], at: &str, want: &str| {
        let (ok, report) = verify_at(&n, at, certs, &[&file], &[]);
        assert!(!ok, "{file} must fail: {report}");
        let r = reason(&report);
        assert!(r.contains(want), "{file}: want '{want}' in '{r}'");
        assert_eq!(r.lines().count(), 1);
        reasons.push(r);
    };

    // Tampered file.
    let f = case("tampered.tar.gz", b"the real artifact!\n", Some(&good_sig));
    expect(f, &[&n.cert], VERIFY, "does not match");
    // A signature by another key.
    // (its own vault and key: the shared fixture, generated anew)
    let Keyed {
        env: other,
        roster: r2,
        ..
    } = vault_with_key(GEN);
    let other_sub = other.path("other.asc");
    other
        .cmd_at(EXPORT)
        .args(["export", "signing-subkey", "--identity"])
        .arg(&r2.age_id)
        .arg("-o")
        .arg(&other_sub)
        .arg("2027.1")
        .assert()
        .success();
    let sig = raw_signature(&other_sub, b"artifact by another key", "2026-10-15");
    let f = case("other.tar.gz", b"artifact by another key", Some(&sig));
    expect(f, &[&n.cert], VERIFY, "not among the given certificates");
    // A signature made after the key expired.
    let sig = raw_signature(&n.subkey, b"late", "2027-06-01");
    let f = case("late.tar.gz", b"late", Some(&sig));
    expect(f, &[&n.cert], "2027-06-10", "xpired");
    // A signature by a hard-revoked key (compromised): even an old one.
    let hard = revoke_with(&n, &n.cert, "revocation.age", None, "hard-revoked.asc");
    expect(gs.clone(), &[&hard], VERIFY, "revoked");
    // A SHA-1 signature (gpg --digest-algo SHA1).
    let gpg = Gpg::at(VERIFY);
    gpg.ok(&["--import", &key], None);
    let sha1 = case("sha1.tar.gz", b"sha1 artifact", None);
    gpg.ok(
        &[
            "--faked-system-time",
            GPG_TIME,
            "--digest-algo",
            "SHA1",
            "--armor",
            "--detach-sign",
            &sha1,
        ],
        None,
    );
    assert!(gpg
        .ok(&["--list-packets", &format!("{sha1}.asc")], None)
        .contains("digest algo 2"));
    expect(sha1, &[&n.cert], VERIFY, "SHA1");
    // Truncated, garbage, a key instead of a signature, missing.
    let half = &good_sig[..good_sig.len() / 2];
    let f = case("truncated.tar.gz", b"the real artifact\n", Some(half));
    expect(f, &[&n.cert], VERIFY, "truncated or corrupt");
    let f = case("garbage.tar.gz", b"x", Some(b"this is not a signature\n"));
    expect(f, &[&n.cert], VERIFY, "not an OpenPGP signature");
    let cert_bytes = std::fs::read(&n.cert).unwrap();
    let f = case("keyfile.tar.gz", b"x", Some(&cert_bytes));
    expect(f, &[&n.cert], VERIFY, "holds a key");
    let f = case("unsigned.tar.gz", b"x", None);
    expect(f, &[&n.cert], VERIFY, "missing signature");

    // Each reason is its own.
    let mut uniq = reasons.clone();
    uniq.sort();
    uniq.dedup();
    assert_eq!(uniq.len(), reasons.len(), "{reasons:#?}");
}

#[test]
fn soft_revocation_keeps_earlier_signatures_valid() {
    let n = node();
    // The ladder rung dated 2026-10-10T12:00:00Z (10 weeks after creation).
    let retired = revoke_with(
        &n,
        &n.cert,
        "revocation-retired.age",
        Some("2026-10-10T12:00:00Z"),
        "retired.asc",
    );
    let before = n.env.path("before.tar.gz");
    let after = n.env.path("after.tar.gz");
    write(&before, b"made before the rung");
    write(&after, b"made after the rung");
    let key = n.subkey.display().to_string();
    n.env
        .cmd_at("2026-10-05")
        .args(["sign", "--key", &key])
        .arg(&before)
        .assert()
        .success();
    n.env
        .cmd_at("2026-10-15")
        .args(["sign", "--key", &key])
        .arg(&after)
        .assert()
        .success();
    let (ok, report) = verify(&n, &[&retired], &[before.to_str().unwrap()], &[]);
    assert!(
        ok,
        "a signature before a soft revocation stays good: {report}"
    );
    let (ok, report) = verify(&n, &[&retired], &[after.to_str().unwrap()], &[]);
    assert!(!ok, "{report}");
    assert!(
        reason(&report).contains("revoked") || reason(&report).contains("Revoked"),
        "{report}"
    );
    // sqv agrees on both.
    assert!(
        sqv(VERIFY, &retired, &n.env.path("before.tar.gz.asc"), &before)
            .status
            .success()
    );
    assert!(
        !sqv(VERIFY, &retired, &n.env.path("after.tar.gz.asc"), &after)
            .status
            .success()
    );
}

#[test]
fn policy_as_of_accepts_sha1_self_signatures_but_not_sha1_data_signatures() {
    // A key whose self-signatures use SHA-1, like the 2016-2018 OpenStack
    // keys, made by gpg.
    let env = Env::new(VERIFY);
    let gpg = Gpg::at(VERIFY);
    gpg.ok(
        &[
            "--faked-system-time",
            "20170101T000000!",
            "--cert-digest-algo",
            "SHA1",
            "--quick-gen-key",
            "Old Cycle <old@example.org>",
            "rsa2048",
            "sign",
            "2030-01-01",
        ],
        None,
    );
    let cert = env.path("old.asc");
    std::fs::write(
        &cert,
        gpg.ok(&["--armor", "--export", "old@example.org"], None),
    )
    .unwrap();
    assert!(gpg
        .ok(&["--list-packets", cert.to_str().unwrap()], None)
        .contains("digest algo 2"));
    let data = env.path("old.tar.gz");
    write(&data, b"old artifact");
    // gpg signs the artifact in 2017 with `digest`.
    let sign_2017 = |digest: &str| {
        gpg.ok(
            &[
                "--faked-system-time",
                "20170601T000000!",
                "--digest-algo",
                digest,
                "-u",
                "old@example.org",
                "--armor",
                "--detach-sign",
                data.to_str().unwrap(),
            ],
            None,
        );
    };
    sign_2017("SHA256");
    let run = |extra: &[&str]| {
        let out = env
            .cmd()
            .args(["--json", "verify", "--cert"])
            .arg(&cert)
            .args(extra)
            .arg(&data)
            .output()
            .unwrap();
        (
            out.status.success(),
            serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        )
    };
    let (ok, report) = run(&[]);
    assert!(!ok);
    assert!(reason(&report).contains("SHA1"), "{report}");
    let (ok, report) = run(&["--policy-as-of", "2017-06-01"]);
    assert!(ok, "{report}");
    // A SHA-1 *data* signature stays rejected under --policy-as-of.
    std::fs::remove_file(format!("{}.asc", data.display())).unwrap();
    sign_2017("SHA1");
    let (ok, report) = run(&["--policy-as-of", "2017-06-01"]);
    assert!(!ok, "{report}");
}

#[test]
fn verify_against_a_folder_of_the_real_openstack_keys() {
    // Our key among the 21 real ones: the folder is read, the right key named.
    let n = node();
    let keys = n.env.path("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for e in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/keys")).unwrap()
    {
        let p = e.unwrap().path();
        std::fs::copy(&p, keys.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::copy(&n.cert, keys.join("0xindri.txt")).unwrap();
    let f = n.env.path("z.tar.gz");
    let fs = write(&f, b"z");
    n.env
        .cmd_at(SIGN)
        .args(["sign", "--key"])
        .arg(&n.subkey)
        .arg(&f)
        .assert()
        .success();
    let (ok, report) = verify(&n, &[&keys], &[&fs], &[]);
    assert!(ok, "{report}");
    assert!(report["files"][0]["key"]
        .as_str()
        .unwrap()
        .starts_with("2027.1/Indri"));
}

#[test]
fn export_formats_and_protections() {
    let n = node();
    let id = n.roster.age_id.display().to_string();
    // hiera: YAML with the armored block under the key.
    let hiera = n.env.path("signing.yaml");
    n.env
        .cmd_at(EXPORT)
        .args([
            "export",
            "signing-subkey",
            "--format",
            "hiera",
            "--hiera-key",
            "zuul_signing_key",
            "--identity",
            &id,
            "-o",
        ])
        .arg(&hiera)
        .assert()
        .success();
    let doc: serde_json::Value = serde_json::to_value(
        serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&std::fs::read_to_string(&hiera).unwrap())
            .unwrap(),
    )
    .unwrap();
    let block = doc["zuul_signing_key"].as_str().unwrap();
    assert!(block.starts_with("-----BEGIN PGP PRIVATE KEY BLOCK-----"));
    let gpg = Gpg::at(VERIFY);
    gpg.ok(&["--import"], Some(block.as_bytes()));
    assert!(gpg.ok(&["--list-secret-keys"], None).contains("sec#"));
    // passphrase: the subkey is protected, sign needs --passphrase-file.
    let pw = n.env.path("pw");
    write(&pw, b"correct horse battery staple\n");
    let protected = n.env.path("protected.asc");
    // `export signing-subkey --identity ID HOW -o TO` succeeds.
    let export = |how: &[&str], to: &Path| {
        n.env
            .cmd_at(EXPORT)
            .args(["export", "signing-subkey", "--identity", &id])
            .args(how)
            .arg("-o")
            .arg(to)
            .assert()
            .success();
    };
    export(&["--passphrase-file", pw.to_str().unwrap()], &protected);
    let f = n.env.path("p.tar.gz");
    write(&f, b"p");
    let out = n
        .env
        .cmd_at(SIGN)
        .args(["sign", "--key"])
        .arg(&protected)
        .arg(&f)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--passphrase-file"));
    n.env
        .cmd_at(SIGN)
        .args(["sign", "--key"])
        .arg(&protected)
        .arg("--passphrase-file")
        .arg(&pw)
        .arg(&f)
        .assert()
        .success();
    assert!(sqv(VERIFY, &n.cert, &n.env.path("p.tar.gz.asc"), &f)
        .status
        .success());
    let gpg2 = Gpg::at(VERIFY);
    gpg2.ok(&["--import", protected.to_str().unwrap()], None);
    let out = gpg_command(gpg2.home.path(), SIGN)
        .args(["--batch", "--pinentry-mode", "error", "--detach-sign"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(!out.status.success(), "gpg needs the passphrase");
    // age: the output is encrypted to the recipient and opens with age.
    let (node_id, node_r) = n.env.age_identity("ci-node");
    let sealed = n.env.path("subkey.age");
    export(&["--age-recipient", &node_r], &sealed);
    let text = std::fs::read_to_string(&sealed).unwrap();
    assert!(text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    let plain = age_decrypt(&node_id, &sealed);
    assert!(String::from_utf8_lossy(&plain).contains("BEGIN PGP PRIVATE KEY BLOCK"));
}

#[test]
fn export_refuses_without_identity_or_when_nothing_can_sign() {
    let n = node();
    let out = n
        .env
        .run_at(EXPORT, &["export", "signing-subkey", "-o", "x.asc"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--identity"));
    let (other, _) = n.env.age_identity("stranger");
    let out = n
        .env
        .cmd_at(EXPORT)
        .args(["export", "signing-subkey", "--identity"])
        .arg(&other)
        .args(["-o", "x.asc"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("none of the given identities"));
    // After expiry there is no live signing subkey: refused, nothing written.
    let id = n.roster.age_id.display().to_string();
    let out = n.env.run_at(
        "2027-06-01",
        &[
            "export",
            "signing-subkey",
            "--identity",
            &id,
            "-o",
            "late.asc",
        ],
    );
    assert!(!out.status.success());
    assert!(!n.env.path("late.asc").exists());
    assert!(!n.env.path("x.asc").exists());
}

#[test]
fn git_tags_are_signed_and_verified_with_the_exported_subkey() {
    require("git");
    let n = node();
    let gpg = Gpg::at(VERIFY);
    gpg.ok(&["--import", n.subkey.to_str().unwrap()], None);
    // git calls gpg.program with gpg's arguments; pin the clock for the test.
    let wrapper = n.env.path("gpg-at-release-time");
    write(
        &wrapper,
        format!("#!/bin/sh\nexec gpg --faked-system-time {GPG_TIME} \"$@\"\n").as_bytes(),
    );
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let repo = n.env.path("repo");
    let git = |args: &[&str]| {
        let out = Std::new("git")
            .current_dir(&repo)
            .env("GNUPGHOME", gpg.home.path())
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args([
                "-c",
                "user.name=Release Bot",
                "-c",
                "user.email=release@example.org",
            ])
            .args(["-c", &format!("gpg.program={}", wrapper.display())])
            .args(["-c", &format!("user.signingkey={}!", n.sub_fpr)])
            .args(args)
            .output()
            .unwrap();
        out
    };
    std::fs::create_dir_all(&repo).unwrap();
    assert!(git(&["init", "-q"]).status.success());
    assert!(git(&["commit", "-q", "--allow-empty", "-m", "release"])
        .status
        .success());
    let out = git(&["tag", "-s", "1.0.0", "-m", "1.0.0"]);
    assert!(
        out.status.success(),
        "git tag -s: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = git(&["tag", "-v", "1.0.0"]);
    assert!(
        out.status.success(),
        "git tag -v: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("Good signature"));
    assert!(String::from_utf8_lossy(&out.stderr).contains(&n.sub_fpr));
}

#[test]
fn sign_with_the_vault_key_through_the_escrow() {
    let n = node();
    let f = n.env.path("v.tar.gz");
    write(&f, b"signed at the bastion");
    let out = n
        .env
        .cmd_at(SIGN)
        .args(["sign", "--with", "2027.1", "--identity"])
        .arg(&n.roster.ssh_id)
        .arg(&f)
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(sqv(VERIFY, &n.cert, &n.env.path("v.tar.gz.asc"), &f)
        .status
        .success());
    // Without an identity the escrow stays shut.
    let g = n.env.path("w.tar.gz");
    write(&g, b"w");
    let out = n.env.cmd_at(SIGN).args(["sign"]).arg(&g).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--identity"));
}
