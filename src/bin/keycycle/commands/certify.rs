use std::process::ExitCode;

use sequoia_openpgp::crypto::Signer;
use sequoia_openpgp::Cert;

use keycycle::base::fs::atomic;
use keycycle::custody::{self, own_key};
use keycycle::{cert, policy::attest, Error};

use super::{Ctx, Outcome};
use crate::cli::CertifyArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &CertifyArgs) -> Outcome {
    let path = std::path::Path::new(&args.target);
    let target = if path.is_file() {
        cert::read_cert_file(path)?.remove(0)
    } else {
        let vault = ctx.open_vault()?;
        ctx.find_key(&vault, Some(&args.target))?.cert
    };
    let target = target.strip_secret_key_material();
    let fpr = target.fingerprint();
    let uids: Vec<String> = target
        .userids()
        .map(|u| cert::uid_text(u.userid()))
        .collect();
    let typed = match &args.fingerprint {
        Some(f) => f.clone(),
        None => {
            ui::say(&format!(
                "Key to certify:\n  {}\n  {}",
                uids.join("\n  "),
                cert::grouped(&fpr)
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
                cert::grouped(&fpr)
            ),
            "do not certify: compare with the fingerprint the key's owner gave you out of band",
        ));
    }
    let (mine, mut signer) = my_signer(ctx, args)?;
    if let Some(why) = cert::cannot_certify(&mine, keycycle::base::clock::to_system(ctx.at)) {
        return Err(Error::input(
            format!(
                "your key {} cannot certify at {}: {why}",
                cert::label(&mine),
                keycycle::base::clock::day(ctx.at)
            ),
            "a certification by a key that is not alive counts for nobody (sqv and keycycle ignore it); extend your key first (keycycle extend / gpg --quick-set-expire) or certify with your current key",
        ));
    }
    let certified = attest::certify_all(&mut *signer, &target, ctx.at)?;
    let bytes = cert::armored_public(&certified)?;
    ui::write_to(&args.out, &bytes, atomic::PUBLIC_MODE)?;
    if args.out.output.is_some() {
        ui::say(&format!(
            "Certified {} user ID(s) of {} with {}{}. Send the file back or import it: keycycle attestations import FILE",
            uids.len(),
            fpr,
            cert::primary_uid(&mine),
            if args.card { " (on your OpenPGP card)" } else { "" }
        ));
    }
    Ok(ExitCode::SUCCESS)
}

/// Your cert and your primary as a signer: from `--with-key` (a secret key
/// file), or with `--card` from your OpenPGP card — your cert then from
/// `--with-key` (public is enough) or, without it, the vault roster's cert
/// of the key in the card's signature slot.
fn my_signer(
    ctx: &Ctx,
    args: &CertifyArgs,
) -> keycycle::Result<(Cert, Box<dyn Signer + Send + Sync>)> {
    if !args.card {
        let path = args.with_key.as_deref().ok_or_else(|| {
            Error::input(
                "say which key certifies",
                "pass --with-key YOUR-SECRET-KEY.asc, or --card",
            )
        })?;
        let mine = cert::read_cert_file(path)?.remove(0);
        let passphrase = match &args.passphrase.passphrase_file {
            Some(p) if own_key::needs_passphrase(&mine) => Some(custody::read_passphrase(p)?),
            _ => None,
        };
        let signer = own_key::signer(&mine, path, passphrase.as_ref())?;
        return Ok((mine, Box::new(signer)));
    }
    let mine = match &args.with_key {
        Some(path) => cert::read_cert_file(path)?
            .remove(0)
            .strip_secret_key_material(),
        None => {
            let fpr = own_key::card_key_fingerprint()?;
            let vault = ctx.open_vault().map_err(|_| {
                Error::input(
                    "no vault to find your cert in",
                    "pass --with-key YOUR-PUBLIC-CERT.asc (your public cert is enough with --card)",
                )
            })?;
            keycycle::policy::roster::cert(&vault, &fpr)?
                .filter(|c| c.fingerprint().to_hex() == fpr)
                .ok_or_else(|| {
                    Error::input(
                        format!("the key on the OpenPGP card, {fpr}, has no cert on the roster"),
                        "pass --with-key YOUR-PUBLIC-CERT.asc (your public cert is enough with --card)",
                    )
                })?
        }
    };
    let signer = own_key::card_signer(&mine)?;
    Ok((mine, signer))
}
