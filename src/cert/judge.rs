//! Whether a certification counts: the mathematics, then whether its
//! issuer could make it at its own time, under the policy `verify` uses.

use openpgp::packet::{Signature, UserID};
use openpgp::types::{RevocationStatus, SignatureType};
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use super::Revocation;
use crate::base::clock::{self, Time};

/// The reason given for a certification that does not verify.
pub const BAD_SIGNATURE: &str = "the signature does not verify";

/// A certification judged: valid, or why not (`issuer hard-revoked on …`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    Valid,
    /// The signature does not verify over this user ID.
    Bad,
    /// It verifies, but its issuer could not make it; the reason.
    Void(String),
}

impl Judgement {
    pub fn is_valid(&self) -> bool {
        *self == Judgement::Valid
    }

    /// The reason it does not count, if it does not.
    pub fn reason(&self) -> Option<String> {
        match self {
            Judgement::Valid => None,
            Judgement::Bad => Some(BAD_SIGNATURE.into()),
            Judgement::Void(r) => Some(r.clone()),
        }
    }
}

/// Judge `sig`, a certification of `uid` on `cert` by `issuer`, as of `at`
/// (certification revocations made by then count): hard-revoked issuer,
/// never valid; soft-revoked, valid only if made before the revocation;
/// issuer expired or not yet valid when it was made, not valid.
pub fn judge_certification(
    issuer: &Cert,
    cert: &Cert,
    uid: &UserID,
    sig: &Signature,
    at: Time,
) -> Judgement {
    let ipk = issuer.primary_key().key();
    let pk = cert.primary_key().key();
    if sig.verify_userid_binding(ipk, pk, uid).is_err() {
        return Judgement::Bad;
    }
    let Some(made) = sig.signature_creation_time() else {
        return Judgement::Void("the certification has no creation time".into());
    };
    let policy = crate::base::openpgp_policy::standard();
    if let Err(e) = openpgp::policy::Policy::signature(
        &policy,
        sig,
        openpgp::policy::HashAlgoSecurity::CollisionResistance,
    ) {
        return Judgement::Void(format!("rejected by the policy: {e}"));
    }
    if let Some(why) = cannot_certify(issuer, made) {
        return Judgement::Void(why);
    }
    if let Some(r) = revoked_by_issuer(issuer, cert, uid, sig, at) {
        return Judgement::Void(format!("certification revoked on {}", clock::day(r)));
    }
    Judgement::Valid
}

/// Why `issuer` could not certify at `made` under the policy `verify`
/// uses (revoked, expired, not yet valid), or `None` if it could.
pub fn cannot_certify(issuer: &Cert, made: std::time::SystemTime) -> Option<String> {
    let policy = crate::base::openpgp_policy::standard();
    let ipk = issuer.primary_key().key();
    let day = |t: Option<Time>| t.map(clock::day).unwrap_or_else(|| "?".into());
    let vc = match issuer.with_policy(&policy, made) {
        Ok(vc) => vc,
        Err(_) => {
            let created = clock::from_system(ipk.creation_time());
            return Some(if made < ipk.creation_time() {
                format!("issuer not yet valid (created {})", clock::day(created))
            } else {
                format!(
                    "issuer had no valid self-signature on {}",
                    clock::day(clock::from_system(made))
                )
            });
        }
    };
    if let RevocationStatus::Revoked(revs) = vc.revocation_status() {
        let all: Vec<Revocation> = revs.iter().map(|s| Revocation::from_sig(s)).collect();
        let rev = all.iter().find(|r| r.hard).unwrap_or(&all[0]);
        return Some(if rev.hard {
            format!(
                "issuer hard-revoked on {} (key {})",
                day(rev.time),
                rev.reason
            )
        } else {
            format!(
                "made after the issuer was revoked on {} ({})",
                day(rev.time),
                rev.reason
            )
        });
    }
    if vc.alive().is_err() {
        let exp = vc
            .primary_key()
            .key_expiration_time()
            .map(clock::from_system);
        return Some(format!("issuer expired on {}", day(exp)));
    }
    None
}

/// When the issuer revoked this certification (a certification
/// revocation of the same user ID, made after it and by `at`).
fn revoked_by_issuer(
    issuer: &Cert,
    cert: &Cert,
    uid: &UserID,
    sig: &Signature,
    at: Time,
) -> Option<Time> {
    let made = sig.signature_creation_time()?;
    let ua = cert.userids().find(|u| u.userid() == uid)?;
    let at = clock::to_system(at);
    ua.other_revocations()
        .filter(|r| r.typ() == SignatureType::CertificationRevocation)
        .filter(|r| {
            r.signature_creation_time()
                .is_some_and(|t| t >= made && t <= at)
        })
        .find(|r| {
            r.verify_userid_revocation(issuer.primary_key().key(), cert.primary_key().key(), uid)
                .is_ok()
        })
        .and_then(|r| r.signature_creation_time())
        .map(clock::from_system)
}

/// How `issuer` stands as certifier of `cert` as of `at`: `Ok(date)` of a
/// certification that counts, `Err(Some(reason))` when its certifications
/// do not count, `Err(None)` when it made none.
pub fn certified_by(cert: &Cert, issuer: &Cert, at: Time) -> Result<Option<Time>, Option<String>> {
    let mut why = None;
    for ua in cert.userids() {
        for sig in ua.certifications() {
            let ours = sig
                .get_issuers()
                .iter()
                .any(|h| h.aliases(openpgp::KeyHandle::from(issuer.fingerprint())));
            if !ours {
                continue;
            }
            match judge_certification(issuer, cert, ua.userid(), sig, at) {
                Judgement::Valid => {
                    return Ok(sig.signature_creation_time().map(clock::from_system))
                }
                Judgement::Bad => {}
                j => why = j.reason(),
            }
        }
    }
    Err(why)
}
