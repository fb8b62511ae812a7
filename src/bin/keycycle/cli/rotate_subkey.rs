use clap::{Args, ValueEnum};

use super::{IdentityArgs, KeyArg};

#[derive(Debug, Args)]
pub struct RotateArgs {
    #[command(flatten)]
    pub key: KeyArg,
    /// Why the old signing subkey goes: compromised (every signature it ever
    /// made becomes invalid) or superseded (signatures made before now stay
    /// valid). No default: asked at a terminal, required with --batch
    #[arg(long, value_enum)]
    pub reason: Option<RotateReason>,
    /// Why, in words (goes into the revocation of the old subkey)
    #[arg(long)]
    pub message: String,
    #[command(flatten)]
    pub ids: IdentityArgs,
}

/// The reason the old signing subkey is revoked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RotateReason {
    /// The subkey may be exposed: void every signature it ever made
    Compromised,
    /// Routine replacement: signatures made before now stay valid
    Superseded,
}
