//! Command-line definitions (clap derive) only; the work is in
//! `commands/`.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

mod announce;
mod args;
mod attestations;
mod audit;
mod card;
mod ceremony;
mod certify;
mod completions;
mod cross_sign;
mod cycles;
mod escrow;
mod export;
mod extend;
mod generate;
mod init;
mod inspect;
mod man;
mod party;
mod policy;
mod publish;
mod revoke;
mod roster;
mod rotate_subkey;
mod sign;
mod status;
mod verify;

pub use announce::*;
pub use args::*;
pub use attestations::*;
pub use audit::*;
pub use card::*;
pub use ceremony::*;
pub use certify::*;
pub use completions::*;
pub use cross_sign::*;
pub use cycles::*;
pub use escrow::*;
pub use export::*;
pub use extend::*;
pub use generate::*;
pub use init::*;
pub use inspect::*;
pub use man::*;
pub use party::*;
pub use policy::*;
pub use publish::*;
pub use revoke::*;
pub use roster::*;
pub use rotate_subkey::*;
pub use sign::*;
pub use status::*;
pub use verify::*;

/// The heading of the options every subcommand takes.
pub const GLOBAL: &str = "Global options";

/// The variables the global options fall back to (read in main.rs, not by
/// clap: a value clap takes from the environment shows in every usage line
/// as if it were required).
pub const VAULT_ENV: &str = "KEYCYCLE_VAULT";
pub const OPERATOR_ENV: &str = "KEYCYCLE_OPERATOR";

/// Manage per-cycle OpenPGP release-signing keys: generate, escrow, inspect
#[derive(Debug, Parser)]
#[command(
    name = "keycycle",
    version,
    propagate_version = true,
    max_term_width = 100
)]
pub struct Cli {
    /// Vault directory [default: the nearest directory upwards holding keycycle.toml, else ./vault] [env: KEYCYCLE_VAULT]
    #[arg(long, global = true, value_name = "DIR", help_heading = GLOBAL)]
    pub vault: Option<PathBuf>,

    /// Never prompt: fail naming the flag that would have answered
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub batch: bool,

    /// Machine-readable output
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub json: bool,

    /// Act as if it were this instant (2026-10-01 or 2026-10-01T12:00:00Z)
    #[arg(long, global = true, value_name = "TIME", help_heading = GLOBAL)]
    pub time: Option<String>,

    /// Say more
    #[arg(short, long, global = true, action = clap::ArgAction::Count, help_heading = GLOBAL)]
    pub verbose: u8,

    /// Your name, recorded with every change in the vault's audit log [env: KEYCYCLE_OPERATOR]
    #[arg(long, global = true, value_name = "NAME", help_heading = GLOBAL)]
    pub operator: Option<String>,

    /// A token's PIN on the file's first line: the OpenPGP card's user PIN (or an age plugin's), never prompted (else asked; with --batch, $KEYCYCLE_PIN)
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub pin_file: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write keycycle.toml with the embedded defaults into the vault
    ///
    /// Example: keycycle --vault ./vault init
    Init(InitArgs),
    /// List the cycle schedule, key-creation windows and key expiries
    ///
    /// Example: keycycle --time 2026-08-01 cycles
    Cycles(CyclesArgs),
    /// Manage the infra roots: escrow recipients and OpenPGP certs
    ///
    /// Example: keycycle roster add --name "Ada" --email ada@example.org --escrow-recipient age1…
    #[command(subcommand)]
    Roster(RosterCommand),
    /// The guided key ceremony, from generate to CI hand-off; resumable
    ///
    /// Example: keycycle ceremony   (or, unattended: keycycle --batch ceremony --cycle next --confirm-roster --fingerprint-read --identity me.agekey --releases-done --subkey-out sub.asc)
    Ceremony(CeremonyArgs),
    /// Generate a cycle key, its revocation certificates, and escrow them
    ///
    /// Example: keycycle generate --cycle next
    Generate(GenerateArgs),
    /// Show where each key stands; --check for monitoring (exit 0/1/2)
    ///
    /// Example: keycycle status --check
    Status(StatusArgs),
    /// Describe certificate files: cycle, expiry, subkeys, certifications
    ///
    /// Example: keycycle inspect keys/*.txt
    Inspect(InspectArgs),
    /// Export a key: the public certificate, or the signing subkey for CI
    ///
    /// Example: keycycle export public 2027.1 --format releases
    #[command(subcommand)]
    Export(ExportCommand),
    /// Certify the new cycle key with the previous cycle's key (its card, or the escrow)
    ///
    /// Example: keycycle cross-sign --from 2026.2 --to 2027.1 --identity me.agekey
    CrossSign(CrossSignArgs),
    /// Certify a key with your own key (a secret key file, or your OpenPGP card) after checking its fingerprint
    ///
    /// Example: keycycle certify 0x<fpr>.txt --with-key me-secret.asc -o certified.asc   (or: --card)
    Certify(CertifyArgs),
    /// Collect the roots' certifications: verify each, merge the valid ones
    ///
    /// Example: keycycle attestations import alice.asc
    #[command(subcommand)]
    Attestations(AttestationsCommand),
    /// Send the public cert to keyservers and prove it arrived; write a WKD
    ///
    /// Example: keycycle publish 2027.1 --keyserver hkps://keyserver.ubuntu.com
    Publish(PublishArgs),
    /// Write the key transition announcement, cleartext-signed by the previous and the new key
    ///
    /// The wording comes from `[announce] template` in keycycle.toml (or the embedded text);
    /// --json prints the facts it states, unsigned.
    ///
    /// Example: keycycle announce next --identity me.agekey -o announce-2027.1.txt
    Announce(AnnounceArgs),
    /// The signed vault policy: roster, escrow threshold and cycle keys, as the roots authorised them
    ///
    /// Example: keycycle policy status
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Keysigning parties
    ///
    /// Example: keycycle party sheet 2027.1 roots/*.asc
    #[command(subcommand)]
    Party(PartyCommand),
    /// Extend a key's expiry (primary and live subkeys); re-escrows (with the card: the ladder only)
    ///
    /// Example: keycycle extend 2027.1 --until 2027-08-01 --identity me.agekey
    Extend(ExtendArgs),
    /// Revoke the signing subkey (compromised or superseded) and bind a fresh one (needs the escrow)
    ///
    /// Example: keycycle rotate-subkey 2027.1 --reason compromised --message "CI node exposed" --identity me.agekey
    RotateSubkey(RotateArgs),
    /// Revoke a key or a subkey (with the master, or the escrowed certificate)
    ///
    /// Example: keycycle revoke 2027.1 --reason compromised --message "…" --identity me.agekey
    Revoke(RevokeArgs),
    /// Escrow drill and re-wrap for a changed roster
    ///
    /// Example: keycycle escrow verify --identity me.agekey
    #[command(subcommand)]
    Escrow(EscrowCommand),
    /// The hash-chained audit log
    ///
    /// Example: keycycle audit verify
    #[command(subcommand)]
    Audit(AuditCommand),
    /// OpenPGP cards: what a card holds; load a cycle key's primary onto one, which then signs for it
    ///
    /// Example: keycycle card status
    #[command(subcommand, hide = cfg!(not(feature = "card")))]
    Card(CardCommand),
    /// Make detached ASCII-armored signatures (FILE.asc) of release artifacts
    ///
    /// Example: keycycle sign --key signing-subkey.asc dist/*.tar.gz
    Sign(SignArgs),
    /// Check detached signatures before upload; exit 1 if any file fails
    ///
    /// Example: keycycle verify --cert keys/ dist/*.tar.gz
    Verify(VerifyArgs),
    /// Print shell completions
    ///
    /// Example: keycycle completions bash > /etc/bash_completion.d/keycycle
    Completions(CompletionsArgs),
    /// Print the man page, or write one page per command into a directory
    ///
    /// Example: keycycle man --output /usr/local/share/man/man1   (or: keycycle man | man -l -)
    Man(ManArgs),
}
