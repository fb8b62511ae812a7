//! `generate`: make the key for a cycle, escrow it through custody, and
//! store it in the vault — or finish a `generate` that was interrupted
//! after its key became visible.

use serde::Serialize;

use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};
use crate::cert;
use crate::cert::make::{KeySpec, Suite};
use crate::vault::config::Config;
use crate::custody::{self, Recipient};
use crate::policy;
use crate::vault::schedule::{self, Cycle, Schedule};
use crate::vault::{self, KeyState, NewFile, StoredKey, Vault};

/// What `generate` needs beyond the vault.
#[derive(Debug, Clone)]
pub struct GenerateRequest {
    pub cycle: String,
    pub suite: Option<Suite>,
    pub extra_recipients: Vec<Recipient>,
    pub encryption_subkey: bool,
    pub force: bool,
    pub at: Time,
}

/// What `generate` made.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateReport {
    pub fingerprint: String,
    pub fingerprint_grouped: String,
    pub cycle: String,
    pub cycle_label: String,
    pub user_id: String,
    #[serde(with = "clock::serde_iso")]
    pub created: Time,
    #[serde(with = "clock::serde_iso")]
    pub expires: Time,
    pub signing_subkey: String,
    pub cipher_suite: String,
    pub escrow_recipients: usize,
    pub ladder_rungs: usize,
    pub directory: String,
    /// The digest of the vault's first policy (version 1, listing this
    /// key), when this `generate` wrote and pinned it: the other roots
    /// compare it out of band and pin it (`keycycle policy pin DIGEST`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy_pinned: Option<String>,
}

/// Generate the key for a cycle, escrow it, and store it in the vault.
pub fn generate(vault: &Vault, req: &GenerateRequest) -> Result<GenerateReport> {
    let config: Config = vault.config()?;
    let schedule = Schedule::from_config(&config)?;
    let cycle = schedule.resolve(&req.cycle, req.at)?.clone();
    let expires = schedule.expiry(&cycle)?;
    if let Some(report) = existing_key(vault, req, &config, &cycle)? {
        return Ok(report);
    }
    let escrow = escrow_policy(vault, req.at, !req.extra_recipients.is_empty())?;
    let mut recipients = escrow.policy.recipients()?;
    for r in &req.extra_recipients {
        if !recipients.contains(r) {
            recipients.push(r.clone());
        }
    }
    let suite = req.suite.unwrap_or(config.cipher_suite);
    let user_id = schedule::user_id(&config, &cycle);
    let key = crate::custody::fresh_key::generate(&KeySpec {
        user_id: user_id.clone(),
        suite,
        created: req.at,
        expires,
        encryption_subkey: req.encryption_subkey,
        ladder_interval_days: config.escrow.ladder_interval_days,
    })
    .map_err(|e| match e {
        Error::Input { msg, .. } => Error::input(
            format!("{msg}: cycle {} is over", cycle.label()),
            "generate for the current or next cycle (`keycycle cycles`)",
        ),
        e => e,
    })?;
    // Secrets only ever leave this function sealed by custody.
    let escrow_files = custody::seal_new(vault, &key, &recipients, &escrow.policy)?;
    let state = KeyState {
        cycle: cycle.id.clone(),
        cycle_name: cycle.name.clone(),
        fingerprint: key.cert.fingerprint().to_hex(),
        created: req.at,
        expires,
        cipher_suite: suite.name().into(),
        state: "active".into(),
        escrow_recipients: recipients.iter().map(ToString::to_string).collect(),
        publish: Vec::new(),
        cards: Vec::new(),
    };
    let files = std::iter::once(public_file(&key.cert)?)
        .chain(escrow_files)
        .collect();
    let policy_pinned = record_trust(vault, &escrow, &state)?;
    let dir = vault.add_key(&state, files)?;
    vault.audit(req.at, "generate", audit_details(&state, false))?;
    Ok(GenerateReport {
        fingerprint_grouped: cert::grouped(&key.cert.fingerprint()),
        fingerprint: state.fingerprint.clone(),
        cycle: cycle.id.clone(),
        cycle_label: cycle.label(),
        user_id,
        created: req.at,
        expires,
        signing_subkey: signing_subkey(&key.cert, req.at),
        cipher_suite: suite.name().into(),
        escrow_recipients: recipients.len(),
        ladder_rungs: key.ladder.len(),
        directory: dir.display().to_string(),
        policy_pinned,
    })
}

/// A trusted key the vault already holds for `cycle`: without `--force`,
/// refused, or finished when an earlier `generate` stored it and was
/// killed before it logged it (`Some`: that run's report).
fn existing_key(
    vault: &Vault,
    req: &GenerateRequest,
    config: &Config,
    cycle: &Cycle,
) -> Result<Option<GenerateReport>> {
    // Only keys this machine trusts count: a key directory that appeared
    // by commit is never adopted as "finished after an interruption".
    let trusted: Vec<StoredKey> = policy::trusted_keys(vault, req.at)?
        .into_iter()
        .filter(|k| k.state.cycle == cycle.id)
        .collect();
    if let Some(k) = trusted.last() {
        if !req.force && !vault.audited("generate", &k.state.fingerprint, |_| true)? {
            // An earlier `generate` stored this key and was killed before it
            // logged it: finish that run instead of refusing.
            return finish_interrupted(vault, k, config, req.at).map(Some);
        }
        if !req.force {
            return Err(Error::input(
                format!(
                    "the vault already holds a key for {} ({})",
                    cycle.label(),
                    k.state.fingerprint
                ),
                "pass --force to make another key for the same cycle",
            ));
        }
    }
    Ok(None)
}

/// Make the new key trusted here: the vault's first policy (this roster
/// and this key, written and pinned: its digest returned), or a record
/// that this machine generated it.
fn record_trust(vault: &Vault, escrow: &EscrowPolicy, state: &KeyState) -> Result<Option<String>> {
    let mut policy_pinned = None;
    if escrow.first {
        // The vault's first policy: this roster, and this key.
        let mut first = escrow.policy.clone();
        first.keys.push(policy::PolicyKey {
            cycle: state.cycle.clone(),
            fingerprint: state.fingerprint.clone(),
            revoked: None,
        });
        policy_pinned = Some(policy::write(vault, &first)?);
    } else {
        vault
            .trust()
            .record_generated(vault.root(), &state.fingerprint, &state.cycle)?;
    }
    Ok(policy_pinned)
}

/// The policy a new key is escrowed under, and whether it is the vault's
/// first (a new vault: no policy, no keys; written with the key).
struct EscrowPolicy {
    policy: policy::Policy,
    first: bool,
}

fn escrow_policy(vault: &Vault, at: Time, extras: bool) -> Result<EscrowPolicy> {
    if let Some(state) = policy::load(vault, at)? {
        state.may_seal(at)?;
        return Ok(EscrowPolicy {
            policy: state.policy,
            first: false,
        });
    }
    if !vault.keys()?.is_empty() {
        // Keys but no policy: a vault from before policies, or one whose
        // policy was removed. Never guess whom to trust.
        return Err(policy::require(vault, at).err().unwrap_or_else(|| {
            Error::vault("the vault has no signed policy", "run keycycle policy init")
        }));
    }
    if crate::policy::roster::load(vault)?.members.is_empty() {
        if extras {
            // No roots at all: the key goes only to the recipients given,
            // and no policy is made from an empty roster.
            return Ok(EscrowPolicy {
                policy: policy::draft(vault, None, &[], at)?,
                first: false,
            });
        }
        return Err(Error::input(
            "nobody to escrow the key to: the roster is empty and no --escrow-recipient was given",
            "add the roots with `keycycle roster add` or pass --escrow-recipient age1…",
        ));
    }
    let draft = policy::draft(vault, None, &[], at)?;
    draft.check()?;
    Ok(EscrowPolicy {
        policy: draft,
        first: true,
    })
}

/// cert.asc of a new key, checked to hold no secret.
fn public_file(cert: &Cert) -> Result<NewFile> {
    let public = cert::armored_public(cert)?;
    let reparsed = <Cert as openpgp::parse::Parse<Cert>>::from_bytes(&public[..])?;
    if reparsed.is_tsk() {
        return Err(
            anyhow::anyhow!("internal error: public export holds secret key material").into(),
        );
    }
    Ok(NewFile {
        name: vault::CERT_FILE.into(),
        bytes: public,
        secret: false,
    })
}

/// The newest signing subkey valid at `at`.
fn signing_subkey(cert: &Cert, at: Time) -> String {
    let p = crate::base::openpgp_policy::standard();
    cert.keys()
        .subkeys()
        .with_policy(&p, clock::to_system(at))
        .for_signing()
        .last()
        .map(|ka| ka.key().fingerprint().to_hex())
        .unwrap_or_default()
}

/// What the audit log records of a generated key.
fn audit_details(state: &KeyState, interrupted: bool) -> serde_json::Value {
    let mut details = serde_json::json!({
        "cycle": state.cycle,
        "fingerprint": state.fingerprint,
        "expires": clock::iso(state.expires),
        "cipher_suite": state.cipher_suite,
        "escrow_recipients": state.escrow_recipients.len(),
    });
    if interrupted {
        details["completed_after_interruption"] = true.into();
    }
    details
}

/// Log a key that an interrupted `generate` stored, and report it.
fn finish_interrupted(
    vault: &Vault,
    k: &StoredKey,
    config: &Config,
    at: Time,
) -> Result<GenerateReport> {
    let step = i64::from(config.escrow.ladder_interval_days.max(1));
    let rungs = ((k.state.expires - k.state.created).num_days() / step).max(0) as usize;
    vault.audit(at, "generate", audit_details(&k.state, true))?;
    // The interrupted run may have written the vault's first policy.
    let first = policy::load(vault, at)?.filter(|s| {
        s.policy.version == 1 && s.policy.keys.len() == 1 && s.policy.lists(&k.state.fingerprint)
    });
    Ok(GenerateReport {
        fingerprint_grouped: cert::grouped(&k.cert.fingerprint()),
        fingerprint: k.state.fingerprint.clone(),
        cycle: k.state.cycle.clone(),
        cycle_label: k
            .state
            .cycle_name
            .as_ref()
            .map(|n| format!("{}/{n}", k.state.cycle))
            .unwrap_or_else(|| k.state.cycle.clone()),
        user_id: cert::primary_uid(&k.cert),
        created: k.state.created,
        expires: k.state.expires,
        signing_subkey: signing_subkey(&k.cert, k.state.created),
        cipher_suite: k.state.cipher_suite.clone(),
        escrow_recipients: k.state.escrow_recipients.len(),
        ladder_rungs: rungs,
        directory: k.dir.display().to_string(),
        policy_pinned: first.map(|s| s.digest),
    })
}
