//! Bare signatures handed to `inspect`: revocation certificates and
//! detached signatures.

use serde::Serialize;

use openpgp::packet::Signature;
use openpgp::types::SignatureType;
use openpgp::KeyID;
use sequoia_openpgp as openpgp;

use super::*;
use crate::base::clock::{self, Time};

/// A bare signature handed to `inspect` (a revocation certificate, a
/// detached signature).
#[derive(Debug, Clone, Serialize)]
pub struct SigInfo {
    /// `key revocation`, `subkey revocation`, `binary document` …
    pub kind: String,
    pub issuer_key_id: String,
    /// The issuer's label when the cert is at hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(with = "clock::serde_iso_opt")]
    pub created: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Hard (compromised, unspecified) or soft (superseded, retired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hard: Option<bool>,
    pub message: String,
    pub hash: String,
    /// `valid`, `BAD`, or `issuer not at hand`.
    pub check: String,
}

/// Parse a file of bare signatures (nothing else); `None` if it is not one.
pub fn parse_signatures(bytes: &[u8]) -> Option<Vec<Signature>> {
    use openpgp::Packet;
    let start = find(bytes, b"-----BEGIN PGP").unwrap_or(0);
    crate::base::bounded::check(&bytes[start..]).ok()?;
    let pile = openpgp::PacketPile::from_bytes(&bytes[start..]).ok()?;
    let mut sigs = Vec::new();
    for p in pile.into_children() {
        match p {
            Packet::Signature(s) => sigs.push(s),
            _ => return None,
        }
    }
    (!sigs.is_empty()).then_some(sigs)
}

/// Describe a bare signature; key revocations are checked against the
/// issuer's cert when `known` has it.
pub fn describe_signature(sig: &Signature, known: &Known) -> SigInfo {
    let kind = match sig.typ() {
        SignatureType::KeyRevocation => "key revocation".to_string(),
        SignatureType::SubkeyRevocation => "subkey revocation".to_string(),
        SignatureType::CertificationRevocation => "certification revocation".to_string(),
        SignatureType::Binary => "binary document signature".to_string(),
        SignatureType::Text => "text document signature".to_string(),
        t => format!("{t}"),
    };
    let (reason, message, hard) = match sig.reason_for_revocation() {
        Some((r, m)) => (
            Some(r.to_string()),
            crate::base::text::shown(&String::from_utf8_lossy(m)),
            Some(r.revocation_type() == openpgp::types::RevocationType::Hard),
        ),
        None => (None, String::new(), None),
    };
    let issuer_cert = known.for_sig(sig);
    let check = match (issuer_cert, sig.typ()) {
        (None, _) => "issuer not at hand".to_string(),
        (Some(c), SignatureType::KeyRevocation) => {
            let pk = c.primary_key().key();
            match sig.clone().verify_primary_key_revocation(pk, pk) {
                Ok(()) => "valid".to_string(),
                Err(_) => "BAD".to_string(),
            }
        }
        (Some(_), _) => "not checked (not a key revocation)".to_string(),
    };
    SigInfo {
        kind,
        issuer_key_id: sig
            .get_issuers()
            .first()
            .map(|h| KeyID::from(h).to_hex())
            .unwrap_or_default(),
        issuer: issuer_cert.map(label),
        created: sig.signature_creation_time().map(clock::from_system),
        reason,
        hard,
        message,
        hash: sig.hash_algo().to_string(),
        check,
    }
}
