//! The OpenPGP policy for the whole crate: every `StandardPolicy` keycycle
//! judges a certificate or a signature by is built here, so what counts as
//! too weak (SHA-1, MD5, short keys) is decided in one place. It imports
//! only [`crate::base::clock`].

use openpgp::policy::{HashAlgoSecurity, StandardPolicy};
use openpgp::types::HashAlgorithm;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};

/// The standard policy of sequoia-openpgp, unchanged: what keycycle makes,
/// and every key and signature it judges by today's rules.
pub fn standard() -> StandardPolicy<'static> {
    StandardPolicy::new()
}

/// The policy for data signatures. `as_of` relaxes only what key bindings
/// and self-signatures need (second-preimage resistance): a hash the
/// rules of that date accepted there is accepted again, for auditing
/// artifacts of keys whose self-signatures use SHA-1. Data signatures also
/// need collision resistance, which is always judged by today's rules:
/// MD5, RIPEMD-160 and SHA-1 data signatures stay rejected whatever date is
/// given, as sqv rejects them.
pub fn as_of(as_of: Option<Time>) -> StandardPolicy<'static> {
    let mut p = standard();
    if let Some(t) = as_of {
        let t = clock::to_system(t);
        for h in HashAlgorithm::variants() {
            let sec = HashAlgoSecurity::SecondPreImageResistance;
            if p.hash_cutoff(h, sec).is_some_and(|cutoff| cutoff > t) {
                p.accept_hash_property(h, sec);
            }
        }
    }
    p
}

/// The standard policy, except that SHA-1 is accepted where only second
/// pre-image resistance matters (self-signatures on the 2016–2018 keys).
/// SHA-1 data signatures stay rejected.
pub fn lenient() -> StandardPolicy<'static> {
    let mut p = standard();
    p.accept_hash_property(
        HashAlgorithm::SHA1,
        HashAlgoSecurity::SecondPreImageResistance,
    );
    p
}
