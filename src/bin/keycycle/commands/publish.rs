use std::process::ExitCode;

use keycycle::publish::{self, Settings};
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::PublishArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &PublishArgs) -> Outcome {
    let vault = ctx.lock_vault("publish")?;
    let key = ctx.find_key(&vault, args.key.get())?;
    let servers = if args.no_keyserver {
        Vec::new()
    } else {
        keycycle::policy::keyservers(&vault, ctx.at, &args.servers.keyserver)?
    };
    let settings = Settings {
        timeout: std::time::Duration::from_secs(args.servers.timeout),
        ..Settings::default()
    };
    let done = publish::publish_key(
        &vault,
        &key,
        &servers,
        args.wkd.as_deref(),
        &settings,
        ctx.at,
    )?;
    ctx.show(&ui::Reply::new(&done, |_| {
        let mut out = String::new();
        for r in done.servers.iter().filter(|r| r.ok) {
            if r.stripped.is_empty() {
                out.push_str(&format!(
                    "published {} to {}: every certification and revocation is there\n",
                    key.state.fingerprint, r.server
                ));
            } else {
                out.push_str(&format!(
                    "published {} to {}: every revocation is there; {} certification(s) and \
                     unverified user IDs stripped by a VKS server, as it does for every key \
                     (the roots' certifications: the vault's export, the key page, HKP servers)\n",
                    key.state.fingerprint,
                    r.server,
                    r.stripped.len()
                ));
            }
        }
        if let Some(d) = &done.wkd {
            out.push_str(&format!(
                "wrote the WKD for {}\n",
                keycycle::base::text::shown(&d.join(", "))
            ));
        }
        Ok(out)
    }))?;
    let failed = done.failed();
    if let Some(first) = failed.first() {
        for r in &failed[1..] {
            ui::error(&format!("{}: {}", r.server, r.error));
        }
        return Err(Error::vault(
            format!("{}: {}", first.server, first.error),
            "check the keyserver (up? reachable? refusing the key?) and run publish again",
        ));
    }
    Ok(ExitCode::SUCCESS)
}
