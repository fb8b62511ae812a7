//! Which cycle keys certify which: the chain of predecessor
//! certifications, and the chain of custody with its gaps.

use serde::Serialize;

use openpgp::Cert;
use sequoia_openpgp as openpgp;

use super::cycle_from_uid;
use super::*;
use crate::base::clock::{self, Time};

/// A link in the chain: `subject` is certified by the `issuer` cycle key.
#[derive(Debug, Clone, Serialize)]
pub struct ChainLink {
    pub subject: String,
    pub issuer: String,
    #[serde(with = "clock::serde_iso_opt")]
    pub date: Option<Time>,
    /// Why the certification does not count although it verifies (its
    /// issuer could not make it then: `issuer hard-revoked on …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub void: Option<String>,
}

/// Among `certs`, which certify which as of `at`: signatures that verify,
/// those whose issuer could not make them marked `void` with the reason.
pub fn certification_chain(certs: &[Cert], at: Time) -> Vec<ChainLink> {
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
                    if issuer.fingerprint() == cert.fingerprint() {
                        continue;
                    }
                    let void = match judge_certification(issuer, cert, ua.userid(), sig, at) {
                        Judgement::Valid => None,
                        Judgement::Bad => continue,
                        Judgement::Void(why) => Some(why),
                    };
                    links.push(ChainLink {
                        subject: label(cert),
                        issuer: label(issuer),
                        date: sig.signature_creation_time().map(clock::from_system),
                        void,
                    });
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
    /// Why a gap's certification by the predecessor does not count, when
    /// there is one: (key, reason).
    pub broken: Vec<(String, String)>,
    /// The longest unbroken run, oldest to newest.
    pub longest: Vec<String>,
}

pub fn custody(certs: &[Cert], at: Time) -> Custody {
    custody_from(certs, &certification_chain(certs, at))
}

/// [`custody`] from an already computed [`certification_chain`] of `certs`.
pub fn custody_from(certs: &[Cert], links: &[ChainLink]) -> Custody {
    let mut cycle: Vec<&Cert> = certs
        .iter()
        .filter(|c| cycle_from_uid(&primary_uid(c)).is_some())
        .collect();
    cycle.sort_by_key(|c| c.primary_key().key().creation_time());
    cycle.dedup_by_key(|c| c.fingerprint());
    let mut linked = Vec::new();
    let mut gaps = Vec::new();
    let mut broken = Vec::new();
    let mut run: Vec<String> = cycle.first().map(|c| vec![label(c)]).unwrap_or_default();
    let mut longest = run.clone();
    for w in cycle.windows(2) {
        let (prev, cur) = (label(w[0]), label(w[1]));
        let ours = |l: &&ChainLink| l.subject == cur && l.issuer == prev;
        match links.iter().filter(ours).find(|l| l.void.is_none()) {
            Some(l) => {
                linked.push(l.clone());
                run.push(cur);
            }
            None => {
                if let Some(why) = links.iter().filter(ours).find_map(|l| l.void.clone()) {
                    broken.push((cur.clone(), why));
                }
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
        broken,
        longest,
    }
}
