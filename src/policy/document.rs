//! One policy version as a file: its fields, the canonical text keycycle
//! writes (what the roots sign, byte for byte) and its digest.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::base::error::{Error, Result};
use crate::custody::Recipient;

/// The layout of a policy file.
pub const FORMAT: u32 = 1;

/// One version of the vault policy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    pub format: u32,
    pub version: u32,
    /// `sha256:…` of version `version - 1` (absent in version 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// How many roots of this version must sign the next one.
    pub policy_threshold: u8,
    /// M of the M-of-N escrow (1: every root opens it alone).
    pub escrow_threshold: u8,
    /// R of the escrowed revocations (1: any one root can revoke; R > 1:
    /// they are split R-of-N). Written only when above 1, so the versions
    /// signed before it existed keep their bytes and mean 1.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub revocation_threshold: u8,
    /// After this instant the version seals no secret to anyone (it still
    /// verifies and revokes); set at `policy propose`, one year by default.
    /// Absent only in versions written before keycycle knew expiry.
    #[serde(
        default,
        with = "crate::base::clock::serde_iso_opt",
        skip_serializing_if = "Option::is_none"
    )]
    pub expires: Option<crate::base::clock::Time>,
    /// The audit log's last entry when this version was written: `audit
    /// verify` reports a log that lost or rewrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_head: Option<crate::vault::trust::AuditHead>,
    /// The keyservers `publish` uploads to and checks (empty: the
    /// keycycle.toml draft must be confirmed by the operator).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keyservers: Vec<String>,
    /// `sha256:…` of the announcement template the roots approved (absent:
    /// keycycle's built-in one only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce_template: Option<String>,
    #[serde(default, rename = "root")]
    pub roots: Vec<Root>,
    #[serde(default, rename = "key")]
    pub keys: Vec<PolicyKey>,
}

/// A root as the policy authorises them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Root {
    pub name: String,
    pub email: String,
    /// Their OpenPGP certificate (`roster/<FINGERPRINT>.asc`); without
    /// one they cannot sign policy changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<String>,
    /// What their escrow share or copy is sealed to.
    pub escrow_recipient: String,
}

/// A cycle key of the vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyKey {
    pub cycle: String,
    pub fingerprint: String,
    /// Set once the key is revoked: `compromised` (hard) or `retired`; a
    /// `cert.asc` without a revocation is then refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revoked: Option<String>,
}

fn one() -> u8 {
    1
}

fn is_one(n: &u8) -> bool {
    *n == 1
}

/// `sha256:<hex>` of a file's bytes.
pub fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

impl Policy {
    /// The canonical text: a header saying how to sign it, then the fields.
    pub fn text(&self) -> Result<String> {
        let body = toml::to_string(self).map_err(anyhow::Error::from)?;
        Ok(format!(
            "# keycycle vault policy, version {v}: what the roots authorise.\n\
             # Check every line (`keycycle policy show`), then sign this file as it is:\n\
             #   gpg --armor --detach-sign --output policy/v{v}.sig/<YOUR-FINGERPRINT>.asc policy/v{v}.toml\n\
             # or: keycycle policy sign --with-key YOUR-SECRET-KEY.asc\n\n{body}",
            v = self.version
        ))
    }

    /// Parse a version file. Errors name the file and line, never its
    /// contents.
    pub fn parse(bytes: &[u8], path: &Path) -> Result<Policy> {
        let text = std::str::from_utf8(bytes).map_err(|_| {
            Error::vault(
                format!("{}: not UTF-8 text", path.display()),
                "restore it from the vault's git history",
            )
        })?;
        let policy: Policy = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(1);
            Error::vault(
                format!("{}:{line}: not a keycycle policy", path.display()),
                "restore it from the vault's git history",
            )
        })?;
        if policy.format != FORMAT {
            return Err(Error::vault(
                format!(
                    "{}: policy format {} (this keycycle reads {FORMAT})",
                    path.display(),
                    policy.format
                ),
                "upgrade keycycle before touching this vault",
            ));
        }
        Ok(policy)
    }

    /// The thresholds make sense for the roots listed, and no root, key or
    /// recipient is listed twice. Every version loaded passes it, not only
    /// a proposed one.
    pub fn check(&self) -> Result<()> {
        let signers = self.check_listed_once()?;
        self.check_thresholds(signers)
    }

    /// No escrow recipient, root fingerprint or cycle key listed twice;
    /// returns how many roots have an OpenPGP fingerprint to sign with.
    fn check_listed_once(&self) -> Result<usize> {
        let mut recipients = Vec::new();
        for r in &self.roots {
            let parsed = Recipient::parse_stored(&r.escrow_recipient).map_err(|e| {
                let hint = e.hint().unwrap_or_default().to_string();
                Error::vault(format!("member {}: {e}", r.name), hint)
            })?;
            let shown = parsed.to_string();
            if recipients.contains(&shown) {
                return Err(Error::input(
                    format!(
                        "two roots have the same escrow recipient (the second is {})",
                        r.name
                    ),
                    "each root seals to their own identity: one person, one share",
                ));
            }
            recipients.push(shown);
        }
        let mut fingerprints: Vec<String> = self
            .roots
            .iter()
            .filter_map(|r| r.fingerprint.as_deref())
            .map(str::to_ascii_uppercase)
            .collect();
        let signers = fingerprints.len();
        fingerprints.sort();
        fingerprints.dedup();
        if fingerprints.len() != signers {
            return Err(Error::input(
                "two roots have the same OpenPGP fingerprint",
                "each root signs with their own certificate: a signature counts once",
            ));
        }
        let mut keys: Vec<&str> = self.keys.iter().map(|k| k.fingerprint.as_str()).collect();
        keys.sort();
        if keys.windows(2).any(|w| w[0].eq_ignore_ascii_case(w[1])) {
            return Err(Error::input(
                "a cycle key is listed twice",
                "list each key once, with its one cycle",
            ));
        }
        Ok(signers)
    }

    /// The escrow, revocation and policy thresholds are possible for the
    /// roots listed (`signers` of them able to sign) and in order.
    fn check_thresholds(&self, signers: usize) -> Result<()> {
        let n = self.roots.len();
        if n == 0 {
            return Err(Error::input(
                "the policy would list no root",
                "add the roots first: keycycle roster add",
            ));
        }
        if self.escrow_threshold == 0 || usize::from(self.escrow_threshold) > n {
            return Err(Error::input(
                format!(
                    "escrow threshold {} of {n} roots is not possible",
                    self.escrow_threshold
                ),
                "set [escrow] threshold between 1 and the number of roots",
            ));
        }
        if self.revocation_threshold == 0 || usize::from(self.revocation_threshold) > n {
            return Err(Error::input(
                format!(
                    "revocation threshold {} of {n} roots is not possible",
                    self.revocation_threshold
                ),
                "set [escrow] revocation_threshold between 1 and the number of roots",
            ));
        }
        if self.revocation_threshold > self.escrow_threshold {
            return Err(Error::input(
                format!(
                    "revocation threshold {} is above the escrow threshold {}: whoever opens the primary can revoke anyway",
                    self.revocation_threshold, self.escrow_threshold
                ),
                "set [escrow] revocation_threshold between 1 and [escrow] threshold",
            ));
        }
        if self.policy_threshold == 0 || usize::from(self.policy_threshold) > n {
            return Err(Error::input(
                format!(
                    "policy threshold {} of {n} roots is not possible",
                    self.policy_threshold
                ),
                "set [policy] threshold between the escrow threshold and the number of roots",
            ));
        }
        if self.policy_threshold < self.escrow_threshold {
            return Err(Error::input(
                format!(
                    "policy threshold {} is below the escrow threshold {}",
                    self.policy_threshold, self.escrow_threshold
                ),
                "a policy change must need at least as many roots as opening the escrow",
            ));
        }
        if self.version > 1 && usize::from(self.policy_threshold) > signers {
            return Err(Error::input(
                format!(
                    "policy threshold {} but only {signers} roots have an OpenPGP certificate to sign with",
                    self.policy_threshold
                ),
                "add the roots' certificates (roster add --cert), or lower [policy] threshold",
            ));
        }
        Ok(())
    }

    /// [`Policy::check`] for a version read from `path`: an error names the
    /// file and says what is wrong (never its contents).
    pub fn check_loaded(&self, path: &Path) -> Result<()> {
        self.check().map_err(|e| {
            Error::vault(
                format!("{}: {e}", path.display()),
                "the version breaks the policy rules, so keycycle does not use it: restore policy/ from git history, or have the roots sign a correct version",
            )
        })
    }

    /// The roots' fingerprints (those who can sign).
    pub fn signer_fingerprints(&self) -> Vec<&str> {
        self.roots
            .iter()
            .filter_map(|r| r.fingerprint.as_deref())
            .collect()
    }

    /// Every root's escrow recipient.
    pub fn recipients(&self) -> Result<Vec<Recipient>> {
        self.roots
            .iter()
            .map(|r| Recipient::parse_stored(&r.escrow_recipient))
            .collect()
    }

    /// The roots' names, in recipient order (share file names).
    pub fn holder_names(&self) -> Vec<String> {
        self.roots.iter().map(|r| r.name.clone()).collect()
    }

    /// Whether `fingerprint` is one of the vault's cycle keys.
    pub fn lists(&self, fingerprint: &str) -> bool {
        self.keys.iter().any(|k| k.fingerprint == fingerprint)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> Policy {
        Policy {
            format: FORMAT,
            version: 2,
            previous: Some(digest(b"v1")),
            policy_threshold: 2,
            escrow_threshold: 1,
            revocation_threshold: 1,
            expires: None,
            audit_head: Some(crate::vault::trust::AuditHead {
                seq: 3,
                hash: "ab".repeat(32),
            }),
            keyservers: vec!["hkps://keys.openpgp.org".into()],
            announce_template: None,
            roots: vec![
                Root {
                    name: "Ada".into(),
                    email: "ada@example.org".into(),
                    fingerprint: Some("A".repeat(40)),
                    escrow_recipient:
                        "age1u9mvrzlw2frft08dussxl6wyh4gvn57agkym358jktfgrszg9cvq6rz9g3".into(),
                },
                Root {
                    name: "Bob".into(),
                    email: "bob@example.org".into(),
                    fingerprint: Some("B".repeat(40)),
                    escrow_recipient:
                        "age163us4zn8n5smzc09r5fe58fkgka453gdvjsscewanpt56728vd2sp94lec".into(),
                },
            ],
            keys: vec![PolicyKey {
                cycle: "2027.1".into(),
                fingerprint: "C".repeat(40),
                revoked: None,
            }],
        }
    }

    #[test]
    fn the_canonical_text_round_trips_and_is_stable() {
        let p = policy();
        let text = p.text().unwrap();
        assert_eq!(
            Policy::parse(text.as_bytes(), Path::new("v2.toml")).unwrap(),
            p
        );
        assert_eq!(p.text().unwrap(), text);
        assert!(text.contains("gpg --armor --detach-sign --output policy/v2.sig/"));
        assert_ne!(
            digest(text.as_bytes()),
            digest(text.replace("Bob", "Eve").as_bytes())
        );
    }

    #[test]
    fn impossible_thresholds_are_refused() {
        let mut p = policy();
        p.policy_threshold = 3;
        assert!(
            p.check().is_err(),
            "more signers needed than roots with certs"
        );
        let mut p = policy();
        p.escrow_threshold = 3;
        p.policy_threshold = 3;
        assert!(p.check().is_err());
        let mut p = policy();
        p.policy_threshold = 0;
        assert!(p.check().is_err(), "below the escrow threshold");
        let mut p = policy();
        p.roots[1].fingerprint = Some("a".repeat(40));
        assert!(p.check().is_err(), "one certificate listed for two roots");
        let mut p = policy();
        p.roots[1].escrow_recipient = p.roots[0].escrow_recipient.clone();
        p.policy_threshold = 1;
        assert!(p.check().is_err(), "one recipient for two roots");
        let mut p = policy();
        p.keys.push(p.keys[0].clone());
        assert!(p.check().is_err(), "a key listed twice");
        assert!(policy().check().is_ok());
    }

    #[test]
    fn the_revocation_threshold_is_written_only_above_one() {
        let p = policy();
        let text = p.text().unwrap();
        assert!(!text.contains("revocation_threshold"), "{text}");
        let mut split = policy();
        split.escrow_threshold = 2;
        split.revocation_threshold = 2;
        let text = split.text().unwrap();
        assert!(text.contains("\nrevocation_threshold = 2\n"), "{text}");
        assert_eq!(
            Policy::parse(text.as_bytes(), Path::new("v2.toml")).unwrap(),
            split
        );
        assert!(split.check().is_ok());
        for (m, r) in [(2, 0), (1, 2), (2, 3)] {
            let mut p = policy();
            p.escrow_threshold = m;
            p.revocation_threshold = r;
            assert!(p.check().is_err(), "R {r} with M {m} of 2");
        }
    }

    #[test]
    fn a_garbled_file_is_named_not_echoed() {
        let e = Policy::parse(
            b"format = 1\nversion = AGE-SECRET-KEY-1XYZ\n",
            Path::new("v1.toml"),
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("v1.toml:2"), "{e}");
        assert!(!e.contains("AGE-SECRET"), "{e}");
    }
}
