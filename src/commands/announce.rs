//! `keycycle announce`, and the ceremony's announcement step.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sequoia_openpgp::Cert;

use keycycle::announce::{self, Announcement};
use keycycle::config::Config;
use keycycle::escrow::Identities;
use keycycle::lifecycle;
use keycycle::schedule::Schedule;
use keycycle::vault::{atomic, StoredKey, Vault};
use keycycle::{clock, Error};

use super::{Ctx, Outcome};
use crate::cli::AnnounceArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &AnnounceArgs) -> Outcome {
    let vault = ctx.open_vault()?;
    let config = vault.config()?;
    let schedule = Schedule::from_config(&config)?;
    let spec = args.key.as_deref().unwrap_or("next");
    let key = lifecycle::find_key(&vault, Some(spec), &schedule, ctx.at)?;
    let facts = announce::facts(&vault, &schedule, &config, &key, ctx.at)?;
    if ctx.json {
        ui::emit_json(&facts)?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(p) = &args.output {
        if p.exists() && !args.overwrite {
            return Err(Error::input(
                format!("{} exists", p.display()),
                "pass --overwrite to replace it",
            ));
        }
    }
    let paths: Vec<PathBuf> = if args.identity.is_empty() {
        vec![ui::input(
            ctx.batch,
            "--identity FILE",
            "Path to the escrow identity of a root (age identity or SSH key)",
        )?
        .into()]
    } else {
        args.identity.clone()
    };
    let vault = vault.lock("announce")?;
    let ids = Identities::from_paths(&paths)?;
    let signed = signed_announcement(&vault, &config, &facts, &ids, ctx.at)?;
    super::export::write_output(
        args.output.as_deref(),
        &signed,
        args.overwrite,
        atomic::PUBLIC_MODE,
    )?;
    audit(ctx, &vault, &facts, args.output.as_deref())?;
    if let Some(p) = &args.output {
        eprintln!(
            "Announcement of {} written to {}, signed by {}.",
            facts.key.label,
            p.display(),
            signers(&facts)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn signers(facts: &Announcement) -> String {
    let mut names = Vec::new();
    if let Some(p) = &facts.previous {
        if facts.signers.contains(&p.key.fingerprint) {
            names.push(p.key.label.clone());
        }
    }
    names.push(facts.key.label.clone());
    names.join(" and ")
}

fn audit(
    ctx: &Ctx,
    vault: &Vault,
    facts: &Announcement,
    out: Option<&Path>,
) -> keycycle::Result<()> {
    vault.audit(
        ctx.at,
        "announce",
        serde_json::json!({
            "fingerprint": facts.key.fingerprint,
            "signers": facts.signers,
            "output": out.map(|p| p.display().to_string()),
        }),
    )
}

/// The one place `announce` opens a key's secret (to sign with it).
fn open_secret(vault: &Vault, key: &StoredKey, ids: &Identities) -> keycycle::Result<Cert> {
    keycycle::subkey::open_escrow(vault, key, ids)
}

/// Render the announcement and sign it with every key in `facts.signers`.
fn signed_announcement(
    vault: &Vault,
    config: &Config,
    facts: &Announcement,
    ids: &Identities,
    at: clock::Time,
) -> keycycle::Result<Vec<u8>> {
    let template = announce::load_template(config)?;
    let text = announce::render(facts, &template)?;
    let all = vault.keys()?;
    let mut keys = Vec::new();
    for fpr in &facts.signers {
        let key = all
            .iter()
            .find(|k| &k.state.fingerprint == fpr)
            .ok_or_else(|| Error::vault(format!("the key {fpr} left the vault"), "run it again"))?;
        keys.push(open_secret(vault, key, ids)?);
    }
    announce::sign(&text, &keys, at)
}

/// The ceremony's step: the signed announcement of `key` written to
/// `DIR/announce-<cycle>.txt`. Returns the path and who signed.
pub fn ceremony_step(
    vault: &Vault,
    schedule: &Schedule,
    key: &StoredKey,
    ids: &Identities,
    dir: &Path,
    at: clock::Time,
) -> keycycle::Result<(PathBuf, String)> {
    let config = vault.config()?;
    let facts = announce::facts(vault, schedule, &config, key, at)?;
    let signed = signed_announcement(vault, &config, &facts, ids, at)?;
    atomic::create_dir(dir)?;
    let path = dir.join(format!("announce-{}.txt", facts.cycle));
    atomic::write(&path, &signed, atomic::PUBLIC_MODE)?;
    vault.audit(
        at,
        "announce",
        serde_json::json!({
            "fingerprint": facts.key.fingerprint,
            "signers": facts.signers,
            "output": path.display().to_string(),
        }),
    )?;
    Ok((path, signers(&facts)))
}
