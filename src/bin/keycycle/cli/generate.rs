use clap::Args;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    /// Release id (2027.1), series name (indri), current or next
    #[arg(long)]
    pub cycle: Option<String>,
    /// ed25519 (default), rsa2048, rsa3072 or rsa4096
    #[arg(long, value_name = "SUITE")]
    pub cipher_suite: Option<String>,
    /// Escrow also to this recipient: age1…, ssh-ed25519 …, ssh-rsa … or @FILE (repeatable)
    #[arg(long, value_name = "RECIPIENT")]
    pub escrow_recipient: Vec<String>,
    /// Add an encryption subkey too
    #[arg(long)]
    pub encryption_subkey: bool,
    /// Make a key even if the vault holds one for this cycle
    #[arg(long)]
    pub force: bool,
}
