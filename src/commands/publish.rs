use std::process::ExitCode;

use keycycle::lifecycle;
use keycycle::publish::{self, Settings};
use keycycle::schedule::Schedule;
use keycycle::vault::PublishRecord;
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::PublishArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &PublishArgs) -> Outcome {
    let vault = ctx.lock_vault("publish")?;
    let config = vault.config()?;
    let schedule = Schedule::from_config(&config)?;
    let key = lifecycle::find_key(&vault, args.key.as_deref(), &schedule, ctx.at)?;
    let servers = if args.no_keyserver {
        Vec::new()
    } else if args.keyserver.is_empty() {
        config.publish.keyservers.clone()
    } else {
        args.keyserver.clone()
    };
    let settings = Settings {
        timeout: std::time::Duration::from_secs(args.timeout),
        ..Settings::default()
    };
    let reports = publish::publish_all(&servers, &key.cert, &settings);
    let wkd = match &args.wkd {
        Some(dir) => Some(publish::wkd(dir, &key.cert)?),
        None => None,
    };
    let mut state = key.state.clone();
    for r in reports.iter().filter(|r| r.ok) {
        state.publish.push(PublishRecord {
            time: ctx.at,
            target: r.server.clone(),
        });
    }
    if let (Some(dir), Some(_)) = (&args.wkd, &wkd) {
        state.publish.push(PublishRecord {
            time: ctx.at,
            target: format!("wkd:{}", dir.display()),
        });
    }
    if state.publish.len() != key.state.publish.len() {
        vault.save_state(&key, &state)?;
        vault.audit(
            ctx.at,
            "publish",
            serde_json::json!({
                "fingerprint": key.state.fingerprint,
                "servers": reports.iter().filter(|r| r.ok).map(|r| &r.server).collect::<Vec<_>>(),
                "wkd": args.wkd.as_ref().map(|d| d.display().to_string()),
            }),
        )?;
    }
    let failed: Vec<_> = reports.iter().filter(|r| !r.ok).collect();
    if ctx.json {
        ui::emit_json(&serde_json::json!({ "servers": reports, "wkd": wkd }))?;
    } else {
        let mut out = String::new();
        for r in &reports {
            if r.ok {
                out.push_str(&format!(
                    "published {} to {}: every certification and revocation is there\n",
                    key.state.fingerprint, r.server
                ));
            }
        }
        if let Some(d) = &wkd {
            out.push_str(&format!("wrote the WKD for {}\n", d.join(", ")));
        }
        ui::emit(&out);
    }
    if let Some(first) = failed.first() {
        for r in &failed[1..] {
            eprintln!("error: {}: {}", r.server, r.error);
        }
        return Err(Error::vault(
            format!("{}: {}", first.server, first.error),
            "check the keyserver (up? reachable? refusing the key?) and run publish again",
        ));
    }
    Ok(ExitCode::SUCCESS)
}
