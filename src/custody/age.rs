//! age, and nothing else: escrow recipients (age X25519 keys, SSH public
//! keys), sealing, and reading an age header without decrypting. The
//! identities that open escrow files are in `age/identities.rs`, the only
//! module that calls the age decryptor.

use std::io::{Read, Write};
use std::str::FromStr;
use std::sync::Arc;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use base64::Engine;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::plugin;
use super::token::{self, TokenUi};
use crate::base::error::{Error, IoContext, Result};

mod identities;
pub use identities::Identities;

/// An escrow recipient: an age X25519 key, an SSH public key, or an age
/// plugin recipient (`age1NAME1…`, a token; see `escrow_plugin`).
#[derive(Clone)]
pub enum Recipient {
    Age(age::x25519::Recipient),
    Ssh {
        key: age::ssh::Recipient,
        /// `ssh-ed25519 AAAA…` without the comment.
        line: String,
    },
    Plugin(age::plugin::Recipient),
}

impl std::fmt::Debug for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self}")
    }
}

impl std::fmt::Display for Recipient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipient::Age(r) => write!(f, "{r}"),
            Recipient::Ssh { line, .. } => f.write_str(line),
            Recipient::Plugin(r) => write!(f, "{r}"),
        }
    }
}

impl PartialEq for Recipient {
    fn eq(&self, other: &Self) -> bool {
        self.to_string() == other.to_string()
    }
}

const RECIPIENT_HINT: &str =
    "give an age X25519 recipient (age1…), an age plugin recipient (age1yubikey1…), an SSH public key line (ssh-ed25519 …, ssh-rsa …), or @FILE holding one";

impl Recipient {
    /// Parse a recipient given on the command line: `age1…`,
    /// `ssh-ed25519 AAAA… [comment]`, `ssh-rsa AAAA…`, or `@FILE` holding
    /// one of them (read here, never stored: the vault keeps the value).
    pub fn parse(s: &str) -> Result<Recipient> {
        if let Some(path) = s.strip_prefix('@') {
            let text = Zeroizing::new(std::fs::read_to_string(path).with_path(path)?);
            let line = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .ok_or_else(|| {
                    Error::input(format!("{path} holds no escrow recipient"), RECIPIENT_HINT)
                })?;
            return Recipient::parse_value(line).map_err(|e| e.context(path));
        }
        Recipient::parse_value(s)
    }

    /// Parse a recipient read from the vault (`roster.toml`, a key's
    /// `state.toml`): the value itself, never `@FILE` — a stored value
    /// naming a file would make keycycle read a file of whoever runs it.
    pub fn parse_stored(s: &str) -> Result<Recipient> {
        if s.trim_start().starts_with('@') {
            return Err(Error::vault(
                "a stored escrow recipient names a file (@FILE); only --escrow-recipient on the command line may",
                "put the recipient itself (age1…, ssh-ed25519 …) in roster.toml or the key's state.toml, or restore them from the vault's git history",
            ));
        }
        Recipient::parse_value(s)
    }

    /// Parse the recipient text itself. Errors show only what kind of value
    /// it was, never the value: a mistaken one may be a secret.
    fn parse_value(s: &str) -> Result<Recipient> {
        let s = s.trim();
        if let Some(e) = secret_instead(s) {
            return Err(e);
        }
        let shown = kind_of(s);
        if s.starts_with("age1") {
            if let Some(r) = plugin::parse_recipient(s) {
                return Ok(Recipient::Plugin(r));
            }
            return age::x25519::Recipient::from_str(s)
                .map(Recipient::Age)
                .map_err(|e| {
                    Error::input(
                        format!("malformed escrow recipient ({shown}): {e}"),
                        RECIPIENT_HINT,
                    )
                });
        }
        if s.starts_with("ssh-") || s.starts_with("ecdsa-") || s.starts_with("sk-") {
            let mut fields = s.split_whitespace();
            let line = match (fields.next(), fields.next()) {
                (Some(kind), Some(blob)) => format!("{kind} {blob}"),
                _ => String::new(),
            };
            return age::ssh::Recipient::from_str(&line)
                .map(|key| Recipient::Ssh { key, line })
                .map_err(|e| {
                    let why = match e {
                        age::ssh::ParseRecipientKeyError::Unsupported(_) => {
                            "this SSH key type is not supported by age"
                        }
                        age::ssh::ParseRecipientKeyError::RsaModulusTooSmall => {
                            "the RSA key is too small (age needs at least 2048 bits)"
                        }
                        age::ssh::ParseRecipientKeyError::RsaModulusTooLarge => {
                            "the RSA key is too large"
                        }
                        _ => "not a valid SSH public key",
                    };
                    Error::input(
                        format!("malformed escrow recipient ({shown}): {why}"),
                        RECIPIENT_HINT,
                    )
                });
        }
        Err(Error::input(
            format!("malformed escrow recipient ({shown})"),
            RECIPIENT_HINT,
        ))
    }

    /// The recipient as age takes it; `None` for a plugin recipient (age
    /// reaches those through their plugin, see [`seal_with`]).
    fn as_dyn(&self) -> Option<&dyn age::Recipient> {
        match self {
            Recipient::Age(r) => Some(r),
            Recipient::Ssh { key, .. } => Some(key),
            Recipient::Plugin(_) => None,
        }
    }

    /// The stanza this recipient leaves in an age header; `None` for a
    /// plugin recipient, whose stanza tag is the plugin's own.
    fn stanza(&self) -> Option<Stanza> {
        Some(match self {
            Recipient::Age(_) => Stanza::X25519,
            Recipient::Ssh { line, .. } => {
                let mut fields = line.split_whitespace();
                let kind = fields.next().unwrap_or_default().to_string();
                let blob = fields
                    .next()
                    .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
                    .unwrap_or_default();
                let digest = Sha256::digest(&blob);
                let tag = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&digest[..4]);
                Stanza::Ssh { kind, tag }
            }
            Recipient::Plugin(_) => return None,
        })
    }
}

/// A recipient stanza as it appears in an age header.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Stanza {
    X25519,
    Ssh {
        kind: String,
        tag: String,
    },
    /// Any other tag (but age's `…-grease`): an age plugin's stanza.
    Plugin {
        tag: String,
    },
}

/// Encrypt `plaintext` to every recipient, ASCII-armored (plugins ask
/// through the process's token UI, `token::default_ui`).
pub fn seal(recipients: &[Recipient], plaintext: &[u8]) -> Result<Vec<u8>> {
    seal_with(recipients, plaintext, &token::default_ui())
}

/// Encrypt `plaintext` to every recipient, ASCII-armored; plugin recipients'
/// plugins ask through `ui`.
pub fn seal_with(
    recipients: &[Recipient],
    plaintext: &[u8],
    ui: &Arc<dyn TokenUi>,
) -> Result<Vec<u8>> {
    if recipients.is_empty() {
        return Err(Error::input(
            "no escrow recipients",
            "add roots with `keycycle roster add` or pass --escrow-recipient",
        ));
    }
    let plugins: Vec<&age::plugin::Recipient> = recipients
        .iter()
        .filter_map(|r| match r {
            Recipient::Plugin(p) => Some(p),
            _ => None,
        })
        .collect();
    let wrappers = plugin::wrappers(&plugins, ui)?;
    let all = recipients
        .iter()
        .filter_map(Recipient::as_dyn)
        .chain(wrappers.iter().map(|w| w.as_ref() as &dyn age::Recipient));
    let encryptor = age::Encryptor::with_recipients(all).map_err(plugin::encrypt_error)?;
    let mut out = Vec::new();
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor)
        .map_err(|e| anyhow::anyhow!("age armor: {e}"))?;
    let mut w = encryptor.wrap_output(armor).map_err(plugin::io_error)?;
    w.write_all(plaintext)
        .and_then(|_| w.finish())
        .and_then(|armor| armor.finish())
        .map_err(|e| anyhow::anyhow!("age: {e}"))?;
    Ok(out)
}

/// The recipient stanzas in an age file's header (read without decrypting;
/// age's own grease stanzas are left out).
pub fn stanzas(ciphertext: &[u8]) -> Result<Vec<Stanza>> {
    let bad = || {
        Error::input(
            "not an age-encrypted file",
            "escrow files start with -----BEGIN AGE ENCRYPTED FILE-----",
        )
    };
    let mut raw = Vec::new();
    ArmoredReader::new(ciphertext)
        .read_to_end(&mut raw)
        .map_err(|_| bad())?;
    if !raw.starts_with(b"age-encryption.org/v1\n") {
        return Err(bad());
    }
    let mut found = Vec::new();
    for line in raw.split(|b| *b == b'\n') {
        if line.starts_with(b"---") {
            break;
        }
        let Some(rest) = line.strip_prefix(b"-> ") else {
            continue;
        };
        let rest = String::from_utf8_lossy(rest);
        let mut args = rest.split(' ');
        match (args.next(), args.next()) {
            (Some("X25519"), _) => found.push(Stanza::X25519),
            (Some(kind @ ("ssh-ed25519" | "ssh-rsa")), Some(tag)) => found.push(Stanza::Ssh {
                kind: kind.to_string(),
                tag: tag.to_string(),
            }),
            (Some(tag), _) if !tag.is_empty() && !tag.ends_with("-grease") => {
                found.push(Stanza::Plugin {
                    tag: tag.to_string(),
                })
            }
            _ => {}
        }
    }
    Ok(found)
}

/// Invariant 4: the header names exactly the expected recipients. X25519
/// and SSH stanzas are matched one for one; a plugin's stanzas cannot be
/// matched to its recipient string, so there must be at least one per
/// plugin recipient — and none when the roster has no plugin recipient.
pub fn check_recipients(ciphertext: &[u8], recipients: &[Recipient]) -> Result<()> {
    let mut want: Vec<Stanza> = recipients.iter().filter_map(Recipient::stanza).collect();
    let plugins = recipients.len() - want.len();
    let (mut got, other): (Vec<Stanza>, Vec<Stanza>) = stanzas(ciphertext)?
        .into_iter()
        .partition(|s| !matches!(s, Stanza::Plugin { .. }));
    want.sort();
    got.sort();
    let plugins_ok = if plugins == 0 {
        other.is_empty()
    } else {
        other.len() >= plugins
    };
    if want != got || !plugins_ok {
        return Err(Error::vault(
            format!(
                "escrow header names {} recipient(s), the roster {}",
                got.len() + other.len(),
                recipients.len()
            ),
            "re-encrypt the escrow for the current roster",
        ));
    }
    Ok(())
}

/// What a recipient value is, for an error: its known prefix (`age1…`,
/// the SSH key type) and its length — never the value itself.
fn kind_of(s: &str) -> String {
    let n = s.chars().count();
    let first = s.split_whitespace().next().unwrap_or("");
    let safe = |t: &str| {
        t.len() <= 40
            && t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'@' | b'.'))
    };
    if s.starts_with("age1") {
        format!("age1…, {n} characters")
    } else if (first.starts_with("ssh-") || first.starts_with("ecdsa-") || first.starts_with("sk-"))
        && safe(first)
    {
        format!("{first} …, {n} characters")
    } else if s.is_empty() {
        "empty".into()
    } else {
        format!("{n} characters, neither age1… nor an SSH public key")
    }
}

/// The error for a secret given where a recipient belongs (an age or
/// plugin identity, a private key), which is never shown.
fn secret_instead(s: &str) -> Option<Error> {
    let upper = s.to_ascii_uppercase();
    let what = if upper.starts_with("AGE-SECRET-KEY-") {
        "an age identity (a secret key)"
    } else if upper.starts_with("AGE-PLUGIN-") {
        "an age plugin identity"
    } else if upper.contains("PRIVATE KEY") {
        "a private key"
    } else {
        return None;
    };
    Some(Error::input(
        format!("malformed escrow recipient: this is {what}, not a recipient"),
        "give the public recipient (age-keygen -y FILE, or the .pub of an SSH key); if the secret was stored or shared, treat it as exposed",
    ))
}

#[cfg(test)]
mod tests;
