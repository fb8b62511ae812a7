//! Detached signatures for release artifacts: one streaming pass over each
//! file (SHA-256), constant memory, every signature checked against the
//! same digest before it is written, files signed in parallel.

pub mod handoff;
pub mod manifest;

use std::io::Read;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use openpgp::cert::prelude::*;
use openpgp::crypto::Password;
use openpgp::packet::key;
use openpgp::packet::signature::SignatureBuilder;
use openpgp::serialize::Serialize as _;
use openpgp::types::{HashAlgorithm, RevocationStatus, SignatureType};
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::base::error::{Error, IoContext, Result};
use crate::base::fs::atomic;
use crate::cert::{self, Revocation};
use crate::custody::signing_subkey;

/// The digest for data signatures. On SHA-NI machines SHA-256 streams
/// 1.6–1.8× faster than SHA-512 in every backend (PERFORMANCE.md), it is
/// what gpg uses with Ed25519 keys, and every verifier accepts it.
pub const DIGEST: HashAlgorithm = HashAlgorithm::SHA256;

/// Read buffer per file: large enough to amortise syscalls, small enough
/// for constant memory.
const CHUNK: usize = 256 * 1024;

pub use crate::custody::signing_subkey::{is_stub, SigningKey};
/// The files given, sorted into artifacts and signatures: one collector
/// for `sign` and `verify` ([`crate::verify::files`]).
pub use crate::verify::files::{collect, Collected};

fn not_usable(msg: String) -> Error {
    Error::input(
        msg,
        "use the signing subkey exported for the current cycle (`keycycle export signing-subkey`)",
    )
}

/// Pick the signing-capable secret (sub)key of `cert` that is valid at
/// `at`; explain precisely why there is none.
pub fn signing_key(cert: &Cert, at: Time, password: Option<&Password>) -> Result<SigningKey> {
    let policy = crate::base::openpgp_policy::standard();
    let when = clock::iso(at);
    let vc = usable_cert(cert, &policy, at)?;
    let capable: Vec<_> = vc.keys().for_signing().collect();
    if capable.is_empty() {
        return Err(not_usable(format!(
            "the key {} has no signing-capable key",
            cert::label(cert)
        )));
    }
    let with_secret: Vec<_> = capable.iter().filter(|k| k.key().has_secret()).collect();
    if with_secret.is_empty() {
        return Err(not_usable(format!(
            "the file holds no signing secret key for {} (public keys only)",
            cert::label(cert)
        )));
    }
    let mut reasons = Vec::new();
    for ka in with_secret {
        if let Some(reason) = not_live(ka, &when) {
            reasons.push(reason);
            continue;
        }
        let expires = ka
            .key_expiration_time()
            .into_iter()
            .chain(vc.primary_key().key_expiration_time())
            .min()
            .map(clock::from_system);
        let owner = signing_subkey::Owner {
            cert_fingerprint: cert.fingerprint().to_hex(),
            label: cert::label(cert),
            expires,
        };
        match signing_subkey::open(ka.key(), password, owner)? {
            Ok(key) => return Ok(key),
            Err(reason) => reasons.push(reason),
        }
    }
    Err(none_usable(&when, reasons))
}

/// `cert` under `policy` at `at`, if it is valid, not revoked and alive.
fn usable_cert<'a>(
    cert: &'a Cert,
    policy: &'a dyn openpgp::policy::Policy,
    at: Time,
) -> Result<ValidCert<'a>> {
    let when = clock::iso(at);
    let vc = cert
        .with_policy(policy, clock::to_system(at))
        .map_err(|e| {
            not_usable(format!(
                "the key {} is not valid at {when}: {e}",
                cert.keyid()
            ))
        })?;
    if let RevocationStatus::Revoked(sigs) = vc.revocation_status() {
        let r = sigs.first().map(|s| Revocation::from_sig(s));
        return Err(not_usable(format!(
            "the key {} is revoked ({})",
            cert::label(cert),
            r.map(|r| r.reason).unwrap_or_default()
        )));
    }
    if let Err(e) = vc.alive() {
        let exp = vc
            .primary_key()
            .key_expiration_time()
            .map(|e| clock::day(clock::from_system(e)));
        return Err(not_usable(format!(
            "the key {} is not alive at {when}{}: {e}",
            cert::label(cert),
            exp.map(|d| format!(" (it expired on {d})"))
                .unwrap_or_default()
        )));
    }
    Ok(vc)
}

/// Why the subkey `ka` cannot sign at `when` (revoked, not alive), if so.
fn not_live(ka: &ValidErasedKeyAmalgamation<key::PublicParts>, when: &str) -> Option<String> {
    let fpr = ka.key().fingerprint().to_hex();
    if let RevocationStatus::Revoked(sigs) = ka.revocation_status() {
        let r = sigs.first().map(|s| Revocation::from_sig(s));
        return Some(format!(
            "subkey {fpr} is revoked ({})",
            r.map(|r| r.reason).unwrap_or_default()
        ));
    }
    if let Err(e) = ka.alive() {
        let exp = ka
            .key_expiration_time()
            .map(|e| clock::day(clock::from_system(e)));
        return Some(format!(
            "subkey {fpr} is not alive at {when}{}: {e}",
            exp.map(|d| format!(" (expired {d})")).unwrap_or_default()
        ));
    }
    None
}

/// The error when no secret subkey can sign: every subkey's reason.
fn none_usable(when: &str, reasons: Vec<String>) -> Error {
    let hint = if reasons.iter().any(|r| r.contains("passphrase-protected")) {
        "pass --passphrase-file with the subkey's passphrase"
    } else {
        "use the signing subkey exported for the current cycle (`keycycle export signing-subkey`)"
    };
    Error::input(
        format!("no usable signing key at {when}: {}", reasons.join("; ")),
        hint,
    )
}

/// Sign everything `reader` yields; returns the armored detached signature.
/// The signature is verified against the same digest before it is returned.
pub fn sign_reader(
    key: &mut SigningKey,
    mut reader: impl Read,
    at: Time,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<Vec<u8>> {
    let mut hash = DIGEST.context()?.for_signature(4);
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(anyhow::Error::from(e).into()),
        };
        hash.update(&buf[..n]);
        progress(n as u64);
    }
    let check = hash.clone();
    let builder = SignatureBuilder::new(SignatureType::Binary)
        .set_signature_creation_time(clock::to_system(at))?;
    let sig = key.sign_hash(builder, hash, check)?;
    let mut out = Vec::with_capacity(512);
    let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Signature)
        .map_err(anyhow::Error::from)?;
    openpgp::Packet::from(sig).serialize(&mut w)?;
    w.finalize().map_err(anyhow::Error::from)?;
    Ok(out)
}

/// One file to sign.
#[derive(Debug, Clone)]
pub struct Job {
    pub input: PathBuf,
    pub output: PathBuf,
}

impl Job {
    /// `FILE` → `FILE.asc`.
    pub fn beside(input: PathBuf) -> Job {
        let mut out = input.clone().into_os_string();
        out.push(".asc");
        Job {
            input,
            output: PathBuf::from(out),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Signed {
    pub file: String,
    pub signature: String,
    /// `signed` or `kept` (an existing signature, without --overwrite).
    pub status: String,
    pub bytes: u64,
    pub key: String,
    pub subkey: String,
}

/// Sign every job, in parallel on every core, then make the signatures
/// visible atomically with one filesystem sync for the whole batch.
pub fn sign_all(
    key: &SigningKey,
    jobs: &[Job],
    at: Time,
    overwrite: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> Vec<(Job, Result<Signed>)> {
    type Made = (Job, Result<(Signed, Option<atomic::Staged>)>);
    let made: Vec<Made> = jobs
        .par_iter()
        .map_init(
            || key.clone(),
            |key, job| {
                let r = sign_one(key, job, at, overwrite, progress).and_then(|(s, sig)| {
                    let staged = sig
                        .map(|b| atomic::stage(&job.output, &b, atomic::PUBLIC_MODE))
                        .transpose()?;
                    Ok((s, staged))
                });
                (job.clone(), r)
            },
        )
        .collect();
    let mut to_commit = Vec::new();
    let mut pending = Vec::new();
    for (job, r) in made {
        match r {
            Ok((signed, Some(staged))) => {
                to_commit.push(staged);
                pending.push((job, Ok((signed, true))));
            }
            Ok((signed, None)) => pending.push((job, Ok((signed, false)))),
            Err(e) => pending.push((job, Err(e))),
        }
    }
    let mut committed = atomic::commit(to_commit).into_iter();
    pending
        .into_iter()
        .map(|(job, r)| {
            let r = r.and_then(|(signed, staged)| {
                if staged {
                    committed.next().expect("one result per staged file")?;
                }
                Ok(signed)
            });
            (job, r)
        })
        .collect()
}

/// Sign one file; the signature bytes are returned for writing (`None`
/// when an existing signature is kept).
fn sign_one(
    key: &mut SigningKey,
    job: &Job,
    at: Time,
    overwrite: bool,
    progress: &(dyn Fn(u64) + Sync),
) -> Result<(Signed, Option<Vec<u8>>)> {
    let report = |status: &str, bytes| Signed {
        file: job.input.display().to_string(),
        signature: job.output.display().to_string(),
        status: status.into(),
        bytes,
        key: key.cert_fingerprint.clone(),
        subkey: key.subkey_fingerprint.clone(),
    };
    if job.output.exists() && !overwrite {
        let bytes = std::fs::metadata(&job.input).with_path(&job.input)?.len();
        progress(bytes);
        return Ok((report("kept", 0), None));
    }
    let file = std::fs::File::open(&job.input).with_path(&job.input)?;
    let bytes = file.metadata().with_path(&job.input)?.len();
    let signed = report("signed", bytes);
    let sig = sign_reader(key, file, at, progress).map_err(|e| match e {
        Error::Other(e) => Error::Other(e.context(job.input.display().to_string())),
        e => e,
    })?;
    Ok((signed, Some(sig)))
}

/// Read a key file for signing (an exported signing subkey).
pub fn read_key_file(path: &Path) -> Result<Cert> {
    let mut certs = cert::read_cert_file(path)?;
    if certs.len() != 1 {
        return Err(Error::input(
            format!(
                "{} holds {} keys",
                crate::base::text::path(path),
                certs.len()
            ),
            "give the file written by `keycycle export signing-subkey`",
        ));
    }
    Ok(certs.remove(0))
}
