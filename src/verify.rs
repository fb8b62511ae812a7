//! Checking detached signatures before upload: good only if the signature
//! is cryptographically valid, by a signing-capable key of one of the given
//! cycle certs that was alive and not revoked when it signed, under the
//! standard policy (no SHA-1). Streams each file in constant memory.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use openpgp::parse::stream::{
    DetachedVerifierBuilder, GoodChecksum, MessageLayer, MessageStructure, VerificationError,
    VerificationHelper,
};
use openpgp::parse::{PacketParser, PacketParserResult, Parse};
use openpgp::policy::{HashAlgoSecurity, StandardPolicy};
use openpgp::types::HashAlgorithm;
use openpgp::{Cert, KeyHandle, KeyID, Packet};
use sequoia_openpgp as openpgp;

use crate::certinfo;
use crate::clock::{self, Time};
use crate::error::{Error, Result};

/// The policy for data signatures. `as_of` rolls the algorithm cutoffs
/// back to that date (for auditing artifacts of keys whose self-signatures
/// use SHA-1), but SHA-1 data signatures stay rejected.
pub fn policy(as_of: Option<Time>) -> StandardPolicy<'static> {
    match as_of {
        None => StandardPolicy::new(),
        Some(t) => {
            let mut p = StandardPolicy::at(clock::to_system(t));
            p.reject_hash_property_at(
                HashAlgorithm::SHA1,
                HashAlgoSecurity::CollisionResistance,
                std::time::UNIX_EPOCH,
            );
            p
        }
    }
}

/// One file's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub file: String,
    pub signature: String,
    pub good: bool,
    /// Why it is bad (one line), or empty.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
    /// The cycle key that signed: `2026.2/Hibiscus (0x231F942F608DDEFF)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subkey: Option<String>,
    #[serde(with = "clock::serde_iso_opt", skip_serializing_if = "Option::is_none")]
    pub signed_at: Option<Time>,
}

impl Verdict {
    fn new(file: String, signature: String) -> Verdict {
        Verdict {
            file,
            signature,
            good: false,
            reason: String::new(),
            key: None,
            fingerprint: None,
            subkey: None,
            signed_at: None,
        }
    }
}

/// The certificates signatures are checked against.
pub struct Keyring {
    certs: Vec<Cert>,
    /// `label()` of each cert, computed once (it evaluates the cert).
    labels: std::collections::HashMap<openpgp::Fingerprint, String>,
}

impl Keyring {
    pub fn new(certs: Vec<Cert>) -> Result<Keyring> {
        if certs.is_empty() {
            return Err(Error::input(
                "no certificates to verify against",
                "pass --cert FILE (a cycle key, a keyring, or a folder of keys), or a vault holding keys",
            ));
        }
        let labels = certs
            .iter()
            .map(|c| (c.fingerprint(), certinfo::label(c)))
            .collect();
        Ok(Keyring { certs, labels })
    }

    /// Read files and folders of certificates (openstack/releases `.txt`
    /// files too).
    pub fn load(paths: &[PathBuf]) -> Result<Keyring> {
        let mut certs = Vec::new();
        for p in paths {
            if p.is_dir() {
                let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                    .map_err(|e| Error::io(p, e))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .collect();
                entries.sort();
                for e in entries {
                    certs.extend(certinfo::read_cert_file(&e)?);
                }
            } else {
                certs.extend(certinfo::read_cert_file(p)?);
            }
        }
        Keyring::new(
            certs
                .into_iter()
                .map(Cert::strip_secret_key_material)
                .collect(),
        )
    }

    fn matching(&self, ids: &[KeyHandle]) -> Vec<Cert> {
        self.certs
            .iter()
            .filter(|c| {
                c.keys().any(|k| {
                    ids.iter()
                        .any(|h| h.aliases(KeyHandle::from(k.key().fingerprint())))
                })
            })
            .cloned()
            .collect()
    }
}

struct Helper<'a> {
    ring: &'a Keyring,
    good: Option<(String, String, String, Option<Time>)>,
    bad: Vec<String>,
}

fn first_line(e: &anyhow::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s.lines().next().unwrap_or_default().to_string()
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.ring.matching(ids))
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure.into_iter() {
            let MessageLayer::SignatureGroup { results } = layer else {
                continue;
            };
            for r in results {
                match r {
                    Ok(GoodChecksum { sig, ka }) => {
                        if self.good.is_none() {
                            let fpr = ka.cert().fingerprint();
                            self.good = Some((
                                self.ring
                                    .labels
                                    .get(&fpr)
                                    .cloned()
                                    .unwrap_or_else(|| certinfo::label(ka.cert())),
                                ka.cert().fingerprint().to_hex(),
                                ka.key().fingerprint().to_hex(),
                                sig.signature_creation_time().map(clock::from_system),
                            ));
                        }
                    }
                    Err(e) => self.bad.push(describe(&e)),
                }
            }
        }
        Ok(())
    }
}

fn describe(e: &VerificationError) -> String {
    match e {
        VerificationError::MissingKey { sig } => format!(
            "signed by a key that is not among the given certificates (issuer {})",
            sig.get_issuers()
                .first()
                .map(|h| certinfo::keyid0x(&KeyID::from(h)))
                .unwrap_or_else(|| "unknown".into())
        ),
        VerificationError::UnboundKey { cert, error, .. } => format!(
            "the key of {} was not valid when the signature was made: {}",
            certinfo::label(cert),
            first_line(error)
        ),
        VerificationError::BadKey { ka, error, .. } => {
            let why = first_line(error);
            let label = certinfo::label(ka.cert());
            if why.contains("revoked") || why.contains("Revoked") {
                format!("made by a revoked key, {label}: {why}")
            } else if why.contains("xpired") || why.contains("not live") {
                format!("made when the key {label} was not live (expired or not yet valid): {why}")
            } else {
                format!("the key {label} could not make this signature: {why}")
            }
        }
        VerificationError::BadSignature { error, .. } => {
            let msg = first_line(error);
            if msg.contains("manipulated") {
                "bad signature: the file does not match it (modified or corrupt)".into()
            } else {
                format!("bad signature: {msg}")
            }
        }
        VerificationError::MalformedSignature { error, .. } => {
            format!("signature rejected: {}", first_line(error))
        }
        VerificationError::UnknownSignature { sig } => {
            format!("unsupported signature: {}", sig.error())
        }
        _ => e.to_string(),
    }
}

/// What a signature file must hold: only signature packets.
fn check_signature_file(bytes: &[u8]) -> std::result::Result<(), String> {
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
    if let PacketParserResult::EOF(eof) = &ppr {
        if !eof.is_message().is_ok() && sigs == 0 {
            return Err("not an OpenPGP signature".into());
        }
    }
    if sigs == 0 {
        return Err("not an OpenPGP signature".into());
    }
    Ok(())
}

/// Verify one file against its detached signature.
pub fn verify_file(
    ring: &Keyring,
    file: &Path,
    signature: &Path,
    at: Time,
    as_of: Option<Time>,
) -> Verdict {
    let mut v = Verdict::new(file.display().to_string(), signature.display().to_string());
    let sig = match std::fs::read(signature) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            v.reason = format!("missing signature {}", signature.display());
            return v;
        }
        Err(e) => {
            v.reason = format!("cannot read {}: {e}", signature.display());
            return v;
        }
    };
    if let Err(reason) = check_signature_file(&sig) {
        v.reason = reason;
        return v;
    }
    let data = match std::fs::File::open(file) {
        Ok(f) => f,
        Err(e) => {
            v.reason = format!("cannot read {}: {e}", file.display());
            return v;
        }
    };
    check_reader(&mut v, ring, data, &sig, at, as_of);
    v
}

/// Verify `data` against the detached signature `sig` (for lints).
pub fn verify_bytes(ring: &Keyring, data: &[u8], sig: &[u8], at: Time) -> Verdict {
    let mut v = Verdict::new("<memory>".into(), "<memory>".into());
    if let Err(reason) = check_signature_file(sig) {
        v.reason = reason;
        return v;
    }
    check_reader(&mut v, ring, data, sig, at, None);
    v
}

fn check_reader<R: std::io::Read + Send + Sync>(
    v: &mut Verdict,
    ring: &Keyring,
    data: R,
    sig: &[u8],
    at: Time,
    as_of: Option<Time>,
) {
    let policy = policy(as_of);
    let helper = Helper {
        ring,
        good: None,
        bad: Vec::new(),
    };
    let result = DetachedVerifierBuilder::from_bytes(sig)
        .and_then(|b| b.with_policy(&policy, Some(clock::to_system(at)), helper));
    let mut verifier = match result {
        Ok(v) => v,
        Err(e) => {
            v.reason = format!("not a usable signature: {}", first_line(&e));
            return;
        }
    };
    if let Err(e) = verifier.verify_reader(data) {
        v.reason = format!("verification failed: {}", first_line(&e));
        return;
    }
    let helper = verifier.into_helper();
    match helper.good {
        Some((key, fpr, sub, t)) => {
            v.good = true;
            v.key = Some(key);
            v.fingerprint = Some(fpr);
            v.subkey = Some(sub);
            v.signed_at = t;
        }
        None => {
            v.reason = helper
                .bad
                .into_iter()
                .next()
                .unwrap_or_else(|| "no signature in the file".into());
        }
    }
}

/// Verify many files in parallel; `signature_for` maps a file to its
/// signature path.
pub fn verify_all(
    ring: &Keyring,
    jobs: &[(PathBuf, PathBuf)],
    at: Time,
    as_of: Option<Time>,
) -> Vec<Verdict> {
    jobs.par_iter()
        .map(|(file, sig)| verify_file(ring, file, sig, at, as_of))
        .collect()
}
