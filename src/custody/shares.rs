//! Shamir's secret sharing (blahaj), and nothing else: a secret split
//! M-of-N into self-describing shares, and recovered from M of them. The
//! only module that calls the Shamir library.
//!
//! blahaj's shares say nothing about the threshold, and recovering from too
//! few returns garbage without an error: each share travels in an envelope
//! (key fingerprint, M, N, index, holder, SHA-256 of the secret) and the
//! recovered secret is checked against that digest. A share of one of a
//! key's escrowed revocation files says so (`holds: revocation.age`):
//! shares of different secrets of one key never combine.

use base64::Engine;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::base::error::{Error, Result};

/// One share of a key's escrow, in its envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct Share {
    pub fingerprint: String,
    pub threshold: u8,
    pub shares: u8,
    pub index: u8,
    pub holder: String,
    /// SHA-256 of the shared secret, checked after recovery.
    pub digest: String,
    /// What the share is of: `None` for the key's escrow (no `holds:`
    /// line, as in every share made before), else the escrow file it
    /// stands for (`revocation.age`, `revocation-retired.age`).
    pub holds: Option<String>,
    pub data: Vec<u8>,
}

impl Drop for Share {
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.data);
    }
}

/// The first line of a decrypted share file.
pub const SHARE_MAGIC: &str = "keycycle-share v1";

impl Share {
    pub fn to_text(&self) -> Zeroizing<String> {
        Zeroizing::new(format!(
            "{SHARE_MAGIC}\nfingerprint: {}\nthreshold: {}\nshares: {}\nindex: {}\nholder: {}\ndigest: {}\n{}share: {}\n",
            self.fingerprint,
            self.threshold,
            self.shares,
            self.index,
            self.holder,
            self.digest,
            self.holds
                .as_deref()
                .map(|h| format!("holds: {h}\n"))
                .unwrap_or_default(),
            base64::engine::general_purpose::STANDARD.encode(&self.data)
        ))
    }

    pub fn parse(text: &[u8]) -> Result<Share> {
        let bad = || {
            Error::input(
                "not a keycycle share",
                "give a share file decrypted by its holder (age -d)",
            )
        };
        let text = std::str::from_utf8(text).map_err(|_| bad())?;
        let mut lines = text.lines();
        if lines.next() != Some(SHARE_MAGIC) {
            return Err(bad());
        }
        let mut get = std::collections::HashMap::new();
        for l in lines {
            if let Some((k, v)) = l.split_once(": ") {
                get.insert(k.to_string(), v.to_string());
            }
        }
        let field = |k: &str| get.get(k).cloned().ok_or_else(bad);
        let num = |k: &str| field(k).and_then(|v| v.parse::<u8>().map_err(|_| bad()));
        Ok(Share {
            fingerprint: field("fingerprint")?,
            threshold: num("threshold")?,
            shares: num("shares")?,
            index: num("index")?,
            holder: field("holder")?,
            digest: field("digest")?,
            holds: get.get("holds").cloned(),
            data: base64::engine::general_purpose::STANDARD
                .decode(field("share")?)
                .map_err(|_| bad())?,
        })
    }

    /// Whether the envelope is consistent and belongs to `fingerprint`.
    pub fn belongs_to(&self, fingerprint: &str) -> bool {
        self.fingerprint == fingerprint
            && self.threshold >= 2
            && self.threshold <= self.shares
            && self.data.first() == Some(&self.index)
    }
}

/// Split `secret` M-of-N, one share per holder.
pub fn split(
    fingerprint: &str,
    secret: &[u8],
    threshold: u8,
    holders: &[String],
) -> Result<Vec<Share>> {
    split_of(fingerprint, None, secret, threshold, holders)
}

/// [`split`] for a secret of the key other than its escrow: every share
/// says what it `holds` (an escrow file's name).
pub fn split_of(
    fingerprint: &str,
    holds: Option<&str>,
    secret: &[u8],
    threshold: u8,
    holders: &[String],
) -> Result<Vec<Share>> {
    let n = holders.len();
    if threshold < 2 || n < threshold as usize || n > 255 {
        return Err(Error::input(
            format!("threshold {threshold} of {n} roots is not possible"),
            match holds {
                None => "set [escrow] threshold between 2 and the number of roots",
                Some(_) => "set [escrow] revocation_threshold between 1 and the number of roots",
            },
        ));
    }
    let digest = hex::encode(Sha256::digest(secret));
    let sharks = blahaj::Sharks(threshold);
    Ok(sharks
        .dealer(secret)
        .take(n)
        .zip(holders)
        .map(|(s, h)| {
            let bytes: Vec<u8> = Vec::from(&s);
            Share {
                fingerprint: fingerprint.to_string(),
                threshold,
                shares: n as u8,
                index: bytes[0],
                holder: h.clone(),
                digest: digest.clone(),
                holds: holds.map(str::to_string),
                data: bytes,
            }
        })
        .collect())
}

/// Recover the secret from at least `threshold` shares of one key.
pub fn combine(fingerprint: &str, shares: &[Share]) -> Result<Zeroizing<Vec<u8>>> {
    combine_of(fingerprint, None, "the escrow needs", shares)
}

/// [`combine`] for the shares that hold `holds` (see [`split_of`]); too
/// few are refused in one line starting with `needs` ("the escrowed
/// revocation needs").
pub fn combine_of(
    fingerprint: &str,
    holds: Option<&str>,
    needs: &str,
    shares: &[Share],
) -> Result<Zeroizing<Vec<u8>>> {
    let mine: Vec<&Share> = shares
        .iter()
        .filter(|s| s.fingerprint == fingerprint && s.holds.as_deref() == holds)
        .collect();
    let Some(first) = mine.first() else {
        return Err(Error::input(
            "none of the given identities or share files opens a share of this key",
            "pass the --identity of roots on the roster the key was escrowed to",
        ));
    };
    let threshold = first.threshold;
    let mut distinct: Vec<&Share> = Vec::new();
    for s in &mine {
        if s.digest == first.digest && !distinct.iter().any(|d| d.index == s.index) {
            distinct.push(s);
        }
    }
    if distinct.len() < threshold as usize {
        let more = threshold as usize - distinct.len();
        return Err(Error::input(
            format!(
                "{needs} {threshold} of {} shares; {} given: {more} more needed",
                first.shares,
                distinct.len()
            ),
            "add the --identity of more roots (repeat --identity FILE)",
        ));
    }
    let parsed: Vec<blahaj::Share> = distinct
        .iter()
        .map(|s| blahaj::Share::try_from(s.data.as_slice()))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| anyhow::anyhow!("share: {e}"))?;
    let secret = Zeroizing::new(
        blahaj::Sharks(threshold)
            .recover(parsed.iter())
            .map_err(|e| anyhow::anyhow!("recovery: {e}"))?,
    );
    if hex::encode(Sha256::digest(&secret[..])) != first.digest {
        return Err(Error::vault(
            "the recovered escrow does not match its digest",
            "a share is corrupt or from another split: re-run with other roots' shares",
        ));
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn holders(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("root {i}")).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        /// Any M of the N shares (through their text envelopes) recover the
        /// secret; M - 1 never do.
        #[test]
        fn any_threshold_subset_recovers(
            secret in proptest::collection::vec(any::<u8>(), 1..300),
            n in 2usize..7,
            m_seed in 0u8..255,
            pick_seed in any::<u64>(),
        ) {
            let m = 2 + m_seed % (n as u8 - 1);
            let shares = split("FPR", &secret, m, &holders(n)).unwrap();
            let mut chosen: Vec<Share> = shares
                .iter()
                .map(|s| Share::parse(s.to_text().as_bytes()).unwrap())
                .collect();
            // A deterministic shuffle from the seed, then the first M.
            let mut seed = pick_seed;
            for i in (1..chosen.len()).rev() {
                seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
                chosen.swap(i, (seed >> 33) as usize % (i + 1));
            }
            prop_assert!(chosen.iter().all(|s| s.belongs_to("FPR")));
            let back = combine("FPR", &chosen[..m as usize]).unwrap();
            prop_assert_eq!(&back[..], &secret[..]);
            let short = combine("FPR", &chosen[..m as usize - 1]).unwrap_err();
            prop_assert!(short.to_string().contains("more needed"), "{}", short);
        }
    }

    #[test]
    fn shares_of_another_key_do_not_count() {
        let shares = split("A", b"secret", 2, &holders(3)).unwrap();
        let e = combine("B", &shares).unwrap_err();
        assert!(e.to_string().contains("none of the given"), "{e}");
    }

    #[test]
    fn a_corrupt_share_is_caught_by_the_digest() {
        let mut shares = split("A", b"a secret of some length", 2, &holders(2)).unwrap();
        let last = shares[1].data.len() - 1;
        shares[1].data[last] ^= 1;
        let e = combine("A", &shares).unwrap_err();
        assert!(e.to_string().contains("does not match its digest"), "{e}");
    }

    #[test]
    fn shares_of_another_secret_of_the_key_do_not_count() {
        let escrow = split("A", b"the escrow", 2, &holders(3)).unwrap();
        let revs = split_of("A", Some("revocation.age"), b"revocations", 2, &holders(3)).unwrap();
        let back: Vec<Share> = revs
            .iter()
            .map(|s| Share::parse(s.to_text().as_bytes()).unwrap())
            .collect();
        assert_eq!(back[0].holds.as_deref(), Some("revocation.age"));
        assert!(
            !escrow[0].to_text().contains("holds:"),
            "old envelopes unchanged"
        );
        // One of each: neither reaches its threshold.
        let mixed = vec![escrow[0].clone(), back[1].clone()];
        let e = combine("A", &mixed).unwrap_err().to_string();
        assert!(e.contains("needs 2 of 3 shares; 1 given"), "{e}");
        let e = combine_of("A", Some("revocation.age"), "revoking needs", &mixed)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("revoking needs 2 of 3 shares; 1 given"),
            "{e}"
        );
        let two = combine_of("A", Some("revocation.age"), "revoking needs", &back[1..]).unwrap();
        assert_eq!(&two[..], b"revocations");
    }

    #[test]
    fn impossible_thresholds_are_refused() {
        for (m, n) in [(1u8, 3usize), (4, 3), (0, 0)] {
            assert!(split("A", b"s", m, &holders(n)).is_err(), "{m} of {n}");
        }
    }
}
