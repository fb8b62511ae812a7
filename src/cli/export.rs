use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The public certificate (never secret material)
    ///
    /// Example: keycycle export public 2027.1 --format releases -o 0x<fpr>.txt
    Public(ExportPublicArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PublicFormat {
    /// ASCII-armored certificate
    Armor,
    /// openstack/releases doc/source/static/0x<fpr>.txt: listing + armored key
    Releases,
}

#[derive(Debug, Args)]
pub struct ExportPublicArgs {
    /// Fingerprint, key id or cycle; omitted: the current cycle's key
    pub key: Option<String>,
    #[arg(long, value_enum, default_value = "armor")]
    pub format: PublicFormat,
    /// Write here instead of standard output
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Replace an existing output file
    #[arg(long)]
    pub overwrite: bool,
}
