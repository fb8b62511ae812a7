//! The operator's local trust store, outside every vault: for each vault
//! (by its path) the digest of the policy version 1 this machine pinned,
//! every later version it accepted (so that the policy's history only moves
//! forward here), the head of the audit log it last wrote or verified, and
//! the cycle keys generated on this machine that no signed policy lists
//! yet, with their cycle. A commit to the vault cannot change it.
//!
//! `$KEYCYCLE_HOME/trust.toml` (default `~/.config/keycycle/`), 0600 in a
//! 0700 directory, changed under a lock and written atomically.

pub mod seen;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::base::error::{Error, IoContext, Result};
use crate::base::fs::atomic;

/// Where the trust store lives.
#[derive(Debug, Clone)]
pub struct TrustStore {
    dir: PathBuf,
}

/// What this machine knows about one vault.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// The vault's directory, canonical.
    pub path: PathBuf,
    /// `sha256:…` of the vault's policy version 1, pinned here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
    /// Every policy version accepted here (in force on this machine at
    /// some point), in order: never judged again, never rolled back.
    #[serde(default, rename = "accepted", skip_serializing_if = "Vec::is_empty")]
    pub accepted: Vec<Accepted>,
    /// The last audit-log entry this machine wrote or verified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<AuditHead>,
}

/// A policy version this machine accepted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    pub version: u32,
    /// `sha256:…` of the file as accepted.
    pub digest: String,
    /// When (keycycle's `--time`) it was accepted: its signatures were
    /// judged at this instant, once.
    #[serde(with = "crate::base::clock::serde_iso")]
    pub at: crate::base::clock::Time,
}

/// One entry of the audit log: its number and the SHA-256 of its line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditHead {
    pub seq: u64,
    pub hash: String,
}

impl Entry {
    /// The highest version accepted here.
    pub fn highest(&self) -> Option<&Accepted> {
        self.accepted.iter().max_by_key(|a| a.version)
    }

    /// The version `n` as accepted here.
    pub fn accepted(&self, n: u32) -> Option<&Accepted> {
        self.accepted.iter().find(|a| a.version == n)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// Fingerprints of keys generated on this machine, trusted here (in
    /// any copy of their vault) before a signed policy lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    generated: Vec<String>,
    /// The cycle each of them was generated for (`state.toml`'s is unsigned).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    generated_cycles: std::collections::BTreeMap<String, String>,
    #[serde(default, rename = "vault")]
    vaults: Vec<Entry>,
}

const FILE: &str = "trust.toml";

impl TrustStore {
    /// The trust store in `dir`.
    pub fn at(dir: impl Into<PathBuf>) -> TrustStore {
        TrustStore { dir: dir.into() }
    }

    /// `$KEYCYCLE_HOME`, else `$XDG_CONFIG_HOME/keycycle`, else
    /// `~/.config/keycycle`.
    pub fn default_location() -> TrustStore {
        let env = |k: &str| {
            std::env::var_os(k)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let dir = env("KEYCYCLE_HOME")
            .or_else(|| env("XDG_CONFIG_HOME").map(|d| d.join("keycycle")))
            .or_else(|| env("HOME").map(|d| d.join(".config/keycycle")))
            .unwrap_or_else(|| PathBuf::from(".keycycle"));
        TrustStore::at(dir)
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    fn read(&self) -> Result<File> {
        let path = self.path();
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                Error::vault(
                    format!(
                        "{}: not a keycycle trust store ({})",
                        path.display(),
                        e.message()
                    ),
                    "restore it from your backup, or move it away and pin the vault's policy again",
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(File::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// What this machine knows about the vault at `vault_root`.
    pub fn entry(&self, vault_root: &Path) -> Result<Entry> {
        let key = canonical(vault_root);
        Ok(self
            .read()?
            .vaults
            .into_iter()
            .find(|v| v.path == key)
            .unwrap_or(Entry {
                path: key,
                ..Entry::default()
            }))
    }

    /// Whether any vault on this machine has `digest` pinned (another
    /// clone of the same vault).
    pub fn pinned_anywhere(&self, digest: &str) -> Result<bool> {
        Ok(self
            .read()?
            .vaults
            .iter()
            .any(|v| v.policy.as_deref() == Some(digest)))
    }

    /// Whether `fingerprint` was generated on this machine.
    pub fn generated_here(&self, fingerprint: &str) -> Result<bool> {
        Ok(self.read()?.generated.iter().any(|f| f == fingerprint))
    }

    /// The cycle `fingerprint` was generated for here, if recorded.
    pub fn generated_cycle(&self, fingerprint: &str) -> Result<Option<String>> {
        Ok(self.read()?.generated_cycles.get(fingerprint).cloned())
    }

    /// Change the store under its lock.
    fn update(&self, vault_root: &Path, change: impl FnOnce(&mut Entry, &mut File)) -> Result<()> {
        atomic::create_dir(&self.dir)?;
        let lock_path = self.dir.join(".lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .with_path(&lock_path)?;
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor we own; released when `lock` drops.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
            return Err(Error::io(lock_path, std::io::Error::last_os_error()));
        }
        let mut file = self.read()?;
        let key = canonical(vault_root);
        let pos = match file.vaults.iter().position(|v| v.path == key) {
            Some(p) => p,
            None => {
                file.vaults.push(Entry {
                    path: key,
                    ..Entry::default()
                });
                file.vaults.len() - 1
            }
        };
        let mut entry = std::mem::take(&mut file.vaults[pos]);
        change(&mut entry, &mut file);
        file.vaults[pos] = entry;
        let text = toml::to_string(&file).map_err(anyhow::Error::from)?;
        atomic::write(
            &self.path(),
            format!(
                "# keycycle's local trust store: what this machine trusts in each vault.\n\n{text}"
            )
            .as_bytes(),
            atomic::SECRET_MODE,
        )
    }

    /// Pin `digest` as the vault's policy version 1.
    pub fn pin(&self, vault_root: &Path, digest: &str) -> Result<()> {
        self.update(vault_root, |e, _| e.policy = Some(digest.to_string()))
    }

    /// Record that `fingerprint` was generated on this machine for `cycle`.
    pub fn record_generated(
        &self,
        vault_root: &Path,
        fingerprint: &str,
        cycle: &str,
    ) -> Result<()> {
        self.update(vault_root, |_, file| {
            if !file.generated.iter().any(|f| f == fingerprint) {
                file.generated.push(fingerprint.to_string());
            }
            file.generated_cycles
                .insert(fingerprint.to_string(), cycle.to_string());
        })
    }

    /// Record that version `accepted.version` is in force here.
    pub fn accept(&self, vault_root: &Path, accepted: &Accepted) -> Result<()> {
        self.update(vault_root, |e, _| {
            if e.accepted(accepted.version).is_none() {
                e.accepted.push(accepted.clone());
                e.accepted.sort_by_key(|a| a.version);
            }
        })
    }

    /// Record the audit log's head as written or verified here; a head
    /// further back than the one recorded never replaces it.
    pub fn record_audit_head(&self, vault_root: &Path, head: &AuditHead) -> Result<()> {
        self.update(vault_root, |e, _| {
            if e.audit_head.as_ref().is_none_or(|h| h.seq <= head.seq) {
                e.audit_head = Some(head.clone());
            }
        })
    }
}

/// The vault's path as the store keys it.
fn canonical(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pins_and_generated_keys_are_kept_per_vault() {
        let home = tempfile::tempdir().unwrap();
        let v1 = tempfile::tempdir().unwrap();
        let v2 = tempfile::tempdir().unwrap();
        let t = TrustStore::at(home.path().join("kc"));
        assert_eq!(t.entry(v1.path()).unwrap().policy, None);
        t.pin(v1.path(), "sha256:aa").unwrap();
        t.record_generated(v1.path(), "F1", "2027.1").unwrap();
        t.record_generated(v1.path(), "F1", "2027.1").unwrap();
        t.record_generated(v2.path(), "F2", "2027.2").unwrap();
        assert_eq!(t.generated_cycle("F2").unwrap().as_deref(), Some("2027.2"));
        let e = t.entry(v1.path()).unwrap();
        assert_eq!(e.policy.as_deref(), Some("sha256:aa"));
        assert_eq!(t.entry(v2.path()).unwrap().policy, None);
        assert!(t.generated_here("F1").unwrap() && t.generated_here("F2").unwrap());
        assert!(!t.generated_here("F3").unwrap());
        assert!(t.pinned_anywhere("sha256:aa").unwrap());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(home.path().join("kc/trust.toml"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
