use clap::Args;

use super::IdentityArgs;

#[derive(Debug, Args)]
pub struct CrossSignArgs {
    /// The previous cycle's key (fingerprint, key id or cycle)
    #[arg(long, value_name = "KEY")]
    pub from: String,
    /// The new cycle's key
    #[arg(long, value_name = "KEY")]
    pub to: String,
    #[command(flatten)]
    pub ids: IdentityArgs,
}
