use std::process::ExitCode;

use super::{Ctx, Outcome};
use crate::cli::AuditCommand;
use crate::ui;

pub fn run(ctx: &Ctx, cmd: &AuditCommand) -> Outcome {
    let AuditCommand::Verify = cmd;
    let vault = ctx.open_vault()?;
    let path = vault.root().join(keycycle::vault::AUDIT_FILE);
    let text = keycycle::vault::fsx::read_to_string(&path)?;
    let entries = keycycle::audit::verify(&text)?;
    ui::emit(&format!(
        "audit.log: {} entries, hash chain intact\n",
        entries.len()
    ));
    Ok(ExitCode::SUCCESS)
}
