//! examples/: the sample keycycle.toml is accepted and does what its
//! comments say; the Zuul jobs' playbooks run their commands — as Ansible
//! would, task by task, with the job's vars substituted — against a real
//! exported subkey and real artifacts, and the upload playbook refuses to
//! upload a tampered artifact; ci-sign-and-verify.sh signs and verifies.
//!
//! The playbooks run `keycycle` from PATH; the tests put a wrapper first in
//! PATH that adds `--time` (a fixed instant), as a node's clock would.

use crate::common::*;
use serde_yaml_ng::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Std;

const GEN: &str = "2026-08-15T10:00:00Z";
const SIGN_AT: &str = "2026-10-15T12:00:00Z";

fn examples() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples")
}

fn demo(file: &str) -> String {
    examples()
        .join("demo-roster")
        .join(file)
        .display()
        .to_string()
}

fn yaml(path: &Path) -> Value {
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `export signing-subkey next --identity ID -o TO`.
fn export_next_subkey<'a>(id: &'a str, to: &'a str) -> [&'a str; 7] {
    [
        "export",
        "signing-subkey",
        "next",
        "--identity",
        id,
        "-o",
        to,
    ]
}

/// The demo roster in a fresh vault with the default config.
fn demo_roster(env: &Env) {
    for (name, recipient) in [
        ("Ada", "ada.age.pub"),
        ("Grace", "grace.age.pub"),
        ("Linus", "linus_ssh.pub"),
    ] {
        let email = format!("{}@demo.invalid", name.to_lowercase());
        let at = format!("@{}", demo(recipient));
        env.roster_add(name, &email, &at);
    }
}

#[test]
fn the_sample_keycycle_toml_is_accepted_and_does_what_it_says() {
    let env = Env::new("2026-09-15");
    std::fs::create_dir_all(&env.vault).unwrap();
    std::fs::copy(
        examples().join("keycycle.toml"),
        env.vault.join("keycycle.toml"),
    )
    .unwrap();
    // Its custom schedule, 90-day overlap.
    let cycles = env.ok(&["cycles"]);
    for want in [
        "26.10     Aster",
        "27.04     Begonia",
        "2027-07-18",
        "A key expires 90 days after the next cycle starts",
    ] {
        assert!(cycles.contains(want), "{want:?} not in:\n{cycles}");
    }
    assert!(
        cycles
            .lines()
            .any(|l| l.starts_with('*') && l.contains("Aster")),
        "{cycles}"
    );
    // A key with its UID template, escrowed 2-of-3 to the demo roster.
    demo_roster(&env);
    let j: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "generate", "--cycle", "next"])).unwrap();
    assert_eq!(j["cycle"], "27.04", "{j}");
    let status = env.ok(&["status", "next"]);
    assert!(status.contains("27.04/Begonia"), "{status}");
    let shares: Vec<_> = std::fs::read_dir(env.key_dir().join("shares"))
        .unwrap()
        .collect();
    assert_eq!(shares.len(), 3);
    let gpg = Gpg::at(&env.time);
    let listing = gpg.ok(
        &[
            "--show-keys",
            env.key_dir().join("cert.asc").to_str().unwrap(),
        ],
        None,
    );
    assert!(
        listing
            .contains("Example Cloud Infra (27.04/Begonia Cycle) <infra-root@cloud.example.org>"),
        "{listing}"
    );
    // One root cannot open the escrow; two can.
    let out = env.fails(&export_next_subkey(&demo("ada.agekey"), "sub.asc"));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("needs 2 of 3 shares"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    env.ok(&[
        "export",
        "signing-subkey",
        "next",
        "--identity",
        &demo("ada.agekey"),
        "--identity",
        &demo("linus_ssh"),
        "-o",
        "sub.asc",
    ]);
    // Every key is known: a typo in the sample would be refused. (`status`:
    // `cycles` falls back to the embedded defaults when the vault's config
    // does not load.)
    let bad = std::fs::read_to_string(examples().join("keycycle.toml"))
        .unwrap()
        .replace("warn_days", "warn_dayz");
    std::fs::write(env.vault.join("keycycle.toml"), bad).unwrap();
    let out = env.fails(&["status"]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("warn_dayz"));
}

/// A released cycle key: the exported signing subkey, the published key
/// folder (openstack/releases format), release artifacts, and a `keycycle`
/// wrapper for PATH pinned to `at`.
struct Release {
    env: Env,
    subkey: PathBuf,
    certs: PathBuf,
    dist: PathBuf,
}

fn release() -> Release {
    let env = Env::new(GEN);
    env.ok(&["init"]);
    demo_roster(&env);
    let j: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "generate", "--cycle", "next"])).unwrap();
    let fpr = j["fingerprint"].as_str().unwrap().to_lowercase();
    let subkey = env.path("signing-subkey.asc");
    env.ok(&export_next_subkey(
        &demo("ada.agekey"),
        subkey.to_str().unwrap(),
    ));
    let certs = env.path("releases/doc/source/static");
    std::fs::create_dir_all(&certs).unwrap();
    env.ok(&[
        "export",
        "public",
        "next",
        "--format",
        "releases",
        "-o",
        certs.join(format!("0x{fpr}.txt")).to_str().unwrap(),
    ]);
    let dist = env.path("src/demo/dist");
    std::fs::create_dir_all(dist.join("wheels")).unwrap();
    std::fs::write(dist.join("demo-1.0.0.tar.gz"), b"a release tarball\n").unwrap();
    std::fs::write(
        dist.join("wheels/demo-1.0.0-py3-none-any.whl"),
        b"a release wheel\n",
    )
    .unwrap();
    Release {
        env,
        subkey,
        certs,
        dist,
    }
}

impl Release {
    /// A directory with `keycycle` = the binary at a fixed time.
    fn bin_at(&self, at: &str) -> PathBuf {
        let bin = self.env.path(&format!("bin-{}", at.replace(':', "")));
        std::fs::create_dir_all(&bin).unwrap();
        let w = bin.join("keycycle");
        std::fs::write(
            &w,
            format!("#!/bin/sh\nexec '{BIN}' --time '{at}' \"$@\"\n"),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&w, std::fs::Permissions::from_mode(0o755)).unwrap();
        bin
    }

    fn path_with(&self, bin: &Path) -> String {
        format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        )
    }

    /// What Zuul provides to the playbooks, and the secret's value.
    fn zuul_vars(&self) -> BTreeMap<String, String> {
        let mut v = BTreeMap::new();
        let root = self.env.dir.path();
        v.insert(
            "zuul.project.src_dir".into(),
            root.join("src/demo").display().to_string(),
        );
        v.insert("zuul.project.short_name".into(), "demo".into());
        v.insert(
            "zuul.projects['opendev.org/openstack/releases'].src_dir".into(),
            root.join("releases").display().to_string(),
        );
        let home = root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        v.insert("ansible_user_dir".into(), home.display().to_string());
        v.insert(
            "releases_signing_key.signing_key".into(),
            std::fs::read_to_string(&self.subkey).unwrap(),
        );
        v
    }
}

/// The zuul.yaml stanzas of one kind.
fn stanzas(zuul: &Value, kind: &str) -> Vec<Value> {
    zuul.as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s.get(kind).cloned())
        .collect()
}

fn job(zuul: &Value, name: &str) -> Value {
    stanzas(zuul, "job")
        .into_iter()
        .find(|j| j["name"].as_str() == Some(name))
        .unwrap_or_else(|| panic!("no job {name}"))
}

/// The job's vars (templated) plus Zuul's, with `extra` on top, as
/// `ansible-playbook -e` would.
fn vars_for(
    zuul: &Value,
    job_name: &str,
    r: &Release,
    extra: &[(&str, &Path)],
) -> BTreeMap<String, String> {
    let mut vars = r.zuul_vars();
    if let Some(m) = job(zuul, job_name)["vars"].as_mapping() {
        for (k, v) in m {
            vars.insert(k.as_str().unwrap().into(), v.as_str().unwrap().into());
        }
    }
    for (k, v) in extra {
        vars.insert((*k).into(), v.display().to_string());
    }
    vars
}

/// Substitute `{{ name }}` until nothing is left; an unknown name fails.
fn render(s: &str, vars: &BTreeMap<String, String>) -> String {
    let mut s = s.to_string();
    for _ in 0..8 {
        let Some(start) = s.find("{{") else {
            return s;
        };
        let end = s[start..].find("}}").expect("unclosed {{") + start;
        let name = s[start + 2..end].trim();
        let value = vars.get(name).unwrap_or_else(|| {
            panic!("the playbook uses {{{{ {name} }}}}, which no job var or Zuul var defines")
        });
        s = format!("{}{}{}", &s[..start], value, &s[end + 2..]);
    }
    panic!("templates nest too deep: {s}")
}

/// One task as Ansible runs it. Supported modules only: an unknown one
/// fails the test rather than being skipped.
fn run_task(
    task: &Value,
    vars: &BTreeMap<String, String>,
    path: &str,
    cwd: &Path,
) -> Result<(), String> {
    let name = task["name"].as_str().unwrap_or("?").to_string();
    let module = |m: &str| {
        task.get(format!("ansible.builtin.{m}"))
            .or_else(|| task.get(m))
            .cloned()
    };
    let sh = |script: &str| {
        let out = Std::new("bash")
            .arg("-c")
            .arg(format!("set -o pipefail; {script}"))
            .env("PATH", path)
            .env_remove("KEYCYCLE_VAULT")
            .current_dir(cwd)
            .output()
            .unwrap();
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "task {name:?} failed ({}):\n{script}\n{}{}",
                out.status,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    if let Some(cmd) = module("shell") {
        return sh(&render(cmd.as_str().unwrap(), vars));
    }
    if let Some(cmd) = module("command") {
        // The command module runs no shell: keep the example free of shell
        // syntax so that running it through bash here is the same thing.
        let cmd = render(cmd.as_str().unwrap(), vars);
        assert!(
            !cmd.contains(['|', '>', '<', '&', ';', '$', '\'', '"']),
            "a command: task with shell syntax: {cmd}"
        );
        return sh(&cmd);
    }
    if let Some(copy) = module("copy") {
        let dest = render(copy["dest"].as_str().unwrap(), vars);
        let content = render(copy["content"].as_str().unwrap(), vars);
        std::fs::write(&dest, content).map_err(|e| format!("{name}: {e}"))?;
        let mode = u32::from_str_radix(copy["mode"].as_str().unwrap(), 8).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&dest, std::fs::Permissions::from_mode(mode)).unwrap();
        return Ok(());
    }
    if let Some(file) = module("file") {
        assert_eq!(file["state"].as_str(), Some("absent"), "{name}");
        let p = render(file["path"].as_str().unwrap(), vars);
        let _ = std::fs::remove_file(p);
        return Ok(());
    }
    panic!("task {name:?} uses a module this test does not run: {task:?}");
}

/// Run a task list; `block`/`always` as Ansible does. Returns the names of
/// the tasks that ran, or the first failure.
fn run_tasks(
    tasks: &[Value],
    vars: &BTreeMap<String, String>,
    path: &str,
    cwd: &Path,
    ran: &mut Vec<String>,
) -> Result<(), String> {
    for t in tasks {
        if let Some(block) = t["block"].as_sequence() {
            let res = run_tasks(block, vars, path, cwd, ran);
            if let Some(always) = t["always"].as_sequence() {
                run_tasks(always, vars, path, cwd, ran)?;
            }
            res?;
            continue;
        }
        ran.push(t["name"].as_str().unwrap_or("?").to_string());
        run_task(t, vars, path, cwd)?;
    }
    Ok(())
}

fn run_playbook(
    file: &str,
    vars: &BTreeMap<String, String>,
    path: &str,
    cwd: &Path,
) -> (Vec<String>, Result<(), String>) {
    let book = yaml(&examples().join("zuul/playbooks").join(file));
    let mut ran = Vec::new();
    let mut res = Ok(());
    for play in book.as_sequence().unwrap() {
        res = run_tasks(
            play["tasks"].as_sequence().unwrap(),
            vars,
            path,
            cwd,
            &mut ran,
        );
        if res.is_err() {
            break;
        }
    }
    (ran, res)
}

#[test]
fn the_zuul_jobs_are_wired_together() {
    let zuul = yaml(&examples().join("zuul/zuul.yaml"));
    let secret = &stanzas(&zuul, "secret")[0];
    let sign = job(&zuul, "release-sign-artifacts");
    let upload = job(&zuul, "release-upload-artifacts");
    // The sign job gets the secret under the name its playbook uses.
    let s = &sign["secrets"][0];
    assert_eq!(s["secret"], secret["name"]);
    assert_eq!(s["name"].as_str(), Some("releases_signing_key"));
    let playbook = std::fs::read_to_string(examples().join("zuul/playbooks/sign.yaml")).unwrap();
    assert!(playbook.contains("{{ releases_signing_key.signing_key }}"));
    // The secret holds encrypted chunks (a tagged list, as zuul-client and
    // runbooks/deploy-signing-subkey-to-ci.md write it).
    let Value::Tagged(t) = &secret["data"]["signing_key"] else {
        panic!("signing_key is not !encrypted/pkcs1-oaep")
    };
    assert_eq!(t.tag.to_string(), "!encrypted/pkcs1-oaep");
    assert!(t.value.as_sequence().is_some_and(|s| !s.is_empty()));
    // Upload runs after signing; both are in the release pipeline; every
    // playbook exists.
    assert_eq!(upload["dependencies"][0], sign["name"]);
    let project = &stanzas(&zuul, "project")[0];
    let jobs = project["release"]["jobs"].as_sequence().unwrap();
    assert!(jobs.contains(&sign["name"]) && jobs.contains(&upload["name"]));
    for j in [&sign, &upload] {
        let run = j["run"].as_str().unwrap();
        assert!(examples().join("zuul").join(run).exists(), "{run}");
    }
}

#[test]
fn the_playbooks_sign_and_upload_only_what_verifies() {
    let r = release();
    let zuul = yaml(&examples().join("zuul/zuul.yaml"));
    let path = r.path_with(&r.bin_at(SIGN_AT));
    let cwd = r.env.dir.path();
    // Sign.
    let vars = vars_for(&zuul, "release-sign-artifacts", &r, &[]);
    let (ran, res) = run_playbook("sign.yaml", &vars, &path, cwd);
    res.unwrap();
    assert_eq!(ran.len(), 4, "{ran:?}");
    for f in ["demo-1.0.0.tar.gz", "wheels/demo-1.0.0-py3-none-any.whl"] {
        let sig = r.dist.join(format!("{f}.asc"));
        assert!(sig.exists(), "{} not signed", sig.display());
        // sqv agrees with keycycle on what the playbook made.
        let cert = std::fs::read_dir(&r.certs)
            .unwrap()
            .next()
            .unwrap()
            .unwrap()
            .path();
        let out = sqv(SIGN_AT, &cert, &sig, &r.dist.join(f));
        assert!(
            out.status.success(),
            "sqv: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let key_file = PathBuf::from(&vars["ansible_user_dir"]).join(".signing-subkey.asc");
    assert!(!key_file.exists(), "the subkey was left on the node");
    // Upload: everything verifies, everything arrives.
    let dest = r.env.path("tarballs");
    let vars = vars_for(
        &zuul,
        "release-upload-artifacts",
        &r,
        &[("upload_dest", &dest)],
    );
    let (ran, res) = run_playbook("upload.yaml", &vars, &path, cwd);
    res.unwrap();
    assert_eq!(ran.len(), 2);
    assert!(dest.join("demo-1.0.0.tar.gz.asc").exists());
    assert!(dest.join("wheels/demo-1.0.0-py3-none-any.whl").exists());
    // A tampered artifact: the verify task fails, the upload task never runs.
    std::fs::remove_dir_all(&dest).unwrap();
    std::fs::write(
        r.dist.join("wheels/demo-1.0.0-py3-none-any.whl"),
        b"a release wheel, with a backdoor\n",
    )
    .unwrap();
    let (ran, res) = run_playbook("upload.yaml", &vars, &path, cwd);
    let err = res.expect_err("upload of a tampered artifact");
    assert_eq!(ran.len(), 1, "{ran:?}");
    assert!(err.contains("demo-1.0.0-py3-none-any.whl"), "{err}");
    assert!(err.contains("BAD"), "{err}");
    assert!(!dest.exists(), "something was uploaded");
}

#[test]
fn the_sign_playbook_fails_on_an_expired_subkey_and_still_removes_it() {
    let r = release();
    let zuul = yaml(&examples().join("zuul/zuul.yaml"));
    // The 2027.1 key expires 2027-05-28.
    let path = r.path_with(&r.bin_at("2027-07-01T00:00:00Z"));
    let vars = vars_for(&zuul, "release-sign-artifacts", &r, &[]);
    let (ran, res) = run_playbook("sign.yaml", &vars, &path, r.env.dir.path());
    let err = res.expect_err("signing with an expired subkey");
    assert!(err.contains("expired"), "{err}");
    assert_eq!(
        ran.last().map(String::as_str),
        Some("Remove the signing subkey"),
        "{ran:?}"
    );
    assert!(!PathBuf::from(&vars["ansible_user_dir"])
        .join(".signing-subkey.asc")
        .exists());
    assert!(!r.dist.join("demo-1.0.0.tar.gz.asc").exists());
}

#[test]
fn ci_sign_and_verify_script_signs_and_refuses_a_tampered_artifact() {
    let r = release();
    let path = r.path_with(&r.bin_at(SIGN_AT));
    let run = || {
        Std::new("bash")
            .arg(examples().join("ci-sign-and-verify.sh"))
            .arg(&r.dist)
            .env("PATH", &path)
            .env("SIGNING_KEY", &r.subkey)
            .env("CERTS", &r.certs)
            .env_remove("KEYCYCLE_VAULT")
            .current_dir(r.env.dir.path())
            .output()
            .unwrap()
    };
    let out = run();
    assert_ok(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("verify: 2 good, 0 bad"));
    assert!(r
        .dist
        .join("wheels/demo-1.0.0-py3-none-any.whl.asc")
        .exists());
    std::fs::write(r.dist.join("demo-1.0.0.tar.gz"), b"tampered\n").unwrap();
    let out = run();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("BAD"));
}

#[test]
fn the_examples_readme_commands_run() {
    let env = Env::new("2026-09-15");
    let text = std::fs::read_to_string(examples().join("README.md")).unwrap();
    let mut blocks = String::new();
    let mut inside = false;
    for l in text.lines() {
        match (inside, l.trim()) {
            (false, "```sh") => inside = true,
            (true, "```") => inside = false,
            (true, _) => {
                blocks.push_str(l);
                blocks.push('\n');
            }
            _ => {}
        }
    }
    assert!(
        blocks.contains("keycycle"),
        "no ```sh block in examples/README.md"
    );
    std::os::unix::fs::symlink(examples(), env.path("examples")).unwrap();
    let out = Std::new("bash")
        .arg("-c")
        .arg(format!(
            "set -euo pipefail\nkeycycle() {{ '{BIN}' --batch --time 2026-09-15 \"$@\"; }}\n{blocks}"
        ))
        .env_remove("KEYCYCLE_VAULT")
        .current_dir(env.dir.path())
        .output()
        .unwrap();
    assert_ok(&out);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("Added Linus (demo)") && stdout.contains("Begonia"),
        "{stdout}"
    );
}
