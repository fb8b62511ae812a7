//! Keyrings as keyrings: the certificates signatures are checked against,
//! read as a stream and indexed by key ID; a certificate is parsed only
//! when a signature names one of its keys. Memory stays bounded by what is
//! used, not by the size of the keyring (a distribution's keyring is tens
//! of MiB), and certificates that do not parse are skipped and counted.
//!
//! The index grows as it is needed. A lookup reads the keyrings to their
//! end (indexing headers only: certificates are parsed only when a
//! signature names one of their keys), because every copy of a
//! certificate counts: `cat old.asc revoked.asc` must verify as revoked.
//! Copies are merged, as sqv does (gpgv uses the first and ignores
//! revocations altogether: docs/verification.md).
//!
//! Binary keyrings are indexed in place; armored ones (one or several
//! armor blocks, with any text around them) are decoded into an anonymous
//! temporary file first, which is then indexed the same way.

mod scan;

pub(crate) use scan::parse_header;

use std::collections::{HashMap, VecDeque};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use openpgp::{Cert, KeyHandle, KeyID};
use sequoia_openpgp as openpgp;

use crate::base::error::{Error, Result};
use crate::cert;
use scan::{FileScan, Found};

/// One certificate of the keyring: where its bytes are, and (once needed)
/// the parsed certificate and its label.
struct Entry {
    /// Index into `Keyring::files`; `None` for certificates given in memory.
    file: Option<usize>,
    start: u64,
    len: u64,
    cert: OnceLock<Option<Cert>>,
    label: OnceLock<String>,
}

/// What reading the keyrings found, for `-v`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Stats {
    /// Certificates indexed.
    pub certificates: usize,
    /// Certificates skipped: corrupt framing, unsupported key versions, or
    /// a parse failure when a signature needed them.
    pub skipped: usize,
    /// Certificates parsed because a signature named one of their keys.
    pub parsed: usize,
    /// Whether every keyring was read to its end (a lookup stops once it
    /// has found the keys it needs).
    pub complete: bool,
}

/// The index so far, and the scans that extend it.
#[derive(Default)]
struct State {
    entries: Vec<Arc<Entry>>,
    index: HashMap<KeyID, Vec<usize>>,
    skipped: usize,
    scans: VecDeque<FileScan>,
}

/// The certificates signatures are checked against.
pub struct Keyring {
    /// Symbolic links in folders, skipped (see [`Keyring::load`]).
    links: Vec<PathBuf>,
    /// Files in folders that hold no certificate, skipped.
    not_certs: Vec<PathBuf>,
    files: Vec<File>,
    state: Mutex<State>,
    failed: AtomicUsize,
    parsed: AtomicUsize,
}

impl Keyring {
    /// A keyring of certificates already in memory (a vault's keys).
    pub fn new(certs: Vec<Cert>) -> Result<Keyring> {
        let ring = Keyring::empty();
        {
            let mut st = ring.lock();
            for c in certs {
                st.push_parsed(None, 0, 0, c.strip_secret_key_material());
            }
        }
        ring.require_some()?;
        Ok(ring)
    }

    /// Read files and folders of certificates: binary or armored keyrings
    /// of any size, openstack/releases `.txt` files, folders of those.
    ///
    /// A folder is read one level deep: every regular file in it, in name
    /// order, and every certificate in each file is trusted. Symbolic links
    /// (and subfolders, FIFOs, devices) in it are skipped, never followed —
    /// a link planted in a shared folder must not make keycycle read and
    /// trust a file from elsewhere; [`Keyring::skipped_links`] names them. A
    /// path given itself is read as given.
    pub fn load(paths: &[PathBuf]) -> Result<Keyring> {
        let mut ring = Keyring::empty();
        for p in paths {
            if p.is_dir() {
                let mut entries: Vec<(PathBuf, std::fs::FileType)> = std::fs::read_dir(p)
                    .map_err(|e| Error::io(p, e))?
                    .filter_map(|e| e.ok().and_then(|e| Some((e.path(), e.file_type().ok()?))))
                    .collect();
                entries.sort_by(|a, b| a.0.cmp(&b.0));
                for (e, t) in entries {
                    if t.is_symlink() {
                        ring.links.push(e);
                    } else if t.is_file() {
                        // An announcement or a checksum file beside the
                        // keys is not a key: skipped, and named.
                        match ring.add_file(&e) {
                            Err(Error::Input { .. }) => ring.not_certs.push(e),
                            other => other?,
                        }
                    }
                }
            } else {
                ring.add_file(p)?;
            }
        }
        ring.require_some()?;
        Ok(ring)
    }

    /// The files in folders given to [`Keyring::load`] that hold no
    /// OpenPGP certificate (empty, text, junk), skipped.
    pub fn skipped_files(&self) -> &[PathBuf] {
        &self.not_certs
    }

    /// The symbolic links skipped in folders given to [`Keyring::load`].
    pub fn skipped_links(&self) -> &[PathBuf] {
        &self.links
    }

    fn empty() -> Keyring {
        Keyring {
            links: Vec::new(),
            not_certs: Vec::new(),
            files: Vec::new(),
            state: Mutex::new(State::default()),
            failed: AtomicUsize::new(0),
            parsed: AtomicUsize::new(0),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn require_some(&self) -> Result<()> {
        if self.lock().entries.is_empty() {
            if let Some(l) = self.links.first() {
                return Err(Error::input(
                    format!(
                        "no certificates to verify against: {} is a symbolic link, and links in a --cert folder are not followed",
                        crate::base::text::path(l)
                    ),
                    "pass the certificate file itself with --cert FILE, or copy it into the folder",
                ));
            }
            if let Some(f) = self.not_certs.first() {
                return Err(Error::input(
                    format!(
                        "no certificates to verify against: {} file(s) in the --cert folder hold none ({}{})",
                        self.not_certs.len(),
                        crate::base::text::path(f),
                        if self.not_certs.len() > 1 { ", …" } else { "" }
                    ),
                    "pass --cert FILE (a cycle key or a keyring), or a folder holding keys",
                ));
            }
            return Err(Error::input(
                "no certificates to verify against",
                "pass --cert FILE (a cycle key, a keyring, or a folder of keys), or a vault holding keys",
            ));
        }
        Ok(())
    }

    /// Open one file and index its first certificate (a file without any
    /// is an error now, not at the first lookup); the rest is indexed as
    /// lookups need it.
    fn add_file(&mut self, path: &Path) -> Result<()> {
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut head = Vec::with_capacity(64 << 10);
        let n = (&mut f)
            .take(64 << 10)
            .read_to_end(&mut head)
            .map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Err(Error::input(
                format!("{}: the file is empty", crate::base::text::path(path)),
                "give an OpenPGP certificate or keyring (gpg --export FINGERPRINT)",
            ));
        }
        f.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path, e))?;
        // Binary when it starts with a packet, or has no armor near its
        // start (junk before packets is skipped like corrupt framing).
        let armored = head[0] & 0x80 == 0 && head.windows(14).any(|w| w == b"-----BEGIN PGP");
        let file = if !armored {
            f
        } else {
            scan::dearmor(f).map_err(|e| e.context(crate::base::text::path(path)))?
        };
        let no = self.files.len();
        let mut fs = FileScan::new(file.try_clone().map_err(|e| Error::io(path, e))?, no)
            .map_err(|e| Error::io(path, e))?;
        self.files.push(file);
        let st = self.state.get_mut().unwrap_or_else(|e| e.into_inner());
        loop {
            match fs.next().map_err(|e| Error::io(path, e))? {
                Some(Found::Skipped) => st.skipped += 1,
                Some(Found::Cert(c)) => {
                    st.add(&self.files, no, c);
                    st.scans.push_back(fs);
                    return Ok(());
                }
                None => {
                    return Err(Error::input(
                        format!(
                            "{}: no OpenPGP certificate found",
                            crate::base::text::path(path)
                        ),
                        "give an armored or binary OpenPGP certificate or keyring",
                    ))
                }
            }
        }
    }

    fn cert<'a>(&self, e: &'a Entry) -> Option<&'a Cert> {
        e.cert
            .get_or_init(|| {
                let file = &self.files[e.file?];
                let c = scan::read_cert(file, e.start, e.len);
                match &c {
                    Some(_) => self.parsed.fetch_add(1, Ordering::Relaxed),
                    None => self.failed.fetch_add(1, Ordering::Relaxed),
                };
                c
            })
            .as_ref()
    }

    /// The entries indexed under `ids`, every copy of every keyring: a
    /// later copy may carry a revocation the first one lacks.
    fn lookup(&self, ids: &[KeyID]) -> Vec<Arc<Entry>> {
        let mut st = self.lock();
        while st.advance(&self.files) {}
        let mut seen: Vec<usize> = Vec::new();
        for k in ids {
            for &i in st.index.get(k).into_iter().flatten() {
                if !seen.contains(&i) {
                    seen.push(i);
                }
            }
        }
        seen.into_iter().map(|i| st.entries[i].clone()).collect()
    }

    /// The certificates holding a key that one of `ids` names.
    pub fn matching(&self, ids: &[KeyHandle]) -> Vec<Cert> {
        let wanted: Vec<KeyID> = ids.iter().map(KeyID::from).collect();
        let entries = self.lookup(&wanted);
        let mut out: Vec<Cert> = Vec::new();
        let found = entries.iter().filter_map(|e| self.cert(e)).filter(|c| {
            c.keys().any(|k| {
                ids.iter()
                    .any(|h| h.aliases(KeyHandle::from(k.key().fingerprint())))
            })
        });
        for c in found {
            // Copies of one certificate (an old and an extended one, say)
            // are merged, as a keyring tool would.
            match out.iter_mut().find(|o| o.fingerprint() == c.fingerprint()) {
                Some(o) => {
                    if let Ok(m) = o.clone().merge_public(c.clone()) {
                        *o = m;
                    }
                }
                None => out.push(c.clone()),
            }
        }
        out
    }

    /// `cert::label` of a certificate in the keyring, computed once.
    pub fn label(&self, cert: &Cert) -> String {
        let fpr = cert.fingerprint();
        let entries = self.lookup(&[cert.keyid()]);
        match entries
            .iter()
            .find(|e| self.cert(e).is_some_and(|c| c.fingerprint() == fpr))
        {
            Some(e) => e.label.get_or_init(|| cert::label(cert)).clone(),
            None => cert::label(cert),
        }
    }

    /// What reading the keyring found so far.
    pub fn stats(&self) -> Stats {
        let failed = self.failed.load(Ordering::Relaxed);
        let st = self.lock();
        Stats {
            certificates: st.entries.len() - failed,
            skipped: st.skipped + failed,
            parsed: self.parsed.load(Ordering::Relaxed),
            complete: st.scans.is_empty(),
        }
    }
}

impl State {
    /// Index one more certificate of the first unfinished file; `false`
    /// when every file is read.
    fn advance(&mut self, files: &[File]) -> bool {
        while let Some(fs) = self.scans.front_mut() {
            let no = fs.no;
            match fs.next() {
                Ok(Some(Found::Cert(c))) => {
                    self.add(files, no, c);
                    return true;
                }
                Ok(Some(Found::Skipped)) => {
                    self.skipped += 1;
                    return true;
                }
                Ok(None) => {
                    self.scans.pop_front();
                }
                Err(_) => {
                    // An I/O error mid-file: the rest of it is skipped.
                    self.skipped += 1;
                    self.scans.pop_front();
                }
            }
        }
        false
    }

    fn add(&mut self, files: &[File], no: usize, c: scan::Pending) {
        let len = c.end - c.start;
        if c.secret {
            // Secret keys are indexed from the parsed certificate (their
            // public part is not framed on its own); such files are small.
            match scan::read_cert(&files[no], c.start, len) {
                Some(cert) => self.push_parsed(Some(no), c.start, len, cert),
                None => self.skipped += 1,
            }
            return;
        }
        let i = self.entries.len();
        self.entries.push(Arc::new(Entry {
            file: Some(no),
            start: c.start,
            len,
            cert: OnceLock::new(),
            label: OnceLock::new(),
        }));
        for id in c.ids {
            self.index.entry(id).or_default().push(i);
        }
    }

    fn push_parsed(&mut self, file: Option<usize>, start: u64, len: u64, cert: Cert) {
        let i = self.entries.len();
        for k in cert.keys() {
            self.index.entry(k.key().keyid()).or_default().push(i);
        }
        self.entries.push(Arc::new(Entry {
            file,
            start,
            len,
            cert: OnceLock::from(Some(cert)),
            label: OnceLock::new(),
        }));
    }
}
