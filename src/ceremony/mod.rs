//! The guided key ceremony: typed steps run in order, each one a function
//! in `steps/`, each recorded in `ceremonies/<cycle>.toml` when it
//! finishes, so that running the ceremony again resumes at the first open
//! step with the same key. The person at the ceremony is an [`Operator`]
//! (the terminal, implemented at the edge); every question has a flag in
//! [`Answers`], and without a terminal a missing answer is an error
//! naming that flag.

pub mod generate;
mod local;
pub mod policy_next;
mod record;
mod steps;

use std::path::PathBuf;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};
use crate::vault::config::Config;
use crate::custody::token::TokenUi;
use crate::custody::Identities;
use crate::policy;
use crate::vault::schedule::{Cycle, Schedule};
use crate::vault::{StoredKey, Vault};

pub use record::Record;

/// The steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Step {
    /// Confirm the roster, generate and escrow the key.
    Generate,
    /// Read the fingerprint aloud to the roots.
    Fingerprint,
    /// Prove that a root present opens the escrow.
    Drill,
    /// The previous cycle's key certifies the new one.
    CrossSign,
    /// The public key, armored and in the openstack/releases format.
    ExportPublic,
    /// Send it to the keyservers and fetch it back.
    Publish,
    /// The key transition announcement, signed by the old and the new key.
    Announcement,
    /// Hand the signing subkey to CI (once the previous releases are done).
    SigningSubkey,
    /// Print what the roots must do to attest the key.
    AttestationRequest,
}

impl Step {
    /// Every step, in order.
    pub const ALL: [Step; 9] = [
        Step::Generate,
        Step::Fingerprint,
        Step::Drill,
        Step::CrossSign,
        Step::ExportPublic,
        Step::Publish,
        Step::Announcement,
        Step::SigningSubkey,
        Step::AttestationRequest,
    ];

    /// The step's name in the record and in messages.
    pub fn name(self) -> &'static str {
        match self {
            Step::Generate => "generate",
            Step::Fingerprint => "fingerprint",
            Step::Drill => "drill",
            Step::CrossSign => "cross-sign",
            Step::ExportPublic => "export-public",
            Step::Publish => "publish",
            Step::Announcement => "announcement",
            Step::SigningSubkey => "signing-subkey",
            Step::AttestationRequest => "attestation-request",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The person at the ceremony.
pub trait Operator {
    /// Progress, for people.
    fn say(&mut self, text: &str);
    /// Whether questions can be asked at all (a terminal, no `--batch`).
    fn interactive(&self) -> bool;
    /// A yes/no question; `flag` answers it without a terminal.
    fn confirm(&mut self, flag: &str, question: &str) -> Result<bool>;
    /// A line of text; `flag` gives it without a terminal.
    fn input(&mut self, flag: &str, question: &str) -> Result<String>;
    /// Whether the person asked to stop (Ctrl-C): the ceremony stops
    /// before its next step.
    fn interrupted(&self) -> bool {
        false
    }
}

/// The answers given as flags.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    pub confirm_roster: bool,
    pub fingerprint_read: bool,
    pub identity: Vec<PathBuf>,
    pub keyserver: Vec<String>,
    pub no_publish: bool,
    pub releases_done: bool,
    pub subkey_out: Option<PathBuf>,
    pub exports: Option<PathBuf>,
    /// Seconds before a keyserver request gives up.
    pub timeout: u64,
}

/// What a step did.
pub enum Outcome {
    /// Finished, with a note for the record.
    Done(String),
    /// Not now: the step stays open and the ceremony goes on.
    Open,
}

/// How a ceremony run ended.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub cycle: String,
    pub cycle_label: String,
    pub fingerprint: Option<String>,
    pub done: std::collections::BTreeMap<Step, String>,
    pub open: Vec<Step>,
    pub attestation_request: Option<String>,
    /// Where the key stands in the signed policy, and what the roots do
    /// next (pin version 1, or propose and sign the next version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub policy: Option<policy_next::PolicyNext>,
}

/// What every step works with.
pub(crate) struct Cx<'a> {
    pub vault: &'a Vault,
    pub config: &'a Config,
    pub schedule: &'a Schedule,
    pub cycle: &'a Cycle,
    pub answers: &'a Answers,
    pub op: &'a mut dyn Operator,
    /// What a token or a passphrase-protected identity asks goes here.
    token: Arc<dyn TokenUi>,
    pub at: Time,
    pub record: Record,
    /// This machine's own record of the ceremony (see [`local`]).
    local: Record,
    ids: Option<Identities>,
    pub request: Option<String>,
}

impl Cx<'_> {
    /// The ceremony's key (made by the generate step).
    pub fn key(&self) -> Result<StoredKey> {
        let fpr = self.record.fingerprint.as_deref().unwrap_or_default();
        // The record is a file anyone can commit: only a trusted key counts.
        let key = policy::trusted_keys(self.vault, self.at)?
            .into_iter()
            .find(|k| k.state.fingerprint == fpr)
            .ok_or_else(|| {
                Error::vault(
                    format!("the ceremony's key {fpr} is not in the vault"),
                    "restore the key directory from git, or delete ceremonies/<cycle>.toml to start over",
                )
            })?;
        // …and only the key of this cycle: the policy's, or made here for it.
        let id = &self.cycle.id;
        if !local::belongs(self.vault, &key, id, Some(&self.local), self.at)? {
            return Err(Error::vault(
                format!(
                    "ceremonies/{id}.toml names the key {fpr}, which is neither the signed policy's key for {id} nor one this machine generated for it"
                ),
                format!("restore ceremonies/{id}.toml from git, or delete it to start the ceremony over"),
            ));
        }
        Ok(key)
    }

    /// The keys of cycle `id` this machine trusts, oldest first: those the
    /// policy in force lists for `id`, or generated here for it.
    pub fn trusted_of(&self, id: &str) -> Result<Vec<StoredKey>> {
        let mut out = Vec::new();
        for k in trusted_of(self.vault, id, self.at)? {
            if local::belongs(self.vault, &k, id, None, self.at)? {
                out.push(k);
            }
        }
        Ok(out)
    }

    /// Whether `step` is done: a step only a person can attest by this
    /// machine's own record, any other by the vault's.
    fn is_done(&self, step: Step) -> bool {
        local::is_done(&self.record, &self.local, step)
    }

    /// Run `open` with the escrow identities of a root present: from
    /// `--identity`, or asked for (once a run; `purpose` says what they
    /// open). Asked ones that do not load (a mistyped path) or do not open
    /// (`open` fails on the input) are asked for again, saying why, up to
    /// [`TRIES`] times.
    pub fn with_identities<T>(
        &mut self,
        purpose: &str,
        mut open: impl FnMut(&Identities) -> Result<T>,
    ) -> Result<T> {
        if !self.answers.identity.is_empty() {
            let ids = match self.ids.take() {
                Some(ids) => ids,
                None => Identities::from_paths_with(&self.answers.identity, &self.token)?,
            };
            let out = open(&ids);
            self.ids = Some(ids);
            return out;
        }
        let mut why = self.ids.is_none().then(|| self.asked_before()).flatten();
        let mut asked = 0;
        loop {
            let ids = match self.ids.take() {
                Some(ids) => ids,
                None => {
                    if let Some(w) = why.take() {
                        self.op.say(&w);
                    }
                    asked += 1;
                    let path = self.op.input(
                        "--identity FILE",
                        &format!("Path to the escrow identity of a root present, {purpose} (age identity or SSH key)"),
                    )?;
                    match Identities::from_paths_with(&[PathBuf::from(path.trim())], &self.token) {
                        Ok(ids) => ids,
                        Err(e) if asked < TRIES && again(&e, true) => {
                            why = Some(retry(&e, asked));
                            continue;
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            match open(&ids) {
                Ok(out) => {
                    self.ids = Some(ids);
                    return Ok(out);
                }
                Err(e) if asked < TRIES && again(&e, false) => {
                    why = Some(retry(
                        &e.context(format!("that identity did not work ({purpose})")),
                        asked,
                    ));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Why an identity is asked for although one was given: a step of an
    /// earlier run used one (they are never kept between runs).
    fn asked_before(&self) -> Option<String> {
        self.is_done(Step::Drill).then(|| {
            "The escrow identity given in an earlier run (for the drill) is not kept between runs: it is needed again.".to_string()
        })
    }
}

/// How many times an escrow identity is asked for before the ceremony
/// stops.
pub const TRIES: usize = 3;

/// Whether a failure with an identity the person typed is worth another
/// try: bad input (a wrong identity, a file that is not one), or — when
/// loading it — a file that cannot be read (a mistyped path).
fn again(e: &Error, loading: bool) -> bool {
    matches!(e, Error::Input { .. }) || (loading && matches!(e, Error::Io { .. }))
}

/// The note before an identity is asked for again.
fn retry(e: &Error, asked: usize) -> String {
    let left = TRIES - asked;
    format!(
        "{} — asking again ({left} {} left)",
        crate::base::text::line(&crate::base::error::with_causes(e)),
        if left == 1 { "try" } else { "tries" }
    )
}

/// The keys of cycle `id` this machine trusts (the policy lists them or
/// they were generated here), oldest first.
pub fn trusted_of(vault: &Vault, id: &str, at: Time) -> Result<Vec<StoredKey>> {
    Ok(policy::trusted_keys(vault, at)?
        .into_iter()
        .filter(|k| k.state.cycle == id)
        .collect())
}

/// A cycle the ceremony can be for, with why it is offered.
#[derive(Debug, Clone)]
pub struct Choice {
    pub cycle: Cycle,
    pub label: String,
}

/// The cycles to offer, best first: the next cycle — or the current one
/// when it has no key yet (its releases would go unsigned), saying so.
pub fn choices(vault: &Vault, schedule: &Schedule, at: Time) -> Result<Vec<Choice>> {
    let mut out = Vec::new();
    for which in ["next", "current"] {
        let Ok(c) = schedule.resolve(which, at) else {
            continue;
        };
        let Ok(exp) = schedule.expiry(c) else {
            continue;
        };
        let keys = trusted_of(vault, &c.id, at)?;
        let keyless = which == "current" && keys.is_empty();
        let has = match keys.last() {
            _ if keyless => " — offered first: the current cycle has no key yet".to_string(),
            None => " — no key yet".to_string(),
            Some(k) => has_key(vault, k),
        };
        let choice = Choice {
            cycle: c.clone(),
            label: format!(
                "{which}: {} (key expires {}){has}",
                c.label(),
                clock::day(exp)
            ),
        };
        if keyless {
            out.insert(0, choice);
        } else {
            out.push(choice);
        }
    }
    Ok(out)
}

/// For the cycle picker: the cycle already has the key `k`, and where its
/// ceremony stands.
fn has_key(vault: &Vault, k: &StoredKey) -> String {
    let id = crate::cert::keyid0x(&k.cert.keyid());
    let (Ok(record), Ok(local)) = (
        Record::load(vault, &k.state.cycle),
        local::load(vault, &k.state.cycle),
    ) else {
        return format!(" — has a key ({id})");
    };
    if record.fingerprint.as_deref() != Some(k.state.fingerprint.as_str()) {
        return format!(" — has a key ({id}); its ceremony has not begun");
    }
    match Step::ALL
        .into_iter()
        .find(|s| !local::is_done(&record, &local, *s))
    {
        Some(step) => format!(" — has a key ({id}); its ceremony resumes at '{step}'"),
        None => format!(" — has a key ({id}); its ceremony is complete"),
    }
}

/// A warning when `cycle`'s key window has not opened at `at`.
pub fn window_warning(schedule: &Schedule, cycle: &Cycle, at: Time) -> Option<String> {
    let plan = schedule.plan(cycle).ok()?;
    let opens = clock::start_of_day(plan.create_from);
    (at < opens).then(|| {
        format!(
            "the key window for {} opens on {} ({} days from now); a key made earlier expires as planned but is exposed longer",
            cycle.label(),
            plan.create_from,
            clock::days_between(at, opens)
        )
    })
}

/// A Ctrl-C during `step` (at a prompt, or noted before it began): where
/// the ceremony stopped and how it resumes. Nothing of `step` was
/// recorded: steps record only when they finish.
fn stopped_at(e: Error, step: Step, cx: &Cx) -> Error {
    if !matches!(e, Error::Interrupted { .. }) {
        return e;
    }
    let key = match &cx.record.fingerprint {
        Some(_) => "with the same key",
        None => "and makes the key",
    };
    Error::interrupted(
        format!("interrupted at {step} — run `keycycle ceremony` again to resume"),
        Some(format!(
            "it resumes at '{step}' {key}: keycycle ceremony --cycle {}",
            cx.cycle.id
        )),
    )
}

/// Run the ceremony for `cycle` from its first open step.
pub fn run(
    vault: &Vault,
    cycle: &Cycle,
    answers: &Answers,
    op: &mut dyn Operator,
    token: Arc<dyn TokenUi>,
    at: Time,
) -> Result<Summary> {
    let config = vault.config()?;
    let schedule = Schedule::from_config(&config)?;
    let record = Record::load(vault, &cycle.id)?;
    let local = local::load(vault, &cycle.id)?;
    let mut cx = Cx {
        vault,
        config: &config,
        schedule: &schedule,
        cycle,
        answers,
        op,
        token,
        at,
        record,
        local,
        ids: None,
        request: None,
    };
    if cx.record.fingerprint.is_some() {
        // A record naming a key checks it before any step runs.
        cx.key()?;
    }
    let resume = Step::ALL.into_iter().find(|s| !cx.is_done(*s));
    if let Some(step) = resume {
        if !cx.record.done.is_empty() {
            cx.op.say(&format!(
                "Resuming the {} ceremony at step '{step}'.",
                cycle.label()
            ));
        }
    }
    for step in Step::ALL {
        if cx.is_done(step) {
            continue;
        }
        let outcome = match cx.op.interrupted() {
            true => Err(Error::interrupted("interrupted", None)),
            false => steps::run(step, &mut cx),
        };
        let outcome = outcome.map_err(|e| stopped_at(e, step, &cx))?;
        if let Outcome::Done(note) = outcome {
            let fpr = cx.record.fingerprint.clone();
            local::finish(vault, &mut cx.local, fpr.as_deref(), step, &note)?;
            cx.record.finish(vault, step, note)?;
        }
    }
    let open = Step::ALL.into_iter().filter(|s| !cx.is_done(*s)).collect();
    Ok(Summary {
        cycle: cycle.id.clone(),
        cycle_label: cycle.label(),
        fingerprint: cx.record.fingerprint.clone(),
        done: cx.record.done.clone(),
        open,
        attestation_request: cx.request,
        policy: policy_next::of(vault, cx.record.fingerprint.as_deref(), at)?,
    })
}
