//! One line per signature: who made it, when, whether it is good, and —
//! when it is not — why, in words that say how to proceed.

use serde::Serialize;

use openpgp::cert::amalgamation::key::PrimaryKey;
use openpgp::cert::amalgamation::ValidAmalgamation;
use openpgp::parse::stream::{
    GoodChecksum, MessageLayer, MessageStructure, VerificationError, VerificationHelper,
};
use openpgp::parse::Parse;
use openpgp::types::{RevocationStatus, SignatureType};
use openpgp::{Cert, KeyHandle, KeyID};
use sequoia_openpgp as openpgp;

use crate::certinfo::{self, Revocation};
use crate::clock::{self, Time};
use crate::keyring::Keyring;

/// What one signature in a file says.
#[derive(Debug, Clone, Serialize)]
pub struct SigReport {
    pub good: bool,
    /// The certificate that made it: `Name <mail> (0x…)` or a cycle key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    /// The issuer's key ID as the signature names it: `0x…`.
    pub key_id: String,
    #[serde(flatten)]
    pub by: SignedBy,
    #[serde(flatten)]
    pub fault: Fault,
    /// The `--policy-as-of` date that makes this signature good (its key's
    /// binding signatures use SHA-1 and it was made before the cut-off).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_as_of: Option<String>,
    /// The full error chain (shown with `-v`).
    #[serde(skip_serializing_if = "String::is_empty")]
    pub detail: String,
    /// The failure mentions SHA-1 in a binding signature: worth checking
    /// whether `--policy-as-of` the signature's date makes it good.
    #[serde(skip)]
    pub sha1_binding: bool,
}

/// Which key made a signature, and when: one signature's, or a file's
/// first good signer's.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SignedBy {
    /// The certificate's fingerprint (or the issuer fingerprint the
    /// signature carries, when no certificate matches).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// The (sub)key that signed, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subkey: Option<String>,
    #[serde(with = "clock::serde_iso_opt", skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<Time>,
}

/// Why a signature or a file is bad, and what to do about it: one line
/// each (the detail goes to `-v`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fault {
    /// Why it is bad, or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// What to do about it, when there is something to do.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// The one-line risk of `--policy-as-of` for SHA-1 self-signatures.
pub const SHA1_RISK: &str = "risk: SHA-1 self-signatures can be forged with a chosen-prefix collision (shown in 2020); accept them only for signatures you expect from that key at that date (SHA-1 data signatures stay rejected)";

impl SigReport {
    fn new(sig_time: Option<Time>, key_id: String) -> SigReport {
        SigReport {
            good: false,
            signer: None,
            key_id,
            by: SignedBy {
                signed_at: sig_time,
                ..SignedBy::default()
            },
            fault: Fault::default(),
            policy_as_of: None,
            detail: String::new(),
            sha1_binding: false,
        }
    }

    /// `--policy-as-of day` does not make it good either: say what else
    /// the policy refuses.
    pub fn still_bad(&mut self, day: &str, other: &SigReport) {
        let root = other
            .detail
            .rsplit(": ")
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or(other.fault.reason.as_str());
        self.fault.reason = format!(
            "{}; --policy-as-of {day} does not help: {root}",
            self.fault.reason
        );
    }

    /// Same signature (issuer and time) as `other`?
    pub fn same_signature(&self, other: &SigReport) -> bool {
        self.key_id == other.key_id && self.by.signed_at == other.by.signed_at
    }

    /// The signature is good only with `--policy-as-of day`: say so.
    pub fn confirm_sha1(&mut self, day: &str, cutoff: &str) {
        let who = self.signer.clone().unwrap_or_else(|| self.key_id.clone());
        self.fault.reason = format!(
            "made {day} by {who}: a binding signature of its key uses SHA1, rejected since {cutoff}; good with --policy-as-of {day}"
        );
        self.policy_as_of = Some(day.to_string());
        self.fault.hint = Some(format!("add --policy-as-of {day} ({SHA1_RISK})"));
    }
}

/// Collects a report per signature; never fails the verification itself
/// (the caller judges the reports against its policy).
pub struct Helper<'a> {
    pub ring: &'a Keyring,
    pub reports: Vec<SigReport>,
    /// Only binary signatures (0x00) are good: an artifact's.
    binary_only: bool,
}

impl<'a> Helper<'a> {
    pub fn new(ring: &'a Keyring) -> Helper<'a> {
        Helper {
            ring,
            reports: Vec::new(),
            binary_only: false,
        }
    }

    /// For an artifact: a text-mode signature (0x01) is bad. It holds for
    /// the file with other line endings too, and is what a signature cut
    /// out of a cleartext-signed message looks like; keycycle never makes
    /// one for an artifact.
    pub fn artifact(ring: &'a Keyring) -> Helper<'a> {
        Helper {
            binary_only: true,
            ..Helper::new(ring)
        }
    }
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.ring.matching(ids))
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure.into_iter() {
            let MessageLayer::SignatureGroup { results } = layer else {
                continue;
            };
            for r in results {
                let report = match r {
                    Ok(g) if self.binary_only && g.sig.typ() == SignatureType::Text => {
                        let mut r = self.good(&g);
                        r.good = false;
                        r.fault.reason = "a text-mode signature (type 0x01): an artifact's signature is binary; this one was made over text (cut out of a cleartext-signed message?)".into();
                        r.fault.hint = Some("sign artifacts with `keycycle sign` or `gpg --detach-sign` (without --textmode)".into());
                        r
                    }
                    Ok(g) => self.good(&g),
                    Err(e) => describe(self.ring, &e),
                };
                self.reports.push(report);
            }
        }
        Ok(())
    }
}

impl Helper<'_> {
    fn good(&self, g: &GoodChecksum) -> SigReport {
        let cert = g.ka.cert();
        let mut r = SigReport::new(
            g.sig.signature_creation_time().map(clock::from_system),
            issuer_key_id(g.sig, Some(&g.ka.key().keyid())),
        );
        r.good = true;
        r.signer = Some(self.ring.label(cert));
        r.by.fingerprint = Some(cert.fingerprint().to_hex());
        r.by.subkey = Some(g.ka.key().fingerprint().to_hex());
        r
    }
}

fn issuer_key_id(sig: &openpgp::packet::Signature, fallback: Option<&KeyID>) -> String {
    sig.get_issuers()
        .first()
        .map(|h| certinfo::keyid0x(&KeyID::from(h)))
        .or_else(|| fallback.map(certinfo::keyid0x))
        .unwrap_or_else(|| "unknown".into())
}

/// The whole error chain on one line.
pub fn chain(e: &anyhow::Error) -> String {
    crate::error::chain(e.as_ref())
        .lines()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first line of the error chain.
pub fn first_line(e: &anyhow::Error) -> String {
    chain(e)
}

/// `2023-02-01` from "… not considered secure since 2023-02-01T00:00:00Z".
pub fn cutoff_date(text: &str) -> String {
    text.split("since ")
        .nth(1)
        .map(|s| s.chars().take(10).collect())
        .unwrap_or_else(|| "its cut-off".into())
}

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
            r.detail = chain(error);
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
            r.detail = chain(error);
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
            r.detail = chain(error);
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
    if crate::bounded::check(sigs).is_err() {
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
                let id = certinfo::keyid0x(&ka.key().keyid());
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
    r.detail = chain(error);
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
