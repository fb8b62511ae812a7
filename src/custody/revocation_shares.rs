//! The escrowed revocations of a key and their own threshold R (the
//! signed policy's `revocation_threshold`). With R = 1 each revocation
//! file (`revocation.age`, `revocation-retired.age`) is sealed to every
//! root: any one root can revoke. With R > 1 each is split R-of-N with
//! Shamir's secret sharing ([`shares::split_of`]), one share per root,
//! each sealed to that root alone, in a directory of its own
//! (`revocation-shares/`, `revocation-retired-shares/`): revoking needs R
//! roots. Either way the primary (`primary.age`, `shares/`) is never read,
//! and the ladder can be re-made and re-sealed alone (a card's extension).

use std::path::PathBuf;

use super::age::{self, Identities, Recipient};
use super::sealed::{self, is_threshold, Sealed, LADDER_FILE, PRIMARY_FILE, REVOCATION_FILE};
use super::shares::{self, Share};
use super::Roots;
use crate::base::error::{Error, Result};
use crate::base::fs::fsx;
use crate::vault::{NewFile, StoredKey, Vault};

/// Where the shares of the hard revocation live when R > 1.
pub const REVOCATION_SHARES_DIR: &str = "revocation-shares";
/// Where the shares of the ladder live when R > 1.
pub const LADDER_SHARES_DIR: &str = "revocation-retired-shares";

/// The directory of shares that stands for revocation file `name`.
pub fn shares_dir(name: &str) -> &'static str {
    if name == LADDER_FILE {
        LADDER_SHARES_DIR
    } else {
        REVOCATION_SHARES_DIR
    }
}

/// Seal revocation file `name` (`plain`) for `recipients`: with
/// `threshold` 1 one file sealed to all (its header checked); above, one
/// share per recipient (named after `names`), each sealed to it alone.
pub fn seal(
    fpr: &str,
    name: &str,
    plain: &[u8],
    recipients: &[Recipient],
    names: &[String],
    threshold: u8,
) -> Result<Vec<NewFile>> {
    if threshold <= 1 {
        return Ok(vec![sealed::sealed_file(name.into(), plain, recipients)?]);
    }
    let split = shares::split_of(fpr, Some(name), plain, threshold, names)?;
    split
        .iter()
        .zip(recipients)
        .enumerate()
        .map(|(i, (share, r))| {
            let file = format!(
                "{}/{:02}-{}.age",
                shares_dir(name),
                i + 1,
                sealed::slug(&share.holder)
            );
            sealed::sealed_file(file, share.to_text().as_bytes(), std::slice::from_ref(r))
        })
        .collect()
}

/// Whether revocation file `name` of `key` is split into shares.
pub fn is_split(key: &StoredKey, name: &str) -> Result<bool> {
    fsx::check_dir(&key.dir.join(shares_dir(name)))
}

/// Whether `key`'s revocations are sealed on their own, as one file or in
/// shares (not so: an old threshold escrow, the revocations inside the
/// primary's shares).
pub fn apart(key: &StoredKey) -> Result<bool> {
    Ok(fsx::kind(&key.dir.join(REVOCATION_FILE))?.is_some() || is_split(key, REVOCATION_FILE)?)
}

/// Whether `key`'s revocations are sealed on their own (every key but
/// those split into shares before revocations were sealed apart).
pub fn revocations_apart(key: &StoredKey) -> Result<bool> {
    Ok(!is_threshold(key)? || apart(key)?)
}

/// The sealed `.age` files in `dir` of `key`, in name order (regular
/// files only: anything else there is an error naming it).
pub fn files_in(key: &StoredKey, dir: &str) -> Result<Vec<PathBuf>> {
    Ok(fsx::entries(&key.dir.join(dir), false)?
        .into_iter()
        .filter(|(p, k)| *k == fsx::Kind::File && p.extension().is_some_and(|x| x == "age"))
        .map(|(p, _)| p)
        .collect())
}

/// The shares of revocation file `name` that `ids` open (each checked to
/// belong to `key` and to hold `name`).
pub fn open_shares(key: &StoredKey, name: &str, ids: &Identities) -> Result<Vec<Share>> {
    let mut found = Vec::new();
    for p in files_in(key, shares_dir(name))? {
        if let Some(plain) = ids.try_open(&fsx::read_file(&p)?)? {
            let share = Share::parse(&plain)?;
            if !share.belongs_to(&key.state.fingerprint) || share.holds.as_deref() != Some(name) {
                return Err(Error::vault(
                    format!(
                        "{}: the share is not one of {name} of this key",
                        crate::base::text::path(&p)
                    ),
                    "restore it from git",
                ));
            }
            found.push(share);
        }
    }
    Ok(found)
}

/// Open revocation file `name` of `key` with `ids`: the file, or R of its
/// shares (those `ids` open, and shares handed in as files). Too few are
/// refused in one line saying how many are needed and given.
pub fn open(vault: &Vault, key: &StoredKey, name: &str, ids: &Identities) -> Result<Sealed> {
    if !is_split(key, name)? {
        return ids.open(&vault.read_key_file(key, name)?);
    }
    let mut found = ids.shares().to_vec();
    found.extend(open_shares(key, name, ids)?);
    shares::combine_of(
        &key.state.fingerprint,
        Some(name),
        &format!("revoking with the escrowed {name} needs"),
        &found,
    )
    .map_err(|e| match e {
        Error::Input { msg, .. } if msg.starts_with("none of the given") => Error::input(
            format!("none of the given identities opens a share of the escrowed {name}"),
            "pass the --identity of roots on the roster the key was escrowed to (as many as the revocation threshold)",
        ),
        e => e,
    })
}

/// What to remove when `files` replace `key`'s revocations: for each
/// revocation file written, its other layout, and the shares of it that
/// are not rewritten.
pub fn stale(key: &StoredKey, files: &[NewFile]) -> Result<Vec<String>> {
    let mut remove = Vec::new();
    for name in [REVOCATION_FILE, LADDER_FILE] {
        let dir = shares_dir(name);
        let in_dir = |f: &NewFile| f.name.starts_with(&format!("{dir}/"));
        if files.iter().any(|f| f.name == name) {
            remove.push(dir.to_string());
        } else if files.iter().any(in_dir) {
            remove.push(name.to_string());
            for p in files_in(key, dir)? {
                let rel = format!(
                    "{dir}/{}",
                    p.file_name().unwrap_or_default().to_string_lossy()
                );
                if !files.iter().any(|f| f.name == rel) {
                    remove.push(rel);
                }
            }
        }
    }
    Ok(remove)
}

/// Whether revocation file `name` of `key` is sealed to exactly the
/// `recipients`, in the layout of `threshold`: one file to all of them,
/// or one share file per recipient, each to that one alone.
pub fn sealed_to(
    vault: &Vault,
    key: &StoredKey,
    name: &str,
    recipients: &[Recipient],
    threshold: u8,
) -> Result<bool> {
    if is_split(key, name)? != (threshold > 1) {
        return Ok(false);
    }
    if threshold <= 1 {
        return Ok(age::check_recipients(&vault.read_key_file(key, name)?, recipients).is_ok());
    }
    let files = files_in(key, shares_dir(name))?;
    if files.len() != recipients.len() {
        return Ok(false);
    }
    for (p, r) in files.iter().zip(recipients) {
        if age::check_recipients(&fsx::read_file(p)?, std::slice::from_ref(r)).is_err() {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether `key`'s escrow lets its ladder be re-made and re-sealed alone,
/// without the secret (an extension signed by a card): the revocations
/// must be sealed apart (old M-of-N shares hold the ladder with the
/// secret) to exactly the roots of `policy` (the ladder may not go to other
/// roots than the key and its hard revocation).
pub fn ladder_alone(vault: &Vault, key: &StoredKey, policy: &dyn Roots) -> Result<()> {
    if !revocations_apart(key)? {
        return Err(Error::input(
            format!(
                "the escrow of {} is split into shares, which hold the revocation ladder together with the secret: extending re-makes the ladder, so the shares must be opened even with the primary on a card",
                key.state.cycle
            ),
            "pass --identity with the shares of enough roots",
        ));
    }
    let recipients = policy.recipients()?;
    let r = policy.revocation_threshold();
    let mut stale = None;
    if !sealed_to(vault, key, REVOCATION_FILE, &recipients, r)? {
        stale = Some(REVOCATION_FILE);
    } else if !is_threshold(key)?
        && age::check_recipients(&vault.read_key_file(key, PRIMARY_FILE)?, &recipients).is_err()
    {
        stale = Some(PRIMARY_FILE);
    }
    match stale {
        None => Ok(()),
        Some(name) => Err(Error::input(
            format!(
                "the escrow of {} is not sealed to the roots and thresholds of the signed policy: with the card only the ladder would be re-sealed, unlike {name}",
                key.state.cycle
            ),
            "re-seal the whole escrow: pass --identity (or run keycycle escrow rewrap --identity FILE first)",
        )),
    }
}

/// The drill of split revocations: the shares `ids` open, described
/// ("share 1 of 3 (threshold 2) held by Ann"); none is an error.
pub fn drill_shares(key: &StoredKey, ids: &Identities) -> Result<String> {
    let mut mine = Vec::new();
    for name in [REVOCATION_FILE, LADDER_FILE] {
        for s in open_shares(key, name, ids)? {
            mine.push(format!(
                "{name} share {} of {} (threshold {}) held by {}",
                s.index, s.shares, s.threshold, s.holder
            ));
        }
    }
    if mine.is_empty() {
        return Err(Error::input(
            "none of the given identities opens a share of this key's escrowed revocations",
            "pass the --identity of a root the key was escrowed to",
        ));
    }
    Ok(mine.join("; "))
}
