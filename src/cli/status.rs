use clap::Args;

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Fingerprint, key id or cycle; omitted: every key
    pub key: Option<String>,
    /// Monitoring mode: exit 0 ok, 1 warning, 2 critical (3 when it cannot tell)
    #[arg(long)]
    pub check: bool,
}
