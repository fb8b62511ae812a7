//! `--policy-as-of` relaxes only key bindings (issue 21, item 4): it lets
//! an auditor accept the SHA-1 self-signatures of an old key as of a date,
//! but a data signature is always judged by today's rules. An MD5 or
//! RIPEMD-160 signature made yesterday stays BAD whatever date is given;
//! sqv (today's rules) agrees.

use crate::common::*;

use openpgp::packet::signature::SignatureBuilder;
use openpgp::serialize::Serialize;
use openpgp::types::{HashAlgorithm, SignatureType};
use sequoia_openpgp as openpgp;

const NOW: &str = "2026-10-01T00:00:00Z";

/// A file signed yesterday with `hash` by a fresh key: (env, cert file,
/// data file, signature file).
fn signed_with(hash: HashAlgorithm) -> (Env, std::path::PathBuf, std::path::PathBuf) {
    let env = Env::new(NOW);
    let dir = env.dir.path().to_path_buf();
    let cert = release_key();
    let mut signer = signing_keypair(&cert, NOW);
    let data = dir.join("release.tar.gz");
    std::fs::write(&data, b"a release").unwrap();
    let sig = SignatureBuilder::new(SignatureType::Binary)
        .set_hash_algo(hash)
        .set_signature_creation_time(system_time("2026-09-30T00:00:00Z"))
        .unwrap()
        .sign_message(&mut signer, b"a release")
        .unwrap();
    assert_eq!(sig.hash_algo(), hash);
    std::fs::write(dir.join("release.tar.gz.asc"), armored_signature(sig)).unwrap();
    let certfile = dir.join("release.pgp");
    let mut f = std::fs::File::create(&certfile).unwrap();
    cert.serialize(&mut f).unwrap();
    (env, certfile, data)
}

fn stays_bad(hash: HashAlgorithm, as_of: &str) {
    let (env, cert, data) = signed_with(hash);
    let sqv = sqv(NOW, &cert, &data.with_extension("gz.asc"), &data);
    assert!(
        !sqv.status.success(),
        "sqv rejects a {hash:?} data signature"
    );
    let verify = |extra: &[&str]| {
        env.cmd_at(NOW)
            .args(["verify", "--cert"])
            .arg(&cert)
            .args(extra)
            .arg(&data)
            .output()
            .unwrap()
    };
    let out = verify(&[]);
    assert!(!out.status.success());
    let out = verify(&["--policy-as-of", as_of]);
    assert!(
        !out.status.success(),
        "--policy-as-of {as_of} made a {hash:?} data signature good: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!said.contains("GOOD"), "{said}");
}

#[test]
fn an_md5_data_signature_stays_bad_as_of_1996() {
    stays_bad(HashAlgorithm::MD5, "1996-01-01");
}

#[test]
fn a_ripemd160_data_signature_stays_bad_as_of_2012() {
    stays_bad(HashAlgorithm::RipeMD, "2012-01-01");
}
