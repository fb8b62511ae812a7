use clap::Subcommand;

use super::IdentityArgs;

#[derive(Debug, Subcommand)]
pub enum EscrowCommand {
    /// The drill: prove your identity opens the escrow and that it matches the key
    ///
    /// Example: keycycle escrow verify 2027.1 --identity me.agekey
    Verify {
        /// Fingerprint, key id or cycle; omitted: every key
        key: Option<String>,
        #[command(flatten)]
        ids: IdentityArgs,
    },
    /// Re-encrypt every key's escrow for the current roster
    ///
    /// Example: keycycle escrow rewrap --identity me.agekey
    Rewrap {
        #[command(flatten)]
        ids: IdentityArgs,
    },
}
