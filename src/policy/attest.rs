//! Certifications of cycle keys: the previous cycle key's cross-signature,
//! the roots' attestations (verified here: keyservers verify nothing), and
//! a root's own certification of a key after a fingerprint check.

use serde::Serialize;

use openpgp::cert::amalgamation::UserIDAmalgamation;
use openpgp::packet::{Signature, UserID};
use openpgp::types::SignatureType;
use openpgp::{Cert, KeyID, Packet};
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};
use crate::cert::{self, Known};
use crate::vault::{StoredKey, Vault};

/// Certify every user ID of `target` with `signer` (a primary key).
pub fn certify_all(
    signer: &mut dyn openpgp::crypto::Signer,
    target: &Cert,
    at: Time,
) -> Result<Cert> {
    let keypair = signer;
    let mut packets: Vec<Packet> = Vec::new();
    for ua in target.userids() {
        let sig = ua.userid().certify(
            keypair,
            target,
            SignatureType::GenericCertification,
            None,
            clock::to_system(at),
        )?;
        packets.push(ua.userid().clone().into());
        packets.push(sig.into());
    }
    Ok(target.clone().insert_packets(packets)?.0)
}

/// Write a vault key's public cert back (atomically).
pub fn save_cert(vault: &Vault, key: &StoredKey, cert: &Cert) -> Result<()> {
    vault.update_key(key, crate::vault::KeyChange::cert(cert)?)
}

/// One certification found in imported material.
#[derive(Debug, Clone, Serialize)]
pub struct Found {
    pub key: String,
    pub issuer_key_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// `accepted`, `already-present`, `outside-roster` (valid, kept,
    /// flagged), or `rejected`.
    pub outcome: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub certifications: Vec<Found>,
    /// Keys in the vault that changed.
    pub updated: Vec<String>,
}

impl ImportReport {
    pub fn count(&self, outcome: &str) -> usize {
        self.certifications
            .iter()
            .filter(|f| f.outcome == outcome)
            .count()
    }
}

/// Issuers keycycle can check certifications against.
pub struct Issuers {
    /// Roster certs and the vault's cycle keys.
    trusted: Known,
    /// Certs that came with the imported material, and those of roots on
    /// the draft roster only.
    others: Known,
    /// Roots on the draft roster (`roster/roster.toml`) but not in the
    /// policy in force: fingerprint, name.
    draft: Vec<(String, String)>,
    /// The version in force (0: none).
    version: u32,
}

/// The roots of the signed policy in force who can attest — each root
/// with an OpenPGP fingerprint, by name, with their certificate
/// `roster/<FPR>.asc` when it is there (its fingerprint checked against the
/// name). The draft `roster/roster.toml` never counts: anyone with commit
/// access writes it. No policy in force: no roots.
pub fn policy_roots(
    vault: &Vault,
    signed: Option<&crate::policy::State>,
) -> Result<Vec<(String, Option<Cert>)>> {
    let mut out = Vec::new();
    for r in signed
        .map(|s| s.policy.roots.as_slice())
        .unwrap_or_default()
    {
        if let Some(fpr) = &r.fingerprint {
            out.push((r.name.clone(), crate::policy::roster::cert(vault, fpr)?));
        }
    }
    Ok(out)
}

/// The roots on the draft roster only (an OpenPGP fingerprint, not in the
/// signed policy in force): (fingerprint, name, their certificate there).
pub fn draft_roots(
    vault: &Vault,
    signed: Option<&crate::policy::State>,
) -> Result<Vec<(String, String, Option<Cert>)>> {
    let in_force = |fpr: &str| {
        signed.is_some_and(|s| {
            s.policy
                .roots
                .iter()
                .any(|r| r.fingerprint.as_deref() == Some(fpr))
        })
    };
    let mut out = Vec::new();
    for m in crate::policy::roster::load(vault)?.members {
        let Some(fpr) = m.fingerprint.filter(|f| !in_force(f)) else {
            continue;
        };
        let cert = crate::policy::roster::cert(vault, &fpr)?;
        out.push((fpr, m.name, cert));
    }
    Ok(out)
}

impl Issuers {
    /// The vault's cycle `keys` and the certificates of the roots of the
    /// policy in force (`signed`) are trusted; `extra` are only known.
    pub fn from_vault(
        vault: &Vault,
        keys: &[StoredKey],
        extra: &[Cert],
        signed: Option<&crate::policy::State>,
    ) -> Result<Issuers> {
        let mut trusted = Known::default();
        for k in keys {
            trusted.add(&k.cert);
        }
        for (_, cert) in policy_roots(vault, signed)? {
            if let Some(c) = cert {
                trusted.add(&c);
            }
        }
        let mut others = Known::default();
        for c in extra {
            others.add(c);
        }
        let mut draft = Vec::new();
        for (fpr, name, cert) in draft_roots(vault, signed)? {
            if let Some(c) = cert {
                others.add(&c);
            }
            draft.push((fpr, name));
        }
        Ok(Issuers {
            trusted,
            others,
            draft,
            version: signed.map_or(0, |s| s.policy.version),
        })
    }

    /// Why a valid certification by `issuer` does not count, when its
    /// root is on the draft roster only.
    fn draft_reason(&self, issuer: &Cert) -> Option<String> {
        let fpr = issuer.fingerprint().to_hex();
        let (_, name) = self.draft.iter().find(|(f, _)| *f == fpr)?;
        Some(format!(
            "{} is on the draft roster, not in the signed policy in force (version {}): the certification is kept and counts once the roots sign a version that lists them (keycycle policy propose)",
            crate::base::text::shown(name),
            self.version
        ))
    }
}

fn issuer_of(sig: &Signature) -> Option<KeyID> {
    sig.get_issuers().first().map(KeyID::from)
}

/// Check every third-party certification on certs matching vault keys;
/// merge the valid ones. Returns the report; writes the changed certs.
pub fn import(vault: &Vault, incoming: &[Cert], at: Time) -> Result<ImportReport> {
    let keys = vault.keys()?;
    let signed = crate::policy::load(vault, at)?;
    let issuers = Issuers::from_vault(vault, &keys, incoming, signed.as_ref())?;
    let mut report = ImportReport::default();
    let mut changed: Vec<(StoredKey, Cert)> = Vec::new();
    for inc in incoming {
        let Some(key) = keys
            .iter()
            .rev()
            .find(|k| k.cert.fingerprint() == inc.fingerprint())
        else {
            continue;
        };
        let mut cert = changed
            .iter()
            .find(|(k, _)| k.dir == key.dir)
            .map(|(_, c)| c.clone())
            .unwrap_or_else(|| key.cert.clone());
        let label = cert::label(&cert);
        let mut add: Vec<Packet> = Vec::new();
        for ua in inc.userids() {
            let Some(ours) = cert.userids().find(|u| u.userid() == ua.userid()) else {
                continue;
            };
            for sig in ua.certifications() {
                let found = examine(&issuers, &cert, &ours, sig, &mut add, &label, at);
                report.certifications.push(found);
            }
        }
        if !add.is_empty() {
            cert = cert.insert_packets(add)?.0;
            changed.retain(|(k, _)| k.dir != key.dir);
            changed.push((key.clone(), cert));
        }
    }
    for (key, cert) in &changed {
        save_cert(vault, key, cert)?;
        report.updated.push(key.state.fingerprint.clone());
    }
    Ok(report)
}

/// Read files of certs (as exported by gpg after `--sign-key`).
pub fn read_files(paths: &[std::path::PathBuf]) -> Result<Vec<Cert>> {
    let mut certs = Vec::new();
    for p in paths {
        let found = cert::read_cert_file(p)?;
        if found.iter().any(Cert::is_tsk) {
            return Err(Error::input(
                format!("{} holds a secret key", crate::base::text::path(p)),
                "send back the public certificate only: gpg --export --armor FINGERPRINT",
            ));
        }
        certs.extend(found);
    }
    if certs.is_empty() {
        return Err(Error::input(
            "no certificates in the given files",
            "give files made with gpg --export --armor",
        ));
    }
    Ok(certs)
}

/// The last `n` groups of a grouped fingerprint, for reading aloud.
pub fn tail_groups(fpr: &openpgp::Fingerprint, n: usize) -> String {
    let g = cert::grouped(fpr);
    let groups: Vec<&str> = g.split_whitespace().collect();
    groups[groups.len().saturating_sub(n)..].join(" ")
}

/// Whether `typed` names `fpr` (a full fingerprint, or its trailing groups,
/// spaces and case ignored, at least 16 hex digits).
pub fn fingerprint_matches(fpr: &openpgp::Fingerprint, typed: &str) -> bool {
    let t = cert::normalize_hex(typed);
    t.len() >= 16 && fpr.to_hex().ends_with(&t)
}

/// Judge one certification `sig` of `ours` (a user ID of `cert`, the vault
/// key labelled `label`) by its issuer; a valid one not yet there is
/// queued in `add`. Returns what was found.
fn examine(
    issuers: &Issuers,
    cert: &Cert,
    ours: &UserIDAmalgamation,
    sig: &Signature,
    add: &mut Vec<Packet>,
    label: &str,
    at: Time,
) -> Found {
    let id = issuer_of(sig);
    let issuer_id = id.as_ref().map(cert::keyid0x).unwrap_or_else(|| "?".into());
    let mut found = Found {
        key: label.to_string(),
        issuer_key_id: issuer_id.clone(),
        issuer: None,
        outcome: String::new(),
        reason: String::new(),
    };
    let (issuer, inside) = match id.as_ref().and_then(|i| issuers.trusted.get(i)) {
        Some(c) => (Some(c), true),
        None => (id.as_ref().and_then(|i| issuers.others.get(i)), false),
    };
    let Some(issuer) = issuer else {
        found.outcome = "rejected".into();
        found.reason = format!(
            "issuer {issuer_id} is neither a root of the signed policy in force nor in the imported files: cannot verify"
        );
        return found;
    };
    found.issuer = Some(cert::primary_uid(issuer));
    match cert::judge_certification(issuer, cert, ours.userid(), sig, at) {
        cert::Judgement::Valid => {}
        cert::Judgement::Bad => {
            found.outcome = "rejected".into();
            found.reason =
                "the signature does not verify (tampered, corrupt, or not over this user ID)"
                    .into();
            return found;
        }
        cert::Judgement::Void(why) => {
            found.outcome = "rejected".into();
            found.reason = format!("its issuer could not make it: {why}");
            return found;
        }
    }
    let present = ours.certifications().any(|s| s.normalized_eq(sig))
        || add
            .iter()
            .any(|p| matches!(p, Packet::Signature(s) if s.normalized_eq(sig)));
    found.outcome = if present {
        "already-present".into()
    } else if inside {
        "accepted".into()
    } else {
        "outside-roster".into()
    };
    if !inside {
        found.reason = issuers.draft_reason(issuer).unwrap_or_default();
    }
    if !present {
        add.push(Packet::from(UserID::from(ours.userid().value())));
        add.push(Packet::from(sig.clone()));
    }
    found
}
