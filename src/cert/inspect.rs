//! `inspect` over many certificates (a distribution's keyring of a few
//! hundred): each certificate's self-signatures are verified once, in
//! parallel, before anything copies it; the chain between them comes from
//! the certifications `describe` already checked.

use rayon::prelude::*;

use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::base::error::Result;
use crate::cert::{self, CertInfo, ChainLink, Custody, Known};

/// What `inspect` shows of a set of certificates.
pub struct Report {
    pub infos: Vec<CertInfo>,
    /// Which certificates of the set certify which (verified).
    pub chain: Vec<ChainLink>,
    pub custody: Option<Custody>,
}

/// Describe `certs` as of `at`; issuers are named from `certs` and
/// `others` (a vault's keys and roster).
pub fn inspect(certs: &[Cert], others: &[Cert], at: Time) -> Report {
    // Verify the self-signatures (cached in each Cert) before cloning the
    // certificates into `known`, so that the clones carry the results.
    let policy = crate::base::openpgp_policy::lenient();
    let t = clock::to_system(at);
    certs.par_iter().for_each(|c| {
        let _ = c.with_policy(&policy, t).map(|vc| {
            let _ = vc.primary_userid();
            vc.keys().subkeys().count()
        });
    });
    let mut known = Known::default();
    for c in certs.iter().chain(others) {
        known.add(c);
    }
    let infos: Vec<CertInfo> = certs
        .par_iter()
        .map(|c| cert::describe(c, at, &known))
        .collect();
    if certs.len() < 2 {
        return Report {
            infos,
            chain: Vec::new(),
            custody: None,
        };
    }
    let chain = chain_from(certs, &infos);
    let custody = Some(cert::custody_from(certs, &chain));
    Report {
        infos,
        chain,
        custody,
    }
}

/// [`cert::certification_chain`] from the certifications `describe` verified: the
/// same links in the same order, without verifying them again.
fn chain_from(certs: &[Cert], infos: &[CertInfo]) -> Vec<ChainLink> {
    let labels: std::collections::HashMap<String, String> = certs
        .par_iter()
        .map(|c| (c.fingerprint().to_hex(), cert::label(c)))
        .collect();
    let mut order: Vec<(usize, &Cert)> = certs.iter().enumerate().collect();
    order.sort_by_key(|(_, c)| c.primary_key().key().creation_time());
    let mut links = Vec::new();
    for (i, cert) in order {
        let own = cert.fingerprint().to_hex();
        for c in &infos[i].certifications {
            let Some(issuer) = c.issuer_fingerprint.as_deref() else {
                continue;
            };
            let void = match c.check.as_str() {
                "valid" => None,
                _ if c.reason.as_deref() == Some(cert::BAD_SIGNATURE) => continue,
                _ => c.reason.clone(),
            };
            if c.check == "unchecked" || issuer == own {
                continue;
            }
            if let (Some(subject), Some(by)) = (labels.get(&own), labels.get(issuer)) {
                links.push(ChainLink {
                    subject: subject.clone(),
                    issuer: by.clone(),
                    date: c.created,
                    void,
                });
            }
        }
    }
    links
}

/// [`cert::read_cert_file`], parsing the certificates of a binary
/// keyring in parallel (each starts at a primary key packet). Anything
/// else, and any keyring one of whose certificates does not parse, is
/// read by `read_cert_file` itself, for its checks and its errors.
pub fn read_certs(path: &std::path::Path) -> Result<Vec<Cert>> {
    use openpgp::parse::Parse;
    let small = std::fs::metadata(path).is_ok_and(|m| m.len() <= cert::MAX_CERT_FILE);
    let bytes = if small {
        std::fs::read(path).ok()
    } else {
        None
    };
    let Some(bytes) = bytes.filter(|b| b.first().is_some_and(|f| f & 0x80 != 0)) else {
        return cert::read_cert_file(path);
    };
    let mut starts = Vec::new();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let Some((tag, hlen, len)) = crate::cert::keyring::parse_header(&bytes[pos..]) else {
            return cert::read_cert_file(path);
        };
        if matches!(tag, 5 | 6) {
            starts.push(pos);
        }
        if tag == 8 {
            // Compressed data: read_cert_file bounds it (crate::base::bounded).
            return cert::read_cert_file(path);
        }
        pos += hlen + len as usize;
    }
    if pos != bytes.len() || starts.first() != Some(&0) {
        return cert::read_cert_file(path);
    }
    starts.push(bytes.len());
    let parsed: Option<Vec<Cert>> = starts
        .par_windows(2)
        .map(|w| Cert::from_bytes(&bytes[w[0]..w[1]]).ok())
        .collect();
    match parsed {
        Some(certs) if certs.iter().all(|c| c.primary_key().key().version() == 4) => Ok(certs),
        _ => cert::read_cert_file(path),
    }
}
