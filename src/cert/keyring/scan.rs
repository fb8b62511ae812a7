//! Packet framing of a keyring, read through a sliding memory map: one
//! certificate at a time, with the key ID of every key in it.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use base64::Engine as _;
use openpgp::parse::Parse;
use openpgp::{Cert, KeyID};
use sequoia_openpgp as openpgp;

use crate::base::error::{Error, Result};

/// The largest key packet body read while indexing (an RSA-16384 key is
/// about 4 KiB); a larger one is treated as corrupt framing.
const MAX_KEY_PACKET: usize = 64 << 10;

/// A certificate found by the scan: where it is, the IDs of its keys.
pub(super) struct Pending {
    pub start: u64,
    pub end: u64,
    pub ids: Vec<KeyID>,
    /// It holds secret key packets: index it from the parsed certificate.
    pub secret: bool,
    unusable: bool,
}

impl Pending {
    fn new(start: u64) -> Pending {
        Pending {
            start,
            end: start,
            ids: Vec::new(),
            secret: false,
            unusable: false,
        }
    }

    fn finish(mut self, end: u64) -> Found {
        self.end = end;
        if self.unusable || (self.ids.is_empty() && !self.secret) {
            Found::Skipped
        } else {
            Found::Cert(self)
        }
    }
}

/// What one step of a scan found.
pub(super) enum Found {
    Cert(Pending),
    /// Corrupt framing, an unsupported key version, or stray packets.
    Skipped,
}

/// The scan of one (binary) file.
pub(super) struct FileScan {
    s: Scanner,
    cur: Option<Pending>,
    /// Index of the file in the keyring.
    pub no: usize,
}

impl FileScan {
    pub fn new(file: File, no: usize) -> std::io::Result<FileScan> {
        Ok(FileScan {
            s: Scanner::new(file)?,
            cur: None,
            no,
        })
    }

    /// Read on to the end of the next certificate; `None` at the end.
    pub fn next(&mut self) -> std::io::Result<Option<Found>> {
        loop {
            let Some(h) = self.s.header()? else {
                return Ok(self.cur.take().map(|mut p| {
                    p.unusable |= self.s.broken;
                    p.finish(self.s.pos)
                }));
            };
            let mut done = None;
            if self.s.broken {
                // Corrupt framing before this packet: drop the certificate
                // it was part of (or count the junk before the first one);
                // go on at this primary key packet.
                match self.cur.as_mut() {
                    Some(p) => p.unusable = true,
                    None => done = Some(Found::Skipped),
                }
            }
            if matches!(h.tag, 5 | 6) {
                done = done.or(self.cur.take().map(|p| p.finish(h.start)));
                self.cur = Some(Pending::new(h.start));
            }
            let Some(p) = self.cur.as_mut() else {
                // Packets before any key: junk at the start.
                self.s.skip(h.len)?;
                return Ok(Some(Found::Skipped));
            };
            match h.tag {
                6 | 14 => {
                    let body = self.s.body(h.len)?;
                    match key_id(&body) {
                        Some(id) => p.ids.push(id),
                        None if h.tag == 6 => p.unusable = true,
                        None => {}
                    }
                }
                5 | 7 => {
                    p.secret = true;
                    self.s.skip(h.len)?;
                }
                8 => {
                    // Compressed data is never part of a certificate, and
                    // sequoia would decompress all of it to skip it.
                    p.unusable = true;
                    self.s.skip(h.len)?;
                }
                _ => self.s.skip(h.len)?,
            }
            if done.is_some() {
                return Ok(done);
            }
        }
    }
}

pub(super) fn read_cert(file: &File, start: u64, len: u64) -> Option<Cert> {
    let mut buf = vec![0u8; usize::try_from(len).ok()?];
    file.read_exact_at(&mut buf, start).ok()?;
    Cert::from_bytes(&buf)
        .ok()
        .map(Cert::strip_secret_key_material)
}

/// The key ID of a public key packet body: v4 (SHA-1 fingerprint, last 8
/// bytes) or v6 (SHA-256 fingerprint, first 8 bytes); `None` for v3 and
/// unknown versions.
///
/// Plain SHA-1, not sequoia's collision-detecting one (a third of the
/// scan's time): the ID only picks the certificates worth parsing, and
/// sequoia parses each and computes its fingerprints itself before any
/// signature is checked — a collision could only add a candidate that
/// then fails to match.
fn key_id(body: &[u8]) -> Option<KeyID> {
    use sha2::Digest;
    match body.first()? {
        4 => {
            let n = u16::try_from(body.len()).ok()?;
            let mut h = sha1::Sha1::new();
            h.update([0x99]);
            h.update(n.to_be_bytes());
            h.update(body);
            let fpr = h.finalize();
            Some(KeyID::from_bytes(&fpr[fpr.len() - 8..]))
        }
        6 => {
            let n = u32::try_from(body.len()).ok()?;
            let mut h = sha2::Sha256::new();
            h.update([0x9b]);
            h.update(n.to_be_bytes());
            h.update(body);
            Some(KeyID::from_bytes(&h.finalize()[..8]))
        }
        _ => None,
    }
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

// SAFETY: the mapping is private and read-only; nothing about it is tied
// to the thread that made it.
unsafe impl Send for Map {}

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
pub(crate) fn parse_header(b: &[u8]) -> Option<(u8, usize, u64)> {
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
pub(super) fn dearmor(f: File) -> Result<File> {
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

#[cfg(test)]
mod tests {
    use super::*;
    use openpgp::cert::{CertBuilder, CipherSuite};
    use openpgp::serialize::Serialize;
    use openpgp::Profile;

    /// The scan's key IDs are the ones sequoia computes, for v4 (RSA,
    /// Ed25519) and v6 keys, primaries and subkeys alike.
    #[test]
    fn scan_key_ids_match_sequoia() {
        let mut ring = Vec::new();
        let mut want = Vec::new();
        for (suite, profile) in [
            (CipherSuite::RSA2k, Profile::RFC4880),
            (CipherSuite::Cv25519, Profile::RFC4880),
            (CipherSuite::Cv25519, Profile::RFC9580),
        ] {
            let (cert, _) = CertBuilder::general_purpose(Some("a@example.org"))
                .set_cipher_suite(suite)
                .set_profile(profile)
                .unwrap()
                .generate()
                .unwrap();
            cert.serialize(&mut ring).unwrap();
            want.push(cert.keys().map(|k| k.key().keyid()).collect::<Vec<_>>());
        }
        let file = tempfile::tempfile().unwrap();
        file.write_all_at(&ring, 0).unwrap();
        let mut scan = FileScan::new(file, 0).unwrap();
        let mut got = Vec::new();
        while let Some(found) = scan.next().unwrap() {
            match found {
                Found::Cert(p) => got.push(p.ids),
                Found::Skipped => panic!("a generated certificate was skipped"),
            }
        }
        assert_eq!(got, want);
    }
}
