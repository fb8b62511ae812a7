//! Command-line cases as data: `tests/cmd/<kind>/<case>.toml`, one case a
//! file, with the expected `<case>.stdout` / `<case>.stderr` beside it,
//! run by trycmd (`TRYCMD=overwrite cargo test --test it cmd::` records
//! them). Each case runs in a sandbox: a copy of the committed input
//! directory its `fs.base` names (`tests/cmd/fixtures/…`, made by
//! `regenerate_cli_fixtures` below), so its output is exact; trycmd
//! redacts the sandbox path as `[ROOT]`.
//!
//! Besides the exact output, the harness checks what every case of a kind
//! must do, generically, by running each case again in its own copy of the
//! input:
//! - `bad-input/`: a non-zero exit, no panic, exactly one `error:` line and
//!   one `hint:` line on stderr, and the vault byte-for-byte unchanged;
//! - `verify/`: `verify` reports per file: exit 1, no panic, the failing
//!   file named, the vault unchanged;
//! - `cli/`: the exact output only (help, exit codes).
//!
//! `help/` holds one `--help` case per subcommand at every depth; a test
//! below fails when a subcommand has no case, and every help must carry an
//! example.

use crate::common::*;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn cmd_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cmd")
}

#[test]
fn cli_cases() {
    // trycmd checks a stream only when its file exists: every case has
    // both (empty: prints nothing). `TRYCMD=overwrite` creates a new
    // case's files, to be filled with what it printed.
    let overwrite = std::env::var_os("TRYCMD").is_some_and(|m| m == "overwrite");
    let mut missing = Vec::new();
    for kind in std::fs::read_dir(cmd_dir()).unwrap() {
        let kind = kind.unwrap().path();
        if !kind.is_dir() || kind.ends_with("fixtures") {
            continue;
        }
        for case in std::fs::read_dir(&kind).unwrap() {
            let case = case.unwrap().path();
            if case.extension().is_none_or(|e| e != "toml") {
                continue;
            }
            for stream in ["stdout", "stderr"] {
                let f = case.with_extension(stream);
                if !f.exists() {
                    if overwrite {
                        std::fs::write(&f, "").unwrap();
                    } else {
                        missing.push(f.display().to_string());
                    }
                }
            }
        }
    }
    assert!(
        missing.is_empty(),
        "cases without their recorded output (record with TRYCMD=overwrite):\n{}",
        missing.join("\n")
    );
    trycmd::TestCases::new()
        .register_bin("keycycle", Path::new(BIN))
        .env("TZ", "UTC")
        .env("KEYCYCLE_HOME", trust_home().display().to_string())
        // clap wraps help to $COLUMNS when stdout is not a terminal.
        .env("COLUMNS", "100")
        .case(cmd_dir().join("*/*.toml"));
}

/// A case file, as far as the invariants need it.
struct Case {
    file: PathBuf,
    args: Vec<String>,
    base: Option<PathBuf>,
    /// `fs.cwd`, relative to `base`.
    cwd: Option<PathBuf>,
}

fn cases(kind: &str) -> Vec<Case> {
    let dir = cmd_dir().join(kind);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|file| {
            let v: toml::Value = toml::from_str(&std::fs::read_to_string(&file).unwrap())
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            let args = v["args"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: args must be an array", file.display()))
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect();
            assert_eq!(
                v.get("bin")
                    .and_then(|b| b.get("name"))
                    .and_then(|n| n.as_str()),
                Some("keycycle"),
                "{}",
                file.display()
            );
            assert_eq!(
                v.get("fs")
                    .and_then(|f| f.get("sandbox"))
                    .and_then(|s| s.as_bool()),
                Some(true),
                "{}: every case runs in a sandbox",
                file.display()
            );
            let base = v
                .get("fs")
                .and_then(|f| f.get("base"))
                .and_then(|b| b.as_str())
                .map(|b| file.parent().unwrap().join(b));
            let cwd = v
                .get("fs")
                .and_then(|f| f.get("cwd"))
                .and_then(|c| c.as_str())
                .map(|c| {
                    let base = base.as_ref().expect("fs.cwd within fs.base");
                    let cwd = file.parent().unwrap().join(c);
                    cwd.strip_prefix(base).unwrap().to_path_buf()
                });
            Case {
                file,
                args,
                base,
                cwd,
            }
        })
        .collect()
}

/// Copy a case's input directory (symlinks as symlinks, `.keep` files
/// left out, as trycmd does).
fn copy_input(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dst = to.join(e.file_name());
        let t = e.file_type().unwrap();
        if t.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(e.path()).unwrap(), &dst).unwrap();
        } else if t.is_dir() {
            copy_input(&e.path(), &dst);
        } else if e.file_name() != ".keep" {
            std::fs::copy(e.path(), &dst).unwrap();
        }
    }
}

struct Ran {
    code: Option<i32>,
    stdout: String,
    stderr: String,
    vault_changed: bool,
}

/// Run a case in a fresh copy of its input, with the vault (`vault/` in
/// the sandbox) snapshotted before and after.
fn run_case(c: &Case) -> Ran {
    let dir = tempfile::tempdir().unwrap();
    if let Some(base) = &c.base {
        copy_input(base, dir.path());
    }
    let vault = dir.path().join("vault");
    let before = snapshot(&vault);
    let out = std::process::Command::new(BIN)
        .args(&c.args)
        .current_dir(dir.path().join(c.cwd.as_deref().unwrap_or(Path::new(""))))
        .env("TZ", "UTC")
        .env("COLUMNS", "100")
        .env_remove("KEYCYCLE_VAULT")
        .output()
        .unwrap();
    Ran {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        vault_changed: before != snapshot(&vault),
    }
}

/// Every case of `kind`, run at once (they are independent processes).
fn run_all(kind: &str) -> Vec<(Case, Ran)> {
    let all = cases(kind);
    let ran: Vec<Ran> = std::thread::scope(|s| {
        let handles: Vec<_> = all
            .chunks(all.len().div_ceil(4).max(1))
            .map(|chunk| s.spawn(move || chunk.iter().map(run_case).collect::<Vec<_>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    all.into_iter().zip(ran).collect()
}

#[test]
fn bad_input_cases_fail_cleanly_and_leave_the_vault_unchanged() {
    let ran = run_all("bad-input");
    let mut failures = Vec::new();
    for (c, r) in &ran {
        let name = c.file.file_name().unwrap().to_string_lossy();
        let lines: Vec<&str> = r.stderr.lines().collect();
        let why = if r.code == Some(0) {
            "succeeded"
        } else if r.code == Some(101) || r.stderr.contains("panicked") {
            "panicked"
        } else if !(lines.len() == 2
            && lines[0].starts_with("error: ")
            && lines[1].starts_with("hint: "))
        {
            "want one error line and one hint line"
        } else if r.vault_changed {
            "changed the vault"
        } else {
            continue;
        };
        failures.push(format!("{name} {:?}: {why}:\n{}", c.args, r.stderr));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // With the two cases that cannot be files (bad_input.rs): the corpus
    // of docs/hardening.md.
    assert!(ran.len() >= 100, "only {} bad-input cases", ran.len());
    eprintln!("bad-input cases: {}, 0 panics, 0 vault changes", ran.len());
}

#[test]
fn verify_cases_report_the_file_and_leave_the_vault_unchanged() {
    let ran = run_all("verify");
    assert!(ran.len() >= 6, "{}", ran.len());
    for (c, r) in &ran {
        let all = format!("{}{}", r.stdout, r.stderr);
        assert_eq!(r.code, Some(1), "{:?}: {all}", c.args);
        assert!(!all.contains("panicked"), "{:?}: {all}", c.args);
        let file = c.args.last().unwrap();
        assert!(
            all.contains(file.as_str()),
            "{:?}: names {file}: {all}",
            c.args
        );
        assert!(!r.vault_changed, "{:?} changed the vault", c.args);
    }
}

/// Every subcommand at every depth (`roster add`, `export signing-subkey`,
/// `escrow rewrap`, `party sheet`, `attestations import`, ...), from the
/// binary's own help.
fn subcommands(env: &Env, path: &[String]) -> Vec<Vec<String>> {
    let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
    args.push("--help");
    let help = env.ok(&args);
    let mut out = Vec::new();
    for name in help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| *w != "help")
    {
        let mut p = path.to_vec();
        p.push(name.to_string());
        out.extend(subcommands(env, &p));
        out.push(p);
    }
    out
}

/// Each subcommand has a help case (`help/<a>-<b>.toml`: `keycycle a b
/// --help`), and every help (recorded, and checked against the binary by
/// `cli_cases`) carries an example.
#[test]
fn every_subcommand_at_every_depth_has_a_help_case_with_an_example() {
    let env = Env::new("2026-08-01");
    let all = subcommands(&env, &[]);
    for nested in [
        "roster add",
        "roster list",
        "roster remove",
        "export signing-subkey",
        "escrow rewrap",
        "party sheet",
        "attestations import",
        "audit verify",
    ] {
        assert!(
            all.iter().any(|p| p.join(" ") == nested),
            "{nested} not found among {all:?}"
        );
    }
    assert!(all.len() >= 30, "{all:?}");
    assert!(all.iter().filter(|p| p.len() == 1).count() >= 20, "{all:?}");
    let cases: BTreeMap<Vec<String>, PathBuf> = cases("help")
        .into_iter()
        .map(|c| {
            let words: Vec<String> = c
                .args
                .iter()
                .filter(|a| !a.starts_with('-'))
                .cloned()
                .collect();
            assert_eq!(
                c.args.last().map(String::as_str),
                Some("--help"),
                "{c:?}",
                c = c.file
            );
            (words, c.file.with_extension("stdout"))
        })
        .collect();
    let mut missing = Vec::new();
    for p in &all {
        match cases.get(p) {
            None => missing.push(format!(
                "{}: no case help/{}.toml",
                p.join(" "),
                p.join("-")
            )),
            Some(stdout) => {
                let text = std::fs::read_to_string(stdout).unwrap_or_default();
                if !text.contains("Example: keycycle") {
                    missing.push(format!("{}: --help without an example", p.join(" ")));
                }
            }
        }
    }
    assert!(missing.is_empty(), "{}", missing.join("\n"));
}

// ---------------------------------------------------------------------------
// The committed input directories. Run only by hand, after a change of the
// vault format or to add an input:
//   cargo test --test it regenerate_cli_fixtures -- --ignored
//   TRYCMD=overwrite cargo test --test it cmd::cli_cases
// and review the diff (new keys mean new fingerprints in the outputs).

pub const FIXTURE_TIME: &str = "2026-08-01T12:00:00Z";

#[test]
#[ignore = "writes tests/cmd/fixtures; run by hand"]
fn regenerate_cli_fixtures() {
    fixtures::regenerate(&cmd_dir().join("fixtures"));
}

mod fixtures {
    use super::*;
    use openpgp::cert::prelude::*;
    use openpgp::packet::prelude::*;
    use openpgp::serialize::{Serialize, SerializeInto};
    use openpgp::types::{HashAlgorithm, SignatureType};
    use sequoia_openpgp as openpgp;
    use std::process::Command;

    fn t(s: &str) -> std::time::SystemTime {
        let d = chrono::DateTime::parse_from_rfc3339(s).unwrap();
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(d.timestamp() as u64)
    }

    fn kc(root: &Path, args: &[&str]) -> String {
        let out = keycycle(Path::new("vault"), FIXTURE_TIME, trust_work())
            .args(args)
            .current_dir(root)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    }

    /// The trust store the regeneration's keycycle writes to (never the
    /// user's own), turned into `fixtures/trust/trust.toml` at the end.
    fn trust_work() -> &'static Path {
        static HOME: std::sync::OnceLock<tempfile::TempDir> = std::sync::OnceLock::new();
        HOME.get_or_init(|| tempfile::tempdir().unwrap()).path()
    }

    /// Pin the `key` fixture's policy (the `key-*` vaults are its copies)
    /// in the trust store the cases run with.
    fn write_trust(dir: &Path) {
        let text = std::fs::read_to_string(trust_work().join("trust.toml")).unwrap();
        let store: toml::Value = toml::from_str(&text).unwrap();
        let key_vault = dir.join("key/vault").canonicalize().unwrap();
        let digest = store["vault"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["path"].as_str() == key_vault.to_str())
            .and_then(|v| v["policy"].as_str())
            .expect("the key fixture's policy is pinned")
            .to_string();
        let trust = fresh(dir.join("trust"));
        write(
            &trust,
            "trust.toml",
            format!(
                "# keycycle's local trust store for the command-line cases: the policy\n\
                 # version 1 of the fixture vaults (key, key-*) pinned, as on the machine\n\
                 # of a root who made them. tests/it/common.rs copies it for each test run.\n\n\
                 [[vault]]\npath = \"/fixtures/key/vault\"\npolicy = \"{digest}\"\n"
            )
            .as_bytes(),
        );
    }

    fn age_identity(root: &Path, name: &str) -> String {
        let path = root.join(format!("{name}.agekey"));
        let _ = std::fs::remove_file(&path);
        assert!(Command::new("age-keygen")
            .arg("-o")
            .arg(&path)
            .output()
            .unwrap()
            .status
            .success());
        let r = Command::new("age-keygen")
            .arg("-y")
            .arg(&path)
            .output()
            .unwrap();
        String::from_utf8(r.stdout).unwrap().trim().to_string()
    }

    fn fresh(dir: PathBuf) -> PathBuf {
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn write(dir: &Path, name: &str, bytes: &[u8]) {
        std::fs::write(dir.join(name), bytes).unwrap();
    }

    fn keep(dir: &Path) {
        std::fs::create_dir_all(dir).unwrap();
        write(dir, ".keep", b"");
    }

    fn copy_vault(from: &Path, to: &Path, config: impl Fn(&str) -> String) {
        fresh(to.to_path_buf());
        let st = Command::new("cp")
            .arg("-a")
            .arg(from.join("vault"))
            .arg(to.join("vault"))
            .status()
            .unwrap();
        assert!(st.success());
        let _ = std::fs::remove_file(to.join("vault/.lock"));
        let path = to.join("vault/keycycle.toml");
        let text = std::fs::read_to_string(&path).unwrap();
        let bad = config(&text);
        assert_ne!(bad, text, "{}: the replacement did not apply", to.display());
        std::fs::write(&path, bad).unwrap();
    }

    fn armored(c: &Cert) -> Vec<u8> {
        c.armored().to_vec().unwrap()
    }

    fn root_cert(uid: &str, created: &str) -> CertBuilder<'static> {
        CertBuilder::general_purpose(Some(uid.to_string())).set_creation_time(t(created))
    }

    fn signature(key: &Cert, data: &[u8], hash: HashAlgorithm) -> Vec<u8> {
        let mut signer = key
            .keys()
            .unencrypted_secret()
            .with_policy(
                &openpgp::policy::StandardPolicy::new(),
                t("2026-07-01T00:00:00Z"),
            )
            .for_signing()
            .next()
            .unwrap()
            .key()
            .clone()
            .into_keypair()
            .unwrap();
        let sig = SignatureBuilder::new(SignatureType::Binary)
            .set_signature_creation_time(t("2026-07-01T00:00:00Z"))
            .unwrap()
            .set_hash_algo(hash)
            .sign_message(&mut signer, data)
            .unwrap();
        armored_signature(sig)
    }

    pub fn regenerate(dir: &Path) {
        require("age-keygen");
        std::fs::create_dir_all(dir).unwrap();

        // No vault: inspect's garbage.
        let none = &fresh(dir.join("none"));
        write(none, "junk.asc", b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot base64 at all\n-----END PGP PUBLIC KEY BLOCK-----\n");
        write(none, "empty.asc", b"");
        // A directory that is not a vault; a corrupt config.
        keep(&fresh(dir.join("not-a-vault")).join("vault"));
        let corrupt = fresh(dir.join("corrupt-config"));
        std::fs::create_dir_all(corrupt.join("vault")).unwrap();
        write(
            &corrupt.join("vault"),
            "keycycle.toml",
            b"organisation = \n[[[",
        );
        // init only: nobody to escrow to.
        kc(&fresh(dir.join("init")), &["init"]);

        // init + Ada (age) on the roster; two more age identities not on it.
        let roster = &fresh(dir.join("roster"));
        kc(roster, &["init"]);
        let ada = age_identity(roster, "ada");
        age_identity(roster, "other");
        kc(
            roster,
            &strs(&roster_add_args("Ada", "ada@example.org", &ada, None)),
        );
        copy_vault(roster, &dir.join("roster-overlap-days-string"), |t| {
            t.replace("overlap_days = 60", "overlap_days = \"sixty\"")
        });
        copy_vault(roster, &dir.join("roster-cipher-suite-dsa"), |t| {
            t.replace("cipher_suite = \"ed25519\"", "cipher_suite = \"dsa\"")
        });

        // The bad-input corpus: the same roster, a key for 2027.1, and the
        // inputs.
        let key = &fresh(dir.join("key"));
        copy_input(roster, key);
        let _ = std::fs::remove_file(key.join("other.agekey"));
        age_identity(key, "mallory");
        kc(key, &["generate", "--cycle", "next"]);
        let (good, rev) = root_cert("Root <root@example.org>", "2026-01-01T00:00:00Z")
            .generate()
            .unwrap();
        write(key, "good.asc", &armored(&good));
        write(
            key,
            "good-secret.asc",
            &good.as_tsk().armored().to_vec().unwrap(),
        );
        write(
            key,
            "malformed.asc",
            b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nThis is not base64 at all!!!\n-----END PGP PUBLIC KEY BLOCK-----\n",
        );
        let text = armored(&good);
        write(key, "truncated.asc", &text[..text.len() / 2]);
        write(key, "empty.asc", b"");
        write(key, "garbage.bin", &[0xffu8; 4096]);
        // No self-signature.
        let mut bare = Vec::new();
        Packet::from(good.primary_key().key().clone())
            .serialize(&mut bare)
            .unwrap();
        Packet::from(UserID::from("Bare <bare@example.org>"))
            .serialize(&mut bare)
            .unwrap();
        write(key, "bare.pgp", &bare);
        let (expired, _) = root_cert("Old <old@example.org>", "2025-01-01T00:00:00Z")
            .set_validity_period(std::time::Duration::from_secs(86400 * 30))
            .generate()
            .unwrap();
        write(key, "expired.asc", &armored(&expired));
        let revoked = good.clone().insert_packets(rev).unwrap().0;
        write(key, "revoked.asc", &armored(&revoked));
        let (v6, _) = root_cert("Six <six@example.org>", "2026-01-01T00:00:00Z")
            .set_profile(openpgp::Profile::RFC9580)
            .unwrap()
            .generate()
            .unwrap();
        write(key, "v6.asc", &armored(&v6));
        // An unknown public-key algorithm (99).
        let mut unknown = vec![0xc6, 15, 4, 0x69, 0x55, 0x00, 0x00, 99];
        unknown.extend_from_slice(&[0, 8, 0xff, 0, 8, 0xee, 0, 8, 0xdd]);
        unknown.extend_from_slice(&[0xcd, 4, b'U', b'n', b'k', b'n']);
        write(key, "unknown-algo.pgp", &unknown);
        // Signatures.
        write(key, "release.tar.gz", b"release bytes\n");
        write(
            key,
            "release.tar.gz.asc",
            &signature(&good, b"release bytes\n", HashAlgorithm::SHA1),
        );
        write(key, "md5.tar.gz", b"md5 bytes\n");
        write(
            key,
            "md5.tar.gz.asc",
            &signature(&good, b"md5 bytes\n", HashAlgorithm::MD5),
        );
        write(key, "absurd.tar.gz", b"x");
        write(
            key,
            "absurd.tar.gz.asc",
            &[0xc2, 0xff, 0xff, 0xff, 0xff, 0xff, 4, 0, 1, 8],
        );
        write(key, "emptysig.tar.gz", b"x");
        write(key, "emptysig.tar.gz.asc", b"");
        write(key, "nosig.tar.gz", b"x");
        write(key, "tampered.tar.gz", b"release bytes, changed\n");
        write(
            key,
            "tampered.tar.gz.asc",
            &signature(&good, b"release bytes\n", HashAlgorithm::SHA512),
        );
        keep(&key.join("a-directory"));
        std::os::unix::fs::symlink("/nonexistent/target.asc", key.join("dangling.asc")).unwrap();
        write(key, "my keys.asc", b"not a key");
        // Config type errors and a newer vault, each in a copy.
        for (name, edit) in [
            (
                "overlap-days-string",
                &(|t: &str| t.replace("overlap_days = 60", "overlap_days = \"sixty\""))
                    as &dyn Fn(&str) -> String,
            ),
            ("threshold-negative", &|t: &str| {
                t.replace("threshold = 1", "threshold = -1")
            }),
            ("cipher-suite-rot13", &|t: &str| {
                t.replace("cipher_suite = \"ed25519\"", "cipher_suite = \"rot13\"")
            }),
            ("organisation-array", &|t: &str| {
                t.replace("organisation = ", "organisation = [1, 2]\nx = ")
            }),
            ("unknown-table", &|t: &str| {
                format!("{t}\n[unknown_table]\nx = 1\n")
            }),
            ("unclosed-table", &|t: &str| {
                t.replace("[expiry]", "[expiry")
            }),
            ("newer-format", &|t: &str| {
                t.replace("format = 1", "format = 7")
            }),
        ] {
            copy_vault(key, &dir.join(format!("key-{name}")), edit);
        }
        let _ = std::fs::remove_file(key.join("vault/.lock"));
        let _ = std::fs::remove_file(roster.join("vault/.lock"));
        let _ = std::fs::remove_file(dir.join("init/vault/.lock"));
        write_trust(dir);
    }
}
