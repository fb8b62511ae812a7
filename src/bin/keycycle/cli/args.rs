//! Argument groups several commands share, each defined once and
//! flattened where used.

use clap::Args;
use std::path::PathBuf;

/// The vault key a command acts on.
#[derive(Debug, Args)]
pub struct KeyArg {
    /// Fingerprint, key id or cycle; omitted: the current cycle's key
    #[arg(value_name = "KEY")]
    pub key: Option<String>,
}

impl KeyArg {
    pub fn get(&self) -> Option<&str> {
        self.key.as_deref()
    }
}

/// `--identity FILE…`: what opens a key's escrow.
#[derive(Debug, Args)]
pub struct IdentityArgs {
    /// Escrow identity: an age identity file, an SSH private key, or a share file its holder decrypted (repeatable)
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// File holding the passphrase of a passphrase-protected SSH --identity (a trailing newline is ignored); else asked
    #[arg(long, value_name = "FILE")]
    pub identity_passphrase_file: Option<PathBuf>,
}

impl IdentityArgs {
    /// The identities `paths` (`--identity`, or asked for), with this
    /// passphrase file.
    pub fn load_paths(&self, paths: &[PathBuf]) -> keycycle::Result<keycycle::custody::Identities> {
        crate::ui::token::identities(paths, self.identity_passphrase_file.as_deref())
    }

    /// The `--identity` files.
    pub fn load(&self) -> keycycle::Result<keycycle::custody::Identities> {
        self.load_paths(&self.identity)
    }
}

/// `-o FILE` and `--overwrite`: where a command writes its result.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Write to FILE instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace FILE if it exists
    #[arg(long)]
    pub overwrite: bool,
}

/// `--passphrase-file FILE`.
#[derive(Debug, Args)]
pub struct PassphraseArgs {
    /// File holding the passphrase (a trailing newline is ignored)
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
}

/// `--keyserver URL…` and `--timeout SECS`.
#[derive(Debug, Args)]
pub struct KeyserverArgs {
    /// Keyserver (repeatable; default: keycycle.toml's [publish] keyservers)
    #[arg(long, value_name = "URL")]
    pub keyserver: Vec<String>,
    /// Seconds before a keyserver request gives up
    #[arg(long, default_value = "20", value_name = "SECS")]
    pub timeout: u64,
}

/// `--publish [--keyserver URL…]` after a change.
#[derive(Debug, Args)]
pub struct PublishAfterArgs {
    /// Publish afterwards to keycycle.toml's keyservers (or --keyserver)
    #[arg(long)]
    pub publish: bool,
    /// Keyserver for --publish (repeatable)
    #[arg(long, value_name = "URL", requires = "publish")]
    pub keyserver: Vec<String>,
}
