use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Files to check against FILE.asc (or --signature)
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Certificates to trust: a cycle key, a keyring, or a folder of keys (repeatable); default: the vault's keys
    #[arg(long, value_name = "FILE")]
    pub cert: Vec<PathBuf>,
    /// The detached signature (one input file only)
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// Judge algorithms as of this date (for old keys with SHA-1 self-signatures); SHA-1 data signatures stay rejected
    #[arg(long, value_name = "DATE")]
    pub policy_as_of: Option<String>,
}
