//! Everything `inspect` shows of one certificate.

use serde::Serialize;

use openpgp::cert::prelude::*;
use openpgp::packet::Signature;
use openpgp::policy::Policy;
use openpgp::types::{HashAlgorithm, RevocationStatus};
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use super::cycle_from_uid;
use super::*;
use crate::base::clock::{self, Time};

/// One key of a certificate: the primary or a subkey.
#[derive(Debug, Clone, Serialize)]
pub struct KeyInfo {
    pub fingerprint: String,
    pub key_id: String,
    pub algorithm: String,
    pub flags: String,
    #[serde(with = "clock::serde_iso")]
    pub created: Time,
    /// The key's own expiry; `None` means never for the primary, and
    /// bounded only by the primary for a subkey.
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
    /// Why an invalid certification does not count (`issuer hard-revoked
    /// on …`, `the signature does not verify`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Everything `inspect` shows of one certificate.
#[derive(Debug, Clone, Serialize)]
pub struct CertInfo {
    /// The primary key.
    #[serde(flatten)]
    pub primary: KeyInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle_name: Option<String>,
    pub user_ids: Vec<String>,
    pub expired: bool,
    pub subkeys: Vec<KeyInfo>,
    pub certifications: Vec<Certification>,
    /// Weak hashes and other findings.
    pub warnings: Vec<String>,
    pub secret: bool,
}

/// Describe `cert` as of `at`.
pub fn describe(cert: &Cert, at: Time, known: &Known) -> CertInfo {
    let strict = crate::base::openpgp_policy::standard();
    let lenient = crate::base::openpgp_policy::lenient();
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
    warnings.extend(weak_self_signatures(cert));
    let (flags, expires, revocations) = primary_state(cert, policy, t);
    let certifications = certifications(cert, known, at, &mut warnings);
    let primary = cert.primary_key().key();
    let cycle = cycle_from_uid(&primary_uid(cert));
    CertInfo {
        primary: KeyInfo {
            fingerprint: cert.fingerprint().to_hex(),
            key_id: keyid0x(&cert.keyid()),
            algorithm: algorithm(primary),
            flags,
            created: clock::from_system(primary.creation_time()),
            expires,
            revocations,
        },
        cycle_id: cycle.as_ref().and_then(|c| c.0.clone()),
        cycle_name: cycle.map(|c| c.1),
        user_ids: cert.userids().map(|u| uid_text(u.userid())).collect(),
        expired: expires.is_some_and(|e| e <= at),
        subkeys: subkeys(cert, policy, t),
        certifications,
        warnings,
        secret: cert.is_tsk(),
    }
}

fn is_weak(sig: &Signature) -> bool {
    matches!(sig.hash_algo(), HashAlgorithm::SHA1 | HashAlgorithm::MD5)
}

/// Weak hashes in self-signatures and bindings.
fn weak_self_signatures(cert: &Cert) -> Vec<String> {
    let uids = cert
        .userids()
        .flat_map(|ua| ua.self_signatures())
        .map(|s| ("self-signature on the user ID".to_string(), s));
    let subs = cert.keys().subkeys().flat_map(|ka| {
        let what = format!("binding signature of subkey {}", keyid0x(&ka.key().keyid()));
        ka.self_signatures().map(move |s| (what.clone(), s))
    });
    uids.chain(subs)
        .filter(|(_, s)| is_weak(s))
        .map(|(what, sig)| {
            format!(
                "{} {} ({})",
                sig.hash_algo(),
                what,
                sig.signature_creation_time()
                    .map(|t| clock::day(clock::from_system(t)))
                    .unwrap_or_default()
            )
        })
        .collect()
}

/// The primary's flags, expiry and revocations under `policy` at `t`.
fn primary_state(
    cert: &Cert,
    policy: &dyn Policy,
    t: std::time::SystemTime,
) -> (String, Option<Time>, Vec<Revocation>) {
    match cert.with_policy(policy, t) {
        Ok(vc) => {
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
        Err(_) => (
            String::new(),
            None,
            cert.primary_key()
                .self_revocations()
                .map(Revocation::from_sig)
                .collect(),
        ),
    }
}

/// Every subkey, oldest first.
fn subkeys(cert: &Cert, policy: &dyn Policy, t: std::time::SystemTime) -> Vec<KeyInfo> {
    let mut subkeys: Vec<KeyInfo> = cert
        .keys()
        .subkeys()
        .map(|ka| {
            let valid = ka.clone().with_policy(policy, t).ok();
            KeyInfo {
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
                revocations: ka.self_revocations().map(Revocation::from_sig).collect(),
            }
        })
        .collect();
    subkeys.sort_by_key(|s| s.created);
    subkeys
}

/// Third-party certifications, checked where the issuer is known; weak
/// hashes noted in `warnings`.
fn certifications(
    cert: &Cert,
    known: &Known,
    at: Time,
    warnings: &mut Vec<String>,
) -> Vec<Certification> {
    let mut out = Vec::new();
    for ua in cert.userids() {
        for sig in ua.certifications() {
            let id = issuer_id(sig);
            let issuer = known.for_sig(sig);
            let judged = issuer.map(|i| judge_certification(i, cert, ua.userid(), sig, at));
            let check = match &judged {
                Some(j) if j.is_valid() => "valid",
                Some(_) => "invalid",
                None => "unchecked",
            };
            out.push(Certification {
                issuer_key_id: id.as_ref().map(keyid0x).unwrap_or_else(|| "?".into()),
                issuer_fingerprint: issuer.map(|c| c.fingerprint().to_hex()),
                issuer: issuer.map(primary_uid),
                created: sig.signature_creation_time().map(clock::from_system),
                hash: sig.hash_algo().to_string(),
                check: check.into(),
                reason: judged.and_then(|j| j.reason()),
            });
            if is_weak(sig) {
                warnings.push(format!(
                    "{} certification by {}",
                    sig.hash_algo(),
                    id.as_ref().map(keyid0x).unwrap_or_default()
                ));
            }
        }
    }
    out
}
