//! The policy's history as this machine knows it: version 1 pinned, every
//! later version accepted once (its signatures judged at that instant, by
//! the roots of the version before it and by its own) and recorded in the
//! trust store with its digest. Afterwards a version is never judged again,
//! so a later commit that deletes a version or a signature, re-encodes a
//! file or adds a root's revocation to `roster/` cannot put an older
//! version back in force: it is refused as a rollback, naming both
//! versions.

use super::{digest, signatures, version_path, Pending, Policy, State};
use crate::base::clock::Time;
use crate::base::error::{Error, Result};
use crate::vault::trust::{Accepted, Entry, TrustStore};
use crate::vault::Vault;

const ROLLBACK_HINT: &str = "restore policy/ from the vault's git history (runbooks/policy-change.md, \"keycycle reports a rollback\"); nothing was changed";

/// The versions on disk, in order, as bytes (stops at the first gap).
fn versions(vault: &Vault) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for n in 1.. {
        let path = version_path(vault, n);
        if crate::base::fs::fsx::kind(&path)?.is_none() {
            break;
        }
        out.push(crate::base::fs::fsx::read_file(&path)?);
    }
    Ok(out)
}

/// The policy in force in `vault` as this machine trusts it; `None` when
/// the vault has no policy and this machine never pinned one for it.
pub fn load(vault: &Vault, at: Time) -> Result<Option<State>> {
    let trust = vault.trust();
    let entry = trust.entry(vault.root())?;
    let files = versions(vault)?;
    let highest = entry
        .highest()
        .map(|a| a.version)
        .unwrap_or(u32::from(entry.policy.is_some()));
    let Some(first) = files.first() else {
        if let Some(pin) = entry.policy {
            return Err(Error::vault(
                format!(
                    "the vault's signed policy is missing (this machine pinned version 1 as {pin}{})",
                    accepted_note(&entry.accepted)
                ),
                "restore policy/ from the vault's git history; nothing was changed",
            ));
        }
        return Ok(None);
    };
    let pin = digest(first);
    check_pin(vault, &trust, &entry, &pin)?;
    check_none_missing(&entry, files.len() as u32, highest)?;
    let mut policy = Policy::parse(first, &version_path(vault, 1))?;
    policy.check_loaded(&version_path(vault, 1))?;
    let mut current = pin.clone();
    let mut pending = None;
    for (i, bytes) in files.iter().enumerate().skip(1) {
        let n = i as u32 + 1;
        let path = version_path(vault, n);
        let d = digest(bytes);
        if let Some(a) = entry.accepted(n) {
            if a.digest != d {
                return Err(Error::vault(
                    format!(
                        "policy/v{n}.toml is not the version {n} this machine accepted ({}; the file is {d}): the vault would roll back to version {}",
                        a.digest,
                        n - 1
                    ),
                    ROLLBACK_HINT,
                ));
            }
        }
        let next = Policy::parse(bytes, &path)?;
        if next.version != n || next.previous.as_deref() != Some(current.as_str()) {
            return Err(Error::vault(
                format!("policy/v{n}.toml does not follow version {}: its version or previous digest is wrong", n - 1),
                "restore policy/ from git history; write new versions with keycycle policy propose",
            ));
        }
        next.check_loaded(&path)?;
        if n <= highest {
            // Accepted here before: its signatures were judged then.
            policy = next;
            current = d;
            continue;
        }
        let judged = judge(vault, n, bytes, &policy, next, d, at)?;
        match judged {
            Judged::Accepted(next, d) => {
                policy = *next;
                current = d;
            }
            Judged::Pending(p) => {
                pending = Some(*p);
                break;
            }
        }
    }
    Ok(Some(State {
        policy,
        digest: current,
        pin,
        pending,
    }))
}

/// ", and accepted version N (digest)" for an error about a missing policy.
fn accepted_note(accepted: &[Accepted]) -> String {
    accepted
        .iter()
        .max_by_key(|a| a.version)
        .map(|a| format!(", and accepted version {} as {}", a.version, a.digest))
        .unwrap_or_default()
}

/// Refuse a version 1 other than the one this machine pinned, or one it
/// never pinned (pinning it when this machine pinned it for another
/// checkout of the vault).
fn check_pin(vault: &Vault, trust: &TrustStore, entry: &Entry, pin: &str) -> Result<()> {
    match &entry.policy {
        Some(p) if p == pin => {}
        Some(p) => {
            return Err(Error::vault(
                format!(
                    "policy/v1.toml is not the version 1 this machine pinned ({p}; the file is {pin})"
                ),
                "the policy was replaced: restore it from git history; if the roots really started over, compare the new digest with them and run keycycle policy pin DIGEST",
            ))
        }
        None if trust.pinned_anywhere(pin)? => trust.pin(vault.root(), pin)?,
        None => {
            return Err(Error::vault(
                format!("this machine has not pinned the vault's policy (version 1 is {pin})"),
                format!("compare that digest with the one your roots recorded, then run keycycle policy pin {pin}"),
            ))
        }
    }
    Ok(())
}

/// Refuse a rollback by deletion: fewer versions on disk (`on_disk`) than
/// the `highest` this machine accepted.
fn check_none_missing(entry: &Entry, on_disk: u32, highest: u32) -> Result<()> {
    if on_disk < highest {
        let gone = on_disk + 1;
        let top = entry
            .accepted(highest)
            .map(|a| a.digest.as_str())
            .unwrap_or("?");
        return Err(Error::vault(
            format!(
                "policy/v{gone}.toml is missing, but this machine accepted version {highest} ({top}): the vault would roll back to version {}",
                gone - 1
            ),
            ROLLBACK_HINT,
        ));
    }
    Ok(())
}

/// A new version, judged once: accepted (and recorded in the trust store),
/// or waiting for signatures.
enum Judged {
    /// The version and its digest.
    Accepted(Box<Policy>, String),
    Pending(Box<Pending>),
}

/// Judge version `n` (`bytes`, digest `d`): accepted when enough roots of
/// `policy` (the version before it) and of `next` itself signed it.
fn judge(
    vault: &Vault,
    n: u32,
    bytes: &[u8],
    policy: &Policy,
    next: Policy,
    d: String,
    at: Time,
) -> Result<Judged> {
    let (good, mut missing, mut bad) = signatures(vault, n, bytes, policy, at);
    let (own_good, own_missing, own_bad) = signatures(vault, n, bytes, &next, at);
    let needed = usize::from(policy.policy_threshold);
    let own_needed = usize::from(next.policy_threshold);
    if good.len() >= needed && own_good.len() >= own_needed {
        vault.trust().accept(
            vault.root(),
            &Accepted {
                version: n,
                digest: d.clone(),
                at,
            },
        )?;
        return Ok(Judged::Accepted(Box::new(next), d));
    }
    for m in own_missing {
        if !missing.contains(&m) {
            missing.push(m);
        }
    }
    for b in own_bad {
        if !bad.contains(&b) {
            bad.push(b);
        }
    }
    Ok(Judged::Pending(Box::new(Pending {
        policy: next,
        digest: d,
        signed_by: good,
        missing,
        bad,
        needed,
        own_signed_by: own_good,
        own_needed,
    })))
}
