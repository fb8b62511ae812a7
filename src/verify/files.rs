//! The files given to `sign` and `verify`, and what each is: a signature
//! is told from a release file by its content, never an artifact whatever
//! its name (`sign` skips it, `verify` checks it with the file it signs);
//! a cleartext-signed file is checked in place; a release file is paired
//! with its `FILE.asc`, `.sig` or `.gpg` ([`job_for`]).

use std::path::{Path, PathBuf};

use openpgp::parse::{PacketParser, PacketParserResult, Parse};
use openpgp::Packet;
use sequoia_openpgp as openpgp;

use crate::base::error::{Error, IoContext, Result};
use crate::verify::report::first_line;

/// The files named on a command line, sorted into artifacts and the
/// files that are OpenPGP signatures (never artifacts).
#[derive(Debug, Default)]
pub struct Collected {
    pub artifacts: Vec<PathBuf>,
    /// Files that hold only signature packets (whatever their names), and
    /// `FILE.asc` / `FILE.sig` when `FILE` exists: its signature's place,
    /// whatever it holds — unless it is a cleartext-signed document.
    pub signatures: Vec<PathBuf>,
}

/// Expand directories (with `recursive`; `verb` names the command in the
/// hint) into files, each once, and sort out the signatures.
pub fn collect(paths: &[PathBuf], recursive: bool, verb: &str) -> Result<Collected> {
    let mut files = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).with_path(p)?;
        if meta.is_dir() {
            if !recursive {
                return Err(Error::input(
                    format!("{} is a directory", crate::base::text::path(p)),
                    format!("pass --recursive to {verb} every file under it"),
                ));
            }
            walk(p, &mut files)?;
        } else {
            files.push(p.clone());
        }
    }
    let mut named = std::collections::HashSet::new();
    files.retain(|p| named.insert(p.clone()));
    let slot_of_another = |p: &Path| {
        p.extension().is_some_and(|e| e == "asc" || e == "sig")
            && signed_file(p).is_some_and(|f| named.contains(&f) || f.is_file())
    };
    let (signatures, artifacts) = files.into_iter().partition(|p| {
        // A cleartext-signed document (`announce.txt.asc`) is one.
        !is_cleartext(p) && (slot_of_another(p) || is_signature(p))
    });
    Ok(Collected {
        artifacts,
        signatures,
    })
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .with_path(dir)?
        .collect::<std::io::Result<Vec<_>>>()
        .with_path(dir)?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with(".tmp-") {
            continue;
        }
        if p.is_dir() {
            walk(&p, out)?;
        } else {
            out.push(p);
        }
    }
    Ok(())
}

/// What to check.
#[derive(Debug, Clone)]
pub enum Job {
    /// A file and its detached signature.
    Detached { file: PathBuf, signature: PathBuf },
    /// A cleartext-signed file, checked in place; the verified text goes
    /// to `output` only when the file passes.
    Cleartext {
        file: PathBuf,
        output: Option<PathBuf>,
    },
}

/// The job for `file`: its detached `signature` when given; the file
/// itself when it is cleartext-signed; else the first of `FILE.asc`,
/// `FILE.sig`, `FILE.gpg` that exists (`FILE.asc` when none does).
pub fn job_for(file: &Path, signature: Option<&Path>, output: Option<&Path>) -> Job {
    if let Some(s) = signature {
        return Job::Detached {
            file: file.to_path_buf(),
            signature: s.to_path_buf(),
        };
    }
    if is_cleartext(file) {
        return Job::Cleartext {
            file: file.to_path_buf(),
            output: output.map(Path::to_path_buf),
        };
    }
    let with = |ext: &str| {
        let mut s = file.to_path_buf().into_os_string();
        s.push(ext);
        PathBuf::from(s)
    };
    let signature = [".asc", ".sig", ".gpg"]
        .iter()
        .map(|e| with(e))
        .find(|p| p.exists())
        .unwrap_or_else(|| with(".asc"));
    Job::Detached {
        file: file.to_path_buf(),
        signature,
    }
}

/// Does the file use the cleartext signature framework?
pub fn is_cleartext(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let text = &head[..n];
    let skip = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(n);
    text[skip..].starts_with(b"-----BEGIN PGP SIGNED MESSAGE-----")
}

/// The most a file may hold to be taken for a detached signature: a
/// signature is a few hundred bytes, a file of many a few KiB; anything
/// bigger is an artifact, whatever its first bytes say.
pub const SIGNATURE_MAX: u64 = 64 * 1024;

/// Is the file an OpenPGP signature (armored or binary signature packets
/// only), whatever its name? Decided by parsing at most [`SIGNATURE_MAX`]
/// bytes; a cleartext-signed file (a signed document) is not one, nor is
/// anything unreadable.
pub fn is_signature(path: &Path) -> bool {
    use std::io::Read;
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    if file
        .metadata()
        .map_or(true, |m| !m.is_file() || m.len() > SIGNATURE_MAX)
    {
        return false;
    }
    let mut bytes = Vec::new();
    if file
        .take(SIGNATURE_MAX + 1)
        .read_to_end(&mut bytes)
        .is_err()
    {
        return false;
    }
    is_signature_bytes(&bytes)
}

/// [`is_signature`] on bytes already read.
pub fn is_signature_bytes(bytes: &[u8]) -> bool {
    // Armored, the first armor line must be a signature's: the parser
    // reads a cleartext-signed document (`BEGIN PGP SIGNED MESSAGE`) as
    // its signatures alone.
    let first_armor = bytes.windows(14).position(|w| w == b"-----BEGIN PGP");
    if first_armor.is_some_and(|i| !bytes[i..].starts_with(b"-----BEGIN PGP SIGNATURE-----")) {
        return false;
    }
    bytes.len() as u64 <= SIGNATURE_MAX
        && crate::base::bounded::check(bytes).is_ok()
        && check(bytes).is_ok()
}

/// The file a detached signature named `FILE.asc`, `FILE.sig` or
/// `FILE.gpg` belongs to.
pub fn signed_file(signature: &Path) -> Option<PathBuf> {
    let name = signature.file_name()?.to_str()?;
    [".asc", ".sig", ".gpg"]
        .iter()
        .find_map(|e| name.strip_suffix(e))
        .filter(|base| !base.is_empty())
        .map(|base| signature.with_file_name(base))
}

/// What a signature file must hold: only signature packets.
pub fn check(bytes: &[u8]) -> std::result::Result<(), String> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err("the signature file is empty".into());
    }
    let armored = bytes.windows(14).any(|w| w == b"-----BEGIN PGP");
    if !armored && bytes[0] & 0x80 == 0 {
        return Err("not an OpenPGP signature (neither armored nor binary OpenPGP data)".into());
    }
    let broken = |e: anyhow::Error| {
        if armored {
            format!("truncated or corrupt signature: {}", first_line(&e))
        } else {
            format!("not an OpenPGP signature: {}", first_line(&e))
        }
    };
    let mut ppr = PacketParser::from_bytes(bytes).map_err(broken)?;
    let mut sigs = 0;
    while let PacketParserResult::Some(pp) = ppr {
        match &pp.packet {
            Packet::Signature(_) => sigs += 1,
            Packet::PublicKey(_) | Packet::SecretKey(_) => {
                return Err("not a signature: the file holds a key".into())
            }
            Packet::Unknown(u) => return Err(broken(anyhow::anyhow!("{}", u.error()))),
            p => {
                return Err(format!(
                    "not a detached signature: it holds a {} packet",
                    p.tag()
                ))
            }
        }
        ppr = pp.next().map_err(broken)?.1;
    }
    if sigs == 0 {
        return Err("not an OpenPGP signature".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use openpgp::cert::CertBuilder;
    use openpgp::serialize::SerializeInto;
    use openpgp::Packet;

    fn signature() -> (Vec<u8>, Vec<u8>, Vec<u8>) {
        let (cert, _) = CertBuilder::general_purpose(Some("a@example.org"))
            .generate()
            .unwrap();
        let mut pair = cert
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap();
        let sig = openpgp::packet::signature::SignatureBuilder::new(
            openpgp::types::SignatureType::Binary,
        )
        .sign_message(&mut pair, b"data")
        .unwrap();
        let binary = Packet::from(sig).to_vec().unwrap();
        let mut armored = Vec::new();
        let mut w =
            openpgp::armor::Writer::new(&mut armored, openpgp::armor::Kind::Signature).unwrap();
        std::io::Write::write_all(&mut w, &binary).unwrap();
        w.finalize().unwrap();
        let key = cert.armored().to_vec().unwrap();
        (binary, armored, key)
    }

    #[test]
    fn signatures_are_known_by_content() {
        let (binary, armored, key) = signature();
        assert!(is_signature_bytes(&binary));
        assert!(is_signature_bytes(&armored));
        let mut two = armored.clone();
        two.extend_from_slice(&armored);
        assert!(is_signature_bytes(&two), "two armored signatures");
        assert!(!is_signature_bytes(&key), "a key");
        assert!(!is_signature_bytes(b""));
        assert!(!is_signature_bytes(b"\x1f\x8b\x08\x00 a tarball"));
        assert!(!is_signature_bytes(b"PK\x03\x04 a wheel"));
        // 0x89: an old-format signature packet header, then garbage.
        assert!(!is_signature_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"));
        assert!(
            !is_signature_bytes(&binary[..binary.len() - 3]),
            "truncated"
        );
        let mut clear = b"-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA256\n\nhi\n".to_vec();
        clear.extend_from_slice(&armored);
        assert!(!is_signature_bytes(&clear), "a cleartext-signed document");
        let mut big = binary.clone();
        big.resize(SIGNATURE_MAX as usize + 1, 0);
        assert!(!is_signature_bytes(&big));
    }

    #[test]
    fn the_file_a_signature_signs() {
        let f = |s: &str| signed_file(Path::new(s)).map(|p| p.display().to_string());
        assert_eq!(f("dist/x.tar.gz.asc").as_deref(), Some("dist/x.tar.gz"));
        assert_eq!(f("x.sig").as_deref(), Some("x"));
        assert_eq!(f("Release.gpg").as_deref(), Some("Release"));
        assert_eq!(f(".asc"), None);
        assert_eq!(f("SIGNATURE"), None);
    }
}
