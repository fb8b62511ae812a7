//! Loading a key onto a card: the secret in the form openpgp-card
//! uploads (RSA in CRT form, ECC scalars), imported with the admin PIN.

use serde::Serialize;
use zeroize::Zeroizing;

use openpgp::crypto::mpi;
use openpgp::packet::key::{self, Key, SecretParts};
use openpgp::types::{Curve, Timestamp};
use openpgp::Cert;
use openpgp_card::ocard::crypto::{CardUploadableKey, EccKey, EccType, PrivateKeyMaterial, RSAKey};
use openpgp_card::ocard::data::{Fingerprint as CardFpr, KeyGenerationTime};
use sequoia_openpgp as openpgp;

use super::{ask_pin, card_err, open, pin_refused, status_in, CardStatus, Pin, Slot};
use crate::base::error::{Error, Result};
use crate::custody::token::TokenUi;

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

pub(super) fn unsupported(what: impl std::fmt::Display) -> Error {
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
    let key = crate::custody::primary_secret(cert, || {
        Error::input(
            "the primary secret key is not available",
            "open the escrow with --identity",
        )
    })?;
    load(&key, Slot::Signature, ident, ui)
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
}
