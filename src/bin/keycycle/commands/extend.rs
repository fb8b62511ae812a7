use std::process::ExitCode;

use keycycle::custody::{self, KeyHome, Location};
use keycycle::vault::schedule::Schedule;
use keycycle::{base::clock, cert::change, Error};

use super::{Ctx, Outcome};
use crate::cli::ExtendArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &ExtendArgs) -> Outcome {
    let vault = ctx.lock_vault("extend")?;
    let schedule = Schedule::from_config(&vault.config()?)?;
    let key = keycycle::policy::find_trusted(&vault, args.key.get(), &schedule, ctx.at)?;
    let until = match (&args.cycle, &args.until) {
        (Some(c), None) => schedule.expiry(schedule.resolve(c, ctx.at)?)?,
        (None, Some(d)) => clock::parse_time(d)?,
        _ => {
            return Err(Error::input(
                "say how far to extend",
                "pass --cycle CYCLE or --until DATE",
            ))
        }
    };
    let details =
        serde_json::json!({ "fingerprint": key.state.fingerprint, "until": clock::iso(until) });
    if key.state.expires == until {
        // Already done, e.g. by a run that was killed before it logged it.
        if !vault.audited("extend", &key.state.fingerprint, |d| {
            d["until"] == details["until"]
        })? {
            vault.audit(ctx.at, "extend", details)?;
        }
        ui::emit(&format!(
            "{} already expires {}: nothing to do.\n",
            key.state.cycle,
            clock::day(until)
        ));
        return Ok(ExitCode::SUCCESS);
    }
    let ids = args.ids.load()?;
    let policy = keycycle::policy::require_for_sealing(&vault, ctx.at)?.policy;
    let primary = custody::primary_to_extend(&vault, &key, &ids, &policy)?;
    let extended = change::extend(&key.cert, &mut primary.primary_signer()?, until, ctx.at)?;
    primary.store(&KeyHome::new(&vault, &key, &policy, ctx.at), &extended)?;
    let mut details = details;
    details["with"] = primary.location().to_string().into();
    vault.audit(ctx.at, "extend", details)?;
    let escrow = match primary.location() {
        Location::Card { .. } => "signed by the card; the ladder re-made and re-sealed (the escrowed key and hard revocation are unchanged)",
        Location::Escrow { .. } => "escrow and ladder re-made",
    };
    ui::emit(&format!(
        "{} now expires {} (primary and live subkeys), with the {}; {escrow}.\n{}Re-export the signing subkey for CI.\n",
        key.state.cycle,
        clock::day(until),
        primary.location(),
        if args.publish.publish {
            String::new()
        } else {
            format!("Publish it (keycycle publish {}). ", key.state.cycle)
        }
    ));
    ctx.publish_after(&vault, &key.state.fingerprint, &args.publish)?;
    Ok(ExitCode::SUCCESS)
}
