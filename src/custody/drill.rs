//! The escrow drill: a root proves that their identity opens a key's
//! escrow and that what is inside is that key — its secret signs for the
//! public cert, its hard revocation and every ladder rung are valid for
//! it. Nothing is changed, published or written.

use serde::Serialize;

use openpgp::packet::signature::SignatureBuilder;
use openpgp::packet::Signature;
use openpgp::types::SignatureType;
use sequoia_openpgp as openpgp;

use super::age::Identities;
use super::escrow::{self, EscrowedKey};
use super::revocation_check;
use super::revocation_shares;
use super::Backend;
use crate::base::error::{Error, Result};
use crate::cert::Revocation;
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
    /// Revocations split R-of-N: the shares of them these identities
    /// opened (the revocations are checked only when R of them open).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revocation_shares: Option<String>,
}

/// Open the escrow with `ids` and check it against the cert; change nothing.
pub fn drill(vault: &Vault, key: &StoredKey, ids: &Identities) -> Result<Drill> {
    // The revocations first, on their own: a root who can open them (any
    // root) learns they work even where it cannot open the primary alone.
    let (revocations, revocation_shares) = drill_revocations(vault, key, ids)?;
    if escrow::is_threshold(key)? {
        let split = revocation_shares.is_some() && revocations.is_none();
        let mut d = drill_shares(key, ids, revocations)?;
        if split {
            d.revocation.reason =
                "not reconstructed (split into shares: too few roots here to revoke)".into();
        }
        d.revocation_shares = revocation_shares;
        return Ok(d);
    }
    let opened = EscrowedKey::open(vault, key, ids).map_err(|e| primary_fails(key, e))?;
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
        revocation_shares,
    })
}

/// The revocations on their own: opened and checked (the hard one and
/// the ladder), or, split R-of-N, the shares these identities open (each
/// checked to be one of this key's) and the revocations checked only when
/// R of them open. `None`: inside the primary's shares (an old escrow).
type Revocations = (Option<(Revocation, usize)>, Option<String>);

fn drill_revocations(vault: &Vault, key: &StoredKey, ids: &Identities) -> Result<Revocations> {
    if !escrow::revocations_apart(key)? {
        return Ok((None, None));
    }
    let split = revocation_shares::is_split(key, escrow::REVOCATION_FILE)?;
    let shares = match split {
        true => Some(revocation_shares::drill_shares(key, ids)?),
        false => None,
    };
    let (hard, soft) = match escrow::open_revocations(vault, key, ids) {
        Ok(opened) => opened,
        Err(Error::Input { msg, .. }) if split && msg.contains(" more needed") => {
            return Ok((None, shares))
        }
        Err(e) => return Err(e),
    };
    let rev = revocation_check::hard(key, escrow::signatures(&hard)?)?;
    let ladder = revocation_check::ladder(key, escrow::signatures(&soft)?)?;
    Ok((Some((Revocation::from_sig(&rev), ladder.len())), shares))
}

/// The escrowed hard revocation of `key`, checked against the key: one
/// revocation, reason compromised, dated at the key's creation.
pub fn hard_revocation(key: &StoredKey, opened: &EscrowedKey) -> Result<Signature> {
    revocation_check::hard(key, opened.hard_revocation()?)
}

/// The escrowed ladder of `key`, every rung checked against the key:
/// reason retired, dated after the key's creation.
pub fn ladder(key: &StoredKey, opened: &EscrowedKey) -> Result<Vec<Signature>> {
    revocation_check::ladder(key, opened.ladder()?)
}

/// The drill for threshold escrow: open only your own share(s) and check
/// their envelopes; nothing is reconstructed.
/// The primary did not open although the revocations did: say both.
fn primary_fails(key: &StoredKey, e: Error) -> Error {
    Error::vault(
        format!(
            "{}: the primary does not open: {e}",
            crate::base::text::path(key.dir.join(escrow::PRIMARY_FILE))
        ),
        "the revocations open and are valid: any one root can still revoke (keycycle revoke --escrowed-certificate); restore primary.age from git and run the drill again",
    )
}

fn drill_shares(
    key: &StoredKey,
    ids: &Identities,
    revocations: Option<(Revocation, usize)>,
) -> Result<Drill> {
    let mut mine = Vec::new();
    for (path, s) in escrow::open_shares(key, ids)? {
        if !s.belongs_to(&key.state.fingerprint) {
            return Err(Error::vault(
                format!(
                    "{}: the share does not belong to this key",
                    crate::base::text::path(&path)
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
    let (revocation, ladder_rungs) = revocations.unwrap_or_else(|| {
        let inside = Revocation {
            reason: "not reconstructed (inside the shares: run keycycle escrow rewrap)".into(),
            hard: true,
            message: String::new(),
            time: None,
        };
        (inside, 0)
    });
    Ok(Drill {
        fingerprint: key.state.fingerprint.clone(),
        secret_matches: false,
        revocation,
        ladder_rungs,
        share: Some(mine.join("; ")),
        revocation_shares: None,
    })
}
