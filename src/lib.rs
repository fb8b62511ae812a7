//! keycycle: the lifecycle of a per-cycle OpenPGP release-signing key.
//!
//! The library never prints, never prompts and never reads the clock: the
//! binary decides what "now" is (`--time`) and how to talk to people.
//! Secret keys are opened, turned into signers and stored back only in
//! [`custody`].

pub mod announce;
pub mod base;
pub mod ceremony;
pub mod cert;
pub mod config;
pub mod custody;
pub mod generate;
pub mod page;
pub mod policy;
pub mod publish;
pub mod schedule;
pub mod sign;
pub mod status;
pub mod vault;
pub mod verify;

/// Entry points for the fuzz targets; test scaffolding, built only with
/// the `fuzzing` feature (the fuzz crate and the test suite enable it).
#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use base::error::{Error, Result};
