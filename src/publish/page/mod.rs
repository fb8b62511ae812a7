//! `keycycle export page`: a static page for the release documentation —
//! every cycle key (newest first) with its status, certifications and
//! predecessor link, a timeline drawn as inline SVG, and how to verify a
//! release. No JavaScript, no external resources, every value escaped.
//!
//! The model (`build`) is computed here from certificates alone, reusing
//! `cert::describe` (validity, subkeys, certifications) and
//! `cert::custody` (the chain of predecessor certifications); the vault
//! adds the roots' attestations as `status` counts them.

use serde::Serialize;

use openpgp::Cert;
use sequoia_openpgp as openpgp;

use crate::base::clock::{self, Time};
use crate::cert::{self, CertInfo, Known};
use crate::vault::schedule::{Cycle, Schedule};
use crate::status::Attestations;

mod html;

pub use html::gpg_check;
mod timeline;

pub use html::{escape, render};

/// Where a key stands at the page's time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// The key of the cycle in progress.
    Current,
    /// The key of the coming cycle.
    Next,
    /// Alive, but not the current or next cycle's (a previous cycle's key
    /// in its overlap, or a key whose cycle the schedule does not know).
    Valid,
    /// Created after the page's time.
    NotYetValid,
    Expired,
    Revoked,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Current => "current",
            Status::Next => "next",
            Status::Valid => "valid",
            Status::NotYetValid => "not yet valid",
            Status::Expired => "expired",
            Status::Revoked => "revoked",
        }
    }

    /// The CSS class.
    pub fn class(self) -> &'static str {
        match self {
            Status::NotYetValid => "not-yet-valid",
            s => s.word(),
        }
    }
}

/// Something that happened to a key, marked on the timeline.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    #[serde(with = "clock::serde_iso")]
    pub time: Time,
    /// `subkey-added`, `subkey-revoked` or `revoked`.
    pub kind: &'static str,
    pub text: String,
}

/// One key as the page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct PageKey {
    #[serde(flatten)]
    pub name: cert::KeyName,
    /// The cycle (`2026.2/Hibiscus`), from the vault or the user ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cycle: Option<String>,
    #[serde(with = "clock::serde_iso")]
    pub created: Time,
    #[serde(with = "clock::serde_iso_opt")]
    pub expires: Option<Time>,
    #[serde(with = "clock::serde_iso_opt")]
    pub revoked_at: Option<Time>,
    pub status: Status,
    /// Why, in words: `revoked 2026-03-01 (compromised): …`.
    pub status_text: String,
    /// The roots (or other third parties) who certified it.
    pub certified_by: Vec<String>,
    /// `2 of 3 roots, majority reached`, or how the list was checked.
    pub certified_note: String,
    /// The key before it in the chain, by creation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predecessor: Option<String>,
    /// Whether the predecessor certified it (`None`: the first key).
    pub cross_signed: Option<bool>,
    #[serde(with = "clock::serde_iso_opt")]
    pub cross_signed_at: Option<Time>,
    /// Why the predecessor's certification does not count, when it made
    /// one it could not make (`issuer hard-revoked on …`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cross_sign_void: Option<String>,
    pub events: Vec<Event>,
    /// The public key file the page links, relative to the page.
    pub file: String,
}

/// The whole page.
#[derive(Debug, Clone, Serialize)]
pub struct Page {
    pub title: String,
    #[serde(with = "clock::serde_iso")]
    pub time: Time,
    /// Newest first.
    pub keys: Vec<PageKey>,
    /// The longest unbroken chain of predecessor certifications.
    pub longest_chain: Vec<String>,
    pub gaps: usize,
}

/// A certificate to put on the page.
pub struct Input {
    pub cert: Cert,
    /// The vault's cycle id for it; else read from the user ID.
    pub cycle: Option<String>,
    /// The roots' attestations (vault mode); else the certifications are
    /// listed as found, checked against the roots' certs given.
    pub roots: Option<Attestations>,
}

/// `keys/0x<fingerprint>.asc`.
pub fn key_file(fpr: &str) -> String {
    format!("keys/0x{}.asc", fpr.to_lowercase())
}

/// The schedule's cycle for a key: the vault's id, else the user ID's
/// release id or series name.
fn cycle_for<'s>(schedule: &'s Schedule, input: &Input, info: &CertInfo) -> Option<&'s Cycle> {
    let cycles = schedule.cycles();
    if let Some(id) = &input.cycle {
        return cycles.iter().find(|c| &c.id == id);
    }
    info.cycle_id
        .as_deref()
        .and_then(|id| cycles.iter().find(|c| c.matches(id)))
        .or_else(|| {
            info.cycle_name
                .as_deref()
                .and_then(|n| cycles.iter().find(|c| c.matches(n)))
        })
}

fn status_of(
    info: &CertInfo,
    cycle: Option<&Cycle>,
    schedule: &Schedule,
    at: Time,
) -> (Status, String, Option<Time>) {
    let day = |t: Time| clock::day(t);
    if let Some(r) = info.primary.revocations.first() {
        let mut text = format!(
            "revoked{} ({}{})",
            r.time.map(|t| format!(" {}", day(t))).unwrap_or_default(),
            r.reason,
            if r.hard {
                ": every signature it made is void"
            } else {
                ": signatures made before then stay valid"
            }
        );
        if !r.message.is_empty() {
            text.push_str(&format!(" — {}", r.message));
        }
        return (Status::Revoked, text, r.time);
    }
    if info.primary.created > at {
        return (
            Status::NotYetValid,
            format!("not yet valid: created {}", day(info.primary.created)),
            None,
        );
    }
    if let Some(e) = info.primary.expires.filter(|e| *e <= at) {
        return (Status::Expired, format!("expired {}", day(e)), None);
    }
    let until = info
        .primary
        .expires
        .map(|e| format!("valid until {}", day(e)))
        .unwrap_or_else(|| "valid, no expiry".into());
    let current = schedule.resolve("current", at).ok();
    let next = schedule.resolve("next", at).ok();
    match cycle {
        Some(c) if Some(c) == current => (
            Status::Current,
            format!("current: signs the {} releases; {until}", c.label()),
            None,
        ),
        Some(c) if Some(c) == next => (
            Status::Next,
            format!(
                "next: for the {} cycle from {}; {until}",
                c.label(),
                c.start
            ),
            None,
        ),
        Some(c) if current.is_some_and(|cur| c.start < cur.start) => (
            Status::Valid,
            format!("{until}, for late artifacts of {}", c.label()),
            None,
        ),
        _ => (Status::Valid, until, None),
    }
}

/// Subkey rotations and revocations, oldest first.
fn events_of(info: &CertInfo) -> Vec<Event> {
    let mut events = Vec::new();
    let mut signing_seen: Vec<&str> = Vec::new();
    for s in &info.subkeys {
        let late = (s.created - info.primary.created).num_seconds() > 86_400;
        if s.flags.contains('S') {
            if late {
                let text = match signing_seen.last() {
                    Some(old) => format!("signing subkey rotated: {} replaces {old}", s.key_id),
                    None => format!("signing subkey {} added", s.key_id),
                };
                events.push(Event {
                    time: s.created,
                    kind: "subkey-added",
                    text,
                });
            }
            signing_seen.push(&s.key_id);
        }
        for r in &s.revocations {
            let mut text = format!("subkey {} revoked ({})", s.key_id, r.reason);
            if !r.message.is_empty() {
                text.push_str(&format!(": {}", r.message));
            }
            events.push(Event {
                time: r.time.unwrap_or(s.created),
                kind: "subkey-revoked",
                text,
            });
        }
    }
    for r in &info.primary.revocations {
        events.push(Event {
            time: r.time.unwrap_or(info.primary.created),
            kind: "revoked",
            text: format!("key revoked ({})", r.reason),
        });
    }
    events.sort_by_key(|e| e.time);
    events
}

/// Who certified the key: the vault's roots, or every third party that
/// is not one of the cycle keys on the page.
fn certifiers(
    info: &CertInfo,
    roots: Option<&Attestations>,
    cycle_keys: &[String],
) -> (Vec<String>, String) {
    if let Some(a) = roots {
        let note = if a.of == 0 {
            "no root has an OpenPGP certificate on the roster".to_string()
        } else {
            format!(
                "{} of {} roots{}",
                a.by.len(),
                a.of,
                if a.majority {
                    ", majority reached"
                } else {
                    ", majority not reached"
                }
            )
        };
        return (a.by.clone(), note);
    }
    let mut names: Vec<String> = Vec::new();
    let (mut valid, mut unchecked) = (0, 0);
    for c in &info.certifications {
        if c.issuer_fingerprint
            .as_ref()
            .is_some_and(|f| cycle_keys.contains(f) || *f == info.primary.fingerprint)
        {
            continue;
        }
        let name = match (c.check.as_str(), &c.issuer) {
            ("valid", Some(who)) => format!("{who} ({})", c.issuer_key_id),
            ("invalid", _) => continue,
            _ => format!("{} (not checked)", c.issuer_key_id),
        };
        if !names.contains(&name) {
            if c.check == "valid" {
                valid += 1;
            } else {
                unchecked += 1;
            }
            names.push(name);
        }
    }
    let note = match (valid, unchecked) {
        (0, 0) => "no third-party certification".to_string(),
        (v, 0) => format!("{v} verified"),
        (0, u) => format!("{u} not checked: the certifiers' keys were not given (--roots)"),
        (v, u) => format!("{v} verified, {u} not checked (certifier's key not given)"),
    };
    (names, note)
}

/// The page's model: `inputs` newest first, as of `at`. `roots` are the
/// certificates third-party certifications are checked against (files
/// mode); `schedule` decides which cycle is current and next.
pub fn build(inputs: &[Input], roots: &[Cert], schedule: &Schedule, title: &str, at: Time) -> Page {
    let mut known = Known::default();
    for c in inputs.iter().map(|i| &i.cert).chain(roots) {
        known.add(c);
    }
    let certs: Vec<Cert> = inputs.iter().map(|i| i.cert.clone()).collect();
    let custody = cert::custody(&certs, at);
    let cycle_keys: Vec<String> = certs.iter().map(|c| c.fingerprint().to_hex()).collect();
    let mut keys: Vec<PageKey> = Vec::new();
    for input in inputs {
        let cert = &input.cert;
        // A key made after `at` is described as of its creation.
        let created = clock::from_system(cert.primary_key().key().creation_time());
        let mut info = cert::describe(cert, at.max(created), &known);
        info.primary.created = created;
        let cycle = cycle_for(schedule, input, &info);
        let (status, status_text, revoked_at) = status_of(&info, cycle, schedule, at);
        let name = cert::KeyName::of(cert);
        let label = &name.label;
        let (predecessor, cross_signed, cross_signed_at) =
            match custody.linked.iter().find(|l| &l.subject == label) {
                Some(l) => (Some(l.issuer.clone()), Some(true), l.date),
                None => match custody.gaps.iter().find(|(k, _)| k == label) {
                    Some((_, prev)) => (Some(prev.clone()), Some(false), None),
                    None => (None, None, None),
                },
            };
        let cross_sign_void = custody
            .broken
            .iter()
            .find(|(k, _)| k == label)
            .map(|(_, why)| why.clone());
        let (certified_by, certified_note) = certifiers(&info, input.roots.as_ref(), &cycle_keys);
        keys.push(PageKey {
            cycle: cycle.map(Cycle::label).or_else(|| {
                info.cycle_name.as_ref().map(|n| match &info.cycle_id {
                    Some(id) => format!("{id}/{n}"),
                    None => n.clone(),
                })
            }),
            name,
            created,
            expires: info.primary.expires,
            revoked_at,
            status,
            status_text,
            certified_by,
            certified_note,
            predecessor,
            cross_signed,
            cross_signed_at,
            cross_sign_void,
            events: events_of(&info),
            file: key_file(&info.primary.fingerprint),
        });
    }
    keys.sort_by_key(|k| std::cmp::Reverse(k.created));
    keys.dedup_by(|a, b| a.name.fingerprint == b.name.fingerprint);
    Page {
        title: title.to_string(),
        time: at,
        keys,
        longest_chain: custody.longest,
        gaps: custody.gaps.len(),
    }
}

/// The organisation in a cycle key's user ID: `OpenStack Infra` of
/// `OpenStack Infra (2026.2/Hibiscus Cycle) <…>`.
pub fn organisation_of(uid: &str) -> Option<String> {
    let (org, _) = uid.split_once(" (")?;
    let org = org.trim();
    (!org.is_empty()).then(|| org.to_string())
}
