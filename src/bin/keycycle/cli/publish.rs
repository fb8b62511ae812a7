use clap::Args;
use std::path::PathBuf;

use super::{KeyArg, KeyserverArgs};

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub key: KeyArg,
    #[command(flatten)]
    pub servers: KeyserverArgs,
    /// Also write a Web Key Directory (advanced layout) under DIR
    #[arg(long, value_name = "DIR")]
    pub wkd: Option<PathBuf>,
    /// Only write the WKD, send nothing
    #[arg(long, requires = "wkd")]
    pub no_keyserver: bool,
}
