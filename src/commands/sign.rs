use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use keycycle::escrow::Identities;
use keycycle::lifecycle;
use keycycle::schedule::Schedule;
use keycycle::sign::{self, Job};
use keycycle::subkey;
use keycycle::{clock, Error};

use super::{Ctx, Outcome};
use crate::cli::SignArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &SignArgs) -> Outcome {
    let password = args
        .passphrase_file
        .as_deref()
        .map(ui::read_passphrase)
        .transpose()?;
    let cert = match &args.key {
        Some(path) => sign::read_key_file(path)?,
        None => {
            let vault = ctx.open_vault().map_err(|e| match e {
                Error::Vault { msg, .. } => Error::input(
                    msg,
                    "pass --key FILE (the exported signing subkey), or --vault with --identity",
                ),
                e => e,
            })?;
            let schedule = Schedule::from_config(&vault.config()?)?;
            let key = lifecycle::find_key(&vault, args.with_key.as_deref(), &schedule, ctx.at)?;
            let ids = Identities::from_paths(&args.identity)?;
            subkey::open_escrow(&vault, &key, &ids)?
        }
    };
    let key = sign::signing_key(&cert, ctx.at, password.as_ref())?;
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
    let files = sign::collect_files(&args.files, args.recursive)?;
    if files.is_empty() {
        return Err(Error::input(
            "nothing to sign",
            "give files, or directories with --recursive",
        ));
    }
    let jobs: Vec<Job> = match &args.output {
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
    let mut lines = String::new();
    for (job, r) in results {
        match r {
            Ok(s) => {
                if !ctx.json {
                    if s.status == "kept" {
                        lines.push_str(&format!(
                            "kept    {} (exists; --overwrite to replace)\n",
                            s.signature
                        ));
                    } else {
                        lines.push_str(&format!("signed  {}\n", s.signature));
                    }
                }
                signed.push(s);
            }
            Err(e) => {
                failed += 1;
                eprintln!("error: {}: {e}", job.input.display());
            }
        }
    }
    if ctx.json {
        ui::emit_json(&serde_json::json!({
            "key": key.cert_fingerprint,
            "subkey": key.subkey_fingerprint,
            "cycle_key": key.label,
            "files": signed,
            "failed": failed,
        }))?;
    } else {
        lines.push_str(&format!(
            "{} file(s) with subkey {} of {}\n",
            signed.len(),
            key.subkey_fingerprint,
            key.label
        ));
        ui::emit(&lines);
    }
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
