//! A key's dates as its own signatures say them: the creation time of the
//! primary key and the expiry of its newest self-signature. `state.toml`
//! repeats them for people, but anyone with commit access can edit it, so
//! every decision reads them from the certificate.

use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};

/// The signed dates of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedDates {
    pub created: Time,
    /// `None`: no self-signature gives the key an expiry.
    pub expires: Option<Time>,
}

/// The dates `cert` signs for itself, judged at its newest self-signature
/// (an extension adds a newer one; no clock is read).
pub fn signed_dates(cert: &Cert) -> SignedDates {
    let created = clock::from_system(cert.primary_key().key().creation_time());
    let primary = cert.primary_key();
    let newest = primary
        .self_signatures()
        .chain(cert.userids().flat_map(|u| u.self_signatures()))
        .filter_map(|s| s.signature_creation_time())
        .max();
    let policy = crate::base::openpgp_policy::lenient();
    let expires = newest.and_then(|t| {
        let vc = cert.with_policy(&policy, t).ok()?;
        vc.primary_key()
            .key_expiration_time()
            .map(clock::from_system)
    });
    SignedDates { created, expires }
}
