use clap::Args;
use std::path::PathBuf;

use super::{OutputArgs, PassphraseArgs};

#[derive(Debug, Args)]
pub struct CertifyArgs {
    /// The key to certify: a certificate file, or a key in the vault
    pub target: String,
    /// Your own secret key (e.g. `gpg --export-secret-keys --armor YOU`); with --card, your public cert is enough
    #[arg(long, value_name = "FILE", required_unless_present = "card")]
    pub with_key: Option<PathBuf>,
    /// Sign with your OpenPGP card (your key in its signature slot; user PIN from --pin-file, KEYCYCLE_PIN or a prompt); without --with-key your cert is the roster's
    #[arg(long)]
    pub card: bool,
    /// The fingerprint you were told out of band (required with --batch)
    #[arg(long, value_name = "FPR")]
    pub fingerprint: Option<String>,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}
