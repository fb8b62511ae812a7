use std::process::ExitCode;

use keycycle::custody;
use keycycle::vault::KeyChange;
use keycycle::{clock, maintain, Error};

use super::{Ctx, Outcome};
use crate::cli::RevokeArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &RevokeArgs) -> Outcome {
    let vault = ctx.lock_vault("revoke")?;
    let key = ctx.find_key(&vault, args.key.get())?;
    let reason = maintain::reason(&args.reason)?;
    if !args.yes {
        let short = &key.state.fingerprint[32..];
        let typed = ui::input(
            ctx.batch,
            "--yes",
            &format!(
                "Revoke {} ({})? Type its last 8 hex digits to confirm",
                key.state.cycle, short
            ),
        )?;
        if typed.trim().to_uppercase().replace(' ', "") != short {
            return Err(Error::input(
                "not confirmed",
                "type the key's last 8 hex digits, or pass --yes",
            ));
        }
    }
    let ids = args.ids.load()?;
    let (sig, with) = if args.escrowed_certificate {
        // The master is lost: publish what was escrowed at creation.
        let sig = custody::escrowed_revocation(&vault, &key, &ids, reason, ctx.at)?;
        (sig, "escrowed certificate".to_string())
    } else {
        let primary = custody::primary(&vault, &key, &ids)?;
        let sig = maintain::revoke_with_master(
            &key.cert,
            &mut primary.primary_signer()?,
            reason,
            &args.message,
            args.subkey.as_deref(),
            ctx.at,
        )?;
        (sig, primary.location())
    };
    if args.subkey.is_none() {
        // What is published must revoke the key for sqv and verify too.
        custody::must_take_effect(&key, &sig, ctx.at)?;
    }
    let sig_time = sig
        .signature_creation_time()
        .map(clock::from_system)
        .unwrap_or(ctx.at);
    let cert = key.cert.clone().insert_packets(sig)?.0;
    let mut change = KeyChange::cert(&cert)?;
    if args.subkey.is_none() {
        let mut state = key.state.clone();
        state.state = "revoked".into();
        change = change.with_state(&state);
    }
    vault.update_key(&key, change)?;
    vault.audit(
        ctx.at,
        "revoke",
        serde_json::json!({
            "fingerprint": key.state.fingerprint,
            "reason": args.reason,
            "escrowed_certificate": args.escrowed_certificate,
            "with": with,
            "dated": clock::iso(sig_time),
            "subkey": args.subkey,
        }),
    )?;
    ctx.publish_after(&vault, &key.state.fingerprint, &args.publish)?;
    ui::emit(&format!(
        "Revoked {}{} ({}, dated {}), with the {with}.{}\n",
        key.state.cycle,
        args.subkey
            .as_deref()
            .map(|s| format!(" (subkey {s})"))
            .unwrap_or_default(),
        args.reason,
        clock::day(sig_time),
        if args.publish.publish {
            String::new()
        } else {
            format!(" Publish it now: keycycle publish {}", key.state.cycle)
        }
    ));
    Ok(ExitCode::SUCCESS)
}
