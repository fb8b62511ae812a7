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

pub mod atomic;

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use openpgp::parse::Parse;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::audit;
use crate::clock::{self, Time};
use crate::config::{Config, CONFIG_FILE, DEFAULT_CONFIG};
use crate::error::{Error, IoContext, Result};
use crate::roster::Roster;

/// A vault on disk.
#[derive(Debug, Clone)]
pub struct Vault {
    root: PathBuf,
    operator: Option<String>,
    /// Held while this process may change the vault: see [`Vault::lock`].
    lock: Option<std::sync::Arc<std::fs::File>>,
    /// keycycle.toml as read once by [`Vault::open`].
    config: Option<Config>,
}

/// A change to one key directory, made visible all at once by
/// [`Vault::update_key`].
#[derive(Default)]
pub struct KeyChange {
    /// Files to write (relative paths, e.g. `shares/01-ada.age`).
    pub files: Vec<NewFile>,
    /// Files or directories to remove (relative paths).
    pub remove: Vec<String>,
    /// A new state.toml.
    pub state: Option<KeyState>,
}

impl KeyChange {
    /// The public cert, rewritten.
    pub fn cert(cert: &Cert) -> Result<KeyChange> {
        Ok(KeyChange {
            files: vec![NewFile {
                name: CERT_FILE.into(),
                bytes: crate::certinfo::armored_public(cert)?,
                secret: false,
            }],
            ..Default::default()
        })
    }

    /// The state, rewritten.
    pub fn state(state: &KeyState) -> KeyChange {
        KeyChange {
            state: Some(state.clone()),
            ..Default::default()
        }
    }

    /// And the state.
    pub fn with_state(mut self, state: &KeyState) -> KeyChange {
        self.state = Some(state.clone());
        self
    }
}

/// The lock file; `.tmp-*` are temporaries a killed process may leave.
pub const LOCK_FILE: &str = ".lock";
const TMP_PREFIX: &str = ".tmp-";

/// `state.toml` of one key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct KeyState {
    pub cycle: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cycle_name: Option<String>,
    pub fingerprint: String,
    #[serde(with = "clock::serde_iso")]
    pub created: Time,
    #[serde(with = "clock::serde_iso")]
    pub expires: Time,
    pub cipher_suite: String,
    /// `active`, `revoked` …
    pub state: String,
    /// The recipients the escrow files are encrypted to.
    pub escrow_recipients: Vec<String>,
    #[serde(default, rename = "publish")]
    pub publish: Vec<PublishRecord>,
    /// OpenPGP cards that hold one of the key's secrets besides the escrow.
    #[serde(default, rename = "card", skip_serializing_if = "Vec::is_empty")]
    pub cards: Vec<CardRecord>,
}

/// An OpenPGP card holding one of a key's secrets (`keycycle card load`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CardRecord {
    /// `MMMM:SSSSSSSS`: manufacturer and serial, as gpg shows them.
    pub ident: String,
    pub serial: u32,
    /// `signature`, `decryption` or `authentication`.
    pub slot: String,
    /// The (sub)key in that slot.
    pub fingerprint: String,
    #[serde(with = "clock::serde_iso")]
    pub loaded: Time,
}

/// One publication of the key.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PublishRecord {
    #[serde(with = "clock::serde_iso")]
    pub time: Time,
    pub target: String,
}

/// A key held in the vault (public part only).
#[derive(Debug, Clone)]
pub struct StoredKey {
    pub dir: PathBuf,
    pub state: KeyState,
    pub cert: Cert,
}

/// A file of a new key directory.
pub struct NewFile {
    /// Relative path inside the key directory (`shares/01-alice.age`).
    pub name: String,
    pub bytes: Vec<u8>,
    pub secret: bool,
}

pub const CERT_FILE: &str = "cert.asc";
pub const PRIMARY_FILE: &str = "primary.age";
pub const REVOCATION_FILE: &str = "revocation.age";
pub const LADDER_FILE: &str = "revocation-retired.age";
pub const STATE_FILE: &str = "state.toml";
pub const AUDIT_FILE: &str = "audit.log";
pub const SHARES_DIR: &str = "shares";

impl Vault {
    /// The vault at `root`, which must have been initialised.
    pub fn open(root: &Path) -> Result<Vault> {
        let mut vault = Vault {
            root: root.to_owned(),
            operator: None,
            lock: None,
            config: None,
        };
        if !root.is_dir() {
            return Err(Error::vault(
                format!("no vault at {}", root.display()),
                "run `keycycle init` first, or point --vault / KEYCYCLE_VAULT at the vault",
            ));
        }
        if !vault.config_path().is_file() {
            return Err(Error::vault(
                format!(
                    "{} has no {CONFIG_FILE}: not a keycycle vault",
                    root.display()
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
        atomic::create_dir(&root.join("keys"))?;
        atomic::create_dir(&root.join("roster"))?;
        let vault = vault.lock("init")?;
        atomic::write(
            &root.join(".gitignore"),
            b"# keycycle's lock and the temporaries of an interrupted write\n/.lock\n.tmp-*\n",
            atomic::PUBLIC_MODE,
        )?;
        atomic::write(&vault.config_path(), text.as_bytes(), atomic::PUBLIC_MODE)?;
        Ok(vault)
    }

    /// Take the vault's lock for a command that changes it: one such
    /// command at a time, never interleaved. A second one fails at once,
    /// naming the holder. With the lock held, the temporaries a killed
    /// process left behind (`.tmp-*`) are removed: nobody else is writing.
    pub fn lock(mut self, command: &str) -> Result<Vault> {
        use std::io::{Read, Seek, Write};
        use std::os::fd::AsRawFd;
        use std::os::unix::fs::OpenOptionsExt;
        if self.lock.is_some() {
            return Ok(self);
        }
        let path = self.root.join(LOCK_FILE);
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(atomic::SECRET_MODE)
            .open(&path)
            .with_path(&path)?;
        // SAFETY: flock on a descriptor we own.
        if unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            let e = std::io::Error::last_os_error();
            if e.raw_os_error() != Some(libc::EWOULDBLOCK) {
                return Err(Error::io(path, e));
            }
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            // Name the holder only while that process still runs.
            let alive = holder
                .split_whitespace()
                .nth(1)
                .map(|pid| pid.trim_end_matches(':'))
                .is_some_and(|pid| Path::new("/proc").join(pid).exists());
            let holder = if alive { holder.trim() } else { "" };
            return Err(Error::vault(
                format!(
                    "the vault {} is in use by another keycycle{}",
                    self.root.display(),
                    if holder.is_empty() {
                        String::new()
                    } else {
                        format!(" ({holder})")
                    }
                ),
                "wait for it to finish, then run this again; nothing was changed",
            ));
        }
        let _ = file.set_len(0);
        let _ = file.rewind();
        let _ = write!(file, "pid {}: {command}", std::process::id());
        self.lock = Some(std::sync::Arc::new(file));
        self.remove_temporaries();
        Ok(self)
    }

    fn remove_temporaries(&self) {
        fn sweep(dir: &Path, depth: usize) {
            let Ok(entries) = std::fs::read_dir(dir) else {
                return;
            };
            for e in entries.flatten() {
                let path = e.path();
                let is_dir = e.file_type().map(|t| t.is_dir()).unwrap_or(false);
                if e.file_name().to_string_lossy().starts_with(TMP_PREFIX) {
                    let _ = if is_dir {
                        std::fs::remove_dir_all(&path)
                    } else {
                        std::fs::remove_file(&path)
                    };
                } else if is_dir && depth > 0 {
                    sweep(&path, depth - 1);
                }
            }
        }
        sweep(&self.root, 3);
    }

    fn require_lock(&self) -> Result<()> {
        if self.lock.is_none() {
            return Err(Error::Other(anyhow::anyhow!(
                "internal error: the vault is being changed without its lock"
            )));
        }
        Ok(())
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

    fn roster_dir(&self) -> PathBuf {
        self.root.join("roster")
    }

    /// The roster (empty when none was written yet).
    pub fn roster(&self) -> Result<Roster> {
        let path = self.roster_dir().join("roster.toml");
        match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| {
                let line = e
                    .span()
                    .map(|s| text[..s.start].matches('\n').count() + 1)
                    .unwrap_or(1);
                Error::Config {
                    path: path.clone(),
                    line,
                    column: 1,
                    msg: e.message().to_string(),
                }
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Roster::default()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Write the roster, and a root's certificate when given.
    pub fn save_roster(&self, roster: &Roster, cert: Option<&Cert>) -> Result<()> {
        self.require_lock()?;
        atomic::create_dir(&self.roster_dir())?;
        if let Some(cert) = cert {
            let bytes = crate::certinfo::armored_public(cert)?;
            let path = self
                .roster_dir()
                .join(format!("{}.asc", cert.fingerprint().to_hex()));
            atomic::write(&path, &bytes, atomic::PUBLIC_MODE)?;
        }
        let text = toml::to_string(roster).map_err(anyhow::Error::from)?;
        atomic::write(
            &self.roster_dir().join("roster.toml"),
            format!("# The infra roots. Managed by `keycycle roster`.\n\n{text}").as_bytes(),
            atomic::PUBLIC_MODE,
        )
    }

    /// A root's stored certificate.
    pub fn roster_cert(&self, fingerprint: &str) -> Result<Option<Cert>> {
        let path = self.roster_dir().join(format!("{fingerprint}.asc"));
        if !path.exists() {
            return Ok(None);
        }
        Cert::from_file(&path)
            .map(Some)
            .map_err(|e| Error::vault(format!("{}: {e}", path.display()), "restore it from git"))
    }

    /// Every key in the vault, oldest first.
    pub fn keys(&self) -> Result<Vec<StoredKey>> {
        let dir = self.root.join("keys");
        let mut keys = Vec::new();
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(keys),
            Err(e) => return Err(Error::io(dir, e)),
        };
        for entry in entries {
            let entry = entry.with_path(&dir)?;
            let name = entry.file_name();
            if name.to_string_lossy().starts_with('.') || !entry.path().is_dir() {
                continue;
            }
            keys.push(self.load_key(&entry.path())?);
        }
        keys.sort_by_key(|k| (k.state.created, k.state.fingerprint.clone()));
        Ok(keys)
    }

    fn load_key(&self, dir: &Path) -> Result<StoredKey> {
        let state_path = dir.join(STATE_FILE);
        let text = std::fs::read_to_string(&state_path).with_path(&state_path)?;
        let state: KeyState = toml::from_str(&text).map_err(|e| Error::Config {
            path: state_path.clone(),
            line: e
                .span()
                .map(|s| text[..s.start].matches('\n').count() + 1)
                .unwrap_or(1),
            column: 1,
            msg: e.message().to_string(),
        })?;
        let cert_path = dir.join(CERT_FILE);
        let cert = Cert::from_file(&cert_path).map_err(|e| {
            Error::vault(
                format!("{}: not a certificate: {e}", cert_path.display()),
                "restore the file from the vault's git history",
            )
        })?;
        if cert.fingerprint().to_hex() != state.fingerprint {
            return Err(Error::vault(
                format!(
                    "{}: fingerprint does not match state.toml",
                    cert_path.display()
                ),
                "restore the key directory from the vault's git history",
            ));
        }
        Ok(StoredKey {
            dir: dir.to_owned(),
            state,
            cert,
        })
    }

    /// Add a key directory atomically: every file is written into a hidden
    /// temporary directory which is then renamed into place.
    pub fn add_key(&self, state: &KeyState, files: Vec<NewFile>) -> Result<PathBuf> {
        self.require_lock()?;
        let keys = self.root.join("keys");
        atomic::create_dir(&keys)?;
        let name = format!(
            "{}-{}",
            state.cycle,
            &state.fingerprint[state.fingerprint.len() - 16..]
        );
        let target = keys.join(&name);
        if target.exists() {
            return Err(Error::vault(
                format!("{} already exists", target.display()),
                "this exact key is already in the vault",
            ));
        }
        let staging = tempfile::Builder::new()
            .prefix(&format!(".tmp-{name}-"))
            .tempdir_in(&keys)
            .with_path(&keys)?;
        atomic::create_dir(staging.path())?;
        for f in files {
            let mode = if f.secret {
                atomic::SECRET_MODE
            } else {
                atomic::PUBLIC_MODE
            };
            let path = staging.path().join(&f.name);
            if let Some(parent) = path.parent() {
                atomic::create_dir(parent)?;
            }
            atomic::write(&path, &f.bytes, mode)?;
        }
        let state_text = toml::to_string(state).map_err(anyhow::Error::from)?;
        atomic::write(
            &staging.path().join(STATE_FILE),
            state_text.as_bytes(),
            atomic::PUBLIC_MODE,
        )?;
        let staged = staging.keep();
        atomic::failpoint();
        std::fs::rename(&staged, &target).with_path(&target)?;
        atomic::sync_dir(&keys)?;
        Ok(target)
    }

    /// Rewrite a key's state.toml atomically.
    pub fn save_state(&self, key: &StoredKey, state: &KeyState) -> Result<()> {
        self.update_key(key, KeyChange::state(state))
    }

    /// Change a key directory all at once: a copy is made beside it under a
    /// temporary name, changed, synced, and swapped with the original in one
    /// `renameat2(RENAME_EXCHANGE)`. A crash leaves the old directory or the
    /// new one (plus a `.tmp-*` copy that the next locked command removes).
    /// Where the filesystem cannot swap directories, each file is replaced
    /// atomically on its own instead.
    pub fn update_key(&self, key: &StoredKey, change: KeyChange) -> Result<()> {
        self.require_lock()?;
        let keys = self.root.join("keys");
        let name = key
            .dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staging = tempfile::Builder::new()
            .prefix(&format!("{TMP_PREFIX}{name}-"))
            .tempdir_in(&keys)
            .with_path(&keys)?;
        let copy = staging.path().join("k");
        atomic::copy_tree(&key.dir, &copy)?;
        apply(&copy, &change, false)?;
        atomic::sync_path(&copy)?;
        atomic::failpoint();
        if atomic::exchange(&copy, &key.dir)? {
            atomic::sync_dir(&keys)?;
            atomic::failpoint();
            // `staging` (now holding the old directory) is removed on drop.
            return Ok(());
        }
        drop(staging);
        apply(&key.dir, &change, true)?;
        atomic::sync_dir(&key.dir)
    }

    /// Append an entry to the hash-chained audit log.
    pub fn audit(&self, at: Time, action: &str, details: serde_json::Value) -> Result<()> {
        self.require_lock()?;
        let log = self.audit_log()?;
        let log = audit::append(&log, at, action, self.operator.as_deref(), details)?;
        atomic::write(
            &self.root.join(AUDIT_FILE),
            log.as_bytes(),
            atomic::PUBLIC_MODE,
        )
    }

    /// The audit log's text (empty before the first entry).
    pub fn audit_log(&self) -> Result<String> {
        let path = self.root.join(AUDIT_FILE);
        match std::fs::read_to_string(&path) {
            Ok(t) => Ok(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(Error::io(path, e)),
        }
    }

    /// Read one of a key's files.
    pub fn read_key_file(&self, key: &StoredKey, name: &str) -> Result<Vec<u8>> {
        let path = key.dir.join(name);
        std::fs::read(&path).with_path(path)
    }
}

/// Apply a change inside key directory `dir`: plain writes into a private
/// copy, or atomic replacements in place.
fn apply(dir: &Path, change: &KeyChange, in_place: bool) -> Result<()> {
    let mut files: Vec<(String, &[u8], u32)> = change
        .files
        .iter()
        .map(|f| {
            let mode = if f.secret {
                atomic::SECRET_MODE
            } else {
                atomic::PUBLIC_MODE
            };
            (f.name.clone(), f.bytes.as_slice(), mode)
        })
        .collect();
    let state_text;
    if let Some(state) = &change.state {
        state_text = toml::to_string(state).map_err(anyhow::Error::from)?;
        files.push((
            STATE_FILE.into(),
            state_text.as_bytes(),
            atomic::PUBLIC_MODE,
        ));
    }
    for (name, bytes, mode) in files {
        let path = dir.join(&name);
        if let Some(parent) = path.parent() {
            atomic::create_dir(parent)?;
        }
        if in_place {
            atomic::write(&path, bytes, mode)?;
        } else {
            use std::os::unix::fs::OpenOptionsExt;
            let _ = std::fs::remove_file(&path);
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(mode)
                .open(&path)
                .with_path(&path)?;
            std::io::Write::write_all(&mut f, bytes).with_path(&path)?;
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode))
                .with_path(&path)?;
        }
    }
    for name in &change.remove {
        let path = dir.join(name);
        if path.is_dir() {
            std::fs::remove_dir_all(&path).with_path(&path)?;
        } else if path.exists() {
            std::fs::remove_file(&path).with_path(&path)?;
        }
    }
    Ok(())
}
