use std::process::ExitCode;

use keycycle::vault::config::{Config, ScheduleSource};
use keycycle::vault::schedule::Schedule;

use super::{Ctx, Outcome};
use crate::cli::CyclesArgs;
use crate::ui;

/// The configuration of the vault if there is one, else the defaults.
fn config_or_default(ctx: &Ctx) -> keycycle::Result<Config> {
    // A vault whose keycycle.toml does not load is an error, not a reason
    // to plan with the defaults.
    if ctx
        .vault_dir()?
        .join(keycycle::vault::config::CONFIG_FILE)
        .is_file()
    {
        return ctx.open_vault()?.config();
    }
    Ok(Config::default())
}

pub fn run(ctx: &Ctx, args: &CyclesArgs) -> Outcome {
    let mut config = config_or_default(ctx)?;
    if let Some(path) = &args.series_status {
        config.schedule.source = ScheduleSource::SeriesStatus;
        config.schedule.series_status = Some(path.clone());
        config.schedule.schedules_dir = args.schedules.clone();
    }
    let schedule = Schedule::from_config(&config)?;
    let current = schedule.resolve("current", ctx.at).ok().cloned();
    let cycles = schedule.cycles();
    let cur_idx = current
        .as_ref()
        .and_then(|c| cycles.iter().position(|x| x == c))
        .unwrap_or(cycles.len().saturating_sub(1));
    // Every cycle but the last has a successor to compute the expiry from.
    let shown: Vec<_> = cycles[..cycles.len() - 1]
        .iter()
        .enumerate()
        .filter(|(i, _)| args.all || (*i + 4 >= cur_idx && *i <= cur_idx + 2))
        .map(|(_, c)| schedule.plan(c))
        .collect::<keycycle::Result<_>>()?;
    let json = serde_json::json!({
        "current": current.as_ref().map(|c| &c.id),
        "overlap_days": schedule.policy().overlap_days,
        "cycles": shown,
    });
    ctx.show(&ui::Reply::new(&json, |_| {
        let mut out = format!(
            "{:<2} {:<9} {:<10} {:<10} {:<10} {:<23} {:<10}\n",
            "", "ID", "NAME", "START", "RELEASE", "MAKE KEY", "KEY EXPIRES"
        );
        for p in &shown {
            let c = &p.cycle;
            let mark = if Some(c) == current.as_ref() { "*" } else { "" };
            out.push_str(&format!(
                "{:<2} {:<9} {:<10} {:<10} {:<10} {} – {} {}{}\n",
                mark,
                keycycle::base::text::shown(&c.id),
                keycycle::base::text::shown(c.name.as_deref().unwrap_or("?")),
                c.start,
                c.release,
                p.create_from,
                p.create_by,
                keycycle::base::clock::day(p.expires),
                if c.projected { "  (projected)" } else { "" }
            ));
        }
        out.push_str(&format!(
            "\n* current at {}. A key expires {} days after the next cycle starts.\n",
            keycycle::base::clock::day(ctx.at),
            schedule.policy().overlap_days
        ));
        Ok(out)
    }))?;
    Ok(ExitCode::SUCCESS)
}
