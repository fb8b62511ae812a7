use std::process::ExitCode;

use sequoia_openpgp as openpgp;

use keycycle::attest::{self, ImportReport};
use keycycle::certinfo;
use keycycle::escrow::Identities;
use keycycle::keygen;
use keycycle::lifecycle;
use keycycle::publish::{self, Settings};
use keycycle::schedule::Schedule;
use keycycle::subkey;
use keycycle::vault::atomic;
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::{AttestationsCommand, CertifyArgs, CrossSignArgs};
use crate::ui;

pub fn cross_sign(ctx: &Ctx, args: &CrossSignArgs) -> Outcome {
    let vault = ctx.lock_vault("cross-sign")?;
    let schedule = Schedule::from_config(&vault.config()?)?;
    let old = lifecycle::find_key(&vault, Some(&args.from), &schedule, ctx.at)?;
    let new = lifecycle::find_key(&vault, Some(&args.to), &schedule, ctx.at)?;
    if old.state.fingerprint == new.state.fingerprint {
        return Err(Error::input(
            "--from and --to name the same key",
            "--from is the previous cycle's key",
        ));
    }
    let old_full = subkey::open_escrow(&vault, &old, &Identities::from_paths(&args.identity)?)?;
    let mut signer = keygen::primary_signer(&old_full)?;
    let certified = attest::certify_all(&mut signer, &new.cert, ctx.at)?;
    attest::save_cert(&vault, &new, &certified)?;
    vault.audit(
        ctx.at,
        "cross-sign",
        serde_json::json!({ "from": old.state.fingerprint, "to": new.state.fingerprint }),
    )?;
    if ctx.json {
        ui::emit_json(
            &serde_json::json!({ "from": old.state.fingerprint, "to": new.state.fingerprint }),
        )?;
    } else {
        ui::emit(&format!(
            "{} now certifies {}. Publish it: keycycle publish {}\n",
            certinfo::label(&old.cert),
            certinfo::label(&new.cert),
            new.state.cycle
        ));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn certify(ctx: &Ctx, args: &CertifyArgs) -> Outcome {
    let path = std::path::Path::new(&args.target);
    let target = if path.is_file() {
        certinfo::read_cert_file(path)?.remove(0)
    } else {
        let vault = ctx.open_vault()?;
        let schedule = Schedule::from_config(&vault.config()?)?;
        lifecycle::find_key(&vault, Some(&args.target), &schedule, ctx.at)?.cert
    };
    let target = target.strip_secret_key_material();
    let fpr = target.fingerprint();
    let uids: Vec<String> = target.userids().map(|u| u.userid().to_string()).collect();
    let typed = match &args.fingerprint {
        Some(f) => f.clone(),
        None => {
            eprintln!(
                "Key to certify:\n  {}\n  {}",
                uids.join("\n  "),
                certinfo::grouped(&fpr)
            );
            ui::input(
                ctx.batch,
                "--fingerprint FPR",
                "Type the fingerprint you were given out of band (at least its last four groups)",
            )?
        }
    };
    if !attest::fingerprint_matches(&fpr, &typed) {
        return Err(Error::input(
            format!(
                "the fingerprint does not match: the key is {}",
                certinfo::grouped(&fpr)
            ),
            "do not certify: compare with the fingerprint the key's owner gave you out of band",
        ));
    }
    let mine = certinfo::read_cert_file(&args.with_key)?.remove(0);
    let key = mine
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .map_err(|_| {
            Error::input(
                format!("{} holds no secret key", args.with_key.display()),
                "export yours with gpg --export-secret-keys --armor YOUR-KEY",
            )
        })?;
    let key = if key.secret().is_encrypted() {
        let Some(pf) = &args.passphrase_file else {
            return Err(Error::input(
                "your key is passphrase-protected",
                "pass --passphrase-file",
            ));
        };
        let pw = ui::read_passphrase(pf)?;
        key.decrypt_secret(&pw).map_err(|_| {
            Error::input(
                "the passphrase does not unlock your key",
                "check --passphrase-file",
            )
        })?
    } else {
        key
    };
    let mut signer: openpgp::crypto::KeyPair = key.into_keypair().map_err(|e| {
        Error::input(
            format!("your key cannot certify: {e}"),
            "use a key whose primary secret is present (not a stub)",
        )
    })?;
    let certified = attest::certify_all(&mut signer, &target, ctx.at)?;
    let bytes = certinfo::armored_public(&certified)?;
    super::export::write_output(
        args.output.as_deref(),
        &bytes,
        args.overwrite,
        atomic::PUBLIC_MODE,
    )?;
    if args.output.is_some() {
        eprintln!(
            "Certified {} user ID(s) of {} with {}. Send the file back or import it: keycycle attestations import FILE",
            uids.len(),
            fpr,
            certinfo::primary_uid(&mine)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(ctx: &Ctx, report: &ImportReport) -> keycycle::Result<()> {
    if ctx.json {
        return ui::emit_json(report);
    }
    let mut out = String::new();
    for f in &report.certifications {
        out.push_str(&format!(
            "{:<16} {} by {} {}{}\n",
            f.outcome,
            f.key,
            f.issuer_key_id,
            f.issuer.as_deref().unwrap_or(""),
            if f.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", f.reason)
            }
        ));
    }
    out.push_str(&format!(
        "attestations: {} accepted, {} already present, {} outside the roster (kept, flagged), {} rejected\n",
        report.count("accepted"),
        report.count("already-present"),
        report.count("outside-roster"),
        report.count("rejected")
    ));
    ui::emit(&out);
    Ok(())
}

pub fn attestations(ctx: &Ctx, cmd: &AttestationsCommand) -> Outcome {
    let vault = ctx.lock_vault("attestations")?;
    let report = match cmd {
        AttestationsCommand::Import { files } => {
            let incoming = attest::read_files(files)?;
            attest::import(&vault, &incoming, ctx.at)?
        }
        AttestationsCommand::Fetch { keyserver, timeout } => {
            let servers = if keyserver.is_empty() {
                vault.config()?.publish.keyservers
            } else {
                keyserver.clone()
            };
            let settings = Settings {
                timeout: std::time::Duration::from_secs(*timeout),
                ..Settings::default()
            };
            // A server that fails is reported and skipped (for every key:
            // a dead server must not cost its timeout once per key); the
            // command fails only when no server answered.
            let mut incoming = Vec::new();
            let mut failed: Vec<(String, keycycle::Error)> = Vec::new();
            for k in vault.keys()? {
                for s in &servers {
                    if failed.iter().any(|(f, _)| f == s) {
                        continue;
                    }
                    match publish::fetch(
                        s,
                        &openpgp::KeyHandle::from(k.cert.fingerprint()),
                        &settings,
                    ) {
                        Ok(Some(c)) => incoming.push(c),
                        Ok(None) => {}
                        Err(e) => failed.push((s.clone(), e)),
                    }
                }
            }
            if !servers.is_empty() && failed.len() == servers.len() {
                return Err(failed.remove(0).1);
            }
            for (_, e) in &failed {
                ui::warn(&format!("{e} (skipped; the other keyservers answered)"));
            }
            attest::import(&vault, &incoming, ctx.at)?
        }
    };
    if !report.updated.is_empty() {
        vault.audit(
            ctx.at,
            "attestations",
            serde_json::json!({
                "accepted": report.count("accepted"),
                "outside_roster": report.count("outside-roster"),
                "rejected": report.count("rejected"),
                "updated": report.updated,
            }),
        )?;
    }
    show(ctx, &report)?;
    Ok(ExitCode::SUCCESS)
}
