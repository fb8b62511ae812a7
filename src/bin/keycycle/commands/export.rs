use std::path::PathBuf;
use std::process::ExitCode;

use keycycle::base::fs::atomic;
use keycycle::cert::{self, Known};
use keycycle::vault::config::Config;
use keycycle::custody::{self, Recipient};
use keycycle::publish::page::{self, Input};
use keycycle::vault::schedule::Schedule;
use keycycle::sign::handoff::{self, Format, Protection};
use keycycle::status;
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::{
    ExportCommand, ExportPageArgs, ExportPublicArgs, ExportSubkeyArgs, PublicFormat, SubkeyFormat,
};
use crate::ui;

pub fn run(ctx: &Ctx, cmd: &ExportCommand) -> Outcome {
    match cmd {
        ExportCommand::Public(args) => public(ctx, args),
        ExportCommand::SigningSubkey(args) => signing_subkey(ctx, args),
        ExportCommand::Page(args) => page(ctx, args),
    }
}

fn public(ctx: &Ctx, args: &ExportPublicArgs) -> Outcome {
    let vault = ctx.open_vault()?;
    let key = ctx.find_key(&vault, args.key.get())?;
    let bytes = match args.format {
        PublicFormat::Armor => cert::armored_public(&key.cert)?,
        PublicFormat::Releases => {
            let mut known = Known::default();
            for k in keycycle::policy::trusted_keys(&vault, ctx.at)? {
                known.add(&k.cert);
            }
            cert::releases_text(&key.cert, ctx.at, &known)?.into_bytes()
        }
    };
    ui::write_to(&args.out, &bytes, atomic::PUBLIC_MODE)?;
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
    let ids = args.ids.load()?;
    let secret = custody::open(&vault, &key, &ids)?;
    let lint = match &args.out.output {
        Some(p) => handoff::write(
            p,
            secret.cert(),
            ctx.at,
            &format,
            &protection,
            args.out.overwrite,
        )?,
        None => {
            let (bytes, lint) = handoff::render(secret.cert(), ctx.at, &format, &protection)?;
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
    // The subkey itself went to stdout: the note beside it goes to stderr.
    ctx.show(&ui::Reply::new(&lint, |_| {
        if args.out.output.is_some() {
            ui::say(&format!(
                "Exported signing subkey {} of {} (primary secret: {}; protection: {}; test signature {}).",
                lint.signing_subkey,
                key.state.cycle,
                lint.primary_secret,
                protection.name(),
                lint.test_signature
            ));
        }
        Ok(String::new())
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// The vault's keys with the roots' attestations, or the given files'.
fn inputs(ctx: &Ctx, args: &ExportPageArgs) -> keycycle::Result<(Vec<Input>, Option<Config>)> {
    if args.from_files.is_empty() {
        let vault = ctx.open_vault()?;
        let config = vault.config()?;
        let schedule = Schedule::from_config(&config)?;
        let state = keycycle::policy::load(&vault, ctx.at)?;
        let all = keycycle::policy::partition(&vault, state.as_ref(), vault.keys()?)?.0;
        if all.is_empty() {
            return Err(Error::input(
                "the vault holds no key",
                "generate one, or pass --from-files with published key files",
            ));
        }
        let mut inputs = Vec::new();
        for k in &all {
            let st = status::key_status(&vault, &schedule, &all, k, state.as_ref(), ctx.at)?;
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
        for cert in cert::read_cert_file(f)? {
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

fn page(ctx: &Ctx, args: &ExportPageArgs) -> Outcome {
    let (inputs, config) = inputs(ctx, args)?;
    let mut roots = Vec::new();
    for f in &args.roots {
        roots.extend(cert::read_cert_file(f)?);
    }
    let schedule = Schedule::from_config(config.as_ref().unwrap_or(&Config::default()))?;
    let newest = inputs
        .iter()
        .max_by_key(|i| i.cert.primary_key().key().creation_time())
        .map(|i| cert::primary_uid(&i.cert));
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
        files.push((dir.join(name), cert::armored_public(&i.cert)?));
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
                keycycle::base::text::path(first),
                match existing.len() {
                    1 => String::new(),
                    n => format!(" (and {} more of the page's files)", n - 1),
                }
            ),
            "pass --overwrite to replace them, or choose another -o DIR",
        ));
    }
    atomic::create_public_dir(&dir.join("keys"))?;
    for (p, bytes) in &files {
        ui::write_output(Some(p), bytes, true, atomic::PUBLIC_MODE)?;
    }
    let bytes = files[0].1.len();
    let json = serde_json::json!({
        "index": files[0].0.display().to_string(),
        "bytes": bytes,
        "files": files.iter().map(|(p, _)| p.display().to_string()).collect::<Vec<_>>(),
        "page": model,
    });
    ctx.show(&ui::Reply::new(&json, |_| {
        Ok(format!(
            "Wrote {} ({bytes} bytes) and {} key files: {} keys, {} of them certified by their predecessor, {} gaps.\n",
            keycycle::base::text::path(&files[0].0),
            files.len() - 1,
            model.keys.len(),
            model.keys.iter().filter(|k| k.cross_signed == Some(true)).count(),
            model.gaps
        ))
    }))?;
    Ok(ExitCode::SUCCESS)
}
