//! Questions (dialoguer). Each names the flag that answers it without a
//! terminal.

use std::io::IsTerminal;

use keycycle::Error;

/// Whether we may prompt.
pub fn interactive(batch: bool) -> bool {
    !batch && std::io::stderr().is_terminal() && std::io::stdin().is_terminal()
}

/// A question or a choice as one line on the terminal
/// ([`keycycle::text::line`]).
pub(super) fn one_line(text: &str) -> String {
    keycycle::text::line(text).into_owned()
}

/// Error for a missing answer in batch mode.
fn missing(flag: &str, what: &str) -> Error {
    Error::input(
        format!("cannot ask \"{what}\": --batch, or no terminal"),
        format!("pass {flag}"),
    )
}

fn failed(flag: &str, e: dialoguer::Error) -> Error {
    Error::input(format!("prompt failed: {e}"), format!("pass {flag}"))
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
    dialoguer::Confirm::new()
        .with_prompt(one_line(prompt))
        .default(false)
        .interact()
        .map_err(|e| failed(flag, e))
}
