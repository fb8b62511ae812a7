use std::process::ExitCode;

use sequoia_openpgp::types::ReasonForRevocation;

use keycycle::custody::{self, Backend, Identities};
use keycycle::{maintain, Error};

use super::{Ctx, Outcome};
use crate::cli::RotateArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &RotateArgs) -> Outcome {
    let vault = ctx.lock_vault("rotate-subkey")?;
    let key = ctx.find_key(&vault, args.key.get())?;
    let ids = Identities::from_paths(&args.ids.identity)?;
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
    let (rotated, new) = maintain::rotate_subkey(
        &key.cert,
        secret.primary_signer()?,
        ReasonForRevocation::KeySuperseded,
        &args.message,
        ctx.at,
    )?;
    let policy = keycycle::policy::require(&vault, ctx.at)?.policy;
    secret.store(&vault, &key, &rotated, &policy, ctx.at)?;
    vault.audit(
        ctx.at,
        "rotate-subkey",
        serde_json::json!({ "fingerprint": key.state.fingerprint, "new_subkey": new, "message": args.message }),
    )?;
    ui::emit(&format!(
        "New signing subkey {new}; the old one is revoked as superseded.\nRe-export it for CI (keycycle export signing-subkey {}) and publish (keycycle publish {}).\n",
        key.state.cycle, key.state.cycle
    ));
    Ok(ExitCode::SUCCESS)
}
