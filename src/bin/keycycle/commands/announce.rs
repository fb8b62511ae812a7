//! `keycycle announce`: the key transition statement, cleartext-signed by
//! the previous and the new cycle key.

use std::path::PathBuf;
use std::process::ExitCode;

use keycycle::publish::announce;
use keycycle::base::fs::atomic;
use keycycle::vault::schedule::Schedule;

use super::{Ctx, Outcome};
use crate::cli::AnnounceArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &AnnounceArgs) -> Outcome {
    let vault = ctx.open_vault()?;
    let config = vault.config()?;
    let schedule = Schedule::from_config(&config)?;
    let key = keycycle::policy::find_trusted(
        &vault,
        Some(args.key.as_deref().unwrap_or("next")),
        &schedule,
        ctx.at,
    )?;
    let facts = announce::facts(&vault, &schedule, &config, &key, ctx.at)?;
    if ctx.json {
        ui::emit_json(&facts)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(p) = &args.out.output {
        atomic::refuse_existing(p, args.out.overwrite)?;
    }
    let paths: Vec<PathBuf> = if args.ids.identity.is_empty() {
        vec![ui::input(
            ctx.batch,
            "--identity FILE",
            "Path to the escrow identity of a root (age identity or SSH key)",
        )?
        .into()]
    } else {
        args.ids.identity.clone()
    };
    let vault = vault.lock("announce")?;
    let ids = args.ids.load_paths(&paths)?;
    let signed = announce::signed(&vault, &config, &facts, &ids, ctx.at)?;
    ui::write_to(&args.out, &signed, atomic::PUBLIC_MODE)?;
    vault.audit(
        ctx.at,
        "announce",
        serde_json::json!({
            "fingerprint": facts.key.name.fingerprint,
            "signers": facts.signers,
            "output": args.out.output.as_ref().map(|p| p.display().to_string()),
        }),
    )?;
    if let Some(p) = &args.out.output {
        ui::say(&format!(
            "Announcement of {} written to {}, signed by {}.",
            facts.key.name.label,
            keycycle::base::text::path(p),
            announce::signer_names(&facts)
        ));
    }
    Ok(ExitCode::SUCCESS)
}
