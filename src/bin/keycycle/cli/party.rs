use clap::{Subcommand, ValueEnum};

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SheetFormat {
    Text,
    Markdown,
}

#[derive(Debug, Subcommand)]
pub enum PartyCommand {
    /// The keysigning-party list: numbered keys, UIDs, grouped fingerprints, checksum
    ///
    /// Example: keycycle party sheet 2027.1 roots/*.asc --format markdown
    Sheet {
        /// Certificate files or vault keys
        #[arg(required = true, value_name = "KEY")]
        keys: Vec<String>,
        #[arg(long, value_enum, default_value = "text")]
        format: SheetFormat,
    },
}
