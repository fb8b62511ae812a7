//! Whole operations on the vault: generate a cycle key, find a key.

use serde::Serialize;

use openpgp::packet::Signature;
use openpgp::serialize::Serialize as _;
use openpgp::Cert;
use sequoia_openpgp as openpgp;
use zeroize::Zeroizing;

use crate::certinfo;
use crate::clock::{self, Time};
use crate::config::Config;
use crate::error::{Error, Result};
use crate::escrow::{self, Bundle, Identities, Recipient};
use crate::keygen::{self, KeySpec, Suite};
use crate::schedule::Schedule;
use crate::vault::{self, KeyChange, KeyState, NewFile, StoredKey, Vault};

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
}

/// Armor signatures as `gpg --gen-revoke` does: PublicKey armor.
pub fn armor_signatures(sigs: &[Signature], comment: &str) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::new());
    let mut w = openpgp::armor::Writer::with_headers(
        &mut *out,
        openpgp::armor::Kind::PublicKey,
        vec![("Comment", comment)],
    )
    .map_err(anyhow::Error::from)?;
    for s in sigs {
        openpgp::Packet::from(s.clone()).serialize(&mut w)?;
    }
    w.finalize().map_err(anyhow::Error::from)?;
    Ok(out)
}

/// The transferable secret key, armored, in zeroising memory.
pub fn armored_tsk(cert: &Cert) -> Result<Zeroizing<Vec<u8>>> {
    let mut out = Zeroizing::new(Vec::new());
    cert.as_tsk().armored().serialize(&mut *out)?;
    Ok(out)
}

/// Generate the key for a cycle, escrow it, and store it in the vault.
pub fn generate(vault: &Vault, req: &GenerateRequest) -> Result<GenerateReport> {
    let config: Config = vault.config()?;
    let schedule = Schedule::from_config(&config)?;
    let cycle = schedule.resolve(&req.cycle, req.at)?.clone();
    let expires = schedule.expiry(&cycle)?;

    let existing: Vec<StoredKey> = vault
        .keys()?
        .into_iter()
        .filter(|k| k.state.cycle == cycle.id)
        .collect();
    if let Some(k) = existing.last() {
        if !req.force && !audited(vault, "generate", &k.state.fingerprint)? {
            // An earlier `generate` stored this key and was killed before it
            // logged it: finish that run instead of refusing.
            return finish_interrupted(vault, k, &config, req.at);
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

    let mut recipients = vault.roster()?.recipients()?;
    for r in &req.extra_recipients {
        if !recipients.contains(r) {
            recipients.push(r.clone());
        }
    }
    if recipients.is_empty() {
        return Err(Error::input(
            "nobody to escrow the key to: the roster is empty and no --escrow-recipient was given",
            "add the roots with `keycycle roster add` or pass --escrow-recipient age1…",
        ));
    }

    let suite = req.suite.unwrap_or(config.cipher_suite);
    let user_id = config.user_id(&cycle);
    let key = keygen::generate(&KeySpec {
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

    // Secrets only ever leave this function age-encrypted.
    let bundle = Bundle {
        tsk: armored_tsk(&key.cert)?,
        revocation: armor_signatures(
            std::slice::from_ref(&key.revocation),
            "This is a revocation certificate (reason: key compromised)",
        )?,
        ladder: armor_signatures(&key.ladder, LADDER_COMMENT)?,
    };
    let names = holder_names(vault, &recipients)?;
    let escrow_files = escrow_files(
        &key.cert.fingerprint().to_hex(),
        &bundle,
        &recipients,
        &names,
        config.escrow.threshold,
    )?;

    let public = certinfo::armored_public(&key.cert)?;
    let reparsed = <Cert as openpgp::parse::Parse<Cert>>::from_bytes(&public[..])?;
    if reparsed.is_tsk() {
        return Err(
            anyhow::anyhow!("internal error: public export holds secret key material").into(),
        );
    }

    let fingerprint = key.cert.fingerprint().to_hex();
    let signing_subkey = key
        .cert
        .keys()
        .subkeys()
        .next()
        .map(|k| k.key().fingerprint().to_hex())
        .unwrap_or_default();
    let state = KeyState {
        cycle: cycle.id.clone(),
        cycle_name: cycle.name.clone(),
        fingerprint: fingerprint.clone(),
        created: req.at,
        expires,
        cipher_suite: suite.name().into(),
        state: "active".into(),
        escrow_recipients: recipients.iter().map(ToString::to_string).collect(),
        publish: Vec::new(),
        cards: Vec::new(),
    };
    let dir = vault.add_key(
        &state,
        std::iter::once(NewFile {
            name: vault::CERT_FILE.into(),
            bytes: public,
            secret: false,
        })
        .chain(escrow_files)
        .collect(),
    )?;
    vault.audit(
        req.at,
        "generate",
        serde_json::json!({
            "cycle": cycle.id,
            "fingerprint": fingerprint,
            "expires": clock::iso(expires),
            "cipher_suite": suite.name(),
            "escrow_recipients": recipients.len(),
        }),
    )?;
    Ok(GenerateReport {
        fingerprint_grouped: certinfo::grouped(&key.cert.fingerprint()),
        fingerprint,
        cycle: cycle.id.clone(),
        cycle_label: cycle.label(),
        user_id,
        created: req.at,
        expires,
        signing_subkey,
        cipher_suite: suite.name().into(),
        escrow_recipients: recipients.len(),
        ladder_rungs: key.ladder.len(),
        directory: dir.display().to_string(),
    })
}

/// Whether the audit log records `action` for `fingerprint`.
pub fn audited(vault: &Vault, action: &str, fingerprint: &str) -> Result<bool> {
    audited_with(vault, action, fingerprint, |_| true)
}

/// Whether the audit log records `action` for `fingerprint` with details
/// that `matches` accepts.
pub fn audited_with(
    vault: &Vault,
    action: &str,
    fingerprint: &str,
    matches: impl Fn(&serde_json::Value) -> bool,
) -> Result<bool> {
    Ok(crate::audit::verify(&vault.audit_log()?)?.iter().any(|e| {
        e.action == action
            && e.details.get("fingerprint").and_then(|f| f.as_str()) == Some(fingerprint)
            && matches(&e.details)
    }))
}

/// Log a key that an interrupted `generate` stored, and report it.
fn finish_interrupted(
    vault: &Vault,
    k: &StoredKey,
    config: &Config,
    at: Time,
) -> Result<GenerateReport> {
    let p = openpgp::policy::StandardPolicy::new();
    let t = clock::to_system(k.state.created);
    let signing_subkey = k
        .cert
        .keys()
        .subkeys()
        .with_policy(&p, t)
        .for_signing()
        .last()
        .map(|ka| ka.key().fingerprint().to_hex())
        .unwrap_or_default();
    let user_id = k
        .cert
        .userids()
        .next()
        .map(|u| String::from_utf8_lossy(u.userid().value()).into_owned())
        .unwrap_or_default();
    let step = i64::from(config.escrow.ladder_interval_days.max(1));
    let rungs = ((k.state.expires - k.state.created).num_days() / step).max(0) as usize;
    vault.audit(
        at,
        "generate",
        serde_json::json!({
            "cycle": k.state.cycle,
            "fingerprint": k.state.fingerprint,
            "expires": clock::iso(k.state.expires),
            "cipher_suite": k.state.cipher_suite,
            "escrow_recipients": k.state.escrow_recipients.len(),
            "completed_after_interruption": true,
        }),
    )?;
    Ok(GenerateReport {
        fingerprint_grouped: certinfo::grouped(&k.cert.fingerprint()),
        fingerprint: k.state.fingerprint.clone(),
        cycle: k.state.cycle.clone(),
        cycle_label: k
            .state
            .cycle_name
            .as_ref()
            .map(|n| format!("{}/{n}", k.state.cycle))
            .unwrap_or_else(|| k.state.cycle.clone()),
        user_id,
        created: k.state.created,
        expires: k.state.expires,
        signing_subkey,
        cipher_suite: k.state.cipher_suite.clone(),
        escrow_recipients: k.state.escrow_recipients.len(),
        ladder_rungs: rungs,
        directory: k.dir.display().to_string(),
    })
}

/// Find a key: a fingerprint, a 16-hex key id (`0x` optional), a cycle id
/// or name, or `None` for the current cycle's key. The newest key wins
/// when a cycle has several.
pub fn find_key(
    vault: &Vault,
    spec: Option<&str>,
    schedule: &Schedule,
    at: Time,
) -> Result<StoredKey> {
    let keys = vault.keys()?;
    let hex: String = spec
        .unwrap_or("")
        .trim()
        .trim_start_matches("0x")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_uppercase();
    if spec.is_some()
        && (hex.len() == 16 || hex.len() == 40)
        && hex.chars().all(|c| c.is_ascii_hexdigit())
    {
        return keys
            .into_iter()
            .rev()
            .find(|k| k.state.fingerprint.ends_with(&hex))
            .ok_or_else(|| {
                Error::input(
                    format!("no key {hex} in the vault"),
                    "list the vault's keys with `keycycle status`",
                )
            });
    }
    let cycle = schedule.resolve(spec.unwrap_or("current"), at)?;
    keys.into_iter()
        .rev()
        .find(|k| k.state.cycle == cycle.id)
        .ok_or_else(|| {
            Error::input(
                format!("the vault holds no key for cycle {}", cycle.label()),
                format!("generate one: keycycle generate --cycle {}", cycle.id),
            )
        })
}

/// The public cert of a stored key, as `export public` writes it.
pub fn export_public(key: &StoredKey) -> Result<Vec<u8>> {
    certinfo::armored_public(&key.cert)
}

/// The comment on the armored ladder.
pub const LADDER_COMMENT: &str =
    "Dated soft revocations (reason: retired); publish the latest one not after now";

/// A name per recipient, from the roster (for share file names).
pub fn holder_names(vault: &Vault, recipients: &[Recipient]) -> Result<Vec<String>> {
    let roster = vault.roster()?;
    Ok(recipients
        .iter()
        .enumerate()
        .map(|(i, r)| {
            roster
                .members
                .iter()
                .find(|m| Recipient::parse(&m.escrow_recipient).ok().as_ref() == Some(r))
                .map(|m| m.name.clone())
                .unwrap_or_else(|| format!("recipient {}", i + 1))
        })
        .collect())
}

fn slug(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect();
    s.trim_matches('-').to_string()
}

/// The escrow files of a key: with threshold 1, three age files each
/// encrypted to every recipient; with M > 1, one share per recipient
/// (`shares/NN-name.age`), each encrypted to that recipient alone.
pub fn escrow_files(
    fpr: &str,
    bundle: &Bundle,
    recipients: &[Recipient],
    names: &[String],
    threshold: u8,
) -> Result<Vec<NewFile>> {
    let mut files = Vec::new();
    if threshold <= 1 {
        for (name, part) in [
            (vault::PRIMARY_FILE, &bundle.tsk),
            (vault::REVOCATION_FILE, &bundle.revocation),
            (vault::LADDER_FILE, &bundle.ladder),
        ] {
            let sealed = escrow::seal(recipients, part)?;
            escrow::check_recipients(&sealed, recipients)?;
            files.push(NewFile {
                name: name.into(),
                bytes: sealed,
                secret: true,
            });
        }
        return Ok(files);
    }
    let shares = escrow::split(fpr, bundle, threshold, names)?;
    for (i, (share, r)) in shares.iter().zip(recipients).enumerate() {
        let one = std::slice::from_ref(r);
        let sealed = escrow::seal(one, share.to_text().as_bytes())?;
        escrow::check_recipients(&sealed, one)?;
        files.push(NewFile {
            name: format!(
                "{}/{:02}-{}.age",
                vault::SHARES_DIR,
                i + 1,
                slug(&share.holder)
            ),
            bytes: sealed,
            secret: true,
        });
    }
    Ok(files)
}

/// Open a key's escrow: the three age files, or enough shares.
pub fn open_bundle(vault: &Vault, key: &StoredKey, ids: &Identities) -> Result<Bundle> {
    let dir = key.dir.join(vault::SHARES_DIR);
    if dir.is_dir() {
        let mut shares = ids.shares().to_vec();
        let mut entries: Vec<_> = std::fs::read_dir(&dir)
            .map_err(|e| Error::io(&dir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "age"))
            .collect();
        entries.sort();
        for p in entries {
            let sealed = std::fs::read(&p).map_err(|e| Error::io(&p, e))?;
            if let Some(plain) = ids.try_open(&sealed)? {
                shares.push(escrow::Share::parse(&plain)?);
            }
        }
        return escrow::combine(&key.state.fingerprint, &shares);
    }
    if ids.is_empty() {
        return Err(Error::input(
            "the escrow must be opened and no identity was given",
            "pass --identity FILE (your age identity or SSH private key)",
        ));
    }
    Ok(Bundle {
        tsk: ids.open(&vault.read_key_file(key, vault::PRIMARY_FILE)?)?,
        revocation: ids.open(&vault.read_key_file(key, vault::REVOCATION_FILE)?)?,
        ladder: ids.open(&vault.read_key_file(key, vault::LADDER_FILE)?)?,
    })
}

/// The change that replaces a key's escrow files with `files`, removing
/// those of the other escrow mode (and shares no longer held).
pub fn escrow_change(key: &StoredKey, files: Vec<NewFile>) -> KeyChange {
    let threshold = files.iter().any(|f| f.name.starts_with(vault::SHARES_DIR));
    let mut remove = Vec::new();
    if threshold {
        for name in [
            vault::PRIMARY_FILE,
            vault::REVOCATION_FILE,
            vault::LADDER_FILE,
        ] {
            remove.push(name.to_string());
        }
        if let Ok(entries) = std::fs::read_dir(key.dir.join(vault::SHARES_DIR)) {
            for e in entries.flatten() {
                let name = format!("{}/{}", vault::SHARES_DIR, e.file_name().to_string_lossy());
                if !files.iter().any(|f| f.name == name) {
                    remove.push(name);
                }
            }
        }
    } else {
        remove.push(vault::SHARES_DIR.to_string());
    }
    KeyChange {
        files,
        remove,
        state: None,
    }
}
