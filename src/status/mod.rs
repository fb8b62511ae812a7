//! `status`: where each key stands, and the monitoring verdict of
//! `status --check` (0 ok, 1 warning, 2 critical).

use serde::Serialize;

use crate::base::clock::{self, Time};
use crate::base::error::Result;
use crate::cert::Revocation;
use crate::policy;
use crate::vault::schedule::{Cycle, Schedule};
use crate::vault::{StoredKey, Vault};

mod attestations;
mod in_sight;
mod key;
mod metrics;
mod unpublished;
pub use key::key_status;
pub use metrics::{attestations_needed, vault_figures, NextCycle, VaultFigures};
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
    let state = signed_policy(vault, at, &mut findings);
    findings.extend(policy_findings(vault, state.as_ref(), at)?);
    let (trusted, unknown) = policy::partition(vault, state.as_ref(), all.clone())?;
    findings.extend(unknown.iter().map(appeared_by_commit));
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
        findings.extend(next_key_finding(schedule, &current, &trusted, at)?);
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
        .map(|k| {
            if only.is_none() && position(&k.cycle) < now_pos && position(&k.cycle).is_some() {
                as_notes(k)
            } else {
                k
            }
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

/// The signed policy in force; when it cannot be trusted, none, and a
/// critical finding saying why.
fn signed_policy(vault: &Vault, at: Time, findings: &mut Vec<Finding>) -> Option<policy::State> {
    match policy::load(vault, at) {
        Ok(s) => s,
        Err(e) => {
            findings.push(finding(
                Level::Critical,
                format!("the signed policy cannot be trusted: {e}"),
            ));
            None
        }
    }
}

/// A warning when the next cycle's key is due (its window to be made has
/// opened) and no trusted key for it exists.
fn next_key_finding(
    schedule: &Schedule,
    current: &Cycle,
    trusted: &[StoredKey],
    at: Time,
) -> Result<Option<Finding>> {
    let Some(next) = schedule.successor(current) else {
        return Ok(None);
    };
    let plan = schedule.plan(next)?;
    let has_next = trusted.iter().any(|k| k.state.cycle == next.id);
    if !has_next && at.date_naive() >= plan.create_from {
        let lvl = Level::Warning;
        return Ok(Some(finding(
            lvl,
            format!(
                "next key not ready: the key for {} should be made between {} and {}",
                next.label(),
                plan.create_from,
                plan.create_by
            ),
        )));
    }
    Ok(None)
}

/// The critical finding for a key directory neither the signed policy
/// lists nor this machine generated.
fn appeared_by_commit(k: &StoredKey) -> Finding {
    finding(
        Level::Critical,
        format!(
            "{} appeared by commit: not in the signed policy, not generated here; keycycle will not use it",
            crate::base::text::path(&k.dir)
        ),
    )
}

/// A past cycle's key: what is wrong with it is history, a note.
fn as_notes(mut k: KeyStatus) -> KeyStatus {
    for f in &mut k.findings {
        f.level = Level::Ok;
    }
    k.level = Level::Ok;
    k
}
