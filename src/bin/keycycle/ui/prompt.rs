//! Questions (dialoguer). Each names the flag that answers it without a
//! terminal.

use std::io::IsTerminal;

use keycycle::Error;

/// Whether we may prompt.
pub fn interactive(batch: bool) -> bool {
    !batch && std::io::stderr().is_terminal() && std::io::stdin().is_terminal()
}

/// A question or a choice as one line on the terminal
/// ([`keycycle::base::text::line`]).
pub(super) fn one_line(text: &str) -> String {
    keycycle::base::text::line(text).into_owned()
}

/// Error for a missing answer in batch mode.
fn missing(flag: &str, what: &str) -> Error {
    Error::input(
        format!("cannot ask \"{what}\": --batch, or no terminal"),
        format!("pass {flag}"),
    )
}

fn failed(flag: &str, e: dialoguer::Error) -> Error {
    let dialoguer::Error::IO(io) = &e;
    if io.kind() == std::io::ErrorKind::Interrupted {
        return interrupted();
    }
    Error::input(format!("prompt failed: {e}"), format!("pass {flag}"))
}

/// Ctrl-C at a prompt (or before it): the prompt's line ends, the cursor a
/// list prompt hid is shown again, and the command learns it was stopped.
fn interrupted() -> Error {
    super::interrupt::note();
    eprint!("\n\x1b[?25h");
    Error::interrupted("interrupted", None)
}

/// Whether to ask at all: not after Ctrl-C.
fn stopped() -> Result<(), Error> {
    match super::interrupt::interrupted() {
        true => Err(interrupted()),
        false => Ok(()),
    }
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
    stopped()?;
    let labels: Vec<String> = items.iter().map(|(l, _)| one_line(l)).collect();
    let i = dialoguer::Select::new()
        .with_prompt(one_line(prompt))
        .items(&labels)
        .default(0)
        .interact()
        .map_err(|e| failed(flag, e))?;
    Ok(items[i].1.clone())
}

/// Ask for a line of text; `flag` names the non-interactive way.
pub fn input(batch: bool, flag: &str, prompt: &str) -> Result<String, Error> {
    if !interactive(batch) {
        return Err(missing(flag, prompt));
    }
    stopped()?;
    dialoguer::Input::<String>::new()
        .with_prompt(one_line(prompt))
        .interact_text()
        .map_err(|e| failed(flag, e))
}

/// A yes/no question; `flag` names the non-interactive answer.
pub fn confirm(batch: bool, flag: &str, prompt: &str) -> Result<bool, Error> {
    if !interactive(batch) {
        return Err(missing(flag, prompt));
    }
    stopped()?;
    dialoguer::Confirm::new()
        .with_prompt(one_line(prompt))
        .default(false)
        .interact()
        .map_err(|e| failed(flag, e))
}
