use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct AnnounceArgs {
    /// Fingerprint, key id or cycle; omitted: the next cycle's key
    pub key: Option<String>,
    /// Identity that opens the escrow of both keys (age identity or SSH private key; repeatable)
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Write the signed announcement here instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace an existing output file
    #[arg(long)]
    pub overwrite: bool,
}
