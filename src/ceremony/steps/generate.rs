//! Step 1: the roster is confirmed by the people present, then the key is
//! generated and escrowed — or the key an interrupted run made is adopted.

use super::super::{Cx, Outcome};
use crate::error::{Error, Result};
use crate::generate::{self, GenerateRequest};

pub(super) fn run(cx: &mut Cx) -> Result<Outcome> {
    let roster = cx.vault.roster()?;
    if roster.members.is_empty() {
        return Err(Error::input(
            "the roster is empty",
            "add the roots first: keycycle roster add",
        ));
    }
    cx.op
        .say(&format!("Roots on the roster ({}):", roster.members.len()));
    for m in &roster.members {
        cx.op.say(&format!("  {} <{}>", m.name, m.email));
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
    let fpr = match cx.vault.keys_of(&cx.cycle.id)?.pop() {
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
