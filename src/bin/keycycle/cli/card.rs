use clap::{Args, Subcommand};
use std::path::PathBuf;

use super::{IdentityArgs, KeyArg};

#[derive(Debug, Subcommand)]
pub enum CardCommand {
    /// Show what the inserted OpenPGP card holds and whether it matches the vault
    ///
    /// Example: keycycle card status
    Status(CardStatusArgs),
    /// Write a cycle key's primary (certify) key onto an OpenPGP card, opened from the escrow
    ///
    /// Example: keycycle --batch card load 2027.1 --identity me.agekey --admin-pin-file admin-pin.txt
    Load(CardLoadArgs),
}

#[derive(Debug, Args)]
pub struct CardStatusArgs {
    /// The card's ident (MMMM:SSSSSSSS); omitted: every card present
    #[arg(long, value_name = "IDENT")]
    pub card: Option<String>,
}

#[derive(Debug, Args)]
pub struct CardLoadArgs {
    #[command(flatten)]
    pub key: KeyArg,
    #[command(flatten)]
    pub ids: IdentityArgs,
    /// The card's admin PIN, on the file's first line (else asked; required with --batch)
    #[arg(long, value_name = "FILE")]
    pub admin_pin_file: Option<PathBuf>,
    /// The card's ident (MMMM:SSSSSSSS), when several cards are present
    #[arg(long, value_name = "IDENT")]
    pub card: Option<String>,
    /// Replace another key in the card's signature slot
    #[arg(long)]
    pub overwrite: bool,
}
