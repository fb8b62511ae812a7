use clap::Args;
use std::path::PathBuf;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Files to check against FILE.asc, .sig or .gpg (or --signature); a cleartext-signed FILE (InRelease, .dsc) is checked in place; a signature given as FILE is checked with the file it signs
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Certificates to trust: a cycle key, a keyring of any size (binary or armored), or a folder of keys (repeatable; every regular file directly in it is read and every certificate in them trusted; symbolic links there are skipped, not followed); default: the vault's keys
    #[arg(long, value_name = "FILE")]
    pub cert: Vec<PathBuf>,
    /// The detached signature (one input file only)
    #[arg(long, value_name = "FILE")]
    pub signature: Option<PathBuf>,
    /// Judge the hashes of key bindings as of this date (old keys with SHA-1 self-signatures); data signatures keep today's rules
    #[arg(long, value_name = "DATE")]
    pub policy_as_of: Option<String>,
    /// A file passes when at least N distinct certificates made good signatures over it
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..))]
    pub signers: u16,
    /// Verify every file under the given directories (each signature checked with its file, never as a file of its own)
    #[arg(short, long)]
    pub recursive: bool,
    /// Write the verified text of a cleartext-signed FILE here, only when it passes (one input file only)
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Check this signed checksum manifest (SHA256SUMS with SHA256SUMS.asc, .sig or .gpg beside it, or cleartext-signed), then every file it lists; every file given, or under a directory given, must be listed
    #[arg(long, value_name = "MANIFEST", conflicts_with_all = ["signature", "output", "policy_as_of"])]
    pub manifest: Option<PathBuf>,
}
