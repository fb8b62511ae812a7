use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Certificate files (armored or binary; openstack/releases .txt files too)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}
