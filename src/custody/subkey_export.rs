//! The signing subkey handed to CI, sealed: the transferable secret key
//! holding only the signing subkey's secret (OpenPGP-encrypted with a
//! passphrase, or the whole output age-encrypted), wrapped for hiera,
//! written mode 0600 and checked again after writing. The check is the
//! caller's (`handoff::lint`, which sits above custody): custody only
//! hands it the bytes and the passphrase.

use zeroize::Zeroizing;

use openpgp::serialize::Serialize as _;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::base::error::{Error, IoContext, Result};
use crate::base::fs::atomic;
use crate::custody::age::{self, Recipient};

/// Output format.
#[derive(Debug, Clone)]
pub enum Format {
    Armor,
    /// YAML for a private hiera file, the armored key under this key.
    Hiera(String),
}

/// The check run on the transferable secret key before it is sealed and
/// again after it is written: the TSK bytes and its passphrase, if any.
pub type Check<'a, T> = &'a dyn Fn(&[u8], Option<&openpgp::crypto::Password>) -> Result<T>;

/// How the exported subkey is protected.
pub enum Protection {
    /// Unprotected, so CI signs unattended (as OpenStack does).
    None,
    /// The subkey's secret is encrypted with this passphrase (OpenPGP S2K).
    Passphrase(openpgp::crypto::Password),
    /// The whole output is age-encrypted to these recipients.
    Age(Vec<Recipient>),
}

impl Protection {
    /// Its name in reports and the audit log.
    pub fn name(&self) -> &'static str {
        match self {
            Protection::None => "none",
            Protection::Passphrase(_) => "passphrase",
            Protection::Age(_) => "age",
        }
    }
}

/// The armored transferable secret key holding only the signing subkey's
/// secret (primary and other subkeys as stubs), in zeroising memory.
pub fn signing_subkey_tsk(
    full: &Cert,
    at: Time,
    protection: &Protection,
) -> Result<(Zeroizing<Vec<u8>>, String)> {
    let policy = crate::base::openpgp_policy::standard();
    let vc = full.with_policy(&policy, clock::to_system(at))?;
    let sub = vc
        .keys()
        .subkeys()
        .for_signing()
        .alive()
        .revoked(false)
        .secret()
        .max_by_key(|k| k.key().creation_time())
        .ok_or_else(|| {
            Error::input(
                format!(
                    "the key has no live, unrevoked signing subkey at {}",
                    clock::iso(at)
                ),
                "check `keycycle status`; rotate the subkey or extend the key",
            )
        })?;
    let fpr = sub.key().fingerprint();
    let mut cert = full.clone();
    if let Protection::Passphrase(pw) = protection {
        let encrypted = sub.key().clone().encrypt_secret(pw)?;
        cert = cert.insert_packets(openpgp::Packet::from(encrypted))?.0;
    }
    let mut out = Zeroizing::new(Vec::new());
    cert.as_tsk()
        .set_filter(|k| k.fingerprint() == fpr)
        .emit_secret_key_stubs(true)
        .armored()
        .serialize(&mut *out)?;
    Ok((out, fpr.to_hex()))
}

/// Wrap the armored key for a private hiera file.
pub fn hiera(armored: &[u8], hiera_key: &str, label: &str) -> Result<Zeroizing<Vec<u8>>> {
    let text = std::str::from_utf8(armored).map_err(anyhow::Error::from)?;
    let mut out = String::with_capacity(armored.len() + 256);
    out.push_str(&format!(
        "# keycycle: signing subkey of {label}; the primary secret is a stub.\n{hiera_key}: |\n"
    ));
    for line in text.lines() {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    Ok(Zeroizing::new(out.into_bytes()))
}

/// The armored key back out of what `hiera` wrote.
pub fn unwrap_hiera(bytes: &[u8], hiera_key: &str) -> Result<Zeroizing<Vec<u8>>> {
    let doc: serde_yaml_ng::Value =
        serde_yaml_ng::from_slice(bytes).map_err(anyhow::Error::from)?;
    let s = doc
        .get(hiera_key)
        .and_then(|v| v.as_str())
        .ok_or_else(|| anyhow::anyhow!("no '{hiera_key}' in the hiera YAML"))?;
    Ok(Zeroizing::new(s.as_bytes().to_vec()))
}

/// The bytes to write for `format` and `protection`, checked.
pub fn render<T>(
    full: &Cert,
    at: Time,
    format: &Format,
    protection: &Protection,
    check: Check<T>,
) -> Result<(Zeroizing<Vec<u8>>, T)> {
    let (tsk, _) = signing_subkey_tsk(full, at, protection)?;
    let lint = check(&tsk, password(protection))?;
    let body = match format {
        Format::Armor => tsk,
        Format::Hiera(k) => hiera(&tsk, k, &crate::cert::label(full))?,
    };
    let out = match protection {
        Protection::Age(r) => Zeroizing::new(age::seal(r, &body)?),
        _ => body,
    };
    Ok((out, lint))
}

/// The passphrase `protection` encrypts the subkey's secret with.
fn password(protection: &Protection) -> Option<&openpgp::crypto::Password> {
    match protection {
        Protection::Passphrase(p) => Some(p),
        _ => None,
    }
}

/// Check again what was written (`after writing, lint what it wrote`).
fn relint<T>(
    written: &[u8],
    intended: &[u8],
    format: &Format,
    protection: &Protection,
    check: Check<T>,
) -> Result<()> {
    if written != intended {
        return Err(Error::vault(
            "the file on disk differs from what was written",
            "check the disk; the export was removed",
        ));
    }
    if let Protection::Age(_) = protection {
        return Ok(()); // identical bytes; linted before encryption
    }
    let tsk = match format {
        Format::Armor => Zeroizing::new(written.to_vec()),
        Format::Hiera(k) => unwrap_hiera(written, k)?,
    };
    check(&tsk, password(protection)).map(|_| ())
}

/// Write the export to `path` (mode 0600, atomically; an existing file only
/// with `overwrite`), read it back and lint it again: a file that fails is
/// removed.
pub fn write<T>(
    path: &std::path::Path,
    full: &Cert,
    at: Time,
    (format, protection): (&Format, &Protection),
    overwrite: bool,
    check: Check<T>,
) -> Result<T> {
    let (bytes, lint) = render(full, at, format, protection, check)?;
    atomic::write_new(path, &bytes, overwrite, atomic::SECRET_MODE)?;
    let checked = std::fs::read(path)
        .with_path(path)
        .and_then(|written| relint(&written, &bytes, format, protection, check));
    if let Err(e) = checked {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(lint)
}
