//! OpenPGP cards (behind the `card` feature; PC/SC through `libpcsclite`):
//! read what a card holds, load an OpenPGP key onto one of its slots, and
//! sign through the card with a [`CardSigner`] — an
//! `openpgp::crypto::Signer`, usable wherever keycycle takes
//! `&mut dyn Signer` (certifications, binding signatures, revocations).
//!
//! Built on `openpgp-card` 0.7 and `card-backend-pcsc` 0.5. PINs are asked
//! through [`TokenUi`] (the library never prompts); the card's PIN retry
//! counters are reported on a wrong PIN. The PC/SC daemon is the system's
//! unless `PCSCLITE_CSOCK_NAME` names another socket (libpcsclite reads it
//! once per process: one process talks to one pcscd — a virtual card in
//! the tests, see scripts/virtual-cards.sh).
//!
//! Keys on cards are v4 (20-byte fingerprints), as keycycle's keys are.
//! Supported: Ed25519 (EdDSA), RSA 2048–4096, and ECDSA/ECDH on the NIST
//! curves the card knows.

mod backend;
mod signer;
mod upload;

use age::secrecy::SecretString;
use serde::Serialize;

use card_backend_pcsc::PcscBackend;
use openpgp_card::ocard::{KeyType, StatusBytes};
use openpgp_card::state::{Open, Transaction};
use openpgp_card::Card;

use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};
use crate::custody::token::TokenUi;

pub use backend::{find_primary, CardKey, Found};
pub use signer::CardSigner;
pub use upload::{load, load_primary, Loaded};

/// The hint on every "no card" error: the escrow is the fallback.
pub const NO_CARD_HINT: &str =
    "insert the card (a virtual card: set PCSCLITE_CSOCK_NAME to its pcscd socket), or open the escrow with --identity";

/// A key slot of an OpenPGP card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Slot {
    Signature,
    Decryption,
    Authentication,
}

impl Slot {
    fn key_type(self) -> KeyType {
        match self {
            Slot::Signature => KeyType::Signing,
            Slot::Decryption => KeyType::Decryption,
            Slot::Authentication => KeyType::Authentication,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Slot::Signature => "signature",
            Slot::Decryption => "decryption",
            Slot::Authentication => "authentication",
        }
    }
}

impl std::fmt::Display for Slot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What one slot holds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SlotStatus {
    pub slot: Slot,
    /// Upper-case hex, `None` for an empty slot.
    pub fingerprint: Option<String>,
    #[serde(with = "clock::serde_iso_opt")]
    pub created: Option<Time>,
    /// The slot's algorithm attributes, as the card states them.
    pub algorithm: String,
}

/// What a card holds, as `card status` shows it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CardStatus {
    /// `MMMM:SSSSSSSS` (manufacturer and serial, hex), as gpg and sq show it.
    pub ident: String,
    pub manufacturer: String,
    pub serial: u32,
    pub slots: Vec<SlotStatus>,
    /// Signatures made with the signature slot's key (the card counts).
    pub signature_count: u32,
    /// Tries left before the user PIN blocks.
    pub user_pin_retries: u8,
    /// Tries left for the resetting code (0: none set).
    pub reset_code_retries: u8,
    /// Tries left before the admin PIN blocks.
    pub admin_pin_retries: u8,
}

impl CardStatus {
    /// The slot holding `fingerprint` (hex, any case), if any.
    pub fn slot_of(&self, fingerprint: &str) -> Option<Slot> {
        self.slots
            .iter()
            .find(|s| {
                s.fingerprint
                    .as_deref()
                    .is_some_and(|f| f.eq_ignore_ascii_case(fingerprint))
            })
            .map(|s| s.slot)
    }

    /// What the signature slot holds.
    pub fn signature_fingerprint(&self) -> Option<&str> {
        self.slots
            .iter()
            .find(|s| s.slot == Slot::Signature)
            .and_then(|s| s.fingerprint.as_deref())
    }
}

pub(super) fn card_err(what: &str, e: openpgp_card::Error) -> Error {
    anyhow::anyhow!("OpenPGP card: {what}: {e}").into()
}

pub(super) fn no_card(why: impl std::fmt::Display) -> Error {
    Error::input(format!("no OpenPGP card found: {why}"), NO_CARD_HINT)
}

/// Every OpenPGP card PC/SC can reach (other cards are skipped).
pub(super) fn open_all() -> Result<Vec<Card<Open>>> {
    let backends = PcscBackend::card_backends(None).map_err(|e| no_card(short_pcsc(&e)))?;
    Ok(backends
        .filter_map(|b| b.ok())
        .filter_map(|b| Card::new(b).ok())
        .collect())
}

fn short_pcsc(e: &card_backend::SmartcardError) -> String {
    use card_backend::SmartcardError as E;
    match e {
        E::ContextError(_) => "the PC/SC daemon (pcscd) is not reachable".into(),
        E::ReaderError(_) | E::NoReaderFoundError => "no card reader".into(),
        e => e.to_string(),
    }
}

fn ident_of(card: &mut Card<Open>) -> Result<String> {
    let tx = card.transaction().map_err(|e| card_err("transaction", e))?;
    Ok(tx
        .application_identifier()
        .map_err(|e| card_err("application identifier", e))?
        .ident())
}

/// Open the card `ident` (`MMMM:SSSSSSSS`, as [`CardStatus::ident`]), or
/// the only card present when `ident` is `None`.
pub(super) fn open(ident: Option<&str>) -> Result<Card<Open>> {
    let mut cards = open_all()?;
    if let Some(want) = ident {
        for mut c in cards {
            if ident_of(&mut c)?.eq_ignore_ascii_case(want) {
                return Ok(c);
            }
        }
        return Err(no_card(format!("no card {want}")));
    }
    match cards.len() {
        0 => Err(no_card("no card in the reader")),
        1 => Ok(cards.remove(0)),
        n => Err(Error::input(
            format!("{n} OpenPGP cards are present"),
            "name one by its ident (MMMM:SSSSSSSS, from `keycycle card status`), or remove the others",
        )),
    }
}

/// Open the card whose slots hold `fingerprint` (or `ident`, if given).
pub(super) fn open_holding(
    fingerprint: &str,
    ident: Option<&str>,
) -> Result<(Card<Open>, CardStatus)> {
    if let Some(i) = ident {
        let mut card = open(Some(i))?;
        let st = read_status(&mut card)?;
        return Ok((card, st));
    }
    let mut seen = Vec::new();
    for mut card in open_all()? {
        let st = read_status(&mut card)?;
        if st.slot_of(fingerprint).is_some() {
            return Ok((card, st));
        }
        seen.push(st);
    }
    match seen.as_slice() {
        [] => Err(no_card("no card in the reader")),
        [one] => Err(Error::input(
            format!(
                "OpenPGP card {} does not hold key {fingerprint} (its signature slot: {})",
                one.ident,
                one.signature_fingerprint().unwrap_or("empty")
            ),
            "insert the card that holds the key, or open the escrow with --identity",
        )),
        _ => Err(Error::input(
            format!(
                "none of the {} OpenPGP cards present holds key {fingerprint}",
                seen.len()
            ),
            "insert the card that holds the key, or open the escrow with --identity",
        )),
    }
}

pub(super) fn read_status(card: &mut Card<Open>) -> Result<CardStatus> {
    let mut tx = card.transaction().map_err(|e| card_err("transaction", e))?;
    status_in(&mut tx)
}

pub(super) fn status_in(tx: &mut Card<Transaction<'_>>) -> Result<CardStatus> {
    let e = |what: &'static str| move |err| card_err(what, err);
    let aid = tx.application_identifier().map_err(e("identifier"))?;
    let fprs = tx.fingerprints().map_err(e("fingerprints"))?;
    let times = tx.key_generation_times().map_err(e("key times"))?;
    let pw = tx.pw_status_bytes().map_err(e("PIN status"))?;
    let count = tx
        .digital_signature_count()
        .map_err(e("signature counter"))?;
    let mut slots = Vec::new();
    for slot in [Slot::Signature, Slot::Decryption, Slot::Authentication] {
        let (fpr, time) = match slot {
            Slot::Signature => (fprs.signature(), times.signature()),
            Slot::Decryption => (fprs.decryption(), times.decryption()),
            Slot::Authentication => (fprs.authentication(), times.authentication()),
        };
        let algorithm = tx
            .algorithm_attributes(slot.key_type())
            .map(|a| a.to_string())
            .unwrap_or_else(|_| "unknown".into());
        slots.push(SlotStatus {
            slot,
            fingerprint: fpr
                .map(|f| f.to_hex().to_uppercase())
                .filter(|f| f.chars().any(|c| c != '0')),
            created: time
                .map(|t| t.get())
                .filter(|t| *t != 0)
                .and_then(|t| chrono::DateTime::from_timestamp(t.into(), 0)),
            algorithm,
        });
    }
    Ok(CardStatus {
        ident: aid.ident(),
        manufacturer: aid.manufacturer_name().to_string(),
        serial: aid.serial(),
        slots,
        signature_count: count,
        user_pin_retries: pw.err_count_pw1(),
        reset_code_retries: pw.err_count_rc(),
        admin_pin_retries: pw.err_count_pw3(),
    })
}

/// Every OpenPGP card present, with what it holds.
pub fn list() -> Result<Vec<CardStatus>> {
    open_all()?.iter_mut().map(read_status).collect()
}

/// What the card `ident` (or the only card present) holds.
pub fn status(ident: Option<&str>) -> Result<CardStatus> {
    read_status(&mut open(ident)?)
}

#[derive(Clone, Copy)]
pub(super) enum Pin {
    User,
    Admin,
}

impl Pin {
    fn name(self) -> &'static str {
        match self {
            Pin::User => "user PIN",
            Pin::Admin => "admin PIN",
        }
    }
}

pub(super) fn try_ask_pin(ui: &dyn TokenUi, which: Pin, ident: &str) -> Option<SecretString> {
    ui.request_passphrase(&format!(
        "Enter the {} of OpenPGP card {ident}",
        which.name()
    ))
}

pub(super) fn ask_pin(ui: &dyn TokenUi, which: Pin, ident: &str) -> Result<SecretString> {
    try_ask_pin(ui, which, ident).ok_or_else(|| {
        Error::input(
            format!("the {} of OpenPGP card {ident} is needed", which.name()),
            match which {
                Pin::User => "pass --pin-file (or set KEYCYCLE_PIN in --batch), or open the escrow with --identity",
                Pin::Admin => "pass --admin-pin-file with the card's admin PIN",
            },
        )
    })
}

/// A PIN the card refused, in one line with the tries left.
pub(super) fn pin_refused(
    tx: &mut Card<Transaction<'_>>,
    which: Pin,
    ident: &str,
    e: openpgp_card::Error,
) -> Error {
    let refused = matches!(
        e,
        openpgp_card::Error::CardStatus(
            StatusBytes::PasswordNotChecked(_)
                | StatusBytes::SecurityStatusNotSatisfied
                | StatusBytes::AuthenticationMethodBlocked
        )
    );
    if !refused {
        return card_err(&format!("verify {}", which.name()), e);
    }
    let _ = tx.invalidate_cache();
    let left = match (&e, tx.pw_status_bytes()) {
        (_, Ok(pw)) => Some(match which {
            Pin::User => pw.err_count_pw1(),
            Pin::Admin => pw.err_count_pw3(),
        }),
        (openpgp_card::Error::CardStatus(StatusBytes::PasswordNotChecked(n)), _) => Some(*n),
        _ => None,
    };
    let check = match which {
        Pin::User => "check --pin-file (or KEYCYCLE_PIN); do not retry blindly",
        Pin::Admin => "check the admin PIN in --admin-pin-file; do not retry blindly",
    };
    match left {
        Some(0) => Error::input(
            format!(
                "the {} of OpenPGP card {ident} is blocked (0 tries left)",
                which.name()
            ),
            "unblock it with the admin PIN or the resetting code (gpg --card-edit, admin, passwd), or open the escrow with --identity",
        ),
        Some(n) => Error::input(
            format!(
                "wrong {} for OpenPGP card {ident}: {n} {} left before it blocks",
                which.name(),
                if n == 1 { "try" } else { "tries" }
            ),
            check,
        ),
        None => Error::input(
            format!("wrong {} for OpenPGP card {ident}", which.name()),
            check,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_card_names_the_fallback() {
        let e = no_card("no card in the reader");
        assert!(e.hint().unwrap().contains("--identity"));
        assert!(!e.to_string().contains('\n'));
    }
}
