//! This machine's own record of a ceremony, outside the vault: the steps
//! that only a person can attest (the fingerprint read aloud, the escrow
//! drill) count as done only when this machine recorded them, for the
//! same key — `ceremonies/<cycle>.toml` in the vault is a file anyone
//! with commit access can write.
//!
//! `$KEYCYCLE_HOME/ceremonies/<sha256 of the canonical vault path>/<cycle>.toml`,
//! 0600 in 0700 directories, written atomically. The cycle id is checked
//! to be one safe file name before the path is built.

use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

use super::{Record, Step};
use crate::base::error::Result;
use crate::base::fs::atomic;
use crate::vault::{StoredKey, Vault};

/// The steps only a person at the ceremony can attest.
pub const PERSONAL: [Step; 2] = [Step::Fingerprint, Step::Drill];

/// The directory of `vault`'s ceremony records on this machine.
fn dir(vault: &Vault) -> PathBuf {
    let root = std::fs::canonicalize(vault.root()).unwrap_or_else(|_| vault.root().to_path_buf());
    let id = hex::encode(Sha256::digest(root.as_os_str().as_bytes()));
    vault.trust().dir().join("ceremonies").join(id)
}

fn path(vault: &Vault, cycle: &str) -> Result<PathBuf> {
    Record::check_cycle(cycle)?;
    Ok(dir(vault).join(format!("{cycle}.toml")))
}

/// This machine's record for `cycle`, or a fresh one.
pub fn load(vault: &Vault, cycle: &str) -> Result<Record> {
    Record::load_from(&path(vault, cycle)?, cycle)
}

/// Record that `step` finished here for the key `fingerprint` (a record
/// about another key starts over).
pub fn finish(
    vault: &Vault,
    local: &mut Record,
    fingerprint: Option<&str>,
    step: Step,
    note: &str,
) -> Result<()> {
    if local.fingerprint.as_deref() != fingerprint {
        local.fingerprint = fingerprint.map(String::from);
        local.done.clear();
    }
    local.done.insert(step, note.to_string());
    let path = path(vault, &local.cycle)?;
    atomic::create_dir(&vault.trust().dir().join("ceremonies"))?;
    atomic::create_dir(&dir(vault))?;
    let text = toml::to_string(local).map_err(anyhow::Error::from)?;
    atomic::write(&path, text.as_bytes(), atomic::SECRET_MODE)
}

/// Whether `step` is done for the ceremony whose vault record is `shared`:
/// a personal step only by this machine's record for the same key; any
/// other by the vault's record.
pub fn is_done(shared: &Record, local: &Record, step: Step) -> bool {
    if !PERSONAL.contains(&step) {
        return shared.is_done(step);
    }
    shared.fingerprint.is_some() && local.fingerprint == shared.fingerprint && local.is_done(step)
}

/// Whether `key` is a key of cycle `cycle` for this machine: the policy in
/// force lists it for that cycle; or, listed nowhere, it was generated on
/// this machine and its state says that cycle (and this machine's own
/// ceremony record, if it names a key, names this one).
pub fn belongs(
    vault: &Vault,
    key: &StoredKey,
    cycle: &str,
    local: Option<&Record>,
    at: crate::base::clock::Time,
) -> Result<bool> {
    let fpr = &key.state.fingerprint;
    if let Some(state) = crate::policy::load(vault, at)? {
        let listed: Vec<_> = state
            .policy
            .keys
            .iter()
            .filter(|k| &k.fingerprint == fpr)
            .collect();
        if !listed.is_empty() {
            return Ok(listed.iter().any(|k| k.cycle == cycle));
        }
    }
    let mine = local
        .and_then(|l| l.fingerprint.as_deref())
        .is_none_or(|l| l == fpr);
    Ok(mine && key.state.cycle == cycle && vault.trust().generated_here(fpr)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn personal_steps_count_only_from_the_local_record_for_the_same_key() {
        let mut shared = Record {
            cycle: "2027.1".into(),
            fingerprint: Some("F".into()),
            ..Record::default()
        };
        for s in [Step::Generate, Step::Fingerprint, Step::Drill] {
            shared.done.insert(s, "x".into());
        }
        let mut local = Record {
            cycle: "2027.1".into(),
            ..Record::default()
        };
        assert!(is_done(&shared, &local, Step::Generate));
        assert!(!is_done(&shared, &local, Step::Fingerprint));
        local.fingerprint = Some("G".into());
        local.done.insert(Step::Fingerprint, "read aloud".into());
        assert!(!is_done(&shared, &local, Step::Fingerprint), "another key");
        local.fingerprint = Some("F".into());
        assert!(is_done(&shared, &local, Step::Fingerprint));
        assert!(!is_done(&shared, &local, Step::Drill));
    }
}
