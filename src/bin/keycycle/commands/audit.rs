use std::process::ExitCode;

use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::AuditCommand;
use crate::ui;

/// The chain must be intact, and the log must still hold the entry this
/// machine last wrote or verified and the one the policy in force recorded
/// when it was proposed: a log that is shorter, or that differs from there
/// on, was truncated or rewritten (the chain alone cannot tell).
pub fn run(ctx: &Ctx, cmd: &AuditCommand) -> Outcome {
    let AuditCommand::Verify = cmd;
    let vault = ctx.open_vault()?;
    let path = vault.root().join(keycycle::vault::AUDIT_FILE);
    let text = keycycle::base::fs::fsx::read_to_string(&path)?;
    let entries = keycycle::vault::audit::verify(&text)?;
    let seen_here = vault.trust().entry(vault.root())?.audit_head;
    let policy = keycycle::policy::load(&vault, ctx.at)?;
    let in_policy = policy
        .as_ref()
        .and_then(|s| s.policy.audit_head.clone().map(|h| (h, s.policy.version)));
    if let Some(h) = &seen_here {
        keycycle::vault::audit::holds(&text, h).map_err(|why| {
            Error::vault(
                format!("audit.log was truncated or rewritten: {why} by this machine"),
                "restore audit.log from the vault's git history and find out who committed the change (git log -p -- audit.log)",
            )
        })?;
    }
    if let Some((h, v)) = &in_policy {
        keycycle::vault::audit::holds(&text, h).map_err(|why| {
            Error::vault(
                format!("audit.log was truncated or rewritten: {why} when policy version {v} was proposed"),
                "restore audit.log from the vault's git history and find out who committed the change (git log -p -- audit.log)",
            )
        })?;
    }
    if let Some(head) = keycycle::vault::audit::head(&text) {
        vault.trust().record_audit_head(vault.root(), &head)?;
    }
    ui::emit(&format!(
        "audit.log: {} entries, hash chain intact{}\n",
        entries.len(),
        match (&seen_here, &in_policy) {
            (None, None) => String::new(),
            _ => ", holds every entry this machine and the signed policy saw".into(),
        }
    ));
    Ok(ExitCode::SUCCESS)
}
