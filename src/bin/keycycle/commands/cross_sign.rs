use std::process::ExitCode;

use keycycle::custody;
use keycycle::{cert, policy::attest, Error};

use super::{Ctx, Outcome};
use crate::cli::CrossSignArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &CrossSignArgs) -> Outcome {
    let vault = ctx.lock_vault("cross-sign")?;
    let old = ctx.find_key(&vault, Some(&args.from))?;
    let new = ctx.find_key(&vault, Some(&args.to))?;
    if old.state.fingerprint == new.state.fingerprint {
        return Err(Error::input(
            "--from and --to name the same key",
            "--from is the previous cycle's key",
        ));
    }
    if let Some(why) = cert::cannot_certify(&old.cert, keycycle::base::clock::to_system(ctx.at)) {
        return Err(Error::input(
            format!(
                "{} cannot certify at {}: {why}",
                cert::label(&old.cert),
                keycycle::base::clock::day(ctx.at)
            ),
            "a certification by a key that is not alive counts for nothing; certify with a live key (keycycle certify) or announce the new key with its fingerprint",
        ));
    }
    let ids = args.ids.load()?;
    let primary = custody::primary(&vault, &old, &ids)?;
    let certified = attest::certify_all(&mut primary.primary_signer()?, &new.cert, ctx.at)?;
    attest::save_cert(&vault, &new, &certified)?;
    let details = serde_json::json!({
        "from": old.state.fingerprint,
        "to": new.state.fingerprint,
        "with": primary.location().to_string(),
    });
    vault.audit(ctx.at, "cross-sign", details.clone())?;
    ctx.show(&ui::Reply::new(&details, |_| {
        Ok(format!(
            "{} now certifies {} (signed with the {}). Publish it: keycycle publish {}\n",
            cert::label(&old.cert),
            cert::label(&new.cert),
            primary.location(),
            new.state.cycle
        ))
    }))?;
    Ok(ExitCode::SUCCESS)
}
