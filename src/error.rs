//! The library's error type: every variant a user can see carries a hint.

use std::path::PathBuf;

/// Result alias used throughout the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, with enough context to tell the user what to do next.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad input from the user: a flag, an argument, a file they pointed at.
    #[error("{msg}")]
    Input { msg: String, hint: Option<String> },

    /// The vault is missing, incomplete or holds something unexpected.
    #[error("{msg}")]
    Vault { msg: String, hint: Option<String> },

    /// A configuration file did not parse or had a value of the wrong type.
    #[error("{path}:{line}:{column}: {msg}")]
    Config {
        path: PathBuf,
        line: usize,
        column: usize,
        msg: String,
    },

    /// An I/O error, always naming the path involved.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Anything from the OpenPGP or age layers.
    #[error(transparent)]
    Other(anyhow::Error),
}

/// Our own errors come back whole (with their hints) from the layers that
/// carry them as `anyhow::Error`: a card signer's refusal inside sequoia's
/// signature builder, say.
impl From<anyhow::Error> for Error {
    fn from(e: anyhow::Error) -> Self {
        match e.downcast::<Error>() {
            Ok(ours) => ours,
            Err(e) => Error::Other(e),
        }
    }
}

impl Error {
    /// Bad input, with a hint on how to fix it.
    pub fn input(msg: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Input {
            msg: msg.into(),
            hint: Some(hint.into()),
        }
    }

    /// A vault problem, with a hint on how to fix it.
    pub fn vault(msg: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Vault {
            msg: msg.into(),
            hint: Some(hint.into()),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// Prefix an input error's message with where it happened (a path).
    pub fn context(self, what: impl std::fmt::Display) -> Self {
        match self {
            Error::Input { msg, hint } => Error::Input {
                msg: format!("{what}: {msg}"),
                hint,
            },
            e => e,
        }
    }

    /// What the user should do next, if we know.
    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Input { hint, .. } | Error::Vault { hint, .. } => hint.as_deref(),
            Error::Config { .. } => {
                Some("fix the value, or compare with the defaults: `keycycle init --print`")
            }
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => Some("check the path"),
                std::io::ErrorKind::PermissionDenied => {
                    Some("check the file's owner and permissions")
                }
                std::io::ErrorKind::IsADirectory => Some("give a file, not a directory"),
                std::io::ErrorKind::NotADirectory => {
                    Some("a part of the path is a file, not a directory: check the path")
                }
                std::io::ErrorKind::AlreadyExists => {
                    Some("remove it or choose another path (or pass --overwrite where offered)")
                }
                _ => Some("check the path, the disk and the permissions, then run it again"),
            },
            Error::Other(_) => {
                Some("run it again with -v; if it persists, report it with the command you ran")
            }
        }
    }
}

/// An error and its causes on one line, each cause once.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        src = c.source();
    }
    s
}

/// Attach a path to an I/O result.
pub trait IoContext<T> {
    fn with_path(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn with_path(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
