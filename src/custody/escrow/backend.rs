//! The escrowed key opened as a custody [`Backend`]: its primary as a
//! signer, and every change stored back — the secrets re-sealed, the
//! ladder re-made to the new expiry — in one swap of the key directory.

use openpgp::crypto::Signer;
use openpgp::packet::Signature;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use super::{
    armor_signatures, armored_tsk, holder_names, open_bundle, replace, seal, signatures, Bundle,
    LADDER_COMMENT, LADDER_FILE,
};
use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};
use crate::cert::make;
use crate::custody::age::Identities;
use crate::custody::{revocation_shares, Backend, KeyHome};
use crate::vault::{KeyChange, StoredKey, Vault};

/// A cycle key opened from escrow: its certificate with the secrets, and
/// the escrowed revocations. Lives in memory only.
pub struct EscrowedKey {
    cert: Cert,
    bundle: Bundle,
    /// Why the escrow is used although the vault records a card.
    instead_of_card: Option<String>,
}

impl EscrowedKey {
    /// Open `key`'s escrow with `ids`; the secret is merged with the
    /// vault's public cert (attestations, later bindings).
    pub fn open(vault: &Vault, key: &StoredKey, ids: &Identities) -> Result<EscrowedKey> {
        let bundle = open_bundle(vault, key, ids)?;
        let secret = crate::base::bounded::cert(&bundle.tsk[..])?;
        if secret.fingerprint() != key.cert.fingerprint() {
            return Err(Error::vault(
                format!(
                    "{}: the escrowed key {} is not the key {}",
                    crate::base::text::path(&key.dir),
                    secret.fingerprint(),
                    key.cert.fingerprint()
                ),
                "the vault was mixed up or tampered with: compare its git history",
            ));
        }
        let cert = key.cert.clone().merge_public_and_secret(secret)?;
        Ok(EscrowedKey {
            cert,
            bundle,
            instead_of_card: None,
        })
    }

    /// The escrow used in place of a recorded card, and why ("card
    /// 0000:00000065 is not present"): shown by [`Backend::location`].
    pub fn instead_of_card(mut self, why: String) -> EscrowedKey {
        self.instead_of_card = Some(why);
        self
    }

    /// The certificate with its secret keys.
    pub fn cert(&self) -> &Cert {
        &self.cert
    }

    /// The escrowed hard revocation certificate's signatures.
    pub fn hard_revocation(&self) -> Result<Vec<Signature>> {
        signatures(&self.bundle.revocation)
    }

    /// The escrowed ladder of dated soft revocations.
    pub fn ladder(&self) -> Result<Vec<Signature>> {
        signatures(&self.bundle.ladder)
    }
}

/// The primary's expiry in `changed` (as of its newest self-signatures).
fn expiry_of(changed: &Cert, key: &StoredKey, at: Time) -> Time {
    let p = crate::base::openpgp_policy::standard();
    changed
        .with_policy(&p, make::after_self_signatures(changed, at))
        .ok()
        .and_then(|vc| vc.primary_key().key_expiration_time())
        .map(clock::from_system)
        .unwrap_or(key.state.expires)
}

/// Store `changed` (an extension signed by `signer`, e.g. a card) with a
/// ladder re-made by `signer` (see `remade_ladder`) to its new expiry and
/// sealed to the roots of `policy`; `primary.age` and `revocation.age` stay
/// as they are. Check [`revocation_shares::ladder_alone`] first. One swap of the key directory.
pub fn store_ladder(home: &KeyHome, changed: &Cert, signer: &mut dyn Signer) -> Result<()> {
    let recipients = home.policy.recipients()?;
    let public = changed.clone().strip_secret_key_material();
    let (expiry, ladder) = remade_ladder(home, &public, signer)?;
    let armored = armor_signatures(&ladder, LADDER_COMMENT)?;
    let mut change = KeyChange::cert(&public)?;
    let ladder = revocation_shares::seal(
        &home.key.state.fingerprint,
        LADDER_FILE,
        &armored,
        &recipients,
        &holder_names(home.policy, &recipients),
        home.policy.revocation_threshold(),
    )?;
    change.remove = revocation_shares::stale(home.key, &ladder)?;
    change.files.extend(ladder);
    let mut state = home.key.state.clone();
    state.expires = expiry;
    home.vault.update_key(home.key, change.with_state(&state))
}

/// The key's new expiry (from `cert`'s self-signatures) and the ladder
/// again, made by `signer` on the weekly grid from the key's creation to
/// that expiry, but only after `cert`'s newest binding signature, with a
/// first rung a second after it ([`make::rung_dates`]): an older rung
/// would revoke nothing for sequoia (so sqv), and a master lost the day
/// after an extension needs a rung not after that day.
fn remade_ladder(
    home: &KeyHome,
    cert: &Cert,
    signer: &mut dyn Signer,
) -> Result<(Time, Vec<Signature>)> {
    let config = home.vault.config()?;
    let expiry = expiry_of(cert, home.key, home.at);
    let ladder = make::ladder(
        signer,
        cert,
        home.key.state.created,
        expiry,
        config.escrow.ladder_interval_days,
    )?;
    Ok((expiry, ladder))
}

impl Backend for EscrowedKey {
    fn location(&self) -> crate::custody::Location {
        crate::custody::Location::Escrow {
            instead_of_card: self.instead_of_card.clone(),
        }
    }

    /// Store `changed` (this key's certificate after an extension, a
    /// rotation, a revocation…) back: the secrets re-escrowed to the roots
    /// of `policy` (the signed policy in force; nothing else) in its escrow
    /// mode, the ladder re-made (`remade_ladder`) to its new expiry, the public cert and state
    /// rewritten — all in one swap of the key directory.
    fn store(&self, home: &KeyHome, changed: &Cert) -> Result<()> {
        let KeyHome {
            vault, key, policy, ..
        } = *home;
        let recipients = &policy.recipients()?;
        let full = changed.clone().merge_public_and_secret(self.cert.clone())?;
        let (expiry, ladder) = remade_ladder(home, &full, &mut *self.primary_signer()?)?;
        let bundle = Bundle {
            tsk: armored_tsk(&full)?,
            // The hard revocation certificate does not change.
            revocation: self.bundle.revocation.clone(),
            ladder: armor_signatures(&ladder, LADDER_COMMENT)?,
        };
        let files = seal(
            &key.state.fingerprint,
            &bundle,
            recipients,
            &holder_names(policy, recipients),
            (policy.escrow_threshold(), policy.revocation_threshold()),
        )?;
        let mut change = replace(key, files)?;
        change.files.extend(KeyChange::cert(&full)?.files);
        let mut state = key.state.clone();
        state.expires = expiry;
        state.escrow_recipients = recipients.iter().map(ToString::to_string).collect();
        vault.update_key(key, change.with_state(&state))
    }

    fn primary_signer(&self) -> Result<Box<dyn Signer + Send + Sync>> {
        let key = crate::custody::primary_secret(&self.cert, || {
            Error::vault(
                "the escrowed key holds no primary secret",
                "restore the key directory from git and run the escrow drill",
            )
        })?;
        Ok(Box::new(key.into_keypair()?))
    }
}
