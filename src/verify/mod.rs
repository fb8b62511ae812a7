//! Checking signatures before upload, and signatures others made: every
//! signature of a file is reported (signer, key, time, good or why not),
//! and a file passes when at least `signers` distinct certificates made
//! good signatures over it — cryptographically valid, by a signing-capable
//! key that was alive and not revoked when it signed, under the standard
//! policy (no SHA-1). Detached signatures (`FILE.asc`, `.sig`, `.gpg`) and
//! cleartext-signed files (`InRelease`, `.dsc`) are both read as streams.
//!
//! Read forward: [`files`] (what each file given is, and what to check
//! with what), then for each job [`detached`] or [`cleartext`], both judged
//! by [`verdict`] over the signatures [`report`] describes.

pub mod cleartext;
pub mod detached;
pub mod files;
pub mod manifest;
pub mod report;
pub mod verdict;

use rayon::prelude::*;

use sequoia_openpgp as openpgp;

pub use crate::cert::keyring::Keyring;
pub use crate::verify::detached::{verify_bytes, verify_file};
pub use crate::verify::files::{is_signature, is_signature_bytes, signed_file, Job, SIGNATURE_MAX};
pub use crate::verify::report::{Fault, SigReport, SignedBy, SHA1_RISK};
pub use crate::verify::verdict::{Options, Verdict};

/// Verify one job.
pub fn verify_job(ring: &Keyring, job: &Job, opts: &Options) -> Verdict {
    match job {
        Job::Detached { file, signature } => detached::verify_file(ring, file, signature, opts),
        Job::Cleartext { file, output } => {
            cleartext::verify_in_place(ring, file, output.as_deref(), opts)
        }
    }
}

/// A key the vault holds that the signed policy in force does not list:
/// `verify` without `--cert` does not trust it, and says how it joins.
#[derive(Debug, Clone)]
pub struct Unlisted {
    pub cert: openpgp::Cert,
    /// Why it is not trusted yet (`not in the signed policy in force (version 3)`).
    pub why: String,
    /// How it joins (`keycycle policy propose`, then the roots sign).
    pub hint: String,
}

/// Signatures by a vault key the signed policy does not list are not "by a
/// key you did not give": name the key, say why it is not trusted and how
/// it joins, instead of sending the reader to a keyserver.
pub fn explain_unlisted(v: &mut Verdict, unlisted: &[Unlisted]) {
    let mut changed = false;
    for r in v
        .signatures
        .iter_mut()
        .filter(|r| !r.good && r.signer.is_none())
    {
        let held = unlisted.iter().find(|u| {
            u.cert.keys().any(|ka| {
                let k = ka.key();
                r.by.fingerprint.as_deref() == Some(k.fingerprint().to_hex().as_str())
                    || r.key_id == crate::cert::keyid0x(&k.keyid())
            })
        });
        if let Some(u) = held {
            let label = crate::cert::label(&u.cert);
            r.fault.reason = format!("signed by {label}, a key of the vault {}", u.why);
            r.fault.hint = Some(u.hint.clone());
            r.signer = Some(label);
            r.by.fingerprint = Some(u.cert.fingerprint().to_hex());
            changed = true;
        }
    }
    if changed {
        let reports = std::mem::take(&mut v.signatures);
        v.judge(reports);
    }
}

/// Verify many jobs in parallel.
pub fn verify_all(ring: &Keyring, jobs: &[Job], opts: &Options) -> Vec<Verdict> {
    let one = |job: &Job| verify_job(ring, job, opts);
    if let [job] = jobs {
        // One file (a CI upload gate): no thread pool to start.
        return vec![one(job)];
    }
    jobs.par_iter().map(one).collect()
}
