//! The README's sign/verify commands, read from README.md and run as
//! written, in its order, twice, on a `dist/` of tarballs and wheels: a
//! second run keeps the signatures (and says so), never signs a signature,
//! and `verify dist/*` pairs each `FILE.asc` with `FILE` instead of
//! reporting it as a file of its own. sqv and gpgv agree with every
//! signature left behind.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sequoia_openpgp::parse::Parse;
use sequoia_openpgp::serialize::SerializeInto;
use sequoia_openpgp::Cert;

use crate::common::*;

const SIGN_AT: &str = "2026-10-02T12:00:00Z";

/// Every `keycycle sign` / `keycycle verify` command of README.md's shell
/// blocks that works on `dist/`, as written (continuations joined,
/// comments and a `$ ` prompt dropped), in the README's order.
fn readme_commands() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut out = Vec::new();
    let mut in_sh = false;
    let mut pending = String::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = ["```sh", "```bash", "```shell", "```console"].contains(&line.trim());
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = line.split(" #").next().unwrap().trim_end();
        if let Some(head) = code.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        let cmd = std::mem::take(&mut pending) + code;
        let cmd = cmd.trim().trim_start_matches("$ ");
        let ours = cmd.starts_with("keycycle sign ") || cmd.starts_with("keycycle verify ");
        if ours && cmd.contains("dist/") {
            out.push(cmd.to_string());
        }
    }
    out
}

/// The word after `flag` in `cmd`.
fn arg_of<'a>(cmd: &'a str, flag: &str) -> Option<&'a str> {
    let mut words = cmd.split_whitespace();
    words.find(|w| *w == flag)?;
    words.next()
}

/// A dist/ of two tarballs and two wheels (their real magic numbers).
fn dist(env: &Env) -> Vec<String> {
    let dir = env.path("dist");
    std::fs::create_dir_all(&dir).unwrap();
    let files: [(&str, &[u8]); 4] = [
        ("app-1.0.tar.gz", b"\x1f\x8b\x08\x00 a tarball"),
        ("lib-2.0.tar.gz", b"\x1f\x8b\x08\x00 another tarball"),
        ("app-1.0-py3-none-any.whl", b"PK\x03\x04 a wheel"),
        ("lib-2.0-py3-none-any.whl", b"PK\x03\x04 another wheel"),
    ];
    for (name, bytes) in files {
        std::fs::write(dir.join(name), bytes).unwrap();
    }
    files.iter().map(|(n, _)| format!("dist/{n}")).collect()
}

/// The signing subkey at the path the README's `--key` names, and the
/// published certificate in every folder its `--cert` names.
fn ci_node(k: &Keyed, commands: &[String]) {
    let env = &k.env;
    for cmd in commands {
        if let Some(key) = arg_of(cmd, "--key") {
            if !env.path(key).exists() {
                env.cmd_at("2026-10-01")
                    .args(["export", "signing-subkey", "2027.1", "--identity", &k.id()])
                    .arg("-o")
                    .arg(env.path(key))
                    .assert()
                    .success();
            }
        }
        if let Some(certs) = arg_of(cmd, "--cert") {
            let dir = env.path(certs);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(env.key_dir().join("cert.asc"), dir.join("2027.1.asc")).unwrap();
        }
    }
}

/// Run one README command through sh (its globs, its `|| exit 1`), with
/// the test's `--batch --vault --time`: (success, stdout, stderr).
fn run(env: &Env, cmd: &str) -> (bool, String, String) {
    let rest = cmd.strip_prefix("keycycle ").unwrap();
    let line = format!("\"$KEYCYCLE\" --batch --vault vault --time {SIGN_AT} {rest}");
    let out = env.sh(&line);
    (
        out.status.success(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn dist_listing(env: &Env) -> BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(env.path("dist"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name, std::fs::read(&p).unwrap())
        })
        .collect()
}

/// Every artifact has exactly its FILE.asc, and sqv and gpgv accept it.
fn check_dist(env: &Env, artifacts: &[String], cert: &Path) {
    let mut want: Vec<String> = artifacts
        .iter()
        .flat_map(|a| {
            let name = a.strip_prefix("dist/").unwrap().to_string();
            [name.clone(), format!("{name}.asc")]
        })
        .collect();
    want.sort();
    let have: Vec<String> = dist_listing(env).into_keys().collect();
    assert_eq!(
        have, want,
        "dist/ holds exactly the artifacts and one FILE.asc each"
    );
    for a in artifacts {
        let file = env.path(a);
        let sig = PathBuf::from(format!("{}.asc", file.display()));
        let sqv = sqv(SIGN_AT, cert, &sig, &file);
        assert!(
            sqv.status.success(),
            "sqv {a}: {}",
            String::from_utf8_lossy(&sqv.stderr)
        );
        let gpgv = gpgv_at(SIGN_AT)
            .arg("--keyring")
            .arg(env.path("keyring.gpg"))
            .arg(&sig)
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            gpgv.status.success(),
            "gpgv {a}: {}",
            String::from_utf8_lossy(&gpgv.stderr)
        );
    }
}

/// A binary keyring of the cert for gpgv.
fn gpgv_keyring(env: &Env, cert: &Path) {
    let armored = std::fs::read(cert).unwrap();
    let bytes = Cert::from_bytes(&armored[..]).unwrap().to_vec().unwrap();
    std::fs::write(env.path("keyring.gpg"), bytes).unwrap();
}

#[test]
fn readme_sign_and_verify_twice() {
    let commands = readme_commands();
    assert!(
        commands.iter().any(|c| c.starts_with("keycycle sign "))
            && commands.iter().any(|c| c.starts_with("keycycle verify ")),
        "README.md names no sign and verify commands on dist/: {commands:?}"
    );
    let k = vault_with_key("2026-09-01");
    let env = &k.env;
    ci_node(&k, &commands);
    let artifacts = dist(env);
    let cert = env.key_dir().join("cert.asc");
    gpgv_keyring(env, &cert);
    let mut first_sigs = None;
    let mut signed_before = false;
    for round in 1..=2 {
        for cmd in &commands {
            let (ok, out, err) = run(env, cmd);
            assert!(ok, "round {round}: `{cmd}` failed:\n{out}{err}");
            if cmd.starts_with("keycycle sign ") {
                let fresh = out.lines().filter(|l| l.starts_with("signed  ")).count();
                let summary = out.lines().last().unwrap_or_default().to_string();
                if signed_before {
                    // Every artifact is signed already: kept, and counted as kept.
                    assert_eq!(fresh, 0, "round {round}: `{cmd}` signed again:\n{out}");
                    assert!(summary.starts_with("0 file(s) signed"), "{out}");
                    assert!(summary.contains("kept (already signed)"), "{out}");
                    assert!(!out.contains(".asc.asc"), "{out}");
                    if cmd.contains("dist/*") && !cmd.contains("dist/*.")
                        || cmd.contains("--recursive")
                    {
                        assert!(
                            err.contains("note: skipped 4 OpenPGP signature file(s)"),
                            "{err}"
                        );
                    }
                } else {
                    assert_eq!(fresh, artifacts.len(), "{out}");
                    assert!(summary.starts_with("4 file(s) signed"), "{out}");
                }
                signed_before = true;
            } else {
                let good: Vec<&str> = out.lines().filter(|l| l.starts_with("GOOD  ")).collect();
                assert_eq!(
                    good.len(),
                    artifacts.len(),
                    "round {round}: `{cmd}`:\n{out}"
                );
                for a in &artifacts {
                    assert!(out.contains(&format!("GOOD  {a}  signed")), "{out}");
                }
                assert!(
                    !out.contains(".asc"),
                    "a signature reported as a file:\n{out}"
                );
                assert!(out.ends_with("verify: 4 good, 0 bad\n"), "{out}");
            }
            check_dist(env, &artifacts, &cert);
        }
        let sigs = dist_listing(env);
        match &first_sigs {
            None => first_sigs = Some(sigs),
            Some(first) => assert_eq!(first, &sigs, "the second run changed dist/"),
        }
    }
}

/// A signature is known by its content, whatever its name: renamed
/// (armored or binary) it is still skipped by `sign` and never verified as
/// a file of its own; a PNG (whose first byte reads as an old-format
/// signature packet header) is still an artifact. `verify --recursive`
/// walks a tree as `sign --recursive` does.
#[test]
fn signatures_by_content_whatever_their_names() {
    let k = vault_with_key("2026-09-01");
    let env = &k.env;
    let key = env.path("signing-subkey.asc");
    env.cmd_at("2026-10-01")
        .args(["export", "signing-subkey", "2027.1", "--identity", &k.id()])
        .arg("-o")
        .arg(&key)
        .assert()
        .success();
    let dir = env.path("dist");
    std::fs::create_dir_all(dir.join("docs")).unwrap();
    std::fs::write(dir.join("app-1.0.tar.gz"), b"\x1f\x8b\x08\x00 a tarball").unwrap();
    std::fs::write(dir.join("docs/logo.png"), b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR").unwrap();
    let sign = |args: &[&str]| {
        let out = env
            .cmd_at(SIGN_AT)
            .args(["sign", "--key", "signing-subkey.asc"])
            .args(args)
            .output()
            .unwrap();
        assert_ok(&out);
        (
            String::from_utf8(out.stdout).unwrap(),
            String::from_utf8(out.stderr).unwrap(),
        )
    };
    let (out, _) = sign(&["--recursive", "dist/"]);
    assert!(out.contains("signed  dist/docs/logo.png.asc"), "{out}");
    assert!(out.contains("\n2 file(s) signed with subkey"), "{out}");

    // The tarball's signature, renamed: armored, and binary.
    let armored = std::fs::read(dir.join("app-1.0.tar.gz.asc")).unwrap();
    std::fs::write(dir.join("SIGNATURE"), &armored).unwrap();
    let mut binary = Vec::new();
    std::io::Read::read_to_end(
        &mut sequoia_openpgp::armor::Reader::from_bytes(
            &armored,
            sequoia_openpgp::armor::ReaderMode::Tolerant(None),
        ),
        &mut binary,
    )
    .unwrap();
    assert_eq!(binary[0] & 0x80, 0x80, "binary OpenPGP");
    std::fs::write(dir.join("docs/old.bin"), &binary).unwrap();

    let (out, err) = sign(&["--recursive", "dist/"]);
    assert!(
        out.ends_with(", 2 kept (already signed)\n") && out.contains("0 file(s) signed"),
        "{out}"
    );
    assert!(
        err.contains("note: skipped 4 OpenPGP signature file(s)"),
        "{err}"
    );
    let (out, err) = sign(&["dist/SIGNATURE", "dist/docs/old.bin", "dist/app-1.0.tar.gz"]);
    assert!(out.starts_with("kept    dist/app-1.0.tar.gz.asc"), "{out}");
    assert!(
        err.contains("note: skipped 2 OpenPGP signature file(s) (dist/SIGNATURE, …)"),
        "{err}"
    );
    let out = env.run_at(
        SIGN_AT,
        &["sign", "--key", "signing-subkey.asc", "dist/SIGNATURE"],
    );
    assert!(one_refusal(&out)
        .starts_with("error: nothing to sign: every file given is an OpenPGP signature\n"));
    for stray in [
        "SIGNATURE.asc",
        "docs/old.bin.asc",
        "app-1.0.tar.gz.asc.asc",
    ] {
        assert!(!dir.join(stray).exists(), "{stray} was written");
    }

    let cert = env.key_dir().join("cert.asc");
    let cert = cert.to_str().unwrap();
    let verify = |args: &[&str]| {
        env.cmd_at(SIGN_AT)
            .args(["verify", "--cert", cert])
            .args(args)
            .output()
            .unwrap()
    };
    let out = verify(&["--recursive", "dist/"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}{stderr}");
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("GOOD  ")).count(),
        2,
        "{stdout}"
    );
    assert!(stdout.ends_with("verify: 2 good, 0 bad\n"), "{stdout}");
    assert!(
        !stdout.contains("SIGNATURE") && !stdout.contains("old.bin"),
        "{stdout}"
    );
    assert!(
        stderr.contains("note: skipped 2 OpenPGP signature file(s)")
            && stderr.contains("--signature FILE"),
        "{stderr}"
    );
    // A signature alone is checked with the file it signs.
    let out = verify(&["dist/docs/logo.png.asc"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.starts_with("GOOD  dist/docs/logo.png  signed"),
        "{stdout}"
    );
    // A directory without --recursive says how.
    let out = verify(&["dist/"]);
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("pass --recursive to verify every file under it"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
