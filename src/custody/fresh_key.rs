//! A fresh cycle key: generated here, and its primary opened while it is
//! only here, in memory, to sign its own revocations (the hard revocation
//! and the ladder of soft ones). Custody then escrows all of it.

use openpgp::cert::CertBuilder;
use openpgp::types::{KeyFlags, ReasonForRevocation};
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::clock;
use crate::base::error::{Error, Result};
use crate::cert::change;
use crate::cert::make::{self, CycleKey, KeySpec, HARD_REVOCATION_MESSAGE};

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
    with_revocations(cert, spec)
}

/// `cert` (just generated for `spec`) with the revocations its primary
/// makes now: the hard revocation and the ladder.
fn with_revocations(cert: Cert, spec: &KeySpec) -> Result<CycleKey> {
    let mut signer = cert
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()?
        .into_keypair()?;
    let revocation = change::revoke(
        &mut signer,
        &cert,
        ReasonForRevocation::KeyCompromised,
        HARD_REVOCATION_MESSAGE,
        spec.created,
    )?;
    let ladder = make::ladder(
        &mut signer,
        &cert,
        spec.created,
        spec.expires,
        spec.ladder_interval_days,
    )?;
    Ok(CycleKey {
        cert,
        revocation,
        ladder,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cert::make::*;

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
        let p = crate::base::openpgp_policy::standard();
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
