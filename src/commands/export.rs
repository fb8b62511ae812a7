use std::process::ExitCode;

use keycycle::certinfo::{self, Known};
use keycycle::custody::{self, Identities, Recipient};
use keycycle::subkey::{self, Format, Protection};
use keycycle::vault::atomic;

use super::{Ctx, Outcome};
use crate::cli::{ExportCommand, ExportPublicArgs, ExportSubkeyArgs, PublicFormat, SubkeyFormat};
use crate::ui;

pub fn run(ctx: &Ctx, cmd: &ExportCommand) -> Outcome {
    match cmd {
        ExportCommand::Public(args) => public(ctx, args),
        ExportCommand::SigningSubkey(args) => signing_subkey(ctx, args),
    }
}

fn public(ctx: &Ctx, args: &ExportPublicArgs) -> Outcome {
    let vault = ctx.open_vault()?;
    let key = ctx.find_key(&vault, args.key.get())?;
    let bytes = match args.format {
        PublicFormat::Armor => certinfo::armored_public(&key.cert)?,
        PublicFormat::Releases => {
            let mut known = Known::default();
            for k in vault.keys()? {
                known.add(&k.cert);
            }
            certinfo::releases_text(&key.cert, ctx.at, &known)?.into_bytes()
        }
    };
    ui::write_output(
        args.out.output.as_deref(),
        &bytes,
        args.out.overwrite,
        atomic::PUBLIC_MODE,
    )?;
    Ok(ExitCode::SUCCESS)
}

fn signing_subkey(ctx: &Ctx, args: &ExportSubkeyArgs) -> Outcome {
    let vault = ctx.lock_vault("export signing-subkey")?;
    let key = ctx.find_key(&vault, args.key.get())?;
    let protection = match (
        &args.passphrase.passphrase_file,
        args.age_recipient.is_empty(),
    ) {
        (Some(p), _) => Protection::Passphrase(custody::read_passphrase(p)?),
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
    if let Some(p) = &args.out.output {
        // Before the escrow is opened: nothing to undo.
        atomic::refuse_existing(p, args.out.overwrite)?;
    }
    let ids = Identities::from_paths(&args.ids.identity)?;
    let secret = custody::open(&vault, &key, &ids)?;
    let lint = match &args.out.output {
        Some(p) => subkey::write(
            p,
            secret.cert(),
            ctx.at,
            &format,
            &protection,
            args.out.overwrite,
        )?,
        None => {
            let (bytes, lint) = subkey::render(secret.cert(), ctx.at, &format, &protection)?;
            ui::emit(&String::from_utf8_lossy(&bytes));
            lint
        }
    };
    vault.audit(
        ctx.at,
        "export signing-subkey",
        serde_json::json!({
            "fingerprint": key.state.fingerprint,
            "subkey": lint.signing_subkey,
            "protection": protection.name(),
            "output": args.out.output.as_ref().map(|p| p.display().to_string()),
        }),
    )?;
    if ctx.json {
        ui::emit_json(&lint)?;
    } else if args.out.output.is_some() {
        ui::say(&format!(
            "Exported signing subkey {} of {} (primary secret: {}; protection: {}; test signature {}).",
            lint.signing_subkey,
            key.state.cycle,
            lint.primary_secret,
            protection.name(),
            lint.test_signature
        ));
    }
    Ok(ExitCode::SUCCESS)
}
