use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Fingerprint, key id or cycle; omitted: every key
    pub key: Option<String>,
    /// Monitoring mode: exit 0 ok, 1 warning, 2 critical (3 when it cannot tell)
    #[arg(long)]
    pub check: bool,
    /// Output: text (default), json (as --json), or openmetrics (Prometheus'
    /// exposition format, for node_exporter's textfile collector)
    #[arg(long, value_enum)]
    pub format: Option<StatusFormat>,
}

/// What `status` prints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    Text,
    Json,
    Openmetrics,
}
