//! The signing subkey handed to CI, sealed: the transferable secret key
//! holding only the signing subkey's secret (OpenPGP-encrypted with a
//! passphrase, or the whole output age-encrypted), wrapped for hiera,
//! written mode 0600 and linted again (`subkey::lint`) after writing.

use zeroize::Zeroizing;

use openpgp::serialize::Serialize as _;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::clock::{self, Time};
use crate::custody::age::{self, Recipient};
use crate::error::{Error, IoContext, Result};
use crate::fs::atomic;
use crate::subkey::{lint, Format, Lint};

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
    let policy = crate::openpgp_policy::standard();
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

/// The bytes to write for `format` and `protection`, linted.
pub fn render(
    full: &Cert,
    at: Time,
    format: &Format,
    protection: &Protection,
) -> Result<(Zeroizing<Vec<u8>>, Lint)> {
    let (tsk, _) = signing_subkey_tsk(full, at, protection)?;
    let password = match protection {
        Protection::Passphrase(p) => Some(p),
        _ => None,
    };
    let lint = lint(&tsk, &full.fingerprint().to_hex(), at, password)?;
    let body = match format {
        Format::Armor => tsk,
        Format::Hiera(k) => hiera(&tsk, k, &crate::certinfo::label(full))?,
    };
    let out = match protection {
        Protection::Age(r) => Zeroizing::new(age::seal(r, &body)?),
        _ => body,
    };
    Ok((out, lint))
}

/// Re-lint what was written (`after writing, lint what it wrote`).
fn relint(
    written: &[u8],
    intended: &[u8],
    full: &Cert,
    at: Time,
    format: &Format,
    protection: &Protection,
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
    let password = match protection {
        Protection::Passphrase(p) => Some(p),
        _ => None,
    };
    lint(&tsk, &full.fingerprint().to_hex(), at, password).map(|_| ())
}

/// Write the export to `path` (mode 0600, atomically; an existing file only
/// with `overwrite`), read it back and lint it again: a file that fails is
/// removed.
pub fn write(
    path: &std::path::Path,
    full: &Cert,
    at: Time,
    format: &Format,
    protection: &Protection,
    overwrite: bool,
) -> Result<Lint> {
    let (bytes, lint) = render(full, at, format, protection)?;
    atomic::write_new(path, &bytes, overwrite, atomic::SECRET_MODE)?;
    let checked = std::fs::read(path)
        .with_path(path)
        .and_then(|written| relint(&written, &bytes, full, at, format, protection));
    if let Err(e) = checked {
        let _ = std::fs::remove_file(path);
        return Err(e);
    }
    Ok(lint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keygen::{self, KeySpec, Suite};
    use crate::sign;
    use crate::verify::{self, Keyring};
    use openpgp::crypto::Password;

    fn key() -> (Cert, Time) {
        let created = clock::parse_time("2026-08-01").unwrap();
        let k = keygen::generate(&KeySpec {
            user_id: "Test (2027.1/Indri Cycle) <t@example.org>".into(),
            suite: Suite::Ed25519,
            created,
            expires: clock::parse_time("2027-05-28").unwrap(),
            encryption_subkey: true,
            ladder_interval_days: 7,
        })
        .unwrap();
        (k.cert, clock::parse_time("2026-09-01").unwrap())
    }

    /// Export → import: what is handed to CI parses back as the same key,
    /// holds only the signing subkey's secret (the primary a stub, the
    /// encryption subkey absent), and signs for the public cert — with
    /// and without a passphrase.
    #[test]
    fn the_exported_subkey_round_trips() {
        let (full, at) = key();
        let pw: Password = "correct horse".into();
        for protection in [Protection::None, Protection::Passphrase(pw.clone())] {
            let (bytes, lint) = render(&full, at, &Format::Armor, &protection).unwrap();
            let back = <Cert as openpgp::parse::Parse<Cert>>::from_bytes(&bytes[..]).unwrap();
            assert_eq!(back.fingerprint(), full.fingerprint());
            assert_eq!(lint.primary_secret, "gnu-dummy stub");
            let secrets: Vec<_> = back
                .keys()
                .subkeys()
                .filter(|k| k.key().optional_secret().is_some_and(|s| !sign::is_stub(s)))
                .collect();
            assert_eq!(secrets.len(), 1, "only the signing subkey's secret");
            let password = match &protection {
                Protection::Passphrase(p) => Some(p),
                _ => None,
            };
            let mut signer = sign::signing_key(&back, at, password).unwrap();
            let sig = sign::sign_reader(&mut signer, &b"artifact"[..], at, &|_| {}).unwrap();
            let ring = Keyring::new(vec![full.clone().strip_secret_key_material()]).unwrap();
            assert!(verify::verify_bytes(&ring, b"artifact", &sig, at).good);
        }
    }

    #[test]
    fn hiera_wraps_and_unwraps_the_same_key() {
        let (full, at) = key();
        let format = Format::Hiera("releases_signing_key".into());
        let (yaml, _) = render(&full, at, &format, &Protection::None).unwrap();
        let armored = unwrap_hiera(&yaml, "releases_signing_key").unwrap();
        let (plain, _) = render(&full, at, &Format::Armor, &Protection::None).unwrap();
        let a = <Cert as openpgp::parse::Parse<Cert>>::from_bytes(&armored[..]).unwrap();
        let b = <Cert as openpgp::parse::Parse<Cert>>::from_bytes(&plain[..]).unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert!(lint(&armored, &full.fingerprint().to_hex(), at, None).is_ok());
    }
}
