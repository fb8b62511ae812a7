use clap::Args;

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Replace an existing keycycle.toml
    #[arg(long)]
    pub force: bool,
    /// Print the default configuration instead of writing it
    #[arg(long)]
    pub print: bool,
}
