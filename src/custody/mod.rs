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
//! - [`revocation_shares`]: the escrowed revocations, with their own
//!   threshold (any one root, or R-of-N).
//! - [`drill`]: the escrow drill.
//! - [`own_key`]: a root's own secret key (`certify --with-key`).
//! - [`signing_subkey`]: the exported signing subkey opened into a signer
//!   (`sign`).
//! - [`subkey_export`]: the signing subkey taken out for CI, encrypted
//!   (passphrase, age) and written (`export signing-subkey`).
//! - `fresh_key`: a new key's primary signing its own revocations
//!   (`generate`).
//! - [`plugin`]: age plugin recipients and identities (tokens).
//! - [`token`]: what a token asks (PIN, touch), answered by the UI layer.
//! - `card`: OpenPGP cards (the `card` feature); the only module that
//!   talks to a card. A key loaded onto one (`card load`) is signed for by
//!   the card when it is present ([`primary`]); the escrow stays the
//!   recovery path.
//!
//! Whom the escrow is sealed to is the caller's decision (the roster).

pub mod age;
#[cfg(feature = "card")]
pub mod card;
mod drill;
pub mod escrow;
pub(crate) mod fresh_key;
pub mod own_key;
pub mod plugin;
mod revocation_check;
pub mod revocation_shares;
mod roots;
mod sealed;
pub mod shares;
pub mod signing_subkey;
pub mod subkey_export;
pub mod token;

use openpgp::crypto::Signer;
use sequoia_openpgp as openpgp;

pub use age::{Identities, Recipient};
pub use drill::{drill, hard_revocation, ladder, Drill};
pub use escrow::EscrowedKey;
pub use revocation_check::must_take_effect;
pub use roots::Roots;

use crate::base::error::{Error, Result};
use crate::cert::make::CycleKey;
use crate::vault::{CardRecord, NewFile, StoredKey, Vault};

/// The primary key of `cert` with its secret, or `missing` when `cert`
/// carries none (a public certificate, a `sec#` stub).
pub(crate) fn primary_secret(
    cert: &openpgp::Cert,
    missing: impl FnOnce() -> Error,
) -> Result<
    openpgp::packet::Key<openpgp::packet::key::SecretParts, openpgp::packet::key::PrimaryRole>,
> {
    cert.primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .map_err(|_| missing())
}

/// Where a cycle key's primary secret is held, shown to people as
/// "escrow", "escrow (WHY NOT THE CARD)" or "card 0000:00000065".
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The escrowed software key; `instead_of_card` says why a card the
    /// vault records was not used.
    Escrow { instead_of_card: Option<String> },
    /// An OpenPGP card, by its ident (`0000:00000065`).
    Card { ident: String },
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Escrow {
                instead_of_card: Some(why),
            } => write!(f, "escrow ({why})"),
            Location::Escrow {
                instead_of_card: None,
            } => f.write_str("escrow"),
            Location::Card { ident } => write!(f, "card {ident}"),
        }
    }
}

/// A place where a cycle key's primary secret is held.
pub trait Backend {
    /// Where the secret lives.
    fn location(&self) -> Location;
    /// The primary key as a signer: certifications, bindings, revocations.
    fn primary_signer(&self) -> Result<Box<dyn Signer + Send + Sync>>;
    /// Store `changed` (this key's certificate extended with
    /// [`Backend::primary_signer`]) back, the escrowed ladder of soft
    /// revocations re-made to its new expiry and sealed to the roots of
    /// `policy`: the escrow re-seals everything; a card re-makes and
    /// re-seals only the ladder (see [`primary_to_extend`]).
    fn store(&self, home: &KeyHome, changed: &openpgp::Cert) -> Result<()>;
}

/// Where a changed key is stored back, under which policy, as of when.
#[derive(Clone, Copy)]
pub struct KeyHome<'a> {
    pub vault: &'a Vault,
    pub key: &'a StoredKey,
    /// The signed policy in force: whose roots the escrow is sealed to.
    pub policy: &'a dyn Roots,
    pub at: crate::base::clock::Time,
}

impl<'a> KeyHome<'a> {
    pub fn new(
        vault: &'a Vault,
        key: &'a StoredKey,
        policy: &'a dyn Roots,
        at: crate::base::clock::Time,
    ) -> KeyHome<'a> {
        KeyHome {
            vault,
            key,
            policy,
            at,
        }
    }
}

/// The slot name of a card record for a primary.
const SIGNATURE_SLOT: &str = "signature";

/// The vault's records (`card load`) of OpenPGP cards holding `key`'s
/// primary in their signature slot. A record is only a hint: a card is
/// used only when it really holds the key (see `card::find_primary`).
pub fn card_records(key: &StoredKey) -> Vec<&CardRecord> {
    let fpr = key.cert.fingerprint().to_hex();
    key.state
        .cards
        .iter()
        .filter(|c| c.slot == SIGNATURE_SLOT && c.fingerprint.eq_ignore_ascii_case(&fpr))
        .collect()
}

/// `0000:00000065`, or `0000:00000065 or 0000:00000066`.
pub fn card_idents(records: &[&CardRecord]) -> String {
    records
        .iter()
        .map(|c| c.ident.as_str())
        .collect::<Vec<_>>()
        .join(" or ")
}

/// Whether a card serves `key`'s primary now: the card backend, or why
/// not (an error naming `--identity`, and the same in a few words).
enum OnCard {
    NotRecorded,
    #[cfg_attr(not(feature = "card"), allow(dead_code))]
    Present(Box<dyn Backend>),
    Unusable(Error, String),
}

#[cfg(feature = "card")]
fn on_card(key: &StoredKey) -> Result<OnCard> {
    Ok(match card::find_primary(key, token::default_ui())? {
        card::Found::NotRecorded => OnCard::NotRecorded,
        card::Found::Present(c) => OnCard::Present(c),
        card::Found::Unusable(e, why) => OnCard::Unusable(e, why),
    })
}

#[cfg(not(feature = "card"))]
fn on_card(key: &StoredKey) -> Result<OnCard> {
    let recorded = card_records(key);
    if recorded.is_empty() {
        return Ok(OnCard::NotRecorded);
    }
    let on = card_idents(&recorded);
    Ok(OnCard::Unusable(
        Error::input(
            format!(
                "the primary of {} is on OpenPGP card {on}, and this keycycle was built without OpenPGP card support",
                key.state.cycle
            ),
            "open the escrow with --identity, or use a keycycle built with `--features card`",
        ),
        "this keycycle has no card support".into(),
    ))
}

/// Read a passphrase file (its first line; the trailing newline dropped).
pub fn read_passphrase(path: &std::path::Path) -> Result<openpgp::crypto::Password> {
    let text =
        zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?);
    let pw = text.trim_end_matches(['\n', '\r']);
    if pw.is_empty() {
        return Err(Error::input(
            format!("{} is empty", crate::base::text::path(path)),
            "put the passphrase in the file",
        ));
    }
    Ok(pw.to_string().into())
}

/// Open `key`'s escrow with `ids`: its certificate with the secrets.
/// The hard revocation is checked ([`hard_revocation`]): every store
/// re-seals it as it is, so a swapped one would stay swapped.
pub fn open(vault: &Vault, key: &StoredKey, ids: &Identities) -> Result<EscrowedKey> {
    let opened = EscrowedKey::open(vault, key, ids)?;
    hard_revocation(key, &opened)?;
    Ok(opened)
}

/// The primary of `key` from wherever it is held: the OpenPGP card the
/// vault records for it (`card load`), when a card present really holds it
/// — its user PIN asked through the token UI, a wrong PIN an error; else
/// the escrow, opened with `ids`. With no card usable and no identity,
/// one line naming `--identity` as the fallback.
pub fn primary(vault: &Vault, key: &StoredKey, ids: &Identities) -> Result<Box<dyn Backend>> {
    match on_card(key)? {
        OnCard::Present(card) => Ok(card),
        OnCard::Unusable(e, _) if ids.is_empty() => Err(e),
        OnCard::Unusable(_, why) => Ok(Box::new(open(vault, key, ids)?.instead_of_card(why))),
        OnCard::NotRecorded => Ok(Box::new(open(vault, key, ids)?)),
    }
}

/// The primary of `key` for an extension, which re-makes the escrowed
/// ladder ([`Backend::store`]): as [`primary`], but the card only when the
/// escrow lets the ladder be re-sealed without the secret
/// ([`revocation_shares::ladder_alone`]: one file set, sealed to the roots of
/// `policy`); otherwise the escrow, which then needs `ids`.
pub fn primary_to_extend(
    vault: &Vault,
    key: &StoredKey,
    ids: &Identities,
    policy: &dyn Roots,
) -> Result<Box<dyn Backend>> {
    if !card_records(key).is_empty() {
        if let Err(e) = revocation_shares::ladder_alone(vault, key, policy) {
            if ids.is_empty() {
                return Err(e);
            }
            let why = if !escrow::revocations_apart(key)? {
                "threshold escrow: the shares hold the ladder"
            } else {
                "the escrow is not sealed to the policy's roots"
            };
            return Ok(Box::new(open(vault, key, ids)?.instead_of_card(why.into())));
        }
    }
    primary(vault, key, ids)
}

/// The escrow files of a freshly generated key, sealed to `recipients`
/// in the escrow mode of `policy` (one file set, or M-of-N shares).
pub fn seal_new(
    _vault: &Vault,
    key: &CycleKey,
    recipients: &[Recipient],
    policy: &dyn Roots,
) -> Result<Vec<NewFile>> {
    let bundle = escrow::Bundle::of_new_key(key)?;
    escrow::seal(
        &key.cert.fingerprint().to_hex(),
        &bundle,
        recipients,
        &escrow::holder_names(policy, recipients),
        (policy.escrow_threshold(), policy.revocation_threshold()),
    )
}

/// The revocation to publish when the master is lost, from the escrow:
/// the hard one for `compromised` (voids every signature), or for a lost
/// but safe master the newest dated soft rung (`retired`) not after `at`
/// that takes effect (not older than the key's newest binding), which
/// keeps the signatures made before its date. Checked against the key
/// before use.
pub fn escrowed_revocation(
    vault: &Vault,
    key: &StoredKey,
    ids: &Identities,
    reason: openpgp::types::ReasonForRevocation,
    at: crate::base::clock::Time,
) -> Result<openpgp::packet::Signature> {
    use openpgp::types::ReasonForRevocation as R;
    // Only the revocation files are opened (not the primary), and only the
    // file published is checked (and named when it is wrong).
    let (hard, soft) = escrow::open_revocations(vault, key, ids)?;
    match reason {
        R::KeyCompromised => revocation_check::hard(key, escrow::signatures(&hard)?),
        R::KeyRetired => newest_effective_rung(
            key,
            revocation_check::ladder(key, escrow::signatures(&soft)?)?,
            at,
        ),
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

/// The newest rung of `rungs` not after `at` that takes effect
/// ([`revocation_check::takes_effect`]: not older than the key's newest
/// binding); a ladder made before an extension has none after it.
fn newest_effective_rung(
    key: &StoredKey,
    rungs: Vec<openpgp::packet::Signature>,
    at: crate::base::clock::Time,
) -> Result<openpgp::packet::Signature> {
    let now = crate::base::clock::to_system(at);
    let due: Vec<_> = rungs
        .into_iter()
        .filter(|s| s.signature_creation_time().is_some_and(|t| t <= now))
        .collect();
    let day = crate::base::clock::day(at);
    let binding = crate::cert::make::newest_binding(&key.cert);
    if due.is_empty() && binding.is_some_and(|b| b >= at && b > key.state.created) {
        return Err(Error::input(
            format!(
                "{day} is not after the newest binding signature{} of {}: no soft revocation dated then would revoke it, so sqv and keycycle verify would ignore it",
                revocation_check::binding_date(&key.cert),
                key.state.cycle,
            ),
            "give a --time after the newest binding, or use --reason compromised",
        ));
    }
    if due.is_empty() {
        return Err(Error::input(
            format!(
                "no escrowed soft revocation of {} is dated on or before {day}",
                key.state.cycle
            ),
            "the first rung is dated a week after the key was made; before that, use --reason compromised",
        ));
    }
    due.into_iter()
        .filter(|s| revocation_check::takes_effect(&key.cert, s, at))
        .max_by_key(|s| s.signature_creation_time())
        .ok_or_else(|| {
            Error::input(
                format!(
                    "no escrowed soft revocation of {} dated on or before {day} would revoke it: every such rung is older than the key's newest binding signature{}, so sqv and keycycle verify would ignore it",
                    key.state.cycle,
                    revocation_check::binding_date(&key.cert)
                ),
                "give a --time after the newest binding; a ladder escrowed before the key was extended is re-made by keycycle escrow rewrap --identity FILE; or use --reason compromised",
            )
        })
}

/// Re-escrow every key in `keys` for the roots of `policy`. Every key is opened
/// first: one that cannot be opened stops the run before anything is
/// rewritten.
pub fn rewrap(
    vault: &Vault,
    keys: &[StoredKey],
    ids: &Identities,
    policy: &dyn Roots,
    at: crate::base::clock::Time,
) -> Result<()> {
    let opened = keys
        .iter()
        .map(|k| open(vault, k, ids))
        .collect::<Result<Vec<_>>>()?;
    for (k, secret) in keys.iter().zip(&opened) {
        let from = k.state.created.max(at.min(k.state.expires));
        secret.store(&KeyHome::new(vault, k, policy, from), secret.cert())?;
    }
    Ok(())
}
