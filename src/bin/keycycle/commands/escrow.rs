use std::process::ExitCode;

use keycycle::base::clock::Time;
use keycycle::base::text::shown;
use keycycle::custody::{self, Identities};
use keycycle::vault::Vault;
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::{EscrowCommand, IdentityArgs};
use crate::ui;

/// The identities the escrow commands cannot do without.
fn identities(args: &IdentityArgs) -> keycycle::Result<Identities> {
    if args.identity.is_empty() {
        return Err(Error::input(
            "the escrow can only be opened with a root's identity",
            "pass --identity FILE (your age identity, SSH private key or decrypted share)",
        ));
    }
    args.load()
}

pub fn run(ctx: &Ctx, cmd: &EscrowCommand) -> Outcome {
    match cmd {
        EscrowCommand::Verify { key, ids } => verify(ctx, key.as_deref(), &identities(ids)?),
        EscrowCommand::Rewrap { ids } => rewrap(ctx, &identities(ids)?),
    }
}

fn verify(ctx: &Ctx, key: Option<&str>, ids: &Identities) -> Outcome {
    let vault = ctx.open_vault()?;
    let keys = match key {
        Some(k) => vec![ctx.find_key(&vault, Some(k))?],
        None => {
            let state = keycycle::policy::load(&vault, ctx.at)?;
            keycycle::policy::partition(&vault, state.as_ref(), vault.keys()?)?.0
        }
    };
    let mut drills = Vec::new();
    for k in &keys {
        let d = custody::drill(&vault, k, ids).map_err(|e| why_not(&vault, ids, ctx.at, e))?;
        drills.push(d);
    }
    ctx.show(&ui::Reply::new(&drills, |_| {
        let mut out = String::new();
        for (k, d) in keys.iter().zip(&drills) {
            match &d.share {
                Some(share) => out.push_str(&format!(
                    "ok  {} {}: your identity opens {}; nothing was reconstructed; {}\n",
                    k.state.cycle,
                    k.state.fingerprint,
                    keycycle::base::text::shown(share),
                    revocations_line(d)
                )),
                None => out.push_str(&format!(
                    "ok  {} {}: your identity opens the escrow; the secret matches the cert; the revocation certificate ({}) and {} ladder rungs are valid for it\n",
                    k.state.cycle, k.state.fingerprint, d.revocation.reason, d.ladder_rungs
                )),
            }
        }
        Ok(out)
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// What the drill of a threshold escrow says of the revocations.
fn revocations_line(d: &custody::Drill) -> String {
    let valid = format!(
        "the revocation certificate ({}) and {} ladder rungs",
        d.revocation.reason, d.ladder_rungs
    );
    match (&d.revocation_shares, d.revocation.time) {
        (None, Some(_)) => format!("{valid}, sealed apart, open and are valid for it"),
        (None, None) => "the revocations are inside the shares (run keycycle escrow rewrap with enough roots to seal them apart)".into(),
        (Some(rs), Some(_)) => format!(
            "the revocations are split into shares (here: {}); {valid}, reconstructed from them, are valid for it",
            keycycle::base::text::shown(rs)
        ),
        (Some(rs), None) => format!(
            "the revocations are split into shares of their own; your identity opens {}; revoking needs the revocation threshold of roots",
            keycycle::base::text::shown(rs)
        ),
    }
}

fn rewrap(ctx: &Ctx, ids: &Identities) -> Outcome {
    let vault = ctx.lock_vault("escrow rewrap")?;
    let state = keycycle::policy::require_for_sealing(&vault, ctx.at)?;
    let (keys, unknown) = keycycle::policy::partition(&vault, Some(&state), vault.keys()?)?;
    for k in &unknown {
        ui::warn(&keycycle::policy::untrusted(k).to_string());
    }
    let recipients = state.policy.recipients()?;
    custody::rewrap(&vault, &keys, ids, &state.policy, ctx.at)
        .map_err(|e| why_not(&vault, ids, ctx.at, e))?;
    vault.audit(
        ctx.at,
        "escrow rewrap",
        serde_json::json!({ "keys": keys.len(), "recipients": recipients.len() }),
    )?;
    ui::emit(&format!(
        "Re-wrapped the escrow of {} key(s) for {} roots.\n",
        keys.len(),
        recipients.len()
    ));
    Ok(ExitCode::SUCCESS)
}

/// When the identities open nothing, the real cause during a roster
/// change: their root is in the policy in force but the escrow was not
/// re-wrapped for them yet, or is only on the draft roster.
fn why_not(vault: &Vault, ids: &Identities, at: Time, err: Error) -> Error {
    if !matches!(&err, Error::Input { msg, .. } if msg.starts_with("none of the given identities"))
    {
        return err;
    }
    let Ok(Some(state)) = keycycle::policy::load(vault, at) else {
        return err;
    };
    let version = state.policy.version;
    if let Some(root) = state
        .policy
        .roots
        .iter()
        .find(|r| ids.open_what_is_sealed_to(&r.escrow_recipient))
    {
        return Error::input(
            format!(
                "the rewrap is pending: {} is a root of the signed policy in force (version {version}), but the escrow was sealed before that and does not open with their identity yet",
                shown(&root.name)
            ),
            "a root whose identity opens the escrow today runs keycycle escrow rewrap --identity THEIRS; then run this again",
        );
    }
    let draft = keycycle::policy::roster::load(vault)
        .map(|r| r.members)
        .unwrap_or_default();
    if let Some(m) = draft
        .iter()
        .find(|m| ids.open_what_is_sealed_to(&m.escrow_recipient))
    {
        return Error::input(
            format!(
                "your key is in the draft, not in the policy in force: {} is on roster/roster.toml but not in the signed policy (version {version}), and the escrow is sealed only to its roots",
                shown(&m.name)
            ),
            "keycycle policy propose, the roots sign it (keycycle policy status), then a root already on the escrow runs keycycle escrow rewrap",
        );
    }
    err
}
