//! `sign --manifest` and `verify --manifest`: one signature for a whole
//! release, over a `SHA256SUMS` that `sha256sum -c` reads.

use std::path::Path;
use std::process::ExitCode;

use keycycle::base::text::shown;
use keycycle::sign::{self, manifest as sm, SigningKey};
use keycycle::verify::{self, manifest as vm, Keyring, Options};
use keycycle::Error;

use super::{Ctx, Outcome};
use crate::cli::{SignArgs, VerifyArgs};
use crate::ui;

/// `keycycle sign --manifest MANIFEST FILES…`.
pub fn sign(ctx: &Ctx, args: &SignArgs, key: &SigningKey, manifest: &Path) -> Outcome {
    // A manifest lists every file under the directories given.
    let found = sign::collect(&args.files, true, "sign")?;
    super::sign::skipped_note(ctx, &found.signatures, "not listed in the manifest");
    let w = sm::sign(
        key,
        manifest,
        &found.artifacts,
        ctx.at,
        args.clearsign,
        args.overwrite,
    )?;
    let signature = w.signature.clone().unwrap_or_else(|| w.manifest.clone());
    let bytes: u64 = vm::format(&w.entries).len() as u64;
    let json = serde_json::json!({
        "key": key.cert_fingerprint,
        "subkey": key.subkey_fingerprint,
        "cycle_key": key.label,
        "files": [sign::Signed {
            file: w.manifest.clone(),
            signature: signature.clone(),
            status: if w.kept { "kept" } else { "signed" }.into(),
            bytes,
            key: key.cert_fingerprint.clone(),
            subkey: key.subkey_fingerprint.clone(),
        }],
        "signed": usize::from(!w.kept),
        "kept": usize::from(w.kept),
        "failed": 0,
        "skipped_signatures": found.signatures.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
        "manifest": w,
    });
    ctx.show(&ui::Reply::new(&json, |verbose| {
        let mut out = String::new();
        if verbose > 0 {
            for e in &w.entries {
                out.push_str(&format!("listed  {}\n", shown(&e.name)));
            }
        }
        if w.kept {
            out.push_str(&format!(
                "kept    {} (the same files, already signed; --overwrite to sign again)\n",
                shown(&w.manifest)
            ));
        } else {
            out.push_str(&format!("wrote   {}\n", shown(&w.manifest)));
            if let Some(s) = &w.signature {
                out.push_str(&format!("signed  {}\n", shown(s)));
            }
        }
        if w.kept {
            out.push_str(&format!(
                "{} file(s) listed in {}, unchanged: kept (already signed)\n",
                w.entries.len(),
                shown(&w.manifest)
            ));
        } else {
            out.push_str(&format!(
                "{} file(s) listed in {}, {} with subkey {} of {}\n",
                w.entries.len(),
                shown(&w.manifest),
                if w.cleartext {
                    "cleartext-signed"
                } else {
                    "signed"
                },
                key.subkey_fingerprint,
                key.label
            ));
        }
        Ok(out)
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// `keycycle verify --manifest MANIFEST [FILES…]`.
pub fn verify(
    ctx: &Ctx,
    args: &VerifyArgs,
    ring: &Keyring,
    unlisted: &[verify::Unlisted],
    manifest: &Path,
) -> Outcome {
    let found = sign::collect(&args.files, true, "verify").map_err(|e| match e {
        Error::Input { msg, .. } => Error::input(msg, "give the release files or their directory"),
        e => e,
    })?;
    let opts = Options {
        at: ctx.at,
        as_of: None,
        signers: usize::from(args.signers),
    };
    let report = vm::verify(ring, manifest, &found.artifacts, &opts, |v| {
        verify::explain_unlisted(v, unlisted)
    })?;
    let bad = report.bad();
    let total = 1 + report.files.len();
    let mut files = vec![serde_json::to_value(&report.manifest).unwrap_or_default()];
    files.extend(
        report
            .files
            .iter()
            .map(|f| serde_json::to_value(f).unwrap_or_default()),
    );
    let json = serde_json::json!({
        "good": total - bad,
        "bad": bad,
        "files": files,
        "manifest": {
            "file": report.manifest.file,
            "signature": report.manifest.signature,
            "cleartext": report.manifest.cleartext,
            "good": report.manifest.good,
            "checked": report.manifest.good,
            "listed": report.files.iter().filter(|f| f.status != "unlisted").count(),
        },
    });
    ctx.show(&ui::Reply::new(&json, |verbose| {
        let mut out = String::new();
        super::verify::render(&mut out, args, &report.manifest, verbose > 0);
        if !report.manifest.good {
            out.push_str("      files not checked: the manifest is not trusted\n");
        }
        for f in &report.files {
            if f.good {
                out.push_str(&format!(
                    "GOOD  {}  SHA-256 as listed in {}\n",
                    shown(&f.file),
                    shown(&report.manifest.file)
                ));
            } else {
                out.push_str(&format!("BAD   {}  {}\n", shown(&f.file), f.fault.reason));
                if let Some(h) = &f.fault.hint {
                    out.push_str(&format!("      hint: {h}\n"));
                }
            }
        }
        out.push_str(&format!("verify: {} good, {bad} bad\n", total - bad));
        Ok(out)
    }))?;
    Ok(if bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
