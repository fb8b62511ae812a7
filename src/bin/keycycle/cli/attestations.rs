use clap::Subcommand;
use std::path::PathBuf;

use super::KeyserverArgs;

#[derive(Debug, Subcommand)]
pub enum AttestationsCommand {
    /// Check and merge certifications from files (e.g. `gpg --export` after `gpg --sign-key`)
    ///
    /// Example: keycycle attestations import alice.asc bob.asc
    Import {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Fetch the vault's keys from keyservers and merge the valid certifications
    ///
    /// Example: keycycle attestations fetch --keyserver hkps://keyserver.ubuntu.com
    Fetch {
        #[command(flatten)]
        servers: KeyserverArgs,
    },
}
