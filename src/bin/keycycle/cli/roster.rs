use clap::{Args, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Subcommand)]
pub enum RosterCommand {
    /// Add a root
    ///
    /// Example: keycycle roster add --name "Ada Lovelace" --email ada@example.org --cert ada.asc --escrow-recipient @ada.pub
    Add(RosterAddArgs),
    /// List the roots
    ///
    /// Example: keycycle roster list --json
    List,
    /// Remove a root by name, e-mail or fingerprint
    ///
    /// Example: keycycle roster remove "Ada Lovelace"   (then: keycycle escrow rewrap --identity me.agekey)
    Remove {
        /// Name, e-mail or fingerprint
        who: String,
    },
}

#[derive(Debug, Args)]
pub struct RosterAddArgs {
    /// Full name
    #[arg(long)]
    pub name: String,
    /// E-mail address
    #[arg(long)]
    pub email: String,
    /// The root's own OpenPGP certificate, to check their attestations
    #[arg(long, value_name = "FILE")]
    pub cert: Option<PathBuf>,
    /// age1…, ssh-ed25519 …, ssh-rsa … or @FILE holding one
    #[arg(long, value_name = "RECIPIENT")]
    pub escrow_recipient: String,
}
