//! The identities that open escrow files: age identity files, SSH private
//! keys (passphrase-protected ones too), plugin identities (tokens) and
//! Shamir share files given in their place. The only module that calls the
//! age decryptor.

use std::io::Read;
use std::path::Path;
use std::sync::Arc;

use age::armor::ArmoredReader;
use zeroize::Zeroizing;

use super::{seal, Recipient};
use crate::base::error::{Error, IoContext, Result};
use crate::custody::plugin;
use crate::custody::shares::Share;
use crate::custody::token::{self, TokenUi};

/// A passphrase-protected SSH key, decrypted with the passphrase `ui`
/// gives (`--identity-passphrase-file`, or asked on the terminal): checked
/// here, so a wrong one fails before anything is opened.
fn decrypt_ssh(
    key: &age::ssh::EncryptedKey,
    name: &str,
    ui: &Arc<dyn TokenUi>,
) -> Result<age::ssh::Identity> {
    let passphrase = ui
        .request_identity_passphrase(&format!("Passphrase of the SSH key {name}"))
        .ok_or_else(|| {
            Error::input(
                format!("{name}: the SSH key is passphrase-protected"),
                "pass --identity-passphrase-file FILE (or run without --batch to be asked)",
            )
        })?;
    let key = key.decrypt(passphrase).map_err(|_| {
        Error::input(
            format!("{name}: wrong passphrase for the SSH key"),
            "check --identity-passphrase-file (the whole file, a trailing newline ignored)",
        )
    })?;
    Ok(age::ssh::Identity::from(key))
}

/// An OpenPGP key or keyring (or other binary data) given as an identity.
fn not_age(name: &str, openpgp: bool) -> Error {
    Error::input(
        if openpgp {
            format!("{name}: an OpenPGP key or keyring, not an age identity")
        } else {
            format!("{name}: not an age identity (binary data)")
        },
        "the escrow is sealed with age: give your age identity (made by age-keygen) or your SSH private key",
    )
}

/// The public half given as an identity: its first line parses as an
/// escrow recipient (an SSH public key, an `age1…` recipient).
fn public_instead(text: &str, name: &str) -> Option<Error> {
    let first = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))?;
    let (what, hint) = match Recipient::parse_stored(first).ok()? {
        Recipient::Ssh { .. } => (
            "an SSH public key",
            "pass the private key beside it (e.g. ~/.ssh/id_ed25519, without .pub)",
        ),
        Recipient::Age(_) | Recipient::Plugin(_) => (
            "an age recipient",
            "pass the identity file made by age-keygen (its AGE-SECRET-KEY-1… line) or by the plugin",
        ),
    };
    Some(Error::input(
        format!("{name}: {what}, the public half"),
        hint,
    ))
}

/// Identities that can open escrow: age identity files and SSH private keys.
#[derive(Default)]
pub struct Identities(Vec<Box<dyn age::Identity>>, Vec<Share>);

impl Identities {
    /// Load an age identity file (`AGE-SECRET-KEY-1…` lines) or an
    /// unencrypted OpenSSH private key.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        self.load_with(path, &token::default_ui())
    }

    /// Load an identity file; plugin identities (`AGE-PLUGIN-NAME-1…`
    /// lines, a token) will ask through `ui` when they open something.
    pub fn load_with(&mut self, path: &Path, ui: &Arc<dyn TokenUi>) -> Result<()> {
        let bytes = Zeroizing::new(std::fs::read(path).with_path(path)?);
        let name = crate::base::text::path(path);
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) if !t.contains("-----BEGIN PGP ") => Zeroizing::new(t.to_owned()),
            _ => return Err(not_age(&name, bytes.first().is_some_and(|b| b & 0x80 != 0))),
        };
        if let Some(e) = public_instead(&text, &name) {
            return Err(e);
        }
        if text.starts_with("keycycle-share v1") {
            // A share already decrypted by its holder.
            self.1.push(Share::parse(text.as_bytes())?);
            return Ok(());
        }
        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
            || text.contains("-----BEGIN RSA PRIVATE KEY-----")
        {
            let id =
                age::ssh::Identity::from_buffer(text.as_bytes(), Some(path.display().to_string()))
                    .map_err(|e| {
                        Error::input(
                            format!("{name}: not a usable SSH private key: {e}"),
                            "give an ed25519 or RSA OpenSSH private key",
                        )
                    })?;
            match id {
                age::ssh::Identity::Unencrypted(_) => self.0.push(Box::new(id)),
                age::ssh::Identity::Encrypted(key) => {
                    self.0.push(Box::new(decrypt_ssh(&key, &name, ui)?))
                }
                age::ssh::Identity::Unsupported(_) => {
                    return Err(Error::input(
                        format!("{name}: this SSH key type is not supported by age"),
                        "use an ed25519 or RSA SSH key, or an age identity",
                    ))
                }
            }
            return Ok(());
        }
        if let Some(ids) = plugin::identities(&text, &path.display().to_string(), ui)? {
            self.0.extend(ids);
            return Ok(());
        }
        let file = age::IdentityFile::from_buffer(text.as_bytes()).map_err(|e| {
            Error::input(
                format!("{name}: not an age identity file: {e}"),
                "give a file made by age-keygen, or an SSH private key",
            )
        })?;
        let ids = file
            .into_identities()
            .map_err(|e| anyhow::anyhow!("{name}: {e}"))?;
        if ids.is_empty() {
            return Err(Error::input(
                format!("{name}: holds no identity"),
                "give a file made by age-keygen, or an SSH private key",
            ));
        }
        self.0.extend(ids);
        Ok(())
    }

    /// Load every file (identities or decrypted share files).
    pub fn from_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Identities> {
        Identities::from_paths_with(paths, &token::default_ui())
    }

    /// Load every file; plugin identities ask through `ui`.
    pub fn from_paths_with<P: AsRef<Path>>(
        paths: &[P],
        ui: &Arc<dyn TokenUi>,
    ) -> Result<Identities> {
        let mut ids = Identities::default();
        for p in paths {
            ids.load_with(p.as_ref(), ui)?;
        }
        Ok(ids)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty() && self.1.is_empty()
    }

    /// Share files given in place of identities.
    pub fn shares(&self) -> &[Share] {
        &self.1
    }

    /// Decrypt an escrow file.
    pub fn open(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(ciphertext))
            .map_err(|e| anyhow::anyhow!("not an age file: {e}"))?;
        let mut reader = decryptor
            .decrypt(self.0.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => Error::input(
                    "none of the given identities opens this escrow",
                    "pass the --identity of a root on the roster the key was escrowed to",
                ),
                e => plugin::decrypt_error(e),
            })?;
        let mut plain = Zeroizing::new(Vec::new());
        reader
            .read_to_end(&mut plain)
            .map_err(|e| anyhow::anyhow!("age: {e}"))?;
        Ok(plain)
    }
}

impl Identities {
    /// Try every identity on a sealed file; `None` when none matches.
    pub fn try_open(&self, ciphertext: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match self.open(ciphertext) {
            Ok(p) => Ok(Some(p)),
            Err(Error::Input { msg, .. }) if msg.starts_with("none of the given identities") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Whether these identities open what is sealed to `recipient` (its
    /// stored form) alone: a probe sealed and opened here. Plugin
    /// recipients are never probed (they may ask for a token).
    pub fn open_what_is_sealed_to(&self, recipient: &str) -> bool {
        match Recipient::parse_stored(recipient) {
            Ok(Recipient::Plugin(_)) | Err(_) => false,
            Ok(r) => seal(&[r], b"keycycle: whose identity is this")
                .ok()
                .and_then(|sealed| self.try_open(&sealed).ok().flatten())
                .is_some(),
        }
    }
}
