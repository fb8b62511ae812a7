//! The ground floor, importing nothing of the domain: files read and
//! written safely ([`fs`]), text made safe to display ([`text`]), time
//! ([`clock`]), the error type ([`error`]), bounded reads ([`bounded`]) and
//! every OpenPGP `StandardPolicy` ([`openpgp_policy`]).

pub mod bounded;
pub mod clock;
pub mod error;
pub mod fs;
pub mod openpgp_policy;
pub mod text;
