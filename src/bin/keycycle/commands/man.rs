//! `keycycle man`: the manual page of keycycle (standard output), or with
//! `--output DIR` one page per command at every depth (`keycycle.1`,
//! `keycycle-ceremony.1`, `keycycle-roster-add.1`, …). clap_mangen renders
//! what clap knows (synopsis, description, options, subcommands); the
//! sections it has no source for (EXAMPLES, ENVIRONMENT, EXIT STATUS,
//! FILES, SEE ALSO) are written here.

use std::path::Path;
use std::process::ExitCode;

use clap::CommandFactory;
use keycycle::base::fs::atomic;

use super::{Ctx, Outcome};
use crate::cli::{Cli, ManArgs};
use crate::ui;

/// The top page's examples: the everyday path.
const TOP_EXAMPLES: &[&str] = &[
    "keycycle init",
    "keycycle roster add --name \"Ada\" --email ada@example.org --escrow-recipient age1…",
    "keycycle ceremony",
    "keycycle status --check",
    "keycycle sign --key signing-subkey.asc dist/*.tar.gz",
    "keycycle verify --cert keys/ dist/*.tar.gz",
];

const ENVIRONMENT: &[(&str, &str)] = &[
    ("KEYCYCLE_VAULT", "The vault directory when --vault is not given. Without either, keycycle uses the nearest directory upwards from the working directory that holds keycycle.toml (and belongs to you), else ./vault."),
    ("KEYCYCLE_OPERATOR", "Your name for the vault's audit log when --operator is not given."),
    ("KEYCYCLE_HOME", "The directory of this machine's trust store (trust.toml). Default: $XDG_CONFIG_HOME/keycycle, else $HOME/.config/keycycle."),
    ("KEYCYCLE_PIN", "With --batch and no --pin-file: a token's PIN (an OpenPGP card's user PIN, or an age plugin's)."),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "Success."),
    ("1", "An error, reported as one error line and one hint line on standard error; for verify, a file whose signature does not verify."),
    ("2", "A command-line usage error."),
];

const STATUS_CHECK: &[(&str, &str)] = &[
    ("0", "Every key is fine."),
    ("1", "A warning."),
    ("2", "Critical."),
    (
        "3",
        "It cannot tell (an error), as monitoring plugins read it.",
    ),
];

const FILES: &[(&str, &str)] = &[
    ("VAULT/keycycle.toml", "The vault's configuration (keycycle init writes the defaults); its presence makes a directory a vault."),
    ("VAULT/roster/", "The infra roots: roster.toml and each root's certificate, FINGERPRINT.asc."),
    ("VAULT/keys/CYCLE-FPR16/", "A cycle key: cert.asc (public), primary.age and revocation.age (escrowed to the roots), state.toml."),
    ("VAULT/policy/", "The signed vault policy: each version vN.toml with the roots' signatures in vN.sig/."),
    ("VAULT/audit.log", "The hash-chained audit log of every change."),
    ("VAULT/.lock", "Held while a command changes the vault; not committed."),
    ("$KEYCYCLE_HOME/trust.toml", "This machine's trust store: the policy digest pinned for each vault."),
];

pub fn run(ctx: &Ctx, args: &ManArgs) -> Outcome {
    let mut top = Cli::command().disable_help_subcommand(true);
    top.build();
    let mut pages = Vec::new();
    collect(&top, true, &mut pages)?;
    let Some(dir) = &args.output else {
        ui::emit(&String::from_utf8_lossy(&pages[0].1));
        return Ok(ExitCode::SUCCESS);
    };
    write_pages(dir, &pages)?;
    let names: Vec<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    let json = serde_json::json!({ "dir": dir, "pages": names });
    ctx.show(&ui::Reply::new(&json, |_| {
        Ok(format!(
            "Wrote {} man pages to {} (keycycle.1 and keycycle-COMMAND.1 for each command)\n",
            pages.len(),
            keycycle::base::text::path(dir)
        ))
    }))?;
    Ok(ExitCode::SUCCESS)
}

/// The page of `cmd` and of each subcommand at every depth (help and
/// hidden ones left out), `cmd`'s first.
fn collect(
    cmd: &clap::Command,
    top: bool,
    out: &mut Vec<(String, Vec<u8>)>,
) -> keycycle::Result<()> {
    out.push(page(cmd, top)?);
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        collect(sub, false, out)?;
    }
    Ok(())
}

/// Every page written atomically into `dir` (made if missing).
fn write_pages(dir: &Path, pages: &[(String, Vec<u8>)]) -> keycycle::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| keycycle::Error::io(dir, e))?;
    let mut staged = Vec::new();
    for (name, bytes) in pages {
        staged.push(atomic::stage(&dir.join(name), bytes, atomic::PUBLIC_MODE)?);
    }
    atomic::commit(staged).into_iter().collect()
}

/// One page: its file name and its roff.
fn page(cmd: &clap::Command, top: bool) -> keycycle::Result<(String, Vec<u8>)> {
    let about = cmd
        .get_long_about()
        .or(cmd.get_about())
        .map(|s| s.to_string());
    let (mut examples, description) = split_examples(about.as_deref().unwrap_or(""));
    if top {
        examples = TOP_EXAMPLES.iter().map(|s| s.to_string()).collect();
    }
    let man = clap_mangen::Man::new(cmd.clone().long_about(description))
        .source(format!("keycycle {}", env!("CARGO_PKG_VERSION")));
    let mut w = Vec::new();
    (|| -> std::io::Result<()> {
        man.render_title(&mut w)?;
        man.render_name_section(&mut w)?;
        man.render_synopsis_section(&mut w)?;
        man.render_description_section(&mut w)?;
        if cmd.get_arguments().any(|a| !a.is_hide_set()) {
            man.render_options_section(&mut w)?;
        }
        if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
            man.render_subcommands_section(&mut w)?;
        }
        Ok(())
    })()
    .map_err(anyhow::Error::from)?;
    let name = cmd.get_display_name().unwrap_or("keycycle");
    sections(&mut w, &examples, name == "keycycle-status", top);
    Ok((format!("{}.1", name), w))
}

/// `about` without its "Example: …" lines, and those examples (the
/// command only; what follows "   (" is an alternative, kept).
fn split_examples(about: &str) -> (Vec<String>, String) {
    let mut examples = Vec::new();
    let mut rest = Vec::new();
    for line in about.lines() {
        match line.strip_prefix("Example: ") {
            Some(e) => examples.push(e.trim().to_string()),
            None => rest.push(line),
        }
    }
    let text = rest.join("\n").trim_end().to_string();
    (examples, text)
}

/// EXAMPLES, ENVIRONMENT, EXIT STATUS, FILES and SEE ALSO.
fn sections(w: &mut Vec<u8>, examples: &[String], status: bool, top: bool) {
    let mut s = String::new();
    if !examples.is_empty() {
        s.push_str(".SH EXAMPLES\n");
        for e in examples {
            s.push_str(&format!(".PP\n.nf\n.RS 4\n{}\n.RE\n.fi\n", roff(e)));
        }
    }
    s.push_str(".SH ENVIRONMENT\n");
    list(&mut s, ENVIRONMENT);
    s.push_str(".SH \"EXIT STATUS\"\n");
    list(&mut s, EXIT_STATUS);
    if status || top {
        s.push_str(".PP\nstatus \\-\\-check, for monitoring:\n");
        list(&mut s, STATUS_CHECK);
    }
    s.push_str(".SH FILES\n");
    s.push_str(&format!(
        ".PP\n{}\n",
        roff("VAULT is --vault, else $KEYCYCLE_VAULT, else the nearest directory upwards holding keycycle.toml, else ./vault.")
    ));
    list(&mut s, FILES);
    s.push_str(".SH \"SEE ALSO\"\n");
    s.push_str(&format!(
        ".PP\n{}\n",
        roff(if top {
            "keycycle-COMMAND(1) for each command; gpgv(1), sqv(1), age(1)."
        } else {
            "keycycle(1); gpgv(1), sqv(1), age(1)."
        })
    ));
    w.extend_from_slice(s.as_bytes());
}

fn list(s: &mut String, items: &[(&str, &str)]) {
    for (term, text) in items {
        s.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(term), roff(text)));
    }
}

/// Text as roff: backslashes and hyphens escaped, no line read as a
/// request.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    escaped
        .lines()
        .map(|l| {
            if l.starts_with('.') || l.starts_with('\'') {
                format!("\\&{l}")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn examples_leave_the_description() {
        let (ex, rest) = split_examples("Does a thing\n\nExample: keycycle x --y");
        assert_eq!(ex, ["keycycle x --y"]);
        assert_eq!(rest, "Does a thing");
    }

    #[test]
    fn roff_text_makes_no_request() {
        assert_eq!(roff(".lock -x \\n"), "\\&.lock \\-x \\en");
    }
}
