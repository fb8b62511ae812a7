//! Why a signature did not verify, in one line and a hint: no key, a key
//! that could not make it (revoked, expired, not yet created, a SHA-1
//! binding), a bad signature, or one the verifier refused to start on.

use openpgp::cert::amalgamation::key::PrimaryKey;
use openpgp::cert::amalgamation::ValidAmalgamation;
use openpgp::parse::stream::VerificationError;
use openpgp::parse::Parse;
use openpgp::types::RevocationStatus;
use sequoia_openpgp as openpgp;

use super::{cutoff_date, error_line, issuer_key_id, SigReport};
use crate::base::clock::{self, Time};
use crate::cert::keyring::Keyring;
use crate::cert::{self, Revocation};

/// A day, or `(no date)`.
fn day(t: Option<Time>) -> String {
    t.map(clock::day).unwrap_or_else(|| "(no date)".into())
}

/// A report for a signature that did not verify.
pub fn describe(ring: &Keyring, e: &VerificationError) -> SigReport {
    use VerificationError as V;
    let sig_time =
        |s: &openpgp::packet::Signature| s.signature_creation_time().map(clock::from_system);
    match e {
        V::MissingKey { sig } => missing_key(sig, sig_time(sig)),
        V::UnboundKey { sig, cert, error } => {
            let mut r = SigReport::new(sig_time(sig), issuer_key_id(sig, None));
            let label = ring.label(cert);
            r.detail = error_line(error);
            r.by.fingerprint = Some(cert.fingerprint().to_hex());
            if r.detail.contains("SHA1") {
                r.sha1_binding = true;
                r.fault.reason = format!(
                    "made {} by {label}: its key's binding signature uses SHA1, rejected since {}",
                    day(r.by.signed_at),
                    cutoff_date(&r.detail)
                );
            } else {
                r.fault.reason = format!(
                    "the key of {label} was not valid when the signature was made ({}): {}",
                    day(r.by.signed_at),
                    short(&r.detail)
                );
            }
            r.signer = Some(label);
            r
        }
        V::BadKey { sig, ka, error } => bad_key(ring, sig, ka, error),
        V::BadSignature { sig, ka, error } => {
            let mut r = SigReport::new(sig_time(sig), issuer_key_id(sig, Some(&ka.key().keyid())));
            r.signer = Some(ring.label(ka.cert()));
            r.by.fingerprint = Some(ka.cert().fingerprint().to_hex());
            r.by.subkey = Some(ka.key().fingerprint().to_hex());
            r.detail = error_line(error);
            // The cryptographic check failed (backends word it
            // differently); only a policy refusal says something else.
            r.fault.reason = if r.detail.contains("Not live until") {
                format!(
                    "bad signature: it is dated {}, after the time it is checked at (--time)",
                    day(r.by.signed_at)
                )
            } else if r.detail.contains("olicy") || r.detail.contains("secure") {
                format!("bad signature: {}", short(&r.detail))
            } else {
                "bad signature: the file does not match it (modified or corrupt)".into()
            };
            r
        }
        V::MalformedSignature { sig, error } => {
            let mut r = SigReport::new(sig_time(sig), issuer_key_id(sig, None));
            r.detail = error_line(error);
            r.fault.reason = format!("signature rejected: {}", short(&r.detail));
            r
        }
        V::UnknownSignature { sig } => {
            let mut r = SigReport::new(None, "unknown".into());
            r.fault.reason = format!("unsupported signature: {}", sig.error());
            r
        }
        e => {
            let mut r = SigReport::new(None, "unknown".into());
            r.fault.reason = e.to_string();
            r
        }
    }
}

/// One line of a long sequoia chain: the first part and the root cause.
fn short(detail: &str) -> String {
    let parts: Vec<&str> = detail.split(": ").collect();
    if parts.len() <= 2 {
        return detail.to_string();
    }
    format!("{}: {}", parts[0], parts[parts.len() - 1])
}

/// Reports for signatures the verifier refused to even start on (a v3
/// signature packet, say): issuer, time and signer as far as known, and
/// the one reason.
pub fn unusable(ring: &Keyring, sigs: &[u8], reason: &str) -> Vec<SigReport> {
    if crate::base::bounded::check(sigs).is_err() {
        return Vec::new();
    }
    let Ok(pile) = openpgp::PacketPile::from_bytes(sigs) else {
        return Vec::new();
    };
    pile.into_children()
        .filter_map(|p| match p {
            openpgp::Packet::Signature(s) => Some(s),
            _ => None,
        })
        .map(|s| {
            let mut r = SigReport::new(
                s.signature_creation_time().map(clock::from_system),
                issuer_key_id(&s, None),
            );
            if let Some(c) = ring.matching(&s.get_issuers()).first() {
                r.signer = Some(ring.label(c));
                r.by.fingerprint = Some(c.fingerprint().to_hex());
            }
            r.fault.reason = reason.to_string();
            r.detail = reason.to_string();
            r
        })
        .collect()
}

fn missing_key(sig: &openpgp::packet::Signature, t: Option<Time>) -> SigReport {
    let fpr = sig.issuer_fingerprints().next().map(|f| f.to_hex());
    let mut r = SigReport::new(t, issuer_key_id(sig, None));
    r.fault.reason = match &fpr {
        Some(f) => format!(
            "signed by a key that is not among the given certificates: {} (fingerprint {f})",
            r.key_id
        ),
        None => format!(
            "signed by a key that is not among the given certificates: {}",
            r.key_id
        ),
    };
    r.fault.hint = Some(match &fpr {
        Some(f) => format!(
            "fetch it: gpg --recv-keys {f} (or https://keys.openpgp.org/vks/v1/by-fingerprint/{f}), check the fingerprint with its owner, then add it with --cert"
        ),
        None => format!(
            "fetch it: gpg --recv-keys {id} (or https://keyserver.ubuntu.com/pks/lookup?op=get&search={id}), check the fingerprint with its owner, then add it with --cert",
            id = r.key_id
        ),
    });
    r.by.fingerprint = fpr;
    r
}

/// What to do about a signature by a revoked signing subkey (the key
/// itself stays good).
fn subkey_revoked_hint(hard: bool) -> String {
    if hard {
        "sign the release again with the current signing subkey (keycycle export signing-subkey, then keycycle sign --overwrite)".into()
    } else {
        "signatures it made before the revocation stay good; sign new releases with the current signing subkey (keycycle export signing-subkey)".into()
    }
}

/// A key that verifies the signature but could not make it.
type ValidKey<'a> = openpgp::cert::amalgamation::key::ValidErasedKeyAmalgamation<
    'a,
    openpgp::packet::key::PublicParts,
>;

/// The revocation that voids `ka`'s signatures, and what it revoked
/// (`key`, or `signing subkey 0x…`): the certificate's own revocation
/// says the most; else the subkey's.
fn revoked(ka: &ValidKey) -> Option<(Revocation, String)> {
    let revocation = |s: &RevocationStatus| match s {
        // A hard revocation, if there is one, says the most.
        RevocationStatus::Revoked(sigs) => {
            let all: Vec<Revocation> = sigs.iter().map(|s| Revocation::from_sig(s)).collect();
            let hard = all.iter().position(|r| r.hard).unwrap_or(0);
            all.into_iter().nth(hard)
        }
        _ => None,
    };
    revocation(&ka.valid_cert().revocation_status())
        .map(|r| (r, "key".to_string()))
        .or_else(|| {
            let sub = (!ka.primary()).then(|| revocation(&ka.revocation_status()));
            sub.flatten().map(|r| {
                let id = cert::keyid0x(&ka.key().keyid());
                (r, format!("signing subkey {id}"))
            })
        })
}

fn bad_key(
    ring: &Keyring,
    sig: &openpgp::packet::Signature,
    ka: &ValidKey,
    error: &anyhow::Error,
) -> SigReport {
    let t = sig.signature_creation_time().map(clock::from_system);
    let mut r = SigReport::new(t, issuer_key_id(sig, Some(&ka.key().keyid())));
    let label = ring.label(ka.cert());
    r.by.fingerprint = Some(ka.cert().fingerprint().to_hex());
    r.by.subkey = Some(ka.key().fingerprint().to_hex());
    r.detail = error_line(error);
    let made = day(t);
    let revoked = revoked(ka);
    let expiry = [
        ka.key_expiration_time(),
        ka.valid_cert().primary_key().key_expiration_time(),
    ]
    .into_iter()
    .flatten()
    .map(clock::from_system)
    .filter(|e| t.is_some_and(|t| *e <= t))
    .min();
    let created = clock::from_system(ka.key().creation_time());
    r.fault.reason = if let Some((rev, what)) = revoked {
        if what != "key" {
            r.fault.hint = Some(subkey_revoked_hint(rev.hard));
        }
        if rev.hard {
            let of = if what == "key" { "key" } else { "subkey" };
            format!(
                "made {made} by {label}, whose {what} was revoked on {} ({}): a hard revocation voids every signature of the {}",
                day(rev.time),
                rev.reason,
                of
            )
        } else {
            format!(
                "made {made} by {label} after its {what} was revoked on {} ({})",
                day(rev.time),
                rev.reason
            )
        }
    } else if let Some(e) = expiry {
        r.fault.hint = Some(
            "if the key's owner has extended it since, use their current certificate (gpg --recv-keys FINGERPRINT)"
                .into(),
        );
        format!(
            "made {made} by {label} after its key expired on {}",
            clock::day(e)
        )
    } else if t.is_some_and(|t| t < created) {
        format!(
            "made {made} by {label}, before its key was created ({})",
            clock::day(created)
        )
    } else if r.detail.contains("SHA1") {
        r.sha1_binding = true;
        format!(
            "made {made} by {label}: its key's binding signature uses SHA1, rejected since {}",
            cutoff_date(&r.detail)
        )
    } else {
        format!(
            "the key {label} could not make this signature: {}",
            short(&r.detail)
        )
    };
    r.signer = Some(label);
    r
}
