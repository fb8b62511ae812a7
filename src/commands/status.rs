use std::process::ExitCode;

use keycycle::clock;
use keycycle::lifecycle;
use keycycle::schedule::Schedule;
use keycycle::status::{self, Level};

use super::{Ctx, Outcome};
use crate::cli::StatusArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &StatusArgs) -> Outcome {
    let vault = ctx.open_vault()?;
    let schedule = Schedule::from_config(&vault.config()?)?;
    let only = args
        .key
        .as_deref()
        .map(|k| lifecycle::find_key(&vault, Some(k), &schedule, ctx.at))
        .transpose()?;
    let report = status::report(&vault, &schedule, only.as_ref(), ctx.at)?;
    if ctx.json {
        ui::emit_json(&report)?;
    } else {
        let mut out = String::new();
        if report.keys.is_empty() {
            out.push_str("The vault holds no keys yet: `keycycle generate --cycle next`.\n");
        }
        for k in &report.keys {
            let mark = if k.cycle == report.current_cycle {
                " (current cycle)"
            } else {
                ""
            };
            out.push_str(&format!("{}{}\n", k.cycle_label, mark));
            out.push_str(&format!("  fingerprint   {}\n", k.fingerprint_grouped));
            out.push_str(&format!("  created       {}\n", clock::day(k.created)));
            let left = if k.days_left >= 0 {
                format!("{} days left", k.days_left)
            } else {
                format!("expired {} days ago", -k.days_left)
            };
            out.push_str(&format!(
                "  expires       {} ({left})\n",
                clock::day(k.expires)
            ));
            for s in &k.subkeys {
                out.push_str(&format!(
                    "  subkey        [{}] {}{}{}\n",
                    s.flags,
                    s.fingerprint,
                    s.expires
                        .map(|e| format!(" expires {}", clock::day(e)))
                        .unwrap_or_default(),
                    if s.revoked {
                        " REVOKED"
                    } else if !s.alive {
                        " not alive"
                    } else {
                        ""
                    }
                ));
            }
            out.push_str(&format!(
                "  revocation    {}\n",
                k.revocation
                    .as_ref()
                    .map(|r| format!("REVOKED ({}) {}", r.reason, r.message))
                    .unwrap_or_else(|| "not revoked".into())
            ));
            let a = &k.attestations;
            out.push_str(&format!(
                "  attestations  {}\n",
                if a.of == 0 {
                    "no root on the roster has an OpenPGP cert".to_string()
                } else {
                    format!(
                        "{} of {} roots, majority {}{}",
                        a.by.len(),
                        a.of,
                        if a.majority { "reached" } else { "not reached" },
                        if a.missing.is_empty() {
                            String::new()
                        } else {
                            format!("; missing: {}", a.missing.join(", "))
                        }
                    )
                }
            ));
            out.push_str(&format!(
                "  cross-signed  {}\n",
                match k.cross_signed {
                    Some(true) => "yes, by the previous cycle's key",
                    Some(false) => "NO: the previous cycle's key has not certified it",
                    None => "unknown (the previous cycle's key is not in the vault)",
                }
            ));
            out.push_str(&format!(
                "  escrow        {} recipients\n",
                k.escrow_recipients.len()
            ));
            if ctx.verbose > 0 {
                for r in &k.escrow_recipients {
                    out.push_str(&format!("                {r}\n"));
                }
            }
            out.push_str(&format!(
                "  published     {}\n",
                k.last_publish
                    .map(clock::day)
                    .unwrap_or_else(|| "never".into())
            ));
            for f in &k.findings {
                let level = match f.level {
                    keycycle::status::Level::Ok => "note (past cycle)",
                    keycycle::status::Level::Warning => "WARNING",
                    keycycle::status::Level::Critical => "CRITICAL",
                };
                out.push_str(&format!("  {level}: {}\n", f.message));
            }
        }
        for f in &report.findings {
            out.push_str(
                &format!("{:?}: {}\n", f.level, f.message)
                    .replace("Warning", "WARNING")
                    .replace("Critical", "CRITICAL"),
            );
        }
        if args.check {
            out.push_str(&format!(
                "{}\n",
                match report.level {
                    Level::Ok => "OK",
                    Level::Warning => "WARNING",
                    Level::Critical => "CRITICAL",
                }
            ));
        }
        ui::emit(&out);
    }
    Ok(if args.check {
        ExitCode::from(report.level.exit_code())
    } else {
        ExitCode::SUCCESS
    })
}
