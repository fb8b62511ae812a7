use std::process::ExitCode;

use sequoia_openpgp::types::ReasonForRevocation;

use keycycle::custody::{self, Backend, KeyHome};
use keycycle::{cert::change, Error};

use super::{Ctx, Outcome};
use crate::cli::{RotateArgs, RotateReason};
use crate::ui;

/// What each reason does to the old subkey's signatures, for people.
fn effect(reason: RotateReason) -> &'static str {
    match reason {
        RotateReason::Compromised => {
            "revoked as compromised: every signature it ever made is now void, including those made before today"
        }
        RotateReason::Superseded => {
            "revoked as superseded: signatures it made before now stay valid (so would a backdated one made by whoever holds it)"
        }
    }
}

fn name(reason: RotateReason) -> &'static str {
    match reason {
        RotateReason::Compromised => "compromised",
        RotateReason::Superseded => "superseded",
    }
}

/// The reason from `--reason`, or asked at a terminal with what each does.
fn reason(ctx: &Ctx, args: &RotateArgs) -> keycycle::Result<RotateReason> {
    if let Some(r) = args.reason {
        return Ok(r);
    }
    if !ui::interactive(ctx.batch) {
        return Err(Error::input(
            "rotate-subkey needs --reason (there is no default): compromised or superseded",
            "pass --reason compromised if the subkey may be exposed (voids every signature it made), or --reason superseded (keeps the signatures made before now)",
        ));
    }
    let all = [RotateReason::Compromised, RotateReason::Superseded];
    let items = all.map(|r| (format!("{}: {}", name(r), effect(r)), name(r).to_string()));
    let picked = ui::select(
        ctx.batch,
        "--reason",
        "Why is the old signing subkey revoked? (compromised if it may be exposed)",
        &items,
    )?;
    Ok(all
        .into_iter()
        .find(|r| name(*r) == picked)
        .unwrap_or(RotateReason::Compromised))
}

pub fn run(ctx: &Ctx, args: &RotateArgs) -> Outcome {
    let why = reason(ctx, args)?;
    let vault = ctx.lock_vault("rotate-subkey")?;
    let key = ctx.find_key(&vault, args.key.get())?;
    let ids = args.ids.load()?;
    let cards = custody::card_records(&key);
    if ids.is_empty() && !cards.is_empty() {
        return Err(Error::input(
            format!(
                "rotate-subkey needs the escrow even with the primary of {} on OpenPGP card {}: the new signing subkey's secret is escrowed with the key, and only the opened escrow can re-seal it",
                key.state.cycle,
                custody::card_idents(&cards)
            ),
            "pass --identity FILE (your escrow identity); the escrow's copy of the primary signs",
        ));
    }
    let secret = custody::open(&vault, &key, &ids)?;
    let (rotated, new) = change::rotate_subkey(
        &key.cert,
        secret.primary_signer()?,
        match why {
            RotateReason::Compromised => ReasonForRevocation::KeyCompromised,
            RotateReason::Superseded => ReasonForRevocation::KeySuperseded,
        },
        &args.message,
        ctx.at,
    )?;
    let policy = keycycle::policy::require_for_sealing(&vault, ctx.at)?.policy;
    secret.store(&KeyHome::new(&vault, &key, &policy, ctx.at), &rotated)?;
    vault.audit(
        ctx.at,
        "rotate-subkey",
        serde_json::json!({ "fingerprint": key.state.fingerprint, "new_subkey": new, "reason": name(why), "message": args.message }),
    )?;
    ui::emit(&format!(
        "New signing subkey {new}; the old one is {}.\nRe-export it for CI (keycycle export signing-subkey {}) and publish (keycycle publish {}).\n",
        effect(why),
        key.state.cycle,
        key.state.cycle
    ));
    Ok(ExitCode::SUCCESS)
}
