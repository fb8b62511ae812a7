//! Crash injection: every vault write step of generate, cross-sign,
//! attestations import, extend, rotate-subkey, revoke and escrow rewrap is
//! killed in turn (SIGKILL through the debug-build failpoint
//! `KEYCYCLE_CRASH_AT=N`). After each kill the vault must hold, key
//! directory by key directory, the old state or the whole new one (no torn
//! file, no half-changed directory), `status` and `audit verify` must work,
//! and running the command again must complete and leave no temporaries.
//! Also: the vault lock, held by another process, refuses a second writer
//! clearly; concurrent writers never interleave.
use crate::common::*;

use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Command;

const T0: &str = "2026-09-01T00:00:00Z";
const T1: &str = "2026-09-02T00:00:00Z";

/// Files of a vault, relative, with their bytes (the lock file and
/// temporaries left out: neither is state).
fn files(root: &Path) -> BTreeMap<String, Vec<u8>> {
    snapshot(root)
        .into_iter()
        .filter(|(p, _)| !p.is_dir())
        .map(|(p, (bytes, _))| (p.strip_prefix(root).unwrap().display().to_string(), bytes))
        .filter(|(p, _)| !p.split('/').any(|c| c.starts_with(".tmp-")))
        .collect()
}

/// The key directories' files grouped by directory name.
fn key_dirs(root: &Path) -> BTreeMap<String, BTreeMap<String, Vec<u8>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for (p, b) in files(root) {
        if let Some(rest) = p.strip_prefix("keys/") {
            let (dir, file) = rest.split_once('/').unwrap();
            out.entry(dir.into()).or_default().insert(file.into(), b);
        }
    }
    out
}

fn temporaries(root: &Path) -> Vec<PathBuf> {
    snapshot(root)
        .into_keys()
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with(".tmp-"))
        })
        .collect()
}

/// A copy of `from` at `to`, run as on a machine that never saw `to`
/// before: its own copy of the tests' trust store (`to.home`). On one
/// machine, putting an older copy of a vault back where keycycle last saw a
/// longer audit log is a rollback, which keycycle reports.
fn copy_vault(from: &Path, to: &Path) {
    let home = to.with_extension("home");
    let _ = std::fs::remove_dir_all(&home);
    // The pins only: other tests write to the shared store meanwhile.
    std::fs::create_dir_all(&home).unwrap();
    std::fs::copy(trust_home().join("trust.toml"), home.join("trust.toml")).unwrap();
    let _ = std::fs::remove_dir_all(to);
    let st = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(st.success());
}

fn kc(vault: &Path, time: &str, args: &[String], crash_at: Option<usize>) -> std::process::Output {
    let own = vault.with_extension("home");
    let home = if own.is_dir() {
        own
    } else {
        trust_home().to_path_buf()
    };
    let mut c = keycycle(vault, time, &home);
    c.args(args).env_remove("KEYCYCLE_CRASH_AT");
    if let Some(n) = crash_at {
        c.env("KEYCYCLE_CRASH_AT", n.to_string());
    }
    c.output().unwrap()
}

fn must_work(vault: &Path, what: &str) {
    let st = kc(vault, T1, &["status".into()], None);
    let code = st.status.code();
    assert!(
        matches!(code, Some(0..=2)),
        "{what}: status failed ({code:?}): {}",
        String::from_utf8_lossy(&st.stderr)
    );
    let a = kc(vault, T1, &["audit".into(), "verify".into()], None);
    assert!(
        a.status.success(),
        "{what}: audit verify failed: {}",
        String::from_utf8_lossy(&a.stderr)
    );
}

/// A case: the vault before, the command, and what a clean run changes.
struct Case {
    name: &'static str,
    args: Vec<String>,
}

/// Kill `case` at each write step in turn; returns the number of steps.
fn crash_every_step(before: &Path, scratch: &Path, case: &Case) -> usize {
    let old_keys = key_dirs(before);
    let old_log = std::fs::read(before.join("audit.log")).unwrap();
    // A clean run: which key directories change, and which of their files.
    copy_vault(before, scratch);
    let clean = kc(scratch, T1, &case.args, None);
    assert!(
        clean.status.success(),
        "{}: clean run failed: {}",
        case.name,
        String::from_utf8_lossy(&clean.stderr)
    );
    let new_keys = key_dirs(scratch);
    let changed: BTreeMap<String, BTreeSet<String>> = new_keys
        .iter()
        .filter(|(d, f)| old_keys.get(*d) != Some(f))
        .map(|(d, f)| {
            let old = old_keys.get(d).cloned().unwrap_or_default();
            let names: BTreeSet<String> = f
                .keys()
                .chain(old.keys())
                .filter(|n| f.get(*n) != old.get(*n))
                .cloned()
                .collect();
            (d.clone(), names)
        })
        .collect();
    assert!(
        !changed.is_empty(),
        "{}: changes no key directory",
        case.name
    );

    for n in 1..100 {
        copy_vault(before, scratch);
        let out = kc(scratch, T1, &case.args, Some(n));
        if out.status.success() {
            assert!(n > 1, "{}: no failpoint was reached", case.name);
            return n - 1;
        }
        assert_eq!(
            out.status.signal(),
            Some(9),
            "{} step {n}: failed instead of being killed: {}",
            case.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let what = format!("{} killed at step {n}", case.name);
        // Each key directory: untouched, or every file the command changes
        // changed (the whole new state), with the same file names as after
        // a clean run.
        let now = key_dirs(scratch);
        for (dir, cur) in &now {
            match old_keys.get(dir) {
                Some(old) if old == cur => {}
                Some(old) => {
                    let Some(names) = changed.get(dir) else {
                        panic!("{what}: {dir} changed unexpectedly");
                    };
                    for name in names {
                        assert!(
                            cur.get(name) != old.get(name),
                            "{what}: {dir}/{name} unchanged while other files changed (torn)"
                        );
                    }
                    let want: BTreeSet<_> = new_keys[dir].keys().collect();
                    let got: BTreeSet<_> = cur.keys().collect();
                    assert_eq!(got, want, "{what}: {dir} has a different set of files");
                }
                None => {
                    // A new key directory (generate): complete, like the
                    // clean run's.
                    let want: BTreeSet<_> = new_keys
                        .iter()
                        .find(|(d, _)| !old_keys.contains_key(*d))
                        .map(|(_, f)| f.keys().collect())
                        .unwrap_or_else(|| panic!("{what}: unexpected new directory {dir}"));
                    let got: BTreeSet<_> = cur.keys().collect();
                    assert_eq!(got, want, "{what}: new {dir} is incomplete");
                }
            }
        }
        for dir in old_keys.keys() {
            assert!(
                now.contains_key(dir),
                "{what}: key directory {dir} vanished"
            );
        }
        // The log: the old one, or the old one and one more entry.
        let log = std::fs::read(scratch.join("audit.log")).unwrap();
        assert!(log.starts_with(&old_log), "{what}: audit log rewritten");
        let added = log[old_log.len()..].iter().filter(|&&b| b == b'\n').count();
        assert!(added <= 1, "{what}: {added} audit entries");
        // Temporaries may be left; nothing may misread them.
        must_work(scratch, &what);
        // Run it again: it completes and sweeps the temporaries. Once the
        // audit entry is written the command's vault work is done; only
        // this machine's record of the log's head may be behind, and a
        // second `generate` is then refused as a duplicate key.
        let again = kc(scratch, T1, &case.args, None);
        let err = String::from_utf8_lossy(&again.stderr);
        let done = added == 1 && case.name == "generate" && err.contains("already holds a key");
        assert!(
            again.status.success() || done,
            "{what}: the rerun failed: {err}"
        );
        assert_eq!(
            temporaries(scratch),
            Vec::<PathBuf>::new(),
            "{what}: temporaries left"
        );
        must_work(scratch, &format!("{what}, rerun"));
    }
    panic!("{}: more than 99 write steps?", case.name);
}

#[test]
fn every_vault_write_step_survives_a_kill() {
    let env = Env::new(T0);
    let root = gpg_root(&env, "Alice");
    env.ok(&["init"]);
    let (age_id, age_r) = env.age_identity("ada");
    env.roster_add_root("Alice", "alice@example.org", &root.public, &age_r);
    let gen = |cycle: &str| -> String {
        let j: serde_json::Value =
            serde_json::from_str(&env.ok(&["--json", "generate", "--cycle", cycle])).unwrap();
        j["fingerprint"].as_str().unwrap().to_string()
    };
    let old = gen("2026.2");
    let base_before_new = env.path("before-generate");
    copy_vault(&env.vault, &base_before_new);
    let new = gen("2027.1");
    let cert = env.path("indri.asc");
    env.ok(&["export", "public", &new, "-o", cert.to_str().unwrap()]);
    let certified = root.certify(&env, &cert, &new);
    let (_, carol_r) = env.age_identity("carol");

    let id = age_id.display().to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let scratch = env.path("scratch");
    let mut report = Vec::new();
    let mut run = |before: &Path, case: Case| {
        let steps = crash_every_step(before, &scratch, &case);
        report.push((case.name, steps));
    };
    run(
        &base_before_new,
        Case {
            name: "generate",
            args: s(&["generate", "--cycle", "2027.1"]),
        },
    );
    let base = env.vault.clone();
    run(
        &base,
        Case {
            name: "cross-sign",
            args: s(&[
                "cross-sign",
                "--from",
                &old,
                "--to",
                &new,
                "--identity",
                &id,
            ]),
        },
    );
    run(
        &base,
        Case {
            name: "attestations import",
            args: s(&["attestations", "import", certified.to_str().unwrap()]),
        },
    );
    run(
        &base,
        Case {
            name: "extend",
            args: s(&["extend", &new, "--until", "2027-08-01", "--identity", &id]),
        },
    );
    run(
        &base,
        Case {
            name: "rotate-subkey",
            args: s(&rotate_subkey_args(&new, "compromised", "drill", &id)),
        },
    );
    run(
        &base,
        Case {
            name: "revoke",
            args: s(&[
                "revoke",
                &new,
                "--reason",
                "superseded",
                "--message",
                "drill",
                "--yes",
                "--identity",
                &id,
            ]),
        },
    );
    // Rewrap after a root joins.
    let rewrap_base = env.path("before-rewrap");
    copy_vault(&base, &rewrap_base);
    let out = kc(
        &rewrap_base,
        T0,
        &roster_add_args("Carol", "carol@example.org", &carol_r, None),
        None,
    );
    assert_ok(&out);
    run(
        &rewrap_base,
        Case {
            name: "escrow rewrap",
            args: s(&["escrow", "rewrap", "--identity", &id]),
        },
    );
    let total: usize = report.iter().map(|(_, n)| n).sum();
    eprintln!("crash injection: {report:?}; {total} steps, 0 torn vaults");
    assert_eq!(report.len(), 7);
    assert!(report.iter().all(|(_, n)| *n >= 2), "{report:?}");
}

/// Another process holds the lock: a changing command fails at once with a
/// clear message and changes nothing; reading commands still work.
#[test]
fn a_held_lock_refuses_a_second_writer() {
    let env = Env::new(T0);
    env.vault_with_roster();
    let before = snapshot(&env.vault);
    let lock = env.vault.join(".lock");
    let mut holder = Command::new("flock")
        .arg("-o")
        .arg(&lock)
        .args(["sleep", "30"])
        .spawn()
        .unwrap();
    // Wait until flock(1) holds it.
    let mut held = false;
    for _ in 0..100 {
        let probe = Command::new("flock")
            .args(["-n"])
            .arg(&lock)
            .arg("true")
            .status()
            .unwrap();
        if !probe.success() {
            held = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(held);
    let start = std::time::Instant::now();
    let out = env.fails(&["generate", "--cycle", "next"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        start.elapsed().as_secs() < 5,
        "waited {:?}",
        start.elapsed()
    );
    assert!(err.contains("in use by another keycycle"), "{err}");
    assert_eq!(
        err.lines().filter(|l| l.starts_with("error:")).count(),
        1,
        "{err}"
    );
    assert!(err.contains("hint:"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    for args in [
        &strs(&roster_add_args(
            "X",
            "x@example.org",
            "age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq",
            None,
        ))[..],
        &["init", "--force"][..],
    ] {
        let out = env.fails(args);
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("in use"),
            "{args:?}"
        );
    }
    // Reading is not blocked.
    env.ok(&["status"]);
    env.ok(&["roster", "list"]);
    assert_eq!(snapshot(&env.vault), before);
    holder.kill().unwrap();
    holder.wait().unwrap();
    env.ok(&["generate", "--cycle", "next"]);
}

/// Writers started at the same moment: each one either completes or is
/// refused by the lock; the vault ends with exactly the completed changes
/// and an intact audit chain.
#[test]
fn concurrent_writers_never_interleave() {
    let env = Env::new(T0);
    env.ok(&["init"]);
    let mut added = 0;
    for round in 0..3 {
        let children: Vec<_> = (0..6)
            .map(|i| {
                let (_, r) = env.age_identity(&format!("r{round}-{i}"));
                Command::new(BIN)
                    .env("KEYCYCLE_HOME", trust_home())
                    .arg("--batch")
                    .arg("--vault")
                    .arg(&env.vault)
                    .args(["--time", T0])
                    .args(strs(&roster_add_args(
                        &format!("Root {round}-{i}"),
                        &format!("r{round}{i}@example.org"),
                        &r,
                        None,
                    )))
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for c in children {
            let out = c.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            if out.status.success() {
                added += 1;
            } else {
                assert!(err.contains("in use by another keycycle"), "{err}");
            }
        }
    }
    assert!(added >= 3, "only {added} of 18 got through");
    let list = env.ok(&["--json", "roster", "list"]);
    let roster: serde_json::Value = serde_json::from_str(&list).unwrap();
    let n = roster
        .as_array()
        .or_else(|| roster["members"].as_array())
        .map(|a| a.len())
        .unwrap_or_else(|| panic!("{list}"));
    assert_eq!(n, added, "{list}");
    env.ok(&["audit", "verify"]);
    let log = std::fs::read_to_string(env.vault.join("audit.log")).unwrap();
    assert_eq!(
        log.lines().filter(|l| l.contains("roster add")).count(),
        added
    );
}
