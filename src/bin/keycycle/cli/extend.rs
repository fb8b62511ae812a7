use clap::Args;

use super::{IdentityArgs, KeyArg, PublishAfterArgs};

#[derive(Debug, Args)]
pub struct ExtendArgs {
    #[command(flatten)]
    pub key: KeyArg,
    /// Extend to the expiry the policy gives this cycle
    #[arg(long, conflicts_with = "until")]
    pub cycle: Option<String>,
    /// Extend to this date
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    #[command(flatten)]
    pub publish: PublishAfterArgs,
    #[command(flatten)]
    pub ids: IdentityArgs,
}
