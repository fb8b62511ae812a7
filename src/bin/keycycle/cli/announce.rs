use clap::Args;

use super::{IdentityArgs, OutputArgs};

#[derive(Debug, Args)]
pub struct AnnounceArgs {
    /// Fingerprint, key id or cycle; omitted: the next cycle's key
    pub key: Option<String>,
    #[command(flatten)]
    pub ids: IdentityArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}
