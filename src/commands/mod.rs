//! One file per command: arguments → library call → output.

use std::path::PathBuf;

use keycycle::clock::Time;

pub mod attest;
pub mod card;
pub mod ceremony;
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
    /// Who is acting, for the audit log.
    pub operator: Option<String>,
}

impl Ctx {
    /// The vault, with the operator's name for its audit log.
    pub fn open_vault(&self) -> keycycle::Result<keycycle::vault::Vault> {
        Ok(keycycle::vault::Vault::open(&self.vault)?.with_operator(self.operator.clone()))
    }

    /// The vault, locked for a command that changes it.
    pub fn lock_vault(&self, command: &str) -> keycycle::Result<keycycle::vault::Vault> {
        self.open_vault()?.lock(command)
    }
}

/// How a command ended when it did not fail.
pub type Outcome = keycycle::Result<std::process::ExitCode>;
