//! parse → resolve settings → dispatch → print error + hint → exit code.

use std::process::ExitCode;

use clap::{CommandFactory, Parser};

mod cli;
mod commands;
mod ui;

use cli::{Cli, Command};
use commands::Ctx;

fn run(cli: Cli) -> commands::Outcome {
    // The edge decides what "now" is; nothing below reads the clock.
    let at = match &cli.time {
        Some(t) => keycycle::clock::parse_time(t)?,
        None => keycycle::clock::truncate(chrono::Utc::now()),
    };
    // Tokens (age plugins, OpenPGP cards) ask through the UI layer.
    ui::token::install(cli.batch, None)?;
    let ctx = Ctx {
        vault: cli.vault.clone(),
        batch: cli.batch,
        json: cli.json,
        at,
        verbose: cli.verbose,
        operator: cli.operator.clone(),
    };
    match &cli.command {
        Command::Init(a) => commands::init::run(&ctx, a),
        Command::Cycles(a) => commands::cycles::run(&ctx, a),
        Command::Roster(c) => commands::roster::run(&ctx, c),
        Command::Generate(a) => commands::generate::run(&ctx, a),
        Command::Ceremony(a) => commands::ceremony::run(&ctx, a),
        Command::Status(a) => commands::status::run(&ctx, a),
        Command::Inspect(a) => commands::inspect::run(&ctx, a),
        Command::Export(c) => commands::export::run(&ctx, c),
        Command::CrossSign(a) => commands::attest::cross_sign(&ctx, a),
        Command::Certify(a) => commands::attest::certify(&ctx, a),
        Command::Attestations(c) => commands::attest::attestations(&ctx, c),
        Command::Publish(a) => commands::publish::run(&ctx, a),
        Command::Party(c) => commands::party::run(&ctx, c),
        Command::Extend(a) => commands::maintain::extend(&ctx, a),
        Command::RotateSubkey(a) => commands::maintain::rotate(&ctx, a),
        Command::Revoke(a) => commands::maintain::revoke(&ctx, a),
        Command::Escrow(c) => commands::maintain::escrow(&ctx, c),
        Command::Audit(c) => commands::maintain::audit(&ctx, c),
        Command::Card(c) => commands::card::run(&ctx, c),
        Command::Sign(a) => commands::sign::run(&ctx, a),
        Command::Verify(a) => commands::verify::run(&ctx, a),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut cmd, "keycycle", &mut out);
            ui::emit(&String::from_utf8_lossy(&out));
            Ok(ExitCode::SUCCESS)
        }
        Command::Man => {
            let mut out = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut out)
                .map_err(anyhow::Error::from)?;
            ui::emit(&String::from_utf8_lossy(&out));
            Ok(ExitCode::SUCCESS)
        }
    }
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
    let first = text.lines().next().unwrap_or("invalid arguments");
    let first = first.strip_prefix("error: ").unwrap_or(first);
    let usage = text
        .lines()
        .find_map(|l| l.strip_prefix("Usage: "))
        .unwrap_or("keycycle --help");
    eprintln!("error: {first}");
    eprintln!("hint: usage: {usage} (see --help for examples)");
    ExitCode::from(2)
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
            let mut msg = format!("error: {e}");
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                let s_text = s.to_string();
                if !msg.contains(&s_text) {
                    msg.push_str(&format!(": {s_text}"));
                }
                source = s.source();
            }
            eprintln!("{msg}");
            if let Some(h) = e.hint() {
                eprintln!("hint: {h}");
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
