use std::path::{Path, PathBuf};
use std::process::ExitCode;

use keycycle::base::text::{self, shown};
use keycycle::verify::{self, Job, Keyring, Options, Verdict, SHA1_RISK};
use keycycle::{base::clock, policy, Error};

use super::{Ctx, Outcome};
use crate::cli::VerifyArgs;
use crate::ui;

pub fn run(ctx: &Ctx, args: &VerifyArgs) -> Outcome {
    let (ring, unlisted) = if args.cert.is_empty() {
        vault_ring(ctx)?
    } else {
        (cert_ring(ctx, args)?, Vec::new())
    };
    let as_of = args
        .policy_as_of
        .as_deref()
        .map(clock::parse_time)
        .transpose()?;
    if let Some(m) = &args.manifest {
        return super::manifest::verify(ctx, args, &ring, &unlisted, m);
    }
    let jobs = jobs(ctx, args)?;
    if let (Some(out), [Job::Detached { file, .. }]) = (&args.output, &jobs[..]) {
        return Err(Error::input(
            format!(
                "{} is not cleartext-signed: --output {} would have nothing to write",
                text::path(file),
                text::path(out)
            ),
            "--output writes the verified text of a cleartext-signed file (InRelease, .dsc); drop it for detached signatures",
        ));
    }
    let opts = Options {
        at: ctx.at,
        as_of,
        signers: usize::from(args.signers),
    };
    let mut verdicts = verify::verify_all(&ring, &jobs, &opts);
    for v in &mut verdicts {
        verify::explain_unlisted(v, &unlisted);
    }
    if ctx.verbose > 0 {
        let s = ring.stats();
        ui::say(&format!(
            "keyring: {} certificates indexed{}, {} skipped (unparseable or unsupported), {} parsed for these signatures",
            s.certificates,
            if s.complete { "" } else { " (read up to the last key needed)" },
            s.skipped,
            s.parsed
        ));
    }
    let bad = verdicts.iter().filter(|v| !v.good).count();
    let files: Vec<serde_json::Value> = verdicts
        .iter()
        .map(|v| {
            let mut j = serde_json::to_value(v).unwrap_or_default();
            if let Some(cmd) = policy_as_of_command(args, v) {
                j["command"] = serde_json::Value::String(cmd);
            }
            j
        })
        .collect();
    let json = serde_json::json!({ "good": verdicts.len() - bad, "bad": bad, "files": files });
    ctx.show(&ui::Reply::new(&json, |verbose| {
        let mut out = String::new();
        for v in &verdicts {
            render(&mut out, args, v, verbose > 0);
        }
        out.push_str(&format!(
            "verify: {} good, {} bad\n",
            verdicts.len() - bad,
            bad
        ));
        Ok(out)
    }))?;
    Ok(if bad > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// The keys the vault's signed policy lists, and the vault's other keys:
/// generated here and not listed yet, or appeared by commit (named, never
/// trusted, when they signed a file).
fn vault_ring(ctx: &Ctx) -> keycycle::Result<(Keyring, Vec<verify::Unlisted>)> {
    let vault = ctx.open_vault().map_err(|e| match e {
        Error::Vault { msg, .. } => Error::input(msg, PASS_CERT),
        e => e,
    })?;
    let Some(state) = policy::load(&vault, ctx.at)? else {
        return Err(Error::input(
            "no certificates to verify against: the vault has no signed policy yet, so none of its keys is trusted",
            format!("{PASS_CERT}; or have the roots sign the first policy (keycycle policy init)"),
        ));
    };
    // Only the keys the roots' signed policy lists.
    let keys = policy::listed_keys(&vault, ctx.at)?;
    let (here, unknown) = policy::partition(&vault, Some(&state), vault.keys()?)?;
    let unlisted = here
        .into_iter()
        .filter(|k| !state.lists(&k.state.fingerprint))
        .map(|k| unlisted(&state, k.cert))
        .chain(unknown.into_iter().map(|k| verify::Unlisted {
            cert: k.cert,
            why: "that no signed policy lists and that was not generated on this machine (it appeared by commit): not trusted".into(),
            hint: "if the roots made it, they add it with keycycle policy propose and sign; otherwise remove it from the vault and find out who committed it".into(),
        }))
        .collect::<Vec<_>>();
    if keys.is_empty() {
        return Err(Error::input(
            format!(
                "no certificates to verify against: the signed policy in force (version {}) lists none of the vault's keys",
                state.policy.version
            ),
            format!("{PASS_CERT}; a key generated here is trusted once the roots sign a policy listing it (keycycle policy propose)"),
        ));
    }
    let ring = Keyring::new(keys.into_iter().map(|k| k.cert).collect())?;
    Ok((ring, unlisted))
}

const PASS_CERT: &str = "pass --cert FILE (a cycle key, a keyring or a folder of keys)";

/// Why `cert` is not trusted, and how it joins: proposed and waiting for
/// signatures, or not proposed yet.
fn unlisted(state: &policy::State, cert: sequoia_openpgp::Cert) -> verify::Unlisted {
    let fpr = cert.fingerprint().to_hex();
    let version = state.policy.version;
    let (why, hint) = match &state.pending {
        Some(p) if p.policy.lists(&fpr) => (
            format!(
                "that the signed policy in force (version {version}) does not list yet: version {} lists it, signed by {} of the {} roots it needs",
                p.policy.version,
                p.signed_by.len(),
                p.needed
            ),
            format!(
                "the roots sign version {} (keycycle policy sign --with-key ROOT-KEY.asc; runbooks/policy-change.md)",
                p.policy.version
            ),
        ),
        _ => (
            format!("that the signed policy in force (version {version}) does not list"),
            "a new key is trusted once the roots sign a policy listing it: keycycle policy propose, then the roots sign it (runbooks/policy-change.md)".into(),
        ),
    };
    verify::Unlisted { cert, why, hint }
}

/// The certificates of `--cert`, with a note for what was skipped.
fn cert_ring(ctx: &Ctx, args: &VerifyArgs) -> keycycle::Result<Keyring> {
    let ring = Keyring::load(&args.cert)?;
    if let Some(first) = ring.skipped_links().first() {
        ui::warn(&format!(
            "skipped {} symbolic link(s) in the --cert folder ({}{}): links there are not followed; pass a file itself to use it",
            ring.skipped_links().len(),
            text::path(first),
            if ring.skipped_links().len() > 1 { ", …" } else { "" }
        ));
    }
    let skipped = ring.skipped_files();
    if ctx.verbose > 0 {
        for f in skipped {
            ui::say(&format!(
                "skipped {} in the --cert folder: not a certificate",
                text::path(f)
            ));
        }
    } else if !skipped.is_empty() {
        ui::say(&format!(
            "note: skipped {} file(s) in the --cert folder that hold no certificate (-v lists them)",
            skipped.len()
        ));
    }
    Ok(ring)
}

/// One job per release file: with `--signature`, the one file given;
/// else each artifact with its FILE.asc/.sig/.gpg, and each signature
/// given whose file was not (`verify dist/*.asc`) with that file. A
/// signature is never checked as a file of its own.
fn jobs(ctx: &Ctx, args: &VerifyArgs) -> keycycle::Result<Vec<Job>> {
    let found = verify::files::collect(&args.files, args.recursive, "verify")?;
    let several = found.artifacts.len() + found.signatures.len() > 1;
    if several && (args.signature.is_some() || args.output.is_some()) {
        return Err(Error::input(
            "--signature and --output take one input file",
            "drop --signature to use FILE.asc next to each file, or verify one file at a time",
        ));
    }
    if let Some(sig) = &args.signature {
        let file = found.artifacts.iter().chain(&found.signatures).next();
        return Ok(file
            .map(|f| verify::files::job_for(f, Some(sig), args.output.as_deref()))
            .into_iter()
            .collect());
    }
    let mut jobs: Vec<Job> = found
        .artifacts
        .iter()
        .map(|f| verify::files::job_for(f, None, args.output.as_deref()))
        .collect();
    let mut unpaired = Vec::new();
    for s in &found.signatures {
        match verify::files::signed_file(s) {
            Some(f) if found.artifacts.contains(&f) => {}
            Some(f) => jobs.push(Job::Detached {
                file: f,
                signature: s.clone(),
            }),
            None => unpaired.push(s.clone()),
        }
    }
    super::sign::skipped_note(
        ctx,
        &unpaired,
        "not named FILE.asc, .sig or .gpg (give it with --signature FILE)",
    );
    if jobs.is_empty() {
        return Err(Error::input(
            "nothing to verify: no release file among the files given",
            "give the release files (their FILE.asc is found beside them), or directories with --recursive",
        ));
    }
    Ok(jobs)
}

/// One line per file; one more per signature when a file holds several;
/// the hint (and, with `-v`, the detail) under a failure.
pub(super) fn render(out: &mut String, args: &VerifyArgs, v: &Verdict, verbose: bool) {
    let signed = |t: Option<clock::Time>, who: Option<&str>| {
        format!(
            "signed {} by {}",
            t.map(clock::iso).unwrap_or_default(),
            who.unwrap_or("?")
        )
    };
    let several = v.signatures.len() > 1;
    if v.good && !several {
        out.push_str(&format!(
            "GOOD  {}  {}\n",
            shown(&v.file),
            signed(v.by.signed_at, v.key.as_deref())
        ));
    } else if v.good {
        out.push_str(&format!(
            "GOOD  {}  {} good signatures from {} certificates (--signers {})\n",
            shown(&v.file),
            v.signatures.iter().filter(|s| s.good).count(),
            v.good_signers,
            v.signers_needed
        ));
    } else {
        out.push_str(&format!("BAD   {}  {}\n", shown(&v.file), v.fault.reason));
    }
    if several {
        for s in &v.signatures {
            if s.good {
                out.push_str(&format!(
                    "      GOOD  {}\n",
                    signed(s.by.signed_at, s.signer.as_deref())
                ));
            } else {
                out.push_str(&format!("      BAD   {}\n", s.fault.reason));
            }
            if verbose && !s.detail.is_empty() {
                out.push_str(&format!("            detail: {}\n", s.detail));
            }
        }
    } else if verbose {
        if let Some(s) = v.signatures.first().filter(|s| !s.detail.is_empty()) {
            out.push_str(&format!("      detail: {}\n", s.detail));
        }
    }
    if v.good {
        if let Some(o) = &v.output {
            out.push_str(&format!("      verified text written to {}\n", shown(o)));
        }
        return;
    }
    if let Some(cmd) = policy_as_of_command(args, v) {
        out.push_str(&format!("      hint: {cmd}\n"));
        out.push_str(&format!("      {SHA1_RISK}\n"));
    } else if let Some(h) = &v.fault.hint {
        out.push_str(&format!("      hint: {h}\n"));
    }
}

/// The exact command that accepts the file's SHA-1 self-signatures, when
/// `--policy-as-of` would make it pass.
fn policy_as_of_command(args: &VerifyArgs, v: &Verdict) -> Option<String> {
    if v.good {
        return None;
    }
    let day = v
        .signatures
        .iter()
        .filter_map(|s| s.policy_as_of.as_deref())
        .min()?;
    let mut cmd = String::from("keycycle verify");
    for c in &args.cert {
        cmd.push_str(&format!(" --cert {}", quote(c)));
    }
    if args.signers != 1 {
        cmd.push_str(&format!(" --signers {}", args.signers));
    }
    if let Some(s) = &args.signature {
        cmd.push_str(&format!(" --signature {}", quote(s)));
    }
    if let Some(o) = &args.output {
        cmd.push_str(&format!(" --output {}", quote(o)));
    }
    cmd.push_str(&format!(
        " --policy-as-of {day} {}",
        quote(&PathBuf::from(&v.file))
    ));
    Some(cmd)
}

/// A path as a shell word (escaped as text if it holds a control
/// character: then it is not one to paste).
fn quote(p: &Path) -> String {
    let s = text::path(p);
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./-=:+@,~".contains(c));
    if plain {
        s
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}
