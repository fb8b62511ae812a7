//! Bounded work for any input. A compressed-data packet (RFC 9580 §5.6)
//! expands by up to about a million to one (bzip2 of zeros: 728 bytes made
//! `inspect` hold 1.3 GB), and sequoia decompresses whatever it is given:
//! a `PacketPile` keeps all of it, a `CertParser` reads through all of it
//! to skip it. So OpenPGP data from outside (files given on the command
//! line, the vault, keyserver answers) is walked once first, counting what
//! its compressed-data packets yield, and refused past [`PER_PACKET`] or
//! [`TOTAL`] — or when compressed data is nested — before anything parses
//! it for real. Certificates, detached signatures and revocations are
//! never compressed: the limits only leave room for odd but honest input.

use std::io::Read;

use openpgp::packet::header::BodyLength;
use openpgp::parse::{PacketParser, PacketParserBuilder, PacketParserResult, Parse};
use openpgp::Packet;
use sequoia_openpgp as openpgp;

/// The most one compressed-data packet may expand to.
pub const PER_PACKET: u64 = 4 << 20;
/// The most all compressed-data packets of one input may expand to.
pub const TOTAL: u64 = 8 << 20;
/// What each packet inside compressed data counts for at least (its
/// parsed form is bigger than its bytes): 8 MiB is at most 32768 packets.
const PACKET_WEIGHT: u64 = 256;

/// The hint for a refused input.
pub const HINT: &str = "certificates and signatures are never compressed: export or fetch them again (gpg --export --armor FINGERPRINT)";

/// Why an input was refused (one line, naming no content).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("a compressed-data packet expands beyond {} MiB", PER_PACKET >> 20)]
    PerPacket,
    #[error("its compressed data expands beyond {} MiB in all", TOTAL >> 20)]
    Total,
    #[error("compressed data nested in compressed data")]
    Nested,
}

/// [`check`], then the packets (a `PacketPile` keeps every body).
pub fn packet_pile(bytes: &[u8]) -> openpgp::Result<openpgp::PacketPile> {
    check(bytes)?;
    openpgp::PacketPile::from_bytes(bytes)
}

/// [`check`], then a certificate.
pub fn cert(bytes: &[u8]) -> openpgp::Result<openpgp::Cert> {
    check(bytes)?;
    openpgp::Cert::from_bytes(bytes)
}

/// Walk `bytes` (binary or armored, several armor blocks included, as
/// `CertParser` reads them), decompressing at most [`TOTAL`] bytes.
/// `Ok` when within bounds, and when it is not OpenPGP data at all (the
/// real parser then says what is wrong).
pub fn check(bytes: &[u8]) -> Result<(), Refused> {
    let Ok(mut ppr) = PacketParserBuilder::from_bytes(bytes).and_then(|b| b.build()) else {
        return Ok(());
    };
    let mut walk = Walk {
        total: 0,
        inside: None,
    };
    loop {
        ppr = match ppr {
            PacketParserResult::Some(pp) => match walk.step(pp)? {
                Some(next) => next,
                None => return Ok(()),
            },
            PacketParserResult::EOF(eof) => {
                // The next armor block, as CertParser goes on to it.
                walk.inside = None;
                match PacketParserBuilder::from_buffered_reader(eof.into_reader())
                    .and_then(|b| b.build())
                {
                    Ok(next @ PacketParserResult::Some(_)) => next,
                    _ => return Ok(()),
                }
            }
        };
    }
}

struct Walk {
    /// What all compressed-data packets yielded so far.
    total: u64,
    /// The depth of the compressed-data packet being read, and what it
    /// yielded so far.
    inside: Option<(isize, u64)>,
}

impl Walk {
    fn step<'a>(
        &mut self,
        mut pp: PacketParser<'a>,
    ) -> Result<Option<PacketParserResult<'a>>, Refused> {
        let depth = pp.recursion_depth();
        if self.inside.is_some_and(|(d, _)| depth <= d) {
            self.inside = None;
        }
        if let Packet::CompressedData(_) = pp.packet {
            if self.inside.is_some() {
                return Err(Refused::Nested);
            }
            self.inside = Some((depth, 0));
            return Ok(pp.recurse().ok().map(|(_, r)| r));
        }
        if let Some((_, yielded)) = self.inside.as_mut() {
            let (left, why) = if PER_PACKET - *yielded <= TOTAL - self.total {
                (PER_PACKET - *yielded, Refused::PerPacket)
            } else {
                (TOTAL - self.total, Refused::Total)
            };
            // A packet the parser read whole (a signature, a key) said its
            // length; a literal's body is read here, never kept.
            let said = match pp.header().length() {
                BodyLength::Full(n) => u64::from(*n),
                _ => 0,
            };
            if said > left {
                return Err(why);
            }
            let read = match drain(&mut pp, left) {
                Drained::All(n) => n,
                Drained::Over => return Err(why),
                // Corrupt compressed data: the parser fails on it too
                // (and sequoia may panic finishing this packet).
                Drained::Broken => return Ok(None),
            };
            let n = said.max(read).max(PACKET_WEIGHT);
            if n > left {
                return Err(why);
            }
            *yielded += n;
            self.total += n;
        }
        // As CertParser does: sequoia's `next` can panic dropping what is
        // left of an unknown packet (a broken armor footer). Outside
        // compressed data it is at most the input; inside, drained above.
        if let Packet::Unknown(_) = pp.packet {
            if pp.buffer_unread_content().is_err() {
                return Ok(None);
            }
        }
        Ok(pp.next().ok().map(|(_, r)| r))
    }
}

enum Drained {
    All(u64),
    Over,
    Broken,
}

/// Read what is left of the packet's body, up to `left` bytes.
fn drain(pp: &mut PacketParser, left: u64) -> Drained {
    let mut buf = vec![0u8; 1 << 16];
    let mut n = 0u64;
    loop {
        match pp.read(&mut buf) {
            Ok(0) => return Drained::All(n),
            Ok(k) => n += k as u64,
            Err(_) => return Drained::Broken,
        }
        if n > left {
            return Drained::Over;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use openpgp::serialize::stream::{Compressor, LiteralWriter, Message};
    use openpgp::types::CompressionAlgorithm;
    use std::io::Write;

    fn compressed(algo: CompressionAlgorithm, zeros: usize) -> Vec<u8> {
        let mut out = Vec::new();
        let m = Message::new(&mut out);
        let m = Compressor::new(m).algo(algo).build().unwrap();
        let mut w = LiteralWriter::new(m).build().unwrap();
        w.write_all(&vec![0u8; zeros]).unwrap();
        w.finalize().unwrap();
        out
    }

    #[test]
    fn small_compressed_data_passes_and_large_is_refused() {
        for algo in [
            CompressionAlgorithm::Zip,
            CompressionAlgorithm::Zlib,
            CompressionAlgorithm::BZip2,
        ] {
            assert_eq!(check(&compressed(algo, 1 << 20)), Ok(()), "{algo}");
            let bomb = compressed(algo, 64 << 20);
            assert!(bomb.len() < 1 << 20, "{algo}: {}", bomb.len());
            assert_eq!(check(&bomb), Err(Refused::PerPacket), "{algo}");
        }
    }

    #[test]
    fn many_packets_add_up_and_nesting_is_refused() {
        let one = compressed(CompressionAlgorithm::Zlib, 3 << 20);
        let three = [one.clone(), one.clone(), one.clone()].concat();
        assert_eq!(check(&one), Ok(()));
        assert_eq!(check(&three), Err(Refused::Total));

        let mut out = Vec::new();
        let m = Message::new(&mut out);
        let m = Compressor::new(m).build().unwrap();
        let m = Compressor::new(m).build().unwrap();
        let mut w = LiteralWriter::new(m).build().unwrap();
        w.write_all(b"hello").unwrap();
        w.finalize().unwrap();
        assert_eq!(check(&out), Err(Refused::Nested));
    }

    #[test]
    fn what_is_not_openpgp_is_left_to_the_parser() {
        assert_eq!(check(b""), Ok(()));
        assert_eq!(check(b"<html>nginx</html>"), Ok(()));
    }
}
