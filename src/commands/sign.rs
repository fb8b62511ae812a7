use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use sequoia_openpgp::Cert;

use keycycle::custody;
use keycycle::sign::{self, Job, Signed, SigningKey};
use keycycle::{clock, Error};

use super::{Ctx, Outcome};
use crate::cli::SignArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &SignArgs) -> Outcome {
    let password = args
        .passphrase
        .passphrase_file
        .as_deref()
        .map(custody::read_passphrase)
        .transpose()?;
    let key = sign::signing_key(&signing_cert(ctx, args)?, ctx.at, password.as_ref())?;
    if let Some(exp) = key.expires {
        let days = clock::days_between(ctx.at, exp);
        if days < 30 {
            ui::warn(&format!(
                "the signing key {} expires in {days} days ({})",
                key.label,
                clock::day(exp)
            ));
        }
    }
    let jobs = jobs(args)?;
    let total: u64 = jobs
        .iter()
        .filter_map(|j| std::fs::metadata(&j.input).ok())
        .map(|m| m.len())
        .sum();
    let bar = ui::progress(total, jobs.len(), ctx.batch);
    let done = AtomicU64::new(0);
    let tick = |n: u64| {
        let d = done.fetch_add(n, Ordering::Relaxed) + n;
        if let Some(b) = &bar {
            b.set_position(d);
        }
    };
    let results = sign::sign_all(&key, &jobs, ctx.at, args.overwrite, &tick);
    if let Some(b) = &bar {
        b.finish_and_clear();
    }
    let mut failed = 0;
    let mut signed = Vec::new();
    for (job, r) in results {
        match r {
            Ok(s) => signed.push(s),
            Err(e) => {
                failed += 1;
                ui::error(&format!("{}: {e}", keycycle::text::path(&job.input)));
            }
        }
    }
    report(ctx, &key, &signed, failed)?;
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The key to sign with: an exported subkey file, or a vault key opened
/// from escrow.
fn signing_cert(ctx: &Ctx, args: &SignArgs) -> keycycle::Result<Cert> {
    if let Some(path) = &args.key {
        return sign::read_key_file(path);
    }
    let vault = ctx.open_vault().map_err(|e| match e {
        Error::Vault { msg, .. } => Error::input(
            msg,
            "pass --key FILE (the exported signing subkey), or --vault with --identity",
        ),
        e => e,
    })?;
    let key = ctx.find_key(&vault, args.with_key.as_deref())?;
    let ids = args.ids.load()?;
    Ok(custody::open(&vault, &key, &ids)?.cert().clone())
}

/// One job per file: FILE.asc beside it, or `--output` for a single file.
fn jobs(args: &SignArgs) -> keycycle::Result<Vec<Job>> {
    let files = sign::collect_files(&args.files, args.recursive)?;
    if files.is_empty() {
        return Err(Error::input(
            "nothing to sign",
            "give files, or directories with --recursive",
        ));
    }
    match &args.output {
        Some(out) if files.len() == 1 => Ok(vec![Job {
            input: files[0].clone(),
            output: out.clone(),
        }]),
        Some(_) => Err(Error::input(
            "--output takes one input file",
            "drop --output to write FILE.asc next to each file",
        )),
        None => Ok(files.into_iter().map(Job::beside).collect()),
    }
}

fn report(ctx: &Ctx, key: &SigningKey, signed: &[Signed], failed: usize) -> keycycle::Result<()> {
    if ctx.json {
        return ui::emit_json(&serde_json::json!({
            "key": key.cert_fingerprint,
            "subkey": key.subkey_fingerprint,
            "cycle_key": key.label,
            "files": signed,
            "failed": failed,
        }));
    }
    let mut lines = String::new();
    for s in signed {
        if s.status == "kept" {
            lines.push_str(&format!(
                "kept    {} (exists; --overwrite to replace)\n",
                keycycle::text::shown(&s.signature)
            ));
        } else {
            lines.push_str(&format!(
                "signed  {}\n",
                keycycle::text::shown(&s.signature)
            ));
        }
    }
    lines.push_str(&format!(
        "{} file(s) with subkey {} of {}\n",
        signed.len(),
        key.subkey_fingerprint,
        key.label
    ));
    ui::emit(&lines);
    Ok(())
}
