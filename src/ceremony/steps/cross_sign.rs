//! Step 4: the previous cycle's key certifies the new key (skipped when
//! the vault holds no key for the previous cycle).

use super::super::{Cx, Outcome};
use crate::base::error::Result;
use crate::cert;
use crate::custody;
use crate::policy::attest;

pub(super) fn run(cx: &mut Cx) -> Result<Outcome> {
    let key = cx.key()?;
    let prev = match cx.schedule.predecessor(cx.cycle) {
        Some(p) => cx.trusted_of(&p.id)?.pop(),
        None => None,
    };
    // A key never certifies itself as its own predecessor.
    let prev = prev.filter(|p| p.state.fingerprint != key.state.fingerprint);
    let Some(prev) = prev else {
        return Ok(Outcome::Done(
            "skipped: the previous cycle's key is not in the vault".into(),
        ));
    };
    // A revoked, expired or not yet valid predecessor vouches for nothing:
    // its certification would not count, so none is made.
    if let Some(why) = cert::cannot_certify(&prev.cert, crate::base::clock::to_system(cx.at)) {
        return Ok(Outcome::Done(format!(
            "skipped: {} cannot certify: {why}",
            cert::label(&prev.cert)
        )));
    }
    let vault = cx.vault;
    let purpose = format!(
        "to open the escrow of {}, the previous cycle's key, and cross-sign",
        cert::label(&prev.cert)
    );
    let old = cx.with_identities(&purpose, |ids| custody::primary(vault, &prev, ids))?;
    let certified = attest::certify_all(&mut old.primary_signer()?, &key.cert, cx.at)?;
    attest::save_cert(vault, &key, &certified)?;
    vault.audit(
        cx.at,
        "cross-sign",
        serde_json::json!({ "from": prev.state.fingerprint, "to": key.state.fingerprint }),
    )?;
    cx.op
        .say(&format!("Cross-signed by {}.", cert::label(&prev.cert)));
    Ok(Outcome::Done(prev.state.fingerprint))
}
