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

use std::sync::Arc;

use age::secrecy::SecretString;
use serde::Serialize;
use zeroize::Zeroizing;

use card_backend_pcsc::PcscBackend;
use openpgp::crypto::mpi;
use openpgp::packet::key::{self, Key, PublicParts, SecretParts, UnspecifiedRole};
use openpgp::types::{Curve, HashAlgorithm, Timestamp};
use openpgp::Cert;
use openpgp_card::ocard::crypto::{
    CardUploadableKey, EccKey, EccType, HashAlgo, PrivateKeyMaterial, RSAKey, SigningAlgo,
};
use openpgp_card::ocard::data::{Fingerprint as CardFpr, KeyGenerationTime};
use openpgp_card::ocard::{KeyType, StatusBytes};
use openpgp_card::state::{Open, Transaction};
use openpgp_card::Card;
use sequoia_openpgp as openpgp;

use crate::clock::{self, Time};
use crate::custody::token::TokenUi;
use crate::error::{Error, Result};

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

fn card_err(what: &str, e: openpgp_card::Error) -> Error {
    anyhow::anyhow!("OpenPGP card: {what}: {e}").into()
}

fn no_card(why: impl std::fmt::Display) -> Error {
    Error::input(format!("no OpenPGP card found: {why}"), NO_CARD_HINT)
}

/// Every OpenPGP card PC/SC can reach (other cards are skipped).
fn open_all() -> Result<Vec<Card<Open>>> {
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
fn open(ident: Option<&str>) -> Result<Card<Open>> {
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
fn open_holding(fingerprint: &str, ident: Option<&str>) -> Result<(Card<Open>, CardStatus)> {
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

fn read_status(card: &mut Card<Open>) -> Result<CardStatus> {
    let mut tx = card.transaction().map_err(|e| card_err("transaction", e))?;
    status_in(&mut tx)
}

fn status_in(tx: &mut Card<Transaction<'_>>) -> Result<CardStatus> {
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
enum Pin {
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

fn ask_pin(ui: &dyn TokenUi, which: Pin, ident: &str) -> Result<SecretString> {
    ui.request_passphrase(&format!(
        "Enter the {} of OpenPGP card {ident}",
        which.name()
    ))
    .ok_or_else(|| {
        Error::input(
            format!("the {} of OpenPGP card {ident} is needed", which.name()),
            match which {
                Pin::User => "pass --pin-file (or set KEYCYCLE_PIN in --batch), or open the escrow with --identity",
                Pin::Admin => "pass --pin-file with the card's admin PIN",
            },
        )
    })
}

/// A PIN the card refused, in one line with the tries left.
fn pin_refused(
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
        Pin::Admin => "check the admin PIN in --pin-file; do not retry blindly",
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

// ---- loading a key onto a card -------------------------------------------

/// A key's secret material in the form openpgp-card uploads.
struct Upload {
    fingerprint: [u8; 20],
    created: u32,
    material: Material,
}

enum Material {
    Rsa(RsaParts),
    Ecc(EccParts),
}

/// RSA in the card's CRT form. OpenPGP's u is p⁻¹ mod q; the card wants
/// 1/q mod p for its (p, q), so the primes go in swapped and u is used as is.
#[derive(Clone)]
struct RsaParts {
    e: Vec<u8>,
    n: Vec<u8>,
    p: Zeroizing<Vec<u8>>,
    q: Zeroizing<Vec<u8>>,
    pq: Zeroizing<Vec<u8>>,
    dp1: Zeroizing<Vec<u8>>,
    dq1: Zeroizing<Vec<u8>>,
}

#[derive(Clone)]
struct EccParts {
    oid: Vec<u8>,
    private: Zeroizing<Vec<u8>>,
    public: Vec<u8>,
    kind: EccType,
}

impl RSAKey for RsaParts {
    fn e(&self) -> &[u8] {
        &self.e
    }
    fn p(&self) -> &[u8] {
        &self.p
    }
    fn q(&self) -> &[u8] {
        &self.q
    }
    fn pq(&self) -> &[u8] {
        &self.pq
    }
    fn dp1(&self) -> &[u8] {
        &self.dp1
    }
    fn dq1(&self) -> &[u8] {
        &self.dq1
    }
    fn n(&self) -> &[u8] {
        &self.n
    }
}

impl EccKey for EccParts {
    fn oid(&self) -> &[u8] {
        &self.oid
    }
    fn private(&self) -> &[u8] {
        &self.private
    }
    fn public(&self) -> &[u8] {
        &self.public
    }
    fn ecc_type(&self) -> EccType {
        self.kind
    }
}

impl CardUploadableKey for Upload {
    fn private_key(&self) -> std::result::Result<PrivateKeyMaterial, openpgp_card::Error> {
        Ok(match &self.material {
            Material::Rsa(r) => PrivateKeyMaterial::R(Box::new(r.clone())),
            Material::Ecc(e) => PrivateKeyMaterial::E(Box::new(e.clone())),
        })
    }

    fn timestamp(&self) -> KeyGenerationTime {
        self.created.into()
    }

    fn fingerprint(&self) -> std::result::Result<CardFpr, openpgp_card::Error> {
        Ok(CardFpr::from(self.fingerprint))
    }
}

/// `a mod (b - 1)` for big-endian unsigned integers.
fn mod_minus_one(a: &[u8], b: &[u8]) -> Zeroizing<Vec<u8>> {
    use num_bigint_dig::BigUint;
    let a = BigUint::from_bytes_be(a);
    let m = BigUint::from_bytes_be(b) - 1u32;
    Zeroizing::new((a % m).to_bytes_be())
}

/// The curve's native point: 25519 points drop OpenPGP's 0x40 prefix.
fn native_point(curve: &Curve, q: &mpi::MPI) -> Vec<u8> {
    match curve {
        Curve::Ed25519 | Curve::Cv25519 => q
            .decode_point(curve)
            .map(|(x, _)| x.to_vec())
            .unwrap_or_else(|_| q.value().to_vec()),
        _ => q.value().to_vec(),
    }
}

fn unsupported(what: impl std::fmt::Display) -> Error {
    Error::input(
        format!("OpenPGP cards cannot hold this key: {what}"),
        "cards take Ed25519, RSA (2048–4096 bits) and NIST P-curve keys",
    )
}

impl Upload {
    fn new<R: key::KeyRole>(key: &Key<SecretParts, R>) -> Result<Upload> {
        let fingerprint: [u8; 20] = key
            .fingerprint()
            .as_bytes()
            .try_into()
            .map_err(|_| unsupported("not a v4 key (OpenPGP cards hold v4 keys)"))?;
        let created: u32 = Timestamp::try_from(key.creation_time())
            .map_err(|_| unsupported("its creation time does not fit the card"))?
            .into();
        let secret =
            match key.optional_secret() {
                Some(key::SecretKeyMaterial::Unencrypted(u)) => u,
                Some(key::SecretKeyMaterial::Encrypted(_)) => return Err(Error::input(
                    "the key's secret is passphrase-protected",
                    "load the key as opened from the escrow (it is not passphrase-protected there)",
                )),
                None => return Err(unsupported("it has no secret key material")),
            };
        let material = secret.map(|s| -> Result<Material> {
            Ok(match (key.mpis(), s) {
                (mpi::PublicKey::RSA { e, n }, mpi::SecretKeyMaterial::RSA { d, p, q, u }) => {
                    // Card (p, q) = OpenPGP (q, p): then 1/q_card mod p_card = u.
                    Material::Rsa(RsaParts {
                        e: e.value().to_vec(),
                        n: n.value().to_vec(),
                        p: Zeroizing::new(q.value().to_vec()),
                        q: Zeroizing::new(p.value().to_vec()),
                        pq: Zeroizing::new(u.value().to_vec()),
                        dp1: mod_minus_one(d.value(), q.value()),
                        dq1: mod_minus_one(d.value(), p.value()),
                    })
                }
                (mpi::PublicKey::EdDSA { curve, q }, mpi::SecretKeyMaterial::EdDSA { scalar }) => {
                    Material::Ecc(EccParts {
                        oid: curve.oid().to_vec(),
                        private: Zeroizing::new(scalar.value_padded(32).to_vec()),
                        public: native_point(curve, q),
                        kind: EccType::EdDSA,
                    })
                }
                (mpi::PublicKey::ECDSA { curve, q }, mpi::SecretKeyMaterial::ECDSA { scalar }) => {
                    Material::Ecc(EccParts {
                        oid: curve.oid().to_vec(),
                        private: Zeroizing::new(
                            scalar
                                .value_padded(curve.field_size().unwrap_or(scalar.value().len()))
                                .to_vec(),
                        ),
                        public: q.value().to_vec(),
                        kind: EccType::ECDSA,
                    })
                }
                (
                    mpi::PublicKey::ECDH { curve, q, .. },
                    mpi::SecretKeyMaterial::ECDH { scalar },
                ) => Material::Ecc(EccParts {
                    oid: curve.oid().to_vec(),
                    private: Zeroizing::new(
                        scalar
                            .value_padded(curve.field_size().unwrap_or(scalar.value().len()))
                            .to_vec(),
                    ),
                    public: native_point(curve, q),
                    kind: EccType::ECDH,
                }),
                _ => return Err(unsupported(format!("algorithm {}", key.pk_algo()))),
            })
        })?;
        Ok(Upload {
            fingerprint,
            created,
            material,
        })
    }
}

/// What a load did.
#[derive(Debug, Clone, Serialize)]
pub struct Loaded {
    pub fingerprint: String,
    pub slot: Slot,
    /// The card afterwards.
    pub card: CardStatus,
}

/// Write `key` (with its secret, unencrypted) into `slot` of the card
/// `ident` (or the only card present), with the admin PIN asked through
/// `ui`; the card records the key's fingerprint and creation time, so its
/// slot shows the OpenPGP key's own fingerprint. Replaces what the slot
/// held. Checks the card's fingerprint afterwards.
pub fn load<R: key::KeyRole>(
    key: &Key<SecretParts, R>,
    slot: Slot,
    ident: Option<&str>,
    ui: &dyn TokenUi,
) -> Result<Loaded> {
    let upload = Upload::new(key)?;
    let want = key.fingerprint().to_hex();
    let mut card = open(ident)?;
    let mut tx = card.transaction().map_err(|e| card_err("transaction", e))?;
    let ident = tx
        .application_identifier()
        .map_err(|e| card_err("identifier", e))?
        .ident();
    let pin = ask_pin(ui, Pin::Admin, &ident)?;
    if let Err(e) = tx.verify_admin_pin(pin) {
        return Err(pin_refused(&mut tx, Pin::Admin, &ident, e));
    }
    {
        let mut admin = tx
            .as_admin_card(None)
            .map_err(|e| card_err("admin mode", e))?;
        admin
            .import_key(&upload, slot.key_type())
            .map_err(|e| match e {
                openpgp_card::Error::UnsupportedAlgo(m) => unsupported(m),
                e => card_err("key import", e),
            })?;
    }
    drop(upload);
    tx.invalidate_cache().map_err(|e| card_err("cache", e))?;
    let st = status_in(&mut tx)?;
    if st.slot_of(&want) != Some(slot) {
        return Err(anyhow::anyhow!(
            "OpenPGP card {ident}: after the import its {slot} slot shows {}, not {want}",
            st.slots
                .iter()
                .find(|s| s.slot == slot)
                .and_then(|s| s.fingerprint.clone())
                .unwrap_or_else(|| "nothing".into())
        )
        .into());
    }
    Ok(Loaded {
        fingerprint: want,
        slot,
        card: st,
    })
}

/// Write a certificate's primary key (its secret must be present, e.g.
/// opened from the escrow) into the card's signature slot.
pub fn load_primary(cert: &Cert, ident: Option<&str>, ui: &dyn TokenUi) -> Result<Loaded> {
    let key = cert
        .primary_key()
        .key()
        .clone()
        .parts_into_secret()
        .map_err(|_| {
            Error::input(
                "the primary secret key is not available",
                "open the escrow with --identity",
            )
        })?;
    load(&key, Slot::Signature, ident, ui)
}

// ---- signing through a card ------------------------------------------------

/// The private half of `public` on an OpenPGP card, as a sequoia
/// `Signer`. The user PIN is asked once, checked at once (a wrong PIN
/// fails here, in one line, with the tries left), kept in memory, and
/// presented before each signature (cards may accept it for one signature
/// only). Every signature the card makes increments its counter.
pub struct CardSigner {
    card: Card<Open>,
    public: Key<PublicParts, UnspecifiedRole>,
    pin: SecretString,
    ident: String,
    slot: Slot,
    ui: Arc<dyn TokenUi>,
}

impl CardSigner {
    /// Find the card holding `public` in its signature slot (or in any
    /// slot, for an authentication key), or the card `ident`; ask for and
    /// check the user PIN.
    pub fn open<P: key::KeyParts, R: key::KeyRole>(
        public: &Key<P, R>,
        ident: Option<&str>,
        ui: Arc<dyn TokenUi>,
    ) -> Result<CardSigner> {
        let public: Key<PublicParts, UnspecifiedRole> =
            public.clone().parts_into_public().role_into_unspecified();
        let fpr = public.fingerprint().to_hex();
        let (mut card, st) = open_holding(&fpr, ident)?;
        let slot = match st.slot_of(&fpr) {
            Some(s @ (Slot::Signature | Slot::Authentication)) => s,
            Some(Slot::Decryption) => {
                return Err(Error::input(
                    format!(
                        "OpenPGP card {} holds key {fpr} in its decryption slot, which cannot sign",
                        st.ident
                    ),
                    "load the key into the signature slot",
                ))
            }
            None => {
                return Err(Error::input(
                    format!(
                        "OpenPGP card {} does not hold key {fpr} (its signature slot: {})",
                        st.ident,
                        st.signature_fingerprint().unwrap_or("empty")
                    ),
                    "insert the card that holds the key, or open the escrow with --identity",
                ))
            }
        };
        if slot == Slot::Authentication {
            return Err(Error::input(
                format!(
                    "key {fpr} sits in the authentication slot of OpenPGP card {}",
                    st.ident
                ),
                "OpenPGP signatures come from the signature slot: load the key there",
            ));
        }
        let pin = ask_pin(ui.as_ref(), Pin::User, &st.ident)?;
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
            slot,
            ui,
        })
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

    fn sign(&mut self, hash_algo: HashAlgorithm, digest: &[u8]) -> openpgp::Result<mpi::Signature> {
        self.sign_on_card(hash_algo, digest)
            .map_err(anyhow::Error::from)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rsa_crt_parts_match_the_card_convention() {
        // p=11, q=13 (OpenPGP p < q), e=7, d = 7⁻¹ mod lcm(10,12)=60 → 43.
        // u = p⁻¹ mod q = 11⁻¹ mod 13 = 6.
        let dp = mod_minus_one(&[43], &[13]); // card p = OpenPGP q
        let dq = mod_minus_one(&[43], &[11]); // card q = OpenPGP p
        assert_eq!(&dp[..], &[43 % 12]);
        assert_eq!(&dq[..], &[43 % 10]);
        // The card's 1/q mod p with (p, q) = (13, 11): 11 * 6 = 66 = 5*13 + 1.
        assert_eq!((11 * 6) % 13, 1);
    }

    #[test]
    fn no_card_names_the_fallback() {
        let e = no_card("no card in the reader");
        assert!(e.hint().unwrap().contains("--identity"));
        assert!(!e.to_string().contains('\n'));
    }
}
