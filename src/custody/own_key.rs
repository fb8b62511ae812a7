//! A root's own secret key, for certifying a cycle key (`certify
//! --with-key`): read from a file they exported, unlocked with their
//! passphrase, used as a signer, never stored.

use openpgp::crypto::{KeyPair, Password};
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::error::{Error, Result};

/// Whether the primary secret of `cert` (read from `path`) needs a
/// passphrase.
pub fn needs_passphrase(cert: &Cert) -> bool {
    cert.primary_key()
        .key()
        .optional_secret()
        .is_some_and(|s| s.is_encrypted())
}

/// The primary of `cert` (read from `path`) as a signer.
pub fn signer(
    cert: &Cert,
    path: &std::path::Path,
    passphrase: Option<&Password>,
) -> Result<KeyPair> {
    let key = cert
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .map_err(|_| {
            Error::input(
                format!("{} holds no secret key", path.display()),
                "export yours with gpg --export-secret-keys --armor YOUR-KEY",
            )
        })?;
    let key = if key.secret().is_encrypted() {
        let Some(pw) = passphrase else {
            return Err(Error::input(
                "your key is passphrase-protected",
                "pass --passphrase-file",
            ));
        };
        key.decrypt_secret(pw).map_err(|_| {
            Error::input(
                "the passphrase does not unlock your key",
                "check --passphrase-file",
            )
        })?
    } else {
        key
    };
    key.into_keypair().map_err(|e| {
        Error::input(
            format!("your key cannot certify: {e}"),
            "use a key whose primary secret is present (not a stub)",
        )
    })
}
