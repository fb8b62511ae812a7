use std::process::ExitCode;

use keycycle::clock;
use keycycle::escrow::{Identities, Recipient};
use keycycle::lifecycle;
use keycycle::maintain;
use keycycle::schedule::Schedule;
use keycycle::subkey;
use keycycle::vault::{StoredKey, Vault};
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::{AuditCommand, EscrowCommand, ExtendArgs, RevokeArgs, RotateArgs};
use crate::ui;

fn open(
    ctx: &Ctx,
    command: &str,
    key: Option<&str>,
) -> keycycle::Result<(Vault, Schedule, StoredKey)> {
    let vault = ctx.lock_vault(command)?;
    let config = vault.config()?;
    let schedule = Schedule::from_config(&config)?;
    let k = lifecycle::find_key(&vault, key, &schedule, ctx.at)?;
    Ok((vault, schedule, k))
}

/// `--publish`: send the key as it now is; a failure is reported as the
/// command's error (the vault change itself stands).
fn publish_now(ctx: &Ctx, vault: &Vault, fpr: &str, servers: &[String]) -> keycycle::Result<()> {
    let schedule = Schedule::from_config(&vault.config()?)?;
    let key = lifecycle::find_key(vault, Some(fpr), &schedule, ctx.at)?;
    let servers = if servers.is_empty() {
        vault.config()?.publish.keyservers
    } else {
        servers.to_vec()
    };
    let settings = keycycle::publish::Settings::default();
    let mut state = key.state.clone();
    let mut failed = None;
    for (s, r) in servers.iter().zip(keycycle::publish::publish_all(
        &servers, &key.cert, &settings,
    )) {
        if r.ok {
            state.publish.push(keycycle::vault::PublishRecord {
                time: ctx.at,
                target: s.clone(),
            });
            ui::emit(&format!("published to {s}\n"));
        } else if failed.is_none() {
            failed = Some(format!("{s}: {}", r.error));
        }
    }
    vault.save_state(&key, &state)?;
    match failed {
        Some(f) => Err(Error::vault(
            format!("the change is in the vault but publishing failed: {f}"),
            "run `keycycle publish` again when the keyserver is reachable",
        )),
        None => Ok(()),
    }
}

fn recipients(key: &StoredKey) -> keycycle::Result<Vec<Recipient>> {
    key.state
        .escrow_recipients
        .iter()
        .map(|r| Recipient::parse(r))
        .collect()
}

pub fn extend(ctx: &Ctx, args: &ExtendArgs) -> Outcome {
    let (vault, schedule, key) = open(ctx, "extend", args.key.as_deref())?;
    let until = match (&args.cycle, &args.until) {
        (Some(c), None) => schedule.expiry(schedule.resolve(c, ctx.at)?)?,
        (None, Some(d)) => clock::parse_time(d)?,
        _ => {
            return Err(Error::input(
                "say how far to extend",
                "pass --cycle CYCLE or --until DATE",
            ))
        }
    };
    let details =
        serde_json::json!({ "fingerprint": key.state.fingerprint, "until": clock::iso(until) });
    if key.state.expires == until {
        // Already done, e.g. by a run that was killed before it logged it.
        if !lifecycle::audited_with(&vault, "extend", &key.state.fingerprint, |d| {
            d["until"] == details["until"]
        })? {
            vault.audit(ctx.at, "extend", details)?;
        }
        ui::emit(&format!(
            "{} already expires {}: nothing to do.\n",
            key.state.cycle,
            clock::day(until)
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let ids = Identities::from_paths(&args.identity)?;
    let full = subkey::open_escrow(&vault, &key, &ids)?;
    let extended = maintain::extend(&full, until, ctx.at)?;
    let interval = vault.config()?.escrow.ladder_interval_days;
    maintain::store(
        &vault,
        &key,
        &extended,
        &recipients(&key)?,
        ctx.at,
        interval,
        &ids,
    )?;
    vault.audit(ctx.at, "extend", details)?;
    ui::emit(&format!(
        "{} now expires {} (primary and live subkeys); escrow and ladder re-made.\n{}Re-export the signing subkey for CI.\n",
        key.state.cycle,
        clock::day(until),
        if args.publish {
            String::new()
        } else {
            format!("Publish it (keycycle publish {}). ", key.state.cycle)
        }
    ));
    if args.publish {
        publish_now(ctx, &vault, &key.state.fingerprint, &args.keyserver)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn rotate(ctx: &Ctx, args: &RotateArgs) -> Outcome {
    let (vault, _, key) = open(ctx, "rotate-subkey", args.key.as_deref())?;
    let ids = Identities::from_paths(&args.identity)?;
    let full = subkey::open_escrow(&vault, &key, &ids)?;
    let (rotated, new) = maintain::rotate_subkey(&full, &args.message, ctx.at)?;
    let interval = vault.config()?.escrow.ladder_interval_days;
    maintain::store(
        &vault,
        &key,
        &rotated,
        &recipients(&key)?,
        ctx.at,
        interval,
        &ids,
    )?;
    vault.audit(ctx.at, "rotate-subkey", serde_json::json!({ "fingerprint": key.state.fingerprint, "new_subkey": new, "message": args.message }))?;
    ui::emit(&format!(
        "New signing subkey {new}; the old one is revoked as superseded.\nRe-export it for CI (keycycle export signing-subkey {}) and publish (keycycle publish {}).\n",
        key.state.cycle, key.state.cycle
    ));
    Ok(ExitCode::SUCCESS)
}

pub fn revoke(ctx: &Ctx, args: &RevokeArgs) -> Outcome {
    let (vault, _, key) = open(ctx, "revoke", args.key.as_deref())?;
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
    let ids = Identities::from_paths(&args.identity)?;
    let sig = if args.escrowed_certificate {
        // The master is lost: publish what was escrowed at creation. The
        // hard certificate (compromised: voids every signature), or for a
        // lost-but-safe master the newest dated soft rung ("retired") not
        // after now, which keeps the signatures made before its date.
        let bundle = lifecycle::open_bundle(&vault, &key, &ids)?;
        match reason {
            sequoia_openpgp::types::ReasonForRevocation::KeyCompromised => {
                let mut sigs = maintain::signatures(&bundle.revocation)?;
                if sigs.is_empty() {
                    return Err(Error::vault(
                        "the escrowed revocation holds no signature",
                        "restore the key directory from git",
                    ));
                }
                sigs.remove(0)
            }
            sequoia_openpgp::types::ReasonForRevocation::KeyRetired => {
                let rungs = maintain::signatures(&bundle.ladder)?;
                let now = clock::to_system(ctx.at);
                rungs
                    .into_iter()
                    .filter(|s| s.signature_creation_time().is_some_and(|t| t <= now))
                    .max_by_key(|s| s.signature_creation_time())
                    .ok_or_else(|| {
                        Error::input(
                            format!(
                                "no escrowed soft revocation of {} is dated on or before {}",
                                key.state.cycle,
                                clock::day(ctx.at)
                            ),
                            "the first rung is dated a week after the key was made; before that, use --reason compromised",
                        )
                    })?
            }
            _ => {
                return Err(Error::input(
                    format!(
                        "the escrow holds no '{}' revocation",
                        args.reason
                    ),
                    "with --escrowed-certificate use --reason compromised (hard) or --reason retired (soft, dated)",
                ))
            }
        }
    } else {
        let full = subkey::open_escrow(&vault, &key, &ids)?;
        maintain::revoke_with_master(&full, reason, &args.message, args.subkey.as_deref(), ctx.at)?
    };
    let sig_time = sig
        .signature_creation_time()
        .map(clock::from_system)
        .unwrap_or(ctx.at);
    let cert = key.cert.clone().insert_packets(sig)?.0;
    let mut change = keycycle::vault::KeyChange::cert(&cert)?;
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
            "dated": clock::iso(sig_time),
            "subkey": args.subkey,
        }),
    )?;
    if args.publish {
        publish_now(ctx, &vault, &key.state.fingerprint, &args.keyserver)?;
    }
    ui::emit(&format!(
        "Revoked {}{} ({}, dated {}).{}\n",
        key.state.cycle,
        args.subkey
            .as_deref()
            .map(|s| format!(" (subkey {s})"))
            .unwrap_or_default(),
        args.reason,
        clock::day(sig_time),
        if args.publish {
            String::new()
        } else {
            format!(" Publish it now: keycycle publish {}", key.state.cycle)
        }
    ));
    Ok(ExitCode::SUCCESS)
}

pub fn escrow(ctx: &Ctx, cmd: &EscrowCommand) -> Outcome {
    let vault = match cmd {
        EscrowCommand::Rewrap { .. } => ctx.lock_vault("escrow rewrap")?,
        _ => ctx.open_vault()?,
    };
    match cmd {
        EscrowCommand::Verify { key, identity } => {
            let ids = Identities::from_paths(identity)?;
            let keys = match key {
                Some(k) => {
                    let schedule = Schedule::from_config(&vault.config()?)?;
                    vec![lifecycle::find_key(&vault, Some(k), &schedule, ctx.at)?]
                }
                None => vault.keys()?,
            };
            let mut out = String::new();
            let mut drills = Vec::new();
            for k in &keys {
                let d = maintain::drill(&vault, k, &ids)?;
                if let Some(share) = &d.share {
                    out.push_str(&format!(
                        "ok  {} {}: your identity opens {share}; nothing was reconstructed\n",
                        k.state.cycle, k.state.fingerprint
                    ));
                    drills.push(d);
                    continue;
                }
                out.push_str(&format!(
                    "ok  {} {}: your identity opens the escrow; the secret matches the cert; the revocation certificate ({}) and {} ladder rungs are valid for it\n",
                    k.state.cycle, k.state.fingerprint, d.revocation.reason, d.ladder_rungs
                ));
                drills.push(d);
            }
            if ctx.json {
                ui::emit_json(&drills)?;
            } else {
                ui::emit(&out);
            }
        }
        EscrowCommand::Rewrap { identity } => {
            let ids = Identities::from_paths(identity)?;
            let recipients = vault.roster()?.recipients()?;
            if recipients.is_empty() {
                return Err(Error::input(
                    "the roster is empty",
                    "add roots before re-wrapping",
                ));
            }
            let interval = vault.config()?.escrow.ladder_interval_days;
            // Open everything first: a key we cannot open stops the run
            // before anything is rewritten.
            let keys = vault.keys()?;
            let mut opened = Vec::new();
            for k in &keys {
                opened.push(subkey::open_escrow(&vault, k, &ids)?);
            }
            for (k, full) in keys.iter().zip(&opened) {
                let from = k.state.created.max(ctx.at.min(k.state.expires));
                maintain::store(&vault, k, full, &recipients, from, interval, &ids)?;
            }
            vault.audit(
                ctx.at,
                "escrow rewrap",
                serde_json::json!({ "keys": keys.len(), "recipients": recipients.len() }),
            )?;
            ui::emit(&format!(
                "Re-wrapped the escrow of {} key(s) for {} roots.\n",
                keys.len(),
                recipients.len()
            ));
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn audit(ctx: &Ctx, cmd: &AuditCommand) -> Outcome {
    let AuditCommand::Verify = cmd;
    let vault = ctx.open_vault()?;
    let path = vault.root().join(keycycle::vault::AUDIT_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let entries = keycycle::audit::verify(&text)?;
    ui::emit(&format!(
        "audit.log: {} entries, hash chain intact\n",
        entries.len()
    ));
    Ok(ExitCode::SUCCESS)
}
