//! The text of openstack/releases' `doc/source/static/0x<fpr>.txt`, as
//! `gpg --list-sigs --fingerprint` prints it, then the armored key.

use openpgp::cert::prelude::*;
use openpgp::packet::Signature;
use openpgp::types::{RevocationStatus, SignatureType};
use openpgp::{Cert, KeyID};
use sequoia_openpgp as openpgp;

use super::*;
use crate::base::clock::{self, Time};

/// The text of openstack/releases' `doc/source/static/0x<fpr>.txt`: the
/// `gpg --list-sigs --fingerprint --keyid-format 0xlong` listing, a blank
/// line, and the armored public key.
pub fn releases_text(cert: &Cert, at: Time, known: &Known) -> Result<String> {
    let p = crate::base::openpgp_policy::lenient();
    // Listing a key "before" it exists shows it as created.
    let t = clock::to_system(at).max(cert.primary_key().key().creation_time());
    let vc = cert.with_policy(&p, t)?;
    let own = cert.keyid();
    let mut out = String::new();
    let expiry = |e: Option<std::time::SystemTime>| match e {
        Some(e) if e <= t => format!(" [expired: {}]", date(e)),
        Some(e) => format!(" [expires: {}]", date(e)),
        None => String::new(),
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
            uid_text(ua.userid())
        ));
        for sig in oldest_first(ua.self_signatures()) {
            sig_line(&mut out, sig, &own, known);
        }
        for sig in ua.certifications() {
            sig_line(&mut out, sig, &own, known);
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
            sig_line(&mut out, sig, &own, known);
        }
        for sig in ka.bundle().self_revocations() {
            sig_line(&mut out, sig, &own, known);
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

/// A day as gpg lists it: `2026-03-24`.
fn date(t: std::time::SystemTime) -> String {
    clock::day(clock::from_system(t))
}

/// One `sig`/`rev` line of the listing (and a revocation's reason and
/// comment): `own` is the listed key's id, `known` names other issuers.
fn sig_line(out: &mut String, sig: &Signature, own: &KeyID, known: &Known) {
    let level = match sig.typ() {
        SignatureType::PersonaCertification => '1',
        SignatureType::CasualCertification => '2',
        SignatureType::PositiveCertification => '3',
        _ => ' ',
    };
    let id = issuer_id(sig);
    let who = match &id {
        Some(i) if i == own => "[self-signature]".to_string(),
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
}
