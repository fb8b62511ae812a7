//! Step 1: the roster is confirmed by the people present, then the key is
//! generated and escrowed — or the key an interrupted run made is adopted.

use super::super::{Cx, Outcome};
use crate::base::error::{Error, Result};
use crate::ceremony::generate::{self, GenerateRequest};

pub(super) fn run(cx: &mut Cx) -> Result<Outcome> {
    let signed = crate::policy::load(cx.vault, cx.at)?;
    let (roots, source) = match &signed {
        Some(st) => (
            st.policy.roots.clone(),
            format!(
                "the signed policy, version {} ({}; version 1 pinned here as {})",
                st.policy.version, st.digest, st.pin
            ),
        ),
        None => (
            crate::policy::draft(cx.vault, None, &[], cx.at)?.roots,
            "the roster: it becomes the vault's first policy (version 1) with this key".into(),
        ),
    };
    if roots.is_empty() {
        return Err(Error::input(
            "the roster is empty",
            "add the roots first: keycycle roster add",
        ));
    }
    cx.op.say(&format!(
        "The key will be escrowed to these {} roots, from {source}:",
        roots.len()
    ));
    for r in &roots {
        cx.op.say(&format!(
            "  {} <{}>  {}",
            crate::base::text::shown(&r.name),
            crate::base::text::shown(&r.email),
            crate::base::text::shown(&r.escrow_recipient)
        ));
    }
    if !cx.answers.confirm_roster
        && !cx.op.confirm(
            "--confirm-roster",
            "Is this roster correct, with the roots needed present?",
        )?
    {
        return Err(Error::input(
            "the roster was not confirmed",
            "fix it with keycycle roster add/remove, then run ceremony again",
        ));
    }
    // Adopt a key made for this cycle by an earlier, interrupted run.
    for k in cx.vault.keys_of(&cx.cycle.id)? {
        if cx.trusted_of(&cx.cycle.id)?.iter().all(|t| t.dir != k.dir) {
            // One line, whatever the directory's name holds.
            let e = crate::policy::untrusted(&k).to_string();
            cx.op
                .say(&format!("warning: {}", crate::base::text::line(&e)));
        }
    }
    let fpr = match cx.trusted_of(&cx.cycle.id)?.pop() {
        Some(k) => k.state.fingerprint,
        None => {
            generate::generate(
                cx.vault,
                &GenerateRequest {
                    cycle: cx.cycle.id.clone(),
                    suite: None,
                    extra_recipients: Vec::new(),
                    encryption_subkey: false,
                    force: false,
                    at: cx.at,
                },
            )?
            .fingerprint
        }
    };
    cx.record.fingerprint = Some(fpr.clone());
    Ok(Outcome::Done(fpr))
}
