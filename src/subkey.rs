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

use crate::clock::{self, Time};
pub use crate::custody::subkey_export::{render, write, Protection};
use crate::error::{Error, Result};
use crate::sign;
use crate::verify::{self, Keyring};

/// Output format.
#[derive(Debug, Clone)]
pub enum Format {
    Armor,
    /// YAML for a private hiera file, the armored key under this key.
    Hiera(String),
}

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
    let policy = crate::openpgp_policy::standard();
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
