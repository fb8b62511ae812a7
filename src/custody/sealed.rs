//! An escrowed key's sealed files, below the escrow ([`super::escrow`])
//! and its revocations' own threshold ([`super::revocation_shares`]):
//! their names, sealing one file to its recipients, and an opened one in
//! zeroising memory.

use zeroize::Zeroizing;

use super::age::{self, Recipient};
use crate::base::error::Result;
use crate::base::fs::fsx;
use crate::vault::{NewFile, StoredKey};

/// The sealed transferable secret key.
pub const PRIMARY_FILE: &str = "primary.age";
/// The sealed hard revocation certificate (reason: compromised).
pub const REVOCATION_FILE: &str = "revocation.age";
/// The sealed ladder of dated soft revocations (reason: retired).
pub const LADDER_FILE: &str = "revocation-retired.age";
/// Threshold escrow: one sealed share per root.
pub const SHARES_DIR: &str = "shares";

/// One opened escrow file, in zeroising memory.
pub type Sealed = Zeroizing<Vec<u8>>;

/// A file-name-safe form of a holder's name.
pub(super) fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.trim_matches('-').to_string()
}

/// One file sealed to `recipients` (and checked to open for each).
pub(super) fn sealed_file(name: String, plain: &[u8], recipients: &[Recipient]) -> Result<NewFile> {
    let bytes = age::seal(recipients, plain)?;
    age::check_recipients(&bytes, recipients)?;
    Ok(NewFile {
        name,
        bytes,
        secret: true,
    })
}

/// Whether `key` is escrowed in shares (`shares/`, a directory — a link
/// there is an error).
pub fn is_threshold(key: &StoredKey) -> Result<bool> {
    fsx::check_dir(&key.dir.join(SHARES_DIR))
}
