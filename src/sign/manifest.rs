//! `sign --manifest`: a checksum manifest (`SHA256SUMS`, coreutils
//! format: `sha256sum -c` reads it) of the release files, with one
//! signature over it. The format, its parser and the hashing are in
//! `crate::verify::manifest`.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

use crate::base::clock::Time;
use crate::base::error::{Error, IoContext, Result};
use crate::base::fs::atomic;
use crate::base::text;
use crate::verify::manifest::{
    format, hash_reader, is_manifest_or_signature, open_entry, plain_name, relative_name,
    signature_slots, Entry,
};

use super::{SigningKey, DIGEST};

/// What `sign --manifest` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct Written {
    pub manifest: String,
    /// The detached signature; `None` when cleartext-signed.
    pub signature: Option<String>,
    pub cleartext: bool,
    /// The same manifest and its signature were there already (a run
    /// again): nothing written.
    pub kept: bool,
    pub entries: Vec<Entry>,
}

/// Hash `files` (in parallel) as entries of a manifest at `manifest`.
pub fn entries(manifest: &Path, files: &[PathBuf]) -> Result<Vec<Entry>> {
    let dir = crate::verify::manifest::base_dir(manifest);
    let named: Vec<(String, &PathBuf)> = files
        .iter()
        .filter(|f| !is_manifest_or_signature(manifest, f))
        .map(|f| {
            let name = relative_name(&dir, f).ok_or_else(|| {
                Error::input(
                    format!(
                        "{} is not under {}, the manifest's directory",
                        text::path(f),
                        text::path(&dir)
                    ),
                    "put the manifest in the release's top directory (--manifest dist/SHA256SUMS)",
                )
            })?;
            if !plain_name(&name) {
                return Err(Error::input(
                    format!(
                        "{}: a name with a backslash or a control character",
                        text::path(f)
                    ),
                    "rename the file: sha256sum would escape its name",
                ));
            }
            Ok((name, f))
        })
        .collect::<Result<_>>()?;
    if named.is_empty() {
        return Err(Error::input(
            "nothing to list in the manifest",
            "give the release files, or directories with --recursive",
        ));
    }
    let mut out: Vec<Entry> = named
        .par_iter()
        .map(|(name, f)| {
            let file = open_entry(&dir, name).map_err(|why| {
                Error::input(
                    format!("{}: {why}", text::path(f)),
                    "a manifest lists regular files under its directory",
                )
            })?;
            let (sha256, bytes) = hash_reader(file).with_path(f)?;
            Ok(Entry {
                name: name.clone(),
                sha256,
                bytes,
            })
        })
        .collect::<Result<_>>()?;
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Write the manifest of `files` at `manifest`, signed by `key`: with
/// `MANIFEST.asc` beside it, or cleartext-signed in place.
pub fn sign(
    key: &SigningKey,
    manifest: &Path,
    files: &[PathBuf],
    at: Time,
    cleartext: bool,
    overwrite: bool,
) -> Result<Written> {
    let entries = entries(manifest, files)?;
    let body = format(&entries);
    let signature = (!cleartext).then(|| signature_slots(manifest).remove(0));
    let written = |signature: Option<PathBuf>, kept| Written {
        manifest: manifest.display().to_string(),
        signature: signature.map(|s| s.display().to_string()),
        cleartext,
        kept,
        entries: entries.clone(),
    };
    // Run again over the same files: the same manifest, already signed.
    if let (false, Some(s)) = (overwrite, &signature) {
        let same = std::fs::symlink_metadata(manifest).is_ok_and(|m| m.is_file())
            && std::fs::read(manifest).is_ok_and(|b| b == body.as_bytes());
        if same && std::fs::symlink_metadata(s).is_ok_and(|m| m.is_file()) {
            return Ok(written(signature, true));
        }
    }
    atomic::refuse_existing(manifest, overwrite)?;
    if let Some(s) = &signature {
        atomic::refuse_existing(s, overwrite)?;
    }
    if cleartext {
        let signed =
            crate::custody::signing_subkey::sign_cleartext(vec![key.clone()], &body, at, DIGEST)?;
        atomic::write(manifest, &signed, 0o644)?;
    } else if let Some(s) = &signature {
        let sig = super::sign_reader(&mut key.clone(), body.as_bytes(), at, &|_| {})?;
        atomic::write(s, &sig, 0o644)?;
        atomic::write(manifest, body.as_bytes(), 0o644)?;
    }
    Ok(written(signature, false))
}
