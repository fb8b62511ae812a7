//! Test harness: the binary runs in a temporary vault with `--batch` and a
//! fixed `--time`; gpg runs in a throwaway home. Interop tools are required:
//! a missing one fails the test loudly (scripts/test.sh installs them).

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command as Std, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use assert_cmd::Command;
use tempfile::TempDir;

pub const BIN: &str = env!("CARGO_BIN_EXE_keycycle");

/// The local trust store (`KEYCYCLE_HOME`) every keycycle the tests run
/// uses: one per test process, as one operator's machine, never the real
/// `~/.config/keycycle`; it starts with the pins of tests/cmd/fixtures. A test that plays another machine (an attacker's,
/// a root's fresh laptop) passes its own.
pub fn trust_home() -> &'static Path {
    // A child test process (tests/it/card.rs) shares its parent's.
    static INHERITED: std::sync::OnceLock<Option<PathBuf>> = std::sync::OnceLock::new();
    if let Some(p) =
        INHERITED.get_or_init(|| std::env::var_os("KEYCYCLE_TEST_TRUST_HOME").map(PathBuf::from))
    {
        return p;
    }
    static HOME: std::sync::OnceLock<TempDir> = std::sync::OnceLock::new();
    HOME.get_or_init(|| {
        let home = tempfile::tempdir().unwrap();
        // The command-line cases' fixture vaults have their policy pinned.
        let pins =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cmd/fixtures/trust/trust.toml");
        std::fs::copy(pins, home.path().join("trust.toml")).unwrap();
        home
    })
    .path()
}

/// The vault at `path` opened in this process as the tests' keycycle
/// sees it (the tests' trust store).
pub fn open_vault(path: &Path) -> keycycle::vault::Vault {
    keycycle::vault::Vault::open(path)
        .unwrap()
        .with_trust(keycycle::vault::trust::TrustStore::at(trust_home()))
}

/// Whether `identity` decrypts `file` with the real age CLI.
pub fn age_opens(identity: &Path, file: &Path) -> bool {
    require("age");
    Std::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .arg(file)
        .output()
        .unwrap()
        .status
        .success()
}

/// stderr of a failed command, which must be one error line and a hint.
pub fn one_refusal(out: &Output) -> String {
    assert!(!out.status.success(), "should have failed");
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );
    assert!(err.lines().any(|l| l.starts_with("hint:")), "{err}");
    err
}

/// Fail loudly when an interop tool is missing.
pub fn require(tool: &str) {
    let found = Std::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        found,
        "{tool} is not installed: run the test suite with scripts/test.sh, which installs it"
    );
}

/// Require that a finished command succeeded (its stderr in the failure).
#[track_caller]
pub fn assert_ok(out: &Output) {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `keycycle --batch --vault VAULT --time TIME` with the trust store
/// `home`, never the caller's `KEYCYCLE_VAULT`: the command every test
/// runs, [`Env::cmd_at`] in its own folder.
pub fn keycycle(vault: &Path, time: &str, home: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--batch")
        .arg("--vault")
        .arg(vault)
        .arg("--time")
        .arg(time)
        .env_remove("KEYCYCLE_VAULT")
        .env("KEYCYCLE_HOME", home);
    c
}

pub struct Env {
    pub dir: TempDir,
    pub vault: PathBuf,
    pub time: String,
}

impl Env {
    pub fn new(time: &str) -> Env {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("vault");
        Env {
            dir,
            vault,
            time: time.to_string(),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `keycycle --batch --vault V --time T`.
    pub fn cmd(&self) -> Command {
        self.cmd_at(&self.time)
    }

    /// The same at another time.
    pub fn cmd_at(&self, time: &str) -> Command {
        let mut c = keycycle(&self.vault, time, trust_home());
        c.current_dir(self.dir.path());
        c
    }

    /// [`Env::cmd_at`] with `args`, then `--identity I` for each of `ids`.
    pub fn cmd_with_ids<P: AsRef<Path>>(&self, time: &str, args: &[&str], ids: &[P]) -> Command {
        let mut c = self.cmd_at(time);
        c.args(args);
        for id in ids {
            c.arg("--identity").arg(id.as_ref());
        }
        c
    }

    /// Run [`Env::cmd_with_ids`], whatever the outcome.
    pub fn run_with_ids<P: AsRef<Path>>(&self, time: &str, args: &[&str], ids: &[P]) -> Output {
        self.cmd_with_ids(time, args, ids).output().unwrap()
    }

    /// `sh -c LINE` in the env's folder, with `$KEYCYCLE` the binary and
    /// the tests' trust store: a documented command line run as written.
    pub fn sh(&self, line: &str) -> Output {
        Std::new("sh")
            .arg("-c")
            .arg(line)
            .env("KEYCYCLE", BIN)
            .env("KEYCYCLE_HOME", trust_home())
            .env_remove("KEYCYCLE_VAULT")
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    /// Run and require success; returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        self.ok_at(&self.time, args)
    }

    /// Run at `time` and require success; returns stdout.
    pub fn ok_at(&self, time: &str, args: &[&str]) -> String {
        let out = self.run_at(time, args);
        assert!(
            out.status.success(),
            "keycycle {args:?} at {time} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// Run, whatever the outcome; returns the output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_at(&self.time, args)
    }

    /// Run at `time`, whatever the outcome; returns the output.
    pub fn run_at(&self, time: &str, args: &[&str]) -> Output {
        self.cmd_at(time).args(args).output().unwrap()
    }

    /// Run and require failure; returns the output.
    pub fn fails(&self, args: &[&str]) -> Output {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            !out.status.success(),
            "keycycle {args:?} should have failed"
        );
        out
    }

    /// Replace `from` by `to` in the vault's keycycle.toml.
    pub fn edit_config(&self, from: &str, to: &str) {
        let cfg = self.vault.join("keycycle.toml");
        let text = std::fs::read_to_string(&cfg).unwrap().replace(from, to);
        std::fs::write(&cfg, text).unwrap();
    }

    /// init with `[escrow] threshold = 2` and three roots, Ann, Ben and
    /// Cat (age identities): their identity files and recipients.
    pub fn two_of_three_roots(&self) -> (Vec<PathBuf>, Vec<String>) {
        self.ok(&["init"]);
        self.edit_config("threshold = 1", "threshold = 2");
        let (mut ids, mut rs) = (Vec::new(), Vec::new());
        for name in ["Ann", "Ben", "Cat"] {
            let (id, r) = self.age_identity(name);
            self.roster_add(name, &format!("{}@example.org", name.to_lowercase()), &r);
            ids.push(id);
            rs.push(r);
        }
        (ids, rs)
    }

    /// A new age identity: (identity file, recipient).
    pub fn age_identity(&self, name: &str) -> (PathBuf, String) {
        require("age-keygen");
        let path = self.path(&format!("{name}.agekey"));
        let out = Std::new("age-keygen")
            .arg("-o")
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success());
        let r = Std::new("age-keygen")
            .arg("-y")
            .arg(&path)
            .output()
            .unwrap();
        (
            path,
            String::from_utf8(r.stdout).unwrap().trim().to_string(),
        )
    }

    /// A new unencrypted SSH key: (private key, public key file).
    pub fn ssh_key(&self, name: &str, kind: &str) -> (PathBuf, PathBuf) {
        require("ssh-keygen");
        let path = self.path(name);
        let mut c = Std::new("ssh-keygen");
        c.args(["-q", "-t", kind, "-N", "", "-C", name, "-f"])
            .arg(&path);
        if kind == "rsa" {
            c.args(["-b", "2048"]);
        }
        assert!(c.status().unwrap().success());
        (path.clone(), path.with_extension("pub"))
    }

    /// init + a roster of one root, Ada, with a new age identity:
    /// (identity file, recipient).
    pub fn vault_with_ada(&self) -> (PathBuf, String) {
        self.ok(&["init"]);
        let (age_id, age_r) = self.age_identity("ada");
        self.roster_add("Ada", "ada@example.org", &age_r);
        (age_id, age_r)
    }

    /// `roster add --name NAME --email EMAIL --escrow-recipient R`.
    pub fn roster_add(&self, name: &str, email: &str, recipient: &str) -> String {
        self.ok(&strs(&roster_add_args(name, email, recipient, None)))
    }

    /// The same for a root with an OpenPGP certificate (`--cert CERT`).
    pub fn roster_add_root(&self, name: &str, email: &str, cert: &Path, recipient: &str) -> String {
        self.ok(&strs(&roster_add_args(name, email, recipient, Some(cert))))
    }

    /// `--json generate --cycle CYCLE`: the report.
    pub fn generate(&self, cycle: &str) -> serde_json::Value {
        serde_json::from_str(&self.ok(&["--json", "generate", "--cycle", cycle])).unwrap()
    }

    /// init + a roster of one age root and one SSH root.
    pub fn vault_with_roster(&self) -> Roster {
        let (age_id, age_r) = self.vault_with_ada();
        let (ssh_id, ssh_pub) = self.ssh_key("bob_ssh", "ed25519");
        let at = format!("@{}", ssh_pub.display());
        self.roster_add("Bob", "bob@example.org", &at);
        Roster {
            age_id,
            age_r,
            ssh_id,
        }
    }

    /// init + a roster whose roots can sign policy changes: Ada (age
    /// identity and an OpenPGP key in a gpg home) and Bob (SSH, and his own
    /// OpenPGP key).
    pub fn vault_with_signing_roster(&self) -> (Roster, GpgRoot, GpgRoot) {
        self.ok(&["init"]);
        self.signing_roster()
    }

    /// The roster of `vault_with_signing_roster` added to an initialised
    /// vault.
    pub fn signing_roster(&self) -> (Roster, GpgRoot, GpgRoot) {
        let ada = gpg_root(self, "Ada");
        let bob = gpg_root(self, "Bob");
        let (age_id, age_r) = self.age_identity("ada");
        self.roster_add_root("Ada", "ada@example.org", &ada.public, &age_r);
        let (ssh_id, ssh_pub) = self.ssh_key("bob_ssh", "ed25519");
        self.roster_add_root(
            "Bob",
            "bob@example.org",
            &bob.public,
            &format!("@{}", ssh_pub.display()),
        );
        (
            Roster {
                age_id,
                age_r,
                ssh_id,
            },
            ada,
            bob,
        )
    }

    /// `policy propose`: the version number it wrote.
    pub fn propose(&self, at: &str) -> u32 {
        let out = self
            .cmd_at(at)
            .args(["--json", "policy", "propose"])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "policy propose failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        v["version"].as_u64().unwrap() as u32
    }

    /// `cert.asc` of `cycle`'s key directory (`keys/CYCLE-…/`).
    pub fn cert_of(&self, cycle: &str) -> PathBuf {
        std::fs::read_dir(self.vault.join("keys"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().contains(&format!("{cycle}-")))
            .unwrap()
            .join("cert.asc")
    }

    /// The single key directory in the vault.
    pub fn key_dir(&self) -> PathBuf {
        let mut dirs: Vec<_> = std::fs::read_dir(self.vault.join("keys"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        assert_eq!(dirs.len(), 1, "{dirs:?}");
        dirs.remove(0)
    }
}

/// A soft revocation of 2027.1 (superseded; add `--identity`).
pub const REVOKE_SUPERSEDED: [&str; 7] = [
    "revoke",
    "2027.1",
    "--yes",
    "--reason",
    "superseded",
    "--message",
    "replaced",
];

/// One root's hard revocation of 2027.1 with the escrowed certificate
/// (add `--identity`).
pub const REVOKE_ESCROWED: [&str; 8] = escrowed_revoke("compromised", "lost");

/// A revocation of 2027.1 for `reason` with the escrowed certificate
/// (add `--identity`).
pub const fn escrowed_revoke(reason: &'static str, message: &'static str) -> [&'static str; 8] {
    [
        "revoke",
        "2027.1",
        "--yes",
        "--escrowed-certificate",
        "--reason",
        reason,
        "--message",
        message,
    ]
}

/// `revoke KEY --reason REASON --message MESSAGE --identity ID --yes`.
pub fn revoke_args<'a>(
    key: &'a str,
    reason: &'a str,
    message: &'a str,
    id: &'a str,
) -> Vec<&'a str> {
    let mut args = reasoned_args("revoke", key, reason, message, id).to_vec();
    args.push("--yes");
    args
}

/// 2027.1's signing subkey exported to `sub.asc` (replacing it; add
/// `--identity`).
pub const EXPORT_SUBKEY: [&str; 6] = [
    "export",
    "signing-subkey",
    "2027.1",
    "--overwrite",
    "-o",
    "sub.asc",
];

/// `rotate-subkey KEY --reason REASON --message MESSAGE --identity ID`.
pub fn rotate_subkey_args<'a>(
    key: &'a str,
    reason: &'a str,
    message: &'a str,
    id: &'a str,
) -> [&'a str; 8] {
    reasoned_args("rotate-subkey", key, reason, message, id)
}

/// `COMMAND KEY --reason REASON --message MESSAGE --identity ID`.
pub fn reasoned_args<'a>(
    command: &'a str,
    key: &'a str,
    reason: &'a str,
    message: &'a str,
    id: &'a str,
) -> [&'a str; 8] {
    [
        command,
        key,
        "--reason",
        reason,
        "--message",
        message,
        "--identity",
        id,
    ]
}

/// `ceremony --cycle next` answered in full but for publishing: the
/// escrow identity `id`, the signing subkey written to `sub`.
pub fn ceremony_no_publish_args<'a>(id: &'a str, sub: &'a str) -> Vec<&'a str> {
    let answers = ["--confirm-roster", "--fingerprint-read", "--no-publish"];
    let mut args = vec!["ceremony", "--cycle", "next"];
    args.extend(answers);
    args.extend(["--releases-done", "--identity", id, "--subkey-out", sub]);
    args
}

/// `cross-sign --from 2026.2 --to 2027.1 --identity ID`.
pub fn cross_sign_args(id: &str) -> [&str; 7] {
    [
        "cross-sign",
        "--from",
        "2026.2",
        "--to",
        "2027.1",
        "--identity",
        id,
    ]
}

/// The arguments of `roster add --name NAME --email EMAIL [--cert CERT]
/// --escrow-recipient R`.
pub fn roster_add_args(
    name: &str,
    email: &str,
    recipient: &str,
    cert: Option<&Path>,
) -> Vec<String> {
    let mut a: Vec<String> = ["roster", "add", "--name", name, "--email", email]
        .iter()
        .map(|s| s.to_string())
        .collect();
    if let Some(c) = cert {
        a.extend(["--cert".to_string(), c.display().to_string()]);
    }
    a.extend(["--escrow-recipient".to_string(), recipient.to_string()]);
    a
}

/// `&[String]` as `Vec<&str>`, for the `&[&str]` helpers.
pub fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

pub struct Roster {
    pub age_id: PathBuf,
    pub age_r: String,
    pub ssh_id: PathBuf,
}

/// The shared fixture "a vault with a generated key": the two-root roster
/// of [`Env::vault_with_roster`] (Ada: age, Bob: SSH) and the key for the
/// `next` cycle generated at the Env's time.
pub struct Keyed {
    pub env: Env,
    pub roster: Roster,
    /// `generate --json`'s report.
    pub json: serde_json::Value,
    pub fpr: String,
    pub sub_fpr: String,
}

impl Keyed {
    /// `export signing-subkey 2027.1` at `at` with the roster's identity,
    /// written to `name` in the test directory.
    pub fn export_subkey(&self, at: &str, name: &str) -> PathBuf {
        let out = self.env.path(name);
        self.env
            .cmd_at(at)
            .args([
                "export",
                "signing-subkey",
                "2027.1",
                "--identity",
                &self.id(),
                "-o",
            ])
            .arg(&out)
            .assert()
            .success();
        out
    }

    /// The key for `next` generated in `env`'s vault with `roster`.
    pub fn generated(env: Env, roster: Roster) -> Keyed {
        let json = env.generate("next");
        Keyed {
            fpr: json["fingerprint"].as_str().unwrap().to_string(),
            sub_fpr: json["signing_subkey"].as_str().unwrap().to_string(),
            json,
            env,
            roster,
        }
    }

    /// Ada's age identity, as an argument.
    pub fn id(&self) -> String {
        self.roster.age_id.display().to_string()
    }

    /// `escrow rewrap --identity ADA` at `at`, which must succeed.
    pub fn rewrap(&self, at: &str) {
        self.env
            .cmd_at(at)
            .args(["escrow", "rewrap", "--identity", &self.id()])
            .assert()
            .success();
    }

    /// `extend 2027.1 --until UNTIL --identity ADA` at `at`.
    pub fn extend(&self, at: &str, until: &str) -> Output {
        let id = self.id();
        let args = ["extend", "2027.1", "--until", until, "--identity", &id];
        self.env.run_at(at, &args)
    }
}

/// [`vault_with_key`] with roots who can sign policy changes (Ada and Bob
/// have OpenPGP keys; the policy threshold is 1).
pub fn vault_with_signed_key(time: &str) -> (Keyed, GpgRoot, GpgRoot) {
    let env = Env::new(time);
    let (roster, ada, bob) = env.vault_with_signing_roster();
    (Keyed::generated(env, roster), ada, bob)
}

/// A file signed at 2026-10-02 with the subkey exported the day before,
/// and the cert.asc of that day (what git history keeps).
pub fn signed_release(k: &Keyed) -> (PathBuf, Vec<u8>) {
    let env = &k.env;
    let sub = k.export_subkey("2026-10-01", "sub.asc");
    let file = env.path("release.tar.gz");
    std::fs::write(&file, b"release").unwrap();
    env.cmd_at("2026-10-02")
        .args(["sign", "--key"])
        .arg(&sub)
        .arg(&file)
        .assert()
        .success();
    let old = std::fs::read(env.key_dir().join("cert.asc")).unwrap();
    (file, old)
}

/// A fresh vault with a roster and a key for `next`, generated at `time`.
pub fn vault_with_key(time: &str) -> Keyed {
    let env = Env::new(time);
    let roster = env.vault_with_roster();
    Keyed::generated(env, roster)
}

/// A loopback port that refuses connections: bound but never listening,
/// and held for the life of the test process (binding a listener and
/// dropping it would free the port for the next server to take — in a
/// test binary whose tests share the process, another test's server).
pub fn closed_port() -> u16 {
    // SAFETY: plain socket calls on a fresh descriptor with correctly
    // sized arguments; the descriptor is deliberately leaked.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM, 0);
        assert!(fd >= 0, "socket");
        let mut addr: libc::sockaddr_in = std::mem::zeroed();
        addr.sin_family = libc::AF_INET as libc::sa_family_t;
        addr.sin_addr.s_addr = u32::from(std::net::Ipv4Addr::LOCALHOST).to_be();
        addr.sin_port = 0;
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let rc = libc::bind(fd, &addr as *const _ as *const libc::sockaddr, len);
        assert_eq!(rc, 0, "bind");
        let mut got: libc::sockaddr_in = std::mem::zeroed();
        let mut glen = len;
        let rc = libc::getsockname(fd, &mut got as *mut _ as *mut libc::sockaddr, &mut glen);
        assert_eq!(rc, 0, "getsockname");
        u16::from_be(got.sin_port)
    }
}

// ---------------------------------------------------------------------------
// The outside verifiers (gpg, gpgv, sq, sqv) run at the instant keycycle runs
// at: every call goes through one of the functions below, which set it —
// gpg's `--faked-system-time`, sqv's `--not-after`, and libfaketime for the
// tools without such an option (gpgv, and sq 0.27, Debian's). A test that
// spawns a peer any other way fails tests/it/structure.rs. The whole suite
// also runs with the clock two years ahead (scripts/test.sh), so a peer left
// at the real clock shows up there.
// ---------------------------------------------------------------------------

/// `at` (any form `--time` takes) as Unix seconds.
pub fn epoch(at: &str) -> i64 {
    keycycle::base::clock::parse_time(at)
        .unwrap_or_else(|e| panic!("bad test time {at:?}: {e}"))
        .timestamp()
}

/// `at` as a `SystemTime`, for sequoia's builders.
pub fn system_time(at: &str) -> std::time::SystemTime {
    std::time::UNIX_EPOCH + std::time::Duration::from_secs(epoch(at) as u64)
}

/// A release key made outside keycycle: "Release Key
/// <release@example.org>" with a signing subkey, created 2026-01-01, its
/// secrets included.
pub fn release_key() -> sequoia_openpgp::Cert {
    let (cert, _) = sequoia_openpgp::cert::CertBuilder::new()
        .add_userid("Release Key <release@example.org>")
        .add_signing_subkey()
        .set_creation_time(system_time("2026-01-01T00:00:00Z"))
        .generate()
        .unwrap();
    cert
}

/// `sig` as an ASCII-armored detached signature (`.asc`).
pub fn armored_signature(sig: sequoia_openpgp::packet::Signature) -> Vec<u8> {
    use sequoia_openpgp::serialize::Serialize;
    let mut out = Vec::new();
    let mut w =
        sequoia_openpgp::armor::Writer::new(&mut out, sequoia_openpgp::armor::Kind::Signature)
            .unwrap();
    sequoia_openpgp::Packet::from(sig)
        .serialize(&mut w)
        .unwrap();
    w.finalize().unwrap();
    out
}

/// The primary key pair of `secret` (a certificate with its primary's
/// secret, unencrypted): the library's signer for a root's own key.
pub fn primary_keypair(secret: &sequoia_openpgp::Cert) -> sequoia_openpgp::crypto::KeyPair {
    keycycle::custody::own_key::signer(secret, Path::new("test key"), None).unwrap()
}

/// `secret` (a certificate with its primary's secret) with a hard
/// (compromised) revocation made at `at`, as a public certificate.
pub fn hard_revoked(secret: &sequoia_openpgp::Cert, at: &str) -> sequoia_openpgp::Cert {
    use sequoia_openpgp::types::ReasonForRevocation;
    revoked(secret, at, ReasonForRevocation::KeyCompromised, b"stolen")
}

/// `secret` revoked at `at` for `reason` (saying `message`), as a public
/// certificate.
pub fn revoked(
    secret: &sequoia_openpgp::Cert,
    at: &str,
    reason: sequoia_openpgp::types::ReasonForRevocation,
    message: &[u8],
) -> sequoia_openpgp::Cert {
    let rev = sequoia_openpgp::cert::CertRevocationBuilder::new()
        .set_reason_for_revocation(reason, message)
        .unwrap()
        .set_signature_creation_time(system_time(at))
        .unwrap()
        .build(&mut primary_keypair(secret), secret, None)
        .unwrap();
    secret
        .clone()
        .strip_secret_key_material()
        .insert_packets(rev)
        .unwrap()
        .0
}

/// The signing key of `cert` valid at `at`, ready to sign.
pub fn signing_keypair(cert: &sequoia_openpgp::Cert, at: &str) -> sequoia_openpgp::crypto::KeyPair {
    let policy = sequoia_openpgp::policy::StandardPolicy::new();
    cert.keys()
        .with_policy(&policy, system_time(at))
        .for_signing()
        .secret()
        .next()
        .unwrap()
        .key()
        .clone()
        .into_keypair()
        .unwrap()
}

/// `at` as `YYYY-MM-DDTHH:MM:SSZ`.
pub fn instant(at: &str) -> String {
    keycycle::base::clock::parse_time(at)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// `tool` under libfaketime, its clock started at `at` (it then runs on).
fn faked(tool: &str, at: &str) -> Std {
    require("faketime");
    require(tool);
    let start = keycycle::base::clock::parse_time(at)
        .unwrap()
        .format("@%Y-%m-%d %H:%M:%S")
        .to_string();
    let mut c = Std::new("faketime");
    c.env("TZ", "UTC").args(["-f", &start, tool]);
    c
}

/// `sq` at `at` (Debian's sq 0.27 has no `--time`).
pub fn sq_at(at: &str) -> Std {
    faked("sq", at)
}

/// `sqv --not-after AT`: signatures made after `at` do not count, and
/// `at` is the instant sqv checks the signer's key at.
pub fn sqv_at(at: &str) -> Std {
    require("sqv");
    let mut c = Std::new("sqv");
    c.args(["--not-after", &instant(at)]);
    c
}

/// `sqv --keyring KEYRING SIG DATA` at `at`.
pub fn sqv(at: &str, keyring: &Path, sig: &Path, data: &Path) -> Output {
    sqv_at(at)
        .arg("--keyring")
        .arg(keyring)
        .arg(sig)
        .arg(data)
        .output()
        .unwrap()
}

/// Whether sqv at `at` calls `file`'s detached `file.asc` good with
/// `keyring`.
pub fn sqv_accepts(at: &str, keyring: &Path, file: &Path) -> bool {
    let sig = PathBuf::from(format!("{}.asc", file.display()));
    sqv(at, keyring, &sig, file).status.success()
}

/// `gpgv` at `at` (gpgv has no `--faked-system-time`).
pub fn gpgv_at(at: &str) -> Std {
    faked("gpgv", at)
}

/// A bare `gpg` at `at` in `home`, for the few calls that drive gpg's
/// prompts themselves (`Gpg::run` is the usual way).
pub fn gpg_command(home: &Path, at: &str) -> Std {
    require("gpg");
    let mut c = Std::new("gpg");
    c.env("GNUPGHOME", home)
        .env("TZ", "UTC")
        .args(["--faked-system-time", &format!("{}!", epoch(at))]);
    c
}

/// A throwaway GnuPG home whose gpg runs at a fixed instant (the test's
/// `--time`); a `--faked-system-time` among a call's arguments overrides it
/// for that call.
pub struct Gpg {
    pub home: TempDir,
    pub time: String,
}

impl Gpg {
    pub fn at(time: &str) -> Gpg {
        require("gpg");
        let home = tempfile::tempdir().unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(home.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
        Gpg {
            home,
            time: time.to_string(),
        }
    }

    pub fn run(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        use std::io::Write;
        let mut c = gpg_command(self.home.path(), &self.time);
        c.args([
            "--batch",
            "--no-tty",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ])
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
        let mut child = c.spawn().unwrap();
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input).unwrap();
        } else {
            drop(child.stdin.take());
        }
        child.wait_with_output().unwrap()
    }

    /// A fresh home holding `fpr` as the test keyserver serves it, with
    /// every certification (`no-self-sigs-only`).
    pub fn from_keyserver(fpr: &str, at: &str) -> Gpg {
        let gpg = Gpg::at(at);
        gpg.ok(
            &[
                "--keyserver",
                &keyserver(),
                "--keyserver-options",
                "no-self-sigs-only",
                "--recv-keys",
                fpr,
            ],
            None,
        );
        gpg
    }

    pub fn ok(&self, args: &[&str], stdin: Option<&[u8]>) -> String {
        let out = self.run(args, stdin);
        assert!(
            out.status.success(),
            "gpg {args:?} failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

/// age -d -i IDENTITY FILE, with the real age CLI.
pub fn age_decrypt(identity: &Path, file: &Path) -> Vec<u8> {
    require("age");
    let out = Std::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identity)
        .arg(file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "age -d failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// Every file under `dir` with its bytes and mode (but the vault's lock
/// file, which a locking command creates and leaves: it is not state).
pub fn snapshot(dir: &Path) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut map = BTreeMap::new();
    if !dir.exists() {
        return map;
    }
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.file_name().is_some_and(|n| n == ".lock") {
                continue;
            }
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            if p.is_dir() {
                map.insert(p.clone(), (Vec::new(), mode));
                stack.push(p);
            } else {
                map.insert(p.clone(), (std::fs::read(&p).unwrap(), mode));
            }
        }
    }
    map
}

/// Copy the tree `from` to `to`, directory modes kept, but the vault's
/// lock file (not state: a locking command creates it).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (p, dest) = (e.path(), to.join(e.file_name()));
        if e.file_type().unwrap().is_dir() {
            copy_dir(&p, &dest);
        } else if e.file_name() != ".lock" {
            std::fs::copy(&p, &dest).unwrap();
        }
    }
    std::fs::set_permissions(to, std::fs::metadata(from).unwrap().permissions()).unwrap();
}

/// Every file under `dir` (none when it does not exist), sorted.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, &mut out);
    out.sort();
    out
}

/// gpg at `at` lists the certificate file `cert` as revoked.
#[track_caller]
pub fn assert_gpg_revoked(at: &str, cert: &Path) {
    let listing = Gpg::at(at).ok(
        &["--show-keys", "--with-colons", cert.to_str().unwrap()],
        None,
    );
    assert!(
        listing.lines().any(|l| l.starts_with("pub:r:")),
        "{listing}"
    );
}

/// A fixture key from tests/fixtures/keys.
pub fn fixture(fpr: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/keys")
        .join(format!("0x{}.txt", fpr.to_lowercase()))
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Std::new("gpgconf")
            .arg("--homedir")
            .arg(self.home.path())
            .args(["--kill", "all"])
            .output();
    }
}

/// The loopback HKP keyserver started by scripts/test.sh.
pub fn keyserver() -> String {
    std::env::var("KEYCYCLE_TEST_KEYSERVER").expect(
        "KEYCYCLE_TEST_KEYSERVER is not set: run the suite with scripts/test.sh, which starts sks",
    )
}

/// A root with a real GnuPG home holding their own key (made with sequoia
/// for speed; gpg makes all their certifications).
pub struct GpgRoot {
    pub gpg: Gpg,
    pub name: String,
    pub fpr: String,
    pub public: PathBuf,
    /// Their secret key as a file (for `--with-key`).
    pub secret: PathBuf,
}

pub fn gpg_root(env: &Env, name: &str) -> GpgRoot {
    use openpgp::serialize::Serialize;
    use sequoia_openpgp as openpgp;
    let email = format!("{}@example.org", name.to_lowercase());
    let (cert, _) = openpgp::cert::CertBuilder::general_purpose(Some(format!("{name} <{email}>")))
        .set_creation_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600)) // 2026-01-01
        .generate()
        .unwrap();
    let mut tsk = Vec::new();
    cert.as_tsk().armored().serialize(&mut tsk).unwrap();
    let gpg = Gpg::at(&env.time);
    gpg.ok(&["--import"], Some(&tsk));
    let public = env.path(&format!("{name}.pub.asc"));
    let mut f = std::fs::File::create(&public).unwrap();
    cert.armored().serialize(&mut f).unwrap();
    let secret = env.path(&format!("{name}.secret.asc"));
    std::fs::write(&secret, &tsk).unwrap();
    GpgRoot {
        gpg,
        name: name.to_string(),
        fpr: cert.fingerprint().to_hex(),
        public,
        secret,
    }
}

impl GpgRoot {
    /// Sign the vault's policy version `n` with gpg alone, as a root who
    /// does not use keycycle for it: `gpg --armor --detach-sign`.
    pub fn sign_policy_with_gpg(&self, env: &Env, n: u32) {
        let file = env.vault.join(format!("policy/v{n}.toml"));
        let dir = env.vault.join(format!("policy/v{n}.sig"));
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join(format!("{}.asc", self.fpr));
        self.gpg.ok(
            &[
                "--faked-system-time",
                "20260815T000000!",
                "--yes",
                "--armor",
                "--detach-sign",
                "--local-user",
                &self.fpr,
                "--output",
                out.to_str().unwrap(),
                file.to_str().unwrap(),
            ],
            None,
        );
    }

    /// `keycycle policy sign --with-key` with this root's secret key.
    pub fn sign_policy(&self, env: &Env, at: &str) {
        env.cmd_at(at)
            .args(["policy", "sign", "--with-key"])
            .arg(&self.secret)
            .assert()
            .success();
    }

    /// `gpg --quick-sign-key` the cert in `file`; returns the export.
    pub fn certify(&self, env: &Env, file: &Path, fpr: &str) -> PathBuf {
        self.gpg.ok(&["--import", file.to_str().unwrap()], None);
        self.gpg.ok(
            &[
                "--faked-system-time",
                "20260901T000000!",
                "--quick-sign-key",
                fpr,
            ],
            None,
        );
        let out = env.path(&format!("{}-signed-{}.asc", self.name, &fpr[32..]));
        std::fs::write(&out, self.gpg.ok(&["--armor", "--export", fpr], None)).unwrap();
        out
    }
}

impl Env {
    /// `keycycle --vault V --time T ARGS` in a pseudo-terminal (no
    /// `--batch`: it asks), with a 30 s timeout on each expectation.
    pub fn pty(&self, args: &[&str]) -> expectrl::session::OsSession {
        let mut cmd = std::process::Command::new(BIN);
        cmd.env("TERM", "xterm-256color")
            .env("KEYCYCLE_HOME", trust_home())
            .env_remove("KEYCYCLE_VAULT")
            .current_dir(self.dir.path())
            .arg("--vault")
            .arg(&self.vault)
            .args(["--time", &self.time])
            .args(args);
        let mut p = expectrl::Session::spawn(cmd).expect("spawn in a pty");
        p.set_expect_timeout(Some(std::time::Duration::from_secs(30)));
        p
    }
}

/// Let a prompt in a pseudo-terminal settle before typing at it.
pub fn settle() {
    std::thread::sleep(std::time::Duration::from_millis(300));
}

/// How a fake keyserver (`fake_server`) misbehaves.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    /// A port nobody listens on (bound, then released).
    Closed,
    /// Accept, read the request, then close with SO_LINGER 0 (a TCP RST).
    Reset,
    /// `HTTP 500` to every request.
    Http500,
    /// `HTTP 200` with sks's "Add failed" body to the upload.
    AddFailed,
    /// The upload is accepted; the fetch-back answers 200 with HTML.
    NotOpenPgp,
    /// The response, status line included, a byte per second.
    Trickle,
    /// Headers at once, then a long body a byte per second.
    TrickleBody,
    /// Accept, read the request, never answer.
    Silent,
    /// Every answer (upload accepted, fetch-back "not found") comes just
    /// inside the per-request timeout: only the whole-exchange budget
    /// stops the second.
    Slow(Duration),
}

impl Fault {
    /// Every fault but [`Fault::Slow`] (which takes its delay).
    pub const FIXED: [Fault; 8] = [
        Fault::Closed,
        Fault::Reset,
        Fault::Http500,
        Fault::AddFailed,
        Fault::NotOpenPgp,
        Fault::Trickle,
        Fault::TrickleBody,
        Fault::Silent,
    ];
}

/// A misbehaving HKP server on loopback; returns its URL and the log of
/// the requests it saw ("POST /pks/add", "GET /pks/lookup…").
pub fn fake_server(fault: Fault) -> (String, Arc<Mutex<Vec<String>>>) {
    let log = Arc::new(Mutex::new(Vec::new()));
    if fault == Fault::Closed {
        return (format!("hkp://127.0.0.1:{}", closed_port()), log);
    }
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let seen = log.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(s) = s else { continue };
            let seen = seen.clone();
            std::thread::spawn(move || serve(s, fault, &seen));
        }
    });
    (format!("hkp://127.0.0.1:{port}"), log)
}

/// Read one request (head and Content-Length body); "METHOD PATH".
fn read_request(s: &mut TcpStream) -> Option<String> {
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = head.lines().next().unwrap_or("");
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("?");
    let path = parts.next().unwrap_or("?");
    let path = path.split('?').next().unwrap_or(path);
    Some(format!("{method} {path}"))
}

fn respond(s: &mut TcpStream, status: &str, ctype: &str, body: &str) {
    let _ = write!(
        s,
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = s.flush();
}

fn trickle(s: &mut TcpStream, bytes: &[u8]) {
    for b in bytes {
        if s.write_all(&[*b]).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_secs(1));
    }
}

fn serve(mut s: TcpStream, fault: Fault, seen: &Mutex<Vec<String>>) {
    let Some(req) = read_request(&mut s) else {
        return;
    };
    let post = req.starts_with("POST");
    seen.lock().unwrap().push(req);
    let ok_add = "Key block added to key server database.\n  New public keys added: 1\n";
    match fault {
        Fault::Closed => unreachable!(),
        Fault::Reset => {
            use std::os::fd::AsRawFd;
            let linger = libc::linger {
                l_onoff: 1,
                l_linger: 0,
            };
            // SAFETY: a valid socket and a correctly sized option value.
            let rc = unsafe {
                libc::setsockopt(
                    s.as_raw_fd(),
                    libc::SOL_SOCKET,
                    libc::SO_LINGER,
                    &linger as *const libc::linger as *const libc::c_void,
                    std::mem::size_of::<libc::linger>() as libc::socklen_t,
                )
            };
            assert_eq!(rc, 0, "SO_LINGER");
            drop(s);
        }
        Fault::Http500 => respond(
            &mut s,
            "500 Internal Server Error",
            "text/plain",
            "Internal Server Error\n",
        ),
        Fault::AddFailed => respond(
            &mut s,
            "200 OK",
            "text/html",
            "<html><head><title>Error handling request</title></head>\
             <body><h1>Error handling request</h1>Add failed: Malformed Key</body></html>\n",
        ),
        Fault::NotOpenPgp => {
            if post {
                respond(&mut s, "200 OK", "text/plain", ok_add);
            } else {
                respond(
                    &mut s,
                    "200 OK",
                    "text/html",
                    "<html><body><h1>Welcome to nginx!</h1>\
                     <p>If you see this page, the web server works.</p></body></html>\n",
                );
            }
        }
        Fault::Trickle => {
            let r = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\n\r\n{ok_add}",
                ok_add.len()
            );
            trickle(&mut s, r.as_bytes());
        }
        Fault::TrickleBody => {
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100000\r\n\r\n"
            );
            trickle(&mut s, &[b'.'; 100_000]);
        }
        Fault::Silent => std::thread::sleep(Duration::from_secs(600)),
        Fault::Slow(d) => {
            std::thread::sleep(d);
            if post {
                respond(&mut s, "200 OK", "text/plain", ok_add);
            } else {
                respond(&mut s, "404 Not Found", "text/plain", "No keys found\n");
            }
        }
    }
}
