use std::process::ExitCode;

use clap::CommandFactory;

use super::{Ctx, Outcome};
use crate::cli::{Cli, CompletionsArgs};
use crate::ui;

pub fn run(_ctx: &Ctx, args: &CompletionsArgs) -> Outcome {
    let mut cmd = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "keycycle", &mut out);
    ui::emit(&String::from_utf8_lossy(&out));
    Ok(ExitCode::SUCCESS)
}
