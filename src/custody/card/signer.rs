//! Signing through a card: [`CardSigner`], a sequoia `Signer` whose every
//! signature is checked against the public key it claims to be.

use std::sync::Arc;

use age::secrecy::SecretString;

use openpgp::crypto::mpi;
use openpgp::packet::key::{self, Key, PublicParts, UnspecifiedRole};
use openpgp::types::HashAlgorithm;
use openpgp_card::ocard::crypto::{HashAlgo, SigningAlgo};
use openpgp_card::ocard::KeyType;
use openpgp_card::state::{Open, Transaction};
use openpgp_card::Card;
use sequoia_openpgp as openpgp;

use super::upload::unsupported;
use super::{
    ask_pin, card_err, open_holding, pin_refused, read_status, try_ask_pin, CardStatus, Pin, Slot,
};
use crate::base::error::{Error, Result};
use crate::custody::token::TokenUi;

/// The private half of `public` on an OpenPGP card, as a sequoia
/// `Signer`. The user PIN is asked once, checked at once (a wrong PIN
/// fails here, in one line, with the tries left), kept in memory, and
/// presented before each signature (cards may accept it for one signature
/// only). Every signature the card makes increments its counter, and is
/// verified with `public` before it is handed back.
pub struct CardSigner {
    card: Card<Open>,
    public: Key<PublicParts, UnspecifiedRole>,
    pin: SecretString,
    ident: String,
    serial: u32,
    slot: Slot,
    ui: Arc<dyn TokenUi>,
}

/// The card holding `public` (or the card `ident`), and the slot it is in:
/// only the signature slot makes OpenPGP signatures.
pub(super) struct Located {
    card: Card<Open>,
    pub(super) status: CardStatus,
    pub(super) public: Key<PublicParts, UnspecifiedRole>,
    slot: Slot,
}

pub(super) fn locate<P: key::KeyParts, R: key::KeyRole>(
    public: &Key<P, R>,
    ident: Option<&str>,
) -> Result<Located> {
    let public: Key<PublicParts, UnspecifiedRole> =
        public.clone().parts_into_public().role_into_unspecified();
    let fpr = public.fingerprint().to_hex();
    let (card, st) = open_holding(&fpr, ident)?;
    match st.slot_of(&fpr) {
        Some(Slot::Signature) => Ok(Located {
            card,
            status: st,
            public,
            slot: Slot::Signature,
        }),
        Some(Slot::Decryption) => Err(Error::input(
            format!(
                "OpenPGP card {} holds key {fpr} in its decryption slot, which cannot sign",
                st.ident
            ),
            "load the key into the signature slot",
        )),
        Some(Slot::Authentication) => Err(Error::input(
            format!(
                "key {fpr} sits in the authentication slot of OpenPGP card {}",
                st.ident
            ),
            "OpenPGP signatures come from the signature slot: load the key there",
        )),
        None => Err(Error::input(
            format!(
                "OpenPGP card {} does not hold key {fpr} (its signature slot: {})",
                st.ident,
                st.signature_fingerprint().unwrap_or("empty")
            ),
            "insert the card that holds the key, or open the escrow with --identity",
        )),
    }
}

impl CardSigner {
    /// Find the card holding `public` in its signature slot, or the card
    /// `ident`; ask for and check the user PIN.
    pub fn open<P: key::KeyParts, R: key::KeyRole>(
        public: &Key<P, R>,
        ident: Option<&str>,
        ui: Arc<dyn TokenUi>,
    ) -> Result<CardSigner> {
        let found = locate(public, ident)?;
        let pin = ask_pin(ui.as_ref(), Pin::User, &found.status.ident)?;
        CardSigner::unlock(found, pin, ui)
    }

    /// As [`CardSigner::open`], but `None` when nobody can answer the PIN
    /// request (batch, no PIN given): the caller may fall back to the
    /// escrow. A wrong PIN is still an error.
    pub fn open_if_pin<P: key::KeyParts, R: key::KeyRole>(
        public: &Key<P, R>,
        ident: Option<&str>,
        ui: Arc<dyn TokenUi>,
    ) -> Result<Option<CardSigner>> {
        let found = locate(public, ident)?;
        let Some(pin) = try_ask_pin(ui.as_ref(), Pin::User, &found.status.ident) else {
            return Ok(None);
        };
        CardSigner::unlock(found, pin, ui).map(Some)
    }

    pub(super) fn unlock(
        found: Located,
        pin: SecretString,
        ui: Arc<dyn TokenUi>,
    ) -> Result<CardSigner> {
        let Located {
            mut card,
            status: st,
            public,
            slot,
        } = found;
        {
            let mut tx = card.transaction().map_err(|e| card_err("transaction", e))?;
            if let Err(e) = tx.verify_user_signing_pin(pin.clone()) {
                return Err(pin_refused(&mut tx, Pin::User, &st.ident, e));
            }
        }
        Ok(CardSigner {
            card,
            public,
            pin,
            ident: st.ident,
            serial: st.serial,
            slot,
            ui,
        })
    }

    /// The card's serial number.
    pub fn serial(&self) -> u32 {
        self.serial
    }

    /// The error for a signature that does not verify with the key the
    /// card's slot claims to hold (its fingerprint is only a record the
    /// host wrote: a card can show any fingerprint).
    fn forged(&self) -> Error {
        Error::input(
            format!(
                "OpenPGP card {} made a signature that key {} does not verify: its {} slot does not hold that key, whatever fingerprint it shows",
                self.ident,
                self.public.fingerprint().to_hex(),
                self.slot
            ),
            "nothing was signed or written: use the card that really holds the key (keycycle card load), or open the escrow with --identity",
        )
    }

    /// The card's ident (`MMMM:SSSSSSSS`).
    pub fn ident(&self) -> &str {
        &self.ident
    }

    /// The slot the key sits in.
    pub fn slot(&self) -> Slot {
        self.slot
    }

    /// What the card holds now (its signature counter, PIN retries).
    pub fn status(&mut self) -> Result<CardStatus> {
        read_status(&mut self.card)
    }

    fn sign_on_card(&mut self, hash_algo: HashAlgorithm, digest: &[u8]) -> Result<mpi::Signature> {
        let mut tx = self
            .card
            .transaction()
            .map_err(|e| card_err("transaction", e))?;
        if let Err(e) = tx.verify_user_signing_pin(self.pin.clone()) {
            return Err(pin_refused(&mut tx, Pin::User, &self.ident, e));
        }
        let touch = tx
            .user_interaction_flag(KeyType::Signing)
            .ok()
            .flatten()
            .is_some_and(|u| u.touch_policy().touch_required());
        if touch {
            self.ui.display_message(&format!(
                "Touch OpenPGP card {} to confirm the signature",
                self.ident
            ));
        }
        let sign = |tx: &mut Card<Transaction<'_>>, algo| {
            tx.card()
                .signature_for_hash(algo, digest)
                .map_err(|e| card_err("sign", e))
        };
        Ok(match self.public.mpis() {
            mpi::PublicKey::RSA { .. } => {
                let h = match hash_algo {
                    HashAlgorithm::SHA256 => HashAlgo::SHA256,
                    HashAlgorithm::SHA384 => HashAlgo::SHA384,
                    HashAlgorithm::SHA512 => HashAlgo::SHA512,
                    h => {
                        return Err(anyhow::anyhow!(
                            "OpenPGP card: cannot make an RSA signature over {h}"
                        )
                        .into())
                    }
                };
                let s = sign(&mut tx, SigningAlgo::RSA(h))?;
                mpi::Signature::RSA {
                    s: mpi::MPI::new(&s),
                }
            }
            mpi::PublicKey::EdDSA { .. } => {
                let s = sign(&mut tx, SigningAlgo::ECC)?;
                if s.len() != 64 {
                    return Err(anyhow::anyhow!(
                        "OpenPGP card: an EdDSA signature of {} bytes",
                        s.len()
                    )
                    .into());
                }
                mpi::Signature::EdDSA {
                    r: mpi::MPI::new(&s[..32]),
                    s: mpi::MPI::new(&s[32..]),
                }
            }
            mpi::PublicKey::ECDSA { curve, .. } => {
                // The card signs the leftmost field-size bytes of the digest.
                let size = curve.field_size().unwrap_or(digest.len());
                let d = &digest[..digest.len().min(size)];
                let s = tx
                    .card()
                    .signature_for_hash(SigningAlgo::ECC, d)
                    .map_err(|e| card_err("sign", e))?;
                let half = s.len() / 2;
                mpi::Signature::ECDSA {
                    r: mpi::MPI::new(&s[..half]),
                    s: mpi::MPI::new(&s[half..]),
                }
            }
            _ => {
                return Err(unsupported(format!("algorithm {}", self.public.pk_algo())));
            }
        })
    }
}

impl openpgp::crypto::Signer for CardSigner {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.public
    }

    fn acceptable_hashes(&self) -> &[HashAlgorithm] {
        match self.public.mpis() {
            // The card builds the DigestInfo: only the hashes it knows.
            mpi::PublicKey::RSA { .. } => &[
                HashAlgorithm::SHA512,
                HashAlgorithm::SHA384,
                HashAlgorithm::SHA256,
            ],
            _ => &[
                HashAlgorithm::SHA512,
                HashAlgorithm::SHA384,
                HashAlgorithm::SHA256,
                HashAlgorithm::SHA224,
                HashAlgorithm::SHA3_512,
                HashAlgorithm::SHA3_256,
            ],
        }
    }

    /// Signs on the card, then checks the signature with the public key:
    /// a card whose slot shows the right fingerprint but holds another key
    /// fails here, before anything it signed is used.
    fn sign(&mut self, hash_algo: HashAlgorithm, digest: &[u8]) -> openpgp::Result<mpi::Signature> {
        let sig = self.sign_on_card(hash_algo, digest)?;
        if self.public.verify(&sig, hash_algo, digest).is_err() {
            return Err(self.forged().into());
        }
        Ok(sig)
    }
}

impl std::fmt::Debug for CardSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "CardSigner({} on card {}, {} slot)",
            self.public.fingerprint(),
            self.ident,
            self.slot
        )
    }
}
