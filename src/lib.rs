//! keycycle: the lifecycle of a per-cycle OpenPGP release-signing key.
//!
//! The library never prints, never prompts and never reads the clock: the
//! binary decides what "now" is (`--time`) and how to talk to people.
//! Secret keys are opened, turned into signers and stored back only in
//! [`custody`].

pub mod base;
pub mod ceremony;
pub mod cert;
pub mod custody;
pub mod policy;
pub mod publish;
pub mod sign;
pub mod status;
pub mod vault;
pub mod verify;

pub use base::error::{Error, Result};
