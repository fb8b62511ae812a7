//! Cleartext-signed files (RFC 9580 §7: `InRelease`, `.dsc`, signed
//! announcements), verified in place: sequoia undoes the dash-escaping and
//! hashes the text canonicalised (text mode) for each signature. The
//! verified text is written only to a temporary file beside the output,
//! renamed into place once the caller's policy has passed.

use std::io::Write;
use std::path::{Path, PathBuf};

use openpgp::parse::stream::VerifierBuilder;
use openpgp::parse::Parse;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::cert::keyring::Keyring;
use crate::verify::report::{first_line, Helper, SigReport};
use crate::verify::verdict::{finish, Options, Verdict};

/// Verify the cleartext-signed `file` in place; its verified text goes to
/// `output` only when it passes.
pub fn verify_in_place(
    ring: &Keyring,
    file: &Path,
    output: Option<&Path>,
    opts: &Options,
) -> Verdict {
    let mut v = Verdict::new(
        file.display().to_string(),
        file.display().to_string(),
        opts.signers,
    );
    v.cleartext = true;
    let mut out = match output.map(Output::create).transpose() {
        Ok(o) => o,
        Err(e) => {
            v.fault.reason = e;
            return v;
        }
    };
    // The first run (under `opts.as_of`) writes the text; a retry does not.
    let mut first = out.as_mut();
    let run = |as_of| run(ring, file, opts.at, as_of, first.take());
    finish(&mut v, opts, run);
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

/// Where the verified text goes: a temporary file until `persist`.
pub struct Output {
    tmp: tempfile::NamedTempFile,
    dest: PathBuf,
}

impl Output {
    /// A temporary file in `dest`'s directory.
    pub fn create(dest: &Path) -> Result<Output, String> {
        let dir = match dest.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let tmp = tempfile::Builder::new()
            .prefix(".keycycle-verified")
            .tempfile_in(&dir)
            .map_err(|e| format!("cannot write in {}: {e}", crate::base::text::path(&dir)))?;
        Ok(Output {
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// Sync and rename into place.
    pub fn persist(self) -> Result<PathBuf, String> {
        let dest = self.dest;
        self.tmp
            .as_file()
            .sync_all()
            .map_err(|e| format!("cannot write {}: {e}", crate::base::text::path(&dest)))?;
        self.tmp.persist(&dest).map_err(|e| {
            format!(
                "cannot write {}: {}",
                crate::base::text::path(&dest),
                e.error
            )
        })?;
        Ok(dest)
    }
}

/// Verify the cleartext-signed `file` under `as_of`'s policy, streaming
/// the verified text to `out` (when given).
pub fn run(
    ring: &Keyring,
    file: &Path,
    at: Time,
    as_of: Option<Time>,
    out: Option<&mut Output>,
) -> Result<Vec<SigReport>, String> {
    let policy = crate::base::openpgp_policy::as_of(as_of);
    let f = std::fs::File::open(file)
        .map_err(|e| format!("cannot read {}: {e}", crate::base::text::path(file)))?;
    let reader = std::io::BufReader::with_capacity(1 << 16, f);
    let mut verifier = VerifierBuilder::from_reader(reader)
        .map(|b| b.buffer_size(1 << 16))
        .and_then(|b| b.with_policy(&policy, Some(clock::to_system(at)), Helper::new(ring)))
        .map_err(|e| format!("not a usable cleartext-signed file: {}", first_line(&e)))?;
    let copied = match out {
        Some(o) => {
            let r = std::io::copy(&mut verifier, o.tmp.as_file_mut());
            r.and_then(|_| o.tmp.as_file_mut().flush())
        }
        None => std::io::copy(&mut verifier, &mut std::io::sink()).map(|_| ()),
    };
    copied.map_err(|e| format!("verification failed: {}", io_chain(&e)))?;
    Ok(verifier.into_helper().reports)
}

fn io_chain(e: &std::io::Error) -> String {
    match e.get_ref() {
        Some(inner) => {
            let mut s = inner.to_string();
            let mut src = inner.source();
            while let Some(c) = src {
                s.push_str(": ");
                s.push_str(&c.to_string());
                src = c.source();
            }
            s
        }
        None => e.to_string(),
    }
}
