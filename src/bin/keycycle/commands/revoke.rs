use std::process::ExitCode;

use keycycle::custody;
use keycycle::vault::{KeyChange, StoredKey, Vault};
use keycycle::{base::clock, cert, cert::change, policy, Error};

use super::{Ctx, Outcome};
use crate::cli::RevokeArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &RevokeArgs) -> Outcome {
    let vault = ctx.lock_vault("revoke")?;
    let key = which_key(ctx, &vault, args)?;
    let reason = change::reason(&args.reason)?;
    if !args.yes {
        confirm(ctx, &key, args)?;
    }
    let ids = args.ids.load()?;
    let (sig, with) = if args.escrowed_certificate {
        // The master is lost: publish what was escrowed at creation.
        let sig = custody::escrowed_revocation(&vault, &key, &ids, reason, ctx.at)?;
        (sig, "escrowed certificate".to_string())
    } else {
        let primary = custody::primary(&vault, &key, &ids)?;
        let sig = change::revoke_with_master(
            &key.cert,
            &mut primary.primary_signer()?,
            reason,
            &args.message,
            args.subkey.as_deref(),
            ctx.at,
        )?;
        (sig, primary.location().to_string())
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

/// The key named by KEY; without it, asked (never a default: revoking the
/// wrong key cannot be taken back once published).
fn which_key(ctx: &Ctx, vault: &Vault, args: &RevokeArgs) -> keycycle::Result<StoredKey> {
    if let Some(k) = &args.key {
        return ctx.find_key(vault, Some(k));
    }
    let items: Vec<(String, String)> = policy::trusted_keys(vault, ctx.at)?
        .into_iter()
        .filter(|k| k.state.state != "revoked")
        .map(|k| {
            let label = format!(
                "{} {}, expires {}",
                cert::label(&k.cert),
                k.state.state,
                clock::day(k.state.expires)
            );
            (label, k.state.fingerprint)
        })
        .collect();
    if items.is_empty() && ui::interactive(ctx.batch) {
        return Err(Error::input(
            "the vault holds no key to revoke",
            "keycycle status lists the keys and their states",
        ));
    }
    let fpr = ui::select(
        ctx.batch,
        "KEY (the fingerprint, key id or cycle of the key to revoke)",
        "Which key do you want to revoke?",
        &items,
    )?;
    ctx.find_key(vault, Some(&fpr))
}

/// What revoking does, for the prompt: a hard reason voids every
/// signature the key (or subkey) ever made, a soft one only later ones.
fn consequence(key: &StoredKey, args: &RevokeArgs, at: keycycle::base::clock::Time) -> String {
    let what = match &args.subkey {
        Some(s) => format!("the subkey {s} of {}", cert::label(&key.cert)),
        None => cert::label(&key.cert),
    };
    let hard = matches!(args.reason.as_str(), "compromised" | "unspecified");
    let effect = if hard {
        "every signature it ever made stops verifying, the releases already signed included"
            .to_string()
    } else if args.escrowed_certificate {
        "signatures it made before the escrowed revocation's date stay valid, none after"
            .to_string()
    } else {
        format!(
            "signatures it made before {} stay valid, none after",
            clock::day(at)
        )
    };
    format!(
        "Revoking {what} as {}: {effect}. Once published, a revocation cannot be taken back.",
        args.reason
    )
}

/// The person types the key's last 8 hex digits; anything else changes
/// nothing.
fn confirm(ctx: &Ctx, key: &StoredKey, args: &RevokeArgs) -> keycycle::Result<()> {
    let short = &key.state.fingerprint[32..];
    if ui::interactive(ctx.batch) {
        ui::say(&consequence(key, args, ctx.at));
    }
    let typed = ui::input(
        ctx.batch,
        "--yes",
        &format!("Type the last 8 hex digits of its fingerprint ({short}) to revoke it"),
    )?;
    if typed.trim().to_uppercase().replace(' ', "") != short {
        return Err(Error::input(
            "not confirmed: nothing was changed",
            format!("to revoke it, type {short} at the prompt, or pass --yes"),
        ));
    }
    Ok(())
}
