//! The only place that talks to a terminal: output lines, prompts
//! (dialoguer), progress bars (indicatif) and the files a command writes
//! for the user. `--batch`, or no terminal on stderr, turns a prompt into
//! an error naming the flag that supplies the answer.

pub mod interrupt;
mod operator;
mod output;
mod progress;
mod prompt;
mod show;
pub mod token;

pub use operator::Terminal;
pub use output::{write_output, write_to};
pub use progress::progress;
pub use prompt::{confirm, input, interactive, select};
pub use show::{show, Reply, Show};

use std::io::Write;

use keycycle::Error;

/// Print to stdout; a closed pipe (`| head`) is not an error. Every
/// control character but newline and tab is escaped
/// ([`keycycle::base::text::lines`]): values from files are shown with
/// [`keycycle::base::text::shown`] where they are formatted, and this is the
/// backstop for one that was not.
pub fn emit(text: &str) {
    write_stdout(&keycycle::base::text::lines(text));
}

fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// Print JSON (serde escapes control characters in strings; the other
/// characters that could repaint a terminal become JSON escapes too).
pub fn emit_json<T: serde::Serialize>(value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?;
    write_stdout(&format!("{}\n", keycycle::base::text::json(&text)));
    Ok(())
}

/// A line for the person at the terminal (stderr, so that stdout and
/// `--json` stay clean).
pub fn say(text: &str) {
    eprintln!("{}", keycycle::base::text::lines(text));
}

/// A warning on stderr, on one line.
pub fn warn(msg: &str) {
    eprintln!("warning: {}", keycycle::base::text::line(msg));
}

/// An error line on stderr for one of several items that failed (the
/// command's own error is printed by `main`).
pub fn error(msg: &str) {
    eprintln!("error: {}", keycycle::base::text::line(msg));
}

/// The command's error: the message with its causes on one line, then the
/// hint. Both are kept to one line whatever a path or a cause holds.
pub fn report_error(e: &Error) {
    eprintln!(
        "error: {}",
        keycycle::base::text::line(&keycycle::base::error::with_causes(e))
    );
    if let Some(h) = e.hint() {
        eprintln!("hint: {}", keycycle::base::text::line(h));
    }
}

/// A command-line usage error as one error line and one hint line.
pub fn usage_error(first: &str, tips: &[String], usage: &str) {
    eprintln!("error: {}", keycycle::base::text::line(first));
    let tips: String = tips.iter().map(|t| format!("{t}; ")).collect();
    eprintln!(
        "hint: {}usage: {usage} (see --help for examples)",
        keycycle::base::text::line(&tips)
    );
}

/// A recipient read from the vault (`roster.toml`, a key's `state.toml`)
/// for a listing. Such a file may be anyone's commit, so the value is
/// shown only once it parses as a recipient — a pasted identity or an
/// `@FILE` never is. `short`: its kind and first 32 characters.
pub fn stored_recipient(
    parsed: keycycle::Result<keycycle::custody::Recipient>,
    short: bool,
) -> String {
    let Ok(r) = parsed else {
        return "MALFORMED (not shown; `keycycle escrow rewrap` says why)".into();
    };
    let r = r.to_string();
    if !short {
        return r;
    }
    let kind = if r.starts_with("age1") { "age" } else { "ssh" };
    format!("{kind} {}…", r.chars().take(32).collect::<String>())
}
