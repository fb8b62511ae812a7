//! Making a cycle key: a certify-only primary, a signing-only subkey (and an
//! encryption subkey on request), both expiring per the cycle policy, with
//! the hard revocation certificate and the dated ladder of soft ones.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

use openpgp::cert::{CertRevocationBuilder, CipherSuite};
use openpgp::crypto::Signer;
use openpgp::packet::Signature;
use openpgp::types::ReasonForRevocation;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};

/// The key algorithms keycycle offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Suite {
    #[default]
    Ed25519,
    Rsa2048,
    Rsa3072,
    Rsa4096,
}

impl Suite {
    pub const NAMES: &'static [&'static str] = &["ed25519", "rsa2048", "rsa3072", "rsa4096"];

    pub(crate) fn sequoia(self) -> CipherSuite {
        match self {
            Suite::Ed25519 => CipherSuite::Cv25519,
            Suite::Rsa2048 => CipherSuite::RSA2k,
            Suite::Rsa3072 => CipherSuite::RSA3k,
            Suite::Rsa4096 => CipherSuite::RSA4k,
        }
    }

    pub fn name(self) -> &'static str {
        Suite::NAMES[self as usize]
    }
}

impl FromStr for Suite {
    type Err = Error;
    fn from_str(s: &str) -> Result<Suite> {
        match s.to_ascii_lowercase().as_str() {
            "ed25519" | "cv25519" => Ok(Suite::Ed25519),
            "rsa2048" | "rsa2k" => Ok(Suite::Rsa2048),
            "rsa3072" | "rsa3k" => Ok(Suite::Rsa3072),
            "rsa4096" | "rsa4k" => Ok(Suite::Rsa4096),
            _ => Err(Error::input(
                format!("unknown cipher suite '{s}'"),
                "use one of ed25519, rsa2048, rsa3072, rsa4096",
            )),
        }
    }
}

/// What to make.
#[derive(Debug, Clone)]
pub struct KeySpec {
    pub user_id: String,
    pub suite: Suite,
    pub created: Time,
    pub expires: Time,
    pub encryption_subkey: bool,
    /// Spacing of the soft-revocation ladder.
    pub ladder_interval_days: u32,
}

/// A freshly made cycle key. `cert` holds the secrets: it only ever leaves
/// the process age-encrypted.
pub struct CycleKey {
    pub cert: Cert,
    /// Reason KeyCompromised, dated at creation: voids every signature.
    pub revocation: Signature,
    /// Reason KeyRetired, dated at future points until expiry.
    pub ladder: Vec<Signature>,
}

/// The message on the escrowed hard revocation.
pub const HARD_REVOCATION_MESSAGE: &str = "Made when the key was generated, to be published \
only if the key is compromised or cannot be recovered; it voids every signature the key made.";

/// Soft (retired) revocations dated every `interval_days` after `from`,
/// the last one at or before `until`. When the master is lost, the latest
/// rung not after now is published: signatures before it stay valid.
///
/// A soft revocation older than the key's newest binding signature revokes
/// nothing (sequoia, so sqv, ignores it; gpg does not), so after an
/// extension the rungs are those of [`rung_dates`]: one a second after the
/// newest binding, then the grid's rungs after it.
pub fn ladder(
    signer: &mut dyn Signer,
    cert: &Cert,
    from: Time,
    until: Time,
    interval_days: u32,
) -> Result<Vec<Signature>> {
    let mut rungs = Vec::new();
    for at in rung_dates(newest_binding(cert), from, until, interval_days) {
        let message = format!(
            "Key retired: the master key was lost (not compromised). Signatures made before {} remain valid.",
            clock::iso(at)
        );
        rungs.push(
            CertRevocationBuilder::new()
                .set_signature_creation_time(clock::to_system(at))?
                .set_reason_for_revocation(ReasonForRevocation::KeyRetired, message.as_bytes())?
                .build(signer, cert, None)?,
        );
    }
    Ok(rungs)
}

/// The dates of the ladder's rungs: every `interval_days` after `from`, up
/// to `until`, keeping only those after `binding` (the newest binding
/// signature), and, when `binding` is after `from` (an extension), a first
/// rung one second after it — so a master lost the day after an extension
/// has a rung that takes effect.
pub fn rung_dates(binding: Option<Time>, from: Time, until: Time, interval_days: u32) -> Vec<Time> {
    let step = chrono::Duration::days(interval_days.max(1).into());
    let mut dates = Vec::new();
    let mut after = from;
    if let Some(b) = binding.filter(|b| *b > from) {
        after = b + chrono::Duration::seconds(1);
        if after <= until {
            dates.push(after);
        }
    }
    let mut at = from + step;
    while at <= until {
        if at > after {
            dates.push(at);
        }
        at += step;
    }
    dates
}

/// The creation time of `cert`'s newest binding signature of its primary
/// (direct-key or user ID self-signature): a soft revocation must not be
/// older than it to take effect.
pub fn newest_binding(cert: &Cert) -> Option<Time> {
    cert.primary_key()
        .self_signatures()
        .chain(cert.userids().flat_map(|u| u.self_signatures()))
        .filter_map(|s| s.signature_creation_time())
        .max()
        .map(clock::from_system)
}

/// `at`, or one second after the newest self-signature if that is not
/// earlier: two self-signatures with the same time leave it to chance which
/// one a tool takes as current (gpg and sequoia can disagree).
pub fn after_self_signatures(cert: &Cert, at: Time) -> std::time::SystemTime {
    let t = clock::to_system(at);
    let newest = cert
        .primary_key()
        .self_signatures()
        .chain(cert.userids().flat_map(|u| u.self_signatures()))
        .chain(cert.keys().subkeys().flat_map(|k| k.self_signatures()))
        .filter_map(|s| s.signature_creation_time())
        .max();
    match newest {
        Some(n) if n >= t => n + std::time::Duration::from_secs(1),
        _ => t,
    }
}
