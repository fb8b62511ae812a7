use std::process::ExitCode;

use keycycle::cert;
use keycycle::cert::party;

use super::{Ctx, Outcome};
use crate::cli::{PartyCommand, SheetFormat};
use crate::ui;

pub fn run(ctx: &Ctx, cmd: &PartyCommand) -> Outcome {
    let PartyCommand::Sheet { keys, format } = cmd;
    let mut certs = Vec::new();
    for k in keys {
        let p = std::path::Path::new(k);
        if p.is_file() {
            certs.extend(cert::read_cert_file(p)?);
        } else {
            let vault = ctx.open_vault()?;
            certs.push(ctx.find_key(&vault, Some(k))?.cert);
        }
    }
    ui::emit(&party::sheet(
        &certs,
        ctx.at,
        matches!(format, SheetFormat::Markdown),
    ));
    Ok(ExitCode::SUCCESS)
}
