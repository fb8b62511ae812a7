//! Which cycle keys certify which: the chain of predecessor
//! certifications, and the chain of custody with its gaps.

use serde::Serialize;

use openpgp::Cert;
use sequoia_openpgp as openpgp;

use super::*;
use crate::clock::{self, Time};
use crate::schedule::cycle_from_uid;

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
