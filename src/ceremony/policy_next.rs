//! After the last step: what makes the ceremony's key a vault key for
//! everyone. Version 1 (the vault's first key) is trusted once every other
//! root pins its digest; a later key once the roots sign a policy version
//! that lists it.

use serde::Serialize;

use crate::base::clock::Time;
use crate::base::error::Result;
use crate::policy;
use crate::vault::Vault;

/// Where the ceremony's key stands in the signed policy.
#[derive(Debug, Clone, Serialize)]
pub struct PolicyNext {
    /// Whether the policy in force lists the key.
    pub in_policy: bool,
    /// The version in force.
    pub version: u32,
    /// What the roots do next, as commands.
    pub next: String,
}

/// `None` when the vault has no policy in force (the generate step
/// refuses that case) or no key was made.
pub fn of(vault: &Vault, fingerprint: Option<&str>, at: Time) -> Result<Option<PolicyNext>> {
    let (Some(fpr), Some(state)) = (fingerprint, policy::load(vault, at)?) else {
        return Ok(None);
    };
    let version = state.policy.version;
    let in_policy = state.lists(fpr);
    let next = if in_policy && version == 1 {
        format!(
            "the key is in the vault's first policy (version 1, pinned here as {pin}); every other root records that digest and runs:\n  keycycle policy pin {pin}",
            pin = state.pin
        )
    } else if in_policy {
        format!("the key is in the signed policy in force (version {version})")
    } else {
        match &state.pending {
            Some(p) if p.policy.lists(fpr) => format!(
                "the key is NOT in the signed policy in force (version {version}): it is a vault key on this machine only; version {} lists it and waits for signatures ({} of {}): the roots run\n  keycycle policy sign --with-key THEIR-SECRET-KEY.asc",
                p.policy.version,
                p.signed_by.len(),
                p.needed
            ),
            _ => format!(
                "the key is NOT in the signed policy in force (version {version}): it is a vault key on this machine only, for nobody else, until the roots sign the next version:\n  keycycle policy propose\n  keycycle policy sign --with-key THEIR-SECRET-KEY.asc   (each root; keycycle policy status counts)"
            ),
        }
    };
    Ok(Some(PolicyNext {
        in_policy,
        version,
        next,
    }))
}
