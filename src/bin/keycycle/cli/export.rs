use clap::{Args, Subcommand, ValueEnum};
use std::path::PathBuf;

use super::{IdentityArgs, KeyArg, OutputArgs, PassphraseArgs};

#[derive(Debug, Subcommand)]
pub enum ExportCommand {
    /// The public certificate (never secret material)
    ///
    /// Example: keycycle export public 2027.1 --format releases -o 0x<fpr>.txt
    Public(ExportPublicArgs),
    /// Only the signing subkey's secret, the primary as a gpg stub (sec#), for the CI signing node
    ///
    /// Example: keycycle export signing-subkey 2027.1 --identity me.agekey -o subkey.asc
    SigningSubkey(ExportSubkeyArgs),
    /// A static page for the release documentation: every key, a timeline, how to verify
    ///
    /// Writes DIR/index.html and DIR/keys/0x<fpr>.asc; no JavaScript, no external resources.
    ///
    /// Example: keycycle export page -o site/keys   (or, without a vault: keycycle export page --from-files doc/source/static/*.txt -o site/keys)
    Page(ExportPageArgs),
}

#[derive(Debug, Args)]
pub struct ExportPageArgs {
    /// Write index.html and keys/ into this directory (created if missing)
    #[arg(short, long, value_name = "DIR")]
    pub output: PathBuf,
    /// Every certificate in these files instead of the vault's keys (no vault needed)
    #[arg(long, value_name = "FILE", num_args = 1..)]
    pub from_files: Vec<PathBuf>,
    /// The roots' certificates, to check and name their certifications (with --from-files)
    #[arg(long, value_name = "FILE", requires = "from_files")]
    pub roots: Vec<PathBuf>,
    /// The page's title (default: "<organisation> release signing keys")
    #[arg(long, value_name = "TEXT")]
    pub title: Option<String>,
    /// Replace existing files in DIR
    #[arg(long)]
    pub overwrite: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum SubkeyFormat {
    /// ASCII-armored transferable secret key
    Armor,
    /// YAML for a private hiera file, the armored key under --hiera-key
    Hiera,
}

#[derive(Debug, Args)]
pub struct ExportSubkeyArgs {
    #[command(flatten)]
    pub key: KeyArg,
    #[arg(long, value_enum, default_value = "armor")]
    pub format: SubkeyFormat,
    /// The YAML key for --format hiera
    #[arg(long, default_value = "releases_signing_key", value_name = "NAME")]
    pub hiera_key: String,
    #[command(flatten)]
    pub ids: IdentityArgs,
    #[command(flatten)]
    pub passphrase: PassphraseArgs,
    /// age-encrypt the output to this recipient (age1…, ssh-…, @FILE; repeatable)
    #[arg(long, value_name = "RECIPIENT", conflicts_with = "passphrase_file")]
    pub age_recipient: Vec<String>,
    #[command(flatten)]
    pub out: OutputArgs,
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
    #[command(flatten)]
    pub key: KeyArg,
    #[arg(long, value_enum, default_value = "armor")]
    pub format: PublicFormat,
    #[command(flatten)]
    pub out: OutputArgs,
}
