//! What `status` says the vault still owes the outside world: the signed
//! policy (none yet, a version waiting for signatures, drafts that differ,
//! keys it does not list) and the keyservers (changes not yet published).

use super::{finding, Finding, KeyStatus, Level, POLICY_EXPIRY_WARNING_DAYS};
use crate::base::clock::{self, Time};
use crate::base::error::Result;
use crate::policy;
use crate::vault::Vault;

/// What the signed policy says about the vault as a whole: none yet, a
/// version waiting for signatures, drafts that differ from it.
pub(super) fn policy_findings(
    vault: &Vault,
    state: Option<&policy::State>,
    at: Time,
) -> Result<Vec<Finding>> {
    let mut out = Vec::new();
    let Some(state) = state else {
        if !vault.keys()?.is_empty() {
            out.push(finding(
                Level::Warning,
                "the vault has no signed policy: run keycycle policy init, then the roots pin and sign it",
            ));
        }
        return Ok(out);
    };
    if let Some(p) = &state.pending {
        out.push(finding(
            Level::Warning,
            format!(
                "policy version {} waits for signatures: {} of {} (keycycle policy status)",
                p.policy.version,
                p.signed_by.len(),
                p.needed
            ),
        ));
    }
    if let Some(e) = state.policy.expires {
        if e <= at {
            out.push(finding(
                Level::Critical,
                format!(
                    "the policy in force (version {}) expired on {}: nothing can be sealed to the roots until they sign a new one (runbooks/policy-change.md)",
                    state.policy.version,
                    clock::day(e)
                ),
            ));
        } else if e - at <= chrono::Duration::days(POLICY_EXPIRY_WARNING_DAYS) {
            out.push(finding(
                Level::Warning,
                format!(
                    "the policy in force (version {}) expires on {}: have the roots sign a new one (keycycle policy propose --expires DATE)",
                    state.policy.version,
                    clock::day(e)
                ),
            ));
        }
    }
    let draft = policy::draft(vault, Some(state), &[], at)?;
    if draft.roots != state.policy.roots
        || draft.escrow_threshold != state.policy.escrow_threshold
        || draft.revocation_threshold != state.policy.revocation_threshold
        || draft.policy_threshold != state.policy.policy_threshold
    {
        out.push(finding(
            Level::Warning,
            "the roster or the thresholds were changed but not signed: they have no effect until keycycle policy propose and the roots sign",
        ));
    }
    Ok(out)
}

/// A usable key the signed policy in force does not list: a vault key on
/// this machine only.
pub(super) fn not_in_policy(k: &KeyStatus, state: &policy::State) -> Option<Finding> {
    if k.in_policy != Some(false) || k.revocation.is_some() || k.days_left < 0 {
        return None;
    }
    let next = match &state.pending {
        Some(p) if p.policy.lists(&k.fingerprint) => format!(
            "policy version {} lists it and waits for signatures, {} of {} (keycycle policy status)",
            p.policy.version,
            p.signed_by.len(),
            p.needed
        ),
        _ => "run keycycle policy propose, then the roots sign it (keycycle policy sign)".into(),
    };
    Some(finding(
        Level::Warning,
        format!(
            "the {} key {} is not in the signed policy in force (version {}): it is a vault key on this machine only, for nobody else; {next}",
            k.cycle_label, k.fingerprint, state.policy.version
        ),
    ))
}

/// Changes to a key that its last publish did not carry.
pub(super) fn unpublished_finding(k: &KeyStatus) -> Option<Finding> {
    if k.unpublished.is_empty() {
        return None;
    }
    Some(finding(
        Level::Warning,
        format!(
            "the {} key {}: {} not yet on {}: run keycycle publish {}",
            k.cycle_label,
            k.fingerprint,
            k.unpublished.changes.join(", "),
            k.unpublished.targets.join(", "),
            k.cycle
        ),
    ))
}
