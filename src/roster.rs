//! The roster: the infra roots, their escrow recipients and (optionally)
//! their OpenPGP certificates, which are needed to check attestations.

use serde::{Deserialize, Serialize};

use crate::custody::Recipient;
use crate::error::{Error, Result};

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
                    crate::text::shown(&self.name)
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
