use clap::Args;

use super::{IdentityArgs, KeyArg};

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub key: KeyArg,
    /// Why (goes into the superseded revocation)
    #[arg(long)]
    pub message: String,
    #[command(flatten)]
    pub ids: IdentityArgs,
}
