use std::process::ExitCode;

use keycycle::cert;
use keycycle::policy::roster::Member;
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::{RosterAddArgs, RosterCommand};
use crate::ui;

pub fn run(ctx: &Ctx, cmd: &RosterCommand) -> Outcome {
    let vault = match cmd {
        RosterCommand::List => ctx.open_vault()?,
        _ => ctx.lock_vault("roster")?,
    };
    let mut roster = keycycle::policy::roster::load(&vault)?;
    match cmd {
        RosterCommand::Add(RosterAddArgs {
            name,
            email,
            cert,
            escrow_recipient,
        }) => {
            let cert = root_cert(ctx, cert.as_deref())?;
            let member = Member {
                name: name.clone(),
                email: email.clone(),
                fingerprint: cert.as_ref().map(|c| c.fingerprint().to_hex()),
                escrow_recipient: escrow_recipient.clone(),
            };
            roster.add(member.clone())?;
            keycycle::policy::roster::save(&vault, &roster, cert.as_ref())?;
            vault.audit(ctx.at, "roster add", serde_json::json!({ "name": name, "email": email, "fingerprint": member.fingerprint }))?;
            let added = roster.members.last().expect("just added");
            ctx.show(&ui::Reply::new(added, |_| {
                Ok(format!(
                    "Added {name} <{email}>{} to the roster ({} roots).\n",
                    member
                        .fingerprint
                        .as_ref()
                        .map(|f| format!(", cert {f}"))
                        .unwrap_or_default(),
                    roster.members.len()
                ))
            }))?;
        }
        RosterCommand::List => {
            ctx.show(&ui::Reply::new(&roster.members, |_| {
                Ok(if roster.members.is_empty() {
                    "The roster is empty; add roots with `keycycle roster add`.\n".into()
                } else {
                    list_text(&roster.members)
                })
            }))?;
        }
        RosterCommand::Remove { who } => {
            let m = roster.remove(who)?;
            keycycle::policy::roster::save(&vault, &roster, None)?;
            vault.audit(
                ctx.at,
                "roster remove",
                serde_json::json!({ "name": m.name }),
            )?;
            ctx.show(&ui::Reply::new(&m, |_| {
                Ok(format!(
                    "Removed {} from the roster. Keys escrowed earlier stay readable with their identity until re-escrowed.\n",
                    keycycle::base::text::shown(&m.name)
                ))
            }))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The root's own certificate from `--cert PATH`: one public certificate,
/// checked.
fn root_cert(
    ctx: &Ctx,
    path: Option<&std::path::Path>,
) -> keycycle::Result<Option<sequoia_openpgp::Cert>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let mut certs = cert::read_cert_file(path)?;
    if certs.len() != 1 {
        return Err(Error::input(
            format!(
                "{} holds {} certificates",
                keycycle::base::text::path(path),
                certs.len()
            ),
            "give a file with exactly the root's own certificate",
        ));
    }
    cert::check_public_cert(&certs[0], path, ctx.at)?;
    Ok(Some(certs.remove(0)))
}

/// `roster list` as text: each root, their certificate and escrow.
fn list_text(members: &[Member]) -> String {
    let mut out = String::new();
    for m in members {
        // roster.toml may be anyone's commit: names escaped, and
        // a recipient shown only once it parses as one.
        let escrow = ui::stored_recipient(m.recipient(), true);
        out.push_str(&format!(
            "{} <{}>\n  cert: {}\n  escrow: {escrow}\n",
            keycycle::base::text::shown(&m.name),
            keycycle::base::text::shown(&m.email),
            m.fingerprint
                .as_deref()
                .map(keycycle::base::text::shown)
                .unwrap_or_else(|| "none (cannot attest)".into()),
        ));
    }
    out
}
