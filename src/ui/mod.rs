//! The only place that talks to a terminal: prompts (dialoguer) and output
//! helpers. `--batch`, or no terminal on stderr, turns a prompt into an
//! error naming the flag that supplies the answer.

use std::io::{IsTerminal, Write};

use keycycle::Error;

pub mod token;

/// Whether we may prompt.
pub fn interactive(batch: bool) -> bool {
    !batch && std::io::stderr().is_terminal() && std::io::stdin().is_terminal()
}

/// Error for a missing answer in batch mode.
pub fn missing(flag: &str, what: &str) -> Error {
    Error::input(
        format!("cannot ask \"{what}\": --batch, or no terminal"),
        format!("pass {flag}"),
    )
}

/// Pick one of `items` (label, value); `flag` names the non-interactive way.
pub fn select(
    batch: bool,
    flag: &str,
    prompt: &str,
    items: &[(String, String)],
) -> Result<String, Error> {
    if !interactive(batch) {
        return Err(missing(flag, prompt));
    }
    let labels: Vec<&str> = items.iter().map(|(l, _)| l.as_str()).collect();
    let i = dialoguer::Select::new()
        .with_prompt(prompt)
        .items(&labels)
        .default(0)
        .interact()
        .map_err(|e| Error::input(format!("prompt failed: {e}"), format!("pass {flag}")))?;
    Ok(items[i].1.clone())
}

/// Print to stdout; a closed pipe (`| head`) is not an error.
pub fn emit(text: &str) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|_| out.flush()) {
        if e.kind() == std::io::ErrorKind::BrokenPipe {
            std::process::exit(0);
        }
    }
}

/// Print JSON.
pub fn emit_json<T: serde::Serialize>(value: &T) -> Result<(), Error> {
    let text = serde_json::to_string_pretty(value).map_err(anyhow::Error::from)?;
    emit(&format!("{text}\n"));
    Ok(())
}

/// A byte-progress bar on stderr for long work, when stderr is a terminal.
pub fn progress(total_bytes: u64, files: usize, batch: bool) -> Option<indicatif::ProgressBar> {
    let long = total_bytes > 256 * 1024 * 1024 || files > 500;
    if batch || !long || !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new(total_bytes);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    Some(bar)
}

/// A warning on stderr.
pub fn warn(msg: &str) {
    eprintln!("warning: {msg}");
}

/// Read a passphrase file (trailing newline dropped).
pub fn read_passphrase(path: &std::path::Path) -> Result<sequoia_openpgp::crypto::Password, Error> {
    let text =
        zeroize::Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?);
    let pw = text.trim_end_matches(['\n', '\r']);
    if pw.is_empty() {
        return Err(Error::input(
            format!("{} is empty", path.display()),
            "put the passphrase in the file",
        ));
    }
    Ok(pw.to_string().into())
}

/// Ask for a line of text; `flag` names the non-interactive way.
pub fn input(batch: bool, flag: &str, prompt: &str) -> Result<String, Error> {
    if !interactive(batch) {
        return Err(missing(flag, prompt));
    }
    dialoguer::Input::<String>::new()
        .with_prompt(prompt)
        .interact_text()
        .map_err(|e| Error::input(format!("prompt failed: {e}"), format!("pass {flag}")))
}

/// A yes/no question; `flag` names the non-interactive answer.
pub fn confirm(batch: bool, flag: &str, prompt: &str) -> Result<bool, Error> {
    if !interactive(batch) {
        return Err(missing(flag, prompt));
    }
    dialoguer::Confirm::new()
        .with_prompt(prompt)
        .default(false)
        .interact()
        .map_err(|e| Error::input(format!("prompt failed: {e}"), format!("pass {flag}")))
}
