//! A root's own secret key, for certifying a cycle key: `certify
//! --with-key` (a file they exported, unlocked with their passphrase, used
//! as a signer, never stored) or `certify --card` (their OpenPGP card).

use openpgp::crypto::{KeyPair, Password};
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::error::{Error, Result};

/// Whether the primary secret of `cert` (read from `path`) needs a
/// passphrase.
pub fn needs_passphrase(cert: &Cert) -> bool {
    cert.primary_key()
        .key()
        .optional_secret()
        .is_some_and(|s| s.is_encrypted())
}

/// The primary of `cert` (read from `path`) as a signer.
pub fn signer(
    cert: &Cert,
    path: &std::path::Path,
    passphrase: Option<&Password>,
) -> Result<KeyPair> {
    let key = super::primary_secret(cert, || {
        Error::input(
            format!("{} holds no secret key", crate::base::text::path(path)),
            "export yours with gpg --export-secret-keys --armor YOUR-KEY",
        )
    })?;
    let key = if key.secret().is_encrypted() {
        let Some(pw) = passphrase else {
            return Err(Error::input(
                "your key is passphrase-protected",
                "pass --passphrase-file",
            ));
        };
        key.decrypt_secret(pw).map_err(|_| {
            Error::input(
                "the passphrase does not unlock your key",
                "check --passphrase-file",
            )
        })?
    } else {
        key
    };
    key.into_keypair().map_err(|e| {
        Error::input(
            format!("your key cannot certify: {e}"),
            "use a key whose primary secret is present (not a stub)",
        )
    })
}

/// The fingerprint (upper-case hex) of the key in the signature slot of
/// the only OpenPGP card present: which root's key `certify --card` holds.
pub fn card_key_fingerprint() -> Result<String> {
    #[cfg(feature = "card")]
    {
        let st = super::card::status(None)?;
        st.signature_fingerprint()
            .map(str::to_string)
            .ok_or_else(|| {
                Error::input(
                    format!("OpenPGP card {} holds no key in its signature slot", st.ident),
                    "move your key there (gpg --edit-key YOU, keytocard), or certify with --with-key",
                )
            })
    }
    #[cfg(not(feature = "card"))]
    Err(no_card_support())
}

/// Your key on your OpenPGP card as a signer for certifications: the
/// card whose signature slot holds the primary of `cert` (certifications
/// are made by the primary), its user PIN asked through the token UI.
/// Every signature is verified with `cert`'s primary before it is used.
pub fn card_signer(cert: &Cert) -> Result<Box<dyn openpgp::crypto::Signer + Send + Sync>> {
    #[cfg(feature = "card")]
    {
        use super::card::CardSigner;
        let held = card_key_fingerprint()?;
        let primary = cert.fingerprint().to_hex();
        if !held.eq_ignore_ascii_case(&primary) {
            let what = if cert
                .keys()
                .subkeys()
                .any(|k| k.key().fingerprint().to_hex().eq_ignore_ascii_case(&held))
            {
                "a subkey of your cert: certifications are made by the primary key, which is not on the card"
            } else {
                "not your key"
            };
            return Err(Error::input(
                format!(
                    "the OpenPGP card's signature slot holds {held}, {what} ({})",
                    primary
                ),
                "certify with --with-key YOUR-SECRET-KEY.asc, or insert the card holding your primary",
            ));
        }
        Ok(Box::new(CardSigner::open(
            cert.primary_key().key(),
            None,
            super::token::default_ui(),
        )?))
    }
    #[cfg(not(feature = "card"))]
    {
        let _ = cert;
        Err(no_card_support())
    }
}

#[cfg(not(feature = "card"))]
fn no_card_support() -> Error {
    Error::input(
        "this keycycle was built without OpenPGP card support",
        "certify with --with-key YOUR-SECRET-KEY.asc, or use a keycycle built with `--features card`",
    )
}
