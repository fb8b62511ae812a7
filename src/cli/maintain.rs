use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct ExtendArgs {
    /// Fingerprint, key id or cycle; omitted: the current cycle's key
    pub key: Option<String>,
    /// Extend to the expiry the policy gives this cycle
    #[arg(long, conflicts_with = "until")]
    pub cycle: Option<String>,
    /// Extend to this date
    #[arg(long, value_name = "DATE")]
    pub until: Option<String>,
    /// Publish afterwards to keycycle.toml's keyservers (or --keyserver)
    #[arg(long)]
    pub publish: bool,
    /// Keyserver for --publish (repeatable)
    #[arg(long, value_name = "URL", requires = "publish")]
    pub keyserver: Vec<String>,
    /// Identity that opens the escrow (repeatable)
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RotateArgs {
    /// Fingerprint, key id or cycle; omitted: the current cycle's key
    pub key: Option<String>,
    /// Why (goes into the superseded revocation)
    #[arg(long)]
    pub message: String,
    /// Identity that opens the escrow (repeatable)
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// Fingerprint, key id or cycle; omitted: the current cycle's key
    pub key: Option<String>,
    /// compromised (voids every signature), superseded, retired, unspecified
    #[arg(long)]
    pub reason: String,
    /// Why, for the people who will read the revocation
    #[arg(long)]
    pub message: String,
    /// Revoke only this subkey
    #[arg(long, value_name = "FPR")]
    pub subkey: Option<String>,
    /// The master is lost: publish an escrowed revocation made at creation —
    /// with --reason compromised the hard one, with --reason retired the
    /// newest dated soft one not after now
    #[arg(long, conflicts_with = "subkey")]
    pub escrowed_certificate: bool,
    /// Identity that opens the escrow (repeatable)
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Do not ask for confirmation (required with --batch)
    #[arg(long)]
    pub yes: bool,
    /// Publish the revocation to keycycle.toml's keyservers (or --keyserver)
    #[arg(long)]
    pub publish: bool,
    /// Keyserver for --publish (repeatable)
    #[arg(long, value_name = "URL", requires = "publish")]
    pub keyserver: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum EscrowCommand {
    /// The drill: prove your identity opens the escrow and that it matches the key
    ///
    /// Example: keycycle escrow verify 2027.1 --identity me.agekey
    Verify {
        /// Fingerprint, key id or cycle; omitted: every key
        key: Option<String>,
        #[arg(long, value_name = "FILE", required = true)]
        identity: Vec<PathBuf>,
    },
    /// Re-encrypt every key's escrow for the current roster
    ///
    /// Example: keycycle escrow rewrap --identity me.agekey
    Rewrap {
        #[arg(long, value_name = "FILE", required = true)]
        identity: Vec<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain
    ///
    /// Example: keycycle --vault ./vault audit verify
    Verify,
}
