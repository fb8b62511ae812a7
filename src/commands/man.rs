use std::process::ExitCode;

use clap::CommandFactory;

use super::{Ctx, Outcome};
use crate::cli::{Cli, ManArgs};
use crate::ui;

pub fn run(_ctx: &Ctx, _args: &ManArgs) -> Outcome {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(anyhow::Error::from)?;
    ui::emit(&String::from_utf8_lossy(&out));
    Ok(ExitCode::SUCCESS)
}
