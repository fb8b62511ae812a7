use std::process::ExitCode;

use sequoia_openpgp as openpgp;

use keycycle::policy::attest::{self, ImportReport};
use keycycle::publish::{self, Settings};
use keycycle::vault::Vault;

use super::{Ctx, Outcome};
use crate::cli::{AttestationsCommand, KeyserverArgs};
use crate::ui;

pub fn run(ctx: &Ctx, cmd: &AttestationsCommand) -> Outcome {
    let vault = ctx.lock_vault("attestations")?;
    let incoming = match cmd {
        AttestationsCommand::Import { files } => attest::read_files(files)?,
        AttestationsCommand::Fetch { servers } => fetch(&vault, servers, ctx.at)?,
    };
    let report = attest::import(&vault, &incoming, ctx.at)?;
    if !report.updated.is_empty() {
        vault.audit(
            ctx.at,
            "attestations",
            serde_json::json!({
                "accepted": report.count("accepted"),
                "outside_roster": report.count("outside-roster"),
                "rejected": report.count("rejected"),
                "updated": report.updated,
            }),
        )?;
    }
    ctx.show(&report)?;
    Ok(ExitCode::SUCCESS)
}

/// Every vault key from every keyserver. A server that fails is reported
/// and skipped (for every key: a dead server must not cost its timeout
/// once per key); the command fails only when no server answered.
fn fetch(
    vault: &Vault,
    args: &KeyserverArgs,
    at: keycycle::base::clock::Time,
) -> keycycle::Result<Vec<openpgp::Cert>> {
    let servers = keycycle::policy::keyservers(vault, at, &args.keyserver)?;
    let settings = Settings {
        timeout: std::time::Duration::from_secs(args.timeout),
        ..Settings::default()
    };
    let mut incoming = Vec::new();
    let mut failed: Vec<(String, keycycle::Error)> = Vec::new();
    for k in vault.keys()? {
        for s in &servers {
            if failed.iter().any(|(f, _)| f == s) {
                continue;
            }
            let handle = openpgp::KeyHandle::from(k.cert.fingerprint());
            match publish::fetch(s, &handle, &settings) {
                Ok(Some(c)) => incoming.push(c),
                Ok(None) => {}
                Err(e) => failed.push((s.clone(), e)),
            }
        }
    }
    if !servers.is_empty() && failed.len() == servers.len() {
        return Err(failed.remove(0).1);
    }
    for (_, e) in &failed {
        ui::warn(&format!("{e} (skipped; the other keyservers answered)"));
    }
    Ok(incoming)
}

/// The import as JSON or, for a person, one line per certification and
/// the tally.
impl ui::Show for ImportReport {
    fn human(&self, _verbose: u8) -> keycycle::Result<String> {
        let report = self;
        let mut out = String::new();
        for f in &report.certifications {
            let why = if f.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", f.reason)
            };
            let issuer = f.issuer.as_deref().unwrap_or("");
            out.push_str(&format!(
                "{:<16} {} by {} {issuer}{why}\n",
                f.outcome, f.key, f.issuer_key_id
            ));
        }
        out.push_str(&format!(
            "attestations: {} accepted, {} already present, {} outside the signed policy in force (kept, flagged, not counted), {} rejected\n",
            report.count("accepted"),
            report.count("already-present"),
            report.count("outside-roster"),
            report.count("rejected")
        ));
        Ok(out)
    }
}
