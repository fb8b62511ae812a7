//! Keyrings as keyrings: the certificates signatures are checked against,
//! read as a stream and indexed by key ID; a certificate is parsed only
//! when a signature names one of its keys. Memory stays bounded by what is
//! used, not by the size of the keyring (a distribution's keyring is tens
//! of MiB), and certificates that do not parse are skipped and counted.
//!
//! Binary keyrings are indexed in place; armored ones (one or several
//! armor blocks, with any text around them) are decoded into an anonymous
//! temporary file first, which is then indexed the same way.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use base64::Engine as _;
use openpgp::parse::Parse;
use openpgp::types::HashAlgorithm;
use openpgp::{Cert, KeyHandle, KeyID};
use sequoia_openpgp as openpgp;

use crate::certinfo;
use crate::error::{Error, Result};

/// The largest key packet body read while indexing (an RSA-16384 key is
/// about 4 KiB); a larger one is treated as corrupt framing.
const MAX_KEY_PACKET: usize = 64 << 10;

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
}

/// The certificates signatures are checked against.
pub struct Keyring {
    files: Vec<File>,
    entries: Vec<Entry>,
    index: HashMap<KeyID, Vec<usize>>,
    skipped: usize,
    failed: AtomicUsize,
    parsed: AtomicUsize,
}

impl Keyring {
    /// A keyring of certificates already in memory (a vault's keys).
    pub fn new(certs: Vec<Cert>) -> Result<Keyring> {
        let mut ring = Keyring::empty();
        for c in certs {
            ring.push_parsed(None, 0, 0, c.strip_secret_key_material());
        }
        ring.require_some()?;
        Ok(ring)
    }

    /// Read files and folders of certificates: binary or armored keyrings
    /// of any size, openstack/releases `.txt` files, folders of those.
    pub fn load(paths: &[PathBuf]) -> Result<Keyring> {
        let mut ring = Keyring::empty();
        for p in paths {
            if p.is_dir() {
                let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
                    .map_err(|e| Error::io(p, e))?
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| p.is_file())
                    .collect();
                entries.sort();
                for e in entries {
                    ring.add_file(&e)?;
                }
            } else {
                ring.add_file(p)?;
            }
        }
        ring.require_some()?;
        Ok(ring)
    }

    fn empty() -> Keyring {
        Keyring {
            files: Vec::new(),
            entries: Vec::new(),
            index: HashMap::new(),
            skipped: 0,
            failed: AtomicUsize::new(0),
            parsed: AtomicUsize::new(0),
        }
    }

    fn require_some(&self) -> Result<()> {
        if self.entries.is_empty() {
            return Err(Error::input(
                "no certificates to verify against",
                "pass --cert FILE (a cycle key, a keyring, or a folder of keys), or a vault holding keys",
            ));
        }
        Ok(())
    }

    /// Index one file.
    fn add_file(&mut self, path: &Path) -> Result<()> {
        let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
        let mut head = [0u8; 1];
        let n = f.read(&mut head).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Err(Error::input(
                format!("{}: the file is empty", path.display()),
                "give an OpenPGP certificate or keyring (gpg --export FINGERPRINT)",
            ));
        }
        f.seek(SeekFrom::Start(0)).map_err(|e| Error::io(path, e))?;
        let binary = head[0] & 0x80 != 0;
        let file = if binary {
            f
        } else {
            dearmor(f).map_err(|e| e.context(path.display()))?
        };
        let before = self.entries.len();
        let no = self.files.len();
        self.files.push(file);
        self.scan(no).map_err(|e| Error::io(path, e))?;
        if self.entries.len() == before {
            return Err(Error::input(
                format!("{}: no OpenPGP certificate found", path.display()),
                "give an armored or binary OpenPGP certificate or keyring",
            ));
        }
        Ok(())
    }

    /// Walk the packets of binary file `no`, one certificate per primary
    /// key packet, indexing every key's ID.
    fn scan(&mut self, no: usize) -> std::io::Result<()> {
        let file = self.files[no].try_clone()?;
        let mut s = Scanner::new(file)?;
        let mut cur: Option<Pending> = None;
        while let Some(h) = s.header()? {
            if s.broken {
                // Corrupt framing before this packet: drop the certificate
                // it was part of; go on at this primary key packet.
                if let Some(p) = cur.as_mut() {
                    p.unusable = true;
                }
            }
            if matches!(h.tag, 5 | 6) {
                if let Some(p) = cur.take() {
                    self.finish(no, p, h.start);
                }
                cur = Some(Pending::new(h.start));
            }
            let Some(p) = cur.as_mut() else {
                // Packets before any key: junk at the start.
                self.skipped += 1;
                s.skip(h.len)?;
                continue;
            };
            match h.tag {
                6 | 14 => {
                    let body = s.body(h.len)?;
                    match key_id(&body) {
                        Some(id) => p.ids.push(id),
                        None if h.tag == 6 => p.unusable = true,
                        None => {}
                    }
                }
                5 | 7 => {
                    p.secret = true;
                    s.skip(h.len)?;
                }
                _ => s.skip(h.len)?,
            }
        }
        if let Some(p) = cur.as_mut() {
            p.unusable |= s.broken;
        }
        if let Some(p) = cur.take() {
            self.finish(no, p, s.pos);
        }
        Ok(())
    }

    fn finish(&mut self, no: usize, p: Pending, end: u64) {
        let len = end - p.start;
        if p.unusable || (p.ids.is_empty() && !p.secret) {
            self.skipped += 1;
            return;
        }
        if p.secret {
            // Secret keys are indexed from the parsed certificate (their
            // public part is not framed on its own); such files are small.
            match read_cert(&self.files[no], p.start, len) {
                Some(c) => self.push_parsed(Some(no), p.start, len, c),
                None => self.skipped += 1,
            }
            return;
        }
        let i = self.entries.len();
        self.entries.push(Entry {
            file: Some(no),
            start: p.start,
            len,
            cert: OnceLock::new(),
            label: OnceLock::new(),
        });
        for id in p.ids {
            self.index.entry(id).or_default().push(i);
        }
    }

    fn push_parsed(&mut self, file: Option<usize>, start: u64, len: u64, cert: Cert) {
        let i = self.entries.len();
        for k in cert.keys() {
            self.index.entry(k.key().keyid()).or_default().push(i);
        }
        self.entries.push(Entry {
            file,
            start,
            len,
            cert: OnceLock::from(Some(cert)),
            label: OnceLock::new(),
        });
    }

    fn cert(&self, i: usize) -> Option<&Cert> {
        let e = &self.entries[i];
        e.cert
            .get_or_init(|| {
                let file = &self.files[e.file?];
                let c = read_cert(file, e.start, e.len);
                match &c {
                    Some(_) => self.parsed.fetch_add(1, Ordering::Relaxed),
                    None => self.failed.fetch_add(1, Ordering::Relaxed),
                };
                c
            })
            .as_ref()
    }

    /// The certificates holding a key that one of `ids` names.
    pub fn matching(&self, ids: &[KeyHandle]) -> Vec<Cert> {
        let mut seen: Vec<usize> = Vec::new();
        for h in ids {
            for &i in self.index.get(&KeyID::from(h)).into_iter().flatten() {
                if !seen.contains(&i) {
                    seen.push(i);
                }
            }
        }
        let mut out: Vec<Cert> = Vec::new();
        let found = seen.into_iter().filter_map(|i| self.cert(i)).filter(|c| {
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

    /// `certinfo::label` of a certificate in the keyring, computed once.
    pub fn label(&self, cert: &Cert) -> String {
        let fpr = cert.fingerprint();
        let found = self
            .index
            .get(&cert.keyid())
            .into_iter()
            .flatten()
            .find(|&&i| self.cert(i).is_some_and(|c| c.fingerprint() == fpr));
        match found {
            Some(&i) => self.entries[i]
                .label
                .get_or_init(|| certinfo::label(cert))
                .clone(),
            None => certinfo::label(cert),
        }
    }

    /// What reading the keyring found so far.
    pub fn stats(&self) -> Stats {
        let failed = self.failed.load(Ordering::Relaxed);
        Stats {
            certificates: self.entries.len() - failed,
            skipped: self.skipped + failed,
            parsed: self.parsed.load(Ordering::Relaxed),
        }
    }
}

struct Pending {
    start: u64,
    ids: Vec<KeyID>,
    secret: bool,
    unusable: bool,
}

impl Pending {
    fn new(start: u64) -> Pending {
        Pending {
            start,
            ids: Vec::new(),
            secret: false,
            unusable: false,
        }
    }
}

fn read_cert(file: &File, start: u64, len: u64) -> Option<Cert> {
    let mut buf = vec![0u8; usize::try_from(len).ok()?];
    file.read_exact_at(&mut buf, start).ok()?;
    Cert::from_bytes(&buf)
        .ok()
        .map(Cert::strip_secret_key_material)
}

/// The key ID of a public key packet body: v4 (SHA-1 fingerprint, last 8
/// bytes) or v6 (SHA-256 fingerprint, first 8 bytes); `None` for v3 and
/// unknown versions.
fn key_id(body: &[u8]) -> Option<KeyID> {
    let (algo, prefix, take_last) = match body.first()? {
        4 => {
            let n = u16::try_from(body.len()).ok()?;
            let mut p = vec![0x99];
            p.extend_from_slice(&n.to_be_bytes());
            (HashAlgorithm::SHA1, p, true)
        }
        6 => {
            let n = u32::try_from(body.len()).ok()?;
            let mut p = vec![0x9b];
            p.extend_from_slice(&n.to_be_bytes());
            (HashAlgorithm::SHA256, p, false)
        }
        _ => return None,
    };
    let mut ctx = algo.context().ok()?.for_digest();
    ctx.update(&prefix);
    ctx.update(body);
    let fpr = ctx.into_digest().ok()?;
    Some(if take_last {
        KeyID::from_bytes(&fpr[fpr.len() - 8..])
    } else {
        KeyID::from_bytes(&fpr[..8])
    })
}

/// A packet header: tag, body length, and where the packet starts.
struct Header {
    tag: u8,
    len: u64,
    start: u64,
}

/// How much of a keyring is mapped at a time: peak memory stays at this
/// (plus one key packet) whatever the keyring's size.
const WINDOW: u64 = 8 << 20;

/// A read-only memory map of part of a file.
struct Map {
    ptr: *mut libc::c_void,
    len: usize,
    /// File offset of the first mapped byte.
    start: u64,
}

impl Map {
    fn new(file: &File, start: u64, len: usize) -> std::io::Result<Map> {
        use std::os::unix::io::AsRawFd;
        // SAFETY: a private read-only mapping of an open file; the length
        // is non-zero and the offset page-aligned (callers align it).
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                start as libc::off_t,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        // SAFETY: advice on the mapping just made.
        unsafe { libc::madvise(ptr, len, libc::MADV_SEQUENTIAL) };
        Ok(Map { ptr, len, start })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is `len` readable bytes and lives as long as
        // `self`. (A file truncated under us would fault; keyrings given to
        // verify are not written while it runs.)
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Map {
    fn drop(&mut self) {
        // SAFETY: unmapping what `new` mapped.
        unsafe { libc::munmap(self.ptr, self.len) };
    }
}

/// Reads packet framing from a file through a sliding memory map.
struct Scanner {
    file: File,
    map: Option<Map>,
    pos: u64,
    end: u64,
    /// Set when the framing was corrupt and the scanner resynchronised.
    broken: bool,
}

impl Scanner {
    fn new(mut f: File) -> std::io::Result<Scanner> {
        let end = f.seek(SeekFrom::End(0))?;
        Ok(Scanner {
            file: f,
            map: None,
            pos: 0,
            end,
            broken: false,
        })
    }

    /// `len` bytes at the current position (fewer at the end of the file).
    fn at(&mut self, len: u64) -> std::io::Result<&[u8]> {
        let len = len.min(self.end - self.pos);
        let fits = self
            .map
            .as_ref()
            .is_some_and(|m| m.start <= self.pos && self.pos + len <= m.start + m.len as u64);
        if !fits {
            self.map = None;
            let start = self.pos & !0xfff;
            let size = (WINDOW.max(self.pos + len - start)).min(self.end - start);
            if size == 0 {
                return Ok(&[]);
            }
            self.map = Some(Map::new(&self.file, start, size as usize)?);
        }
        let m = self.map.as_ref().expect("mapped above");
        let off = (self.pos - m.start) as usize;
        Ok(&m.bytes()[off..off + len as usize])
    }

    /// The next packet header, resynchronising at the next plausible
    /// primary key packet after corrupt framing (then `broken` is set);
    /// `None` at the end.
    fn header(&mut self) -> std::io::Result<Option<Header>> {
        self.broken = false;
        while self.pos < self.end {
            if let Some((tag, hlen, len)) = parse_header(self.at(8)?) {
                if self.pos + hlen as u64 + len <= self.end {
                    let start = self.pos;
                    self.pos += hlen as u64;
                    return Ok(Some(Header { tag, len, start }));
                }
            }
            self.broken = true;
            self.pos += 1;
            while self.pos < self.end && !looks_like_primary(self.at(8)?) {
                self.pos += 1;
            }
        }
        Ok(None)
    }

    fn skip(&mut self, n: u64) -> std::io::Result<()> {
        self.pos += n;
        Ok(())
    }

    /// A key packet body (bounded; a longer one is skipped and yields an
    /// empty body, which indexes nothing).
    fn body(&mut self, n: u64) -> std::io::Result<Vec<u8>> {
        if n as usize > MAX_KEY_PACKET {
            self.skip(n)?;
            return Ok(Vec::new());
        }
        let v = self.at(n)?.to_vec();
        self.pos += n;
        Ok(v)
    }
}

/// (tag, header length, body length) of an OpenPGP packet header; `None`
/// for what cannot be a keyring packet (not a header, partial or
/// indeterminate lengths, reserved tags).
fn parse_header(b: &[u8]) -> Option<(u8, usize, u64)> {
    let first = *b.first()?;
    if first & 0x80 == 0 {
        return None;
    }
    let (tag, hlen, len) = if first & 0x40 == 0 {
        let tag = (first >> 2) & 0x0f;
        match first & 0x03 {
            0 => (tag, 2, u64::from(*b.get(1)?)),
            1 => (
                tag,
                3,
                u64::from(u16::from_be_bytes([*b.get(1)?, *b.get(2)?])),
            ),
            2 => (
                tag,
                5,
                u64::from(u32::from_be_bytes(b.get(1..5)?.try_into().ok()?)),
            ),
            _ => return None,
        }
    } else {
        let tag = first & 0x3f;
        let o1 = *b.get(1)?;
        match o1 {
            0..=191 => (tag, 2, u64::from(o1)),
            192..=223 => (
                tag,
                3,
                ((u64::from(o1) - 192) << 8) + u64::from(*b.get(2)?) + 192,
            ),
            255 => (
                tag,
                6,
                u64::from(u32::from_be_bytes(b.get(2..6)?.try_into().ok()?)),
            ),
            _ => return None,
        }
    };
    if tag == 0 {
        return None;
    }
    Some((tag, hlen, len))
}

/// A public key packet header followed by version 4 or 6.
fn looks_like_primary(b: &[u8]) -> bool {
    match parse_header(b) {
        Some((6, hlen, len)) => len > 6 && matches!(b.get(hlen), Some(4 | 6)),
        _ => false,
    }
}

/// Decode every armor block of `f` (text around them is ignored) into an
/// anonymous temporary file, streaming.
fn dearmor(f: File) -> Result<File> {
    let mut out = std::io::BufWriter::new(
        tempfile::tempfile().map_err(|e| Error::io(std::env::temp_dir(), e))?,
    );
    let mut r = BufReader::with_capacity(256 << 10, f);
    let mut line = Vec::new();
    let mut state = 0u8; // 0 outside, 1 headers, 2 body
    let mut carry = String::new();
    let mut blocks = 0usize;
    let engine = base64::engine::general_purpose::STANDARD;
    let bad = |m: String| {
        Error::input(
            m,
            "give an armored or binary OpenPGP certificate or keyring",
        )
    };
    loop {
        line.clear();
        let n = r
            .read_until(b'\n', &mut line)
            .map_err(|e| bad(format!("cannot read: {e}")))?;
        if n == 0 {
            break;
        }
        let text = String::from_utf8_lossy(&line);
        let t = text.trim();
        match state {
            0 if t.starts_with("-----BEGIN PGP ") => {
                state = 1;
                carry.clear();
            }
            0 => {}
            _ if t.starts_with("-----END PGP ") => {
                state = 0;
                blocks += 1;
            }
            1 if t.is_empty() => state = 2,
            1 if t.contains(": ") => {}
            _ => {
                state = 2;
                if t.starts_with('=') && t.len() == 5 {
                    continue; // CRC24
                }
                carry.extend(t.chars().filter(|c| !c.is_whitespace()));
                let whole = carry.len() / 4 * 4;
                if let Ok(bytes) = engine.decode(&carry[..whole]) {
                    out.write_all(&bytes)
                        .map_err(|e| Error::io(std::env::temp_dir(), e))?;
                }
                carry.drain(..whole);
            }
        }
    }
    if blocks == 0 {
        return Err(bad(
            "not an OpenPGP keyring (neither binary OpenPGP data nor armor)".into(),
        ));
    }
    out.into_inner()
        .map_err(|e| Error::io(std::env::temp_dir(), e.into_error()))
}
