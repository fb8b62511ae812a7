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
    #[error("{}:{line}:{column}: {msg}", crate::base::text::path(path))]
    Config {
        path: PathBuf,
        line: usize,
        column: usize,
        msg: String,
    },

    /// An I/O error, always naming the path involved.
    #[error("{}: {source}", crate::base::text::path(path))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The person stopped the command (Ctrl-C), with where and what next.
    #[error("{msg}")]
    Interrupted { msg: String, hint: Option<String> },

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

    /// A file that did not parse: its path, the line and column of
    /// `offset` in `text`, and the parser's `msg` without what it quotes
    /// from the file (see [`quoteless`]).
    pub fn parse(path: &std::path::Path, text: &str, offset: Option<usize>, msg: &str) -> Self {
        let (line, column) = offset.map(|o| line_col(text, o)).unwrap_or((1, 1));
        Error::Config {
            path: path.to_owned(),
            line,
            column,
            msg: quoteless(msg),
        }
    }

    /// The person pressed Ctrl-C; `msg` says where.
    pub fn interrupted(msg: impl Into<String>, hint: Option<String>) -> Self {
        Error::Interrupted {
            msg: msg.into(),
            hint,
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
            Error::Input { hint, .. }
            | Error::Vault { hint, .. }
            | Error::Interrupted { hint, .. } => hint.as_deref(),
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
pub fn with_causes(e: &dyn std::error::Error) -> String {
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

/// 1-based line and column of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// A parser's message (toml, YAML, JSON) without the text it quotes from
/// the input: `invalid type: string "AGE-SECRET-KEY-1…", expected a
/// sequence` becomes `invalid type: string, expected a sequence`. A file
/// may be something else than the configuration it was named as — an
/// identity, a private key — and its content must not reach a terminal or
/// a CI log. Kept: what the parser expected (from keycycle's own schema),
/// field names serde reports missing or duplicated, quoted punctuation
/// (`=`), and the name of an unknown field or variant when it looks like
/// one (lower case, `_`/`-`, at most 32 characters: a typo such as
/// `warn_dayz`, never a key or a secret); the location suffix is dropped
/// (the caller gives line and column).
pub fn quoteless(msg: &str) -> String {
    let msg = msg.trim().lines().next().unwrap_or("").trim();
    let msg = match msg.find(" at line ") {
        Some(i) if msg[i..].contains(" column ") => &msg[..i],
        _ => msg,
    };
    for schema in ["missing field `", "duplicate field `"] {
        if let Some(rest) = msg.strip_prefix(schema) {
            let field = rest.strip_suffix('`').unwrap_or("");
            if !field.is_empty()
                && field
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-')
            {
                return msg.to_string();
            }
        }
    }
    let (head, tail) = match msg.find(", expected") {
        Some(i) => msg.split_at(i),
        None => (msg, ""),
    };
    let typo = head.starts_with("unknown field `") || head.starts_with("unknown variant `");
    let name_like = |t: &str| {
        (1..=32).contains(&t.len())
            && t.starts_with(|c: char| c.is_ascii_lowercase())
            && t.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
    };
    let mut out = String::new();
    let mut rest = head;
    while let Some(i) = rest.find(['"', '`', '\'']) {
        out.push_str(&rest[..i]);
        let q = rest[i..].chars().next().unwrap_or('"');
        let after = &rest[i + 1..];
        let Some(end) = after.find(q) else {
            rest = "";
            break;
        };
        let inner = &after[..end];
        let punctuation = inner.len() <= 3 && !inner.chars().any(char::is_alphanumeric);
        if punctuation || (typo && q == '`' && name_like(inner)) {
            out.push(q);
            out.push_str(inner);
            out.push(q);
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    let out = out.trim_end_matches([' ', ':']).replace(" ,", ",");
    let out = if out.is_empty() {
        "malformed".to_string()
    } else {
        out
    };
    format!("{out}{tail}")
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

#[cfg(test)]
mod tests {
    use super::quoteless;

    #[test]
    fn parser_messages_lose_what_they_quote() {
        for (msg, want) in [
            (
                "invalid type: string \"AGE-SECRET-KEY-1QQQ\", expected a sequence at line 3 column 1",
                "invalid type: string, expected a sequence",
            ),
            (
                "unknown variant `AGE-SECRET`, expected one of `embedded`, `custom`",
                "unknown variant, expected one of `embedded`, `custom`",
            ),
            ("missing field `name`", "missing field `name`"),
            (
                "unknown field `warn_dayz`, expected one of `warn_days`",
                "unknown field `warn_dayz`, expected one of `warn_days`",
            ),
            (
                "unknown field `AGE-SECRET-KEY-1QQQ`, expected `a`",
                "unknown field, expected `a`",
            ),
            (
                "unknown field `age-secret-key-1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq`, expected `a`",
                "unknown field, expected `a`",
            ),
            ("duplicate key `AGE-SECRET-KEY-1QQQ`", "duplicate key"),
            ("expected `=`", "expected `=`"),
            ("invalid date 'AGE-SECRET-KEY-1'", "invalid date"),
            ("unterminated \"AGE-SECRET-KEY", "unterminated"),
            ("\"AGE-SECRET-KEY-1QQQ\"", "malformed"),
        ] {
            assert_eq!(quoteless(msg), want, "{msg}");
        }
    }
}
