//! Making a cycle key: a certify-only primary, a signing-only subkey (and an
//! encryption subkey on request), both expiring per the cycle policy, with
//! the hard revocation certificate and the dated ladder of soft ones.

use serde::{Deserialize, Serialize};
use std::str::FromStr;

use openpgp::cert::{CertBuilder, CertRevocationBuilder, CipherSuite};
use openpgp::crypto::Signer;
use openpgp::packet::Signature;
use openpgp::types::{KeyFlags, ReasonForRevocation};
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::clock::{self, Time};
use crate::error::{Error, Result};

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

    fn sequoia(self) -> CipherSuite {
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

/// Make the key, its revocation certificate and its ladder.
pub fn generate(spec: &KeySpec) -> Result<CycleKey> {
    if spec.expires <= spec.created {
        return Err(Error::input(
            format!(
                "the key would expire ({}) before it is created ({})",
                clock::day(spec.expires),
                clock::day(spec.created)
            ),
            "pick a later cycle, or a --time before the cycle's end",
        ));
    }
    let validity = (spec.expires - spec.created)
        .to_std()
        .map_err(|e| anyhow::anyhow!("validity period: {e}"))?;
    let mut builder = CertBuilder::new()
        .set_profile(openpgp::Profile::RFC4880)?
        // A v4 key advertises SEIPDv1 (with MDC) only: sequoia's default
        // adds SEIPDv2, and RFC 9580 senders would then encrypt to the
        // encryption subkey in a form GnuPG 2.2/2.4 cannot read.
        .set_features(openpgp::types::Features::empty().set_seipdv1())?
        .set_cipher_suite(spec.suite.sequoia())
        .set_creation_time(clock::to_system(spec.created))
        .set_primary_key_flags(KeyFlags::empty().set_certification())
        .set_validity_period(validity)
        .add_userid(spec.user_id.as_str())
        .add_subkey(KeyFlags::empty().set_signing(), validity, None);
    if spec.encryption_subkey {
        builder = builder.add_subkey(
            KeyFlags::empty()
                .set_transport_encryption()
                .set_storage_encryption(),
            validity,
            None,
        );
    }
    let (cert, _unspecified_revocation) = builder.generate()?;
    // The new primary signs its own revocations while it is only here, in
    // memory; custody escrows all of it.
    crate::custody::fresh_key::with_revocations(cert, spec)
}

/// A whole-key revocation made by the primary (`signer`).
pub fn revoke(
    signer: &mut dyn Signer,
    cert: &Cert,
    reason: ReasonForRevocation,
    message: &str,
    at: Time,
) -> Result<Signature> {
    Ok(CertRevocationBuilder::new()
        .set_signature_creation_time(clock::to_system(at))?
        .set_reason_for_revocation(reason, message.as_bytes())?
        .build(signer, cert, None)?)
}

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

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> KeySpec {
        KeySpec {
            user_id: "Test (2027.1/Indri Cycle) <t@example.org>".into(),
            suite: Suite::Ed25519,
            created: clock::parse_time("2026-08-01T10:00:00Z").unwrap(),
            expires: clock::parse_time("2027-05-28").unwrap(),
            encryption_subkey: false,
            ladder_interval_days: 7,
        }
    }

    #[test]
    fn shape_of_a_cycle_key() {
        let k = generate(&spec()).unwrap();
        let p = crate::openpgp_policy::standard();
        let at = clock::to_system(clock::parse_time("2026-09-01").unwrap());
        let vc = k.cert.with_policy(&p, at).unwrap();
        assert!(vc.primary_key().key_flags().unwrap().for_certification());
        assert!(!vc.primary_key().key_flags().unwrap().for_signing());
        let subs: Vec<_> = vc.keys().subkeys().collect();
        assert_eq!(subs.len(), 1);
        assert!(subs[0].key_flags().unwrap().for_signing());
        assert_eq!(
            vc.primary_key().key_expiration_time(),
            Some(clock::to_system(spec().expires))
        );
        assert_eq!(
            subs[0].key_expiration_time(),
            Some(clock::to_system(spec().expires))
        );
        assert_eq!(k.cert.primary_key().key().version(), 4);
        // A rung a week, until expiry.
        assert_eq!(k.ladder.len(), 42);
    }

    #[test]
    fn rungs_after_an_extension_follow_the_newest_binding() {
        let t = |s| clock::parse_time(s).unwrap();
        let from = t("2026-08-01T12:00:00Z");
        let until = t("2027-08-01");
        let fresh = rung_dates(Some(from), from, until, 7);
        assert_eq!(fresh[0], t("2026-08-08T12:00:00Z"));
        let extended = rung_dates(Some(t("2027-04-01")), from, until, 7);
        assert_eq!(extended[0], t("2027-04-01T00:00:01Z"));
        assert_eq!(extended[1], t("2027-04-03T12:00:00Z"));
        assert_eq!(extended.last(), fresh.last());
    }

    #[test]
    fn refuses_an_expiry_before_creation() {
        let mut s = spec();
        s.expires = s.created;
        assert!(generate(&s).is_err());
    }
}
