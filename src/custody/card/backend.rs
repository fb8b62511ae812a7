//! A cycle key's primary on an OpenPGP card as a custody [`Backend`]:
//! found through the vault's `[[card]]` record (written by `card load`),
//! used only when a card present really holds the key.
//!
//! The record in state.toml is a hint anyone with write access to the
//! vault can plant, and a card's fingerprint is a record the host wrote
//! when it loaded the card: neither proves anything. The card is looked up
//! by the key's fingerprint in its signature slot (not by the recorded
//! ident), and every signature it makes is verified with the key's public
//! primary before it is used ([`CardSigner`]): a card holding another key
//! fails at its first signature, before anything is written.

use std::sync::{Arc, Mutex};

use openpgp::crypto::Signer;
use openpgp::packet::key::{PublicParts, UnspecifiedRole};
use openpgp::packet::Key;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use super::signer::locate;
use super::{try_ask_pin, CardSigner, Pin, NO_CARD_HINT};
use crate::base::error::{Error, Result};
use crate::custody::token::TokenUi;
use crate::custody::KeyHome;
use crate::custody::{card_idents, card_records, escrow, Backend};
use crate::vault::StoredKey;

/// A cycle key's primary on a card that is present, its user PIN checked.
pub struct CardKey {
    public: Key<PublicParts, UnspecifiedRole>,
    ident: String,
    serial: u32,
    ui: Arc<dyn TokenUi>,
    /// The signer opened (and PIN-checked) by [`find_primary`], handed out
    /// once; later calls open the card again (the UI answers the same PIN).
    opened: Mutex<Option<CardSigner>>,
}

impl CardKey {
    /// The card's ident (`MMMM:SSSSSSSS`).
    pub fn ident(&self) -> &str {
        &self.ident
    }

    /// The card's serial number.
    pub fn serial(&self) -> u32 {
        self.serial
    }
}

/// Whether a card can serve a key's primary now.
pub enum Found {
    /// The vault records no card for this key's primary.
    NotRecorded,
    /// A card holding it is present and its user PIN was accepted.
    Present(Box<CardKey>),
    /// Recorded, but no card can be used now: why (one line, with a hint
    /// naming `--identity`), and the same in a few words.
    Unusable(Error, String),
}

/// The card for `key`'s primary, if the vault records one: found among the
/// cards present by the key's fingerprint, its user PIN asked through `ui`
/// and checked. A wrong PIN is an error (never a silent fallback).
pub fn find_primary(key: &StoredKey, ui: Arc<dyn TokenUi>) -> Result<Found> {
    let recorded = card_records(key);
    if recorded.is_empty() {
        return Ok(Found::NotRecorded);
    }
    let on = card_idents(&recorded);
    let found = match locate(key.cert.primary_key().key(), None) {
        Ok(found) => found,
        Err(e) => {
            return Ok(Found::Unusable(
                Error::input(
                    format!(
                        "the primary of {} is on OpenPGP card {on}, which cannot be used: {e}",
                        key.state.cycle
                    ),
                    NO_CARD_HINT,
                ),
                format!("card {on} is not present"),
            ))
        }
    };
    let Some(pin) = try_ask_pin(ui.as_ref(), Pin::User, &found.status.ident) else {
        return Ok(Found::Unusable(
            Error::input(
                format!(
                    "the user PIN of OpenPGP card {} is needed to use the primary of {}",
                    found.status.ident, key.state.cycle
                ),
                "pass --pin-file FILE (or set KEYCYCLE_PIN with --batch), or open the escrow with --identity",
            ),
            format!("no user PIN for card {}", found.status.ident),
        ));
    };
    let (ident, serial) = (found.status.ident.clone(), found.status.serial);
    let public = found.public.clone();
    let signer = CardSigner::unlock(found, pin, ui.clone())?;
    Ok(Found::Present(Box::new(CardKey {
        public,
        ident,
        serial,
        ui,
        opened: Mutex::new(Some(signer)),
    })))
}

impl Backend for CardKey {
    fn location(&self) -> crate::custody::Location {
        crate::custody::Location::Card {
            ident: self.ident.clone(),
        }
    }

    fn primary_signer(&self) -> Result<Box<dyn Signer + Send + Sync>> {
        let opened = self.opened.lock().unwrap_or_else(|e| e.into_inner()).take();
        Ok(Box::new(match opened {
            Some(s) => s,
            None => CardSigner::open(&self.public, Some(&self.ident), self.ui.clone())?,
        }))
    }

    /// The card signs; the escrow's secret is not needed: only the ladder
    /// of soft revocations is re-made (by the card) and re-sealed, beside
    /// the escrowed key and hard revocation, which stay as they are (the
    /// escrowed key's bindings are older than the vault's cert; opening
    /// the escrow merges the two). Needs single-file escrow sealed to the
    /// policy's roots and revocation threshold
    /// ([`crate::custody::revocation_shares::ladder_alone`]).
    fn store(&self, home: &KeyHome, changed: &Cert) -> Result<()> {
        crate::custody::revocation_shares::ladder_alone(home.vault, home.key, home.policy)?;
        let mut signer = self.primary_signer()?;
        escrow::store_ladder(home, changed, &mut *signer)
    }
}
