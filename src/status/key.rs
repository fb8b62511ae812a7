//! One key's status: its validity, subkeys, trust, attestations, escrow
//! and cross-signature, and the findings about it.

use openpgp::cert::amalgamation::ValidAmalgamation;
use openpgp::cert::ValidCert;
use openpgp::types::RevocationStatus;
use sequoia_openpgp as openpgp;

use super::attestations::attestations;
use super::{finding, unpublished, EscrowThresholds, Finding, KeyStatus, Level, SubkeyStatus};
use crate::base::clock::{self, Time};
use crate::base::error::Result;
use crate::cert::{self, Revocation};
use crate::policy;
use crate::vault::schedule::{Cycle, Schedule};
use crate::vault::{StoredKey, Vault};

/// Status of one stored key.
pub fn key_status(
    vault: &Vault,
    schedule: &Schedule,
    all: &[StoredKey],
    key: &StoredKey,
    signed: Option<&policy::State>,
    at: Time,
) -> Result<KeyStatus> {
    let standard = crate::base::openpgp_policy::standard();
    let cert = &key.cert;
    let vc = cert.with_policy(&standard, clock::to_system(at));
    let revocation = match vc.as_ref().map(|vc| vc.revocation_status()) {
        Ok(RevocationStatus::Revoked(sigs)) => sigs.first().map(|s| Revocation::from_sig(s)),
        _ => None,
    };
    let expires = vc
        .as_ref()
        .ok()
        .and_then(|vc| vc.primary_key().key_expiration_time())
        .map(clock::from_system)
        .unwrap_or(key.state.expires);
    let days_left = clock::days_between(at, expires);
    let subkeys = vc.as_ref().map(subkey_statuses).unwrap_or_default();
    let warn_days = i64::from(schedule.policy().warn_days);
    let mut findings = validity(key, revocation.as_ref(), days_left, &subkeys, warn_days, at);
    let live = revocation.is_none() && days_left >= 0;
    findings.extend(trust_findings(vault, key, signed, live)?);
    let attestations = attestations(vault, signed, cert, at)?;
    if attestations.of > 0 && !attestations.majority {
        findings.push(finding(
            Level::Warning,
            format!(
                "attestations {} of {}: majority not reached",
                attestations.by.len(),
                attestations.of
            ),
        ));
    }
    let cross = CrossSign::of(schedule, all, key, at);
    let level = findings.iter().map(|f| f.level).max().unwrap_or(Level::Ok);
    Ok(KeyStatus {
        cycle: key.state.cycle.clone(),
        cycle_label: cross
            .cycle
            .map(|c| c.label())
            .unwrap_or_else(|| key.state.cycle.clone()),
        fingerprint: key.state.fingerprint.clone(),
        fingerprint_grouped: cert::grouped(&cert.fingerprint()),
        created: key.state.created,
        expires,
        days_left,
        subkeys,
        revocation,
        attestations,
        cross_signed: cross.signed,
        cross_sign_void: cross.void,
        escrow_recipients: key.state.escrow_recipients.clone(),
        escrow_thresholds: signed.map(|s| EscrowThresholds {
            roots: s.policy.roots.len(),
            primary: s.policy.escrow_threshold,
            revocations: s.policy.revocation_threshold,
        }),
        secret: secret_location(key),
        cards: crate::custody::card_records(key)
            .into_iter()
            .cloned()
            .collect(),
        last_publish: key.state.publish.iter().map(|p| p.time).max(),
        unpublished: unpublished::of(key),
        in_policy: signed.map(|p| p.lists(&key.state.fingerprint)),
        level,
        findings,
    })
}

/// The subkeys of a valid certificate, as `status` shows them.
fn subkey_statuses(vc: &ValidCert) -> Vec<SubkeyStatus> {
    vc.keys()
        .subkeys()
        .map(|ka| SubkeyStatus {
            fingerprint: ka.key().fingerprint().to_hex(),
            flags: cert::flag_letters(ka.key_flags().as_ref()),
            expires: ka.key_expiration_time().map(clock::from_system),
            alive: ka.alive().is_ok(),
            revoked: matches!(ka.revocation_status(), RevocationStatus::Revoked(_)),
        })
        .collect()
}

/// Whether keycycle trusts the key (the signed policy lists it or it was
/// generated here) and, for a live trusted key, its escrow against the
/// signed policy.
fn trust_findings(
    vault: &Vault,
    key: &StoredKey,
    signed: Option<&policy::State>,
    live: bool,
) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    // The draft roster's certs count for nothing, but a tampered one (a
    // cert under another fingerprint's name, a path for a fingerprint) is
    // still refused, naming it.
    for m in crate::policy::roster::load(vault)?.members {
        if let Some(fpr) = m.fingerprint {
            crate::policy::roster::cert(vault, &fpr)?;
        }
    }
    let trusted = signed.is_some_and(|p| p.lists(&key.state.fingerprint))
        || vault.trust().generated_here(&key.state.fingerprint)?;
    if !trusted {
        findings.push(finding(
            Level::Critical,
            format!(
                "{} is not in the signed policy and was not generated here: it appeared by commit; keycycle will not use it",
                crate::base::text::path(&key.dir)
            ),
        ));
    } else if let (Some(p), true) = (signed, live) {
        findings.extend(escrow_against_policy(key, &p.policy));
    }
    Ok(findings)
}

/// The key's cycle, and its cross-signature by the previous cycle's key.
struct CrossSign<'a> {
    cycle: Option<&'a Cycle>,
    /// See [`KeyStatus::cross_signed`].
    signed: Option<bool>,
    /// See [`KeyStatus::cross_sign_void`].
    void: Option<String>,
}

impl<'a> CrossSign<'a> {
    fn of(schedule: &'a Schedule, all: &[StoredKey], key: &StoredKey, at: Time) -> Self {
        let cycle = schedule.cycles().iter().find(|c| c.id == key.state.cycle);
        let previous = cycle
            .and_then(|c| schedule.predecessor(c))
            .and_then(|p| all.iter().rev().find(|k| k.state.cycle == p.id));
        let judged = previous.map(|prev| cert::certified_by(&key.cert, &prev.cert, at));
        CrossSign {
            cycle,
            signed: judged.as_ref().map(|j| j.is_ok()),
            void: judged.and_then(|j| j.err().flatten()),
        }
    }
}

/// "escrow only", "escrow + card serial 101", "escrow + cards serial 101, 102".
fn secret_location(key: &StoredKey) -> String {
    let cards = crate::custody::card_records(key);
    match cards.as_slice() {
        [] => "escrow only".into(),
        [one] => format!("escrow + card serial {}", one.serial),
        many => format!(
            "escrow + cards serial {}",
            many.iter()
                .map(|c| c.serial.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Revoked, expired or about to, no usable signing subkey.
fn validity(
    key: &StoredKey,
    revocation: Option<&Revocation>,
    days_left: i64,
    subkeys: &[SubkeyStatus],
    warn_days: i64,
    at: Time,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(r) = revocation {
        findings.push(finding(Level::Critical, format!("revoked ({})", r.reason)));
    }
    if key.state.created > at {
        findings.push(finding(
            Level::Warning,
            "created after --time: not yet valid",
        ));
    } else if days_left < 0 {
        findings.push(finding(
            Level::Critical,
            format!("expired {} days ago", -days_left),
        ));
    } else if days_left < warn_days {
        findings.push(finding(
            Level::Warning,
            format!("expires in {days_left} days"),
        ));
    }
    let signing_ok = subkeys
        .iter()
        .any(|s| s.flags.contains('S') && s.alive && !s.revoked);
    if !signing_ok && key.state.created <= at {
        findings.push(finding(Level::Critical, "no valid signing subkey"));
    }
    findings
}

/// The escrow must be sealed to the signed policy's roots: checked on the
/// age header of the escrow file itself (state.toml is only a note).
fn escrow_against_policy(key: &StoredKey, policy: &crate::policy::Policy) -> Option<Finding> {
    use crate::custody::{escrow, revocation_shares};
    let split = revocation_shares::is_split(key, escrow::REVOCATION_FILE).ok()?;
    if escrow::revocations_apart(key).ok()? && split != (policy.revocation_threshold > 1) {
        return Some(finding(
            Level::Warning,
            format!(
                "the escrowed revocations are {}, but the signed policy's revocation threshold is {}: run keycycle escrow rewrap",
                if split { "split into shares" } else { "sealed to every root" },
                policy.revocation_threshold
            ),
        ));
    }
    let path = key.dir.join(crate::custody::escrow::PRIMARY_FILE);
    if crate::custody::escrow::is_threshold(key).unwrap_or(true) || !path.is_file() {
        return None;
    }
    let recipients = policy.recipients().ok()?;
    let sealed = std::fs::read(&path).ok()?;
    crate::custody::age::check_recipients(&sealed, &recipients)
        .err()
        .map(|_| {
            finding(
                Level::Warning,
                "the escrow is not sealed to the roots of the signed policy: run keycycle escrow rewrap",
            )
        })
}
