use std::process::ExitCode;

use keycycle::base::text::{self, shown};
use keycycle::cert;
use keycycle::custody::{self, own_key};
use keycycle::policy::diff;
use keycycle::policy::{self, Policy, State};
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::{PolicyCommand, PolicySignArgs};
use crate::ui;
use describe::{describe, describe_changes, pending_lines, version_one_line};

mod describe;

pub fn run(ctx: &Ctx, cmd: &PolicyCommand) -> Outcome {
    match cmd {
        PolicyCommand::Show { number } => show(ctx, *number),
        PolicyCommand::Status => status(ctx),
        PolicyCommand::Init => init(ctx),
        PolicyCommand::Propose { expires } => propose(ctx, expires.as_deref()),
        PolicyCommand::Sign(args) => sign(ctx, args),
        PolicyCommand::Pin { digest } => pin(ctx, digest),
    }
}

fn show(ctx: &Ctx, version: Option<u32>) -> Outcome {
    let vault = ctx.open_vault()?;
    let state = policy::load(&vault, ctx.at)?;
    let n = match (version, &state) {
        (Some(n), _) => n,
        (None, Some(s)) => s
            .pending
            .as_ref()
            .map_or(s.policy.version, |p| p.policy.version),
        (None, None) => return Err(policy::require(&vault, ctx.at).unwrap_err()),
    };
    let bytes = policy::version_bytes(&vault, n)?;
    let p = Policy::parse(&bytes, &policy::version_path(&vault, n))?;
    // A proposal against the version in force; one in force (or before
    // it) against the version before it.
    let base = match &state {
        Some(s) if n > s.policy.version => {
            Some((s.policy.version, s.policy.clone(), "the version in force"))
        }
        _ if n > 1 => {
            let path = policy::version_path(&vault, n - 1);
            let before = Policy::parse(&policy::version_bytes(&vault, n - 1)?, &path)?;
            Some((n - 1, before, "the version before it"))
        }
        _ => None,
    };
    let changes = base.as_ref().map(|(_, b, _)| diff::diff(b, &p));
    let json = serde_json::json!({
        "digest": policy::digest(&bytes),
        "policy": p,
        "compared_with": base.as_ref().map(|(v, _, _)| v),
        "changes": changes,
    });
    ctx.show(&ui::Reply::new(&json, |_| {
        let mut out = describe(&p, &policy::digest(&bytes));
        if let (Some((v, _, which)), Some(c)) = (&base, &changes) {
            out.push_str(&describe_changes(c, *v, which));
        }
        out.push_str(&format!(
            "file to sign: {}\n",
            text::path(policy::version_path(&vault, n))
        ));
        Ok(out)
    }))?;
    Ok(ExitCode::SUCCESS)
}

fn status(ctx: &Ctx) -> Outcome {
    let vault = ctx.open_vault()?;
    let state = policy::require(&vault, ctx.at)?;
    let (trusted, unknown) = policy::partition(&vault, Some(&state), vault.keys()?)?;
    let unlisted: Vec<_> = trusted
        .iter()
        .filter(|k| !state.lists(&k.state.fingerprint))
        .collect();
    let draft = policy::draft(&vault, Some(&state), &[], ctx.at)?;
    let drafts_differ = differs(&draft, &state.policy);
    let json = serde_json::json!({
        "in_force": state,
        "drafts_differ": drafts_differ,
        "generated_here_unlisted": unlisted.iter().map(|k| &k.state.fingerprint).collect::<Vec<_>>(),
        "appeared_by_commit": unknown.iter().map(|k| k.dir.display().to_string()).collect::<Vec<_>>(),
    });
    ctx.show(&ui::Reply::new(&json, |_| {
        let mut out = format!("in force: {}", describe(&state.policy, &state.digest));
        out.push_str(&format!("pinned version 1: {}\n", state.pin));
        if state.policy.version == 1 {
            out.push_str(&version_one_line(&vault, &state, ctx.at)?);
        }
        if let Some(p) = &state.pending {
            out.push_str(&pending_lines(p));
        }
        if let Some(e) = state.policy.expires {
            out.push_str(&format!(
                "the policy in force seals secrets until {}{}\n",
                keycycle::base::clock::day(e),
                if e <= ctx.at {
                    " (EXPIRED: renew it with keycycle policy propose --expires DATE)"
                } else {
                    ""
                }
            ));
        }
        if drafts_differ {
            out.push_str("the drafts (roster/roster.toml, [escrow]/[policy] threshold) differ from the policy in force: they have no effect until keycycle policy propose and the roots sign\n");
        }
        for k in &unlisted {
            out.push_str(&format!(
                "generated here, not in the policy yet: {} {} (keycycle policy propose)\n",
                shown(&k.state.cycle),
                shown(&k.state.fingerprint)
            ));
        }
        for k in &unknown {
            out.push_str(&format!(
                "NOT TRUSTED: {} appeared by commit (not in the policy, not generated here)\n",
                text::path(&k.dir)
            ));
        }
        Ok(out)
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// Whether `draft` asks for anything the policy in force does not say.
fn differs(draft: &Policy, p: &Policy) -> bool {
    draft.roots != p.roots
        || draft.escrow_threshold != p.escrow_threshold
        || draft.revocation_threshold != p.revocation_threshold
        || draft.policy_threshold != p.policy_threshold
        || draft.keys != p.keys
        || draft.keyservers != p.keyservers
        || draft.announce_template != p.announce_template
}

fn written(ctx: &Ctx, p: &Policy, digest: &str) -> Outcome {
    let json = serde_json::json!({ "version": p.version, "digest": digest, "policy": p });
    ctx.show(&ui::Reply::new(&json, |_| {
        let mut out = describe(p, digest);
        out.push_str(&format!(
            "Wrote policy/v{v}.toml. Each root checks it (keycycle policy show) and signs it:\n  keycycle policy sign --with-key YOUR-SECRET-KEY.asc\n  (or gpg --armor --detach-sign --output policy/v{v}.sig/YOUR-FINGERPRINT.asc policy/v{v}.toml)\n",
            v = p.version
        ));
        if p.version == 1 {
            out.push_str(&format!(
                "Pinned here. Every other root compares this digest out of band and runs:\n  keycycle policy pin {digest}\n"
            ));
        }
        Ok(out)
    }))?;
    Ok(ExitCode::SUCCESS)
}

fn init(ctx: &Ctx) -> Outcome {
    let vault = ctx.lock_vault("policy init")?;
    if policy::exists(&vault) {
        return Err(Error::input(
            "the vault already has a policy",
            "change it with keycycle policy propose",
        ));
    }
    let keys = vault.keys()?;
    let first = policy::draft(&vault, None, &keys, ctx.at)?;
    let digest = policy::write(&vault, &first)?;
    vault.audit(
        ctx.at,
        "policy init",
        serde_json::json!({ "digest": digest, "keys": keys.len() }),
    )?;
    written(ctx, &first, &digest)
}

fn propose(ctx: &Ctx, expires: Option<&str>) -> Outcome {
    let vault = ctx.lock_vault("policy propose")?;
    let state = policy::require(&vault, ctx.at)?;
    if let Some(p) = &state.pending {
        return Err(Error::input(
            format!(
                "version {} is still waiting for signatures ({} of {})",
                p.policy.version,
                p.signed_by.len(),
                p.needed
            ),
            "have the roots sign it (keycycle policy status), or remove that file before proposing another",
        ));
    }
    let (trusted, _) = policy::partition(&vault, Some(&state), vault.keys()?)?;
    let mut next = policy::draft(&vault, Some(&state), &trusted, ctx.at)?;
    if let Some(e) = expires {
        let e = keycycle::base::clock::parse_time(e)?;
        if e <= ctx.at {
            return Err(Error::input(
                format!(
                    "--expires {} is not after --time",
                    keycycle::base::clock::day(e)
                ),
                "give a date in the future, e.g. one year from now",
            ));
        }
        next.expires = Some(e);
    }
    // A policy that expires within the warning window (or has expired) is
    // renewed by proposing the same contents with a new expiry.
    let renewing = state.policy.expires.is_some_and(|e| {
        e - ctx.at <= chrono::Duration::days(keycycle::status::POLICY_EXPIRY_WARNING_DAYS)
    });
    if expires.is_none() && !renewing && !differs(&next, &state.policy) {
        return Err(Error::input(
            "the drafts say nothing new: the policy in force already has this roster, these thresholds and these keys",
            "change the roster or the thresholds first, or generate the key to add; to renew the policy only, pass --expires DATE",
        ));
    }
    let digest = policy::write(&vault, &next)?;
    vault.audit(
        ctx.at,
        "policy propose",
        serde_json::json!({ "version": next.version, "digest": digest }),
    )?;
    written(ctx, &next, &digest)
}

fn pending_or(state: &State, version: Option<u32>) -> keycycle::Result<u32> {
    match (version, &state.pending) {
        (Some(n), _) => Ok(n),
        (None, Some(p)) => Ok(p.policy.version),
        (None, None) => Err(Error::input(
            format!(
                "nothing waits for signatures: version {} is in force",
                state.policy.version
            ),
            "pass --policy-version N to sign a version anyway",
        )),
    }
}

/// A root on the draft roster only signs nothing yet: their key is in no
/// version written so far; the next proposal lists them and they co-sign it.
fn draft_only(vault: &keycycle::vault::Vault, state: &State, fpr: &str) -> keycycle::Result<()> {
    let listed = |p: &Policy| {
        p.roots
            .iter()
            .any(|r| r.fingerprint.as_deref() == Some(fpr))
    };
    if listed(&state.policy) || state.pending.as_ref().is_some_and(|p| listed(&p.policy)) {
        return Ok(());
    }
    let roster = keycycle::policy::roster::load(vault)?;
    let Some(m) = roster
        .members
        .iter()
        .find(|m| m.fingerprint.as_deref() == Some(fpr))
    else {
        return Ok(());
    };
    Err(Error::input(
        format!(
            "your key is in the draft, not in the policy in force: {} is on roster/roster.toml but not in policy version {}{}",
            shown(&m.name),
            state.policy.version,
            state
                .pending
                .as_ref()
                .map(|p| format!(" nor in the proposed version {}", p.policy.version))
                .unwrap_or_default()
        ),
        "keycycle policy propose writes the next version with the roster; then you co-sign it and the roots of the version in force sign it",
    ))
}

fn sign(ctx: &Ctx, args: &PolicySignArgs) -> Outcome {
    let vault = ctx.lock_vault("policy sign")?;
    let state = policy::require(&vault, ctx.at)?;
    let mine = cert::read_cert_file(&args.with_key)?.remove(0);
    draft_only(&vault, &state, &mine.fingerprint().to_hex())?;
    let n = pending_or(&state, args.number)?;
    if !mine.is_tsk() {
        return Err(Error::input(
            format!(
                "{} is a public certificate: a root signs the policy with their own secret key",
                text::path(&args.with_key)
            ),
            "export your own secret key (gpg --export-secret-keys --armor YOUR-FINGERPRINT > me-secret.asc) and pass it to --with-key",
        ));
    }
    let passphrase = match &args.passphrase.passphrase_file {
        Some(p) if own_key::needs_passphrase(&mine) => Some(custody::read_passphrase(p)?),
        _ => None,
    };
    let path = policy::sign(&vault, n, &mine, passphrase.as_ref(), ctx.at)?;
    vault.audit(
        ctx.at,
        "policy sign",
        serde_json::json!({ "version": n, "fingerprint": mine.fingerprint().to_hex() }),
    )?;
    let after = policy::require(&vault, ctx.at)?;
    ui::emit(&format!(
        "Signed policy version {n} as {}: {}\n{}\n",
        cert::primary_uid(&mine),
        text::path(&path),
        if after.policy.version >= n {
            format!("Version {n} is in force.")
        } else {
            after
                .pending
                .map(|p| format!("{} of {} signatures.", p.signed_by.len(), p.needed))
                .unwrap_or_default()
        }
    ));
    Ok(ExitCode::SUCCESS)
}

fn pin(ctx: &Ctx, digest: &str) -> Outcome {
    let vault = ctx.open_vault()?;
    let bytes = policy::version_bytes(&vault, 1)?;
    let actual = policy::digest(&bytes);
    if actual != digest.trim() {
        return Err(Error::input(
            format!("policy/v1.toml is {actual}, not the digest given"),
            "do not pin it: the vault's policy is not the one your roots recorded; find out who changed it",
        ));
    }
    vault.trust().pin(vault.root(), &actual)?;
    ui::emit(&format!(
        "Pinned the vault's policy version 1 ({actual}) on this machine.\n"
    ));
    Ok(ExitCode::SUCCESS)
}
