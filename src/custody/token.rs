//! What a hardware token asks of the person holding it — a PIN, a touch,
//! "insert the token" — goes through one small trait, [`TokenUi`]. age
//! plugins (escrow identities on tokens) and OpenPGP cards both use it.
//!
//! The library never prompts: the UI layer implements [`TokenUi`] once, at
//! the edge (dialoguer); `--batch` runs use [`BatchUi`], which answers a PIN
//! from a file or an environment variable and nothing else. The trait is
//! age's `Callbacks` made object-safe, so it adapts to age in one line.

use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use age::secrecy::SecretString;
use zeroize::Zeroizing;

use crate::base::error::{Error, IoContext, Result};

/// The environment variable a batch run may take a token PIN from (when no
/// `--pin-file` is given).
pub const PIN_ENV: &str = "KEYCYCLE_PIN";

/// The questions a token may ask. Every answer is optional: `None` means
/// "nobody can answer" (batch, no terminal) and the token fails cleanly.
pub trait TokenUi: Send + Sync {
    /// Show a message ("insert the token", "touch it now").
    fn display_message(&self, message: &str);
    /// A yes/no question; `no` is the label of the negative answer, if any.
    fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Option<bool>;
    /// Non-secret input.
    fn request_public_string(&self, description: &str) -> Option<String>;
    /// A PIN or passphrase.
    fn request_passphrase(&self, description: &str) -> Option<SecretString>;
    /// The passphrase of a passphrase-protected escrow identity (an SSH
    /// key), never a token's PIN: `None` unless the operator gave one or
    /// can be asked.
    fn request_identity_passphrase(&self, _description: &str) -> Option<SecretString> {
        None
    }
}

type Sink = Box<dyn Fn(&str) + Send + Sync>;

/// The non-interactive answers: a PIN if one was given, messages to a sink
/// if one was given, and no to everything else.
#[derive(Default)]
pub struct BatchUi {
    pin: Option<SecretString>,
    messages: Option<Sink>,
}

impl BatchUi {
    /// Answer PIN requests with `pin` (or refuse them when `None`).
    pub fn new(pin: Option<SecretString>) -> BatchUi {
        BatchUi {
            pin,
            messages: None,
        }
    }

    /// The PIN in a file (`--pin-file`): the first line, trailing newline dropped.
    pub fn from_pin_file(path: &Path) -> Result<BatchUi> {
        Ok(BatchUi::new(Some(read_pin_file(path)?)))
    }

    /// The PIN in the environment variable `var` (e.g. [`PIN_ENV`]), if set
    /// and not empty.
    pub fn from_env(var: &str) -> BatchUi {
        let pin = std::env::var(var)
            .ok()
            .map(Zeroizing::new)
            .filter(|p| !p.is_empty())
            .map(|p| SecretString::from(p.to_string()));
        BatchUi::new(pin)
    }

    /// Send the tokens' messages to `sink` (the UI layer prints them; tests
    /// collect them).
    pub fn with_messages(mut self, sink: impl Fn(&str) + Send + Sync + 'static) -> BatchUi {
        self.messages = Some(Box::new(sink));
        self
    }

    /// Whether a PIN is at hand.
    pub fn has_pin(&self) -> bool {
        self.pin.is_some()
    }
}

impl TokenUi for BatchUi {
    fn display_message(&self, message: &str) {
        if let Some(sink) = &self.messages {
            sink(message);
        }
    }

    fn confirm(&self, _: &str, _: &str, _: Option<&str>) -> Option<bool> {
        None
    }

    fn request_public_string(&self, _: &str) -> Option<String> {
        None
    }

    fn request_passphrase(&self, _: &str) -> Option<SecretString> {
        self.pin.clone()
    }
}

/// Read a PIN file: its first line, without the line end; empty is an error.
pub fn read_pin_file(path: &Path) -> Result<SecretString> {
    let text = Zeroizing::new(std::fs::read_to_string(path).with_path(path)?);
    let pin = text.lines().next().unwrap_or_default();
    if pin.is_empty() {
        return Err(Error::input(
            format!("{} is empty", crate::base::text::path(path)),
            "put the PIN on the file's first line",
        ));
    }
    Ok(SecretString::from(pin.to_string()))
}

fn slot() -> &'static RwLock<Arc<dyn TokenUi>> {
    static DEFAULT: OnceLock<RwLock<Arc<dyn TokenUi>>> = OnceLock::new();
    DEFAULT.get_or_init(|| RwLock::new(Arc::new(BatchUi::default())))
}

/// Install the process's token UI (the binary does this once, at start).
/// Calls that take no explicit UI use it; until it is set, tokens get no
/// answers (and messages go nowhere).
pub fn set_default_ui(ui: Arc<dyn TokenUi>) {
    *slot().write().unwrap_or_else(|e| e.into_inner()) = ui;
}

/// The process's token UI (see [`set_default_ui`]).
pub fn default_ui() -> Arc<dyn TokenUi> {
    slot().read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// A [`TokenUi`] as age's `Callbacks` (which must be `Clone + 'static`).
#[derive(Clone)]
pub(crate) struct AgeCallbacks(pub(crate) Arc<dyn TokenUi>);

impl age::Callbacks for AgeCallbacks {
    fn display_message(&self, message: &str) {
        self.0.display_message(message)
    }

    fn confirm(&self, message: &str, yes_string: &str, no_string: Option<&str>) -> Option<bool> {
        self.0.confirm(message, yes_string, no_string)
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        self.0.request_public_string(description)
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        self.0.request_passphrase(description)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;
    use std::sync::Mutex;

    #[test]
    fn batch_answers_only_the_pin() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let ui = BatchUi::new(Some("123456".to_string().into()))
            .with_messages(move |m| s.lock().unwrap().push(m.to_string()));
        ui.display_message("touch it");
        assert_eq!(*seen.lock().unwrap(), vec!["touch it".to_string()]);
        assert_eq!(
            ui.request_passphrase("PIN").unwrap().expose_secret(),
            "123456"
        );
        assert_eq!(ui.confirm("sure?", "yes", Some("no")), None);
        assert_eq!(ui.request_public_string("name"), None);
        assert!(BatchUi::default().request_passphrase("PIN").is_none());
    }

    #[test]
    fn pin_file_first_line_and_empty_refused() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pin");
        std::fs::write(&f, "654321\n").unwrap();
        assert_eq!(read_pin_file(&f).unwrap().expose_secret(), "654321");
        std::fs::write(&f, "\n").unwrap();
        assert!(read_pin_file(&f)
            .unwrap_err()
            .to_string()
            .contains("is empty"));
    }
}
