//! The terminal side of hardware tokens: what an age plugin or an OpenPGP
//! card asks (PIN, touch, "insert the token") is asked here, with
//! dialoguer — or, in `--batch` / without a terminal, answered from a PIN
//! file or `$KEYCYCLE_PIN` and never prompted.

use std::path::Path;
use std::sync::Arc;

use keycycle::custody::token::{self, BatchUi, TokenUi};
use keycycle::Error;

/// Prompts on the terminal (stderr), one question at a time. A PIN is
/// asked once per question and reused for the rest of the run: one
/// operation may run a token's plugin once per escrow file. (A wrong PIN
/// fails the operation at its first use, so it is never retried.)
#[derive(Default)]
pub struct TerminalUi {
    pins: std::sync::Mutex<std::collections::HashMap<String, age::secrecy::SecretString>>,
}

impl TokenUi for TerminalUi {
    fn display_message(&self, message: &str) {
        super::say(message);
    }

    fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Option<bool> {
        let items = [yes, no.unwrap_or("no")].map(super::prompt::one_line);
        dialoguer::Select::new()
            .with_prompt(super::prompt::one_line(message))
            .items(items)
            .default(0)
            .interact()
            .ok()
            .map(|i| i == 0)
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        dialoguer::Input::<String>::new()
            .with_prompt(super::prompt::one_line(description))
            .interact_text()
            .ok()
    }

    fn request_passphrase(&self, description: &str) -> Option<age::secrecy::SecretString> {
        let mut pins = self.pins.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(pin) = pins.get(description) {
            return Some(pin.clone());
        }
        let pin: age::secrecy::SecretString = dialoguer::Password::new()
            .with_prompt(super::prompt::one_line(description))
            .interact()
            .ok()?
            .into();
        pins.insert(description.to_string(), pin.clone());
        Some(pin)
    }

    fn request_identity_passphrase(&self, description: &str) -> Option<age::secrecy::SecretString> {
        dialoguer::Password::new()
            .with_prompt(super::prompt::one_line(description))
            .interact()
            .ok()
            .map(Into::into)
    }
}

/// The run's token UI, with the passphrase of passphrase-protected escrow
/// identities read from `--identity-passphrase-file`.
struct WithIdentityPassphrase {
    inner: Arc<dyn TokenUi>,
    passphrase: age::secrecy::SecretString,
}

impl TokenUi for WithIdentityPassphrase {
    fn display_message(&self, message: &str) {
        self.inner.display_message(message)
    }

    fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Option<bool> {
        self.inner.confirm(message, yes, no)
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        self.inner.request_public_string(description)
    }

    fn request_passphrase(&self, description: &str) -> Option<age::secrecy::SecretString> {
        self.inner.request_passphrase(description)
    }

    fn request_identity_passphrase(&self, _: &str) -> Option<age::secrecy::SecretString> {
        Some(self.passphrase.clone())
    }
}

/// Load escrow identities (`--identity`): a passphrase-protected SSH key
/// takes its passphrase from `passphrase_file` if given, else it is asked
/// on the terminal (with `--batch`: an error naming the flag).
pub fn identities(
    paths: &[std::path::PathBuf],
    passphrase_file: Option<&Path>,
) -> Result<keycycle::custody::Identities, Error> {
    keycycle::custody::Identities::from_paths_with(
        paths,
        &with_identity_passphrase(passphrase_file)?,
    )
}

/// The run's token UI, answering identity passphrases from `file` if given.
pub fn with_identity_passphrase(file: Option<&Path>) -> Result<Arc<dyn TokenUi>, Error> {
    let ui = token::default_ui();
    let Some(f) = file else {
        return Ok(ui);
    };
    let passphrase = keycycle::custody::read_passphrase(f)?
        .map(|b| age::secrecy::SecretString::from(String::from_utf8_lossy(b).into_owned()));
    Ok(Arc::new(WithIdentityPassphrase {
        inner: ui,
        passphrase,
    }))
}

/// The token UI for this run: `pin_file` if given, else the terminal when
/// we may prompt, else `$KEYCYCLE_PIN` (messages still go to stderr).
pub fn for_run(batch: bool, pin_file: Option<&Path>) -> Result<Arc<dyn TokenUi>, Error> {
    let to_stderr = |m: &str| super::say(m);
    if let Some(f) = pin_file {
        return Ok(Arc::new(
            BatchUi::from_pin_file(f)?.with_messages(to_stderr),
        ));
    }
    if super::interactive(batch) {
        return Ok(Arc::new(TerminalUi::default()));
    }
    Ok(Arc::new(
        BatchUi::from_env(token::PIN_ENV).with_messages(to_stderr),
    ))
}

/// Install it as the process's token UI (once, at start).
pub fn install(batch: bool, pin_file: Option<&Path>) -> Result<(), Error> {
    token::set_default_ui(for_run(batch, pin_file)?);
    Ok(())
}
