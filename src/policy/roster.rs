//! The roster: the infra roots, their escrow recipients and (optionally)
//! their OpenPGP certificates, which are needed to check attestations.

use std::path::PathBuf;

use openpgp::parse::Parse;
use openpgp::Cert;
use sequoia_openpgp as openpgp;
use serde::{Deserialize, Serialize};

use crate::base::error::{Error, Result};
use crate::base::fs::{atomic, fsx};
use crate::custody::Recipient;
use crate::vault::Vault;

/// One root.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Member {
    pub name: String,
    pub email: String,
    /// Fingerprint of the root's own OpenPGP certificate, stored beside
    /// roster.toml as `<FINGERPRINT>.asc`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// age X25519 recipient or SSH public key.
    pub escrow_recipient: String,
}

impl Member {
    /// The member's escrow recipient as stored (never `@FILE`; an error
    /// names the member, not the value: see `Recipient::parse_stored`).
    pub fn recipient(&self) -> Result<Recipient> {
        Recipient::parse_stored(&self.escrow_recipient).map_err(|e| {
            let hint = e.hint().unwrap_or_default().to_string();
            Error::vault(
                format!(
                    "roster/roster.toml: member {}: {e}",
                    crate::base::text::shown(&self.name)
                ),
                hint,
            )
        })
    }
}

/// `roster/roster.toml`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Roster {
    #[serde(default, rename = "member")]
    pub members: Vec<Member>,
}

impl Roster {
    /// Add a member, refusing duplicates of name, e-mail, fingerprint or
    /// recipient.
    pub fn add(&mut self, member: Member) -> Result<()> {
        if member.name.trim().is_empty() {
            return Err(Error::input(
                "the name is empty",
                "pass --name \"Full Name\"",
            ));
        }
        if !member.email.contains('@') {
            return Err(Error::input(
                format!("'{}' is not an e-mail address", member.email),
                "pass --email user@example.org",
            ));
        }
        let recipient = Recipient::parse(&member.escrow_recipient)?;
        if let Recipient::Plugin(p) = &recipient {
            crate::custody::plugin::require_binary(p)?;
        }
        for m in &self.members {
            let clash = if m.name.eq_ignore_ascii_case(&member.name) {
                Some("name")
            } else if m.email.eq_ignore_ascii_case(&member.email) {
                Some("e-mail")
            } else if member.fingerprint.is_some() && m.fingerprint == member.fingerprint {
                Some("OpenPGP fingerprint")
            } else if m.recipient()? == recipient {
                Some("escrow recipient")
            } else {
                None
            };
            if let Some(what) = clash {
                return Err(Error::input(
                    format!("{} already has that {what}", m.name),
                    "list the roster with `keycycle roster list`; remove the old entry first to replace it",
                ));
            }
        }
        self.members.push(Member {
            escrow_recipient: recipient.to_string(),
            ..member
        });
        Ok(())
    }

    /// Remove the member matching `who` (name, e-mail or fingerprint).
    pub fn remove(&mut self, who: &str) -> Result<Member> {
        let norm = who
            .trim()
            .trim_start_matches("0x")
            .replace(' ', "")
            .to_uppercase();
        let pos = self
            .members
            .iter()
            .position(|m| {
                m.name.eq_ignore_ascii_case(who.trim())
                    || m.email.eq_ignore_ascii_case(who.trim())
                    || m.fingerprint
                        .as_deref()
                        .is_some_and(|f| !norm.is_empty() && (f == norm || f.ends_with(&norm)))
            })
            .ok_or_else(|| {
                Error::input(
                    format!("no root '{who}' on the roster"),
                    "list the roster with `keycycle roster list`",
                )
            })?;
        Ok(self.members.remove(pos))
    }

    /// Every member's escrow recipient.
    pub fn recipients(&self) -> Result<Vec<Recipient>> {
        self.members.iter().map(Member::recipient).collect()
    }
}

/// `roster/` in `vault`.
fn dir(vault: &Vault) -> PathBuf {
    vault.root().join("roster")
}

/// The roster (empty when none was written yet).
pub fn load(vault: &Vault) -> Result<Roster> {
    let path = dir(vault).join("roster.toml");
    fsx::check_dir(&dir(vault))?;
    match fsx::read_string_optional(&path)? {
        Some(text) => toml::from_str(&text)
            .map_err(|e| Error::parse(&path, &text, e.span().map(|s| s.start), e.message())),
        None => Ok(Roster::default()),
    }
}

/// Write the roster, and a root's certificate when given.
pub fn save(vault: &Vault, roster: &Roster, cert: Option<&Cert>) -> Result<()> {
    vault.require_lock()?;
    fsx::check_dir(&dir(vault))?;
    atomic::create_dir(&dir(vault))?;
    if let Some(cert) = cert {
        let bytes = crate::cert::armored_public(cert)?;
        let path = dir(vault).join(format!("{}.asc", cert.fingerprint().to_hex()));
        atomic::write(&path, &bytes, atomic::PUBLIC_MODE)?;
    }
    let text = toml::to_string(roster).map_err(anyhow::Error::from)?;
    atomic::write(
        &dir(vault).join("roster.toml"),
        format!("# The infra roots. Managed by `keycycle roster`.\n\n{text}").as_bytes(),
        atomic::PUBLIC_MODE,
    )
}

/// A root's stored certificate, `roster/<FINGERPRINT>.asc`: a file
/// whose certificate has another fingerprint than its name is refused.
pub fn cert(vault: &Vault, fingerprint: &str) -> Result<Option<Cert>> {
    let hex = fingerprint.len() == 40 || fingerprint.len() == 64;
    if !hex || !fingerprint.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::vault(
            format!(
                "roster/roster.toml: '{}' is not an OpenPGP fingerprint",
                crate::base::text::shown_short(fingerprint)
            ),
            "give the root's 40-hex-digit fingerprint (`keycycle roster add --cert FILE` fills it in), or restore roster.toml from git",
        ));
    }
    fsx::check_dir(&dir(vault))?;
    let path = dir(vault).join(format!("{}.asc", fingerprint.to_uppercase()));
    let Some(bytes) = fsx::read_optional(&path)? else {
        return Ok(None);
    };
    crate::base::bounded::check(&bytes)
        .map_err(|r| Error::vault(format!("{}: {r}", path.display()), "restore it from git"))?;
    let cert = Cert::from_bytes(&bytes).map_err(|e| {
        Error::vault(
            format!("{}: not a certificate: {e}", crate::base::text::path(&path)),
            "restore it from git",
        )
    })?;
    if !cert
        .fingerprint()
        .to_hex()
        .eq_ignore_ascii_case(fingerprint)
    {
        return Err(Error::vault(
            format!(
                "{}: holds the certificate {}, not the one its name says",
                crate::base::text::path(&path),
                cert.fingerprint().to_hex()
            ),
            "the roster was mixed up or tampered with: restore the file from git, or add the root again with `keycycle roster add --cert FILE`",
        ));
    }
    Ok(Some(cert))
}
