//! `keycycle announce`: the key transition statement for the mailing list.
//!
//! The facts come from the vault (the key, the previous cycle's key, the
//! roots' attestations as `status` computes them); the wording from a
//! template a team can replace; the result is one cleartext-signed message
//! carrying a signature by the previous cycle's key and one by the new key
//! (SHA-256), each made by the key's signing subkey alive at `at`. What is
//! signed is verified again before it is handed back.

use chrono::NaiveDate;
use serde::Serialize;

use openpgp::parse::stream::{
    MessageLayer, MessageStructure, VerificationError, VerificationHelper, VerifierBuilder,
};
use openpgp::parse::Parse;
use openpgp::types::{HashAlgorithm, RevocationStatus};
use openpgp::{Cert, KeyHandle};
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};
use crate::cert;
use crate::vault::config::Config;
use crate::custody::{self, Identities};
use crate::vault::schedule::{Cycle, Schedule};
use crate::status::{self, Attestations};
use crate::vault::{StoredKey, Vault};

mod template;

pub use template::Context;

/// The digest of the announcement's signatures.
pub const DIGEST: HashAlgorithm = HashAlgorithm::SHA256;

/// What the announcement says about one key.
#[derive(Debug, Clone, Serialize)]
pub struct KeyFacts {
    #[serde(flatten)]
    pub name: cert::KeyName,
    /// The cycle's label, `2027.1/Indri`.
    pub cycle: String,
    #[serde(with = "clock::serde_iso")]
    pub created: Time,
    #[serde(with = "clock::serde_iso")]
    pub expires: Time,
    /// The signing subkey alive and not revoked at the announcement's time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signing_subkey: Option<String>,
    /// Why the key cannot sign at that time (expired, revoked), if so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cannot_sign: Option<String>,
}

/// The previous cycle's key.
#[derive(Debug, Clone, Serialize)]
pub struct Previous {
    #[serde(flatten)]
    pub key: KeyFacts,
    /// Whether it certified the new key (a verified certification).
    pub cross_signed: bool,
    /// Why its certification of the new key does not count, if it made
    /// one it could not make (`issuer hard-revoked on …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_sign_void: Option<String>,
}

/// Everything the announcement states (`announce --json`).
#[derive(Debug, Clone, Serialize)]
pub struct Announcement {
    #[serde(with = "clock::serde_iso")]
    pub time: Time,
    pub organisation: String,
    pub email: String,
    pub cycle: String,
    pub cycle_label: String,
    pub cycle_start: NaiveDate,
    pub cycle_release: NaiveDate,
    pub key: KeyFacts,
    pub previous: Option<Previous>,
    /// The roots' certifications, as `status` counts them.
    pub roots: Attestations,
    pub keyservers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wkd_url: Option<String>,
    pub releases_url: String,
    /// Fingerprints of the keys that sign the message, previous key first.
    pub signers: Vec<String>,
}

/// The newest vault key of the cycle before `cycle`.
pub fn previous_key(all: &[StoredKey], schedule: &Schedule, cycle: &Cycle) -> Option<StoredKey> {
    let p = schedule.predecessor(cycle)?;
    all.iter().rev().find(|k| k.state.cycle == p.id).cloned()
}

/// The schedule's cycle of a vault key.
pub fn cycle_of<'s>(schedule: &'s Schedule, key: &StoredKey) -> Result<&'s Cycle> {
    schedule
        .cycles()
        .iter()
        .find(|c| c.id == key.state.cycle)
        .ok_or_else(|| {
            Error::input(
                format!("the key's cycle {} is not in the schedule", key.state.cycle),
                "check [schedule] in keycycle.toml (`keycycle cycles --all`)",
            )
        })
}

/// Why `cert` cannot sign at `at`, or `None` when it can.
fn cannot_sign(cert: &Cert, at: Time) -> Option<String> {
    let p = crate::base::openpgp_policy::standard();
    let vc = match cert.with_policy(&p, clock::to_system(at)) {
        Ok(vc) => vc,
        Err(e) => return Some(format!("not valid at {}: {e}", clock::iso(at))),
    };
    if let RevocationStatus::Revoked(sigs) = vc.revocation_status() {
        let r = sigs.first().map(|s| cert::Revocation::from_sig(s));
        return Some(format!(
            "revoked ({})",
            r.map(|r| r.reason).unwrap_or_default()
        ));
    }
    if vc.alive().is_err() {
        return Some(format!("expired at {}", clock::iso(at)));
    }
    let live = vc.keys().for_signing().alive().revoked(false).next();
    live.is_none().then(|| "no live signing subkey".to_string())
}

fn facts_of(key: &StoredKey, st: &status::KeyStatus, cycle: &str, at: Time) -> KeyFacts {
    let cert = &key.cert;
    let signing = st
        .subkeys
        .iter()
        .filter(|s| s.flags.contains('S') && s.alive && !s.revoked)
        .map(|s| s.fingerprint.clone())
        .next_back();
    KeyFacts {
        name: cert::KeyName::of(cert),
        cycle: cycle.to_string(),
        created: st.created,
        expires: st.expires,
        signing_subkey: signing,
        cannot_sign: cannot_sign(cert, at),
    }
}

/// The facts of the announcement of `key` as of `at`.
pub fn facts(
    vault: &Vault,
    schedule: &Schedule,
    config: &Config,
    key: &StoredKey,
    at: Time,
) -> Result<Announcement> {
    let state = crate::policy::load(vault, at)?;
    let all = crate::policy::partition(vault, state.as_ref(), vault.keys()?)?.0;
    let cycle = cycle_of(schedule, key)?;
    let st = status::key_status(vault, schedule, &all, key, state.as_ref(), at)?;
    let new = facts_of(key, &st, &cycle.label(), at);
    if let Some(why) = &new.cannot_sign {
        return Err(Error::input(
            format!(
                "{} cannot sign at {}: {why}",
                new.name.label,
                clock::iso(at)
            ),
            "announce a key that is valid now (check `keycycle status`)",
        ));
    }
    let previous = match previous_key(&all, schedule, cycle) {
        Some(prev) => {
            let pst = status::key_status(vault, schedule, &all, &prev, state.as_ref(), at)?;
            let pcycle = cycle_of(schedule, &prev)?.label();
            Some(Previous {
                key: facts_of(&prev, &pst, &pcycle, at),
                cross_signed: st.cross_signed == Some(true),
                cross_sign_void: st.cross_sign_void.clone(),
            })
        }
        None => None,
    };
    let mut signers = Vec::new();
    if let Some(p) = previous.as_ref().filter(|p| p.key.cannot_sign.is_none()) {
        signers.push(p.key.name.fingerprint.clone());
    }
    signers.push(new.name.fingerprint.clone());
    let wkd_url = sequoia_net::wkd::Url::from(&config.email)
        .ok()
        .map(|u| u.build(sequoia_net::wkd::Variant::Advanced));
    Ok(Announcement {
        time: at,
        organisation: config.organisation.clone(),
        email: config.email.clone(),
        cycle: cycle.id.clone(),
        cycle_label: cycle.label(),
        cycle_start: cycle.start,
        cycle_release: cycle.release,
        releases_url: config
            .announce
            .releases_url
            .replace("{fpr}", &new.name.fingerprint.to_lowercase()),
        key: new,
        previous,
        roots: st.attestations,
        keyservers: crate::policy::keyservers(vault, at, &[])?,
        wkd_url,
        signers,
    })
}

/// `0x61A53B8B5ED75305` of a subkey fingerprint.
fn subkey_id(fpr: &str) -> String {
    format!("0x{}", &fpr[fpr.len().saturating_sub(16)..])
}

/// Who signs, in words: the previous key and the new key, or the new key
/// alone and why.
fn signed_by(a: &Announcement) -> String {
    let new = format!("the new {} key ({})", a.key.cycle, a.key.name.key_id);
    match &a.previous {
        Some(p) if p.key.cannot_sign.is_none() => {
            format!("the {} key ({}) and {new}", p.key.cycle, p.key.name.key_id)
        }
        Some(p) => format!(
            "{new} alone (the {} key is {})",
            p.key.cycle,
            p.key.cannot_sign.as_deref().unwrap_or_default()
        ),
        None => format!("{new} alone"),
    }
}

/// The values and flags a template can use.
pub fn context(a: &Announcement) -> Context {
    let mut c = Context::default();
    let k = &a.key;
    let day = |t: Time| clock::day(t);
    c.value("organisation", &a.organisation);
    c.value("email", &a.email);
    c.value("date", day(a.time));
    c.value("cycle", &a.cycle_label);
    c.value("cycle_id", &a.cycle);
    c.value("cycle_start", a.cycle_start.to_string());
    c.value("cycle_release", a.cycle_release.to_string());
    c.value("uid", &k.name.uid);
    c.value("fingerprint", &k.name.fingerprint);
    c.value("fingerprint_grouped", &k.name.fingerprint_grouped);
    c.value("fpr_lower", k.name.fingerprint.to_lowercase());
    c.value("key_id", &k.name.key_id);
    c.value("algorithm", &k.name.algorithm);
    c.value("created", day(k.created));
    c.value("expires", day(k.expires));
    c.value(
        "signing_subkey",
        k.signing_subkey.clone().unwrap_or_default(),
    );
    c.value(
        "signing_subkey_id",
        k.signing_subkey
            .as_deref()
            .map(subkey_id)
            .unwrap_or_default(),
    );
    let p = a.previous.as_ref().map(|p| &p.key);
    let pv = |f: fn(&KeyFacts) -> String| p.map(f).unwrap_or_default();
    c.value("previous_cycle", pv(|p| p.cycle.clone()));
    c.value("previous_uid", pv(|p| p.name.uid.clone()));
    c.value("previous_fingerprint", pv(|p| p.name.fingerprint.clone()));
    c.value(
        "previous_fingerprint_grouped",
        pv(|p| p.name.fingerprint_grouped.clone()),
    );
    c.value(
        "previous_fpr_lower",
        pv(|p| p.name.fingerprint.to_lowercase()),
    );
    c.value("previous_key_id", pv(|p| p.name.key_id.clone()));
    c.value("previous_expires", pv(|p| clock::day(p.expires)));
    c.value(
        "previous_state",
        pv(|p| p.cannot_sign.clone().unwrap_or_else(|| "valid".into())),
    );
    c.flag("previous", p.is_some());
    c.flag("previous_signs", a.signers.len() > 1);
    c.flag(
        "cross_signed",
        a.previous.as_ref().is_some_and(|p| p.cross_signed),
    );
    let void = a.previous.as_ref().and_then(|p| p.cross_sign_void.clone());
    c.flag("cross_sign_void", void.is_some());
    c.value("cross_sign_void_reason", void.unwrap_or_default());
    c.value("roots_count", a.roots.by.len().to_string());
    c.value("roots_of", a.roots.of.to_string());
    c.value("roots_names", a.roots.by.join(", "));
    c.value("roots_missing", a.roots.missing.join(", "));
    c.flag("roots", !a.roots.by.is_empty());
    c.flag("majority", a.roots.majority);
    c.value(
        "keyserver",
        a.keyservers.first().cloned().unwrap_or_default(),
    );
    c.value("keyservers", a.keyservers.join(" "));
    c.flag("keyserver", !a.keyservers.is_empty());
    c.value("wkd_url", a.wkd_url.clone().unwrap_or_default());
    c.flag("wkd", a.wkd_url.is_some());
    c.value("releases_url", &a.releases_url);
    c.value("signed_by", signed_by(a));
    c
}

/// The announcement's text (unsigned) from `template`.
pub fn render(a: &Announcement, template: &str) -> Result<String> {
    let text = template::render(template, &context(a))?;
    // What the cleartext framework would change: say so now rather than
    // sign something else than what was rendered.
    Ok(text
        .lines()
        .map(str::trim_end)
        .collect::<Vec<_>>()
        .join("\n")
        + "\n")
}

/// Cleartext-sign `text` with each of `keys` (full certs with their
/// secrets) at `at`; the signatures follow in the order of `keys` (gpg
/// reports them in that order). The result is checked against the public
/// certs before it is returned.
pub fn sign(text: &str, keys: &[Cert], at: Time) -> Result<Vec<u8>> {
    let mut signers = Vec::new();
    // sequoia writes the signatures in the reverse order of its signers.
    for k in keys.iter().rev() {
        signers.push(crate::sign::signing_key(k, at, None)?);
    }
    if signers.is_empty() {
        return Err(Error::input("no key to sign with", "give a cycle key"));
    }
    let mut out = custody::signing_subkey::sign_cleartext(signers, text, at, DIGEST)?;
    if !out.ends_with(b"\n") {
        out.push(b'\n');
    }
    let public: Vec<Cert> = keys
        .iter()
        .map(|c| c.clone().strip_secret_key_material())
        .collect();
    let (content, good) = check(&out, &public, at)?;
    let missing: Vec<String> = public
        .iter()
        .map(|c| c.fingerprint().to_hex())
        .filter(|f| !good.contains(f))
        .collect();
    if !missing.is_empty() || content != text.as_bytes() {
        return Err(anyhow::anyhow!(
            "the announcement just signed does not verify (by {}): this machine may be faulty; nothing was written",
            missing.join(", ")
        )
        .into());
    }
    Ok(out)
}

struct Helper {
    certs: Vec<Cert>,
    good: Vec<String>,
    bad: Vec<String>,
}

impl VerificationHelper for Helper {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.certs.clone())
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure.into_iter() {
            if let MessageLayer::SignatureGroup { results } = layer {
                for r in results {
                    match r {
                        Ok(g) => self.good.push(g.ka.cert().fingerprint().to_hex()),
                        // A signature by a key not given: not bad.
                        Err(VerificationError::MissingKey { .. }) => {}
                        Err(e) => self.bad.push(e.to_string()),
                    }
                }
            }
        }
        Ok(())
    }
}

/// Check a cleartext-signed message against `certs` at `at` (standard
/// policy): the signed text and the fingerprints of the certs whose
/// signature on it is good. A bad signature (not merely one by a key not
/// given) is an error.
pub fn check(signed: &[u8], certs: &[Cert], at: Time) -> Result<(Vec<u8>, Vec<String>)> {
    let policy = crate::base::openpgp_policy::standard();
    let helper = Helper {
        certs: certs.to_vec(),
        good: Vec::new(),
        bad: Vec::new(),
    };
    let mut v = VerifierBuilder::from_bytes(signed)?.with_policy(
        &policy,
        Some(clock::to_system(at)),
        helper,
    )?;
    let mut content = Vec::new();
    std::io::copy(&mut v, &mut content).map_err(anyhow::Error::from)?;
    let h = v.into_helper();
    if !h.bad.is_empty() {
        return Err(Error::input(
            format!("the announcement does not verify: {}", h.bad.join("; ")),
            "it was changed after it was signed: use the original message",
        ));
    }
    Ok((content, h.good))
}

/// The announcement of `facts.key`, rendered from the configured template
/// and cleartext-signed by every key in `facts.signers`, each opened from
/// escrow with `ids` through custody.
pub fn signed(
    vault: &Vault,
    config: &Config,
    facts: &Announcement,
    ids: &Identities,
    at: Time,
) -> Result<Vec<u8>> {
    // Rendered first, so that a mistake in a new template names its line.
    let text = render(facts, &crate::policy::template_text(config)?)?;
    crate::policy::approved_template(vault, config, at)?;
    let all = vault.keys()?;
    let mut keys = Vec::new();
    for fpr in &facts.signers {
        let key = all
            .iter()
            .find(|k| &k.state.fingerprint == fpr)
            .ok_or_else(|| Error::vault(format!("the key {fpr} left the vault"), "run it again"))?;
        keys.push(custody::open(vault, key, ids)?.cert().clone());
    }
    sign(&text, &keys, at)
}

/// Who signed, for people: "2026.2/Hibiscus and 2027.1/Indri".
pub fn signer_names(facts: &Announcement) -> String {
    let mut names = Vec::new();
    if let Some(p) = &facts.previous {
        if facts.signers.contains(&p.key.name.fingerprint) {
            names.push(p.key.name.label.clone());
        }
    }
    names.push(facts.key.name.label.clone());
    names.join(" and ")
}
