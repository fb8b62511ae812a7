use std::process::ExitCode;

use keycycle::vault::config::DEFAULT_CONFIG;
use keycycle::vault::Vault;

use super::{Ctx, Outcome};
use crate::cli::InitArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &InitArgs) -> Outcome {
    if args.print {
        ui::emit(DEFAULT_CONFIG);
        return Ok(ExitCode::SUCCESS);
    }
    let vault =
        Vault::init(ctx.vault_dir()?, None, args.force)?.with_operator(ctx.operator.clone());
    vault.audit(ctx.at, "init", serde_json::json!({ "config": "defaults" }))?;
    let json = serde_json::json!({ "config": vault.config_path() });
    ctx.show(&ui::Reply::new(&json, |_| {
        Ok(format!(
            "Wrote {} (OpenStack Infra defaults); edit it, then add the roots with `keycycle roster add`.\n",
            keycycle::base::text::path(vault.config_path())
        ))
    }))?;
    Ok(ExitCode::SUCCESS)
}
