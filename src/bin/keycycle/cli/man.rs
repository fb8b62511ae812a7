use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write keycycle.1 and a page per subcommand (keycycle-ceremony.1, …) into DIR, made if missing, replacing pages there
    #[arg(long, short, value_name = "DIR")]
    pub output: Option<PathBuf>,
}
