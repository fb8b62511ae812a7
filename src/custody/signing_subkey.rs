//! The exported signing subkey opened into a signer: its secret decrypted
//! (with the `--passphrase-file` passphrase) and turned into a key pair
//! that signs data and checks each signature against the public subkey.
//! Which subkey is picked, and why none is usable, is `sign.rs`'s part.

use openpgp::crypto::{KeyPair, Password, S2K};
use openpgp::packet::key::SecretKeyMaterial;
use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::{key, Key, Signature};
use sequoia_openpgp as openpgp;

use std::io::Write;

use openpgp::serialize::stream::{Message, Signer};

use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};

/// A signing subkey ready to sign.
#[derive(Clone)]
pub struct SigningKey {
    keypair: KeyPair,
    public: Key<key::PublicParts, key::UnspecifiedRole>,
    pub cert_fingerprint: String,
    pub subkey_fingerprint: String,
    pub label: String,
    pub expires: Option<Time>,
}

impl SigningKey {
    /// Sign `hash` with `builder`; the signature is verified with the
    /// public subkey against `check` (a copy of the same digest).
    pub fn sign_hash(
        &mut self,
        builder: SignatureBuilder,
        hash: openpgp::crypto::hash::Context,
        check: openpgp::crypto::hash::Context,
    ) -> Result<Signature> {
        let sig = builder.sign_hash(&mut self.keypair, hash)?;
        sig.verify_hash(&self.public, check).map_err(|e| {
            anyhow::anyhow!("the signature just made does not verify ({e}): this machine may be faulty; nothing was written")
        })?;
        Ok(sig)
    }
}

/// Cleartext-sign `text` with every key of `keys` (not empty) at `at`,
/// hashing with `digest` (the announcement); sequoia writes the
/// signatures in the reverse order of `keys`.
pub fn sign_cleartext(
    keys: Vec<SigningKey>,
    text: &str,
    at: Time,
    digest: openpgp::types::HashAlgorithm,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut pairs = keys.into_iter().map(|k| k.keypair);
    let first = pairs
        .next()
        .ok_or_else(|| Error::input("no key to sign with", "give a cycle key"))?;
    let mut signer = Signer::new(Message::new(&mut out), first)?
        .cleartext()
        .creation_time(clock::to_system(at));
    for p in pairs {
        signer = signer.add_signer(p)?;
    }
    let mut w = signer.hash_algo(digest)?.build()?;
    w.write_all(text.as_bytes()).map_err(anyhow::Error::from)?;
    w.finalize()?;
    Ok(out)
}

/// Who the opened key belongs to, for [`open`].
pub struct Owner {
    pub cert_fingerprint: String,
    pub label: String,
    pub expires: Option<Time>,
}

/// Open the secret of `key` (a live signing subkey) into a [`SigningKey`]:
/// `Ok(Err(reason))` when this subkey cannot sign (a stub, a passphrase
/// not given, no usable secret) and another may; `Err` when `password`
/// does not unlock it.
pub fn open(
    key: &Key<key::PublicParts, key::UnspecifiedRole>,
    password: Option<&Password>,
    owner: Owner,
) -> Result<std::result::Result<SigningKey, String>> {
    let fpr = key.fingerprint().to_hex();
    let secret = key.clone().parts_into_secret()?;
    if is_stub(secret.secret()) {
        return Ok(Err(format!(
            "the secret of {fpr} is not in this file (gnu-dummy stub)"
        )));
    }
    let secret = if secret.secret().is_encrypted() {
        let Some(pw) = password else {
            return Ok(Err(format!("subkey {fpr} is passphrase-protected")));
        };
        secret.decrypt_secret(pw).map_err(|_| {
            Error::input(
                format!("the passphrase does not unlock subkey {fpr}"),
                "check --passphrase-file",
            )
        })?
    } else {
        secret
    };
    let keypair = match secret.clone().into_keypair() {
        Ok(k) => k,
        Err(e) => return Ok(Err(format!("subkey {fpr} has no usable secret: {e}"))),
    };
    Ok(Ok(SigningKey {
        keypair,
        public: secret.parts_into_public().role_into_unspecified(),
        cert_fingerprint: owner.cert_fingerprint,
        subkey_fingerprint: fpr,
        label: owner.label,
        expires: owner.expires,
    }))
}

/// Whether a secret is GnuPG's gnu-dummy stub (S2K 101): no secret at all.
pub fn is_stub(secret: &SecretKeyMaterial) -> bool {
    match secret {
        SecretKeyMaterial::Encrypted(e) => matches!(e.s2k(), S2K::Private { tag: 101, .. }),
        SecretKeyMaterial::Unencrypted(_) => false,
    }
}
