//! `keycycle export page`: index.html and the public key files it links.

use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::PathBuf;
use std::process::ExitCode;

use keycycle::certinfo;
use keycycle::config::Config;
use keycycle::page::{self, Input};
use keycycle::schedule::Schedule;
use keycycle::status;
use keycycle::vault::atomic;
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::ExportPageArgs;
use crate::ui;

/// The vault's keys with the roots' attestations, or the given files'.
fn inputs(ctx: &Ctx, args: &ExportPageArgs) -> keycycle::Result<(Vec<Input>, Option<Config>)> {
    if args.from_files.is_empty() {
        let vault = ctx.open_vault()?;
        let config = vault.config()?;
        let schedule = Schedule::from_config(&config)?;
        let all = vault.keys()?;
        if all.is_empty() {
            return Err(Error::input(
                "the vault holds no key",
                "generate one, or pass --from-files with published key files",
            ));
        }
        let mut inputs = Vec::new();
        for k in &all {
            let st = status::key_status(&vault, &schedule, &all, k, ctx.at)?;
            inputs.push(Input {
                cert: k.cert.clone(),
                cycle: Some(k.state.cycle.clone()),
                roots: Some(st.attestations),
            });
        }
        return Ok((inputs, Some(config)));
    }
    let mut inputs: Vec<Input> = Vec::new();
    for f in &args.from_files {
        for cert in certinfo::read_cert_file(f)? {
            if inputs
                .iter()
                .all(|i| i.cert.fingerprint() != cert.fingerprint())
            {
                inputs.push(Input {
                    cert: cert.strip_secret_key_material(),
                    cycle: None,
                    roots: None,
                });
            }
        }
    }
    // The schedule (which cycle is current) from a vault if there is one.
    let config = ctx.open_vault().ok().and_then(|v| v.config().ok());
    Ok((inputs, config))
}

fn create_public_dir(dir: &std::path::Path) -> keycycle::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(|e| Error::io(dir, e))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755))
        .map_err(|e| Error::io(dir, e))
}

pub fn run(ctx: &Ctx, args: &ExportPageArgs) -> Outcome {
    let (inputs, config) = inputs(ctx, args)?;
    let mut roots = Vec::new();
    for f in &args.roots {
        roots.extend(certinfo::read_cert_file(f)?);
    }
    let schedule = Schedule::from_config(config.as_ref().unwrap_or(&Config::default()))?;
    let newest = inputs
        .iter()
        .max_by_key(|i| i.cert.primary_key().key().creation_time())
        .map(|i| certinfo::primary_uid(&i.cert));
    let title = args.title.clone().unwrap_or_else(|| {
        match config
            .as_ref()
            .map(|c| c.organisation.clone())
            .or_else(|| newest.as_deref().and_then(page::organisation_of))
        {
            Some(org) => format!("{org} release signing keys"),
            None => "Release signing keys".into(),
        }
    });
    let model = page::build(&inputs, &roots, &schedule, &title, ctx.at);
    let html = page::render(&model);

    let dir = &args.output;
    let mut files: Vec<(PathBuf, Vec<u8>)> = vec![(dir.join("index.html"), html.into_bytes())];
    for i in &inputs {
        let name = page::key_file(&i.cert.fingerprint().to_hex());
        files.push((dir.join(name), certinfo::armored_public(&i.cert)?));
    }
    let existing: Vec<&PathBuf> = files
        .iter()
        .map(|(p, _)| p)
        .filter(|p| p.exists())
        .collect();
    if let (Some(first), false) = (existing.first(), args.overwrite) {
        return Err(Error::input(
            format!(
                "{} exists{}",
                first.display(),
                match existing.len() {
                    1 => String::new(),
                    n => format!(" (and {} more of the page's files)", n - 1),
                }
            ),
            "pass --overwrite to replace them, or choose another -o DIR",
        ));
    }
    create_public_dir(&dir.join("keys"))?;
    for (p, bytes) in &files {
        atomic::write(p, bytes, atomic::PUBLIC_MODE)?;
    }
    let bytes = files[0].1.len();
    if ctx.json {
        ui::emit_json(&serde_json::json!({
            "index": files[0].0.display().to_string(),
            "bytes": bytes,
            "files": files.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>(),
            "page": model,
        }))?;
    } else {
        ui::emit(&format!(
            "Wrote {} ({bytes} bytes) and {} key files: {} keys, {} of them certified by their predecessor, {} gaps.\n",
            files[0].0.display(),
            files.len() - 1,
            model.keys.len(),
            model.keys.iter().filter(|k| k.cross_signed == Some(true)).count(),
            model.gaps
        ));
    }
    Ok(ExitCode::SUCCESS)
}
