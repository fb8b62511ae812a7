//! The signed vault policy: what the roots authorise — the roster (each
//! root's OpenPGP fingerprint and escrow recipient), the escrow threshold,
//! how many roots must sign a change, and which keys are the vault's cycle
//! keys. Modelled on TUF's root metadata:
//!
//! - `policy/v1.toml` is trusted because its digest is pinned in the
//!   operator's local trust store ([`trust`]), outside the repository;
//! - `policy/vN.toml` (N > 1) is in force when it names the digest of
//!   version N-1 and carries valid detached signatures
//!   (`policy/vN.sig/<FINGERPRINT>.asc`) by at least `policy_threshold`
//!   roots of version N-1. With fewer it is a proposal: shown, never used.
//!
//! `roster/roster.toml` and `[escrow] threshold` are only the draft of the
//! next version ([`draft`]). See `docs/threat-model.md`.

pub mod diff;
mod document;
pub mod trust;

use std::path::PathBuf;

use serde::Serialize;

use sequoia_openpgp as openpgp;

use crate::clock::Time;
use crate::error::{Error, Result};
use crate::vault::{StoredKey, Vault};
use crate::verify::{self, Keyring};

pub use document::{digest, Policy, PolicyKey, Root};

/// The vault's directory of policy versions.
pub const POLICY_DIR: &str = "policy";

/// The file of version `n`.
pub fn version_path(vault: &Vault, n: u32) -> PathBuf {
    vault.root().join(POLICY_DIR).join(format!("v{n}.toml"))
}

/// The signature of version `n` by the root with `fingerprint`.
pub fn signature_path(vault: &Vault, n: u32, fingerprint: &str) -> PathBuf {
    vault
        .root()
        .join(POLICY_DIR)
        .join(format!("v{n}.sig"))
        .join(format!("{fingerprint}.asc"))
}

/// The policy in force, and the proposal after it if there is one.
#[derive(Debug, Clone, Serialize)]
pub struct State {
    pub policy: Policy,
    /// `sha256:…` of the version in force.
    pub digest: String,
    /// `sha256:…` of version 1, as pinned on this machine.
    pub pin: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pending: Option<Pending>,
}

/// A version written but not (yet) signed by enough roots.
#[derive(Debug, Clone, Serialize)]
pub struct Pending {
    pub policy: Policy,
    pub digest: String,
    /// Roots of the version in force whose signature verifies.
    pub signed_by: Vec<String>,
    /// Roots of the version in force who have not signed (with a cert).
    pub missing: Vec<String>,
    /// Signatures that are there but do not verify, with why.
    pub bad: Vec<String>,
    pub needed: usize,
}

impl State {
    /// Whether `fingerprint` is one of the vault's cycle keys.
    pub fn lists(&self, fingerprint: &str) -> bool {
        self.policy.lists(fingerprint)
    }
}

/// The versions on disk, in order, as bytes (stops at the first gap).
fn versions(vault: &Vault) -> Result<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    for n in 1.. {
        let path = version_path(vault, n);
        match std::fs::read(&path) {
            Ok(b) => out.push(b),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => break,
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(out)
}

/// The bytes of version `n`.
pub fn version_bytes(vault: &Vault, n: u32) -> Result<Vec<u8>> {
    let path = version_path(vault, n);
    std::fs::read(&path).map_err(|e| Error::io(path, e))
}

/// Whether the vault holds any policy version.
pub fn exists(vault: &Vault) -> bool {
    version_path(vault, 1).exists()
}

/// The signatures on version `n` (`bytes`) by the roots of `signers`:
/// who signed (verified), who did not, and what is there but bad.
pub fn signatures(
    vault: &Vault,
    n: u32,
    bytes: &[u8],
    signers: &Policy,
    at: Time,
) -> (Vec<String>, Vec<String>, Vec<String>) {
    let (mut good, mut missing, mut bad) = (Vec::new(), Vec::new(), Vec::new());
    for root in &signers.roots {
        let Some(fpr) = &root.fingerprint else {
            continue;
        };
        let path = signature_path(vault, n, fpr);
        let Ok(sig) = std::fs::read(&path) else {
            missing.push(root.name.clone());
            continue;
        };
        let cert = match vault.roster_cert(fpr) {
            Ok(Some(c)) if &c.fingerprint().to_hex() == fpr => c,
            Ok(_) => {
                bad.push(format!("{}: no certificate roster/{fpr}.asc", root.name));
                continue;
            }
            Err(e) => {
                bad.push(format!("{}: {e}", root.name));
                continue;
            }
        };
        let verdict =
            Keyring::new(vec![cert]).map(|ring| verify::verify_bytes(&ring, bytes, &sig, at));
        match verdict {
            Ok(v) if v.good => good.push(root.name.clone()),
            Ok(v) => bad.push(format!("{}: {}", root.name, v.fault.reason)),
            Err(e) => bad.push(format!("{}: {e}", root.name)),
        }
    }
    (good, missing, bad)
}

/// The policy in force in `vault` as this machine trusts it; `None` when
/// the vault has no policy and this machine never pinned one for it.
pub fn load(vault: &Vault, at: Time) -> Result<Option<State>> {
    let trust = vault.trust();
    let entry = trust.entry(vault.root())?;
    let files = versions(vault)?;
    let Some(first) = files.first() else {
        if let Some(pin) = entry.policy {
            return Err(Error::vault(
                format!(
                    "the vault's signed policy is missing (this machine pinned version 1 as {pin})"
                ),
                "restore policy/ from the vault's git history; nothing was changed",
            ));
        }
        return Ok(None);
    };
    let pin = digest(first);
    match &entry.policy {
        Some(p) if p == &pin => {}
        Some(p) => {
            return Err(Error::vault(
                format!(
                    "policy/v1.toml is not the version 1 this machine pinned ({p}; the file is {pin})"
                ),
                "the policy was replaced: restore it from git history; if the roots really started over, compare the new digest with them and run keycycle policy pin DIGEST",
            ))
        }
        None if trust.pinned_anywhere(&pin)? => trust.pin(vault.root(), &pin)?,
        None => {
            return Err(Error::vault(
                format!("this machine has not pinned the vault's policy (version 1 is {pin})"),
                format!("compare that digest with the one your roots recorded, then run keycycle policy pin {pin}"),
            ))
        }
    }
    let mut policy = Policy::parse(first, &version_path(vault, 1))?;
    let mut current = pin.clone();
    let mut pending = None;
    for (i, bytes) in files.iter().enumerate().skip(1) {
        let n = i as u32 + 1;
        let next = Policy::parse(bytes, &version_path(vault, n))?;
        let d = digest(bytes);
        if next.version != n || next.previous.as_deref() != Some(current.as_str()) {
            return Err(Error::vault(
                format!("policy/v{n}.toml does not follow version {}: its version or previous digest is wrong", n - 1),
                "restore policy/ from git history; write new versions with keycycle policy propose",
            ));
        }
        let (good, missing, bad) = signatures(vault, n, bytes, &policy, at);
        let needed = usize::from(policy.policy_threshold);
        if good.len() >= needed {
            policy = next;
            current = d;
            continue;
        }
        pending = Some(Pending {
            policy: next,
            digest: d,
            signed_by: good,
            missing,
            bad,
            needed,
        });
        break;
    }
    Ok(Some(State {
        policy,
        digest: current,
        pin,
        pending,
    }))
}

/// The policy in force; an error saying what to do when there is none.
pub fn require(vault: &Vault, at: Time) -> Result<State> {
    load(vault, at)?.ok_or_else(|| {
        Error::vault(
            "the vault has no signed policy yet: nothing says whom to escrow to or which keys are the vault's",
            "run keycycle policy init (it writes version 1 from the roster; the roots then pin and sign it)",
        )
    })
}

/// The next version as the drafts say it should be: the roster, the
/// thresholds of keycycle.toml, and the keys of `state` plus those
/// generated here.
pub fn draft(vault: &Vault, state: Option<&State>, keys: &[StoredKey]) -> Result<Policy> {
    let config = vault.config()?;
    let roster = vault.roster()?;
    let escrow_threshold = config.escrow.threshold.max(1);
    let mut listed: Vec<PolicyKey> = state.map(|s| s.policy.keys.clone()).unwrap_or_default();
    for k in keys {
        if !listed.iter().any(|l| l.fingerprint == k.state.fingerprint) {
            listed.push(PolicyKey {
                cycle: k.state.cycle.clone(),
                fingerprint: k.state.fingerprint.clone(),
            });
        }
    }
    Ok(Policy {
        format: document::FORMAT,
        version: state.map(|s| s.policy.version + 1).unwrap_or(1),
        previous: state.map(|s| s.digest.clone()),
        policy_threshold: config.policy.threshold.max(escrow_threshold),
        escrow_threshold,
        roots: roster
            .members
            .iter()
            .map(|m| Root {
                name: m.name.clone(),
                email: m.email.clone(),
                fingerprint: m.fingerprint.clone(),
                escrow_recipient: m.escrow_recipient.clone(),
            })
            .collect(),
        keys: listed,
    })
}

/// Write version `policy.version` (refusing to replace one); returns its
/// digest. Version 1 is pinned on this machine.
pub fn write(vault: &Vault, policy: &Policy) -> Result<String> {
    policy.check()?;
    let path = version_path(vault, policy.version);
    if path.exists() {
        return Err(Error::input(
            format!("{} exists", path.display()),
            "a written version is never changed: have the roots sign it, or propose the next one after it is in force",
        ));
    }
    let text = policy.text()?;
    crate::vault::atomic::create_dir(&vault.root().join(POLICY_DIR))?;
    crate::vault::atomic::write(&path, text.as_bytes(), crate::vault::atomic::PUBLIC_MODE)?;
    let d = digest(text.as_bytes());
    if policy.version == 1 {
        vault.trust().pin(vault.root(), &d)?;
    }
    Ok(d)
}

/// The keys of `vault` this machine trusts — listed in the policy in
/// force, or generated here — and the others (appeared by commit).
pub fn partition(
    vault: &Vault,
    state: Option<&State>,
    keys: Vec<StoredKey>,
) -> Result<(Vec<StoredKey>, Vec<StoredKey>)> {
    let trust = vault.trust();
    let mut trusted = Vec::new();
    let mut unknown = Vec::new();
    for k in keys {
        if state.is_some_and(|s| s.lists(&k.state.fingerprint))
            || trust.generated_here(&k.state.fingerprint)?
        {
            trusted.push(k);
        } else {
            unknown.push(k);
        }
    }
    Ok((trusted, unknown))
}

/// The keys this machine trusts (see [`partition`]).
pub fn trusted_keys(vault: &Vault, at: Time) -> Result<Vec<StoredKey>> {
    let state = load(vault, at)?;
    Ok(partition(vault, state.as_ref(), vault.keys()?)?.0)
}

/// The keys the signed policy in force lists (what `verify` trusts).
pub fn listed_keys(vault: &Vault, at: Time) -> Result<Vec<StoredKey>> {
    let state = require(vault, at)?;
    Ok(vault
        .keys()?
        .into_iter()
        .filter(|k| state.lists(&k.state.fingerprint))
        .collect())
}

/// Find a key this machine trusts (see [`partition`]); one that matches
/// but is not trusted is named, never used.
pub fn find_trusted(
    vault: &Vault,
    spec: Option<&str>,
    schedule: &crate::schedule::Schedule,
    at: Time,
) -> Result<StoredKey> {
    let state = load(vault, at)?;
    let (trusted, unknown) = partition(vault, state.as_ref(), vault.keys()?)?;
    match crate::vault::find_in(trusted, spec, schedule, at) {
        Ok(k) => Ok(k),
        Err(e) => match crate::vault::find_in(unknown, spec, schedule, at) {
            Ok(k) => Err(untrusted(&k)),
            Err(_) => Err(e),
        },
    }
}

/// The error for a key directory nobody authorised.
pub fn untrusted(k: &StoredKey) -> Error {
    Error::vault(
        format!(
            "{}: the key {} is not in the vault's signed policy and was not generated on this machine: it appeared by commit, and keycycle will not use it",
            k.dir.display(),
            k.state.fingerprint
        ),
        "if the roots made it, add it with keycycle policy propose and have them sign; otherwise remove it from the vault and find out who committed it",
    )
}

/// Sign version `n` of the policy with a root's own secret key (`cert`,
/// unlocked with `passphrase` if it has one): the detached signature is
/// written to `policy/vN.sig/<FINGERPRINT>.asc`. The root must be one of
/// those whose signature counts for version `n`.
pub fn sign(
    vault: &Vault,
    n: u32,
    cert: &openpgp::Cert,
    passphrase: Option<&openpgp::crypto::Password>,
    at: Time,
) -> Result<PathBuf> {
    let bytes = version_bytes(vault, n)?;
    let signers = if n == 1 {
        Policy::parse(&bytes, &version_path(vault, 1))?
    } else {
        Policy::parse(&version_bytes(vault, n - 1)?, &version_path(vault, n - 1))?
    };
    let fpr = cert.fingerprint().to_hex();
    if !signers
        .roots
        .iter()
        .any(|r| r.fingerprint.as_deref() == Some(&fpr))
    {
        return Err(Error::input(
            format!("{fpr} is not the key of a root whose signature counts for policy version {n}"),
            "sign with your own key, the one on the roster (roster add --cert)",
        ));
    }
    let mut key = crate::sign::signing_key(cert, at, passphrase)?;
    let sig = crate::sign::sign_reader(&mut key, &bytes[..], at, &|_| {})?;
    let path = signature_path(vault, n, &fpr);
    if let Some(dir) = path.parent() {
        crate::vault::atomic::create_dir(dir)?;
    }
    crate::vault::atomic::write(&path, &sig, crate::vault::atomic::PUBLIC_MODE)?;
    Ok(path)
}
