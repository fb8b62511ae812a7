//! The audit log: one JSON object per line, each carrying the SHA-256 of
//! the line before it, so a removed or edited entry breaks the chain.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};

/// The hash that stands before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    #[serde(with = "clock::serde_iso")]
    pub time: Time,
    pub action: String,
    /// Who did it (`--operator` / `KEYCYCLE_OPERATOR`), if said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operator: Option<String>,
    /// Entries are written after the action succeeded.
    #[serde(default)]
    pub result: String,
    pub details: serde_json::Value,
    /// SHA-256 (hex) of the previous line, or [`GENESIS`].
    pub prev: String,
}

fn hash(line: &str) -> String {
    hex::encode(Sha256::digest(line.as_bytes()))
}

/// The log text with one more entry appended.
pub fn append(
    log: &str,
    at: Time,
    action: &str,
    operator: Option<&str>,
    details: serde_json::Value,
) -> Result<String> {
    let mut out = log.to_string();
    if !out.is_empty() && !out.ends_with('\n') {
        out.push('\n');
    }
    // The previous line as `verify` will read it once the newline is there
    // (a trailing `\r` becomes part of a `\r\n` line ending).
    let last = out.lines().rfind(|l| !l.trim().is_empty());
    let (seq, prev) = match last {
        Some(line) => {
            let e: Entry = serde_json::from_str(line).map_err(|e| {
                Error::vault(
                    format!(
                        "audit.log: last entry is not valid: {}",
                        crate::base::error::quoteless(&e.to_string())
                    ),
                    "restore audit.log from the vault's git history",
                )
            })?;
            (e.seq + 1, hash(line))
        }
        None => (1, GENESIS.to_string()),
    };
    let entry = Entry {
        seq,
        time: at,
        action: action.to_string(),
        operator: operator.map(str::to_string),
        result: "ok".into(),
        details,
        prev,
    };
    out.push_str(&serde_json::to_string(&entry).map_err(anyhow::Error::from)?);
    out.push('\n');
    Ok(out)
}

/// The last entry of a log that [`verify`] accepted: its number and the
/// SHA-256 of its line; `None` for an empty log.
pub fn head(log: &str) -> Option<crate::vault::trust::AuditHead> {
    let last = log.lines().rfind(|l| !l.trim().is_empty())?;
    let e: Entry = serde_json::from_str(last).ok()?;
    Some(crate::vault::trust::AuditHead {
        seq: e.seq,
        hash: hash(last),
    })
}

/// Whether the log (already verified) still holds entry `head` as it was:
/// `Err` says how it differs (shorter, or another entry at that number).
pub fn holds(log: &str, head: &crate::vault::trust::AuditHead) -> std::result::Result<(), String> {
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    match usize::try_from(head.seq)
        .ok()
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| lines.get(i))
    {
        None => Err(format!(
            "the log has {} entries, but entry {} was seen",
            lines.len(),
            head.seq
        )),
        Some(line) if hash(line) != head.hash => Err(format!(
            "entry {} is not the one that was seen (the log was rewritten from there)",
            head.seq
        )),
        Some(_) => Ok(()),
    }
}

/// Check the chain; returns the entries.
pub fn verify(log: &str) -> Result<Vec<Entry>> {
    let mut prev = GENESIS.to_string();
    let mut entries = Vec::new();
    for (n, line) in log.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let broken = |why: String| {
            Error::vault(
                format!("audit.log entry {}: {why}", n + 1),
                "the log was edited or truncated: compare it with the vault's git history",
            )
        };
        let e: Entry = serde_json::from_str(line)
            .map_err(|e| broken(crate::base::error::quoteless(&e.to_string())))?;
        if e.prev != prev {
            return Err(broken("hash chain broken".into()));
        }
        if e.seq != n as u64 + 1 {
            return Err(broken(format!("sequence number {} out of order", e.seq)));
        }
        prev = hash(line);
        entries.push(e);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appending_after_a_trailing_carriage_return_keeps_the_chain() {
        // Found with the audit_log fuzz target's invariant: a valid log
        // ending in "\r" (no newline) was hashed with the "\r", but read
        // back after the append as a "\r\n" line ending, without it.
        let t = clock::parse_time("2026-08-01").unwrap();
        let log = append("", t, "init", None, serde_json::json!({})).unwrap();
        let log = format!("{}\r", log.trim_end());
        assert!(verify(&log).is_ok());
        let log = append(&log, t, "generate", None, serde_json::json!({})).unwrap();
        assert_eq!(verify(&log).unwrap().len(), 2);
    }

    #[test]
    fn chain_detects_edits_and_removals() {
        let t = clock::parse_time("2026-08-01").unwrap();
        let mut log = String::new();
        for a in ["init", "generate", "publish"] {
            log = append(&log, t, a, Some("ops"), serde_json::json!({"x": a})).unwrap();
        }
        assert_eq!(verify(&log).unwrap().len(), 3);
        let edited = log.replace("\"generate\"", "\"generatf\"");
        assert!(verify(&edited).is_err());
        let removed: String = log
            .lines()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, l)| format!("{l}\n"))
            .collect();
        assert!(verify(&removed).is_err());
    }
}
