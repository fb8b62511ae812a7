//! age plugins in the escrow: recipients `age1NAME1…` and identities
//! `AGE-PLUGIN-NAME-1…` (a YubiKey's `age1yubikey1…`, or any token with an
//! age plugin), served by the binary `age-plugin-NAME` on `PATH` through the
//! age crate's `plugin` feature. The plugin's questions (PIN, touch,
//! "insert the token") go through [`TokenUi`](crate::custody::token::TokenUi).
//!
//! Plugin stanzas carry the plugin's own tag (`piv-p256`, …), which the
//! recipient string does not predict: the header check counts them (see
//! `escrow::check_recipients`).

use std::path::PathBuf;
use std::sync::Arc;

use crate::base::error::{Error, Result};
use crate::custody::token::{AgeCallbacks, TokenUi};

/// The binary that serves plugin `name`.
pub fn binary_name(name: &str) -> String {
    format!("age-plugin-{name}")
}

/// Where `age-plugin-NAME` is on `PATH`, if anywhere.
pub fn find_binary(name: &str) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let bin = binary_name(name);
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|dir| dir.join(&bin))
        .find(|p| {
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// The error for a plugin binary that is not on `PATH`.
pub fn missing_binary(binary: &str, what: &str) -> Error {
    Error::input(
        format!("{what} needs the age plugin binary {binary}, which is not on PATH"),
        format!("install {binary} (or add its directory to PATH) and run it again"),
    )
}

/// Fail, naming the binary, unless `age-plugin-NAME` is on `PATH`.
pub fn require_binary(recipient: &age::plugin::Recipient) -> Result<PathBuf> {
    find_binary(recipient.plugin()).ok_or_else(|| {
        missing_binary(
            &binary_name(recipient.plugin()),
            &format!("escrow recipient {}", short(&recipient.to_string())),
        )
    })
}

/// A plugin recipient (`age1NAME1…`), if `s` is one.
pub fn parse_recipient(s: &str) -> Option<age::plugin::Recipient> {
    s.parse::<age::plugin::Recipient>().ok()
}

fn short(s: &str) -> String {
    if s.chars().count() > 24 {
        format!("{}…", s.chars().take(24).collect::<String>())
    } else {
        s.to_string()
    }
}

/// One age recipient per plugin for `recipients` (age asks each plugin to
/// wrap for all of its recipients at once).
pub(crate) fn wrappers(
    recipients: &[&age::plugin::Recipient],
    ui: &Arc<dyn TokenUi>,
) -> Result<Vec<Box<dyn age::Recipient + Send>>> {
    let mut names: Vec<&str> = recipients.iter().map(|r| r.plugin()).collect();
    names.sort_unstable();
    names.dedup();
    let all: Vec<age::plugin::Recipient> = recipients.iter().map(|r| (*r).clone()).collect();
    names
        .into_iter()
        .map(|name| {
            age::plugin::RecipientPluginV1::new(name, &all, &[], AgeCallbacks(ui.clone()))
                .map(|p| Box::new(p) as Box<dyn age::Recipient + Send>)
                .map_err(encrypt_error)
        })
        .collect()
}

/// Plugin identities from an identity file's text, answering through `ui`.
/// `Ok(None)` when the file holds no plugin identity line.
pub(crate) fn identities(
    text: &str,
    origin: &str,
    ui: &Arc<dyn TokenUi>,
) -> Result<Option<Vec<Box<dyn age::Identity>>>> {
    if !text
        .lines()
        .any(|l| l.trim_start().starts_with("AGE-PLUGIN-"))
    {
        return Ok(None);
    }
    let file = age::IdentityFile::from_buffer(text.as_bytes()).map_err(|e| {
        Error::input(
            format!("{origin}: not an age identity file: {e}"),
            "give the identity file your age plugin wrote (AGE-PLUGIN-…-1… lines)",
        )
    })?;
    file.with_callbacks(AgeCallbacks(ui.clone()))
        .into_identities()
        .map(Some)
        .map_err(|e| match e {
            age::DecryptError::MissingPlugin { binary_name } => {
                missing_binary(&binary_name, &format!("the identity in {origin}"))
            }
            e => decrypt_error(e),
        })
}

fn plugin_messages(errors: &[impl std::fmt::Display]) -> String {
    let mut parts: Vec<String> = errors.iter().map(|e| one_line(&e.to_string())).collect();
    parts.dedup();
    parts.join("; ")
}

/// One line of plain text: whitespace collapsed, and the Unicode isolation
/// marks age's translations put around names dropped.
fn one_line(s: &str) -> String {
    s.replace(['\u{2068}', '\u{2069}'], "")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// An age decryption error as one line with a hint (plugin refusals, a
/// missing plugin binary, a plugin that died).
pub(crate) fn decrypt_error(e: age::DecryptError) -> Error {
    match e {
        age::DecryptError::Plugin(errors) => Error::input(
            format!("the age plugin refused: {}", plugin_messages(&errors)),
            "check the token and its PIN (--pin-file, or KEYCYCLE_PIN in --batch), or pass another --identity",
        ),
        age::DecryptError::MissingPlugin { binary_name } => {
            missing_binary(&binary_name, "an --identity")
        }
        age::DecryptError::Io(e) => io_error(e),
        e => anyhow::anyhow!("age: {}", one_line(&e.to_string())).into(),
    }
}

/// An age encryption error as one line with a hint.
pub(crate) fn encrypt_error(e: age::EncryptError) -> Error {
    match e {
        age::EncryptError::MissingPlugin { binary_name } => {
            missing_binary(&binary_name, "an escrow recipient")
        }
        age::EncryptError::Plugin(errors) => Error::input(
            format!("the age plugin refused: {}", plugin_messages(&errors)),
            "check the token, or remove that recipient from the roster",
        ),
        age::EncryptError::Io(e) => io_error(e),
        e => anyhow::anyhow!("age: {}", one_line(&e.to_string())).into(),
    }
}

/// An I/O error from the age layer: a plugin that died is named in one line.
pub(crate) fn io_error(e: std::io::Error) -> Error {
    let text = one_line(&e.to_string());
    if e.kind() == std::io::ErrorKind::ConnectionAborted {
        return Error::input(
            format!("an age plugin stopped unexpectedly: {text}"),
            "run it again with AGEDEBUG=plugin to see the plugin's side",
        );
    }
    anyhow::anyhow!("age: {text}").into()
}
