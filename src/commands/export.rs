use std::process::ExitCode;

use keycycle::certinfo::{self, Known};
use keycycle::lifecycle;
use keycycle::schedule::Schedule;
use keycycle::vault::{atomic, Vault};
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::{ExportCommand, PublicFormat};
use crate::ui;

/// Write to `-o FILE` atomically (refusing to replace without
/// --overwrite), or to stdout.
pub fn write_output(path: Option<&std::path::Path>, bytes: &[u8], overwrite: bool, mode: u32) -> keycycle::Result<()> {
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
    let vault = Vault::open(&ctx.vault)?;
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
            write_output(args.output.as_deref(), &bytes, args.overwrite, atomic::PUBLIC_MODE)?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
