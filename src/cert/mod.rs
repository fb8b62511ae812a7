//! Reading certificates: parsing, names and labels, algorithms and flags
//! as gpg prints them, and the checks on a certificate someone hands in.
//! What `inspect` shows is in [`describe`], the openstack/releases listing
//! in [`releases`], predecessor chains in [`chain`], bare signatures in
//! [`signature`].

mod chain;
pub mod change;
mod dates;
mod describe;
pub mod inspect;
mod judge;
pub mod keyring;
pub mod make;
pub mod party;
mod releases;
mod signature;

pub use dates::{signed_dates, SignedDates};

pub use chain::{certification_chain, custody, custody_from, ChainLink, Custody};
pub use describe::{describe, CertInfo, Certification, KeyInfo};
pub use judge::{cannot_certify, certified_by, judge_certification, Judgement, BAD_SIGNATURE};
pub use releases::releases_text;
pub use signature::{describe_signature, parse_signatures, SigInfo};

use serde::Serialize;
use std::collections::HashMap;

use openpgp::cert::prelude::*;
use openpgp::crypto::mpi::PublicKey;
use openpgp::packet::{key, Key, Signature};
use openpgp::parse::Parse;
use openpgp::serialize::Serialize as _;
use openpgp::types::{Curve, KeyFlags};
use openpgp::{Cert, Fingerprint, KeyID};
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};

/// Parse every certificate in `bytes`. Text before the armor (the
/// fingerprint listing of openstack/releases' files) is skipped.
pub fn parse_certs(bytes: &[u8]) -> Result<Vec<Cert>> {
    let start = find(bytes, b"-----BEGIN PGP").unwrap_or(0);
    let data = &bytes[start..];
    if data.is_empty() {
        return Err(Error::input(
            "the file is empty",
            "give an OpenPGP certificate",
        ));
    }
    crate::base::bounded::check(data)
        .map_err(|r| Error::input(r.to_string(), crate::base::bounded::HINT))?;
    let certs = CertParser::from_bytes(data)
        .map_err(|e| {
            Error::input(
                format!("not an OpenPGP certificate: {e}"),
                "give an armored or binary OpenPGP certificate",
            )
        })?
        .collect::<openpgp::Result<Vec<Cert>>>()
        .map_err(|e| {
            Error::input(
                format!("not an OpenPGP certificate: {e}"),
                "give an armored or binary OpenPGP certificate",
            )
        })?;
    if certs.is_empty() {
        return Err(Error::input(
            "no OpenPGP certificate found",
            "give an armored or binary OpenPGP certificate",
        ));
    }
    if let Some(c) = certs.iter().find(|c| c.primary_key().key().version() != 4) {
        return Err(Error::input(
            format!(
                "{} is a v{} key: keycycle handles v4 keys only",
                c.fingerprint(),
                c.primary_key().key().version()
            ),
            "GnuPG 2.2 and the release tooling read v4 keys only; give a v4 certificate",
        ));
    }
    Ok(certs)
}

/// The largest file read as certificates (the biggest real release key
/// with all its certifications is well under 1 MiB).
pub const MAX_CERT_FILE: u64 = 16 << 20;

/// Check a certificate someone hands in as their public key: public only,
/// with a valid self-signature, not expired or revoked at `at`.
pub fn check_public_cert(
    cert: &Cert,
    path: &std::path::Path,
    at: crate::base::clock::Time,
) -> Result<()> {
    let name = crate::base::text::path(path);
    if cert.is_tsk() {
        return Err(Error::input(
            format!("{name} holds a secret key"),
            "give the public certificate only: gpg --export --armor FINGERPRINT",
        ));
    }
    let p = crate::base::openpgp_policy::standard();
    let vc = cert
        .with_policy(&p, crate::base::clock::to_system(at))
        .map_err(|e| {
            Error::input(
                format!(
                    "{name}: no valid self-signature at {}: {e}",
                    crate::base::clock::day(at)
                ),
                "give a current certificate (gpg --export --armor FINGERPRINT)",
            )
        })?;
    if let openpgp::types::RevocationStatus::Revoked(_) = vc.revocation_status() {
        return Err(Error::input(
            format!("{name}: the certificate {} is revoked", cert.fingerprint()),
            "give the root's current certificate",
        ));
    }
    vc.alive().map_err(|_| {
        Error::input(
            format!("{name}: the certificate {} has expired", cert.fingerprint()),
            "ask the root to extend it (gpg --quick-set-expire) and export it again",
        )
    })?;
    Ok(())
}

pub(crate) fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// gpg's name for a key's algorithm: `ed25519`, `cv25519`, `rsa3072`.
pub fn algorithm<P: key::KeyParts, R: key::KeyRole>(key: &Key<P, R>) -> String {
    let curve = |c: &Curve| match c {
        Curve::Ed25519 => "ed25519".to_string(),
        Curve::Cv25519 => "cv25519".to_string(),
        Curve::NistP256 => "nistp256".to_string(),
        Curve::NistP384 => "nistp384".to_string(),
        Curve::NistP521 => "nistp521".to_string(),
        c => c.to_string().to_lowercase(),
    };
    match key.mpis() {
        PublicKey::RSA { n, .. } => format!("rsa{}", n.bits()),
        PublicKey::DSA { p, .. } => format!("dsa{}", p.bits()),
        PublicKey::EdDSA { curve: c, .. }
        | PublicKey::ECDSA { curve: c, .. }
        | PublicKey::ECDH { curve: c, .. } => curve(c),
        PublicKey::Ed25519 { .. } => "ed25519".into(),
        PublicKey::X25519 { .. } => "cv25519".into(),
        _ => key.pk_algo().to_string().to_lowercase(),
    }
}

/// gpg's capability letters: `SC`, `E`, `S`.
pub fn flag_letters(flags: Option<&KeyFlags>) -> String {
    let Some(f) = flags else { return String::new() };
    let mut s = String::new();
    if f.for_signing() {
        s.push('S');
    }
    if f.for_certification() {
        s.push('C');
    }
    if f.for_transport_encryption() || f.for_storage_encryption() {
        s.push('E');
    }
    if f.for_authentication() {
        s.push('A');
    }
    s
}

/// `0x231F942F608DDEFF`.
pub fn keyid0x(id: &KeyID) -> String {
    format!("0x{}", id.to_hex())
}

/// A revocation as shown to people.
#[derive(Debug, Clone, Serialize)]
pub struct Revocation {
    pub reason: String,
    /// Hard revocations (compromised, unspecified) void every signature;
    /// soft ones (superseded, retired) only later ones.
    pub hard: bool,
    pub message: String,
    #[serde(with = "clock::serde_iso_opt")]
    pub time: Option<Time>,
}

impl Revocation {
    pub fn from_sig(sig: &Signature) -> Revocation {
        use openpgp::types::ReasonForRevocation as R;
        let (reason, msg) = sig
            .reason_for_revocation()
            .map(|(r, m)| (r, crate::base::text::shown(&String::from_utf8_lossy(m))))
            .unwrap_or((R::Unspecified, String::new()));
        let name = match reason {
            R::KeyCompromised => "compromised",
            R::KeySuperseded => "superseded",
            R::KeyRetired => "retired",
            R::UIDRetired => "user ID retired",
            R::Unspecified => "unspecified",
            _ => "other",
        };
        Revocation {
            reason: name.into(),
            hard: !matches!(reason, R::KeySuperseded | R::KeyRetired | R::UIDRetired),
            message: msg,
            time: sig.signature_creation_time().map(clock::from_system),
        }
    }
}

/// Certificates known by fingerprint, to name and check issuers.
#[derive(Default)]
pub struct Known {
    certs: HashMap<KeyID, Cert>,
}

impl Known {
    pub fn add(&mut self, cert: &Cert) {
        self.certs.insert(cert.keyid(), cert.clone());
    }

    pub fn get(&self, id: &KeyID) -> Option<&Cert> {
        self.certs.get(id)
    }

    pub(crate) fn for_sig(&self, sig: &Signature) -> Option<&Cert> {
        sig.get_issuers()
            .iter()
            .find_map(|h| self.get(&KeyID::from(h)))
    }
}

/// A fingerprint or key id as typed (`0x…`, groups, any case): upper-case
/// hex without spaces.
pub fn normalize_hex(typed: &str) -> String {
    typed
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase()
}

/// A user ID as text to show ([`crate::base::text::shown`]: a user ID cannot
/// add lines to a listing or move the cursor).
pub fn uid_text(uid: &openpgp::packet::UserID) -> String {
    crate::base::text::shown(&String::from_utf8_lossy(uid.value()))
}

/// A certificate's primary user ID, or any.
pub fn primary_uid(cert: &Cert) -> String {
    let p = crate::base::openpgp_policy::lenient();
    cert.with_policy(&p, None)
        .ok()
        .and_then(|vc| vc.primary_userid().ok().map(|u| uid_text(u.userid())))
        .or_else(|| cert.userids().next().map(|u| uid_text(u.userid())))
        .unwrap_or_else(|| "[no user ID]".into())
}

pub(crate) fn issuer_id(sig: &Signature) -> Option<KeyID> {
    sig.get_issuers().first().map(KeyID::from)
}

/// Does `sig` on `uid` of `cert` verify as a certification by `issuer`?
pub fn certification_verifies(
    sig: &Signature,
    issuer: &Cert,
    cert: &Cert,
    uid: &openpgp::packet::UserID,
) -> bool {
    sig.verify_userid_binding(issuer.primary_key().key(), cert.primary_key().key(), uid)
        .is_ok()
}

/// `Hibiscus (0x231F942F608DDEFF)` or the user ID.
pub fn label(cert: &Cert) -> String {
    let uid = primary_uid(cert);
    match cycle_from_uid(&uid) {
        Some((Some(id), name)) => format!("{id}/{name} ({})", keyid0x(&cert.keyid())),
        Some((None, name)) => format!("{name} ({})", keyid0x(&cert.keyid())),
        None => format!("{uid} ({})", keyid0x(&cert.keyid())),
    }
}

/// gpg's grouping: `3056 6C45 0E41 D7C9 1E44  2DFB 231F 942F 608D DEFF`.
/// How a certificate is named to people (an announcement, the key page).
#[derive(Debug, Clone, Serialize)]
pub struct KeyName {
    /// `2026.2/Hibiscus (0x231F942F608DDEFF)`.
    pub label: String,
    pub uid: String,
    pub fingerprint: String,
    pub fingerprint_grouped: String,
    pub key_id: String,
    pub algorithm: String,
}

impl KeyName {
    pub fn of(cert: &Cert) -> KeyName {
        KeyName {
            label: label(cert),
            uid: primary_uid(cert),
            fingerprint: cert.fingerprint().to_hex(),
            fingerprint_grouped: grouped(&cert.fingerprint()),
            key_id: keyid0x(&cert.keyid()),
            algorithm: algorithm(cert.primary_key().key()),
        }
    }
}

pub fn grouped(fpr: &Fingerprint) -> String {
    fpr.to_spaced_hex()
}

/// The minimal armored public key, without comment headers (as gpg writes).
pub fn armored_public(cert: &Cert) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::PublicKey)
        .map_err(anyhow::Error::from)?;
    cert.serialize(&mut w)?;
    w.finalize().map_err(anyhow::Error::from)?;
    Ok(out)
}

/// Read a certificate file.
pub fn read_cert_file(path: &std::path::Path) -> Result<Vec<Cert>> {
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len > MAX_CERT_FILE {
        return Err(Error::input(
            format!(
                "{}: {} MiB is too large for certificates (limit {} MiB)",
                crate::base::text::path(path),
                len >> 20,
                MAX_CERT_FILE >> 20
            ),
            "give the certificate itself, e.g. gpg --export --armor FINGERPRINT",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_certs(&bytes).map_err(|e| e.context(crate::base::text::path(path)))
}

/// The cycle a user ID names: `(2026.2/Hibiscus Cycle)` or
/// `(Newton Cycle)`. Returns (release id, name).
pub fn cycle_from_uid(uid: &str) -> Option<(Option<String>, String)> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    if !uid.contains("ycle)") {
        return None;
    }
    let re = RE
        .get_or_init(|| regex::Regex::new(r"\((?:(\d{4}\.\d+)/)?([A-Za-z]+) [Cc]ycle\)").ok())
        .as_ref()?;
    let caps = re.captures(uid)?;
    Some((
        caps.get(1).map(|m| m.as_str().to_string()),
        caps[2].to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_cycles() {
        assert_eq!(
            cycle_from_uid("OpenStack Infra (2026.2/Hibiscus Cycle) <infra-root@openstack.org>"),
            Some((Some("2026.2".into()), "Hibiscus".into()))
        );
        assert_eq!(
            cycle_from_uid("OpenStack Infra (Epoxy Cycle) <infra-root@openstack.org>"),
            Some((None, "Epoxy".into()))
        );
        assert_eq!(cycle_from_uid("Alice <a@example.org>"), None);
    }
}
