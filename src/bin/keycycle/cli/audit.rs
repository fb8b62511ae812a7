use clap::Subcommand;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain
    ///
    /// Example: keycycle --vault ./vault audit verify
    Verify,
}
