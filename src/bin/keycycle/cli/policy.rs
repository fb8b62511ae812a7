use clap::{Args, Subcommand};
use std::path::PathBuf;

use super::PassphraseArgs;

#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Show exactly what the roots are asked to sign: the pending version (else the one in force), recipients included
    ///
    /// Example: keycycle policy show
    Show {
        /// This version instead
        #[arg(value_name = "N")]
        number: Option<u32>,
    },
    /// Which version is in force, which signatures a pending one still needs, what differs from the drafts
    ///
    /// Example: keycycle policy status
    Status,
    /// Write version 1 from the roster and the vault's keys, for a vault made before policies; pins it here
    ///
    /// Example: keycycle policy init   (then every root: keycycle policy pin DIGEST, and signs it)
    Init,
    /// Write the next version from the drafts (roster/roster.toml, [escrow] and [policy] threshold, new keys)
    ///
    /// Example: keycycle policy propose   (then M roots, and the new roots, sign: keycycle policy sign --with-key me.asc)
    Propose {
        /// When the new version stops sealing secrets (default: one year after --time); proposing only a new date renews the policy
        #[arg(long, value_name = "DATE")]
        expires: Option<String>,
    },
    /// Sign the pending version (or --policy-version N) with your own OpenPGP key
    ///
    /// Example: keycycle policy sign --with-key my-secret.asc   (or: gpg --armor --detach-sign -o policy/v2.sig/FPR.asc policy/v2.toml)
    Sign(PolicySignArgs),
    /// Pin the vault's policy version 1 on this machine, after comparing its digest out of band
    ///
    /// Example: keycycle policy pin sha256:3f1c…
    Pin {
        /// The digest your roots recorded (`sha256:…`, as `policy status` prints it)
        digest: String,
    },
}

#[derive(Debug, Args)]
pub struct PolicySignArgs {
    /// Your own secret key (e.g. `gpg --export-secret-keys --armor YOU`)
    #[arg(long, value_name = "FILE")]
    pub with_key: PathBuf,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Sign this version (default: the pending one)
    #[arg(long = "policy-version", value_name = "N")]
    pub number: Option<u32>,
}
