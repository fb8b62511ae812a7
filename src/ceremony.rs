//! The record of a key ceremony, so that `ceremony` run again resumes at
//! the first unfinished step: `ceremonies/<cycle>.toml` in the vault.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::vault::{atomic, Vault};

/// The steps, in order.
pub const STEPS: &[&str] = &[
    "generate",
    "fingerprint",
    "drill",
    "cross-sign",
    "export-public",
    "publish",
    "announcement",
    "signing-subkey",
    "attestation-request",
];

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub cycle: String,
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Finished steps, with a note each (`publish = "hkp://…"`).
    #[serde(default)]
    pub done: std::collections::BTreeMap<String, String>,
}

impl Record {
    fn path(vault: &Vault, cycle: &str) -> std::path::PathBuf {
        vault
            .root()
            .join("ceremonies")
            .join(format!("{cycle}.toml"))
    }

    /// The record for `cycle`, or a fresh one.
    pub fn load(vault: &Vault, cycle: &str) -> Result<Record> {
        let path = Self::path(vault, cycle);
        match std::fs::read_to_string(&path) {
            Ok(t) => toml::from_str(&t).map_err(|e| {
                Error::vault(
                    format!("{}: {}", path.display(), e.message()),
                    "restore it from git, or delete it to start the ceremony over",
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Record {
                cycle: cycle.to_string(),
                ..Record::default()
            }),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    pub fn is_done(&self, step: &str) -> bool {
        self.done.contains_key(step)
    }

    /// Mark a step finished and write the record atomically.
    pub fn finish(&mut self, vault: &Vault, step: &str, note: impl Into<String>) -> Result<()> {
        self.done.insert(step.to_string(), note.into());
        let path = Self::path(vault, &self.cycle);
        atomic::create_dir(path.parent().expect("has a parent"))?;
        let text = toml::to_string(self).map_err(anyhow::Error::from)?;
        atomic::write(&path, text.as_bytes(), atomic::PUBLIC_MODE)
    }

    /// The first step not yet finished.
    pub fn next_step(&self) -> Option<&'static str> {
        STEPS.iter().copied().find(|s| !self.is_done(s))
    }
}
