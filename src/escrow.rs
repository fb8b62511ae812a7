//! Escrow: age encryption of the primary secret and the revocation
//! certificates to every root, and the checks that prove it worked.

use std::io::{Read, Write};
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use base64::Engine;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::{Error, IoContext, Result};
use crate::escrow_plugin;
use crate::token::{self, TokenUi};

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
    /// Parse `age1…`, `ssh-ed25519 AAAA… [comment]`, `ssh-rsa AAAA…`, or
    /// `@FILE` holding one of them.
    pub fn parse(s: &str) -> Result<Recipient> {
        if let Some(path) = s.strip_prefix('@') {
            let text = std::fs::read_to_string(path).with_path(path)?;
            let line = text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .ok_or_else(|| {
                    Error::input(format!("{path} holds no escrow recipient"), RECIPIENT_HINT)
                })?;
            return Recipient::parse(line);
        }
        let s = s.trim();
        let shown: String = s.chars().take(40).collect();
        if s.starts_with("age1") {
            if let Some(r) = escrow_plugin::parse_recipient(s) {
                return Ok(Recipient::Plugin(r));
            }
            return age::x25519::Recipient::from_str(s)
                .map(Recipient::Age)
                .map_err(|e| {
                    Error::input(
                        format!("malformed escrow recipient '{shown}': {e}"),
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
                        age::ssh::ParseRecipientKeyError::Unsupported(kind) => {
                            format!("SSH key type {kind} is not supported by age")
                        }
                        age::ssh::ParseRecipientKeyError::RsaModulusTooSmall => {
                            "the RSA key is too small (age needs at least 2048 bits)".into()
                        }
                        age::ssh::ParseRecipientKeyError::RsaModulusTooLarge => {
                            "the RSA key is too large".into()
                        }
                        _ => "not a valid SSH public key".into(),
                    };
                    Error::input(
                        format!("malformed escrow recipient '{shown}': {why}"),
                        RECIPIENT_HINT,
                    )
                });
        }
        Err(Error::input(
            format!("malformed escrow recipient '{shown}'"),
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
    let wrappers = escrow_plugin::wrappers(&plugins, ui)?;
    let all = recipients
        .iter()
        .filter_map(Recipient::as_dyn)
        .chain(wrappers.iter().map(|w| w.as_ref() as &dyn age::Recipient));
    let encryptor = age::Encryptor::with_recipients(all).map_err(escrow_plugin::encrypt_error)?;
    let mut out = Vec::new();
    let armor = ArmoredWriter::wrap_output(&mut out, Format::AsciiArmor)
        .map_err(|e| anyhow::anyhow!("age armor: {e}"))?;
    let mut w = encryptor
        .wrap_output(armor)
        .map_err(escrow_plugin::io_error)?;
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

/// Identities that can open escrow: age identity files and SSH private keys.
#[derive(Default)]
pub struct Identities(Vec<Box<dyn age::Identity>>, Vec<Share>);

impl Identities {
    /// Load an age identity file (`AGE-SECRET-KEY-1…` lines) or an
    /// unencrypted OpenSSH private key.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        self.load_with(path, &token::default_ui())
    }

    /// Load an identity file; plugin identities (`AGE-PLUGIN-NAME-1…`
    /// lines, a token) will ask through `ui` when they open something.
    pub fn load_with(&mut self, path: &Path, ui: &Arc<dyn TokenUi>) -> Result<()> {
        let text = Zeroizing::new(std::fs::read_to_string(path).with_path(path)?);
        if text.starts_with("keycycle-share v1") {
            // A share already decrypted by its holder.
            self.1.push(Share::parse(text.as_bytes())?);
            return Ok(());
        }
        if text.contains("-----BEGIN OPENSSH PRIVATE KEY-----")
            || text.contains("-----BEGIN RSA PRIVATE KEY-----")
        {
            let id =
                age::ssh::Identity::from_buffer(text.as_bytes(), Some(path.display().to_string()))
                    .map_err(|e| {
                        Error::input(
                            format!("{}: not a usable SSH private key: {e}", path.display()),
                            "give an ed25519 or RSA OpenSSH private key",
                        )
                    })?;
            match id {
                age::ssh::Identity::Unencrypted(_) => self.0.push(Box::new(id)),
                age::ssh::Identity::Encrypted(_) => {
                    return Err(Error::input(
                        format!("{}: the SSH key is passphrase-protected", path.display()),
                        "use a decrypted copy in a private tmpfs (ssh-keygen -p -N '' -f COPY) or an age identity",
                    ))
                }
                age::ssh::Identity::Unsupported(_) => {
                    return Err(Error::input(
                        format!("{}: this SSH key type is not supported by age", path.display()),
                        "use an ed25519 or RSA SSH key, or an age identity",
                    ))
                }
            }
            return Ok(());
        }
        if let Some(ids) = escrow_plugin::identities(&text, &path.display().to_string(), ui)? {
            self.0.extend(ids);
            return Ok(());
        }
        let file = age::IdentityFile::from_buffer(text.as_bytes()).map_err(|e| {
            Error::input(
                format!("{}: not an age identity file: {e}", path.display()),
                "give a file made by age-keygen, or an SSH private key",
            )
        })?;
        let ids = file
            .into_identities()
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        if ids.is_empty() {
            return Err(Error::input(
                format!("{}: holds no identity", path.display()),
                "give a file made by age-keygen, or an SSH private key",
            ));
        }
        self.0.extend(ids);
        Ok(())
    }

    /// Load every file (identities or decrypted share files).
    pub fn from_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Identities> {
        Identities::from_paths_with(paths, &token::default_ui())
    }

    /// Load every file; plugin identities ask through `ui`.
    pub fn from_paths_with<P: AsRef<Path>>(
        paths: &[P],
        ui: &Arc<dyn TokenUi>,
    ) -> Result<Identities> {
        let mut ids = Identities::default();
        for p in paths {
            ids.load_with(p.as_ref(), ui)?;
        }
        Ok(ids)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty() && self.1.is_empty()
    }

    /// Share files given in place of identities.
    pub fn shares(&self) -> &[Share] {
        &self.1
    }

    /// Decrypt an escrow file.
    pub fn open(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(ciphertext))
            .map_err(|e| anyhow::anyhow!("not an age file: {e}"))?;
        let mut reader = decryptor
            .decrypt(self.0.iter().map(|i| i.as_ref() as &dyn age::Identity))
            .map_err(|e| match e {
                age::DecryptError::NoMatchingKeys => Error::input(
                    "none of the given identities opens this escrow",
                    "pass the --identity of a root on the roster the key was escrowed to",
                ),
                e => escrow_plugin::decrypt_error(e),
            })?;
        let mut plain = Zeroizing::new(Vec::new());
        reader
            .read_to_end(&mut plain)
            .map_err(|e| anyhow::anyhow!("age: {e}"))?;
        Ok(plain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    #[test]
    fn round_trip_and_header_check() {
        let id = age::x25519::Identity::generate();
        let r = Recipient::parse(&id.to_public().to_string()).unwrap();
        let ssh = Recipient::parse("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN alice@example").unwrap();
        let sealed = seal(&[r.clone(), ssh.clone()], b"secret").unwrap();
        assert!(sealed.starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----"));
        check_recipients(&sealed, &[ssh.clone(), r.clone()]).unwrap();
        assert!(check_recipients(&sealed, &[r.clone()]).is_err());
        let tmp = tempfile::NamedTempFile::new().unwrap();
        std::fs::write(tmp.path(), id.to_string().expose_secret()).unwrap();
        let mut ids = Identities::default();
        ids.load(tmp.path()).unwrap();
        assert_eq!(&ids.open(&sealed).unwrap()[..], b"secret");
    }

    #[test]
    fn malformed_recipients_are_refused() {
        for bad in [
            "age1nope",
            "ssh-ed25519 AAAA",
            "ssh-dss AAAAB3",
            "hello",
            "",
        ] {
            let e = Recipient::parse(bad).unwrap_err();
            assert!(
                e.to_string().contains("malformed escrow recipient"),
                "{bad}: {e}"
            );
        }
    }
}

/// Everything escrowed for one key: the transferable secret key, the hard
/// revocation certificate and the ladder of soft ones (all armored).
pub struct Bundle {
    pub tsk: Zeroizing<Vec<u8>>,
    pub revocation: Zeroizing<Vec<u8>>,
    pub ladder: Zeroizing<Vec<u8>>,
}

impl Bundle {
    /// Length-prefixed concatenation, for secret sharing.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::new());
        for part in [&self.tsk, &self.revocation, &self.ladder] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    }

    pub fn from_bytes(b: &[u8]) -> Result<Bundle> {
        let mut parts = Vec::new();
        let mut rest = b;
        for _ in 0..3 {
            if rest.len() < 4 {
                return Err(Error::vault(
                    "the recovered escrow is malformed",
                    "the shares do not belong together",
                ));
            }
            let n = u32::from_be_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
            if rest.len() < 4 + n {
                return Err(Error::vault(
                    "the recovered escrow is malformed",
                    "the shares do not belong together",
                ));
            }
            parts.push(Zeroizing::new(rest[4..4 + n].to_vec()));
            rest = &rest[4 + n..];
        }
        let ladder = parts.pop().expect("three parts");
        let revocation = parts.pop().expect("three parts");
        let tsk = parts.pop().expect("three parts");
        Ok(Bundle {
            tsk,
            revocation,
            ladder,
        })
    }
}

/// One Shamir share of a key's escrow, in a self-describing envelope (the
/// share itself says nothing about the threshold; this does).
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub fingerprint: String,
    pub threshold: u8,
    pub shares: u8,
    pub index: u8,
    pub holder: String,
    /// SHA-256 of the shared bundle, checked after recovery.
    pub digest: String,
    pub data: Vec<u8>,
}

impl Drop for Share {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.data);
    }
}

impl Share {
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "keycycle-share v1\nfingerprint: {}\nthreshold: {}\nshares: {}\nindex: {}\nholder: {}\ndigest: {}\nshare: {}\n",
            self.fingerprint,
            self.threshold,
            self.shares,
            self.index,
            self.holder,
            self.digest,
            base64::engine::general_purpose::STANDARD.encode(&self.data)
        ))
    }

    pub fn parse(text: &[u8]) -> Result<Share> {
        let bad = || {
            Error::input(
                "not a keycycle share",
                "give a share file decrypted by its holder (age -d)",
            )
        };
        let text = std::str::from_utf8(text).map_err(|_| bad())?;
        let mut lines = text.lines();
        if lines.next() != Some("keycycle-share v1") {
            return Err(bad());
        }
        let mut get = std::collections::HashMap::new();
        for l in lines {
            if let Some((k, v)) = l.split_once(": ") {
                get.insert(k.to_string(), v.to_string());
            }
        }
        let field = |k: &str| get.get(k).cloned().ok_or_else(bad);
        let num = |k: &str| field(k).and_then(|v| v.parse::<u8>().map_err(|_| bad()));
        Ok(Share {
            fingerprint: field("fingerprint")?,
            threshold: num("threshold")?,
            shares: num("shares")?,
            index: num("index")?,
            holder: field("holder")?,
            digest: field("digest")?,
            data: base64::engine::general_purpose::STANDARD
                .decode(field("share")?)
                .map_err(|_| bad())?,
        })
    }
}

/// Split `bundle` M-of-N, one share per holder.
pub fn split(
    fingerprint: &str,
    bundle: &Bundle,
    threshold: u8,
    holders: &[String],
) -> Result<Vec<Share>> {
    let n = holders.len();
    if threshold < 2 || n < threshold as usize || n > 255 {
        return Err(Error::input(
            format!("threshold {threshold} of {n} roots is not possible"),
            "set [escrow] threshold between 2 and the number of roots",
        ));
    }
    let secret = bundle.to_bytes();
    let digest = hex::encode(Sha256::digest(&secret[..]));
    let sharks = blahaj::Sharks(threshold);
    Ok(sharks
        .dealer(&secret)
        .take(n)
        .zip(holders)
        .map(|(s, h)| {
            let bytes: Vec<u8> = Vec::from(&s);
            Share {
                fingerprint: fingerprint.to_string(),
                threshold,
                shares: n as u8,
                index: bytes[0],
                holder: h.clone(),
                digest: digest.clone(),
                data: bytes,
            }
        })
        .collect())
}

/// Recover the bundle from at least `threshold` shares of one key.
pub fn combine(fingerprint: &str, shares: &[Share]) -> Result<Bundle> {
    let mine: Vec<&Share> = shares
        .iter()
        .filter(|s| s.fingerprint == fingerprint)
        .collect();
    let Some(first) = mine.first() else {
        return Err(Error::input(
            "none of the given identities or share files opens a share of this key",
            "pass the --identity of roots on the roster the key was escrowed to",
        ));
    };
    let threshold = first.threshold;
    let mut distinct: Vec<&Share> = Vec::new();
    for s in &mine {
        if s.digest == first.digest && !distinct.iter().any(|d| d.index == s.index) {
            distinct.push(s);
        }
    }
    if distinct.len() < threshold as usize {
        let more = threshold as usize - distinct.len();
        return Err(Error::input(
            format!(
                "the escrow needs {threshold} of {} shares; {} given: {more} more needed",
                first.shares,
                distinct.len()
            ),
            "add the --identity of more roots (repeat --identity FILE)",
        ));
    }
    let parsed: Vec<blahaj::Share> = distinct
        .iter()
        .map(|s| blahaj::Share::try_from(s.data.as_slice()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("share: {e}"))?;
    let secret = Zeroizing::new(
        blahaj::Sharks(threshold)
            .recover(parsed.iter())
            .map_err(|e| anyhow::anyhow!("recovery: {e}"))?,
    );
    if hex::encode(Sha256::digest(&secret[..])) != first.digest {
        return Err(Error::vault(
            "the recovered escrow does not match its digest",
            "a share is corrupt or from another split: re-run with other roots' shares",
        ));
    }
    Bundle::from_bytes(&secret)
}

impl Identities {
    /// Try every identity on a sealed file; `None` when none matches.
    pub fn try_open(&self, ciphertext: &[u8]) -> Result<Option<Zeroizing<Vec<u8>>>> {
        match self.open(ciphertext) {
            Ok(p) => Ok(Some(p)),
            Err(Error::Input { msg, .. }) if msg.starts_with("none of the given identities") => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
