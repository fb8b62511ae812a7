//! One file per command: arguments → library call → output.

use std::path::PathBuf;

use keycycle::clock::Time;

pub mod attest;
pub mod cycles;
pub mod export;
pub mod generate;
pub mod init;
pub mod inspect;
pub mod maintain;
pub mod party;
pub mod publish;
pub mod roster;
pub mod sign;
pub mod status;
pub mod verify;

/// What every command gets from the global options.
pub struct Ctx {
    pub vault: PathBuf,
    pub batch: bool,
    pub json: bool,
    pub at: Time,
    pub verbose: u8,
}

/// How a command ended when it did not fail.
pub type Outcome = keycycle::Result<std::process::ExitCode>;
