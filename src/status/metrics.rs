//! The figures `status --format openmetrics` exposes for monitoring: the
//! vault-wide values the report does not carry (the next cycle's key
//! window, the policy's expiry, the last audit entry). Pure: the binary
//! renders them.

use serde::Serialize;

use crate::base::clock::{self, Time};
use crate::base::error::Result;
use crate::policy;
use crate::vault::schedule::Schedule;
use crate::vault::{audit, Vault};

/// The next cycle's key window and whether its key exists.
#[derive(Debug, Clone, Serialize)]
pub struct NextCycle {
    pub cycle: String,
    /// Midnight UTC of the first day its key should be made.
    pub window_start: Time,
    /// Midnight UTC of the day its key should be made by.
    pub window_end: Time,
    /// Whether a trusted key for it is in the vault.
    pub has_key: bool,
}

/// What monitoring reads beside the per-key report.
#[derive(Debug, Clone, Serialize)]
pub struct VaultFigures {
    /// `None` when the schedule does not reach past the current cycle.
    pub next: Option<NextCycle>,
    /// The signed policy's expiry (none: no policy in force, or it has none).
    pub policy_expires: Option<Time>,
    /// The newest audit entry's time (none: an empty or broken log).
    pub last_audit: Option<Time>,
}

/// The vault-wide figures at `at`.
pub fn vault_figures(vault: &Vault, schedule: &Schedule, at: Time) -> Result<VaultFigures> {
    let current = schedule.resolve("current", at)?.clone();
    let state = policy::load(vault, at).ok().flatten();
    let next = match schedule.successor(&current) {
        None => None,
        Some(next) => {
            let plan = schedule.plan(next)?;
            let (trusted, _) = policy::partition(vault, state.as_ref(), vault.keys()?)?;
            Some(NextCycle {
                cycle: next.id.clone(),
                window_start: clock::start_of_day(plan.create_from),
                window_end: clock::start_of_day(plan.create_by),
                has_key: trusted.iter().any(|k| k.state.cycle == next.id),
            })
        }
    };
    let last_audit = audit::verify(&vault.audit_log()?)
        .ok()
        .and_then(|entries| entries.iter().map(|e| e.time).max());
    Ok(VaultFigures {
        next,
        policy_expires: state.and_then(|s| s.policy.expires),
        last_audit,
    })
}

/// Root attestations a key needs: a majority of the roots who can attest.
pub fn attestations_needed(of: usize) -> usize {
    if of == 0 {
        0
    } else {
        of / 2 + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majority_needed() {
        assert_eq!(attestations_needed(0), 0);
        assert_eq!(attestations_needed(1), 1);
        assert_eq!(attestations_needed(2), 2);
        assert_eq!(attestations_needed(3), 2);
        assert_eq!(attestations_needed(4), 3);
    }
}
