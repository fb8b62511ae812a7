use std::path::PathBuf;
use std::process::ExitCode;

use keycycle::verify::{self, Keyring};
use keycycle::{clock, Error};

use super::{Ctx, Outcome};
use crate::cli::VerifyArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &VerifyArgs) -> Outcome {
    let ring = if args.cert.is_empty() {
        let vault = ctx.open_vault().map_err(|e| match e {
            Error::Vault { msg, .. } => Error::input(
                msg,
                "pass --cert FILE (a cycle key, a keyring or a folder of keys)",
            ),
            e => e,
        })?;
        Keyring::new(vault.keys()?.into_iter().map(|k| k.cert).collect())?
    } else {
        Keyring::load(&args.cert)?
    };
    let as_of = args
        .policy_as_of
        .as_deref()
        .map(clock::parse_time)
        .transpose()?;
    let jobs: Vec<(PathBuf, PathBuf)> = match &args.signature {
        Some(sig) if args.files.len() == 1 => vec![(args.files[0].clone(), sig.clone())],
        Some(_) => {
            return Err(Error::input(
                "--signature takes one input file",
                "drop --signature to use FILE.asc next to each file",
            ))
        }
        None => args
            .files
            .iter()
            .map(|f| {
                let mut s = f.clone().into_os_string();
                s.push(".asc");
                (f.clone(), PathBuf::from(s))
            })
            .collect(),
    };
    let verdicts = verify::verify_all(&ring, &jobs, ctx.at, as_of);
    let bad = verdicts.iter().filter(|v| !v.good).count();
    if ctx.json {
        ui::emit_json(
            &serde_json::json!({ "good": verdicts.len() - bad, "bad": bad, "files": verdicts }),
        )?;
    } else {
        let mut out = String::new();
        for v in &verdicts {
            if v.good {
                out.push_str(&format!(
                    "GOOD  {}  signed {} by {}\n",
                    v.file,
                    v.signed_at.map(clock::iso).unwrap_or_default(),
                    v.key.as_deref().unwrap_or("?")
                ));
            } else {
                out.push_str(&format!("BAD   {}  {}\n", v.file, v.reason));
            }
        }
        out.push_str(&format!(
            "verify: {} good, {} bad\n",
            verdicts.len() - bad,
            bad
        ));
        ui::emit(&out);
    }
    Ok(if bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
