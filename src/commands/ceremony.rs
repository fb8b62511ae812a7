//! The guided key ceremony. Each step is recorded in the vault when it
//! finishes; running `ceremony` again resumes at the first open step.

use std::process::ExitCode;

use keycycle::ceremony::{Record, STEPS};
use keycycle::certinfo::{self, Known};
use keycycle::clock;
use keycycle::escrow::Identities;
use keycycle::lifecycle::{self, GenerateRequest};
use keycycle::maintain;
use keycycle::publish::{self, Settings};
use keycycle::schedule::Schedule;
use keycycle::subkey::{self, Format, Protection};
use keycycle::vault::{atomic, PublishRecord, StoredKey, Vault};
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::CeremonyArgs;
use crate::ui;

/// Progress for the operator: stderr, so `--json` output stays clean.
fn say(_ctx: &Ctx, text: &str) {
    eprintln!("{text}");
}

fn key_of(vault: &Vault, fpr: &str) -> keycycle::Result<StoredKey> {
    vault
        .keys()?
        .into_iter()
        .find(|k| k.state.fingerprint == fpr)
        .ok_or_else(|| Error::vault(format!("the ceremony's key {fpr} is not in the vault"), "restore the key directory from git, or delete ceremonies/<cycle>.toml to start over"))
}

fn identities(
    ctx: &Ctx,
    args: &CeremonyArgs,
    ids: &mut Option<Identities>,
) -> keycycle::Result<()> {
    if ids.is_some() {
        return Ok(());
    }
    let paths: Vec<std::path::PathBuf> = if args.identity.is_empty() {
        vec![ui::input(
            ctx.batch,
            "--identity FILE",
            "Path to the escrow identity of a root present (age identity or SSH key)",
        )?
        .into()]
    } else {
        args.identity.clone()
    };
    *ids = Some(Identities::from_paths(&paths)?);
    Ok(())
}

pub fn run(ctx: &Ctx, args: &CeremonyArgs) -> Outcome {
    let vault = ctx.lock_vault("ceremony")?;
    let config = vault.config()?;
    let schedule = Schedule::from_config(&config)?;

    // Step 0: which cycle.
    let cycle = match &args.cycle {
        Some(c) => schedule.resolve(c, ctx.at)?.clone(),
        None => {
            let items: Vec<(String, String)> = ["next", "current"]
                .iter()
                .filter_map(|w| {
                    let c = schedule.resolve(w, ctx.at).ok()?;
                    let exp = schedule.expiry(c).ok()?;
                    Some((
                        format!("{w}: {} (key expires {})", c.label(), clock::day(exp)),
                        c.id.clone(),
                    ))
                })
                .collect();
            let id = ui::select(
                ctx.batch,
                "--cycle CYCLE",
                "Which cycle is the key for?",
                &items,
            )?;
            schedule.resolve(&id, ctx.at)?.clone()
        }
    };
    let mut rec = Record::load(&vault, &cycle.id)?;
    if let Some(step) = rec.next_step() {
        if !rec.done.is_empty() {
            say(
                ctx,
                &format!("Resuming the {} ceremony at step '{step}'.", cycle.label()),
            );
        }
    }

    let mut ids: Option<Identities> = None;
    let mut request: Option<String> = None;
    for &step in STEPS {
        if rec.is_done(step) {
            continue;
        }
        match step {
            "generate" => {
                let roster = vault.roster()?;
                if roster.members.is_empty() {
                    return Err(Error::input(
                        "the roster is empty",
                        "add the roots first: keycycle roster add",
                    ));
                }
                say(
                    ctx,
                    &format!("Roots on the roster ({}):", roster.members.len()),
                );
                for m in &roster.members {
                    say(ctx, &format!("  {} <{}>", m.name, m.email));
                }
                if !args.confirm_roster
                    && !ui::confirm(
                        ctx.batch,
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
                let existing = vault
                    .keys()?
                    .into_iter()
                    .filter(|k| k.state.cycle == cycle.id)
                    .last();
                let fpr = match existing {
                    Some(k) => k.state.fingerprint,
                    None => {
                        let r = lifecycle::generate(
                            &vault,
                            &GenerateRequest {
                                cycle: cycle.id.clone(),
                                suite: None,
                                extra_recipients: Vec::new(),
                                encryption_subkey: false,
                                force: false,
                                at: ctx.at,
                            },
                        )?;
                        r.fingerprint
                    }
                };
                rec.fingerprint = Some(fpr.clone());
                rec.finish(&vault, step, fpr)?;
            }
            "fingerprint" => {
                let key = key_of(&vault, rec.fingerprint.as_deref().unwrap_or_default())?;
                say(ctx, &format!(
                    "\n{}\n      Key fingerprint = {}\nRead it aloud to the roots now; they will compare it when they attest.",
                    certinfo::primary_uid(&key.cert),
                    certinfo::grouped(&key.cert.fingerprint())
                ));
                if !args.fingerprint_read
                    && !ui::confirm(
                        ctx.batch,
                        "--fingerprint-read",
                        "Has the fingerprint been read aloud?",
                    )?
                {
                    return Err(Error::input(
                        "the fingerprint was not read aloud",
                        "read it, then run ceremony again",
                    ));
                }
                rec.finish(&vault, step, "read aloud")?;
            }
            "drill" => {
                identities(ctx, args, &mut ids)?;
                let key = key_of(&vault, rec.fingerprint.as_deref().unwrap_or_default())?;
                let d = maintain::drill(&vault, &key, ids.as_ref().expect("loaded"))?;
                say(
                    ctx,
                    "Escrow drill passed: the identity opens the escrow and it matches the key.",
                );
                rec.finish(
                    &vault,
                    step,
                    d.share.unwrap_or_else(|| "opened and checked".into()),
                )?;
            }
            "cross-sign" => {
                let key = key_of(&vault, rec.fingerprint.as_deref().unwrap_or_default())?;
                let prev = schedule.predecessor(&cycle).and_then(|p| {
                    vault
                        .keys()
                        .ok()?
                        .into_iter()
                        .filter(|k| k.state.cycle == p.id)
                        .last()
                });
                match prev {
                    None => rec.finish(
                        &vault,
                        step,
                        "skipped: the previous cycle's key is not in the vault",
                    )?,
                    Some(prev) => {
                        identities(ctx, args, &mut ids)?;
                        let old =
                            subkey::open_escrow(&vault, &prev, ids.as_ref().expect("loaded"))?;
                        let mut signer = keycycle::keygen::primary_signer(&old)?;
                        let certified =
                            keycycle::attest::certify_all(&mut signer, &key.cert, ctx.at)?;
                        keycycle::attest::save_cert(&vault, &key, &certified)?;
                        vault.audit(ctx.at, "cross-sign", serde_json::json!({ "from": prev.state.fingerprint, "to": key.state.fingerprint }))?;
                        say(
                            ctx,
                            &format!("Cross-signed by {}.", certinfo::label(&prev.cert)),
                        );
                        rec.finish(&vault, step, prev.state.fingerprint.clone())?;
                    }
                }
            }
            "export-public" => {
                let key = key_of(&vault, rec.fingerprint.as_deref().unwrap_or_default())?;
                let dir = args
                    .exports
                    .clone()
                    .unwrap_or_else(|| vault.root().join("exports"));
                atomic::create_dir(&dir)?;
                let base = format!("0x{}", key.state.fingerprint.to_lowercase());
                let mut known = Known::default();
                for k in vault.keys()? {
                    known.add(&k.cert);
                }
                atomic::write(
                    &dir.join(format!("{base}.asc")),
                    &lifecycle::export_public(&key)?,
                    atomic::PUBLIC_MODE,
                )?;
                atomic::write(
                    &dir.join(format!("{base}.txt")),
                    certinfo::releases_text(&key.cert, ctx.at, &known)?.as_bytes(),
                    atomic::PUBLIC_MODE,
                )?;
                say(
                    ctx,
                    &format!(
                        "Public key written to {}/{base}.asc and .txt (openstack/releases format).",
                        dir.display()
                    ),
                );
                rec.finish(&vault, step, dir.display().to_string())?;
            }
            "publish" => {
                if args.no_publish {
                    say(
                        ctx,
                        "Not publishing now (--no-publish); the step stays open.",
                    );
                    continue;
                }
                let servers = if args.keyserver.is_empty() {
                    config.publish.keyservers.clone()
                } else {
                    args.keyserver.clone()
                };
                if args.keyserver.is_empty()
                    && !ctx.batch
                    && ui::interactive(ctx.batch)
                    && !ui::confirm(
                        ctx.batch,
                        "--keyserver URL",
                        &format!("Publish to {}?", servers.join(", ")),
                    )?
                {
                    say(ctx, "Not publishing now; the step stays open.");
                    continue;
                }
                let key = key_of(&vault, rec.fingerprint.as_deref().unwrap_or_default())?;
                let settings = Settings {
                    timeout: std::time::Duration::from_secs(args.timeout),
                    ..Settings::default()
                };
                let mut state = key.state.clone();
                for (s, r) in servers
                    .iter()
                    .zip(publish::publish_all(&servers, &key.cert, &settings))
                {
                    if !r.ok {
                        return Err(Error::vault(
                            format!("{s}: {}", r.error),
                            "check the keyserver, then run ceremony again: it resumes here",
                        ));
                    }
                    state.publish.push(PublishRecord {
                        time: ctx.at,
                        target: s.clone(),
                    });
                    say(
                        ctx,
                        &format!("Published to {s}; fetched back with every certification."),
                    );
                }
                vault.save_state(&key, &state)?;
                vault.audit(
                    ctx.at,
                    "publish",
                    serde_json::json!({ "fingerprint": key.state.fingerprint, "servers": servers }),
                )?;
                rec.finish(&vault, step, servers.join(" "))?;
            }
            "announcement" => {
                if !rec.is_done("publish") {
                    say(
                        ctx,
                        "The announcement waits until the key is published; the step stays open.",
                    );
                    continue;
                }
                identities(ctx, args, &mut ids)?;
                let key = key_of(&vault, rec.fingerprint.as_deref().unwrap_or_default())?;
                let dir = args
                    .exports
                    .clone()
                    .unwrap_or_else(|| vault.root().join("exports"));
                let (path, by) = super::announce::ceremony_step(
                    &vault,
                    &schedule,
                    &key,
                    ids.as_ref().expect("loaded"),
                    &dir,
                    ctx.at,
                )?;
                say(ctx, &format!("Announcement written to {}, signed by {by}: post it to the mailing list (after the attestation week, `keycycle announce {} -o …` lists the roots' certifications).", path.display(), cycle.id));
                rec.finish(&vault, step, path.display().to_string())?;
            }
            "signing-subkey" => {
                let done = args.releases_done
                    || (!ctx.batch
                        && ui::interactive(ctx.batch)
                        && ui::confirm(ctx.batch, "--releases-done", "Are the previous cycle's releases done (hand the signing subkey to CI now)?")?);
                if !done {
                    say(ctx, "The signing subkey stays in escrow until the previous cycle's releases are done; run ceremony again with --releases-done then.");
                    continue;
                }
                let out = match &args.subkey_out {
                    Some(p) => p.clone(),
                    None => ui::input(
                        ctx.batch,
                        "--subkey-out FILE",
                        "Write the signing subkey for CI to",
                    )?
                    .into(),
                };
                identities(ctx, args, &mut ids)?;
                let key = key_of(&vault, rec.fingerprint.as_deref().unwrap_or_default())?;
                let full = subkey::open_escrow(&vault, &key, ids.as_ref().expect("loaded"))?;
                let (bytes, lint) =
                    subkey::render(&full, ctx.at, &Format::Armor, &Protection::None)?;
                atomic::write(&out, &bytes, atomic::SECRET_MODE)?;
                let written = std::fs::read(&out).map_err(|e| Error::io(&out, e))?;
                if let Err(e) = subkey::relint(
                    &written,
                    &bytes,
                    &full,
                    ctx.at,
                    &Format::Armor,
                    &Protection::None,
                ) {
                    let _ = std::fs::remove_file(&out);
                    return Err(e);
                }
                vault.audit(ctx.at, "export signing-subkey", serde_json::json!({ "fingerprint": key.state.fingerprint, "subkey": lint.signing_subkey, "protection": "none" }))?;
                say(ctx, &format!("Signing subkey {} written to {} (mode 0600, primary as a stub). Move it to the CI secret store, then shred it.", lint.signing_subkey, out.display()));
                rec.finish(&vault, step, out.display().to_string())?;
            }
            "attestation-request" => {
                let key = key_of(&vault, rec.fingerprint.as_deref().unwrap_or_default())?;
                let fpr = &key.state.fingerprint;
                request = Some(format!(
                    "\nAttestation request — {}\n\n  {}\n  Key fingerprint = {}\n\nCompare the fingerprint with the one read aloud, then either\n  gpg --recv-keys {fpr}   (or import 0x{}.txt)\n  gpg --quick-sign-key {fpr}\n  gpg --armor --export {fpr} > certified.asc\nor\n  keycycle certify 0x{}.txt --with-key YOUR-SECRET-KEY.asc --fingerprint \"{}\" -o certified.asc\nand send certified.asc back (or gpg --send-keys {fpr}); the ceremony root runs\n  keycycle attestations import certified.asc   /   keycycle attestations fetch\n",
                    cycle.label(),
                    certinfo::primary_uid(&key.cert),
                    certinfo::grouped(&key.cert.fingerprint()),
                    fpr.to_lowercase(),
                    fpr.to_lowercase(),
                    certinfo::grouped(&key.cert.fingerprint()),
                ));
                rec.finish(&vault, step, "printed")?;
            }
            _ => unreachable!("every step is handled"),
        }
    }
    let open: Vec<&str> = STEPS.iter().copied().filter(|s| !rec.is_done(s)).collect();
    if ctx.json {
        ui::emit_json(&serde_json::json!({
            "cycle": cycle.id,
            "fingerprint": rec.fingerprint,
            "done": rec.done,
            "open": open,
            "attestation_request": request,
        }))?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(r) = &request {
        ui::emit(r);
    }
    if open.is_empty() {
        say(
            ctx,
            &format!("\nThe {} ceremony is complete.", cycle.label()),
        );
    } else {
        say(
            ctx,
            &format!(
                "\nOpen steps: {}. Run `keycycle ceremony --cycle {}` again to resume.",
                open.join(", "),
                cycle.id
            ),
        );
    }
    Ok(ExitCode::SUCCESS)
}
