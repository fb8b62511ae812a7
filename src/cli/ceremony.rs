use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CeremonyArgs {
    /// The cycle (interactive default: next)
    #[arg(long)]
    pub cycle: Option<String>,
    /// The roster shown is correct and the roots are present
    #[arg(long)]
    pub confirm_roster: bool,
    /// The fingerprint has been read aloud to the roots
    #[arg(long)]
    pub fingerprint_read: bool,
    /// Escrow identity of a root present (drill, cross-sign, subkey export; repeatable)
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Keyserver to publish to (repeatable; default: keycycle.toml's)
    #[arg(long, value_name = "URL")]
    pub keyserver: Vec<String>,
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
    /// Seconds before a keyserver request gives up
    #[arg(long, default_value = "20", value_name = "SECS")]
    pub timeout: u64,
}
