use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use sequoia_openpgp::Cert;

use keycycle::custody;
use keycycle::sign::{self, Job, Signed, SigningKey};
use keycycle::{base::clock, Error};

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
    if let Some(m) = &args.manifest {
        return super::manifest::sign(ctx, args, &key, m);
    }
    let (jobs, skipped) = jobs(ctx, args)?;
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
                ui::error(&format!("{}: {e}", keycycle::base::text::path(&job.input)));
            }
        }
    }
    report(ctx, &key, &signed, &skipped, failed)?;
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

/// One job per artifact: FILE.asc beside it, or `--output` for a single
/// file. Signatures among the files are skipped with one note.
fn jobs(ctx: &Ctx, args: &SignArgs) -> keycycle::Result<(Vec<Job>, Vec<PathBuf>)> {
    let found = sign::collect(&args.files, args.recursive, "sign")?;
    let files = found.artifacts;
    if files.is_empty() {
        return Err(Error::input(
            if found.signatures.is_empty() {
                "nothing to sign"
            } else {
                "nothing to sign: every file given is an OpenPGP signature"
            },
            "give the release files, or directories with --recursive",
        ));
    }
    skipped_note(ctx, &found.signatures, "not signed");
    let jobs = match &args.output {
        Some(out) if files.len() == 1 => vec![Job {
            input: files[0].clone(),
            output: out.clone(),
        }],
        Some(_) => {
            return Err(Error::input(
                "--output takes one input file",
                "drop --output to write FILE.asc next to each file",
            ))
        }
        None => files.into_iter().map(Job::beside).collect(),
    };
    Ok((jobs, found.signatures))
}

/// One note for the signatures among the files (`-v` lists them).
pub fn skipped_note(ctx: &Ctx, signatures: &[PathBuf], what: &str) {
    if signatures.is_empty() {
        return;
    }
    if ctx.verbose > 0 {
        for s in signatures {
            ui::say(&format!(
                "skipped {}: an OpenPGP signature, {what}",
                keycycle::base::text::path(s)
            ));
        }
    } else {
        ui::say(&format!(
            "note: skipped {} OpenPGP signature file(s) ({}{}): signatures are not release files, {what} (-v lists them)",
            signatures.len(),
            keycycle::base::text::path(&signatures[0]),
            if signatures.len() > 1 { ", …" } else { "" }
        ));
    }
}

fn report(
    ctx: &Ctx,
    key: &SigningKey,
    done: &[Signed],
    skipped: &[PathBuf],
    failed: usize,
) -> keycycle::Result<()> {
    let kept = done.iter().filter(|s| s.status == "kept").count();
    let signed = done.len() - kept;
    let json = serde_json::json!({
        "key": key.cert_fingerprint,
        "subkey": key.subkey_fingerprint,
        "cycle_key": key.label,
        "files": done,
        "signed": signed,
        "kept": kept,
        "failed": failed,
        "skipped_signatures": skipped.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
    });
    ctx.show(&ui::Reply::new(&json, |_| {
        let mut lines = String::new();
        for s in done {
            if s.status == "kept" {
                lines.push_str(&format!(
                    "kept    {} (exists; --overwrite to replace)\n",
                    keycycle::base::text::shown(&s.signature)
                ));
            } else {
                lines.push_str(&format!(
                    "signed  {}\n",
                    keycycle::base::text::shown(&s.signature)
                ));
            }
        }
        lines.push_str(&format!(
            "{signed} file(s) signed with subkey {} of {}{}{}\n",
            key.subkey_fingerprint,
            key.label,
            if kept > 0 {
                format!(", {kept} kept (already signed)")
            } else {
                String::new()
            },
            if failed > 0 {
                format!(", {failed} failed")
            } else {
                String::new()
            }
        ));
        Ok(lines)
    }))
}
