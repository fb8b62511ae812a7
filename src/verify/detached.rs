//! Detached signatures (`FILE.asc`, `.sig`, `.gpg`): the file streamed
//! once per policy through sequoia's detached verifier; also the bytes of
//! a lint (a policy version, a signing subkey's hand-off).

use std::path::Path;

use openpgp::parse::stream::DetachedVerifierBuilder;
use openpgp::parse::Parse;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::cert::keyring::Keyring;
use crate::verify::files;
use crate::verify::report::{self, first_line, Helper, SigReport};
use crate::verify::verdict::{finish, Options, Verdict};

/// Verify one file against its detached signature.
pub fn verify_file(ring: &Keyring, file: &Path, signature: &Path, opts: &Options) -> Verdict {
    let mut v = Verdict::new(
        file.display().to_string(),
        signature.display().to_string(),
        opts.signers,
    );
    let sig = match std::fs::read(signature) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            v.fault.reason = format!("missing signature {}", crate::base::text::path(signature));
            v.fault.hint = Some(
                "looked for FILE.asc, FILE.sig and FILE.gpg: give the signature with --signature"
                    .into(),
            );
            return v;
        }
        Err(e) => {
            v.fault.reason = format!("cannot read {}: {e}", crate::base::text::path(signature));
            return v;
        }
    };
    if let Err(reason) = files::check(&sig) {
        v.fault.reason = reason;
        return v;
    }
    let run = |as_of| run(ring, Data::Path(file), &sig, opts.at, as_of);
    finish(&mut v, opts, run);
    v
}

/// Verify `data` against the detached signature `sig` (for lints).
pub fn verify_bytes(ring: &Keyring, data: &[u8], sig: &[u8], at: Time) -> Verdict {
    let mut v = Verdict::new("<memory>".into(), "<memory>".into(), 1);
    if let Err(reason) = files::check(sig) {
        v.fault.reason = reason;
        return v;
    }
    let opts = Options {
        at,
        as_of: None,
        signers: 1,
    };
    finish(&mut v, &opts, |as_of| {
        run(ring, Data::Bytes(data), sig, at, as_of)
    });
    v
}

/// Where the signed data comes from.
#[derive(Clone, Copy)]
enum Data<'a> {
    Path(&'a Path),
    Bytes(&'a [u8]),
}

/// Run the detached verifier once under `as_of`'s policy.
fn run(
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
