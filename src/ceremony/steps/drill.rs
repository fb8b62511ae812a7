//! Step 3: a root present opens the new key's escrow (the drill).

use super::super::{Cx, Outcome};
use crate::base::error::Result;
use crate::custody;

pub(super) fn run(cx: &mut Cx) -> Result<Outcome> {
    let key = cx.key()?;
    let vault = cx.vault;
    let d = cx.with_identities("to open the new key's escrow for the drill", |ids| {
        custody::drill(vault, &key, ids)
    })?;
    cx.op
        .say("Escrow drill passed: the identity opens the escrow and it matches the key.");
    Ok(Outcome::Done(
        d.share.unwrap_or_else(|| "opened and checked".into()),
    ))
}
