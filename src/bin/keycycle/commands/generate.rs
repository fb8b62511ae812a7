use std::process::ExitCode;

use keycycle::custody::{escrow, Recipient};
use keycycle::ceremony::generate::{self, GenerateRequest};
use keycycle::vault::schedule::Schedule;

use super::{Ctx, Outcome};
use crate::cli::GenerateArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &GenerateArgs) -> Outcome {
    let vault = ctx.lock_vault("generate")?;
    let suite = args.cipher_suite.as_deref().map(str::parse).transpose()?;
    let extra = args
        .escrow_recipient
        .iter()
        .map(|r| Recipient::parse(r))
        .collect::<keycycle::Result<Vec<_>>>()?;
    let cycle = match &args.cycle {
        Some(c) => c.clone(),
        None => ask_cycle(ctx, &vault)?,
    };
    let report = generate::generate(
        &vault,
        &GenerateRequest {
            cycle,
            suite,
            extra_recipients: extra,
            encryption_subkey: args.encryption_subkey,
            force: args.force,
            at: ctx.at,
        },
    )?;
    window_warning(ctx, &vault, &report.cycle)?;
    ctx.show(&ui::Reply::new(&report, |_| {
        let escrowed = escrowed_text(&vault, &report)?;
        Ok(format!(
            "Generated the {} key ({}):\n  {}\n      Key fingerprint = {}\n  expires {}; signing subkey {}\n  {escrowed}\n  in {}\n{}",
            report.cycle_label,
            report.cipher_suite,
            keycycle::base::text::shown(&report.user_id),
            report.fingerprint_grouped,
            keycycle::base::clock::day(report.expires),
            report.signing_subkey,
            keycycle::base::text::shown(&report.directory),
            policy_next(&vault, &report, ctx.at)?
        ))
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// Ask which cycle the key is for: the next or the current one.
fn ask_cycle(ctx: &Ctx, vault: &keycycle::vault::Vault) -> keycycle::Result<String> {
    let schedule = Schedule::from_config(&vault.config()?)?;
    let items: Vec<(String, String)> = ["next", "current"]
        .iter()
        .filter_map(|w| {
            schedule
                .resolve(w, ctx.at)
                .ok()
                .map(|c| (format!("{w}: {}", c.label()), c.id.clone()))
        })
        .collect();
    ui::select(
        ctx.batch,
        "--cycle CYCLE",
        "Which cycle is the key for?",
        &items,
    )
}

/// Where the escrow went: shares (and the revocations' own shares) or
/// files sealed to every recipient.
fn escrowed_text(
    vault: &keycycle::vault::Vault,
    report: &generate::GenerateReport,
) -> keycycle::Result<String> {
    let dir = std::path::Path::new(&report.directory);
    if !dir.join(escrow::SHARES_DIR).is_dir() {
        return Ok(format!(
            "escrowed to {} recipients: primary.age, revocation.age, revocation-retired.age ({} dated rungs)",
            report.escrow_recipients, report.ladder_rungs
        ));
    }
    let config = vault.config()?;
    let revocations = if dir
        .join(keycycle::custody::revocation_shares::REVOCATION_SHARES_DIR)
        .is_dir()
    {
        format!(
            "the revocations in shares of their own, any {} of which revoke (revocation-shares/, revocation-retired-shares/)",
            config.escrow.revocation_threshold
        )
    } else {
        "the revocations sealed to every root: any one revokes (revocation.age, revocation-retired.age)".into()
    };
    Ok(format!(
        "escrowed in {} shares, any {} of which open it (shares/; {} dated rungs); {revocations}",
        report.escrow_recipients, config.escrow.threshold, report.ladder_rungs,
    ))
}

/// Warn, as the ceremony does, when the cycle's key window has not opened.
fn window_warning(ctx: &Ctx, vault: &keycycle::vault::Vault, cycle: &str) -> keycycle::Result<()> {
    let schedule = Schedule::from_config(&vault.config()?)?;
    if let Ok(c) = schedule.resolve(cycle, ctx.at) {
        if let Some(w) = keycycle::ceremony::window_warning(&schedule, c, ctx.at) {
            ui::warn(&w);
        }
    }
    Ok(())
}

/// What makes the new key a vault key for everyone: the first policy
/// pinned here is pinned by every other root; a later key waits for the
/// roots to sign the next policy version.
fn policy_next(
    vault: &keycycle::vault::Vault,
    report: &generate::GenerateReport,
    at: keycycle::base::clock::Time,
) -> keycycle::Result<String> {
    if let Some(digest) = &report.policy_pinned {
        return Ok(format!(
            "Wrote the vault's first policy (version 1, with this key) and pinned it here:
  {digest}
Record this digest. Every other root compares it out of band and runs:
  keycycle policy pin {digest}
"
        ));
    }
    let Some(state) = keycycle::policy::load(vault, at)? else {
        return Ok(String::new());
    };
    if state.lists(&report.fingerprint) {
        return Ok(String::new());
    }
    Ok(format!(
        "Not in the signed policy in force (version {}): only this machine trusts the key until the roots sign a version that lists it:
  keycycle policy propose, then the roots run keycycle policy sign
",
        state.policy.version
    ))
}
