//! keycycle: the lifecycle of a per-cycle OpenPGP release-signing key.
//!
//! The library never prints, never prompts and never reads the clock: the
//! binary decides what "now" is (`--time`) and how to talk to people.

pub mod attest;
pub mod audit;
#[cfg(feature = "card")]
pub mod card;
pub mod ceremony;
pub mod certinfo;
pub mod clock;
pub mod config;
pub mod error;
pub mod escrow;
pub mod escrow_plugin;
pub mod fuzzing;
pub mod keygen;
pub mod lifecycle;
pub mod maintain;
pub mod party;
pub mod publish;
pub mod roster;
pub mod schedule;
pub mod status;
pub mod subkey;
pub mod token;
pub mod vault;

pub use error::{Error, Result};
pub mod sign;
pub mod verify;
