//! Revocations this machine has seen are never forgotten. A vault key's
//! `cert.asc` is anyone's commit: restoring an older copy from git history
//! would drop a key or subkey revocation, and `verify` would call a
//! thief's signature GOOD again. So every revocation read from a vault
//! certificate is kept in the local trust store
//! (`$KEYCYCLE_HOME/revocations/<FINGERPRINT>.pgp`, the certificate as
//! seen, merged), and a `cert.asc` that lacks one of them is refused.

use std::path::PathBuf;

use openpgp::packet::Signature;
use openpgp::parse::Parse;
use openpgp::serialize::Serialize;
use openpgp::types::RevocationType;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use super::TrustStore;
use crate::base::error::{Error, Result};
use crate::base::fs::atomic;

const DIR: &str = "revocations";

/// Every self-revocation in `cert` (key, subkey, user ID), with what it
/// revokes.
pub fn revocations(cert: &Cert) -> Vec<(String, Signature)> {
    let mut v: Vec<(String, Signature)> = cert
        .primary_key()
        .self_revocations()
        .map(|s| ("the key".to_string(), s.clone()))
        .collect();
    for ka in cert.keys().subkeys() {
        for s in ka.self_revocations() {
            v.push((format!("subkey {}", ka.key().fingerprint()), s.clone()));
        }
    }
    for ua in cert.userids() {
        for s in ua.self_revocations() {
            let uid = String::from_utf8_lossy(ua.userid().value());
            v.push((
                format!("the user ID \"{}\"", crate::base::text::shown(&uid)),
                s.clone(),
            ));
        }
    }
    v
}

fn path(trust: &TrustStore, cert: &Cert) -> PathBuf {
    // The fingerprint is computed from the key, never taken from a file name.
    trust
        .dir()
        .join(DIR)
        .join(format!("{}.pgp", cert.fingerprint().to_hex()))
}

fn remembered(trust: &TrustStore, cert: &Cert) -> Result<Option<Cert>> {
    let p = path(trust, cert);
    match std::fs::read(&p) {
        Ok(bytes) => Cert::from_bytes(&bytes).map(Some).map_err(|_| {
            Error::vault(
                format!("{}: not a certificate", p.display()),
                "this machine's trust store was damaged: restore it from your backup",
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(p, e)),
    }
}

fn contains(list: &[(String, Signature)], sig: &Signature) -> bool {
    list.iter().any(|(_, s)| s.normalized_eq(sig))
}

/// Hard unless its reason says soft (no reason is hard, as sqv reads it).
fn hard(sig: &Signature) -> bool {
    sig.reason_for_revocation()
        .is_none_or(|(r, _)| r.revocation_type() == RevocationType::Hard)
}

/// Whether `list` still revokes `what` at least as much as `seen` did: the
/// same signature, or another revocation of the same thing that is as hard
/// and, when soft, no later (another clone revoked it too).
fn still_revoked(list: &[(String, Signature)], what: &str, seen: &Signature) -> bool {
    let when = seen.signature_creation_time();
    list.iter().any(|(w, s)| {
        s.normalized_eq(seen)
            || (w == what && (hard(s) || !hard(seen) && s.signature_creation_time() <= when))
    })
}

/// Check `cert` (as read from `shown`, a vault path) against what this
/// machine saw, then remember its revocations: a revocation seen before
/// and missing now is an error.
pub fn check_and_remember(trust: &TrustStore, cert: &Cert, shown: &str) -> Result<()> {
    let now = revocations(cert);
    let before = remembered(trust, cert)?;
    if let Some(before) = &before {
        if let Some((what, sig)) = revocations(before)
            .into_iter()
            .find(|(what, s)| !still_revoked(&now, what, s))
        {
            let when = sig
                .signature_creation_time()
                .map(|t| crate::base::clock::day(crate::base::clock::from_system(t)))
                .unwrap_or_else(|| "an unknown date".into());
            return Err(Error::vault(
                format!(
                    "{shown} lacks the revocation of {what} (made {when}) that this machine saw: an older copy of the certificate was restored"
                ),
                "restore the newest cert.asc from the vault's git history (git log -p -- keys/) and find out who committed the old one; a revocation is never undone",
            ));
        }
        if now.iter().all(|(_, s)| contains(&revocations(before), s)) {
            return Ok(());
        }
    } else if now.is_empty() {
        return Ok(());
    }
    let merged = match before {
        Some(b) => b.merge_public(cert.clone())?,
        None => cert.clone().strip_secret_key_material(),
    };
    let mut bytes = Vec::new();
    merged.serialize(&mut bytes)?;
    atomic::create_dir(trust.dir())?;
    atomic::create_dir(&trust.dir().join(DIR))?;
    atomic::write(&path(trust, cert), &bytes, atomic::SECRET_MODE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use openpgp::cert::CertBuilder;
    use openpgp::types::ReasonForRevocation;

    #[test]
    fn a_revocation_once_seen_must_stay() {
        let home = tempfile::tempdir().unwrap();
        let trust = TrustStore::at(home.path().join("kc"));
        let (cert, _) = CertBuilder::general_purpose(Some("k <k@example.org>"))
            .generate()
            .unwrap();
        check_and_remember(&trust, &cert, "cert.asc").unwrap();
        let mut signer = cert
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap();
        let rev = cert
            .revoke(&mut signer, ReasonForRevocation::KeyCompromised, b"stolen")
            .unwrap();
        let revoked = cert.clone().insert_packets(rev).unwrap().0;
        check_and_remember(&trust, &revoked, "cert.asc").unwrap();
        check_and_remember(&trust, &revoked, "cert.asc").unwrap();
        let e = check_and_remember(
            &trust,
            &cert.clone().strip_secret_key_material(),
            "cert.asc",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("lacks the revocation of the key"), "{e}");
        // Another hard revocation of the key (a second clone revoked it
        // too) keeps it revoked; a soft one in place of the hard one does not.
        let mut other = |reason| {
            let rev = cert.revoke(&mut signer, reason, b"again").unwrap();
            cert.clone().insert_packets(rev).unwrap().0
        };
        check_and_remember(&trust, &other(ReasonForRevocation::KeyCompromised), "c").unwrap();
        let e = check_and_remember(&trust, &other(ReasonForRevocation::KeyRetired), "c")
            .unwrap_err()
            .to_string();
        assert!(e.contains("lacks the revocation of the key"), "{e}");
    }
}
