//! Step 7: the key transition announcement, cleartext-signed by the
//! previous and the new key, into the exports directory — once the key is
//! published.

use super::super::{Cx, Outcome, Step};
use crate::publish::announce;
use crate::base::error::Result;
use crate::base::fs::atomic;

pub(super) fn run(cx: &mut Cx) -> Result<Outcome> {
    if !cx.record.is_done(Step::Publish) {
        cx.op
            .say("The announcement waits until the key is published; the step stays open.");
        return Ok(Outcome::Open);
    }
    let key = cx.key()?;
    let vault = cx.vault;
    let (config, schedule, at) = (cx.config, cx.schedule, cx.at);
    let facts = announce::facts(vault, schedule, config, &key, at)?;
    let signed = cx.with_identities("to open the keys that sign the announcement", |ids| {
        announce::signed(vault, config, &facts, ids, at)
    })?;
    let dir = cx
        .answers
        .exports
        .clone()
        .unwrap_or_else(|| vault.root().join("exports"));
    // In the vault (the default), not through a link.
    crate::base::fs::fsx::check_dirs(vault.root(), &dir)?;
    atomic::create_dir(&dir)?;
    let path = dir.join(format!("announce-{}.txt", facts.cycle));
    atomic::write(&path, &signed, atomic::PUBLIC_MODE)?;
    vault.audit(
        at,
        "announce",
        serde_json::json!({
            "fingerprint": facts.key.name.fingerprint,
            "signers": facts.signers,
            "output": path.display().to_string(),
        }),
    )?;
    cx.op.say(&format!(
        "Announcement written to {}, signed by {}: post it to the mailing list (after the attestation week, `keycycle announce {} -o …` lists the roots' certifications).",
        crate::base::text::path(&path),
        announce::signer_names(&facts),
        cx.cycle.id
    ));
    Ok(Outcome::Done(path.display().to_string()))
}
