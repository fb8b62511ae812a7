//! A freshly generated cycle key's primary, opened while it is only here,
//! in memory, to sign its own revocations: the hard revocation and the
//! ladder of soft ones. Custody then escrows all of it.

use openpgp::types::ReasonForRevocation;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::error::Result;
use crate::keygen::{self, CycleKey, KeySpec, HARD_REVOCATION_MESSAGE};

/// `cert` (just generated for `spec`) with the revocations its primary
/// makes now: the hard revocation and the ladder.
pub fn with_revocations(cert: Cert, spec: &KeySpec) -> Result<CycleKey> {
    let mut signer = cert
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()?
        .into_keypair()?;
    let revocation = keygen::revoke(
        &mut signer,
        &cert,
        ReasonForRevocation::KeyCompromised,
        HARD_REVOCATION_MESSAGE,
        spec.created,
    )?;
    let ladder = keygen::ladder(
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
