//! Entry points for the fuzz targets (`fuzz/`, cargo-fuzz) and for their
//! smoke run in the test suite (`tests/it/fuzz_smoke.rs`). See
//! `docs/fuzzing.md`.
//!
//! Each `fuzz_*` function feeds untrusted bytes to the same public
//! functions the command line uses on files it did not write itself, and
//! returns quietly whatever they answer: the only failures are panics,
//! hangs and runaway allocations. Where the CLI reads a file by path, the
//! bytes are written to a per-thread scratch directory first, so the real
//! path-taking code runs.
//!
//! The fixed material (a two-key vault with a three-root roster, the age
//! identity of one root, the data the signatures are over) lives in
//! `fuzz/fixtures/`; nothing here is secret.

use std::cell::RefCell;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use openpgp::parse::Parse;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

use keycycle::base::clock::{self, Time};
use keycycle::cert::{self, Known};
use keycycle::vault::config::{Config, ScheduleSource};
use keycycle::custody::escrow::{self, Bundle};
use keycycle::custody::shares::{self, Share};
use keycycle::custody::{age, Identities, Recipient};
use keycycle::policy::{attest, roster};
use keycycle::vault::schedule::Schedule;
use keycycle::vault::audit;
use keycycle::vault::Vault;
use keycycle::verify::{self, Keyring};

/// "Now" for every target: the fixture keys are live, the roster cert too.
pub const FUZZ_TIME: &str = "2026-11-26";

/// The data every detached signature of the `verify_signature` target is
/// checked over.
pub const SIGNED_DATA: &[u8] = include_bytes!("../fixtures/data.txt");

/// The age identity of Alice, a root the fixture escrow is encrypted to.
const IDENTITY: &[u8] = include_bytes!("../fixtures/identity.agekey");

/// The fixture vault (public files only): path relative to the vault, bytes.
const VAULT: &[(&str, &[u8])] = &[
    (
        "keycycle.toml",
        include_bytes!("../fixtures/vault/keycycle.toml"),
    ),
    (
        "roster/roster.toml",
        include_bytes!("../fixtures/vault/roster/roster.toml"),
    ),
    (
        "roster/7E463CCC0E1E62CA4D18F684843102A7AE896EB9.asc",
        include_bytes!(
            "../fixtures/vault/roster/7E463CCC0E1E62CA4D18F684843102A7AE896EB9.asc"
        ),
    ),
    (
        "keys/2026.2-3B511B65D6903975/state.toml",
        include_bytes!("../fixtures/vault/keys/2026.2-3B511B65D6903975/state.toml"),
    ),
    (
        "keys/2026.2-3B511B65D6903975/cert.asc",
        include_bytes!("../fixtures/vault/keys/2026.2-3B511B65D6903975/cert.asc"),
    ),
    (
        "keys/2027.1-86726A0C966324C3/state.toml",
        include_bytes!("../fixtures/vault/keys/2027.1-86726A0C966324C3/state.toml"),
    ),
    (
        "keys/2027.1-86726A0C966324C3/cert.asc",
        include_bytes!("../fixtures/vault/keys/2027.1-86726A0C966324C3/cert.asc"),
    ),
];

/// Carol, the root with an OpenPGP certificate on the roster.
const CAROL: &[u8] = include_bytes!("../fixtures/carol.asc");

fn at() -> Time {
    clock::parse_time(FUZZ_TIME).expect("FUZZ_TIME parses")
}

/// A scratch directory per thread (tests run targets in parallel), with
/// the fixture vault materialised twice: one for `attestations import`,
/// one whose roster.toml the `roster` target overwrites.
struct Scratch {
    dir: tempfile::TempDir,
    identities: Identities,
    /// The `attestations import` vault, locked as that command locks it.
    attest_vault: Vault,
}

impl Scratch {
    fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("keycycle-fuzz-")
            .tempdir()
            .expect("a scratch directory");
        for v in ["attest-vault", "roster-vault"] {
            write_vault(&dir.path().join(v), |_| true);
        }
        std::fs::create_dir_all(dir.path().join("schedule")).expect("mkdir");
        let id = dir.path().join("identity.agekey");
        std::fs::write(&id, IDENTITY).expect("write identity");
        let identities = Identities::from_paths(&[id]).expect("the fixture identity loads");
        let attest_vault = Vault::open(&dir.path().join("attest-vault"))
            .and_then(|v| v.lock("attestations"))
            .expect("the fixture vault opens");
        Scratch {
            dir,
            identities,
            attest_vault,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
}

fn write_vault(root: &Path, which: impl Fn(&str) -> bool) {
    for (rel, bytes) in VAULT.iter().filter(|(rel, _)| which(rel)) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(p, bytes).expect("write fixture");
    }
}

thread_local! {
    static SCRATCH: RefCell<Option<Scratch>> = const { RefCell::new(None) };
}

fn with_scratch<T>(f: impl FnOnce(&Scratch) -> T) -> T {
    SCRATCH.with(|s| {
        let mut s = s.borrow_mut();
        f(s.get_or_insert_with(Scratch::new))
    })
}

/// The certificates signatures are checked against: the fixture vault's
/// two cycle keys and Carol's cert.
fn keyring() -> &'static Keyring {
    static RING: OnceLock<Keyring> = OnceLock::new();
    RING.get_or_init(|| {
        let mut certs = Vec::new();
        for (rel, bytes) in VAULT {
            if rel.ends_with("cert.asc") {
                certs.push(Cert::from_bytes(bytes).expect("fixture cert"));
            }
        }
        certs.push(Cert::from_bytes(CAROL).expect("fixture cert"));
        Keyring::new(certs).expect("a keyring")
    })
}

/// The escrow recipients of the fixture vault (the roster's).
fn recipients() -> &'static [Recipient] {
    static R: OnceLock<Vec<Recipient>> = OnceLock::new();
    R.get_or_init(|| {
        let text = std::str::from_utf8(VAULT[1].1).expect("utf-8");
        let roster: roster::Roster = toml::from_str(text).expect("fixture roster");
        roster.recipients().expect("fixture recipients")
    })
}

/// `inspect FILE…`, `roster add --cert FILE`, `verify --cert FILE`,
/// `certify FILE`: parse certificates (keyrings, openstack/releases
/// `.txt` files) and describe them as `inspect` and `export --format
/// releases` do.
pub fn fuzz_cert_import(data: &[u8]) {
    let Ok(certs) = cert::parse_certs(data) else {
        return;
    };
    let at = at();
    let mut known = Known::default();
    for c in &certs {
        known.add(c);
    }
    for c in &certs {
        let info = cert::describe(c, at, &known);
        let _ = serde_json::to_string(&info);
        let _ = cert::releases_text(c, at, &known);
        let _ = cert::label(c);
    }
    if certs.len() > 1 {
        let _ = serde_json::to_string(&cert::certification_chain(
            &certs,
            keycycle::base::clock::from_system(std::time::UNIX_EPOCH),
        ));
        let _ = serde_json::to_string(&cert::custody(
            &certs,
            keycycle::base::clock::from_system(std::time::UNIX_EPOCH),
        ));
    }
    // roster add --cert: exactly one cert, stored without secrets.
    if let [one] = &certs[..] {
        let public = one.clone().strip_secret_key_material();
        let _ = cert::armored_public(&public);
        let _ = attest::fingerprint_matches(&public.fingerprint(), &public.fingerprint().to_hex());
    }
    // verify --cert: a keyring of the stripped certs.
    let _ = Keyring::new(
        certs
            .into_iter()
            .map(Cert::strip_secret_key_material)
            .collect(),
    );
}

/// `attestations import FILE…`: parse the certs and check every
/// certification on them against the fixture vault (two cycle keys, a
/// roster with Carol's cert). Accepted certifications are written into the
/// vault; the fixture certs are restored afterwards.
pub fn fuzz_attest_import(data: &[u8]) {
    let Ok(incoming) = cert::parse_certs(data) else {
        return;
    };
    with_scratch(|s| {
        if let Ok(report) = attest::import(&s.attest_vault, &incoming, at()) {
            let _ = serde_json::to_string(&report);
            if !report.updated.is_empty() {
                write_vault(&s.path("attest-vault"), |rel| rel.ends_with("cert.asc"));
            }
        }
    });
}

/// `verify FILE --signature SIG`: a detached signature (armored or binary)
/// over [`SIGNED_DATA`], checked against the fixture keyring.
pub fn fuzz_verify_signature(sig: &[u8]) {
    let v = verify::verify_bytes(keyring(), SIGNED_DATA, sig, at());
    let _ = serde_json::to_string(&v);
}

/// `keycycle.toml`: parse and check it, then build the schedule it asks
/// for (embedded or custom; a series_status path is not followed) and
/// derive every cycle's user ID and plan, as `cycles` and `generate` do.
pub fn fuzz_config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(config) = Config::parse(text, Path::new("keycycle.toml")) else {
        return;
    };
    if config.schedule.source == ScheduleSource::SeriesStatus {
        return;
    }
    exercise_schedule(&config);
}

fn exercise_schedule(config: &Config) {
    let Ok(schedule) = Schedule::from_config(config) else {
        return;
    };
    let at = at();
    for c in schedule.cycles() {
        let _ = keycycle::vault::schedule::user_id(config, c);
        let _ = schedule.plan(c);
    }
    for spec in ["current", "next", "previous", "2027.1", "indri"] {
        let _ = schedule.resolve(spec, at);
    }
}

/// `roster/roster.toml`: read by nearly every command; checked when a
/// root is added or removed and when escrow recipients are gathered.
pub fn fuzz_roster(data: &[u8]) {
    with_scratch(|s| {
        let root = s.path("roster-vault");
        std::fs::write(root.join("roster/roster.toml"), data).expect("write roster");
        let vault = Vault::open(&root).expect("the fixture vault opens");
        let Ok(mut roster) = keycycle::policy::roster::load(&vault) else {
            return;
        };
        let _ = roster.recipients();
        let _ = toml::to_string(&roster);
        let _ = roster.clone().add(roster::Member {
            name: "Dave".into(),
            email: "dave@example.org".into(),
            fingerprint: None,
            escrow_recipient: "age1u9mvrzlw2frft08dussxl6wyh4gvn57agkym358jktfgrszg9cvq6rz9g3"
                .into(),
        });
        let _ = roster.remove("alice@example.org");
    });
}

/// openstack/releases' `series_status.yaml` (`[schedule] source =
/// "series-status"`). An optional per-series schedule file follows the
/// first NUL byte; it is offered for every series name.
pub fn fuzz_schedule(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (series, per_series) = match text.split_once('\0') {
        Some((a, b)) => (a, Some(b)),
        None => (text, None),
    };
    let _ = Schedule::parse_series_status(series, |_| per_series.map(str::to_string));
    with_scratch(|s| {
        let path = s.path("schedule/series_status.yaml");
        std::fs::write(&path, series).expect("write series_status");
        let mut config = Config::default();
        config.schedule.source = ScheduleSource::SeriesStatus;
        config.schedule.series_status = Some(path);
        exercise_schedule(&config);
    });
}

/// Escrow files: the age header check (`generate`, `escrow drill`,
/// `escrow rewrap`), opening with a root's identity, what is inside once
/// opened (the secret key, revocation certificates, a share), share files
/// given with `--share`/`--identity`, identity files, and the recovered
/// bundle.
pub fn fuzz_escrow(data: &[u8]) {
    let _ = age::stanzas(data);
    let _ = age::check_recipients(data, recipients());
    with_scratch(|s| {
        if let Ok(Some(plain)) = s.identities.try_open(data) {
            let _ = Cert::from_bytes(&plain[..]);
            let _ = escrow::signatures(&plain);
            open_share(&plain);
        }
        let path = s.path("identity-under-test");
        std::fs::write(&path, data).expect("write identity");
        let mut ids = Identities::default();
        let _ = ids.load(&path);
    });
    open_share(data);
    let _ = Bundle::from_bytes(data);
}

fn open_share(data: &[u8]) {
    if let Ok(share) = Share::parse(data) {
        let fpr = share.fingerprint.clone();
        let _ = shares::combine(&fpr, std::slice::from_ref(&share));
        let _ = shares::combine(&fpr, &[share.clone(), share]);
    }
}

/// `audit.log`: `audit verify`, and the append every change makes. A log
/// that verifies must still verify after an append.
pub fn fuzz_audit_log(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let valid = audit::verify(text).is_ok();
    let details = serde_json::json!({ "fuzz": true });
    if let Ok(appended) = audit::append(text, at(), "fuzz", Some("fuzzer"), details) {
        if valid {
            if let Err(e) = audit::verify(&appended) {
                panic!("appending to a valid audit log broke it: {e}");
            }
        }
    }
}

/// A fuzz entry function.
pub type Target = fn(&[u8]);

/// Every target by name, as `fuzz/fuzz_targets/<name>.rs` and the corpus
/// directories `fuzz/corpus/<name>/` call them.
pub const TARGETS: &[(&str, Target)] = &[
    ("cert_import", fuzz_cert_import),
    ("attest_import", fuzz_attest_import),
    ("verify_signature", fuzz_verify_signature),
    ("config", fuzz_config),
    ("roster", fuzz_roster),
    ("schedule", fuzz_schedule),
    ("escrow", fuzz_escrow),
    ("audit_log", fuzz_audit_log),
];
