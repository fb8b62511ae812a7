//! The vault is a git repository every root can push to: these are the
//! attacks of docs/threat-model.md by someone with commit access, made as
//! they would be — files written into the vault — and then the command a
//! root runs next. Each is refused or detected with one `error:` line and
//! one `hint:` line; nothing secret is printed; the vault is unchanged; and
//! the file a planted link points at is untouched.

use crate::common::*;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;

use openpgp::serialize::Serialize;
use sequoia_openpgp as openpgp;

const GEN: &str = "2026-08-01T12:00:00Z";

/// A vault with the demo roster (Ada: age, Bob: SSH) and the 2027.1 key.
struct V {
    env: Env,
    roster: Roster,
    fpr: String,
    /// `--identity <Ada's age identity>`.
    id: String,
}

fn vault_with_key() -> V {
    let env = Env::new(GEN);
    let roster = env.vault_with_roster();
    let j: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "generate", "--cycle", "next"])).unwrap();
    V {
        fpr: j["fingerprint"].as_str().unwrap().into(),
        id: format!("--identity {}", roster.age_id.display()),
        env,
        roster,
    }
}

/// A command line as words (no argument here holds a space).
fn words(cmd: &str) -> Vec<&str> {
    cmd.split_whitespace().collect()
}

impl V {
    /// The secrets on this machine, as text that must never be printed.
    fn secrets(&self) -> Vec<String> {
        let mut out = vec!["AGE-SECRET-KEY".to_string(), "PRIVATE KEY".to_string()];
        let age = std::fs::read_to_string(&self.roster.age_id).unwrap();
        let line = age
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .unwrap();
        let body = &line["AGE-SECRET-KEY-1".len()..][..20];
        out.extend([body.to_string(), body.to_lowercase()]);
        let ssh = std::fs::read_to_string(&self.roster.ssh_id).unwrap();
        let lines = ssh
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 20);
        out.extend(lines.map(|l| l[..20].to_string()));
        out
    }

    /// Run `cmd` at `at`: it must fail with one error and one hint line,
    /// print no secret and leave the vault as it was. Returns stderr.
    fn refused_at(&self, at: &str, cmd: &str) -> String {
        let before = snapshot(&self.env.vault);
        let out = self.env.cmd_at(at).args(words(cmd)).output().unwrap();
        let stderr = self.check_refusal(cmd, &out);
        assert_eq!(before, snapshot(&self.env.vault), "{cmd} changed the vault");
        stderr
    }

    fn refused(&self, cmd: &str) -> String {
        self.refused_at(GEN, cmd)
    }

    fn check_refusal(&self, cmd: &str, out: &Output) -> String {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(!out.status.success(), "{cmd} succeeded:\n{stdout}");
        assert_ne!(out.status.code(), Some(101), "{cmd} panicked: {stderr}");
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.starts_with("warning: "))
            .collect();
        assert!(
            lines.len() == 2 && lines[0].starts_with("error: ") && lines[1].starts_with("hint: "),
            "{cmd}: want one error line and one hint line, got:\n{stderr}"
        );
        for s in self.secrets() {
            assert!(
                !stdout.contains(&s) && !stderr.contains(&s),
                "{cmd} printed a secret ({s}):\n{stdout}{stderr}"
            );
        }
        stderr
    }

    fn config(&self) -> PathBuf {
        self.env.vault.join("keycycle.toml")
    }

    fn set_config(&self, from: &str, to: &str) {
        let text = std::fs::read_to_string(self.config()).unwrap();
        assert!(text.contains(from), "{from}");
        std::fs::write(self.config(), text.replacen(from, to, 1)).unwrap();
    }
}

/// Every command that rewrites a key directory copies it first: a link in
/// it (to an identity, so that the copy holds the secret and the runbook's
/// `git add -A` publishes it) is refused, naming it; so is a linked
/// directory anywhere keycycle walks.
#[test]
fn attack_symlink_in_key_dir() {
    let v = vault_with_key();
    let dir = v.env.key_dir();
    let target = std::fs::read(&v.roster.age_id).unwrap();
    // keys/X/README -> ../../../ada.agekey (the vault is $TMP/vault).
    symlink("../../../ada.agekey", dir.join("README")).unwrap();
    let id = &v.id;
    for cmd in [
        format!("extend 2027.1 --until 2027-08-01 {id}"),
        format!("rotate-subkey 2027.1 --reason superseded --message x {id}"),
        format!("escrow rewrap {id}"),
    ] {
        let e = v.refused(&cmd);
        assert!(e.contains("README") && e.contains("symbolic link"), "{e}");
        assert!(e.contains("nothing was changed"), "{e}");
    }
    let meta = std::fs::symlink_metadata(dir.join("README")).unwrap();
    assert!(meta.file_type().is_symlink(), "the link is still a link");
    assert_eq!(std::fs::read(&v.roster.age_id).unwrap(), target);
    std::fs::remove_file(dir.join("README")).unwrap();

    // Linked directories: a key's shares/, roster/, a whole key directory.
    let outside = v.env.path("outside");
    std::fs::create_dir(&outside).unwrap();
    symlink(&outside, dir.join("shares")).unwrap();
    let e = v.refused(&format!("extend 2027.1 --until 2027-08-01 {id}"));
    assert!(e.contains("shares") && e.contains("symbolic link"), "{e}");
    std::fs::remove_file(dir.join("shares")).unwrap();
    let roster = v.env.vault.join("roster");
    std::fs::rename(&roster, v.env.path("roster.real")).unwrap();
    symlink(v.env.path("roster.real"), &roster).unwrap();
    let e = v.refused("policy propose");
    assert!(e.contains("roster") && e.contains("symbolic link"), "{e}");
    std::fs::remove_file(&roster).unwrap();
    std::fs::rename(v.env.path("roster.real"), &roster).unwrap();
    symlink(&outside, v.env.vault.join("keys/2027.1-0000000000000000")).unwrap();
    let e = v.refused("status");
    assert!(
        e.contains("2027.1-0000000000000000") && e.contains("symbolic link"),
        "{e}"
    );
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 0);
}

/// `.lock` is opened without following a link: a committed
/// `.lock -> identity` was truncated and overwritten with `pid N: …`.
#[test]
fn attack_lock_symlink() {
    let v = vault_with_key();
    let target = std::fs::read(&v.roster.age_id).unwrap();
    let lock = v.env.vault.join(".lock");
    let _ = std::fs::remove_file(&lock);
    symlink(&v.roster.age_id, &lock).unwrap();
    let (_, eve) = v.env.age_identity("eve");
    let id = &v.id;
    for cmd in [
        format!("roster add --name Eve --email eve@example.org --escrow-recipient {eve}"),
        format!("extend 2027.1 --until 2027-08-01 {id}"),
    ] {
        let e = v.refused(&cmd);
        assert!(e.contains(".lock") && e.contains("symbolic link"), "{e}");
    }
    assert_eq!(
        std::fs::read(&v.roster.age_id).unwrap(),
        target,
        "the identity was overwritten"
    );
    // A dangling link does not create its target either.
    std::fs::remove_file(&lock).unwrap();
    let made = v.env.path("made-by-the-lock");
    symlink(&made, &lock).unwrap();
    v.refused(&format!("extend 2027.1 --until 2027-08-01 {id}"));
    assert!(!made.exists());
}

/// A configuration value naming an identity: the parse error names the
/// file, the line and the problem, and shows nothing of what it holds.
#[test]
fn attack_secret_echo_series_status() {
    let v = vault_with_key();
    let ada = v.roster.age_id.display().to_string();
    let bob = v.roster.ssh_id.display().to_string();
    let clean = std::fs::read_to_string(v.config()).unwrap();
    for (path, name) in [
        (ada.as_str(), "ada.agekey"),
        (&bob, "bob_ssh"),
        ("../ada.agekey", "ada.agekey"),
    ] {
        v.set_config(
            "source = \"embedded\"",
            &format!("source = \"series-status\"\nseries_status = \"{path}\""),
        );
        for cmd in ["status", "cycles", "generate --cycle next --force"] {
            let e = v.refused(cmd);
            assert!(e.contains(name) && e.contains("line"), "{cmd}: {e}");
        }
        std::fs::write(v.config(), &clean).unwrap();
    }
    // keycycle.toml itself a link to the identity: refused before reading.
    let config = v.config();
    std::fs::rename(&config, v.env.path("keycycle.toml.real")).unwrap();
    symlink(&v.roster.age_id, &config).unwrap();
    let e = v.refused("status");
    assert!(
        e.contains("keycycle.toml") && e.contains("symbolic link"),
        "{e}"
    );
}

/// `@FILE` recipients are read from the command line only: stored ones are
/// refused, and no malformed recipient is shown (a pasted identity least).
#[test]
fn attack_secret_echo_recipient() {
    let v = vault_with_key();
    let id = &v.id;
    let roster = v.env.vault.join("roster/roster.toml");
    let clean = std::fs::read_to_string(&roster).unwrap();
    let (_, eve) = v.env.age_identity("eve");
    let text = std::fs::read_to_string(&v.roster.age_id).unwrap();
    let secret = text
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    for value in [
        format!("@{}", v.roster.age_id.display()),
        format!("@{}", v.roster.ssh_id.display()),
        secret.to_string(),
        format!("age1{}", secret["AGE-SECRET-KEY-1".len()..].to_lowercase()),
    ] {
        let planted = "[[member]]\nname = \"Mallory\"\nemail = \"m@example.org\"\n";
        let planted = format!("{clean}\n{planted}escrow_recipient = \"{value}\"\n");
        std::fs::write(&roster, planted).unwrap();
        for cmd in [
            "policy propose".to_string(),
            format!("roster add --name Eve --email eve@example.org --escrow-recipient {eve}"),
        ] {
            let e = v.refused(&cmd);
            assert!(e.contains("member Mallory"), "{e}");
        }
        let list = v.env.ok(&["roster", "list"]);
        assert!(list.contains("MALFORMED"), "{list}");
        assert!(v.secrets().iter().all(|s| !list.contains(s)), "{list}");
    }
    std::fs::write(&roster, clean).unwrap();
    // A key's state.toml.
    let state = v.env.key_dir().join("state.toml");
    let text = std::fs::read_to_string(&state).unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("escrow_recipients"))
        .unwrap();
    // `status -v` lists the stored recipients: a pasted identity, an
    // @FILE or a terminal escape is not shown as it is.
    let planted = format!(
        "escrow_recipients = [\"{secret}\", \"@{}\", \"age1\\u001b[2Jfake\"]",
        v.roster.age_id.display()
    );
    std::fs::write(&state, text.replace(line, &planted)).unwrap();
    let shown = v.env.ok(&["status", "-v"]);
    assert_eq!(shown.matches("MALFORMED").count(), 3, "{shown}");
    assert!(!shown.contains('\u{1b}'), "{shown}");
    assert!(v.secrets().iter().all(|s| !shown.contains(s)), "{shown}");
    let planted = format!("escrow_recipients = [\"@{}\"]", v.roster.age_id.display());
    std::fs::write(&state, text.replace(line, &planted)).unwrap();
    // Nothing reads the recipients from state.toml any more (escrow goes
    // to the signed policy's roots): extend re-seals to those, rewrites the
    // state, and prints nothing of the file the entry named.
    let out = v
        .env
        .cmd_at(GEN)
        .args(words(&format!("extend 2027.1 --until 2027-08-01 {id}")))
        .output()
        .unwrap();
    assert_ok(&out);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        v.secrets().iter().all(|s| !printed.contains(s)),
        "{printed}"
    );
    let state_now = std::fs::read_to_string(&state).unwrap();
    assert!(!state_now.contains('@'), "{state_now}");
    assert!(state_now.contains(&v.roster.age_r), "{state_now}");
}

/// `age -d` with Ada's identity, then `age -a` to the roster's two roots:
/// what any root — or anyone holding one root's identity — can seal.
fn reseal(v: &V, from: &Path, to: &Path) {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let plain = age_decrypt(&v.roster.age_id, from);
    let mut child = Command::new("age")
        .args(["-a", "-r", &v.roster.age_r, "-R"])
        .arg(v.roster.ssh_id.with_extension("pub"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&plain).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    std::fs::write(to, out.stdout).unwrap();
}

/// Another key's escrowed revocation (the hard one, or its ladder) sealed
/// into this key's escrow files: `revoke --escrowed-certificate` refuses
/// it, naming the file, and publishes and marks nothing.
#[test]
fn attack_foreign_revocation() {
    require("age");
    let v = vault_with_key();
    let a = v.env.key_dir();
    let other = v
        .env
        .ok(&["--json", "generate", "--cycle", "2027.1", "--force"]);
    let other: serde_json::Value = serde_json::from_str(&other).unwrap();
    let b = PathBuf::from(other["directory"].as_str().unwrap());
    assert_ne!(a, b);
    let (id, fpr) = (&v.id, &v.fpr);
    for (file, reason, at) in [
        ("revocation.age", "compromised", GEN),
        ("revocation-retired.age", "retired", "2026-11-04T12:00:00Z"),
    ] {
        let mine = std::fs::read(a.join(file)).unwrap();
        reseal(&v, &b.join(file), &a.join(file));
        let cmd = format!(
            "revoke {fpr} --yes --escrowed-certificate --reason {reason} --message lost {id}"
        );
        let e = v.refused_at(at, &cmd);
        assert!(
            e.contains(&a.join(file).display().to_string()),
            "names the file: {e}"
        );
        assert!(e.contains("not valid for this key"), "{e}");
        let e = v.refused(&format!("escrow verify {fpr} {id}"));
        assert!(e.contains(file), "{e}");
        std::fs::write(a.join(file), mine).unwrap();
    }
    let state = std::fs::read_to_string(a.join("state.toml")).unwrap();
    assert!(state.contains("state = \"active\""), "{state}");
}

/// Cycle ids become file names (ceremonies/<id>.toml, keys/<id>-…): an
/// absolute or `..` id from the schedule data is refused at load.
#[test]
fn attack_absolute_cycle_id() {
    let v = vault_with_key();
    let outside = v.env.path("x");
    let clean = std::fs::read_to_string(v.config()).unwrap();
    for id in [
        outside.display().to_string(),
        "../../x".into(),
        ".hidden".into(),
    ] {
        v.set_config("source = \"embedded\"", "source = \"custom\"");
        let cycle = format!(
            "[[schedule.cycles]]\nid = \"{id}\"\nstart = 2026-10-05\nrelease = 2027-03-24\n"
        );
        std::fs::write(
            v.config(),
            format!("{}\n{cycle}", std::fs::read_to_string(v.config()).unwrap()),
        )
        .unwrap();
        for cmd in [
            "status".to_string(),
            format!("ceremony --cycle {id}"),
            format!("generate --cycle {id}"),
        ] {
            let e = v.refused(&cmd);
            assert!(
                e.contains("keycycle.toml") && e.contains("not one file name"),
                "{cmd}: {e}"
            );
            assert!(e.contains(&format!("\"{id}\"")), "names the id: {e}");
        }
        std::fs::write(v.config(), &clean).unwrap();
    }
    assert!(!outside.exists() && !v.env.path("x.toml").exists());
    // The same in a series_status.yaml.
    let yaml = v.env.path("series_status.yaml");
    let series = "- name: mallory\n  release-id: ../../x\n  initial-release: 2027-03-24\n";
    std::fs::write(
        &yaml,
        format!("{series}- name: zed\n  initial-release: 2022-10-05\n"),
    )
    .unwrap();
    let out = v
        .env
        .cmd()
        .args(["cycles", "--series-status"])
        .arg(&yaml)
        .output()
        .unwrap();
    let e = v.check_refusal("cycles --series-status", &out);
    assert!(
        e.contains("release-id \"../../x\"") && e.contains("not one file name"),
        "{e}"
    );
}

/// User IDs are printed escaped, on one line: a forged second line of the
/// party sheet (`2  [ ] fingerprint ok`) or a terminal escape never shows.
#[test]
fn attack_escaped_user_id() {
    let env = Env::new(GEN);
    let uid = "Mallory <m@example.org>\n 2  [ ] fingerprint ok\x1b[2J\u{202e}";
    let (cert, _) = openpgp::cert::CertBuilder::general_purpose(Some(uid))
        .set_creation_time(std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_767_225_600))
        .generate()
        .unwrap();
    let file = env.path("mallory.asc");
    cert.armored()
        .serialize(&mut std::fs::File::create(&file).unwrap())
        .unwrap();
    let file = file.display().to_string();
    for args in [vec!["party", "sheet", &file], vec!["inspect", &file]] {
        let out = env.ok(&args);
        assert!(
            !out.contains('\x1b') && !out.contains('\u{202e}'),
            "{args:?}: {out:?}"
        );
        assert!(
            !out.lines().any(|l| l.trim_start().starts_with("2  [ ]")),
            "{args:?}:\n{out}"
        );
        let line = out.lines().find(|l| l.contains("Mallory")).unwrap();
        assert!(
            line.contains("\\n 2  [ ] fingerprint ok\\u{1b}[2J"),
            "one line: {line:?}"
        );
    }
}

/// A roster certificate under another root's name is refused, naming it;
/// so is a "fingerprint" in roster.toml that is a path.
#[test]
fn attack_roster_cert_name() {
    let v = vault_with_key();
    let carol = gpg_root(&v.env, "Carol");
    let (_, r) = v.env.age_identity("carol");
    let add = format!(
        "roster add --name Carol --email carol@example.org --cert {} --escrow-recipient {r}",
        carol.public.display()
    );
    v.env.ok(&words(&add));
    v.env.ok(&["status"]);
    let mallory = gpg_root(&v.env, "Mallory");
    let file = v.env.vault.join(format!("roster/{}.asc", carol.fpr));
    std::fs::copy(&mallory.public, &file).unwrap();
    let e = v.refused("status");
    assert!(
        e.contains(&file.display().to_string()) && e.contains("not the one its name says"),
        "{e}"
    );
    let roster = v.env.vault.join("roster/roster.toml");
    let text = std::fs::read_to_string(&roster).unwrap();
    std::fs::write(&roster, text.replace(&carol.fpr, "../../../Mallory.pub")).unwrap();
    let e = v.refused("status");
    assert!(e.contains("not an OpenPGP fingerprint"), "{e}");
}

/// `verify --cert DIR` reads the regular files directly in DIR: a link
/// there is skipped (and said so), never followed to a certificate.
#[test]
fn attack_verify_cert_dir_symlink() {
    let v = vault_with_key();
    let tarball = signed_early(&v);
    let dir = v.env.path("certs");
    std::fs::create_dir(&dir).unwrap();
    let unrelated = gpg_root(&v.env, "Carol");
    std::fs::copy(&unrelated.public, dir.join("carol.asc")).unwrap();
    let cert = v.env.key_dir().join("cert.asc");
    symlink(&cert, dir.join("cycle-key.asc")).unwrap();
    let run = |certs: &Path| {
        let mut c = v.env.cmd_at("2026-10-03");
        c.arg("verify")
            .arg("--cert")
            .arg(certs)
            .arg(&tarball)
            .output()
            .unwrap()
    };
    // Detected: the signature is BAD (its key is in no file read), and the
    // skipped link is named.
    let out = run(&dir);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.starts_with("BAD"), "{stdout}");
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("warning: "),
        "{stderr}"
    );
    assert!(
        lines[0].contains("cycle-key.asc") && lines[0].contains("not followed"),
        "{stderr}"
    );
    // The same certificate given as a file is read.
    assert!(run(&cert).status.success());
    // Only a link: the error says why there is nothing to verify against.
    std::fs::remove_file(dir.join("carol.asc")).unwrap();
    let e = v.check_refusal("verify --cert DIR", &run(&dir));
    assert!(e.contains("symbolic link"), "{e}");
}

/// `verify --cert DIR` on a folder that also holds what is not a key (the
/// ceremony writes its announcement into `exports/`): those files are
/// skipped with one note (`-v` names them); a folder with no certificate
/// at all is an error naming why.
#[test]
fn verify_cert_dir_skips_files_that_are_not_keys() {
    let v = vault_with_key();
    let tarball = signed_early(&v);
    let dir = v.env.path("keys");
    std::fs::create_dir(&dir).unwrap();
    std::fs::copy(v.env.key_dir().join("cert.asc"), dir.join("2027.1.asc")).unwrap();
    std::fs::write(dir.join("announce-2027.1.txt"), "Hash: SHA512\n\nnew key\n").unwrap();
    std::fs::write(dir.join("empty"), b"").unwrap();
    let run = |verbose: bool| {
        let mut c = v.env.cmd_at("2026-10-03");
        if verbose {
            c.arg("-v");
        }
        c.arg("verify")
            .arg("--cert")
            .arg(&dir)
            .arg(&tarball)
            .output()
            .unwrap()
    };
    let out = run(false);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    assert!(stdout.starts_with("GOOD"), "{stdout}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("skipped 2 file(s)") && stderr.contains("-v"),
        "{stderr}"
    );
    let verbose = String::from_utf8_lossy(&run(true).stderr).into_owned();
    assert!(
        verbose.contains("announce-2027.1.txt") && verbose.contains("empty"),
        "{verbose}"
    );
    std::fs::remove_file(dir.join("2027.1.asc")).unwrap();
    let e = v.check_refusal("verify --cert DIR", &run(false));
    assert!(
        e.contains("2 file(s) in the --cert folder hold none"),
        "{e}"
    );
}

/// A file signed at 2026-10-02 with the subkey exported the day before.
fn signed_early(v: &V) -> PathBuf {
    let sub = v.env.path("sub.asc");
    let export = format!("export signing-subkey 2027.1 {} -o {}", v.id, sub.display());
    v.env
        .cmd_at("2026-10-01")
        .args(words(&export))
        .assert()
        .success();
    let early = v.env.path("early.tar.gz");
    std::fs::write(&early, b"early").unwrap();
    let sign = format!("sign --key {} {}", sub.display(), early.display());
    v.env
        .cmd_at("2026-10-02")
        .args(words(&sign))
        .assert()
        .success();
    early
}

/// Rotate at 2026-11-01 with `reason`: does the early signature verify?
fn early_signature_after_rotation(reason: &str) -> (bool, String) {
    let v = vault_with_key();
    let early = signed_early(&v);
    let rotate = format!(
        "rotate-subkey 2027.1 --reason {reason} --message exposed {}",
        v.id
    );
    let out = v
        .env
        .cmd_at("2026-11-01")
        .args(words(&rotate))
        .output()
        .unwrap();
    assert_ok(&out);
    let ok = v
        .env
        .cmd_at("2026-11-10")
        .arg("verify")
        .arg(&early)
        .output()
        .unwrap();
    (
        ok.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[test]
fn rotate_subkey_compromised_voids_every_earlier_signature() {
    let (good, said) = early_signature_after_rotation("compromised");
    assert!(
        !good,
        "a signature of the compromised subkey still verifies"
    );
    assert!(
        said.contains("compromised: every signature it ever made is now void"),
        "{said}"
    );
}

#[test]
fn rotate_subkey_superseded_keeps_earlier_signatures() {
    let (good, said) = early_signature_after_rotation("superseded");
    assert!(
        good,
        "a signature made before a superseded rotation stopped verifying"
    );
    assert!(
        said.contains("superseded: signatures it made before now stay valid"),
        "{said}"
    );
}

/// No default: `--batch` without `--reason` is an error naming the flag;
/// an unknown reason is a usage error; nothing changes.
#[test]
fn rotate_subkey_needs_a_reason() {
    let v = vault_with_key();
    let e = v.refused(&format!("rotate-subkey 2027.1 --message x {}", v.id));
    assert!(
        e.contains("--reason") && e.contains("compromised") && e.contains("superseded"),
        "{e}"
    );
    let e = v.refused(&format!(
        "rotate-subkey 2027.1 --reason retired --message x {}",
        v.id
    ));
    assert!(e.contains("--reason"), "{e}");
}
