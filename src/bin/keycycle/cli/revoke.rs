use clap::Args;

use super::{IdentityArgs, PublishAfterArgs};

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Fingerprint, key id or cycle of the key to revoke; omitted: asked
    /// (with --batch: an error)
    #[arg(value_name = "KEY")]
    pub key: Option<String>,
    /// compromised (voids every signature), superseded, retired, unspecified
    #[arg(long)]
    pub reason: String,
    /// Why, for the people who will read the revocation
    #[arg(long)]
    pub message: String,
    /// Revoke only this subkey
    #[arg(long, value_name = "FPR")]
    pub subkey: Option<String>,
    /// The master is lost: publish an escrowed revocation made at creation —
    /// with --reason compromised the hard one, with --reason retired the
    /// newest dated soft one not after now
    #[arg(long, conflicts_with = "subkey")]
    pub escrowed_certificate: bool,
    #[command(flatten)]
    pub ids: IdentityArgs,
    /// Do not ask for confirmation (required with --batch)
    #[arg(long)]
    pub yes: bool,
    #[command(flatten)]
    pub publish: PublishAfterArgs,
}
