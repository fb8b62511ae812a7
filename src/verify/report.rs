//! One line per signature: who made it, when, whether it is good, and —
//! when it is not — why, in words that say how to proceed.

use serde::Serialize;

use openpgp::parse::stream::{GoodChecksum, MessageLayer, MessageStructure, VerificationHelper};
use openpgp::types::SignatureType;
use openpgp::{Cert, KeyHandle, KeyID};
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::cert;
use crate::cert::keyring::Keyring;

mod describe;
pub use describe::{describe, unusable};

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

/// The issuer's key id as `0x…`, else `fallback`'s, else `unknown`.
fn issuer_key_id(sig: &openpgp::packet::Signature, fallback: Option<&KeyID>) -> String {
    sig.get_issuers()
        .first()
        .map(|h| cert::keyid0x(&KeyID::from(h)))
        .or_else(|| fallback.map(cert::keyid0x))
        .unwrap_or_else(|| "unknown".into())
}

/// The whole error chain on one line.
pub fn error_line(e: &anyhow::Error) -> String {
    crate::base::error::with_causes(e.as_ref())
        .lines()
        .collect::<Vec<_>>()
        .join(" ")
}

/// The first line of the error chain.
pub fn first_line(e: &anyhow::Error) -> String {
    error_line(e)
}

/// `2023-02-01` from "… not considered secure since 2023-02-01T00:00:00Z".
pub fn cutoff_date(text: &str) -> String {
    text.split("since ")
        .nth(1)
        .map(|s| s.chars().take(10).collect())
        .unwrap_or_else(|| "its cut-off".into())
}
