//! The vault: a directory of public and age-encrypted files, meant for a
//! private git repository. Every write is atomic; see [`atomic`].
//!
//! ```text
//! vault/
//!   keycycle.toml
//!   roster/roster.toml, roster/<FPR>.asc
//!   keys/<cycle>-<fpr16>/cert.asc primary.age revocation.age
//!                        revocation-retired.age state.toml
//!   audit.log
//! ```

pub mod audit;
pub mod config;
pub mod discover;
mod keys;
mod lock;
pub mod schedule;
pub mod trust;

pub use keys::{
    find_in, CardRecord, KeyChange, KeyState, NewFile, PublishRecord, StoredKey, CERT_FILE,
    STATE_FILE,
};

use std::path::{Path, PathBuf};

use crate::base::clock::Time;
use crate::base::error::{Error, Result};
use crate::base::fs::{atomic, fsx};
use crate::vault::config::{Config, CONFIG_FILE, DEFAULT_CONFIG};
use trust::TrustStore;

/// A vault on disk.
#[derive(Debug, Clone)]
pub struct Vault {
    root: PathBuf,
    operator: Option<String>,
    /// Held while this process may change the vault: see [`Vault::lock`].
    lock: Option<std::sync::Arc<std::fs::File>>,
    /// keycycle.toml as read once by [`Vault::open`].
    config: Option<Config>,
    /// The operator's local trust store (outside the vault).
    trust: Option<TrustStore>,
}

/// The lock file; `.tmp-*` are temporaries a killed process may leave.
pub const LOCK_FILE: &str = ".lock";
pub(crate) const TMP_PREFIX: &str = ".tmp-";

pub const AUDIT_FILE: &str = "audit.log";

impl Vault {
    /// The vault at `root`, which must have been initialised.
    pub fn open(root: &Path) -> Result<Vault> {
        let mut vault = Vault {
            root: root.to_owned(),
            operator: None,
            lock: None,
            config: None,
            trust: None,
        };
        if !root.is_dir() {
            return Err(Error::vault(
                format!("no vault at {}", crate::base::text::path(root)),
                "run `keycycle init` first, or point --vault / KEYCYCLE_VAULT at the vault",
            ));
        }
        if fsx::kind(&vault.config_path())?.is_none() {
            return Err(Error::vault(
                format!(
                    "{} has no {CONFIG_FILE}: not a keycycle vault",
                    crate::base::text::path(root)
                ),
                "run `keycycle init` there first, or point --vault at the vault",
            ));
        }
        // Read (and version-checked) once, before anything else.
        vault.config = Some(vault.config()?);
        Ok(vault)
    }

    /// Create a vault with the default configuration.
    pub fn init(root: &Path, config_text: Option<&str>, force: bool) -> Result<Vault> {
        let vault = Vault {
            root: root.to_owned(),
            operator: None,
            lock: None,
            config: None,
            trust: None,
        };
        if vault.config_path().exists() && !force {
            return Err(Error::vault(
                format!("{} already exists", vault.config_path().display()),
                "edit it, or pass --force to overwrite it with the defaults",
            ));
        }
        let text = config_text.unwrap_or(DEFAULT_CONFIG);
        Config::parse(text, &vault.config_path())?;
        atomic::create_dir(root)?;
        for dir in ["keys", "roster"] {
            fsx::check_dir(&root.join(dir))?;
            atomic::create_dir(&root.join(dir))?;
        }
        let vault = vault.lock("init")?;
        atomic::write(
            &root.join(".gitignore"),
            b"# keycycle's lock and the temporaries of an interrupted write\n/.lock\n.tmp-*\n",
            atomic::PUBLIC_MODE,
        )?;
        atomic::write(&vault.config_path(), text.as_bytes(), atomic::PUBLIC_MODE)?;
        Ok(vault)
    }

    /// Use `trust` as this machine's trust store.
    pub fn with_trust(mut self, trust: TrustStore) -> Vault {
        self.trust = Some(trust);
        self
    }

    /// This machine's trust store (default: [`TrustStore::default_location`]).
    pub fn trust(&self) -> TrustStore {
        self.trust
            .clone()
            .unwrap_or_else(TrustStore::default_location)
    }

    /// Record `operator` as the actor in audit entries.
    pub fn with_operator(mut self, operator: Option<String>) -> Vault {
        self.operator = operator;
        self
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn config_path(&self) -> PathBuf {
        self.root.join(CONFIG_FILE)
    }

    pub fn config(&self) -> Result<Config> {
        match &self.config {
            Some(c) => Ok(c.clone()),
            None => Config::load(&self.config_path()),
        }
    }

    /// Append an entry to the hash-chained audit log.
    pub fn audit(&self, at: Time, action: &str, details: serde_json::Value) -> Result<()> {
        self.require_lock()?;
        let log = self.audit_log()?;
        // The head this machine saw moves on only along the same log: a
        // log someone truncated or rewrote keeps failing `audit verify`.
        let seen = self.trust().entry(&self.root)?.audit_head;
        let same_log = seen.is_none_or(|h| audit::holds(&log, &h).is_ok());
        let log = audit::append(&log, at, action, self.operator.as_deref(), details)?;
        atomic::write(
            &self.root.join(AUDIT_FILE),
            log.as_bytes(),
            atomic::PUBLIC_MODE,
        )?;
        match audit::head(&log) {
            Some(head) if same_log => self.trust().record_audit_head(&self.root, &head),
            _ => Ok(()),
        }
    }

    /// The audit log's text (empty before the first entry).
    pub fn audit_log(&self) -> Result<String> {
        Ok(fsx::read_string_optional(&self.root.join(AUDIT_FILE))?.unwrap_or_default())
    }

    /// Whether the audit log records `action` for `fingerprint` with
    /// details that `matches` accepts.
    pub fn audited(
        &self,
        action: &str,
        fingerprint: &str,
        matches: impl Fn(&serde_json::Value) -> bool,
    ) -> Result<bool> {
        Ok(audit::verify(&self.audit_log()?)?.iter().any(|e| {
            e.action == action
                && e.details.get("fingerprint").and_then(|f| f.as_str()) == Some(fingerprint)
                && matches(&e.details)
        }))
    }
}
