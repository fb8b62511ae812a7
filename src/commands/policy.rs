use std::process::ExitCode;

use keycycle::certinfo;
use keycycle::custody::{self, own_key};
use keycycle::policy::diff::{self, Change};
use keycycle::policy::{self, Policy, PolicyKey, Root, State};
use keycycle::text::{self, shown};
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::{PolicyCommand, PolicySignArgs};
use crate::ui;

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

/// One policy as people read it: every root with their recipient in
/// full. Every value is the file's, so every value is escaped.
fn describe(p: &Policy, digest: &str) -> String {
    let n = p.roots.len();
    let mut out = format!(
        "policy version {} ({digest})\n  escrow: {} of {n} roots; revocations: {}; a change needs {} root signature(s)\n",
        p.version,
        p.escrow_threshold,
        match p.revocation_threshold {
            1 => "any one root".to_string(),
            r => format!("{r} of {n} roots"),
        },
        p.policy_threshold,
    );
    for r in &p.roots {
        out.push_str(&root_lines(r));
    }
    for k in &p.keys {
        out.push_str(&format!("  key   {}\n", key_text(k)));
    }
    out
}

/// A root as three lines (`root`, `OpenPGP`, `escrow`), the first without
/// its indent.
fn root_lines(r: &Root) -> String {
    format!(
        "  root  {} <{}>\n        OpenPGP {}\n        escrow  {}\n",
        shown(&r.name),
        shown(&r.email),
        r.fingerprint
            .as_deref()
            .map_or("none (cannot sign policy changes)".into(), shown),
        shown(&r.escrow_recipient)
    )
}

fn key_text(k: &PolicyKey) -> String {
    format!("{} {}", shown(&k.cycle), shown(&k.fingerprint))
}

/// What `changes` change, as `+`/`-`/`~` lines under a heading.
fn describe_changes(changes: &[Change], base: u32, which: &str) -> String {
    if changes.is_empty() {
        return format!("no changes from version {base} ({which})\n");
    }
    let mut out = format!("changes from version {base} ({which}):\n");
    let fields = |out: &mut String, fields: &[diff::Field]| {
        for f in fields {
            let v = |v: &Option<String>| v.as_deref().map_or("(none)".into(), shown);
            out.push_str(&format!(
                "        {}: {} -> {}\n",
                f.name,
                v(&f.from),
                v(&f.to)
            ));
        }
    };
    for c in changes {
        match c {
            Change::RootAdded { root } => out.push_str(&format!("+{}", &root_lines(root)[1..])),
            Change::RootRemoved { root } => out.push_str(&format!("-{}", &root_lines(root)[1..])),
            Change::RootChanged { name, fields: f } => {
                out.push_str(&format!("~ root  {}\n", shown(name)));
                fields(&mut out, f);
            }
            Change::KeyAdded { key } => out.push_str(&format!("+ key   {}\n", key_text(key))),
            Change::KeyRemoved { key } => out.push_str(&format!("- key   {}\n", key_text(key))),
            Change::KeyChanged {
                fingerprint,
                fields: f,
            } => {
                out.push_str(&format!("~ key   {}\n", shown(fingerprint)));
                fields(&mut out, f);
            }
            Change::Changed { field } => {
                out.push_str(&format!("~ {}\n", field.name.replace('_', " ")));
                fields(
                    &mut out,
                    &[diff::Field {
                        name: "value".into(),
                        ..field.clone()
                    }],
                );
            }
        }
    }
    out
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
    if ctx.json {
        ui::emit_json(&serde_json::json!({
            "digest": policy::digest(&bytes),
            "policy": p,
            "compared_with": base.as_ref().map(|(v, _, _)| v),
            "changes": changes,
        }))?;
    } else {
        ui::emit(&describe(&p, &policy::digest(&bytes)));
        if let (Some((v, _, which)), Some(c)) = (&base, &changes) {
            ui::emit(&describe_changes(c, *v, which));
        }
        ui::emit(&format!(
            "file to sign: {}\n",
            text::path(policy::version_path(&vault, n))
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Root names (from the policy file) as a list.
fn names(list: &[String], sep: &str) -> String {
    list.iter().map(|n| shown(n)).collect::<Vec<_>>().join(sep)
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
    if ctx.json {
        return ui::emit_json(&serde_json::json!({
            "in_force": state,
            "drafts_differ": drafts_differ,
            "generated_here_unlisted": unlisted.iter().map(|k| &k.state.fingerprint).collect::<Vec<_>>(),
            "appeared_by_commit": unknown.iter().map(|k| k.dir.display().to_string()).collect::<Vec<_>>(),
        }))
        .map(|_| ExitCode::SUCCESS);
    }
    let mut out = format!("in force: {}", describe(&state.policy, &state.digest));
    out.push_str(&format!("pinned version 1: {}\n", state.pin));
    if state.policy.version == 1 {
        let bytes = policy::version_bytes(&vault, 1)?;
        let (good, missing, _) = policy::signatures(&vault, 1, &bytes, &state.policy, ctx.at);
        out.push_str(&format!(
            "version 1 signed by {} root(s){}{}\n",
            good.len(),
            if good.is_empty() {
                String::new()
            } else {
                format!(": {}", names(&good, ", "))
            },
            if missing.is_empty() {
                String::new()
            } else {
                format!("; not yet: {}", names(&missing, ", "))
            }
        ));
    }
    if let Some(p) = &state.pending {
        out.push_str(&format!(
            "pending: version {} ({}): {} of {} signatures{}{}{}\n",
            p.policy.version,
            p.digest,
            p.signed_by.len(),
            p.needed,
            if p.signed_by.is_empty() {
                String::new()
            } else {
                format!(" (by {})", names(&p.signed_by, ", "))
            },
            if p.missing.is_empty() {
                String::new()
            } else {
                format!("; missing: {}", names(&p.missing, ", "))
            },
            if p.bad.is_empty() {
                String::new()
            } else {
                format!("; BAD: {}", names(&p.bad, "; "))
            },
        ));
        if p.own_signed_by.len() < p.own_needed {
            out.push_str(&format!(
                "         and its own roots must co-sign it: {} of {}{}\n",
                p.own_signed_by.len(),
                p.own_needed,
                if p.own_signed_by.is_empty() {
                    String::new()
                } else {
                    format!(" (by {})", names(&p.own_signed_by, ", "))
                },
            ));
        }
    }
    if let Some(e) = state.policy.expires {
        out.push_str(&format!(
            "the policy in force seals secrets until {}{}\n",
            keycycle::clock::day(e),
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
    ui::emit(&out);
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
    if ctx.json {
        ui::emit_json(&serde_json::json!({ "version": p.version, "digest": digest, "policy": p }))?;
        return Ok(ExitCode::SUCCESS);
    }
    ui::emit(&describe(p, digest));
    ui::emit(&format!(
        "Wrote policy/v{v}.toml. Each root checks it (keycycle policy show) and signs it:\n  keycycle policy sign --with-key YOUR-SECRET-KEY.asc\n  (or gpg --armor --detach-sign --output policy/v{v}.sig/YOUR-FINGERPRINT.asc policy/v{v}.toml)\n",
        v = p.version
    ));
    if p.version == 1 {
        ui::emit(&format!(
            "Pinned here. Every other root compares this digest out of band and runs:\n  keycycle policy pin {digest}\n"
        ));
    }
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
        let e = keycycle::clock::parse_time(e)?;
        if e <= ctx.at {
            return Err(Error::input(
                format!("--expires {} is not after --time", keycycle::clock::day(e)),
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
    let roster = keycycle::roster::load(vault)?;
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
    let mine = certinfo::read_cert_file(&args.with_key)?.remove(0);
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
        certinfo::primary_uid(&mine),
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
