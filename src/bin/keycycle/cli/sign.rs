use clap::Args;
use std::path::PathBuf;

use super::{IdentityArgs, PassphraseArgs};

#[derive(Debug, Args)]
pub struct SignArgs {
    /// Files to sign (FILE.asc is written next to each)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// The exported signing subkey (`keycycle export signing-subkey`)
    #[arg(long, value_name = "FILE", conflicts_with = "identity")]
    pub key: Option<PathBuf>,
    /// Without --key: sign with this vault key (default: the current cycle's), opened with --identity
    #[arg(long = "with", value_name = "KEY", conflicts_with = "key")]
    pub with_key: Option<String>,
    #[command(flatten)]
    pub ids: IdentityArgs,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// Write the signature here (one input file only)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace existing signatures (otherwise they are kept)
    #[arg(long)]
    pub overwrite: bool,
    /// Sign every file under the given directories
    #[arg(short, long)]
    pub recursive: bool,
    /// Instead of one signature per file: write this checksum manifest of the files (coreutils format, `sha256sum -c` reads it; names relative to its directory; directories given are listed whole) and one signature over it, MANIFEST.asc
    #[arg(long, value_name = "MANIFEST", conflicts_with = "output")]
    pub manifest: Option<PathBuf>,
    /// With --manifest: cleartext-sign the manifest in place instead of writing MANIFEST.asc
    #[arg(long, requires = "manifest")]
    pub clearsign: bool,
}
