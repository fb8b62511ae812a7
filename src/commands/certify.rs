use std::process::ExitCode;

use keycycle::custody::{self, own_key};
use keycycle::vault::atomic;
use keycycle::{attest, certinfo, Error};

use super::{Ctx, Outcome};
use crate::cli::CertifyArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &CertifyArgs) -> Outcome {
    let path = std::path::Path::new(&args.target);
    let target = if path.is_file() {
        certinfo::read_cert_file(path)?.remove(0)
    } else {
        let vault = ctx.open_vault()?;
        ctx.find_key(&vault, Some(&args.target))?.cert
    };
    let target = target.strip_secret_key_material();
    let fpr = target.fingerprint();
    let uids: Vec<String> = target
        .userids()
        .map(|u| certinfo::uid_text(u.userid()))
        .collect();
    let typed = match &args.fingerprint {
        Some(f) => f.clone(),
        None => {
            ui::say(&format!(
                "Key to certify:\n  {}\n  {}",
                uids.join("\n  "),
                certinfo::grouped(&fpr)
            ));
            ui::input(
                ctx.batch,
                "--fingerprint FPR",
                "Type the fingerprint you were given out of band (at least its last four groups)",
            )?
        }
    };
    if !attest::fingerprint_matches(&fpr, &typed) {
        return Err(Error::input(
            format!(
                "the fingerprint does not match: the key is {}",
                certinfo::grouped(&fpr)
            ),
            "do not certify: compare with the fingerprint the key's owner gave you out of band",
        ));
    }
    let mine = certinfo::read_cert_file(&args.with_key)?.remove(0);
    let passphrase = match &args.passphrase.passphrase_file {
        Some(p) if own_key::needs_passphrase(&mine) => Some(custody::read_passphrase(p)?),
        _ => None,
    };
    let mut signer = own_key::signer(&mine, &args.with_key, passphrase.as_ref())?;
    let certified = attest::certify_all(&mut signer, &target, ctx.at)?;
    let bytes = certinfo::armored_public(&certified)?;
    ui::write_output(
        args.out.output.as_deref(),
        &bytes,
        args.out.overwrite,
        atomic::PUBLIC_MODE,
    )?;
    if args.out.output.is_some() {
        ui::say(&format!(
            "Certified {} user ID(s) of {} with {}. Send the file back or import it: keycycle attestations import FILE",
            uids.len(),
            fpr,
            certinfo::primary_uid(&mine)
        ));
    }
    Ok(ExitCode::SUCCESS)
}
