//! Between ceremonies: extend expiry, rotate the signing subkey, revoke,
//! and the escrow drill and re-wrap. Every change re-escrows the secret.

use serde::Serialize;

use openpgp::cert::prelude::*;
use openpgp::cert::SubkeyRevocationBuilder;
use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::Signature;
use openpgp::policy::StandardPolicy;
use openpgp::types::{KeyFlags, ReasonForRevocation, RevocationStatus, SignatureType};
use openpgp::{Cert, Packet, PacketPile};
use sequoia_openpgp as openpgp;

use crate::certinfo::{self, Revocation};
use crate::clock::{self, Time};
use crate::error::{Error, Result};
use crate::escrow::{self, Identities, Recipient};
use crate::keygen;
use crate::lifecycle;
use crate::vault::{self, StoredKey, Vault};

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
    let p = StandardPolicy::new();
    matches!(
        cert.revocation_status(&p, clock::to_system(at)),
        RevocationStatus::Revoked(_)
    )
}

/// `at`, or one second after the newest self-signature if that is not
/// earlier: two self-signatures with the same time leave it to chance which
/// one a tool takes as current (gpg and sequoia can disagree).
fn after_self_signatures(full: &Cert, at: Time) -> std::time::SystemTime {
    let t = clock::to_system(at);
    let newest = full
        .primary_key()
        .self_signatures()
        .chain(full.userids().flat_map(|u| u.self_signatures()))
        .chain(full.keys().subkeys().flat_map(|k| k.self_signatures()))
        .filter_map(|s| s.signature_creation_time())
        .max();
    match newest {
        Some(n) if n >= t => n + std::time::Duration::from_secs(1),
        _ => t,
    }
}

/// New binding signatures, dated `at`, giving the primary and every live
/// subkey the expiry `until`.
pub fn extend(full: &Cert, until: Time, at: Time) -> Result<Cert> {
    let mut signer = keygen::primary_signer(full)?;
    extend_with(&mut signer, full, until, at)
}

/// [`extend`] with the primary key's signer given (an OpenPGP card, say):
/// `full` may be the public cert.
pub fn extend_with(
    signer: &mut dyn openpgp::crypto::Signer,
    full: &Cert,
    until: Time,
    at: Time,
) -> Result<Cert> {
    if revoked(full, at) {
        return Err(Error::input(
            "the key is revoked",
            "make a new key instead: keycycle generate --force",
        ));
    }
    let p = StandardPolicy::new();
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
    let t = after_self_signatures(full, at);
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
            .sign_direct_key(&mut *signer, primary.parts_as_public())?;
        packets.push(sig.into());
    }
    for ua in vc.userids() {
        let sig = SignatureBuilder::from(ua.binding_signature().clone())
            .set_signature_creation_time(t)?
            .set_key_validity_period(d)?
            .sign_userid_binding(&mut *signer, primary.parts_as_public(), ua.userid())?;
        packets.push(ua.userid().clone().into());
        packets.push(sig.into());
    }
    for ka in vc.keys().subkeys().revoked(false) {
        let key = ka.key().clone();
        let sig = SignatureBuilder::from(ka.binding_signature().clone())
            .set_signature_creation_time(t)?
            .set_key_validity_period(validity(key.creation_time())?)?
            .sign_subkey_binding(&mut *signer, primary.parts_as_public(), &key)?;
        packets.push(Packet::from(key.parts_into_public()));
        packets.push(sig.into());
    }
    Ok(full.clone().insert_packets(packets)?.0)
}

/// Revoke the signing subkey(s) as superseded and bind a fresh signing
/// subkey expiring with the primary.
pub fn rotate_subkey(full: &Cert, message: &str, at: Time) -> Result<(Cert, String)> {
    if revoked(full, at) {
        return Err(Error::input("the key is revoked", "make a new key instead"));
    }
    let p = StandardPolicy::new();
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
    let mut signer = keygen::primary_signer(full)?;
    let mut packets: Vec<Packet> = Vec::new();
    for k in &old {
        let rev = SubkeyRevocationBuilder::new()
            .set_signature_creation_time(t)?
            .set_reason_for_revocation(ReasonForRevocation::KeySuperseded, message.as_bytes())?
            .build(&mut signer, full, k, None)?;
        packets.push(Packet::from(k.clone().parts_into_public()));
        packets.push(rev.into());
    }
    let cert = full.clone().insert_packets(packets)?.0;
    let suite = match certinfo::algorithm(full.primary_key().key()).as_str() {
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

/// A revocation with the master key: the whole key, or one subkey.
pub fn revoke_with_master(
    full: &Cert,
    reason: ReasonForRevocation,
    message: &str,
    subkey: Option<&str>,
    at: Time,
) -> Result<Signature> {
    match subkey {
        None => keygen::revoke(full, reason, message, at),
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
            let mut signer = keygen::primary_signer(full)?;
            Ok(SubkeyRevocationBuilder::new()
                .set_signature_creation_time(clock::to_system(at))?
                .set_reason_for_revocation(reason, message.as_bytes())?
                .build(&mut signer, full, key.key(), None)?)
        }
    }
}

/// The signatures in an escrowed revocation file.
pub fn signatures(bytes: &[u8]) -> Result<Vec<Signature>> {
    let pile = PacketPile::from_bytes(bytes).map_err(|e| {
        Error::vault(
            format!("not a revocation certificate: {e}"),
            "restore it from git",
        )
    })?;
    Ok(pile
        .into_children()
        .filter_map(|p| match p {
            Packet::Signature(s) => Some(s),
            _ => None,
        })
        .collect())
}

use openpgp::parse::Parse;

/// Re-escrow the secret (and the ladder, remade until the current expiry)
/// for `recipients` in the configured escrow mode; write the public cert
/// and state. Secret files first.
#[allow(clippy::too_many_arguments)]
pub fn store(
    vault: &Vault,
    key: &StoredKey,
    full: &Cert,
    recipients: &[Recipient],
    ladder_from: Time,
    interval_days: u32,
    ids: &Identities,
) -> Result<()> {
    let p = StandardPolicy::new();
    let expiry = full
        .with_policy(&p, after_self_signatures(full, ladder_from))
        .ok()
        .and_then(|vc| vc.primary_key().key_expiration_time())
        .map(clock::from_system)
        .unwrap_or(key.state.expires);
    let old = lifecycle::open_bundle(vault, key, ids)?;
    // The whole ladder again, from the key's creation: the rungs already
    // dated in the past must stay available (a master lost tomorrow needs
    // the newest rung not after tomorrow), and new ones cover the expiry.
    let ladder = keygen::ladder(full, key.state.created, expiry, interval_days)?;
    let bundle = escrow::Bundle {
        tsk: lifecycle::armored_tsk(full)?,
        // The hard revocation certificate does not change.
        revocation: old.revocation,
        ladder: lifecycle::armor_signatures(&ladder, lifecycle::LADDER_COMMENT)?,
    };
    let names = lifecycle::holder_names(vault, recipients)?;
    let threshold = vault.config()?.escrow.threshold;
    let files = lifecycle::escrow_files(
        &key.state.fingerprint,
        &bundle,
        recipients,
        &names,
        threshold,
    )?;
    let mut change = lifecycle::escrow_change(key, files);
    change
        .files
        .extend(crate::vault::KeyChange::cert(full)?.files);
    let mut state = key.state.clone();
    state.expires = expiry;
    state.escrow_recipients = recipients.iter().map(ToString::to_string).collect();
    vault.update_key(key, change.with_state(&state))
}

/// What the escrow drill found.
#[derive(Debug, Clone, Serialize)]
pub struct Drill {
    pub fingerprint: String,
    pub secret_matches: bool,
    pub revocation: Revocation,
    pub ladder_rungs: usize,
    /// Threshold escrow: the shares this identity opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
}

/// Open the escrow with `ids` and check it against the cert; change nothing.
pub fn drill(vault: &Vault, key: &StoredKey, ids: &Identities) -> Result<Drill> {
    let shares_dir = key.dir.join(vault::SHARES_DIR);
    if shares_dir.is_dir() {
        return drill_shares(key, &shares_dir, ids);
    }
    let full = crate::subkey::open_escrow(vault, key, ids)?;
    let primary = full.primary_key().key();
    let secret_matches = primary.has_unencrypted_secret() && keygen::primary_signer(&full).is_ok();
    if !secret_matches {
        return Err(Error::vault(
            "the escrowed primary secret is missing or unusable",
            "restore primary.age from git and re-run",
        ));
    }
    // Sign and verify with the escrowed secret: it is the cert's key.
    let mut signer = keygen::primary_signer(&full)?;
    let probe = SignatureBuilder::new(SignatureType::Binary)
        .sign_message(&mut signer, b"keycycle escrow drill")?;
    probe
        .verify_message(key.cert.primary_key().key(), b"keycycle escrow drill")
        .map_err(|_| {
            Error::vault(
                "the escrowed secret does not match the public cert",
                "the vault is inconsistent: compare with git history",
            )
        })?;
    let bundle = lifecycle::open_bundle(vault, key, ids)?;
    let revs = signatures(&bundle.revocation)?;
    let rev = revs
        .first()
        .ok_or_else(|| Error::vault("revocation.age holds no signature", "restore it from git"))?;
    rev.verify_primary_key_revocation(key.cert.primary_key().key(), key.cert.primary_key().key())
        .map_err(|_| {
            Error::vault(
                "the escrowed revocation certificate is not valid for this key",
                "restore revocation.age from git",
            )
        })?;
    let ladder = signatures(&bundle.ladder)?;
    for r in &ladder {
        r.verify_primary_key_revocation(key.cert.primary_key().key(), key.cert.primary_key().key())
            .map_err(|_| {
                Error::vault(
                    "a rung of the soft-revocation ladder is not valid for this key",
                    "restore revocation-retired.age from git",
                )
            })?;
    }
    Ok(Drill {
        fingerprint: key.state.fingerprint.clone(),
        secret_matches,
        revocation: Revocation::from_sig(rev),
        ladder_rungs: ladder.len(),
        share: None,
    })
}

/// The drill for threshold escrow: open only your own share(s) and check
/// their envelopes; nothing is reconstructed.
fn drill_shares(key: &StoredKey, dir: &std::path::Path, ids: &Identities) -> Result<Drill> {
    let mut mine = Vec::new();
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        let sealed = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
        if let Some(plain) = ids.try_open(&sealed)? {
            let s = escrow::Share::parse(&plain)?;
            if s.fingerprint != key.state.fingerprint
                || s.threshold < 2
                || s.threshold > s.shares
                || s.data.first() != Some(&s.index)
            {
                return Err(Error::vault(
                    format!("{}: the share does not belong to this key", p.display()),
                    "restore the share from git",
                ));
            }
            mine.push(format!(
                "share {} of {} (threshold {}) held by {}",
                s.index, s.shares, s.threshold, s.holder
            ));
        }
    }
    if mine.is_empty() {
        return Err(Error::input(
            "none of the given identities opens a share of this key",
            "pass the --identity of a root the key was escrowed to",
        ));
    }
    Ok(Drill {
        fingerprint: key.state.fingerprint.clone(),
        secret_matches: false,
        revocation: Revocation {
            reason: "not reconstructed (threshold escrow)".into(),
            hard: true,
            message: String::new(),
            time: None,
        },
        ladder_rungs: 0,
        share: Some(mine.join("; ")),
    })
}
