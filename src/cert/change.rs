//! Between ceremonies: extend expiry, rotate the signing subkey, revoke.
//! Each takes the key's certificate and a signer for its primary (from
//! [`crate::custody`]) and returns the changed certificate; storing it
//! back (and re-escrowing) is custody's job.

use openpgp::cert::prelude::*;
use openpgp::cert::SubkeyRevocationBuilder;
use openpgp::crypto::Signer;
use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::Signature;
use openpgp::types::{KeyFlags, ReasonForRevocation, RevocationStatus, SignatureType};
use openpgp::{Cert, Packet};
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};
use crate::cert;
use crate::cert::make;

/// Parse a revocation reason name.
pub fn reason(name: &str) -> Result<ReasonForRevocation> {
    Ok(match name {
        "compromised" => ReasonForRevocation::KeyCompromised,
        "superseded" => ReasonForRevocation::KeySuperseded,
        "retired" => ReasonForRevocation::KeyRetired,
        "unspecified" => ReasonForRevocation::Unspecified,
        _ => {
            return Err(Error::input(
                format!("unknown reason '{name}'"),
                "use compromised, superseded, retired or unspecified",
            ))
        }
    })
}

fn revoked(cert: &Cert, at: Time) -> bool {
    let p = crate::base::openpgp_policy::standard();
    matches!(
        cert.revocation_status(&p, clock::to_system(at)),
        RevocationStatus::Revoked(_)
    )
}

/// New binding signatures, dated `at`, giving the primary and every live
/// subkey the expiry `until`.
pub fn extend(full: &Cert, signer: &mut dyn Signer, until: Time, at: Time) -> Result<Cert> {
    if revoked(full, at) {
        return Err(Error::input(
            "the key is revoked",
            "make a new key instead: keycycle generate --force",
        ));
    }
    let p = crate::base::openpgp_policy::standard();
    let vc = full.with_policy(&p, clock::to_system(at))?;
    let current = vc
        .primary_key()
        .key_expiration_time()
        .map(clock::from_system);
    if let Some(c) = current {
        if until <= c {
            return Err(Error::input(
                format!(
                    "{} is not later than the current expiry {}",
                    clock::day(until),
                    clock::day(c)
                ),
                "extend moves the expiry later; to retire a key early, revoke it",
            ));
        }
    }
    let primary = full.primary_key().key().clone();
    let validity = |created: std::time::SystemTime| -> Result<std::time::Duration> {
        clock::to_system(until)
            .duration_since(created)
            .map_err(|_| {
                Error::input(
                    "the new expiry is before the key's creation",
                    "pick a later date",
                )
            })
    };
    let d = validity(primary.creation_time())?;
    let t = make::after_self_signatures(full, at);
    let mut packets: Vec<Packet> = Vec::new();
    // The newest direct-key signature, if any, carries the expiry too.
    if let Some(direct) = full
        .primary_key()
        .self_signatures()
        .find(|s| s.typ() == SignatureType::DirectKey)
    {
        let sig = SignatureBuilder::from(direct.clone())
            .set_signature_creation_time(t)?
            .set_key_validity_period(d)?
            .sign_direct_key(signer, primary.parts_as_public())?;
        packets.push(sig.into());
    }
    for ua in vc.userids() {
        let sig = SignatureBuilder::from(ua.binding_signature().clone())
            .set_signature_creation_time(t)?
            .set_key_validity_period(d)?
            .sign_userid_binding(signer, primary.parts_as_public(), ua.userid())?;
        packets.push(ua.userid().clone().into());
        packets.push(sig.into());
    }
    for ka in vc.keys().subkeys().revoked(false) {
        let key = ka.key().clone();
        let sig = SignatureBuilder::from(ka.binding_signature().clone())
            .set_signature_creation_time(t)?
            .set_key_validity_period(validity(key.creation_time())?)?
            .sign_subkey_binding(signer, primary.parts_as_public(), &key)?;
        packets.push(Packet::from(key.parts_into_public()));
        packets.push(sig.into());
    }
    Ok(full.clone().insert_packets(packets)?.0)
}

/// Revoke the signing subkey(s) for `reason` and bind a fresh signing
/// subkey expiring with the primary. The new subkey's secret is in the
/// returned certificate.
pub fn rotate_subkey(
    full: &Cert,
    mut signer: Box<dyn Signer + Send + Sync>,
    reason: ReasonForRevocation,
    message: &str,
    at: Time,
) -> Result<(Cert, String)> {
    if revoked(full, at) {
        return Err(Error::input("the key is revoked", "make a new key instead"));
    }
    let p = crate::base::openpgp_policy::standard();
    let t = clock::to_system(at);
    let vc = full.with_policy(&p, t)?;
    let expiry = vc.primary_key().key_expiration_time();
    let old: Vec<_> = vc
        .keys()
        .subkeys()
        .for_signing()
        .revoked(false)
        .map(|k| k.key().clone())
        .collect();
    let mut packets: Vec<Packet> = Vec::new();
    for k in &old {
        let rev = SubkeyRevocationBuilder::new()
            .set_signature_creation_time(t)?
            .set_reason_for_revocation(reason, message.as_bytes())?
            .build(&mut signer, full, k, None)?;
        packets.push(Packet::from(k.clone().parts_into_public()));
        packets.push(rev.into());
    }
    let cert = full.clone().insert_packets(packets)?.0;
    let suite = match cert::algorithm(full.primary_key().key()).as_str() {
        "rsa2048" => CipherSuite::RSA2k,
        "rsa4096" => CipherSuite::RSA4k,
        a if a.starts_with("rsa") => CipherSuite::RSA3k,
        _ => CipherSuite::Cv25519,
    };
    let vc = cert.with_policy(&p, t)?;
    let mut builder = KeyBuilder::new(KeyFlags::empty().set_signing())
        .set_cipher_suite(suite)
        .set_creation_time(t)
        .subkey(vc)?
        .set_signature_creation_time(t)?
        .set_primary_key_signer(signer);
    if let Some(e) = expiry {
        builder = builder.set_key_expiration_time(e)?;
    }
    let cert = builder.attach_cert()?;
    let new = cert
        .keys()
        .subkeys()
        .filter(|k| k.key().creation_time() == t)
        .map(|k| k.key().fingerprint().to_hex())
        .next()
        .unwrap_or_default();
    Ok((cert, new))
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

/// A revocation with the master key: the whole key, or one subkey.
pub fn revoke_with_master(
    full: &Cert,
    signer: &mut dyn Signer,
    reason: ReasonForRevocation,
    message: &str,
    subkey: Option<&str>,
    at: Time,
) -> Result<Signature> {
    match subkey {
        None => revoke(signer, full, reason, message, at),
        Some(fpr) => {
            let want = fpr
                .trim()
                .trim_start_matches("0x")
                .replace(' ', "")
                .to_uppercase();
            let key = full
                .keys()
                .subkeys()
                .find(|k| k.key().fingerprint().to_hex().ends_with(&want) && want.len() >= 16)
                .ok_or_else(|| {
                    Error::input(
                        format!("no subkey {fpr}"),
                        "give the subkey's fingerprint (keycycle status KEY lists them)",
                    )
                })?;
            Ok(SubkeyRevocationBuilder::new()
                .set_signature_creation_time(clock::to_system(at))?
                .set_reason_for_revocation(reason, message.as_bytes())?
                .build(signer, full, key.key(), None)?)
        }
    }
}
