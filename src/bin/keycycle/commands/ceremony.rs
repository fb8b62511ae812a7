//! The guided key ceremony: pick the cycle, then the library's typed steps
//! run with the terminal as the operator.

use std::process::ExitCode;

use keycycle::ceremony::{self, Answers, Summary};
use keycycle::vault::schedule::{Cycle, Schedule};
use keycycle::vault::Vault;

use super::{Ctx, Outcome};
use crate::cli::CeremonyArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &CeremonyArgs) -> Outcome {
    // Ctrl-C stops at a prompt or after the step at work, saying where.
    ui::interrupt::catch();
    let vault = ctx.lock_vault("ceremony")?;
    let schedule = Schedule::from_config(&vault.config()?)?;
    let cycle = match &args.cycle {
        Some(c) => schedule.resolve(c, ctx.at)?.clone(),
        None => choose_cycle(ctx, &vault, &schedule)?,
    };
    if ceremony::trusted_of(&vault, &cycle.id, ctx.at)?.is_empty() {
        if let Some(w) = ceremony::window_warning(&schedule, &cycle, ctx.at) {
            ui::warn(&w);
        }
    }
    let answers = Answers {
        confirm_roster: args.confirm_roster,
        fingerprint_read: args.fingerprint_read,
        identity: args.ids.identity.clone(),
        keyserver: args.servers.keyserver.clone(),
        no_publish: args.no_publish,
        releases_done: args.releases_done,
        subkey_out: args.subkey_out.clone(),
        exports: args.exports.clone(),
        timeout: args.servers.timeout,
    };
    // The ceremony loads the escrow identities itself, through the run's UI.
    let token = ui::token::with_identity_passphrase(args.ids.identity_passphrase_file.as_deref())?;
    let mut terminal = ui::Terminal { batch: ctx.batch };
    let summary = ceremony::run(&vault, &cycle, &answers, &mut terminal, token, ctx.at)?;
    ctx.show(&ui::Reply::new(&summary, |_| {
        say_summary(&summary);
        Ok(String::new())
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// Ask which cycle the ceremony is for, among the choices it offers.
fn choose_cycle(ctx: &Ctx, vault: &Vault, schedule: &Schedule) -> keycycle::Result<Cycle> {
    let choices = ceremony::choices(vault, schedule, ctx.at)?;
    let items: Vec<(String, String)> = choices
        .iter()
        .map(|c| (c.label.clone(), c.cycle.id.clone()))
        .collect();
    let id = ui::select(
        ctx.batch,
        "--cycle CYCLE",
        "Which cycle is the key for?",
        &items,
    )
    .map_err(|e| match e {
        keycycle::Error::Interrupted { .. } => keycycle::Error::interrupted(
            "interrupted at the choice of cycle — nothing was changed",
            Some("run `keycycle ceremony` again".into()),
        ),
        e => e,
    })?;
    Ok(schedule.resolve(&id, ctx.at)?.clone())
}

/// What the ceremony did, in words: the attestation request, the open
/// steps or done, and what makes the key a vault key.
fn say_summary(summary: &Summary) {
    if let Some(r) = &summary.attestation_request {
        ui::emit(r);
    }
    let outside = summary.policy.as_ref().is_some_and(|p| !p.in_policy);
    if summary.open.is_empty() && outside {
        ui::say(&format!(
            "\nThe {} ceremony's steps are done, but the key is not a vault key yet.",
            summary.cycle_label
        ));
    } else if summary.open.is_empty() {
        ui::say(&format!(
            "\nThe {} ceremony is complete.",
            summary.cycle_label
        ));
    } else {
        let open: Vec<&str> = summary.open.iter().map(|s| s.name()).collect();
        ui::say(&format!(
            "\nOpen steps: {}. Run `keycycle ceremony --cycle {}` again to resume.",
            open.join(", "),
            summary.cycle
        ));
    }
    if let Some(p) = &summary.policy {
        let mut next = p.next.clone();
        next[..1].make_ascii_uppercase();
        ui::say(&next);
    }
}
