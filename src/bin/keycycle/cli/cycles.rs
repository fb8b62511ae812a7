use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct CyclesArgs {
    /// Show every cycle, not only the recent and upcoming ones
    #[arg(long)]
    pub all: bool,
    /// Read this openstack/releases series_status.yaml instead of the configured schedule
    #[arg(long, value_name = "FILE")]
    pub series_status: Option<PathBuf>,
    /// Schedule files (NAME.yaml) to go with --series-status
    #[arg(long, value_name = "DIR", requires = "series_status")]
    pub schedules: Option<PathBuf>,
}
