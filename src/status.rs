//! `status`: where each key stands, and the monitoring verdict of
//! `status --check` (0 ok, 1 warning, 2 critical).

use serde::Serialize;

use openpgp::cert::amalgamation::ValidAmalgamation;
use openpgp::types::RevocationStatus;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::certinfo::{self, Revocation};
use crate::clock::{self, Time};
use crate::error::Result;
use crate::policy;
use crate::schedule::Schedule;
use crate::vault::{StoredKey, Vault};

mod in_sight;
mod unpublished;
pub use unpublished::Unpublished;

use in_sight::{not_in_policy, policy_findings, unpublished_finding};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Ok,
    Warning,
    Critical,
}

impl Level {
    pub fn exit_code(self) -> u8 {
        self as u8
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub level: Level,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubkeyStatus {
    pub fingerprint: String,
    pub flags: String,
    #[serde(with = "clock::serde_iso_opt")]
    pub expires: Option<Time>,
    pub alive: bool,
    pub revoked: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct Attestations {
    /// Roots whose certification of the key verifies.
    pub by: Vec<String>,
    /// Roots of the signed policy (with an OpenPGP fingerprint) whose
    /// certification is not there or does not verify.
    pub missing: Vec<String>,
    /// Roots of the signed policy in force with an OpenPGP fingerprint,
    /// who can attest (never the draft roster).
    pub of: usize,
    pub majority: bool,
    /// Roots on the draft roster only whose certification verifies: not
    /// counted until the roots sign a policy version that lists them.
    pub draft: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KeyStatus {
    pub cycle: String,
    pub cycle_label: String,
    pub fingerprint: String,
    pub fingerprint_grouped: String,
    #[serde(with = "clock::serde_iso")]
    pub created: Time,
    #[serde(with = "clock::serde_iso")]
    pub expires: Time,
    pub days_left: i64,
    pub subkeys: Vec<SubkeyStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Revocation>,
    pub attestations: Attestations,
    /// `Some(true)` certified by the previous cycle's key, `Some(false)` not,
    /// `None` when the vault holds no previous key.
    pub cross_signed: Option<bool>,
    /// Why the previous cycle's key's certification does not count, when
    /// it made one its key could not make (`issuer hard-revoked on …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_sign_void: Option<String>,
    pub escrow_recipients: Vec<String>,
    /// Who opens the escrow, as the signed policy in force says (none:
    /// no signed policy).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub escrow_thresholds: Option<EscrowThresholds>,
    /// Where the primary's secret lives: "escrow only", or "escrow + card
    /// serial 101" for the cards the vault records (`card load`; not
    /// probed: `card status` checks a card against the vault).
    pub secret: String,
    /// The vault's records of cards holding the primary.
    pub cards: Vec<crate::vault::CardRecord>,
    #[serde(with = "clock::serde_iso_opt")]
    pub last_publish: Option<Time>,
    /// Changes (a revocation, a new or revoked subkey, a new expiry) made
    /// after the last publish to some target the vault records.
    pub unpublished: Unpublished,
    /// Whether the signed policy in force lists the key (`None`: no policy
    /// in force). A key it does not list is a vault key on this machine
    /// only, until the roots sign a version that lists it.
    pub in_policy: Option<bool>,
    pub level: Level,
    pub findings: Vec<Finding>,
}

/// The thresholds of a key's escrow, of the signed policy's roots.
#[derive(Debug, Clone, Serialize)]
pub struct EscrowThresholds {
    pub roots: usize,
    /// M: roots needed to open the primary.
    pub primary: u8,
    /// R: roots needed to revoke with the escrowed certificates.
    pub revocations: u8,
}

/// The status of every requested key plus vault-wide findings.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    #[serde(with = "clock::serde_iso")]
    pub time: Time,
    pub current_cycle: String,
    pub keys: Vec<KeyStatus>,
    pub findings: Vec<Finding>,
    pub level: Level,
}

fn finding(level: Level, message: impl Into<String>) -> Finding {
    Finding {
        level,
        message: message.into(),
    }
}

/// Status of one stored key.
pub fn key_status(
    vault: &Vault,
    schedule: &Schedule,
    all: &[StoredKey],
    key: &StoredKey,
    signed: Option<&policy::State>,
    at: Time,
) -> Result<KeyStatus> {
    let standard = crate::openpgp_policy::standard();
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
    let subkeys: Vec<SubkeyStatus> = match &vc {
        Ok(vc) => vc
            .keys()
            .subkeys()
            .map(|ka| SubkeyStatus {
                fingerprint: ka.key().fingerprint().to_hex(),
                flags: certinfo::flag_letters(ka.key_flags().as_ref()),
                expires: ka.key_expiration_time().map(clock::from_system),
                alive: ka.alive().is_ok(),
                revoked: matches!(ka.revocation_status(), RevocationStatus::Revoked(_)),
            })
            .collect(),
        Err(_) => Vec::new(),
    };
    let warn_days = i64::from(schedule.policy().warn_days);
    let mut findings = validity(key, revocation.as_ref(), days_left, &subkeys, warn_days, at);
    // The draft roster's certs count for nothing, but a tampered one (a
    // cert under another fingerprint's name, a path for a fingerprint) is
    // still refused, naming it.
    for m in crate::roster::load(vault)?.members {
        if let Some(fpr) = m.fingerprint {
            crate::roster::cert(vault, &fpr)?;
        }
    }
    let trusted = signed.is_some_and(|p| p.lists(&key.state.fingerprint))
        || vault.trust().generated_here(&key.state.fingerprint)?;
    if !trusted {
        findings.push(finding(
            Level::Critical,
            format!(
                "{} is not in the signed policy and was not generated here: it appeared by commit; keycycle will not use it",
                crate::text::path(&key.dir)
            ),
        ));
    } else if let (Some(p), true) = (signed, revocation.is_none() && days_left >= 0) {
        findings.extend(escrow_against_policy(key, &p.policy));
    }
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
    // Cross-signature by the previous cycle's key.
    let cycle = schedule.cycles().iter().find(|c| c.id == key.state.cycle);
    let previous = cycle
        .and_then(|c| schedule.predecessor(c))
        .and_then(|p| all.iter().rev().find(|k| k.state.cycle == p.id));
    let judged = previous.map(|prev| certinfo::certified_by(cert, &prev.cert, at));
    let cross_signed = judged.as_ref().map(|j| j.is_ok());
    let cross_sign_void = judged.and_then(|j| j.err().flatten());
    let level = findings.iter().map(|f| f.level).max().unwrap_or(Level::Ok);
    Ok(KeyStatus {
        cycle: key.state.cycle.clone(),
        cycle_label: cycle
            .map(|c| c.label())
            .unwrap_or_else(|| key.state.cycle.clone()),
        fingerprint: key.state.fingerprint.clone(),
        fingerprint_grouped: certinfo::grouped(&cert.fingerprint()),
        created: key.state.created,
        expires,
        days_left,
        subkeys,
        revocation,
        attestations,
        cross_signed,
        cross_sign_void,
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

/// Whether `issuer` made a certification of `cert` that counts at `at`.
fn certified_by(cert: &Cert, issuer: &Cert, at: Time) -> bool {
    certinfo::certified_by(cert, issuer, at).is_ok()
}

/// Attestations by the roots of the signed policy in force with an
/// OpenPGP fingerprint (never the draft roster): each counts when their
/// certificate in `roster/` (checked against its name) certified the key;
/// all of them make the total, their certificate there or not.
fn attestations(
    vault: &Vault,
    signed: Option<&policy::State>,
    cert: &Cert,
    at: Time,
) -> Result<Attestations> {
    let mut by = Vec::new();
    let mut missing = Vec::new();
    let mut of = 0;
    for (name, root) in crate::attest::policy_roots(vault, signed)? {
        of += 1;
        if root.is_some_and(|r| certified_by(cert, &r, at)) {
            by.push(name);
        } else {
            missing.push(name);
        }
    }
    let in_force = |fpr: &str| {
        signed.is_some_and(|s| {
            s.policy
                .roots
                .iter()
                .any(|r| r.fingerprint.as_deref() == Some(fpr))
        })
    };
    let mut draft = Vec::new();
    for m in crate::roster::load(vault)?.members {
        let Some(fpr) = m.fingerprint.filter(|f| !in_force(f)) else {
            continue;
        };
        if crate::roster::cert(vault, &fpr)?.is_some_and(|r| certified_by(cert, &r, at)) {
            draft.push(m.name);
        }
    }
    Ok(Attestations {
        majority: of > 0 && by.len() * 2 > of,
        by,
        missing,
        of,
        draft,
    })
}

/// How long before the policy expires `status` warns.
pub const POLICY_EXPIRY_WARNING_DAYS: i64 = 30;

/// The whole report. With `only`, just that key; otherwise every key, and
/// the checks that concern the current and next cycles.
pub fn report(
    vault: &Vault,
    schedule: &Schedule,
    only: Option<&StoredKey>,
    at: Time,
) -> Result<Report> {
    let all = vault.keys()?;
    let current = schedule.resolve("current", at)?.clone();
    let mut findings = Vec::new();
    let state = match policy::load(vault, at) {
        Ok(s) => s,
        Err(e) => {
            findings.push(finding(
                Level::Critical,
                format!("the signed policy cannot be trusted: {e}"),
            ));
            None
        }
    };
    findings.extend(policy_findings(vault, state.as_ref(), at)?);
    let (trusted, unknown) = policy::partition(vault, state.as_ref(), all.clone())?;
    for k in &unknown {
        findings.push(finding(
            Level::Critical,
            format!(
                "{} appeared by commit: not in the signed policy, not generated here; keycycle will not use it",
                crate::text::path(&k.dir)
            ),
        ));
    }
    let keys: Vec<KeyStatus> = match only {
        Some(k) => vec![key_status(vault, schedule, &all, k, state.as_ref(), at)?],
        None => all
            .iter()
            .map(|k| key_status(vault, schedule, &all, k, state.as_ref(), at))
            .collect::<Result<_>>()?,
    };
    let is_trusted = |fpr: &str| trusted.iter().any(|t| t.state.fingerprint == fpr);

    let mut level = Level::Ok;
    // The key that matters is the newest of the current cycle (a revoked
    // key replaced by a newer one no longer counts).
    let relevant: Vec<&KeyStatus> = if only.is_some() {
        keys.iter().collect()
    } else {
        keys.iter()
            .filter(|k| k.cycle == current.id && is_trusted(&k.fingerprint))
            .max_by_key(|k| k.created)
            .into_iter()
            .collect()
    };
    if only.is_none() {
        if relevant.is_empty() {
            findings.push(finding(
                Level::Critical,
                format!("no key for the current cycle {}", current.label()),
            ));
        }
        if let Some(next) = schedule.successor(&current) {
            let plan = schedule.plan(next)?;
            let has_next = trusted.iter().any(|k| k.state.cycle == next.id);
            if !has_next && at.date_naive() >= plan.create_from {
                let lvl = Level::Warning;
                findings.push(finding(
                    lvl,
                    format!(
                        "next key not ready: the key for {} should be made between {} and {}",
                        next.label(),
                        plan.create_from,
                        plan.create_by
                    ),
                ));
            }
        }
    }
    for k in &relevant {
        level = level.max(k.level);
    }
    // Keys of past cycles are history: what is wrong with them (expired,
    // superseded) needs no action and is reported as a note.
    let position = |id: &str| schedule.cycles().iter().position(|c| c.id == id);
    let now_pos = position(&current.id);
    for k in keys.iter().filter(|k| is_trusted(&k.fingerprint)) {
        let past = position(&k.cycle).is_some() && position(&k.cycle) < now_pos;
        if let (Some(state), false) = (&state, past) {
            findings.extend(not_in_policy(k, state));
        }
        findings.extend(unpublished_finding(k));
    }
    let keys: Vec<KeyStatus> = keys
        .into_iter()
        .map(|mut k| {
            if only.is_none() && position(&k.cycle) < now_pos && position(&k.cycle).is_some() {
                for f in &mut k.findings {
                    f.level = Level::Ok;
                }
                k.level = Level::Ok;
            }
            k
        })
        .collect();
    for f in &findings {
        level = level.max(f.level);
    }
    Ok(Report {
        time: at,
        current_cycle: current.id.clone(),
        keys,
        findings,
        level,
    })
}
