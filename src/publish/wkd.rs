//! The Web Key Directory `publish --wkd` writes: both layouts, each
//! entry holding the keys valid at the given time, newest first.

use std::path::Path;

use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::clock::Time;
use crate::base::error::{Error, Result};

/// Write a Web Key Directory for the user IDs' e-mail addresses, in both
/// layouts: advanced (`.well-known/openpgpkey/DOMAIN/hu/HASH`, served
/// from `openpgpkey.DOMAIN`) and direct (`.well-known/openpgpkey/hu/HASH`,
/// served from `DOMAIN`), each with its `policy` file. An address's entry
/// keeps the keys already there that are valid at `at` and adds `cert`:
/// expired and revoked keys (old cycles) are pruned, and the newest key
/// comes first — what a WKD client reads first and uses.
pub fn wkd(dir: &Path, cert: &Cert, at: Time) -> Result<Vec<String>> {
    let public = cert.clone().strip_secret_key_material();
    let mut emails: Vec<String> = public
        .userids()
        .filter_map(|u| u.userid().email().ok().flatten())
        .map(|e| e.to_string())
        .collect();
    emails.sort();
    emails.dedup();
    let mut domains: Vec<String> = emails
        .iter()
        .filter_map(|e| e.rsplit_once('@').map(|(_, d)| d.to_lowercase()))
        .collect();
    domains.sort();
    domains.dedup();
    if domains.is_empty() {
        return Err(Error::input(
            "the key has no user ID with an e-mail address",
            "WKD needs one",
        ));
    }
    use sequoia_net::wkd::{Url, Variant};
    for email in &emails {
        let url = Url::from(email).map_err(|e| anyhow::anyhow!("WKD for {email}: {e}"))?;
        for variant in [Variant::Advanced, Variant::Direct] {
            let path = dir.join(url.to_file_path(variant)?);
            wkd_entry(&path, &public, at)?;
        }
    }
    Ok(domains)
}

/// One WKD entry (`…/hu/HASH`): the valid keys at `at`, newest first; and
/// the layout's `policy` file beside `hu/`.
fn wkd_entry(path: &Path, cert: &Cert, at: Time) -> Result<()> {
    let hu = path.parent().expect("…/hu/HASH");
    std::fs::create_dir_all(hu).map_err(|e| Error::io(hu, e))?;
    let policy = hu.parent().expect("…/hu").join("policy");
    if !policy.exists() {
        std::fs::write(&policy, b"").map_err(|e| Error::io(&policy, e))?;
    }
    let mut certs: Vec<Cert> = Vec::new();
    if path.is_file() {
        for c in <openpgp::cert::CertParser as openpgp::parse::Parse<_>>::from_file(path)? {
            certs.push(c?);
        }
    }
    match certs
        .iter()
        .position(|c| c.fingerprint() == cert.fingerprint())
    {
        Some(i) => certs[i] = certs[i].clone().merge_public(cert.clone())?,
        None => certs.push(cert.clone()),
    }
    let p = crate::base::openpgp_policy::standard();
    let t = crate::base::clock::to_system(at);
    certs.retain(|c| {
        c.with_policy(&p, t)
            .map(|v| {
                v.alive().is_ok()
                    && !matches!(
                        c.revocation_status(&p, t),
                        openpgp::types::RevocationStatus::Revoked(_)
                    )
            })
            .unwrap_or(false)
    });
    certs.sort_by_key(|c| std::cmp::Reverse(c.primary_key().key().creation_time()));
    let mut out = Vec::new();
    for c in &certs {
        openpgp::serialize::Serialize::serialize(c, &mut out)?;
    }
    if certs.is_empty() {
        let _ = std::fs::remove_file(path);
        return Ok(());
    }
    std::fs::write(path, out).map_err(|e| Error::io(path, e))?;
    Ok(())
}
