//! Every copy of a certificate counts (issue 21, item 5): a keyring that
//! holds an older copy of a key and, after it, the copy carrying its hard
//! revocation (`cat old.asc revoked.asc`, armored or binary) must not
//! verify a signature the key made after its compromise. sqv merges every
//! copy and rejects it; keycycle agrees. (gpgv ignores revocations
//! altogether: docs/verification.md.)

use crate::common::*;
use std::path::Path;

use openpgp::cert::prelude::*;
use openpgp::packet::signature::SignatureBuilder;
use openpgp::serialize::Serialize;
use openpgp::types::SignatureType;
use sequoia_openpgp as openpgp;

const VERIFY: &str = "2026-10-01T00:00:00Z";

fn bytes(cert: &Cert, armored: bool) -> Vec<u8> {
    let mut out = Vec::new();
    if armored {
        cert.armored().serialize(&mut out).unwrap();
    } else {
        cert.serialize(&mut out).unwrap();
    }
    out
}

/// (the key before, the key with its hard revocation, a signature it made
/// after the revocation's date: what a thief holding it would publish)
fn revoked_key_and_a_thiefs_signature(dir: &Path) -> (Cert, Cert, std::path::PathBuf) {
    let cert = release_key();
    let revoked = hard_revoked(&cert, "2026-06-01T00:00:00Z");
    let mut signer = signing_keypair(&cert, "2026-02-01T00:00:00Z");
    let data = dir.join("release.tar.gz");
    std::fs::write(&data, b"a release signed with a stolen key").unwrap();
    let sig_path = dir.join("release.tar.gz.asc");
    let sig = SignatureBuilder::new(SignatureType::Binary)
        .set_signature_creation_time(system_time("2026-09-01T00:00:00Z"))
        .unwrap()
        .sign_message(&mut signer, std::fs::read(&data).unwrap())
        .unwrap();
    std::fs::write(&sig_path, armored_signature(sig)).unwrap();
    (cert.strip_secret_key_material(), revoked, data)
}

fn case(armored: bool) {
    let env = Env::new(VERIFY);
    let dir = env.dir.path();
    let (old, revoked, data) = revoked_key_and_a_thiefs_signature(dir);
    let sig = data.with_extension("gz.asc");
    // `cat old.asc revoked.asc`
    let ring = dir.join(if armored { "ring.asc" } else { "ring.pgp" });
    let mut both = bytes(&old, armored);
    both.extend(bytes(&revoked, armored));
    std::fs::write(&ring, &both).unwrap();
    // The old copy alone: sqv and keycycle call the signature good (the
    // revocation is unknown to them), which shows the fixture is sound.
    let only_old = dir.join("old.pgp");
    std::fs::write(&only_old, bytes(&old, false)).unwrap();
    let sqv = |keyring: &Path| sqv(VERIFY, keyring, &sig, &data).status.success();
    let keycycle = |keyring: &Path| {
        env.cmd_at(VERIFY)
            .arg("verify")
            .arg("--cert")
            .arg(keyring)
            .arg(&data)
            .output()
            .unwrap()
            .status
            .success()
    };
    assert!(sqv(&only_old) && keycycle(&only_old), "the old copy alone");
    // gpgv reads the first copy and ignores revocations: good.
    let gpg_ring = dir.join("ring.gpg");
    let out = gpg_command(dir, VERIFY)
        .args(["--batch", "--dearmor", "-o"])
        .arg(&gpg_ring)
        .arg(&ring)
        .output()
        .unwrap();
    if armored {
        assert!(out.status.success());
    } else {
        std::fs::copy(&ring, &gpg_ring).unwrap();
    }
    let gpgv = gpgv_at(VERIFY)
        .env("GNUPGHOME", dir)
        .arg("--keyring")
        .arg(&gpg_ring)
        .arg(&sig)
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        gpgv.status.success(),
        "gpgv: {}",
        String::from_utf8_lossy(&gpgv.stderr)
    );
    assert!(!sqv(&ring), "sqv merges the copies: revoked");
    assert!(!keycycle(&ring), "keycycle read only the first copy");
    // The same copies as two `--cert` files, in that order.
    let later = dir.join("revoked.pgp");
    std::fs::write(&later, bytes(&revoked, armored)).unwrap();
    let two = env
        .cmd_at(VERIFY)
        .arg("verify")
        .arg("--cert")
        .arg(&only_old)
        .arg("--cert")
        .arg(&later)
        .arg(&data)
        .output()
        .unwrap();
    assert!(!two.status.success(), "the second --cert file was not read");
}

#[test]
fn a_later_revoked_copy_in_a_binary_keyring_counts() {
    case(false);
}

#[test]
fn a_later_revoked_copy_in_an_armored_keyring_counts() {
    case(true);
}
