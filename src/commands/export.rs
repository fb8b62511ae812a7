use std::process::ExitCode;

use keycycle::certinfo::{self, Known};
use keycycle::lifecycle;
use keycycle::schedule::Schedule;
use keycycle::vault::atomic;
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::{ExportCommand, PublicFormat, SubkeyFormat};
use crate::ui;
use keycycle::escrow::{Identities, Recipient};
use keycycle::subkey::{self, Format, Protection};

/// Write to `-o FILE` atomically (refusing to replace without
/// --overwrite), or to stdout.
pub fn write_output(
    path: Option<&std::path::Path>,
    bytes: &[u8],
    overwrite: bool,
    mode: u32,
) -> keycycle::Result<()> {
    match path {
        Some(p) => {
            if p.exists() && !overwrite {
                return Err(Error::input(
                    format!("{} exists", p.display()),
                    "pass --overwrite to replace it",
                ));
            }
            atomic::write(p, bytes, mode)
        }
        None => {
            ui::emit(&String::from_utf8_lossy(bytes));
            Ok(())
        }
    }
}

pub fn run(ctx: &Ctx, cmd: &ExportCommand) -> Outcome {
    if let ExportCommand::Page(args) = cmd {
        return super::page::run(ctx, args);
    }
    let vault = ctx.open_vault()?;
    let schedule = Schedule::from_config(&vault.config()?)?;
    match cmd {
        ExportCommand::Public(args) => {
            let key = lifecycle::find_key(&vault, args.key.as_deref(), &schedule, ctx.at)?;
            let bytes = match args.format {
                PublicFormat::Armor => lifecycle::export_public(&key)?,
                PublicFormat::Releases => {
                    let mut known = Known::default();
                    for k in vault.keys()? {
                        known.add(&k.cert);
                    }
                    certinfo::releases_text(&key.cert, ctx.at, &known)?.into_bytes()
                }
            };
            write_output(
                args.output.as_deref(),
                &bytes,
                args.overwrite,
                atomic::PUBLIC_MODE,
            )?;
        }
        ExportCommand::SigningSubkey(args) => {
            let vault = vault.clone().lock("export signing-subkey")?;
            let key = lifecycle::find_key(&vault, args.key.as_deref(), &schedule, ctx.at)?;
            let protection = match (&args.passphrase_file, args.age_recipient.is_empty()) {
                (Some(p), _) => Protection::Passphrase(ui::read_passphrase(p)?),
                (None, false) => Protection::Age(
                    args.age_recipient
                        .iter()
                        .map(|r| Recipient::parse(r))
                        .collect::<keycycle::Result<_>>()?,
                ),
                (None, true) => Protection::None,
            };
            let format = match args.format {
                SubkeyFormat::Armor => Format::Armor,
                SubkeyFormat::Hiera => Format::Hiera(args.hiera_key.clone()),
            };
            if let Some(p) = &args.output {
                if p.exists() && !args.overwrite {
                    return Err(Error::input(
                        format!("{} exists", p.display()),
                        "pass --overwrite to replace it",
                    ));
                }
            }
            let ids = Identities::from_paths(&args.identity)?;
            let full = subkey::open_escrow(&vault, &key, &ids)?;
            let (bytes, lint) = subkey::render(&full, ctx.at, &format, &protection)?;
            match &args.output {
                Some(p) => {
                    atomic::write(p, &bytes, atomic::SECRET_MODE)?;
                    let written = std::fs::read(p).map_err(|e| Error::io(p, e))?;
                    if let Err(e) =
                        subkey::relint(&written, &bytes, &full, ctx.at, &format, &protection)
                    {
                        let _ = std::fs::remove_file(p);
                        return Err(e);
                    }
                }
                None => ui::emit(&String::from_utf8_lossy(&bytes)),
            }
            let protection_name = match protection {
                Protection::None => "none",
                Protection::Passphrase(_) => "passphrase",
                Protection::Age(_) => "age",
            };
            vault.audit(
                ctx.at,
                "export signing-subkey",
                serde_json::json!({
                    "fingerprint": key.state.fingerprint,
                    "subkey": lint.signing_subkey,
                    "protection": protection_name,
                    "output": args.output.as_ref().map(|p| p.display().to_string()),
                }),
            )?;
            if ctx.json {
                ui::emit_json(&lint)?;
            } else if args.output.is_some() {
                eprintln!(
                    "Exported signing subkey {} of {} (primary secret: {}; protection: {protection_name}; test signature {}).",
                    lint.signing_subkey, key.state.cycle, lint.primary_secret, lint.test_signature
                );
            }
        }
        ExportCommand::Page(_) => unreachable!("handled above"),
    }
    Ok(ExitCode::SUCCESS)
}
