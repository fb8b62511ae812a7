use std::process::ExitCode;

use keycycle::base::clock;
use keycycle::custody::Recipient;
use keycycle::vault::schedule::Schedule;
use keycycle::status::{self, Level};

use super::{Ctx, Outcome};
use crate::cli::{StatusArgs, StatusFormat};
use crate::ui;

mod metrics;

pub fn run(ctx: &Ctx, args: &StatusArgs) -> Outcome {
    let vault = ctx.open_vault()?;
    let schedule = Schedule::from_config(&vault.config()?)?;
    let only = args
        .key
        .as_deref()
        .map(|k| keycycle::policy::find_trusted(&vault, Some(k), &schedule, ctx.at))
        .transpose()?;
    let report = status::report(&vault, &schedule, only.as_ref(), ctx.at)?;
    match args.format {
        Some(StatusFormat::Openmetrics) => {
            let figures = status::vault_figures(&vault, &schedule, ctx.at)?;
            ctx.show_format("openmetrics", &metrics::render(&report, &figures))?;
        }
        format => {
            let json = format == Some(StatusFormat::Json);
            ctx.show_as(
                json,
                &ui::Reply::new(&report, |verbose| {
                    Ok(render(&report, &report.current_cycle, verbose, args.check))
                }),
            )?;
        }
    }
    Ok(if args.check {
        ExitCode::from(report.level.exit_code())
    } else {
        ExitCode::SUCCESS
    })
}

/// The report as text.
fn render(report: &status::Report, current: &str, verbose: u8, check: bool) -> String {
    let mut out = String::new();
    if report.keys.is_empty() {
        out.push_str("The vault holds no keys yet: `keycycle generate --cycle next`.\n");
    }
    for k in &report.keys {
        out.push_str(&render_key(k, k.cycle == current, verbose));
    }
    for f in &report.findings {
        out.push_str(&format!("{}: {}\n", level_name(f.level, "Ok"), f.message));
    }
    if check {
        out.push_str(&format!("{}\n", level_name(report.level, "OK")));
    }
    out
}

fn level_name(level: Level, ok: &'static str) -> &'static str {
    match level {
        Level::Ok => ok,
        Level::Warning => "WARNING",
        Level::Critical => "CRITICAL",
    }
}

fn render_key(k: &status::KeyStatus, current: bool, verbose: u8) -> String {
    let mut out = String::new();
    let mark = if current { " (current cycle)" } else { "" };
    out.push_str(&format!("{}{}\n", k.cycle_label, mark));
    out.push_str(&format!("  fingerprint   {}\n", k.fingerprint_grouped));
    out.push_str(&format!("  created       {}\n", clock::day(k.created)));
    let left = if k.days_left >= 0 {
        format!("{} days left", k.days_left)
    } else {
        format!("expired {} days ago", -k.days_left)
    };
    out.push_str(&format!(
        "  expires       {} ({left})\n",
        clock::day(k.expires)
    ));
    for s in &k.subkeys {
        out.push_str(&subkey_line(s));
    }
    out.push_str(&format!(
        "  revocation    {}\n",
        k.revocation
            .as_ref()
            .map(|r| format!("REVOKED ({}) {}", r.reason, r.message))
            .unwrap_or_else(|| "not revoked".into())
    ));
    out.push_str(&format!(
        "  attestations  {}\n",
        attestations(&k.attestations)
    ));
    out.push_str(&format!("  cross-signed  {}\n", cross_signed(k)));
    out.push_str(&format!(
        "  escrow        {} recipients{}\n",
        k.escrow_recipients.len(),
        k.escrow_thresholds
            .as_ref()
            .map(thresholds)
            .unwrap_or_default()
    ));
    let on = k
        .cards
        .iter()
        .map(|c| {
            format!(
                "{}, loaded {}",
                keycycle::base::text::shown(&c.ident),
                clock::day(c.loaded)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    out.push_str(&format!(
        "  secret        {}{}\n",
        k.secret,
        if on.is_empty() {
            String::new()
        } else {
            format!(" ({on})")
        }
    ));
    if verbose > 0 {
        for r in &k.escrow_recipients {
            let shown = ui::stored_recipient(Recipient::parse_stored(r), false);
            out.push_str(&format!("                {shown}\n"));
        }
    }
    published_lines(k, &mut out);
    for f in &k.findings {
        out.push_str(&format!(
            "  {}: {}\n",
            level_name(f.level, "note (past cycle)"),
            f.message
        ));
    }
    out
}

/// `  subkey        [S] FPR expires DAY REVOKED`.
fn subkey_line(s: &status::SubkeyStatus) -> String {
    format!(
        "  subkey        [{}] {}{}{}\n",
        s.flags,
        s.fingerprint,
        s.expires
            .map(|e| format!(" expires {}", clock::day(e)))
            .unwrap_or_default(),
        if s.revoked {
            " REVOKED"
        } else if !s.alive {
            " not alive"
        } else {
            ""
        }
    )
}

/// Whether the previous cycle's key certified this one, in words.
fn cross_signed(k: &status::KeyStatus) -> String {
    match (k.cross_signed, &k.cross_sign_void) {
        (Some(true), _) => "yes, by the previous cycle's key".to_string(),
        (Some(false), Some(why)) => {
            format!("NO: the previous cycle's key certified it, but that does not count: {why}")
        }
        (Some(false), None) => "NO: the previous cycle's key has not certified it".into(),
        (None, _) => "unknown (the previous cycle's key is not in the vault)".into(),
    }
}

/// `; primary 2 of 3 roots, revocations any one root`.
fn thresholds(t: &status::EscrowThresholds) -> String {
    format!(
        "; primary {} of {} roots, revocations {}",
        t.primary,
        t.roots,
        match t.revocations {
            1 => "any one root".to_string(),
            r => format!("{r} of {} roots", t.roots),
        }
    )
}

/// The `published`, `not published` and `policy` lines.
fn published_lines(k: &status::KeyStatus, out: &mut String) {
    out.push_str(&format!(
        "  published     {}\n",
        k.last_publish
            .map(clock::day)
            .unwrap_or_else(|| "never".into())
    ));
    if !k.unpublished.is_empty() {
        out.push_str(&format!(
            "  not published {} (not yet on {})\n",
            k.unpublished.changes.join(", "),
            k.unpublished.targets.join(", ")
        ));
    }
    if let Some(listed) = k.in_policy {
        out.push_str(&format!(
        "  policy        {}\n",
        if listed {
            "in the signed policy in force"
        } else {
            "NOT in the signed policy in force: a vault key on this machine only (keycycle policy propose)"
        }
    ));
    }
}

fn attestations(a: &status::Attestations) -> String {
    let draft = if a.draft.is_empty() {
        String::new()
    } else {
        let names: Vec<String> = a
            .draft
            .iter()
            .map(|n| keycycle::base::text::shown(n))
            .collect();
        format!(
            "; not counted, on the draft roster only: {}",
            names.join(", ")
        )
    };
    if a.of == 0 {
        return format!("no root on the roster has an OpenPGP cert{draft}");
    }
    format!(
        "{} of {} roots, majority {}{}{draft}",
        a.by.len(),
        a.of,
        if a.majority { "reached" } else { "not reached" },
        if a.missing.is_empty() {
            String::new()
        } else {
            let names: Vec<String> = a
                .missing
                .iter()
                .map(|n| keycycle::base::text::shown(n))
                .collect();
            format!("; missing: {}", names.join(", "))
        }
    )
}
