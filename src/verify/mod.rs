//! Checking signatures before upload, and signatures others made: every
//! signature of a file is reported (signer, key, time, good or why not),
//! and a file passes when at least `signers` distinct certificates made
//! good signatures over it — cryptographically valid, by a signing-capable
//! key that was alive and not revoked when it signed, under the standard
//! policy (no SHA-1). Detached signatures (`FILE.asc`, `.sig`, `.gpg`) and
//! cleartext-signed files (`InRelease`, `.dsc`) are both read as streams.

pub mod cleartext;
pub mod manifest;
pub mod report;
pub mod sigfile;

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use openpgp::parse::stream::DetachedVerifierBuilder;
use openpgp::parse::Parse;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
pub use crate::cert::keyring::Keyring;
pub use crate::verify::report::{Fault, SigReport, SignedBy, SHA1_RISK};
pub use crate::verify::sigfile::{is_signature, is_signature_bytes, signed_file, SIGNATURE_MAX};
use report::{cutoff_date, first_line, Helper};

/// How files are judged.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The verification time (`--time`).
    pub at: Time,
    /// `--policy-as-of`.
    pub as_of: Option<Time>,
    /// How many distinct certificates must have made good signatures.
    pub signers: usize,
}

/// What to check.
#[derive(Debug, Clone)]
pub enum Job {
    /// A file and its detached signature.
    Detached { file: PathBuf, signature: PathBuf },
    /// A cleartext-signed file, checked in place; the verified text goes
    /// to `output` only when the file passes.
    Cleartext {
        file: PathBuf,
        output: Option<PathBuf>,
    },
}

/// Does the file use the cleartext signature framework?
pub fn is_cleartext(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let n = std::fs::File::open(path)
        .and_then(|mut f| f.read(&mut head))
        .unwrap_or(0);
    let text = &head[..n];
    let skip = text
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(n);
    text[skip..].starts_with(b"-----BEGIN PGP SIGNED MESSAGE-----")
}

/// The job for `file`: its detached `signature` when given; the file
/// itself when it is cleartext-signed; else the first of `FILE.asc`,
/// `FILE.sig`, `FILE.gpg` that exists (`FILE.asc` when none does).
pub fn job_for(file: &Path, signature: Option<&Path>, output: Option<&Path>) -> Job {
    if let Some(s) = signature {
        return Job::Detached {
            file: file.to_path_buf(),
            signature: s.to_path_buf(),
        };
    }
    if is_cleartext(file) {
        return Job::Cleartext {
            file: file.to_path_buf(),
            output: output.map(Path::to_path_buf),
        };
    }
    let with = |ext: &str| {
        let mut s = file.to_path_buf().into_os_string();
        s.push(ext);
        PathBuf::from(s)
    };
    let signature = [".asc", ".sig", ".gpg"]
        .iter()
        .map(|e| with(e))
        .find(|p| p.exists())
        .unwrap_or_else(|| with(".asc"));
    Job::Detached {
        file: file.to_path_buf(),
        signature,
    }
}

/// One file's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct Verdict {
    pub file: String,
    /// The detached signature, or the file itself when cleartext-signed.
    pub signature: String,
    pub cleartext: bool,
    pub good: bool,
    #[serde(flatten)]
    pub fault: Fault,
    /// The first good signer: `2026.2/Hibiscus (0x231F942F608DDEFF)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(flatten)]
    pub by: SignedBy,
    /// Distinct certificates with a good signature, and how many the
    /// policy needs.
    pub good_signers: usize,
    pub signers_needed: usize,
    /// Every signature in the file.
    pub signatures: Vec<SigReport>,
    /// Where the verified text of a cleartext-signed file was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

impl Verdict {
    fn new(file: String, signature: String, needed: usize) -> Verdict {
        Verdict {
            file,
            signature,
            cleartext: false,
            good: false,
            fault: Fault::default(),
            key: None,
            by: SignedBy::default(),
            good_signers: 0,
            signers_needed: needed,
            signatures: Vec::new(),
            output: None,
        }
    }

    /// Judge the reports: good when enough distinct certificates signed.
    fn judge(&mut self, reports: Vec<SigReport>) {
        let mut certs: Vec<&str> = Vec::new();
        for r in reports.iter().filter(|r| r.good) {
            if let Some(f) = r.by.fingerprint.as_deref() {
                if !certs.contains(&f) {
                    certs.push(f);
                }
            }
        }
        self.good_signers = certs.len();
        self.good = self.good_signers >= self.signers_needed;
        if let Some(g) = reports.iter().find(|r| r.good) {
            self.key = g.signer.clone();
            self.by = g.by.clone();
        }
        let first_bad = reports.iter().find(|r| !r.good);
        self.fault.hint = first_bad.and_then(|r| r.fault.hint.clone());
        self.fault.reason = if self.good {
            String::new()
        } else if self.good_signers > 0 || self.signers_needed > 1 {
            self.fault.hint =
                Some("add the other signers' certificates with --cert, or lower --signers".into());
            format!(
                "{} of {} signatures good, from {} distinct certificates; --signers {} needs {}",
                reports.iter().filter(|r| r.good).count(),
                reports.len(),
                self.good_signers,
                self.signers_needed,
                self.signers_needed
            )
        } else {
            match (reports.len(), first_bad) {
                (_, None) => "no signature in the file".into(),
                (1, Some(b)) => b.fault.reason.clone(),
                (n, Some(b)) => format!("none of its {n} signatures is good: {}", b.fault.reason),
            }
        };
        self.signatures = reports;
    }
}

/// Where the signed data comes from.
#[derive(Clone, Copy)]
enum Data<'a> {
    Path(&'a Path),
    Bytes(&'a [u8]),
}

/// Run the detached verifier once under `as_of`'s policy.
fn run_detached(
    ring: &Keyring,
    data: Data,
    sig: &[u8],
    at: Time,
    as_of: Option<Time>,
) -> std::result::Result<Vec<SigReport>, String> {
    let policy = crate::base::openpgp_policy::as_of(as_of);
    // An artifact's signature is binary; the bytes of a lint (a policy
    // version) may be signed as text by a root's gpg.
    let helper = match data {
        Data::Path(_) => Helper::artifact(ring),
        Data::Bytes(_) => Helper::new(ring),
    };
    let started = DetachedVerifierBuilder::from_bytes(sig)
        .and_then(|b| b.with_policy(&policy, Some(clock::to_system(at)), helper));
    let mut verifier = match started {
        Ok(v) => v,
        Err(e) => {
            let reason = format!("not a usable signature: {}", first_line(&e));
            let reports = report::unusable(ring, sig, &reason);
            return if reports.is_empty() {
                Err(reason)
            } else {
                Ok(reports)
            };
        }
    };
    let done = match data {
        Data::Bytes(b) => verifier.verify_bytes(b),
        Data::Path(p) => match std::fs::File::open(p) {
            Ok(f) => verifier.verify_reader(std::io::BufReader::with_capacity(1 << 16, f)),
            Err(e) => return Err(format!("cannot read {}: {e}", crate::base::text::path(p))),
        },
    };
    done.map_err(|e| format!("verification failed: {}", first_line(&e)))?;
    Ok(verifier.into_helper().reports)
}

/// Verify one job.
pub fn verify_job(ring: &Keyring, job: &Job, opts: &Options) -> Verdict {
    match job {
        Job::Detached { file, signature } => {
            let mut v = Verdict::new(
                file.display().to_string(),
                signature.display().to_string(),
                opts.signers,
            );
            let sig = match std::fs::read(signature) {
                Ok(s) => s,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    v.fault.reason =
                        format!("missing signature {}", crate::base::text::path(signature));
                    v.fault.hint = Some(
                        "looked for FILE.asc, FILE.sig and FILE.gpg: give the signature with --signature".into(),
                    );
                    return v;
                }
                Err(e) => {
                    v.fault.reason =
                        format!("cannot read {}: {e}", crate::base::text::path(signature));
                    return v;
                }
            };
            if let Err(reason) = sigfile::check(&sig) {
                v.fault.reason = reason;
                return v;
            }
            let run = |as_of| run_detached(ring, Data::Path(file), &sig, opts.at, as_of);
            finish(&mut v, opts, run);
            v
        }
        Job::Cleartext { file, output } => {
            let mut v = Verdict::new(
                file.display().to_string(),
                file.display().to_string(),
                opts.signers,
            );
            v.cleartext = true;
            let mut out = match output.as_deref().map(cleartext::Output::create).transpose() {
                Ok(o) => o,
                Err(e) => {
                    v.fault.reason = e;
                    return v;
                }
            };
            let first = cleartext::run(ring, file, opts.at, opts.as_of, out.as_mut());
            let mut once = Some(first);
            finish(&mut v, opts, |as_of| match once.take() {
                Some(r) => r,
                None => cleartext::run(ring, file, opts.at, as_of, None),
            });
            if let (true, Some(o)) = (v.good, out) {
                match o.persist() {
                    Ok(p) => v.output = Some(p.display().to_string()),
                    Err(e) => {
                        v.good = false;
                        v.fault.reason = e;
                    }
                }
            }
            v
        }
    }
}

/// Run the verifier (`run(as_of)`), judge, and when signatures failed for
/// SHA-1 binding signatures, check whether `--policy-as-of` their date
/// makes them good — then say so with the date.
fn finish<F>(v: &mut Verdict, opts: &Options, mut run: F)
where
    F: FnMut(Option<Time>) -> std::result::Result<Vec<SigReport>, String>,
{
    let mut reports = match run(opts.as_of) {
        Ok(r) => r,
        Err(reason) => {
            v.fault.reason = reason;
            return;
        }
    };
    let suspect = reports
        .iter()
        .filter(|r| r.sha1_binding && !r.good)
        .filter_map(|r| r.by.signed_at)
        .min();
    let good = |rs: &[SigReport]| {
        let mut probe = Verdict::new(String::new(), String::new(), opts.signers);
        probe.judge(rs.to_vec());
        probe.good
    };
    if let Some(t) = suspect.filter(|_| !good(&reports)) {
        let day_t = clock::start_of_day(t.date_naive());
        if opts.as_of.is_none_or(|a| a > day_t) {
            if let Ok(again) = run(Some(day_t)) {
                let day = clock::day(day_t);
                for r in reports.iter_mut().filter(|r| r.sha1_binding && !r.good) {
                    match again.iter().find(|a| a.same_signature(r)) {
                        Some(a) if a.good => {
                            let cutoff = cutoff_date(&r.detail);
                            r.confirm_sha1(&day, &cutoff);
                        }
                        Some(a) => r.still_bad(&day, a),
                        None => {}
                    }
                }
            }
        }
    }
    v.judge(reports);
}

/// Verify `data` against the detached signature `sig` (for lints).
pub fn verify_bytes(ring: &Keyring, data: &[u8], sig: &[u8], at: Time) -> Verdict {
    let mut v = Verdict::new("<memory>".into(), "<memory>".into(), 1);
    if let Err(reason) = sigfile::check(sig) {
        v.fault.reason = reason;
        return v;
    }
    let opts = Options {
        at,
        as_of: None,
        signers: 1,
    };
    finish(&mut v, &opts, |as_of| {
        run_detached(ring, Data::Bytes(data), sig, at, as_of)
    });
    v
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

/// Verify one file against its detached signature.
pub fn verify_file(ring: &Keyring, file: &Path, signature: &Path, opts: &Options) -> Verdict {
    let job = Job::Detached {
        file: file.to_path_buf(),
        signature: signature.to_path_buf(),
    };
    verify_job(ring, &job, opts)
}

/// Verify many jobs in parallel.
pub fn verify_all(ring: &Keyring, jobs: &[Job], opts: &Options) -> Vec<Verdict> {
    if let [job] = jobs {
        // One file (a CI upload gate): no thread pool to start.
        return vec![verify_job(ring, job, opts)];
    }
    jobs.par_iter().map(|j| verify_job(ring, j, opts)).collect()
}
