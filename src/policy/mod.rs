//! The signed vault policy: what the roots authorise — the roster (each
//! root's OpenPGP fingerprint and escrow recipient), the escrow threshold,
//! how many roots must sign a change, and which keys are the vault's cycle
//! keys. Modelled on TUF's root metadata:
//!
//! - `policy/v1.toml` is trusted because its digest is pinned in the
//!   operator's local trust store ([`crate::vault::trust`]), outside the repository;
//! - `policy/vN.toml` (N > 1) is in force when it names the digest of
//!   version N-1 and carries valid detached signatures
//!   (`policy/vN.sig/<FINGERPRINT>.asc`) by at least `policy_threshold`
//!   roots of version N-1 *and* by its own `policy_threshold` of its own
//!   roots (new roots co-sign). With fewer it is a proposal: shown, never
//!   used.
//! - A version accepted on this machine is recorded in the trust store
//!   with its digest and never judged again: a missing, changed or older
//!   version is a rollback, refused ([`history`]).
//!
//! `roster/roster.toml` and `[escrow] threshold` are only the draft of the
//! next version ([`draft`]). See `docs/threat-model.md`.

pub mod attest;
pub mod diff;
mod document;
mod history;
mod outward;
mod roots;
pub mod roster;

use std::path::PathBuf;

use serde::Serialize;

use sequoia_openpgp as openpgp;

use crate::base::clock::Time;
use crate::base::error::{Error, Result};
use crate::vault::{StoredKey, Vault};
use crate::verify::{self, Keyring};

pub use document::{digest, Policy, PolicyKey, Root};
pub use history::load;
pub use outward::{approved_template, keyservers, template_text};

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
    /// Roots of either version who have not signed (with a cert).
    pub missing: Vec<String>,
    /// Signatures that are there but do not verify, with why.
    pub bad: Vec<String>,
    pub needed: usize,
    /// Roots of the proposed version itself whose signature verifies.
    pub own_signed_by: Vec<String>,
    /// Its own `policy_threshold`: the new roster co-signs.
    pub own_needed: usize,
}

impl State {
    /// Whether `fingerprint` is one of the vault's cycle keys.
    pub fn lists(&self, fingerprint: &str) -> bool {
        self.policy.lists(fingerprint)
    }

    /// The policy may seal secrets at `at`: it has not expired. Revoking
    /// and verifying never ask this.
    pub fn may_seal(&self, at: Time) -> Result<()> {
        match self.policy.expires {
            Some(e) if e <= at => Err(Error::vault(
                format!(
                    "the policy in force (version {}) expired on {}: keycycle seals no secret to its roots",
                    self.policy.version,
                    crate::base::clock::day(e)
                ),
                "the roots renew it: keycycle policy propose --expires DATE, then M roots sign (runbooks/policy-change.md); revoking and verifying still work",
            )),
            _ => Ok(()),
        }
    }
}

/// The policy in force, which must not have expired: for every command
/// that seals a secret to the roots.
pub fn require_for_sealing(vault: &Vault, at: Time) -> Result<State> {
    let state = require(vault, at)?;
    state.may_seal(at)?;
    Ok(state)
}

/// The bytes of version `n`.
pub fn version_bytes(vault: &Vault, n: u32) -> Result<Vec<u8>> {
    crate::base::fs::fsx::read_file(&version_path(vault, n))
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
        let Ok(sig) = crate::base::fs::fsx::read_file(&path) else {
            missing.push(root.name.clone());
            continue;
        };
        let cert = match crate::policy::roster::cert(vault, fpr) {
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

/// The policy in force; an error saying what to do when there is none.
pub fn require(vault: &Vault, at: Time) -> Result<State> {
    load(vault, at)?.ok_or_else(|| {
        Error::vault(
            "the vault has no signed policy yet: nothing says whom to escrow to or which keys are the vault's",
            "run keycycle policy init (it writes version 1 from the roster; the roots then pin and sign it)",
        )
    })
}

/// How long a version seals secrets unless `policy propose --expires` says.
pub const DEFAULT_VALIDITY_DAYS: i64 = 365;

/// The next version as the drafts say it should be: the roster, the
/// thresholds of keycycle.toml, and the keys of `state` plus those
/// generated here.
pub fn draft(vault: &Vault, state: Option<&State>, keys: &[StoredKey], at: Time) -> Result<Policy> {
    let config = vault.config()?;
    let roster = crate::policy::roster::load(vault)?;
    let escrow_threshold = config.escrow.threshold.max(1);
    let mut listed: Vec<PolicyKey> = state.map(|s| s.policy.keys.clone()).unwrap_or_default();
    // A listed key that is revoked is listed as revoked from now on: a
    // cert.asc without the revocation is then refused everywhere.
    let in_vault = vault.keys()?;
    for l in listed.iter_mut().filter(|l| l.revoked.is_none()) {
        if let Some(k) = in_vault
            .iter()
            .find(|k| k.state.fingerprint == l.fingerprint)
        {
            l.revoked = revoked_as(&k.cert);
        }
    }
    for k in keys {
        if !listed.iter().any(|l| l.fingerprint == k.state.fingerprint) {
            listed.push(PolicyKey {
                cycle: k.state.cycle.clone(),
                fingerprint: k.state.fingerprint.clone(),
                revoked: None,
            });
        }
    }
    Ok(Policy {
        format: document::FORMAT,
        version: state.map(|s| s.policy.version + 1).unwrap_or(1),
        previous: state.map(|s| s.digest.clone()),
        policy_threshold: config.policy.threshold.max(escrow_threshold),
        escrow_threshold,
        revocation_threshold: config.escrow.revocation_threshold.max(1),
        expires: Some(at + chrono::Duration::days(DEFAULT_VALIDITY_DAYS)),
        audit_head: crate::vault::audit::head(&vault.audit_log()?),
        keyservers: config.publish.keyservers.clone(),
        announce_template: match &config.announce.template {
            Some(p) => Some(digest(&crate::base::fs::fsx::read_file(p)?)),
            None => None,
        },
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
    crate::base::fs::atomic::create_dir(&vault.root().join(POLICY_DIR))?;
    crate::base::fs::atomic::write(&path, text.as_bytes(), crate::base::fs::atomic::PUBLIC_MODE)?;
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
        let listed = state.and_then(|s| {
            s.policy
                .keys
                .iter()
                .find(|l| l.fingerprint == k.state.fingerprint)
        });
        if let Some(l) = listed {
            signed_cycle(&k, &l.cycle, "the signed policy")?;
            if let (Some(how), None) = (&l.revoked, revoked_as(&k.cert)) {
                return Err(Error::vault(
                    format!(
                        "{}: the signed policy lists the key {} as revoked ({}), but its cert.asc holds no revocation: an older copy was restored",
                        crate::base::text::path(&k.dir),
                        k.state.fingerprint,
                        crate::base::text::shown(how)
                    ),
                    "restore the newest cert.asc from the vault's git history, or fetch the published revocation from a keyserver; a revocation is never undone",
                ));
            }
            trusted.push(k);
        } else if trust.generated_here(&k.state.fingerprint)? {
            if let Some(cycle) = trust.generated_cycle(&k.state.fingerprint)? {
                signed_cycle(&k, &cycle, "this machine's record of generating it")?;
            }
            trusted.push(k);
        } else {
            unknown.push(k);
        }
    }
    Ok((trusted, unknown))
}

/// How `cert` is revoked, as the policy lists it: `compromised` (a hard
/// reason: every signature void) or `retired` (soft); `None` when it is not.
pub fn revoked_as(cert: &openpgp::Cert) -> Option<String> {
    let sigs: Vec<_> = cert.primary_key().self_revocations().collect();
    if sigs.is_empty() {
        return None;
    }
    let hard = sigs.iter().any(|s| {
        s.reason_for_revocation()
            .is_none_or(|(r, _)| r.revocation_type() == openpgp::types::RevocationType::Hard)
    });
    Some(if hard { "compromised" } else { "retired" }.into())
}

/// A trusted key's `state.toml` must name the cycle that `source` names:
/// commands select keys by cycle, and state.toml is anyone's commit.
fn signed_cycle(k: &StoredKey, cycle: &str, source: &str) -> Result<()> {
    if k.state.cycle == cycle {
        return Ok(());
    }
    Err(Error::vault(
        format!(
            "{}: state.toml says cycle {}, but {source} has the key {} as cycle {}",
            crate::base::text::path(&k.dir),
            crate::base::text::shown_short(&k.state.cycle),
            k.state.fingerprint,
            crate::base::text::shown_short(cycle)
        ),
        "state.toml was edited: restore it from the vault's git history (git log -p -- keys/) and find out who committed it; keycycle used no key",
    ))
}

/// The keys this machine trusts (see [`partition`]).
pub fn trusted_keys(vault: &Vault, at: Time) -> Result<Vec<StoredKey>> {
    let state = load(vault, at)?;
    Ok(partition(vault, state.as_ref(), vault.keys()?)?.0)
}

/// The keys the signed policy in force lists (what `verify` trusts), each
/// checked against what the policy says of it (its cycle, a revocation).
pub fn listed_keys(vault: &Vault, at: Time) -> Result<Vec<StoredKey>> {
    let state = require(vault, at)?;
    let (trusted, _) = partition(vault, Some(&state), vault.keys()?)?;
    Ok(trusted
        .into_iter()
        .filter(|k| state.lists(&k.state.fingerprint))
        .collect())
}

/// Find a key this machine trusts (see [`partition`]); one that matches
/// but is not trusted is named, never used.
pub fn find_trusted(
    vault: &Vault,
    spec: Option<&str>,
    schedule: &crate::vault::schedule::Schedule,
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
            crate::base::text::path(&k.dir),
            k.state.fingerprint
        ),
        "if the roots made it, add it with keycycle policy propose and have them sign; otherwise remove it from the vault and find out who committed it",
    )
}

/// Sign version `n` of the policy with a root's own secret key (`cert`,
/// unlocked with `passphrase` if it has one): the detached signature is
/// written to `policy/vN.sig/<FINGERPRINT>.asc`. The root must be one of
/// those whose signature counts for version `n`: a root of the version
/// before it, or of version `n` itself (new roots co-sign).
pub fn sign(
    vault: &Vault,
    n: u32,
    cert: &openpgp::Cert,
    passphrase: Option<&openpgp::crypto::Password>,
    at: Time,
) -> Result<PathBuf> {
    let bytes = version_bytes(vault, n)?;
    let mut signers = vec![Policy::parse(&bytes, &version_path(vault, n))?];
    if n > 1 {
        signers.push(Policy::parse(
            &version_bytes(vault, n - 1)?,
            &version_path(vault, n - 1),
        )?);
    }
    let fpr = cert.fingerprint().to_hex();
    if !signers
        .iter()
        .flat_map(|p| &p.roots)
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
        crate::base::fs::atomic::create_dir(dir)?;
    }
    crate::base::fs::atomic::write(&path, &sig, crate::base::fs::atomic::PUBLIC_MODE)?;
    Ok(path)
}
