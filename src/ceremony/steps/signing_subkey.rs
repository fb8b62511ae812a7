//! Step 8: hand the signing subkey to CI — only once the previous cycle's
//! releases are done, so that none of them is signed with the new key.

use super::super::{Cx, Outcome};
use crate::base::error::Result;
use crate::custody;
use crate::sign::handoff::{self, Format, Protection};

pub(super) fn run(cx: &mut Cx) -> Result<Outcome> {
    let done = cx.answers.releases_done
        || (cx.op.interactive()
            && cx.op.confirm(
                "--releases-done",
                "Are the previous cycle's releases done (hand the signing subkey to CI now)?",
            )?);
    if !done {
        cx.op.say("The signing subkey stays in escrow until the previous cycle's releases are done; run ceremony again with --releases-done then.");
        return Ok(Outcome::Open);
    }
    let out: std::path::PathBuf = match &cx.answers.subkey_out {
        Some(p) => p.clone(),
        None => cx
            .op
            .input("--subkey-out FILE", "Write the signing subkey for CI to")?
            .into(),
    };
    let key = cx.key()?;
    let vault = cx.vault;
    let secret = cx.with_identities(
        "to open the new key's escrow for its signing subkey",
        |ids| custody::open(vault, &key, ids),
    )?;
    let lint = handoff::write(
        &out,
        secret.cert(),
        cx.at,
        &Format::Armor,
        &Protection::None,
        true,
    )?;
    vault.audit(
        cx.at,
        "export signing-subkey",
        serde_json::json!({ "fingerprint": key.state.fingerprint, "subkey": lint.signing_subkey, "protection": "none" }),
    )?;
    cx.op.say(&format!("Signing subkey {} written to {} (mode 0600, primary as a stub). Move it to the CI secret store, then shred it.", lint.signing_subkey, crate::base::text::path(&out)));
    Ok(Outcome::Done(out.display().to_string()))
}
