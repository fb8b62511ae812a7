use clap::Args;
use std::path::PathBuf;

use super::{IdentityArgs, KeyserverArgs};

#[derive(Debug, Args)]
pub struct CeremonyArgs {
    /// The cycle (interactive default: the current cycle if it has no key yet, else the next)
    #[arg(long)]
    pub cycle: Option<String>,
    /// The roster shown is correct and the roots are present
    #[arg(long)]
    pub confirm_roster: bool,
    /// The fingerprint has been read aloud to the roots
    #[arg(long)]
    pub fingerprint_read: bool,
    #[command(flatten)]
    pub ids: IdentityArgs,
    #[command(flatten)]
    pub servers: KeyserverArgs,
    /// Do not publish now (the step stays open)
    #[arg(long, conflicts_with = "keyserver")]
    pub no_publish: bool,
    /// The previous cycle's releases are done: hand the signing subkey to CI now
    #[arg(long)]
    pub releases_done: bool,
    /// Where to write the signing subkey for CI (mode 0600)
    #[arg(long, value_name = "FILE")]
    pub subkey_out: Option<PathBuf>,
    /// Where to write the public exports (default: VAULT/exports)
    #[arg(long, value_name = "DIR")]
    pub exports: Option<PathBuf>,
}
