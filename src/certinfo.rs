//! Reading certificates: what `inspect` shows, the gpg-style listing of
//! openstack/releases' key files, and the chain of predecessor
//! certifications between cycle keys.

use serde::Serialize;
use std::collections::HashMap;

use openpgp::cert::prelude::*;
use openpgp::crypto::mpi::PublicKey;
use openpgp::packet::{key, Key, Signature};
use openpgp::parse::Parse;
use openpgp::policy::{HashAlgoSecurity, Policy, StandardPolicy};
use openpgp::serialize::Serialize as _;
use openpgp::types::{Curve, HashAlgorithm, KeyFlags, RevocationStatus, SignatureType};
use openpgp::{Cert, Fingerprint, KeyID};
use sequoia_openpgp as openpgp;

use crate::clock::{self, Time};
use crate::error::{Error, Result};
use crate::schedule::cycle_from_uid;

/// The standard policy, except that SHA-1 is accepted where only second
/// pre-image resistance matters (self-signatures on the 2016–2018 keys).
/// SHA-1 data signatures stay rejected.
pub fn lenient_policy() -> StandardPolicy<'static> {
    let mut p = StandardPolicy::new();
    p.accept_hash_property(
        HashAlgorithm::SHA1,
        HashAlgoSecurity::SecondPreImageResistance,
    );
    p
}

/// Parse every certificate in `bytes`. Text before the armor (the
/// fingerprint listing of openstack/releases' files) is skipped.
pub fn parse_certs(bytes: &[u8]) -> Result<Vec<Cert>> {
    let start = find(bytes, b"-----BEGIN PGP").unwrap_or(0);
    let data = &bytes[start..];
    if data.is_empty() {
        return Err(Error::input(
            "the file is empty",
            "give an OpenPGP certificate",
        ));
    }
    let certs = CertParser::from_bytes(data)
        .map_err(|e| {
            Error::input(
                format!("not an OpenPGP certificate: {e}"),
                "give an armored or binary OpenPGP certificate",
            )
        })?
        .collect::<openpgp::Result<Vec<Cert>>>()
        .map_err(|e| {
            Error::input(
                format!("not an OpenPGP certificate: {e}"),
                "give an armored or binary OpenPGP certificate",
            )
        })?;
    if certs.is_empty() {
        return Err(Error::input(
            "no OpenPGP certificate found",
            "give an armored or binary OpenPGP certificate",
        ));
    }
    if let Some(c) = certs.iter().find(|c| c.primary_key().key().version() != 4) {
        return Err(Error::input(
            format!(
                "{} is a v{} key: keycycle handles v4 keys only",
                c.fingerprint(),
                c.primary_key().key().version()
            ),
            "GnuPG 2.2 and the release tooling read v4 keys only; give a v4 certificate",
        ));
    }
    Ok(certs)
}

/// The largest file read as certificates (the biggest real release key
/// with all its certifications is well under 1 MiB).
pub const MAX_CERT_FILE: u64 = 16 << 20;

/// Check a certificate someone hands in as their public key: public only,
/// with a valid self-signature, not expired or revoked at `at`.
pub fn check_public_cert(
    cert: &Cert,
    path: &std::path::Path,
    at: crate::clock::Time,
) -> Result<()> {
    let name = path.display();
    if cert.is_tsk() {
        return Err(Error::input(
            format!("{name} holds a secret key"),
            "give the public certificate only: gpg --export --armor FINGERPRINT",
        ));
    }
    let p = openpgp::policy::StandardPolicy::new();
    let vc = cert
        .with_policy(&p, crate::clock::to_system(at))
        .map_err(|e| {
            Error::input(
                format!(
                    "{name}: no valid self-signature at {}: {e}",
                    crate::clock::day(at)
                ),
                "give a current certificate (gpg --export --armor FINGERPRINT)",
            )
        })?;
    if let openpgp::types::RevocationStatus::Revoked(_) = vc.revocation_status() {
        return Err(Error::input(
            format!("{name}: the certificate {} is revoked", cert.fingerprint()),
            "give the root's current certificate",
        ));
    }
    vc.alive().map_err(|_| {
        Error::input(
            format!("{name}: the certificate {} has expired", cert.fingerprint()),
            "ask the root to extend it (gpg --quick-set-expire) and export it again",
        )
    })?;
    Ok(())
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// gpg's name for a key's algorithm: `ed25519`, `cv25519`, `rsa3072`.
pub fn algorithm<P: key::KeyParts, R: key::KeyRole>(key: &Key<P, R>) -> String {
    let curve = |c: &Curve| match c {
        Curve::Ed25519 => "ed25519".to_string(),
        Curve::Cv25519 => "cv25519".to_string(),
        Curve::NistP256 => "nistp256".to_string(),
        Curve::NistP384 => "nistp384".to_string(),
        Curve::NistP521 => "nistp521".to_string(),
        c => c.to_string().to_lowercase(),
    };
    match key.mpis() {
        PublicKey::RSA { n, .. } => format!("rsa{}", n.bits()),
        PublicKey::DSA { p, .. } => format!("dsa{}", p.bits()),
        PublicKey::EdDSA { curve: c, .. }
        | PublicKey::ECDSA { curve: c, .. }
        | PublicKey::ECDH { curve: c, .. } => curve(c),
        PublicKey::Ed25519 { .. } => "ed25519".into(),
        PublicKey::X25519 { .. } => "cv25519".into(),
        _ => key.pk_algo().to_string().to_lowercase(),
    }
}

/// gpg's capability letters: `SC`, `E`, `S`.
pub fn flag_letters(flags: Option<&KeyFlags>) -> String {
    let Some(f) = flags else { return String::new() };
    let mut s = String::new();
    if f.for_signing() {
        s.push('S');
    }
    if f.for_certification() {
        s.push('C');
    }
    if f.for_transport_encryption() || f.for_storage_encryption() {
        s.push('E');
    }
    if f.for_authentication() {
        s.push('A');
    }
    s
}

/// `0x231F942F608DDEFF`.
pub fn keyid0x(id: &KeyID) -> String {
    format!("0x{}", id.to_hex())
}

/// A revocation as shown to people.
#[derive(Debug, Clone, Serialize)]
pub struct Revocation {
    pub reason: String,
    /// Hard revocations (compromised, unspecified) void every signature;
    /// soft ones (superseded, retired) only later ones.
    pub hard: bool,
    pub message: String,
    #[serde(with = "clock::serde_iso_opt")]
    pub time: Option<Time>,
}

impl Revocation {
    pub fn from_sig(sig: &Signature) -> Revocation {
        use openpgp::types::ReasonForRevocation as R;
        let (reason, msg) = sig
            .reason_for_revocation()
            .map(|(r, m)| (r, String::from_utf8_lossy(m).into_owned()))
            .unwrap_or((R::Unspecified, String::new()));
        let name = match reason {
            R::KeyCompromised => "compromised",
            R::KeySuperseded => "superseded",
            R::KeyRetired => "retired",
            R::UIDRetired => "user ID retired",
            R::Unspecified => "unspecified",
            _ => "other",
        };
        Revocation {
            reason: name.into(),
            hard: !matches!(reason, R::KeySuperseded | R::KeyRetired | R::UIDRetired),
            message: msg,
            time: sig.signature_creation_time().map(clock::from_system),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct SubkeyInfo {
    pub fingerprint: String,
    pub key_id: String,
    pub algorithm: String,
    pub flags: String,
    #[serde(with = "clock::serde_iso")]
    pub created: Time,
    /// The subkey's own expiry; `None` means bounded only by the primary.
    #[serde(with = "clock::serde_iso_opt")]
    pub expires: Option<Time>,
    pub revocations: Vec<Revocation>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Certification {
    pub issuer_key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer_fingerprint: Option<String>,
    /// The issuer's user ID, when the issuer is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(with = "clock::serde_iso_opt")]
    pub created: Option<Time>,
    pub hash: String,
    /// `valid`, `invalid`, or `unchecked` (issuer not at hand).
    pub check: String,
}

/// Everything `inspect` shows of one certificate.
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    pub fingerprint: String,
    pub key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle_name: Option<String>,
    pub user_ids: Vec<String>,
    pub algorithm: String,
    pub flags: String,
    #[serde(with = "clock::serde_iso")]
    pub created: Time,
    #[serde(with = "clock::serde_iso_opt")]
    pub expires: Option<Time>,
    pub expired: bool,
    pub revocations: Vec<Revocation>,
    pub subkeys: Vec<SubkeyInfo>,
    pub certifications: Vec<Certification>,
    /// Weak hashes and other findings.
    pub warnings: Vec<String>,
    pub secret: bool,
}

/// Certificates known by fingerprint, to name and check issuers.
#[derive(Default)]
pub struct Known {
    certs: HashMap<KeyID, Cert>,
}

impl Known {
    pub fn add(&mut self, cert: &Cert) {
        self.certs.insert(cert.keyid(), cert.clone());
    }

    pub fn get(&self, id: &KeyID) -> Option<&Cert> {
        self.certs.get(id)
    }

    fn for_sig(&self, sig: &Signature) -> Option<&Cert> {
        sig.get_issuers()
            .iter()
            .find_map(|h| self.get(&KeyID::from(h)))
    }
}

/// A certificate's primary user ID, or any.
pub fn primary_uid(cert: &Cert) -> String {
    let p = lenient_policy();
    cert.with_policy(&p, None)
        .ok()
        .and_then(|vc| vc.primary_userid().ok().map(|u| u.userid().to_string()))
        .or_else(|| cert.userids().next().map(|u| u.userid().to_string()))
        .unwrap_or_else(|| "[no user ID]".into())
}

fn issuer_id(sig: &Signature) -> Option<KeyID> {
    sig.get_issuers().first().map(KeyID::from)
}

/// Does `sig` on `uid` of `cert` verify as a certification by `issuer`?
pub fn certification_verifies(
    sig: &Signature,
    issuer: &Cert,
    cert: &Cert,
    uid: &openpgp::packet::UserID,
) -> bool {
    sig.verify_userid_binding(issuer.primary_key().key(), cert.primary_key().key(), uid)
        .is_ok()
}

/// Describe `cert` as of `at`.
pub fn describe(cert: &Cert, at: Time, known: &Known) -> CertInfo {
    let strict = StandardPolicy::new();
    let lenient = lenient_policy();
    let t = clock::to_system(at);
    let mut warnings = Vec::new();
    let policy: &dyn Policy = if cert.with_policy(&strict, t).is_ok() {
        &strict
    } else {
        warnings.push(
            "rejected by the standard policy (weak self-signatures); shown with SHA-1 self-signatures accepted"
                .to_string(),
        );
        &lenient
    };
    let vc = cert.with_policy(policy, t).ok();

    // Weak hashes in self-signatures and bindings.
    let mut weak = |what: &str, sig: &Signature| {
        if matches!(sig.hash_algo(), HashAlgorithm::SHA1 | HashAlgorithm::MD5) {
            warnings.push(format!(
                "{} {} ({})",
                sig.hash_algo(),
                what,
                sig.signature_creation_time()
                    .map(|t| clock::day(clock::from_system(t)))
                    .unwrap_or_default()
            ));
        }
    };
    for ua in cert.userids() {
        for s in ua.self_signatures() {
            weak("self-signature on the user ID", s);
        }
    }
    for ka in cert.keys().subkeys() {
        for s in ka.self_signatures() {
            weak(
                &format!("binding signature of subkey {}", keyid0x(&ka.key().keyid())),
                s,
            );
        }
    }

    let primary = cert.primary_key().key();
    let (user_ids, uid_for_cycle) = {
        let uids: Vec<String> = cert.userids().map(|u| u.userid().to_string()).collect();
        let first = primary_uid(cert);
        (uids, first)
    };
    let cycle = cycle_from_uid(&uid_for_cycle);

    let (flags, expires, revocations) = match &vc {
        Some(vc) => {
            let pka = vc.primary_key();
            let revs = match pka.revocation_status() {
                RevocationStatus::Revoked(sigs) => {
                    sigs.iter().map(|s| Revocation::from_sig(s)).collect()
                }
                _ => Vec::new(),
            };
            (
                flag_letters(pka.key_flags().as_ref()),
                pka.key_expiration_time().map(clock::from_system),
                revs,
            )
        }
        None => (
            String::new(),
            None,
            cert.primary_key()
                .self_revocations()
                .map(Revocation::from_sig)
                .collect(),
        ),
    };

    let mut subkeys: Vec<SubkeyInfo> = cert
        .keys()
        .subkeys()
        .map(|ka| {
            let valid = ka.clone().with_policy(policy, t).ok();
            let revocations = ka.self_revocations().map(Revocation::from_sig).collect();
            SubkeyInfo {
                fingerprint: ka.key().fingerprint().to_hex(),
                key_id: keyid0x(&ka.key().keyid()),
                algorithm: algorithm(ka.key()),
                flags: valid
                    .as_ref()
                    .map(|v| flag_letters(v.key_flags().as_ref()))
                    .unwrap_or_default(),
                created: clock::from_system(ka.key().creation_time()),
                expires: valid
                    .as_ref()
                    .and_then(|v| v.key_expiration_time())
                    .map(clock::from_system),
                revocations,
            }
        })
        .collect();
    subkeys.sort_by_key(|s| s.created);

    let mut certifications = Vec::new();
    for ua in cert.userids() {
        for sig in ua.certifications() {
            let id = issuer_id(sig);
            let issuer = known.for_sig(sig);
            let check = match issuer {
                Some(i) if certification_verifies(sig, i, cert, ua.userid()) => "valid",
                Some(_) => "invalid",
                None => "unchecked",
            };
            certifications.push(Certification {
                issuer_key_id: id.as_ref().map(keyid0x).unwrap_or_else(|| "?".into()),
                issuer_fingerprint: issuer.map(|c| c.fingerprint().to_hex()),
                issuer: issuer.map(primary_uid),
                created: sig.signature_creation_time().map(clock::from_system),
                hash: sig.hash_algo().to_string(),
                check: check.into(),
            });
            if matches!(sig.hash_algo(), HashAlgorithm::SHA1 | HashAlgorithm::MD5) {
                warnings.push(format!(
                    "{} certification by {}",
                    sig.hash_algo(),
                    id.as_ref().map(keyid0x).unwrap_or_default()
                ));
            }
        }
    }

    let expired = expires.is_some_and(|e| e <= at);
    CertInfo {
        fingerprint: cert.fingerprint().to_hex(),
        key_id: keyid0x(&cert.keyid()),
        cycle_id: cycle.as_ref().and_then(|c| c.0.clone()),
        cycle_name: cycle.map(|c| c.1),
        user_ids,
        algorithm: algorithm(primary),
        flags,
        created: clock::from_system(primary.creation_time()),
        expires,
        expired,
        revocations,
        subkeys,
        certifications,
        warnings,
        secret: cert.is_tsk(),
    }
}

/// A link in the chain: `subject` is certified by the `issuer` cycle key.
#[derive(Debug, Clone, Serialize)]
pub struct ChainLink {
    pub subject: String,
    pub issuer: String,
    #[serde(with = "clock::serde_iso_opt")]
    pub date: Option<Time>,
}

/// Among `certs`, which certify which (verified signatures only).
pub fn chain(certs: &[Cert]) -> Vec<ChainLink> {
    let mut by_id = Known::default();
    for c in certs {
        by_id.add(c);
    }
    let mut links = Vec::new();
    let mut sorted: Vec<&Cert> = certs.iter().collect();
    sorted.sort_by_key(|c| c.primary_key().key().creation_time());
    for cert in sorted {
        for ua in cert.userids() {
            for sig in ua.certifications() {
                if let Some(issuer) = by_id.for_sig(sig) {
                    if issuer.fingerprint() != cert.fingerprint()
                        && certification_verifies(sig, issuer, cert, ua.userid())
                    {
                        links.push(ChainLink {
                            subject: label(cert),
                            issuer: label(issuer),
                            date: sig.signature_creation_time().map(clock::from_system),
                        });
                    }
                }
            }
        }
    }
    links
}

/// `Hibiscus (0x231F942F608DDEFF)` or the user ID.
pub fn label(cert: &Cert) -> String {
    let uid = primary_uid(cert);
    match cycle_from_uid(&uid) {
        Some((Some(id), name)) => format!("{id}/{name} ({})", keyid0x(&cert.keyid())),
        Some((None, name)) => format!("{name} ({})", keyid0x(&cert.keyid())),
        None => format!("{uid} ({})", keyid0x(&cert.keyid())),
    }
}

/// gpg's grouping: `3056 6C45 0E41 D7C9 1E44  2DFB 231F 942F 608D DEFF`.
pub fn grouped(fpr: &Fingerprint) -> String {
    fpr.to_spaced_hex()
}

/// The minimal armored public key, without comment headers (as gpg writes).
pub fn armored_public(cert: &Cert) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::PublicKey)
        .map_err(anyhow::Error::from)?;
    cert.serialize(&mut w)?;
    w.finalize().map_err(anyhow::Error::from)?;
    Ok(out)
}

/// The text of openstack/releases' `doc/source/static/0x<fpr>.txt`: the
/// `gpg --list-sigs --fingerprint --keyid-format 0xlong` listing, a blank
/// line, and the armored public key.
pub fn releases_text(cert: &Cert, at: Time, known: &Known) -> Result<String> {
    let p = lenient_policy();
    // Listing a key "before" it exists shows it as created.
    let t = clock::to_system(at).max(cert.primary_key().key().creation_time());
    let vc = cert.with_policy(&p, t)?;
    let own = cert.keyid();
    let mut out = String::new();
    let date = |t: std::time::SystemTime| clock::day(clock::from_system(t));
    let expiry = |e: Option<std::time::SystemTime>| match e {
        Some(e) if e <= t => format!(" [expired: {}]", date(e)),
        Some(e) => format!(" [expires: {}]", date(e)),
        None => String::new(),
    };
    let sig_line = |out: &mut String, sig: &Signature| {
        let level = match sig.typ() {
            SignatureType::PersonaCertification => '1',
            SignatureType::CasualCertification => '2',
            SignatureType::PositiveCertification => '3',
            _ => ' ',
        };
        let id = issuer_id(sig);
        let who = match &id {
            Some(i) if *i == own => "[self-signature]".to_string(),
            Some(i) => known
                .get(i)
                .map(primary_uid)
                .unwrap_or_else(|| "[User ID not found]".into()),
            None => "[User ID not found]".into(),
        };
        let kind = if matches!(
            sig.typ(),
            SignatureType::KeyRevocation
                | SignatureType::SubkeyRevocation
                | SignatureType::CertificationRevocation
        ) {
            "rev"
        } else {
            "sig"
        };
        out.push_str(&format!(
            "{kind} {level}        {} {}  {who}\n",
            id.as_ref().map(keyid0x).unwrap_or_default(),
            sig.signature_creation_time().map(date).unwrap_or_default()
        ));
        if kind == "rev" {
            let r = Revocation::from_sig(sig);
            out.push_str(&format!(
                "      reason for revocation: {}\n",
                match r.reason.as_str() {
                    "compromised" => "Key has been compromised",
                    "superseded" => "Key is superseded",
                    "retired" => "Key is no longer used",
                    _ => "No reason specified",
                }
            ));
            if !r.message.is_empty() {
                out.push_str(&format!("         revocation comment: {}\n", r.message));
            }
        }
    };
    let pka = vc.primary_key();
    out.push_str(&format!(
        "pub   {}/{} {} [{}]{}\n",
        algorithm(pka.key()),
        keyid0x(&cert.keyid()),
        date(pka.key().creation_time()),
        flag_letters(pka.key_flags().as_ref()),
        expiry(pka.key_expiration_time())
    ));
    out.push_str(&format!(
        "      Key fingerprint = {}\n",
        grouped(&cert.fingerprint())
    ));
    for ua in cert.userids() {
        out.push_str(&format!(
            "uid                              {}\n",
            ua.userid()
        ));
        for sig in oldest_first(ua.self_signatures()) {
            sig_line(&mut out, sig);
        }
        for sig in ua.certifications() {
            sig_line(&mut out, sig);
        }
    }
    // Subkeys in the order of the key block that follows the listing.
    for ka in vc.keys().subkeys() {
        let revoked = match ka.revocation_status() {
            RevocationStatus::Revoked(sigs) => sigs
                .first()
                .and_then(|s| s.signature_creation_time())
                .map(|t| format!(" [revoked: {}]", date(t))),
            _ => None,
        };
        let key = ka.key();
        out.push_str(&format!(
            "sub   {}/{} {} [{}]{}\n",
            algorithm(key),
            keyid0x(&key.keyid()),
            date(key.creation_time()),
            flag_letters(ka.key_flags().as_ref()),
            revoked.unwrap_or_else(|| expiry(ka.key_expiration_time()))
        ));
        for sig in oldest_first(ka.bundle().self_signatures()) {
            sig_line(&mut out, sig);
        }
        for sig in ka.bundle().self_revocations() {
            sig_line(&mut out, sig);
        }
    }
    out.push('\n');
    out.push_str(&String::from_utf8(armored_public(cert)?).map_err(anyhow::Error::from)?);
    Ok(out)
}

/// gpg lists signatures oldest first; sequoia keeps them newest first.
fn oldest_first<'a>(sigs: impl Iterator<Item = &'a Signature>) -> Vec<&'a Signature> {
    let mut v: Vec<&Signature> = sigs.collect();
    v.sort_by_key(|s| s.signature_creation_time());
    v
}

/// Read a certificate file.
pub fn read_cert_file(path: &std::path::Path) -> Result<Vec<Cert>> {
    let len = std::fs::metadata(path)
        .map_err(|e| Error::io(path, e))?
        .len();
    if len > MAX_CERT_FILE {
        return Err(Error::input(
            format!(
                "{}: {} MiB is too large for certificates (limit {} MiB)",
                path.display(),
                len >> 20,
                MAX_CERT_FILE >> 20
            ),
            "give the certificate itself, e.g. gpg --export --armor FINGERPRINT",
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_certs(&bytes).map_err(|e| e.context(path.display()))
}

/// Chain of custody over cycle keys ordered by creation: for each key
/// after the first, whether its predecessor certified it.
#[derive(Debug, Clone, Serialize)]
pub struct Custody {
    /// `Zed (0x…)` certified by `Yoga (0x…)`, oldest first.
    pub linked: Vec<ChainLink>,
    /// Keys not certified by their predecessor: (key, predecessor).
    pub gaps: Vec<(String, String)>,
    /// The longest unbroken run, oldest to newest.
    pub longest: Vec<String>,
}

pub fn custody(certs: &[Cert]) -> Custody {
    custody_from(certs, &chain(certs))
}

/// [`custody`] from an already computed [`chain`] of `certs`.
pub fn custody_from(certs: &[Cert], links: &[ChainLink]) -> Custody {
    let mut cycle: Vec<&Cert> = certs
        .iter()
        .filter(|c| cycle_from_uid(&primary_uid(c)).is_some())
        .collect();
    cycle.sort_by_key(|c| c.primary_key().key().creation_time());
    cycle.dedup_by_key(|c| c.fingerprint());
    let mut linked = Vec::new();
    let mut gaps = Vec::new();
    let mut run: Vec<String> = cycle.first().map(|c| vec![label(c)]).unwrap_or_default();
    let mut longest = run.clone();
    for w in cycle.windows(2) {
        let (prev, cur) = (label(w[0]), label(w[1]));
        match links.iter().find(|l| l.subject == cur && l.issuer == prev) {
            Some(l) => {
                linked.push(l.clone());
                run.push(cur);
            }
            None => {
                gaps.push((cur.clone(), prev));
                run = vec![cur];
            }
        }
        if run.len() > longest.len() {
            longest = run.clone();
        }
    }
    Custody {
        linked,
        gaps,
        longest,
    }
}

/// A bare signature handed to `inspect` (a revocation certificate, a
/// detached signature).
#[derive(Debug, Clone, Serialize)]
pub struct SigInfo {
    /// `key revocation`, `subkey revocation`, `binary document` …
    pub kind: String,
    pub issuer_key_id: String,
    /// The issuer's label when the cert is at hand.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(with = "clock::serde_iso_opt")]
    pub created: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Hard (compromised, unspecified) or soft (superseded, retired).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hard: Option<bool>,
    pub message: String,
    pub hash: String,
    /// `valid`, `BAD`, or `issuer not at hand`.
    pub check: String,
}

/// Parse a file of bare signatures (nothing else); `None` if it is not one.
pub fn parse_signatures(bytes: &[u8]) -> Option<Vec<Signature>> {
    use openpgp::Packet;
    let start = find(bytes, b"-----BEGIN PGP").unwrap_or(0);
    let pile = openpgp::PacketPile::from_bytes(&bytes[start..]).ok()?;
    let mut sigs = Vec::new();
    for p in pile.into_children() {
        match p {
            Packet::Signature(s) => sigs.push(s),
            _ => return None,
        }
    }
    (!sigs.is_empty()).then_some(sigs)
}

/// Describe a bare signature; key revocations are checked against the
/// issuer's cert when `known` has it.
pub fn describe_signature(sig: &Signature, known: &Known) -> SigInfo {
    let kind = match sig.typ() {
        SignatureType::KeyRevocation => "key revocation".to_string(),
        SignatureType::SubkeyRevocation => "subkey revocation".to_string(),
        SignatureType::CertificationRevocation => "certification revocation".to_string(),
        SignatureType::Binary => "binary document signature".to_string(),
        SignatureType::Text => "text document signature".to_string(),
        t => format!("{t}"),
    };
    let (reason, message, hard) = match sig.reason_for_revocation() {
        Some((r, m)) => (
            Some(r.to_string()),
            String::from_utf8_lossy(m).into_owned(),
            Some(r.revocation_type() == openpgp::types::RevocationType::Hard),
        ),
        None => (None, String::new(), None),
    };
    let issuer_cert = known.for_sig(sig);
    let check = match (issuer_cert, sig.typ()) {
        (None, _) => "issuer not at hand".to_string(),
        (Some(c), SignatureType::KeyRevocation) => {
            let pk = c.primary_key().key();
            match sig.clone().verify_primary_key_revocation(pk, pk) {
                Ok(()) => "valid".to_string(),
                Err(_) => "BAD".to_string(),
            }
        }
        (Some(_), _) => "not checked (not a key revocation)".to_string(),
    };
    SigInfo {
        kind,
        issuer_key_id: sig
            .get_issuers()
            .first()
            .map(|h| KeyID::from(h).to_hex())
            .unwrap_or_default(),
        issuer: issuer_cert.map(label),
        created: sig.signature_creation_time().map(clock::from_system),
        reason,
        hard,
        message,
        hash: sig.hash_algo().to_string(),
        check,
    }
}
