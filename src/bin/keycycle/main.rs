//! parse → resolve settings → dispatch → print error + hint → exit code.

use std::process::ExitCode;

use clap::Parser;

mod cli;
mod commands;
mod ui;

use cli::{Cli, Command};
use commands::Ctx;

fn run(cli: Cli) -> commands::Outcome {
    // The edge decides what "now" is; nothing below reads the clock.
    let at = match &cli.time {
        Some(t) => keycycle::base::clock::parse_time(t)?,
        None => keycycle::base::clock::truncate(chrono::Utc::now()),
    };
    // Tokens (age plugins, OpenPGP cards) ask through the UI layer.
    ui::token::install(cli.batch, cli.pin_file.as_deref())?;
    let ctx = Ctx {
        vault: vault_dir(&cli),
        batch: cli.batch,
        json: cli.json,
        at,
        verbose: cli.verbose,
        operator: operator(&cli)?,
    };
    commands::run(&ctx, &cli.command)
}

/// A variable's value; empty is unset.
fn env_var(name: &str) -> Option<std::ffi::OsString> {
    std::env::var_os(name).filter(|v| !v.is_empty())
}

/// The vault directory: `--vault`, `$KEYCYCLE_VAULT`, else found upwards
/// from here (`keycycle::vault::discover`). An error is kept for the
/// commands that open the vault: the others run without one.
fn vault_dir(cli: &Cli) -> keycycle::Result<std::path::PathBuf> {
    let given = cli
        .vault
        .clone()
        .or_else(|| env_var(cli::VAULT_ENV).map(Into::into));
    let creating = matches!(&cli.command, Command::Init(_));
    let cwd = std::env::current_dir().map_err(|e| keycycle::Error::io(".", e))?;
    keycycle::vault::discover::locate(given.as_deref(), &cwd, creating)
}

/// `--operator`, else `$KEYCYCLE_OPERATOR`.
fn operator(cli: &Cli) -> keycycle::Result<Option<String>> {
    if cli.operator.is_some() {
        return Ok(cli.operator.clone());
    }
    env_var(cli::OPERATOR_ENV)
        .map(|v| {
            v.into_string().map_err(|_| {
                keycycle::Error::input(
                    format!("${} is not UTF-8 text", cli::OPERATOR_ENV),
                    "set it to your name as the audit log should record it, or pass --operator",
                )
            })
        })
        .transpose()
}

/// A command-line usage error as one error line and one hint line (clap's
/// own rendering is several lines); help and version print as clap does.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::DisplayHelp
            | ErrorKind::DisplayVersion
            | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
    ) {
        e.exit();
    }
    let text = e.render().to_string();
    let (first, tips, usage) = clap_parts(&text);
    ui::usage_error(&first, &tips, usage);
    ExitCode::from(2)
}

/// clap's rendering taken apart, every detail kept: the error with the
/// lines under it (the missing arguments, the possible values) joined into
/// one line, its tips ("a similar subcommand exists: …"), and the usage.
fn clap_parts(text: &str) -> (String, Vec<String>, &str) {
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("invalid arguments");
    let mut error = first.strip_prefix("error: ").unwrap_or(first).to_string();
    let mut tips = Vec::new();
    let mut usage = "keycycle --help";
    let said = |l: &&str| !l.is_empty() && !l.starts_with("For more information");
    for l in lines.map(str::trim).filter(said) {
        if let Some(u) = l.strip_prefix("Usage: ") {
            usage = u;
            break;
        }
        match l.strip_prefix("tip: ") {
            Some(tip) => tips.push(tip.to_string()),
            None => {
                let sep = if error.ends_with(':') { " " } else { "; " };
                error = format!("{error}{sep}{l}");
            }
        }
    }
    (error, tips, usage)
}

/// No core dumps: a crash while the primary secret is in memory must not
/// write it to disk. Also makes the process non-dumpable (no ptrace by
/// other processes of the same user, no /proc/PID/mem).
fn no_core_dumps() {
    let zero = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain system calls with valid arguments.
    unsafe {
        libc::setrlimit(libc::RLIMIT_CORE, &zero);
        #[cfg(target_os = "linux")]
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    no_core_dumps();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let check = matches!(&cli.command, Command::Status(a) if a.check);
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            ui::report_error(&e);
            if matches!(e, keycycle::Error::Interrupted { .. }) {
                // As a shell reports a command stopped by Ctrl-C.
                return ExitCode::from(130);
            }
            // Monitoring plugins read 3 as "unknown".
            ExitCode::from(if check { 3 } else { 1 })
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn cli_is_well_formed() {
        use clap::CommandFactory;
        super::Cli::command().debug_assert();
    }
}
