//! The operator's local trust store, outside every vault: for each vault
//! (by its path) the digest of the policy version 1 this machine pinned,
//! and the cycle keys generated on this machine that no signed policy
//! lists yet. A commit to the vault cannot change it.
//!
//! `$KEYCYCLE_HOME/trust.toml` (default `~/.config/keycycle/`), 0600 in a
//! 0700 directory, changed under a lock and written atomically.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::vault::atomic;

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
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    /// Fingerprints of keys generated on this machine, trusted here (in
    /// any copy of their vault) before a signed policy lists them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    generated: Vec<String>,
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

    /// Change the store under its lock.
    fn update(
        &self,
        vault_root: &Path,
        change: impl FnOnce(&mut Entry, &mut Vec<String>),
    ) -> Result<()> {
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
        change(&mut file.vaults[pos], &mut file.generated);
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

    /// Record that `fingerprint` was generated on this machine.
    pub fn record_generated(&self, vault_root: &Path, fingerprint: &str) -> Result<()> {
        self.update(vault_root, |_, generated| {
            if !generated.iter().any(|f| f == fingerprint) {
                generated.push(fingerprint.to_string());
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
        t.record_generated(v1.path(), "F1").unwrap();
        t.record_generated(v1.path(), "F1").unwrap();
        t.record_generated(v2.path(), "F2").unwrap();
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
