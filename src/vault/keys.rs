//! Key directories: `keys/<cycle>-<fpr16>/` with the public cert, the
//! state, and the escrow files custody writes. A new directory is staged
//! and renamed into place; a changed one is a synced copy swapped in.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use openpgp::parse::Parse;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::fs::{atomic, fsx};

use super::{Vault, TMP_PREFIX};
use crate::base::clock::{self, Time};
use crate::base::error::{Error, IoContext, Result};
use crate::vault::schedule::Schedule;

pub const CERT_FILE: &str = "cert.asc";
pub const STATE_FILE: &str = "state.toml";

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
                bytes: crate::cert::armored_public(cert)?,
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

impl Vault {
    /// Every key in the vault, oldest first.
    pub fn keys(&self) -> Result<Vec<StoredKey>> {
        let dir = self.root.join("keys");
        let mut keys = Vec::new();
        // Directories only, never through a link (fsx); files are skipped.
        for entry in fsx::subdirs(&dir)? {
            keys.push(self.load_key(&entry)?);
        }
        keys.sort_by_key(|k| (k.state.created, k.state.fingerprint.clone()));
        Ok(keys)
    }

    fn load_key(&self, dir: &Path) -> Result<StoredKey> {
        let state_path = dir.join(STATE_FILE);
        let text = fsx::read_to_string(&state_path)?;
        let state: KeyState = toml::from_str(&text).map_err(|e| {
            Error::parse(&state_path, &text, e.span().map(|s| s.start), e.message())
        })?;
        if !fsx::is_safe_component(&state.cycle) {
            return Err(Error::vault(
                format!(
                    "{}: cycle \"{}\" is not a cycle id",
                    crate::base::text::path(&state_path),
                    crate::base::text::shown_short(&state.cycle)
                ),
                "restore the key directory from the vault's git history",
            ));
        }
        let cert_path = dir.join(CERT_FILE);
        let bytes = fsx::read_file(&cert_path)?;
        crate::base::bounded::check(&bytes).map_err(|r| {
            Error::vault(
                format!("{}: {r}", cert_path.display()),
                "restore the file from the vault's git history",
            )
        })?;
        let cert = Cert::from_bytes(&bytes).map_err(|e| {
            Error::vault(
                format!(
                    "{}: not a certificate: {e}",
                    crate::base::text::path(&cert_path)
                ),
                "restore the file from the vault's git history",
            )
        })?;
        if cert.fingerprint().to_hex() != state.fingerprint {
            return Err(Error::vault(
                format!(
                    "{}: fingerprint does not match state.toml",
                    crate::base::text::path(&cert_path)
                ),
                "restore the key directory from the vault's git history",
            ));
        }
        // A revocation this machine saw is never undone by an older copy.
        crate::vault::trust::seen::check_and_remember(
            &self.trust(),
            &cert,
            &cert_path.display().to_string(),
        )?;
        // The dates decisions use are the ones the key signed, never the
        // copy in state.toml (anyone can commit that).
        let mut state = state;
        let signed = crate::cert::signed_dates(&cert);
        state.created = signed.created;
        state.expires = signed.expires.unwrap_or_else(clock::far_future);
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
        fsx::check_dir(&keys)?;
        atomic::create_dir(&keys)?;
        let name = format!(
            "{}-{}",
            state.cycle,
            &state.fingerprint[state.fingerprint.len() - 16..]
        );
        let target = keys.join(&name);
        if fsx::kind(&target)?.is_some() {
            return Err(Error::vault(
                format!("{} already exists", crate::base::text::path(&target)),
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

    /// The keys made for cycle `id`, oldest first.
    pub fn keys_of(&self, id: &str) -> Result<Vec<StoredKey>> {
        Ok(self
            .keys()?
            .into_iter()
            .filter(|k| k.state.cycle == id)
            .collect())
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
        fsx::check_dirs(&self.root, &key.dir)?;
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

    /// Find a key among all of the vault's: see [`find_in`].
    pub fn find_key(&self, spec: Option<&str>, schedule: &Schedule, at: Time) -> Result<StoredKey> {
        find_in(self.keys()?, spec, schedule, at)
    }

    /// Read one of a key's files.
    pub fn read_key_file(&self, key: &StoredKey, name: &str) -> Result<Vec<u8>> {
        fsx::read_file(&key.dir.join(name))
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

/// Find a key: a fingerprint, a 16-hex key id (`0x` optional), a cycle id
/// or name, or `None` for the current cycle's key. The newest key wins
/// when a cycle has several.
pub fn find_in(
    keys: Vec<StoredKey>,
    spec: Option<&str>,
    schedule: &Schedule,
    at: Time,
) -> Result<StoredKey> {
    let hex = crate::cert::normalize_hex(spec.unwrap_or(""));
    if spec.is_some()
        && (hex.len() == 16 || hex.len() == 40)
        && hex.chars().all(|c| c.is_ascii_hexdigit())
    {
        return keys
            .into_iter()
            .rev()
            .find(|k| k.state.fingerprint.ends_with(&hex))
            .ok_or_else(|| {
                Error::input(
                    format!("no key {hex} in the vault"),
                    "list the vault's keys with `keycycle status`",
                )
            });
    }
    let cycle = schedule.resolve(spec.unwrap_or("current"), at)?;
    keys.into_iter()
        .rev()
        .find(|k| k.state.cycle == cycle.id)
        .ok_or_else(|| {
            Error::input(
                format!("the vault holds no key for cycle {}", cycle.label()),
                format!("generate one: keycycle generate --cycle {}", cycle.id),
            )
        })
}
