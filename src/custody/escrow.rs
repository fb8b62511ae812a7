//! The escrowed software key, the first custody backend: a key's
//! transferable secret key, its hard revocation certificate and its
//! ladder of soft ones. The revocations are sealed apart from the primary
//! in both escrow modes, with their own threshold R
//! ([`revocation_shares`]): to every root (`revocation.age`,
//! `revocation-retired.age`; any one root can revoke, the default) or R-of-N.
//! The key is sealed to every root (`primary.age`), or split M-of-N with
//! its revocations into one sealed share per root (`shares/NN-name.age`).
//! Vaults split before have no revocation files beside the shares until
//! `escrow rewrap`.
//!
//! This file holds the escrow's files (what is sealed, to whom, where);
//! `escrow/backend.rs` the opened key as a [`Backend`] and the ladder
//! re-made on every change.

use openpgp::packet::Signature;
use openpgp::serialize::Serialize as _;
use openpgp::{Cert, Packet};
use sequoia_openpgp as openpgp;
use zeroize::Zeroizing;

use super::age::{Identities, Recipient};
use super::revocation_shares;
pub use super::revocation_shares::revocations_apart;
pub use super::sealed::{
    is_threshold, Sealed, LADDER_FILE, PRIMARY_FILE, REVOCATION_FILE, SHARES_DIR,
};
use super::sealed::{sealed_file, slug};
use super::shares::{self, Share};
use super::Roots;
use crate::base::error::{Error, Result};
use crate::base::fs::fsx;
use crate::cert::make::CycleKey;
use crate::vault::{KeyChange, NewFile, StoredKey, Vault};

mod backend;
pub use backend::{store_ladder, EscrowedKey};

/// The comment on the armored ladder.
pub const LADDER_COMMENT: &str =
    "Dated soft revocations (reason: retired); publish the latest one not after now";
/// The comment on the armored hard revocation.
const REVOCATION_COMMENT: &str = "This is a revocation certificate (reason: key compromised)";

/// Everything escrowed for one key (armored, in zeroising memory).
pub struct Bundle {
    pub tsk: Zeroizing<Vec<u8>>,
    pub revocation: Zeroizing<Vec<u8>>,
    pub ladder: Zeroizing<Vec<u8>>,
}

impl Bundle {
    /// What a freshly generated key escrows.
    pub fn of_new_key(key: &CycleKey) -> Result<Bundle> {
        Ok(Bundle {
            tsk: armored_tsk(&key.cert)?,
            revocation: armor_signatures(
                std::slice::from_ref(&key.revocation),
                REVOCATION_COMMENT,
            )?,
            ladder: armor_signatures(&key.ladder, LADDER_COMMENT)?,
        })
    }

    /// Length-prefixed concatenation, for secret sharing.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let mut out = Zeroizing::new(Vec::new());
        for part in [&self.tsk, &self.revocation, &self.ladder] {
            out.extend_from_slice(&(part.len() as u32).to_be_bytes());
            out.extend_from_slice(part);
        }
        out
    }

    pub fn from_bytes(b: &[u8]) -> Result<Bundle> {
        let malformed = || {
            Error::vault(
                "the recovered escrow is malformed",
                "the shares do not belong together",
            )
        };
        let mut parts = Vec::new();
        let mut rest = b;
        for _ in 0..3 {
            let (len, tail) = rest.split_at_checked(4).ok_or_else(malformed)?;
            let n = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
            let (part, tail) = tail.split_at_checked(n).ok_or_else(malformed)?;
            parts.push(Zeroizing::new(part.to_vec()));
            rest = tail;
        }
        let mut parts = parts.into_iter();
        let (Some(tsk), Some(revocation), Some(ladder)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(malformed());
        };
        Ok(Bundle {
            tsk,
            revocation,
            ladder,
        })
    }
}

/// Armor signatures as `gpg --gen-revoke` does: PublicKey armor.
fn armor_signatures(sigs: &[Signature], comment: &str) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::new());
    let mut w = openpgp::armor::Writer::with_headers(
        &mut *out,
        openpgp::armor::Kind::PublicKey,
        vec![("Comment", comment)],
    )
    .map_err(anyhow::Error::from)?;
    for s in sigs {
        openpgp::Packet::from(s.clone()).serialize(&mut w)?;
    }
    w.finalize().map_err(anyhow::Error::from)?;
    Ok(out)
}

/// The transferable secret key, armored, in zeroising memory.
fn armored_tsk(cert: &Cert) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::new());
    cert.as_tsk().armored().serialize(&mut *out)?;
    Ok(out)
}

/// The signatures in an escrowed revocation file.
pub fn signatures(bytes: &[u8]) -> Result<Vec<Signature>> {
    let pile = crate::base::bounded::packet_pile(bytes).map_err(|e| {
        Error::vault(
            format!("not a revocation certificate: {e}"),
            "restore it from git",
        )
    })?;
    Ok(pile
        .into_children()
        .filter_map(|p| match p {
            Packet::Signature(s) => Some(s),
            _ => None,
        })
        .collect())
}

/// A name per recipient, from the policy's roots (for share file names).
pub fn holder_names(policy: &dyn Roots, recipients: &[Recipient]) -> Vec<String> {
    recipients
        .iter()
        .enumerate()
        .map(|(i, r)| {
            policy
                .holders()
                .into_iter()
                .find(|(_, stored)| Recipient::parse_stored(stored).ok().as_ref() == Some(r))
                .map(|(name, _)| name.to_string())
                .unwrap_or_else(|| format!("recipient {}", i + 1))
        })
        .collect()
}

/// The escrow files of a key: the two revocation files, each sealed to
/// every recipient (their headers checked) or, with `revocation_threshold`
/// R > 1, split R-of-N ([`revocation_shares::seal`]); and the secret: with
/// threshold 1 `primary.age` sealed to every recipient; with M > 1, one
/// share per recipient, each sealed to that recipient alone.
pub fn seal(
    fpr: &str,
    bundle: &Bundle,
    recipients: &[Recipient],
    names: &[String],
    (threshold, revocation_threshold): (u8, u8),
) -> Result<Vec<NewFile>> {
    let mut files = Vec::new();
    for (name, part) in [
        (REVOCATION_FILE, &bundle.revocation),
        (LADDER_FILE, &bundle.ladder),
    ] {
        files.extend(revocation_shares::seal(
            fpr,
            name,
            part,
            recipients,
            names,
            revocation_threshold,
        )?);
    }
    if threshold <= 1 {
        files.push(sealed_file(PRIMARY_FILE.into(), &bundle.tsk, recipients)?);
        return Ok(files);
    }
    // The shares still hold the whole bundle, so M shares handed in as
    // files (no identity) open and re-seal everything; the revocations are
    // read from their own files (a card's extension re-seals only those).
    let shares = shares::split(fpr, &bundle.to_bytes(), threshold, names)?;
    for (i, (share, r)) in shares.iter().zip(recipients).enumerate() {
        let name = format!("{SHARES_DIR}/{:02}-{}.age", i + 1, slug(&share.holder));
        files.push(sealed_file(
            name,
            share.to_text().as_bytes(),
            std::slice::from_ref(r),
        )?);
    }
    Ok(files)
}

/// The sealed share files of `key`, in name order (regular files only:
/// anything else in `shares/` is an error naming it).
pub fn share_files(key: &StoredKey) -> Result<Vec<std::path::PathBuf>> {
    revocation_shares::files_in(key, SHARES_DIR)
}

/// The shares of `key` that `ids` open (plus those handed in as files).
pub fn open_shares(key: &StoredKey, ids: &Identities) -> Result<Vec<(std::path::PathBuf, Share)>> {
    let mut found = Vec::new();
    for p in share_files(key)? {
        let sealed = fsx::read_file(&p)?;
        if let Some(plain) = ids.try_open(&sealed)? {
            found.push((p, Share::parse(&plain)?));
        }
    }
    Ok(found)
}

/// The escrowed revocations of `key` (hard, ladder), opened with `ids`
/// from their own files or their own shares (R of them): `primary.age` and
/// the primary's shares are not read. An old threshold escrow (the revocations inside the shares) needs the
/// shares until `escrow rewrap`.
pub fn open_revocations(
    vault: &Vault,
    key: &StoredKey,
    ids: &Identities,
) -> Result<(Sealed, Sealed)> {
    if !revocations_apart(key)? {
        let b = open_bundle(vault, key, ids)?;
        return Ok((b.revocation, b.ladder));
    }
    if ids.is_empty() {
        return Err(Error::input(
            "the escrowed revocations must be opened and no identity was given",
            if revocation_shares::is_split(key, REVOCATION_FILE)? {
                "pass --identity FILE once per root, as many roots as the policy's revocation threshold"
            } else {
                "pass --identity FILE (any one root's age identity or SSH private key)"
            },
        ));
    }
    Ok((
        revocation_shares::open(vault, key, REVOCATION_FILE, ids)?,
        revocation_shares::open(vault, key, LADDER_FILE, ids)?,
    ))
}

/// Open a key's escrow: the three age files, or enough shares (whose
/// ladder may be older than `revocation-retired.age`: a store re-makes it).
pub fn open_bundle(vault: &Vault, key: &StoredKey, ids: &Identities) -> Result<Bundle> {
    if is_threshold(key)? {
        let mut shares = ids.shares().to_vec();
        shares.extend(open_shares(key, ids)?.into_iter().map(|(_, s)| s));
        return Bundle::from_bytes(&shares::combine(&key.state.fingerprint, &shares)?);
    }
    if ids.is_empty() {
        return Err(Error::input(
            "the escrow must be opened and no identity was given",
            "pass --identity FILE (your age identity or SSH private key)",
        ));
    }
    Ok(Bundle {
        tsk: ids.open(&vault.read_key_file(key, PRIMARY_FILE)?)?,
        revocation: revocation_shares::open(vault, key, REVOCATION_FILE, ids)?,
        ladder: revocation_shares::open(vault, key, LADDER_FILE, ids)?,
    })
}

/// The change that replaces a key's escrow files with `files`, removing
/// those of the other escrow mode (and shares no longer held).
fn replace(key: &StoredKey, files: Vec<NewFile>) -> Result<KeyChange> {
    let threshold = files.iter().any(|f| f.name.starts_with(SHARES_DIR));
    let mut remove = Vec::new();
    if threshold {
        remove.push(PRIMARY_FILE.to_string());
        if is_threshold(key)? {
            for p in share_files(key)? {
                let name = format!(
                    "{SHARES_DIR}/{}",
                    p.file_name().unwrap_or_default().to_string_lossy()
                );
                if !files.iter().any(|f| f.name == name) {
                    remove.push(name);
                }
            }
        }
    } else {
        remove.push(SHARES_DIR.to_string());
    }
    remove.extend(revocation_shares::stale(key, &files)?);
    Ok(KeyChange {
        files,
        remove,
        state: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn a_bundle_round_trips(
            tsk in proptest::collection::vec(any::<u8>(), 0..200),
            rev in proptest::collection::vec(any::<u8>(), 0..200),
            ladder in proptest::collection::vec(any::<u8>(), 0..200),
        ) {
            let b = Bundle {
                tsk: Zeroizing::new(tsk.clone()),
                revocation: Zeroizing::new(rev.clone()),
                ladder: Zeroizing::new(ladder.clone()),
            };
            let back = Bundle::from_bytes(&b.to_bytes()).unwrap();
            prop_assert_eq!(&back.tsk[..], &tsk[..]);
            prop_assert_eq!(&back.revocation[..], &rev[..]);
            prop_assert_eq!(&back.ladder[..], &ladder[..]);
        }

        #[test]
        fn truncated_bundles_are_errors(cut in 0usize..40) {
            let b = Bundle {
                tsk: Zeroizing::new(vec![1; 10]),
                revocation: Zeroizing::new(vec![2; 10]),
                ladder: Zeroizing::new(vec![3; 10]),
            };
            let bytes = b.to_bytes();
            prop_assert!(Bundle::from_bytes(&bytes[..cut.min(bytes.len() - 1)]).is_err());
        }
    }

    #[test]
    fn slugs_are_single_safe_components() {
        assert_eq!(slug("Ada Lovelace"), "ada-lovelace");
        assert_eq!(slug("../../etc"), "etc");
        assert_eq!(slug("Grace (demo)"), "grace--demo");
    }
}
