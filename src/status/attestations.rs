//! Attestations: which roots certified a key.

use openpgp::Cert;
use sequoia_openpgp as openpgp;

use super::Attestations;
use crate::base::clock::Time;
use crate::base::error::Result;
use crate::cert;
use crate::policy;
use crate::vault::Vault;

/// Whether `issuer` made a certification of `cert` that counts at `at`.
fn certified_by(cert: &Cert, issuer: &Cert, at: Time) -> bool {
    cert::certified_by(cert, issuer, at).is_ok()
}

/// Attestations by the roots of the signed policy in force with an
/// OpenPGP fingerprint (never the draft roster): each counts when their
/// certificate in `roster/` (checked against its name) certified the key;
/// all of them make the total, their certificate there or not.
pub(super) fn attestations(
    vault: &Vault,
    signed: Option<&policy::State>,
    cert: &Cert,
    at: Time,
) -> Result<Attestations> {
    let mut by = Vec::new();
    let mut missing = Vec::new();
    let mut of = 0;
    for (name, root) in crate::policy::attest::policy_roots(vault, signed)? {
        of += 1;
        if root.is_some_and(|r| certified_by(cert, &r, at)) {
            by.push(name);
        } else {
            missing.push(name);
        }
    }
    let mut draft = Vec::new();
    for (_, name, root) in crate::policy::attest::draft_roots(vault, signed)? {
        if root.is_some_and(|r| certified_by(cert, &r, at)) {
            draft.push(name);
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
