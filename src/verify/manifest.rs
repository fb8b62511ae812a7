//! Verify a checksum manifest (`SHA256SUMS`): its signature (detached
//! beside it, or cleartext) with the same policy as any artifact, then
//! every file's SHA-256. A changed, missing or unlisted file is a bad
//! line each. The manifest format (coreutils: `HEX  NAME` lines, names
//! relative to the manifest's directory, sorted), its parser and the
//! streaming hash are here; `crate::sign::manifest` writes manifests.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Component, Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::base::error::{Error, IoContext, Result};
use crate::base::text;
use crate::cert::keyring::Keyring;

use super::files::{is_cleartext, job_for, Job};
use super::{verify_job, Fault, Options, Verdict};

/// Read buffer per file.
const CHUNK: usize = 256 * 1024;

/// The largest manifest read (a million lines of 100 bytes).
pub const MAX_MANIFEST: u64 = 100 * 1024 * 1024;

/// One line of a manifest.
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    /// The path relative to the manifest's directory.
    pub name: String,
    /// Lowercase hex SHA-256.
    pub sha256: String,
    /// The file's size (0 when read from a manifest).
    pub bytes: u64,
}

/// The directory the names of `manifest` are relative to.
pub fn base_dir(manifest: &Path) -> PathBuf {
    match manifest.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// `manifest`'s detached signature slots, in the order `verify` looks.
pub fn signature_slots(manifest: &Path) -> Vec<PathBuf> {
    [".asc", ".sig", ".gpg"]
        .iter()
        .map(|e| {
            let mut s = manifest.as_os_str().to_owned();
            s.push(e);
            PathBuf::from(s)
        })
        .collect()
}

/// `path` with its directory resolved (the last component is kept as
/// is, so a link there is not followed).
fn resolved(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    let dir = base_dir(path).canonicalize().ok()?;
    Some(dir.join(name))
}

/// Whether `file` is the manifest or one of its signature slots.
pub fn is_manifest_or_signature(manifest: &Path, file: &Path) -> bool {
    let Some(f) = resolved(file) else {
        return false;
    };
    std::iter::once(manifest.to_path_buf())
        .chain(signature_slots(manifest))
        .filter_map(|p| resolved(&p))
        .any(|p| p == f)
}

/// The name of `file` in a manifest in `dir`: its path relative to
/// `dir`, or `None` when it is not under it.
pub fn relative_name(dir: &Path, file: &Path) -> Option<String> {
    let dir = dir.canonicalize().ok()?;
    let f = resolved(file)?;
    let rel = f.strip_prefix(&dir).ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| match c {
            Component::Normal(s) => s.to_str().map(str::to_owned),
            _ => None,
        })
        .collect::<Option<_>>()?;
    Some(parts.join("/"))
}

/// A name coreutils writes without escaping, and keycycle accepts.
pub fn plain_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c == '\\' || c.is_control())
}

/// Open `name` under `dir` as a regular file: no component a symbolic
/// link, nothing but a regular file at the end (a FIFO is refused, not
/// waited on). The error is the reason, for a report line.
pub fn open_entry(dir: &Path, name: &str) -> std::result::Result<std::fs::File, String> {
    let mut p = dir.to_path_buf();
    let parts: Vec<&str> = name.split('/').collect();
    for (i, part) in parts.iter().enumerate() {
        p.push(part);
        let meta = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err("missing: listed in the manifest, not found".into())
            }
            Err(e) => return Err(format!("cannot read: {e}")),
        };
        let t = meta.file_type();
        let last = i + 1 == parts.len();
        if t.is_symlink() {
            return Err(format!(
                "{} is a symbolic link: manifests name regular files, links are not followed",
                text::path(&p)
            ));
        }
        if !last && !t.is_dir() {
            return Err(format!("{} is not a directory", text::path(&p)));
        }
        if last && !t.is_file() {
            return Err("not a regular file: manifests name regular files only".into());
        }
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&p)
        .map_err(|e| format!("cannot read: {e}"))?;
    match f.metadata() {
        Ok(m) if m.is_file() => Ok(f),
        Ok(_) => Err("not a regular file: manifests name regular files only".into()),
        Err(e) => Err(format!("cannot read: {e}")),
    }
}

/// SHA-256 (hex) and size of everything `reader` yields, streaming.
pub fn hash_reader(mut reader: impl Read) -> std::io::Result<(String, u64)> {
    let mut h = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        h.update(&buf[..n]);
        total += n as u64;
    }
    Ok((hex(&h.finalize()), total))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The manifest's text: `HEX  NAME` lines sorted by name.
pub fn format(entries: &[Entry]) -> String {
    let mut sorted: Vec<&Entry> = entries.iter().collect();
    sorted.sort_by(|a, b| a.name.cmp(&b.name));
    sorted
        .iter()
        .map(|e| format!("{}  {}\n", e.sha256, e.name))
        .collect()
}

fn refused(line: usize, why: &str) -> Error {
    Error::input(
        format!("manifest line {line} refused: {why}"),
        "a manifest line is `SHA256-HEX  NAME` (or `HEX *NAME`), NAME relative to the manifest's directory, without `..`; make it with `keycycle sign --manifest` or `sha256sum` run in that directory",
    )
}

/// Parse a manifest's (verified) text: name → lowercase hex. Refuses
/// lines that are not `HEX  NAME` / `HEX *NAME`, absolute names, names
/// with `..`, escaped names and names listed twice.
pub fn parse(text: &str) -> Result<BTreeMap<String, String>> {
    let mut out = BTreeMap::new();
    for (i, raw) in text.lines().enumerate() {
        let n = i + 1;
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.is_empty() {
            continue;
        }
        let (hash, rest) = line
            .split_at_checked(64)
            .filter(|(h, _)| h.bytes().all(|b| b.is_ascii_hexdigit()))
            .ok_or_else(|| refused(n, "not `SHA256-HEX  NAME`"))?;
        let name = rest
            .strip_prefix("  ")
            .or_else(|| rest.strip_prefix(" *"))
            .ok_or_else(|| refused(n, "not `SHA256-HEX  NAME`"))?;
        if !plain_name(name) {
            return Err(refused(n, "an empty or escaped name"));
        }
        if name.starts_with('/') {
            return Err(refused(n, "an absolute path"));
        }
        if name.split('/').any(|c| c == "..") {
            return Err(refused(n, "a path with `..`"));
        }
        let name = name
            .split('/')
            .filter(|c| !c.is_empty() && *c != ".")
            .collect::<Vec<_>>()
            .join("/");
        if name.is_empty() {
            return Err(refused(n, "an empty name"));
        }
        if out.insert(name, hash.to_ascii_lowercase()).is_some() {
            return Err(refused(n, "a name listed twice"));
        }
    }
    Ok(out)
}

/// One file's line.
#[derive(Debug, Clone, Serialize)]
pub struct Checked {
    pub file: String,
    pub good: bool,
    /// `good`, `changed`, `missing`, `unlisted` or `unreadable`.
    pub status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// The digest the manifest lists.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<String>,
    #[serde(flatten)]
    pub fault: Fault,
}

/// The manifest's verdict and, when its signature is good, every file's.
#[derive(Debug, Clone)]
pub struct Report {
    pub manifest: Verdict,
    pub files: Vec<Checked>,
}

impl Report {
    pub fn bad(&self) -> usize {
        usize::from(!self.manifest.good) + self.files.iter().filter(|f| !f.good).count()
    }
}

/// The manifest's bytes: a regular file, at most [`MAX_MANIFEST`].
fn read_manifest(path: &Path) -> Result<Vec<u8>> {
    let dir = base_dir(path);
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::input(format!("{}: not a file name", text::path(path)), HINT))?;
    if std::fs::symlink_metadata(path).is_err() {
        return Err(Error::input(
            format!("manifest {} not found", text::path(path)),
            HINT,
        ));
    }
    let f = open_entry(&dir, name)
        .map_err(|why| Error::input(format!("manifest {}: {why}", text::path(path)), HINT))?;
    let mut out = Vec::new();
    f.take(MAX_MANIFEST + 1)
        .read_to_end(&mut out)
        .with_path(path)?;
    if out.len() as u64 > MAX_MANIFEST {
        return Err(Error::input(
            format!(
                "manifest {} is larger than {} MiB",
                text::path(path),
                MAX_MANIFEST >> 20
            ),
            HINT,
        ));
    }
    Ok(out)
}

const HINT: &str = "give the checksum file (SHA256SUMS) with its signature beside it (SHA256SUMS.asc), or cleartext-signed";

fn utf8(bytes: Vec<u8>, path: &Path) -> Result<String> {
    String::from_utf8(bytes).map_err(|_| {
        Error::input(
            format!("manifest {} is not UTF-8 text", text::path(path)),
            HINT,
        )
    })
}

/// Verify `manifest` and the files it lists; `given` are the files named
/// (or found under the directories named): those it does not list are
/// bad, except the manifest and its signatures.
pub fn verify(
    ring: &Keyring,
    manifest: &Path,
    given: &[PathBuf],
    opts: &Options,
    explain: impl Fn(&mut Verdict),
) -> Result<Report> {
    let before = read_manifest(manifest)?;
    let cleartext = is_cleartext(manifest);
    let tmp = tempfile::tempdir().map_err(anyhow::Error::from)?;
    let out = tmp.path().join("manifest");
    let job = if cleartext {
        Job::Cleartext {
            file: manifest.to_path_buf(),
            output: Some(out.clone()),
        }
    } else {
        job_for(manifest, None, None)
    };
    let mut verdict = verify_job(ring, &job, opts);
    explain(&mut verdict);
    verdict.output = None;
    if !verdict.good {
        return Ok(Report {
            manifest: verdict,
            files: Vec::new(),
        });
    }
    let text = if cleartext {
        utf8(std::fs::read(&out).with_path(&out)?, manifest)?
    } else {
        // The bytes verified are the bytes read before.
        if read_manifest(manifest)? != before {
            return Err(Error::input(
                format!(
                    "manifest {} changed while it was verified",
                    text::path(manifest)
                ),
                "run verify again once the release directory is quiet",
            ));
        }
        utf8(before, manifest)?
    };
    let listed = parse(&text)?;
    let dir = base_dir(manifest);
    let shown = |name: &str| dir.join(name).display().to_string();
    let mut files: Vec<Checked> = listed
        .iter()
        .map(|(name, expected)| check(&dir, name, expected, shown(name)))
        .collect();
    files.extend(unlisted(manifest, &dir, &listed, given));
    Ok(Report {
        manifest: verdict,
        files,
    })
}

/// A BAD line for each file in `given` that the manifest does not list
/// (the manifest and its signatures aside), each once.
fn unlisted(
    manifest: &Path,
    dir: &Path,
    listed: &std::collections::BTreeMap<String, String>,
    given: &[PathBuf],
) -> Vec<Checked> {
    let mut files = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for f in given {
        if is_manifest_or_signature(manifest, f) {
            continue;
        }
        let name = relative_name(dir, f);
        if name.as_ref().is_some_and(|n| listed.contains_key(n)) || !seen.insert(f.clone()) {
            continue;
        }
        let base = text::path(manifest);
        let (reason, hint) = match name {
            Some(_) => (
                format!("unlisted: not in {base}"),
                "a file the signed manifest does not list: remove it, or sign a new manifest that lists it",
            ),
            None => (
                format!("unlisted: not under {}, the directory of {base}", text::path(dir)),
                "give the files of the manifest's directory",
            ),
        };
        files.push(Checked {
            file: f.display().to_string(),
            good: false,
            status: "unlisted",
            sha256: None,
            expected: None,
            fault: Fault {
                reason,
                hint: Some(hint.into()),
            },
        });
    }
    files
}

fn check(dir: &Path, name: &str, expected: &str, file: String) -> Checked {
    let bad = |status, reason: String, hint: &str, sha256| Checked {
        file: file.clone(),
        good: false,
        status,
        sha256,
        expected: Some(expected.to_string()),
        fault: Fault {
            reason,
            hint: Some(hint.into()),
        },
    };
    let f = match open_entry(dir, name) {
        Ok(f) => f,
        Err(why) if why.starts_with("missing") => {
            return bad(
                "missing",
                why,
                "the release lacks a file its manifest lists: download it again",
                None,
            )
        }
        Err(why) => return bad("unreadable", why, "a manifest lists regular files", None),
    };
    match hash_reader(f) {
        Ok((sha256, _)) if sha256 == expected => Checked {
            file,
            good: true,
            status: "good",
            sha256: Some(sha256),
            expected: Some(expected.to_string()),
            fault: Fault::default(),
        },
        Ok((sha256, _)) => bad(
            "changed",
            "changed: its SHA-256 differs from the manifest's".into(),
            "the file is not the one that was signed: download it again; if it persists, report it",
            Some(sha256),
        ),
        Err(e) => bad(
            "unreadable",
            format!("cannot read: {e}"),
            "check the file",
            None,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_coreutils_lines_and_refuses_the_rest() {
        let h = "a".repeat(64);
        let m = parse(&format!("{h}  a\n{h} *sub/b\n")).unwrap();
        assert_eq!(m.len(), 2);
        assert!(m.contains_key("sub/b"));
        for bad in [
            format!("{h}  ../x\n"),
            format!("{h}  /etc/passwd\n"),
            format!("{h} a\n"),
            "xyz  a\n".to_string(),
            format!("\\{h}  a\\nb\n"),
            format!("{h}  a\n{h}  ./a\n"),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_sorted() {
        let e = |n: &str| Entry {
            name: n.into(),
            sha256: "0".repeat(64),
            bytes: 0,
        };
        let t = format(&[e("b"), e("a/c")]);
        assert!(t.starts_with(&format!("{}  a/c\n", "0".repeat(64))));
    }
}
