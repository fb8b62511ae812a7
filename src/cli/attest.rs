use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CrossSignArgs {
    /// The previous cycle's key (fingerprint, key id or cycle)
    #[arg(long, value_name = "KEY")]
    pub from: String,
    /// The new cycle's key
    #[arg(long, value_name = "KEY")]
    pub to: String,
    /// Identity that opens the old key's escrow (repeatable)
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CertifyArgs {
    /// The key to certify: a certificate file, or a key in the vault
    pub target: String,
    /// Your own secret key (e.g. `gpg --export-secret-keys --armor YOU`)
    #[arg(long, value_name = "FILE")]
    pub with_key: PathBuf,
    /// The fingerprint you were told out of band (required with --batch)
    #[arg(long, value_name = "FPR")]
    pub fingerprint: Option<String>,
    /// Passphrase of your key, if it has one
    #[arg(long, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,
    /// Write the certified cert here (default: standard output)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace an existing output file
    #[arg(long)]
    pub overwrite: bool,
}

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
        /// Keyserver (repeatable; default: keycycle.toml's [publish] keyservers)
        #[arg(long, value_name = "URL")]
        keyserver: Vec<String>,
        /// Seconds before a keyserver request gives up
        #[arg(long, default_value = "20", value_name = "SECS")]
        timeout: u64,
    },
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    /// Fingerprint, key id or cycle; omitted: the current cycle's key
    pub key: Option<String>,
    /// Keyserver (repeatable; default: keycycle.toml's [publish] keyservers)
    #[arg(long, value_name = "URL")]
    pub keyserver: Vec<String>,
    /// Also write a Web Key Directory (advanced layout) under DIR
    #[arg(long, value_name = "DIR")]
    pub wkd: Option<PathBuf>,
    /// Only write the WKD, send nothing
    #[arg(long, requires = "wkd")]
    pub no_keyserver: bool,
    /// Seconds before a keyserver request gives up
    #[arg(long, default_value = "20", value_name = "SECS")]
    pub timeout: u64,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SheetFormat {
    Text,
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum PartyCommand {
    /// The keysigning-party list: numbered keys, UIDs, grouped fingerprints, checksum
    ///
    /// Example: keycycle party sheet 2027.1 roots/*.asc --format markdown
    Sheet {
        /// Certificate files or vault keys
        #[arg(required = true, value_name = "KEY")]
        keys: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: SheetFormat,
    },
}
