//! Handing the signing subkey to the CI signing node: only the signing
//! subkey's secret, the primary secret replaced by a GnuPG "gnu-dummy" stub
//! (so gpg shows `sec#`), and a lint of exactly what is handed over. The
//! export itself — the secret taken out, encrypted, written — is in
//! `custody/subkey_export.rs`.

use serde::Serialize;

use openpgp::cert::prelude::*;
use openpgp::crypto::Password;
use openpgp::types::RevocationStatus;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};
use crate::custody::subkey_export;
pub use crate::custody::subkey_export::{Format, Protection};
use crate::sign;
use crate::verify::{self, Keyring};

/// What the lint found, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct Lint {
    pub primary_secret: String,
    pub signing_subkey: String,
    #[serde(with = "clock::serde_iso_opt")]
    pub expires: Option<Time>,
    pub test_signature: String,
}

/// Check what is handed to the signing node: no primary secret, exactly
/// one signing-capable secret subkey, alive at `at`, and a test signature
/// that verifies against the public cert.
pub fn lint(tsk: &[u8], expect: &str, at: Time, password: Option<&Password>) -> Result<Lint> {
    let fail = |msg: String| {
        Error::vault(
            format!("refusing the export: {msg}"),
            "nothing was handed over; report this as a bug with `keycycle -v`",
        )
    };
    let cert = <Cert as openpgp::parse::Parse<Cert>>::from_bytes(tsk)
        .map_err(|e| fail(format!("it does not parse: {e}")))?;
    if cert.fingerprint().to_hex() != expect {
        return Err(fail("it is not the expected key".into()));
    }
    let primary = cert.primary_key().key();
    let primary_secret = match primary.optional_secret() {
        None => "absent".to_string(),
        Some(s) if sign::is_stub(s) => "gnu-dummy stub".to_string(),
        Some(_) => return Err(fail("the primary secret key is in it".into())),
    };
    let policy = crate::base::openpgp_policy::standard();
    let vc = cert
        .with_policy(&policy, clock::to_system(at))
        .map_err(|e| fail(format!("not valid at {}: {e}", clock::iso(at))))?;
    let mut signing = Vec::new();
    for ka in vc.keys().subkeys() {
        let Some(secret) = ka.key().optional_secret() else {
            continue;
        };
        if sign::is_stub(secret) {
            continue;
        }
        if !ka.for_signing() {
            return Err(fail(format!(
                "subkey {} is not signing-capable but its secret is in it",
                ka.key().fingerprint()
            )));
        }
        signing.push(ka);
    }
    if signing.len() != 1 {
        return Err(fail(format!(
            "it holds {} signing secret subkeys, not exactly one",
            signing.len()
        )));
    }
    let ka = &signing[0];
    if let Err(e) = ka.alive() {
        return Err(fail(format!(
            "the signing subkey is not alive at {}: {e}",
            clock::iso(at)
        )));
    }
    if matches!(ka.revocation_status(), RevocationStatus::Revoked(_))
        || matches!(vc.revocation_status(), RevocationStatus::Revoked(_))
    {
        return Err(fail("the signing subkey is revoked".into()));
    }
    let expires = ka.key_expiration_time().map(clock::from_system);
    // A test signature with the exported key, checked against the public
    // cert alone.
    let mut key = sign::signing_key(&cert, at, password)?;
    let data = b"keycycle export lint";
    let sig = sign::sign_reader(&mut key, &data[..], at, &|_| {})?;
    let ring = Keyring::new(vec![cert.clone().strip_secret_key_material()])?;
    let v = verify::verify_bytes(&ring, data, &sig, at);
    if !v.good {
        return Err(fail(format!(
            "the test signature does not verify: {}",
            v.fault.reason
        )));
    }
    Ok(Lint {
        primary_secret,
        signing_subkey: ka.key().fingerprint().to_hex(),
        expires,
        test_signature: "verified".into(),
    })
}

/// The bytes to hand over for `format` and `protection`, linted.
pub fn render(
    full: &Cert,
    at: Time,
    format: &Format,
    protection: &Protection,
) -> Result<(zeroize::Zeroizing<Vec<u8>>, Lint)> {
    let fpr = full.fingerprint().to_hex();
    subkey_export::render(full, at, format, protection, &|tsk, pw| {
        lint(tsk, &fpr, at, pw)
    })
}

/// Write the export to `path` (mode 0600, atomically; an existing file only
/// with `overwrite`), read it back and lint it again: a file that fails is
/// removed.
pub fn write(
    path: &std::path::Path,
    full: &Cert,
    at: Time,
    format: &Format,
    protection: &Protection,
    overwrite: bool,
) -> Result<Lint> {
    let fpr = full.fingerprint().to_hex();
    subkey_export::write(
        path,
        full,
        at,
        (format, protection),
        overwrite,
        &|tsk, pw| lint(tsk, &fpr, at, pw),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::make::{KeySpec, Suite};
    use crate::custody::subkey_export::unwrap_hiera;
    use crate::sign;
    use crate::verify::{self, Keyring};
    use openpgp::crypto::Password;

    fn key() -> (Cert, Time) {
        let created = clock::parse_time("2026-08-01").unwrap();
        let k = crate::custody::fresh_key::generate(&KeySpec {
            user_id: "Test (2027.1/Indri Cycle) <t@example.org>".into(),
            suite: Suite::Ed25519,
            created,
            expires: clock::parse_time("2027-05-28").unwrap(),
            encryption_subkey: true,
            ladder_interval_days: 7,
        })
        .unwrap();
        (k.cert, clock::parse_time("2026-09-01").unwrap())
    }

    /// Export → import: what is handed to CI parses back as the same key,
    /// holds only the signing subkey's secret (the primary a stub, the
    /// encryption subkey absent), and signs for the public cert — with
    /// and without a passphrase.
    #[test]
    fn the_exported_subkey_round_trips() {
        let (full, at) = key();
        let pw: Password = "correct horse".into();
        for protection in [Protection::None, Protection::Passphrase(pw.clone())] {
            let (bytes, lint) = render(&full, at, &Format::Armor, &protection).unwrap();
            let back = <Cert as openpgp::parse::Parse<Cert>>::from_bytes(&bytes[..]).unwrap();
            assert_eq!(back.fingerprint(), full.fingerprint());
            assert_eq!(lint.primary_secret, "gnu-dummy stub");
            let secrets: Vec<_> = back
                .keys()
                .subkeys()
                .filter(|k| k.key().optional_secret().is_some_and(|s| !sign::is_stub(s)))
                .collect();
            assert_eq!(secrets.len(), 1, "only the signing subkey's secret");
            let password = match &protection {
                Protection::Passphrase(p) => Some(p),
                _ => None,
            };
            let mut signer = sign::signing_key(&back, at, password).unwrap();
            let sig = sign::sign_reader(&mut signer, &b"artifact"[..], at, &|_| {}).unwrap();
            let ring = Keyring::new(vec![full.clone().strip_secret_key_material()]).unwrap();
            assert!(verify::verify_bytes(&ring, b"artifact", &sig, at).good);
        }
    }

    #[test]
    fn hiera_wraps_and_unwraps_the_same_key() {
        let (full, at) = key();
        let format = Format::Hiera("releases_signing_key".into());
        let (yaml, _) = render(&full, at, &format, &Protection::None).unwrap();
        let armored = unwrap_hiera(&yaml, "releases_signing_key").unwrap();
        let (plain, _) = render(&full, at, &Format::Armor, &Protection::None).unwrap();
        let a = <Cert as openpgp::parse::Parse<Cert>>::from_bytes(&armored[..]).unwrap();
        let b = <Cert as openpgp::parse::Parse<Cert>>::from_bytes(&plain[..]).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert!(lint(&armored, &full.fingerprint().to_hex(), at, None).is_ok());
    }
}
