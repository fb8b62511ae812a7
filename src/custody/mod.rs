//! Key custody: the one place where secret keys are opened, turned into
//! signers, and stored back. Everything else receives a [`Backend`] (a
//! signer for a cycle key's primary) or an [`EscrowedKey`] (the
//! certificate with its secrets) and hands back a changed certificate.
//!
//! - [`age`]: escrow recipients and identities; the only caller of the age
//!   decryptor.
//! - [`shares`]: Shamir M-of-N; the only caller of the Shamir library.
//! - [`escrow`]: the escrowed software key — the first backend — with its
//!   files, holders and recipients.
//! - [`drill`]: the escrow drill.
//! - [`own_key`]: a root's own secret key (`certify --with-key`).
//! - [`plugin`]: age plugin recipients and identities (tokens).
//! - [`token`]: what a token asks (PIN, touch), answered by the UI layer.
//! - `card`: OpenPGP cards (the `card` feature); the only module that
//!   talks to a card.
//!
//! Whom the escrow is sealed to is the caller's decision (the roster).

pub mod age;
#[cfg(feature = "card")]
pub mod card;
mod drill;
pub mod escrow;
pub mod own_key;
pub mod plugin;
pub mod shares;
pub mod token;

use openpgp::crypto::Signer;
use sequoia_openpgp as openpgp;

pub use age::{Identities, Recipient};
pub use drill::{drill, hard_revocation, ladder, Drill};
pub use escrow::EscrowedKey;

use crate::error::{Error, Result};
use crate::keygen::CycleKey;
use crate::vault::{NewFile, StoredKey, Vault};

/// A place where a cycle key's primary secret is held.
pub trait Backend {
    /// Where the secret lives, for people ("escrow").
    fn location(&self) -> String;
    /// The primary key as a signer: certifications, bindings, revocations.
    fn primary_signer(&self) -> Result<Box<dyn Signer + Send + Sync>>;
}

/// Read a passphrase file (its first line; the trailing newline dropped).
pub fn read_passphrase(path: &std::path::Path) -> Result<openpgp::crypto::Password> {
    let text =
        zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?);
    let pw = text.trim_end_matches(['\n', '\r']);
    if pw.is_empty() {
        return Err(Error::input(
            format!("{} is empty", path.display()),
            "put the passphrase in the file",
        ));
    }
    Ok(pw.to_string().into())
}

/// Open `key`'s escrow with `ids`: its certificate with the secrets.
pub fn open(vault: &Vault, key: &StoredKey, ids: &Identities) -> Result<EscrowedKey> {
    EscrowedKey::open(vault, key, ids)
}

/// The primary of `key` from wherever it is held (today: the escrow).
pub fn primary(vault: &Vault, key: &StoredKey, ids: &Identities) -> Result<Box<dyn Backend>> {
    Ok(Box::new(open(vault, key, ids)?))
}

/// The escrow files of a freshly generated key, sealed to `recipients`
/// in the configured escrow mode (one file set, or M-of-N shares).
pub fn seal_new(vault: &Vault, key: &CycleKey, recipients: &[Recipient]) -> Result<Vec<NewFile>> {
    let bundle = escrow::Bundle::of_new_key(key)?;
    let names = escrow::holder_names(vault, recipients)?;
    escrow::seal(
        &key.cert.fingerprint().to_hex(),
        &bundle,
        recipients,
        &names,
        vault.config()?.escrow.threshold,
    )
}

/// The recipients `key`'s escrow is sealed to (its state; never `@FILE`).
pub fn recipients_of(key: &StoredKey) -> Result<Vec<Recipient>> {
    key.state
        .escrow_recipients
        .iter()
        .map(|r| Recipient::parse_stored(r).map_err(|e| stored_error(key, e)))
        .collect()
}

/// A stored recipient's error, naming the state file it is in.
fn stored_error(key: &StoredKey, e: Error) -> Error {
    let path = key.dir.join(crate::vault::STATE_FILE);
    let hint = e.hint().unwrap_or_default().to_string();
    Error::vault(format!("{}: {e}", path.display()), hint)
}

/// The revocation to publish when the master is lost, from the escrow:
/// the hard one for `compromised` (voids every signature), or for a lost
/// but safe master the newest dated soft rung (`retired`) not after `at`,
/// which keeps the signatures made before its date. Checked against the
/// key before use.
pub fn escrowed_revocation(
    vault: &Vault,
    key: &StoredKey,
    ids: &Identities,
    reason: openpgp::types::ReasonForRevocation,
    at: crate::clock::Time,
) -> Result<openpgp::packet::Signature> {
    use openpgp::types::ReasonForRevocation as R;
    let secret = open(vault, key, ids)?;
    match reason {
        R::KeyCompromised => hard_revocation(key, &secret),
        R::KeyRetired => {
            let now = crate::clock::to_system(at);
            ladder(key, &secret)?
                .into_iter()
                .filter(|s| s.signature_creation_time().is_some_and(|t| t <= now))
                .max_by_key(|s| s.signature_creation_time())
                .ok_or_else(|| {
                    Error::input(
                        format!(
                            "no escrowed soft revocation of {} is dated on or before {}",
                            key.state.cycle,
                            crate::clock::day(at)
                        ),
                        "the first rung is dated a week after the key was made; before that, use --reason compromised",
                    )
                })
        }
        other => Err(Error::input(
            format!(
                "the escrow holds no '{}' revocation",
                match other {
                    R::KeySuperseded => "superseded",
                    R::Unspecified => "unspecified",
                    _ => "such",
                }
            ),
            "with --escrowed-certificate use --reason compromised (hard) or --reason retired (soft, dated)",
        )),
    }
}

/// Re-escrow every key in `keys` for `recipients`. Every key is opened
/// first: one that cannot be opened stops the run before anything is
/// rewritten.
pub fn rewrap(
    vault: &Vault,
    keys: &[StoredKey],
    ids: &Identities,
    recipients: &[Recipient],
    at: crate::clock::Time,
) -> Result<()> {
    if recipients.is_empty() {
        return Err(Error::input(
            "the roster is empty",
            "add roots before re-wrapping",
        ));
    }
    let opened = keys
        .iter()
        .map(|k| open(vault, k, ids))
        .collect::<Result<Vec<_>>>()?;
    for (k, secret) in keys.iter().zip(&opened) {
        let from = k.state.created.max(at.min(k.state.expires));
        secret.store(vault, k, secret.cert(), recipients, from)?;
    }
    Ok(())
}
