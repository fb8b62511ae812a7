use clap::Args;
use std::path::PathBuf;

use super::{OutputArgs, PassphraseArgs};

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
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}
