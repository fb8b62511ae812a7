//! The escrow drill: a root proves that their identity opens a key's
//! escrow and that what is inside is that key — its secret signs for the
//! public cert, its hard revocation and every ladder rung are valid for
//! it. Nothing is changed, published or written.

use serde::Serialize;

use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::Signature;
use openpgp::types::SignatureType;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use super::age::Identities;
use super::escrow::{self, EscrowedKey};
use super::Backend;
use crate::certinfo::Revocation;
use crate::error::{Error, Result};
use crate::vault::{StoredKey, Vault};

/// What the drill found.
#[derive(Debug, Clone, Serialize)]
pub struct Drill {
    pub fingerprint: String,
    pub secret_matches: bool,
    pub revocation: Revocation,
    pub ladder_rungs: usize,
    /// Threshold escrow: the shares this identity opened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub share: Option<String>,
}

/// Open the escrow with `ids` and check it against the cert; change nothing.
pub fn drill(vault: &Vault, key: &StoredKey, ids: &Identities) -> Result<Drill> {
    if escrow::is_threshold(key)? {
        return drill_shares(key, ids);
    }
    let opened = EscrowedKey::open(vault, key, ids)?;
    let mut signer = opened.primary_signer()?;
    // Sign and verify with the escrowed secret: it is the cert's key.
    let probe = SignatureBuilder::new(SignatureType::Binary)
        .sign_message(&mut signer, b"keycycle escrow drill")?;
    probe
        .verify_message(key.cert.primary_key().key(), b"keycycle escrow drill")
        .map_err(|_| {
            Error::vault(
                "the escrowed secret does not match the public cert",
                "the vault is inconsistent: compare with git history",
            )
        })?;
    let rev = hard_revocation(key, &opened)?;
    let ladder = ladder(key, &opened)?;
    Ok(Drill {
        fingerprint: key.state.fingerprint.clone(),
        secret_matches: true,
        revocation: Revocation::from_sig(&rev),
        ladder_rungs: ladder.len(),
        share: None,
    })
}

/// The escrowed hard revocation of `key`, checked against the key.
pub fn hard_revocation(key: &StoredKey, opened: &EscrowedKey) -> Result<Signature> {
    let rev = opened
        .hard_revocation()?
        .into_iter()
        .next()
        .ok_or_else(|| {
            Error::vault(
                format!(
                    "{}: holds no signature",
                    key.dir.join(escrow::REVOCATION_FILE).display()
                ),
                "restore it from git",
            )
        })?;
    if !revokes(&rev, &key.cert) {
        return Err(Error::vault(
            format!(
                "{}: the escrowed revocation certificate is not valid for this key",
                key.dir.join(escrow::REVOCATION_FILE).display()
            ),
            "restore revocation.age from git",
        ));
    }
    Ok(rev)
}

/// The escrowed ladder of `key`, every rung checked against the key.
pub fn ladder(key: &StoredKey, opened: &EscrowedKey) -> Result<Vec<Signature>> {
    let rungs = opened.ladder()?;
    if rungs.iter().any(|r| !revokes(r, &key.cert)) {
        return Err(Error::vault(
            format!(
                "{}: a rung of the soft-revocation ladder is not valid for this key",
                key.dir.join(escrow::LADDER_FILE).display()
            ),
            "restore revocation-retired.age from git",
        ));
    }
    Ok(rungs)
}

/// Whether `sig` is a valid revocation of `cert`'s primary key.
fn revokes(sig: &Signature, cert: &Cert) -> bool {
    let primary = cert.primary_key().key();
    sig.typ() == SignatureType::KeyRevocation
        && sig.verify_primary_key_revocation(primary, primary).is_ok()
}

/// The drill for threshold escrow: open only your own share(s) and check
/// their envelopes; nothing is reconstructed.
fn drill_shares(key: &StoredKey, ids: &Identities) -> Result<Drill> {
    let mut mine = Vec::new();
    for (path, s) in escrow::open_shares(key, ids)? {
        if !s.belongs_to(&key.state.fingerprint) {
            return Err(Error::vault(
                format!(
                    "{}: the share does not belong to this key",
                    crate::text::path(&path)
                ),
                "restore the share from git",
            ));
        }
        mine.push(format!(
            "share {} of {} (threshold {}) held by {}",
            s.index, s.shares, s.threshold, s.holder
        ));
    }
    if mine.is_empty() {
        return Err(Error::input(
            "none of the given identities opens a share of this key",
            "pass the --identity of a root the key was escrowed to",
        ));
    }
    Ok(Drill {
        fingerprint: key.state.fingerprint.clone(),
        secret_matches: false,
        revocation: Revocation {
            reason: "not reconstructed (threshold escrow)".into(),
            hard: true,
            message: String::new(),
            time: None,
        },
        ladder_rungs: 0,
        share: Some(mine.join("; ")),
    })
}
