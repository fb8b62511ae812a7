//! Secret hygiene. After a full ceremony and every lifecycle command, every
//! file keycycle wrote (the vault, the exports, its temporary directory) is
//! scanned for unencrypted secret key packets: only the explicit
//! signing-subkey export may hold one, and only the signing subkey. No
//! secret (the primary's secret scalar, an age identity, an SSH private
//! key, an export passphrase) appears in any output, `--json` output, error
//! message or the audit log. Core dumps are off while the secret is held.
use crate::common::*;

use std::collections::BTreeMap;
use std::path::PathBuf;

use openpgp::crypto::mpi;
use openpgp::packet::key::SecretKeyMaterial;
use openpgp::packet::Packet;
use openpgp::parse::{PacketParser, PacketParserResult, Parse};
use openpgp::Cert;
use sequoia_openpgp as openpgp;

const T0: &str = "2026-09-01T00:00:00Z";
const T1: &str = "2026-09-10T00:00:00Z";

/// Unencrypted secret key packets in `bytes` (armored or binary), as
/// (is primary, fingerprint). Unparseable files hold none.
fn unencrypted_secrets(bytes: &[u8]) -> Vec<(bool, String)> {
    let mut found = Vec::new();
    let Ok(mut ppr) = PacketParser::from_bytes(bytes) else {
        return found;
    };
    while let PacketParserResult::Some(pp) = ppr {
        let (packet, next) = match pp.recurse() {
            Ok(x) => x,
            Err(_) => break,
        };
        match &packet {
            Packet::SecretKey(k) => {
                if matches!(k.optional_secret(), Some(SecretKeyMaterial::Unencrypted(_))) {
                    found.push((true, k.fingerprint().to_hex()));
                }
            }
            Packet::SecretSubkey(k) => {
                if matches!(k.optional_secret(), Some(SecretKeyMaterial::Unencrypted(_))) {
                    found.push((false, k.fingerprint().to_hex()));
                }
            }
            _ => {}
        }
        ppr = next;
    }
    found
}

struct Run {
    env: Env,
    tmp: PathBuf,
    /// Every stdout and stderr keycycle printed.
    printed: Vec<String>,
}

impl Run {
    fn kc(&mut self, time: &str, args: &[&str], ok: bool) -> String {
        let out = self
            .env
            .cmd_at(time)
            .env("TMPDIR", &self.tmp)
            .args(args)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert_eq!(out.status.success(), ok, "{args:?}:\n{stdout}\n{stderr}");
        self.printed
            .push(format!("$ keycycle {}\n{stdout}{stderr}", args.join(" ")));
        stdout
    }
}

#[test]
fn no_secret_outside_the_subkey_export_and_none_in_any_output() {
    let env = Env::new(T0);
    let tmp = env.path("tmp");
    let out = env.path("out");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&out).unwrap();
    let root = gpg_root(&env, "Alice");
    let (ada, ada_r) = env.age_identity("ada");
    let (bob_ssh, bob_pub) = env.ssh_key("bob_ssh", "ed25519");
    let (_, carol_r) = env.age_identity("carol");
    let ks = keyserver();
    let mut r = Run {
        env,
        tmp: tmp.clone(),
        printed: Vec::new(),
    };
    let id = ada.display().to_string();
    let o = |n: &str| out.join(n).display().to_string();
    let passphrase = "correct horse battery staple 7f3a9";
    std::fs::write(r.env.path("pw"), passphrase).unwrap();
    let pw = r.env.path("pw").display().to_string();

    r.kc(T0, &["init"], true);
    r.kc(
        T0,
        &strs(&roster_add_args(
            "Alice",
            "alice@example.org",
            &ada_r,
            Some(&root.public),
        )),
        true,
    );
    r.kc(
        T0,
        &strs(&roster_add_args(
            "Bob",
            "bob@example.org",
            &format!("@{}", bob_pub.display()),
            None,
        )),
        true,
    );
    r.kc(T0, &["--json", "generate", "--cycle", "2026.2"], true);
    // The whole ceremony: generate, drill, cross-sign, exports, publish,
    // the CI subkey.
    r.kc(
        T0,
        &[
            "ceremony",
            "--cycle",
            "next",
            "--confirm-roster",
            "--fingerprint-read",
            "--identity",
            &id,
            "--keyserver",
            &ks,
            "--releases-done",
            "--subkey-out",
            &o("ci-subkey.asc"),
            "--exports",
            &o("exports"),
        ],
        true,
    );
    let status: serde_json::Value =
        serde_json::from_str(&r.kc(T0, &["--json", "status", "2027.1"], true)).unwrap();
    let fpr = status["fingerprint"]
        .as_str()
        .or_else(|| status[0]["fingerprint"].as_str())
        .or_else(|| status["keys"][0]["fingerprint"].as_str())
        .unwrap_or_else(|| panic!("{status}"))
        .to_string();
    let public = out.join("indri.asc");
    r.kc(
        T0,
        &["export", "public", &fpr, "-o", public.to_str().unwrap()],
        true,
    );
    let certified = root.certify(&r.env, &public, &fpr);
    r.kc(
        T1,
        &[
            "--json",
            "attestations",
            "import",
            certified.to_str().unwrap(),
        ],
        true,
    );
    r.kc(
        T1,
        &[
            "export",
            "public",
            &fpr,
            "--format",
            "releases",
            "-o",
            &o("releases.txt"),
        ],
        true,
    );
    // The subkey, exported three ways.
    let subkey = ["export", "signing-subkey", &fpr, "--identity", &id];
    for how in [
        &["--passphrase-file", &pw, "-o", &o("sub-pw.asc")][..],
        &["--age-recipient", &carol_r, "-o", &o("sub.age")],
        &[
            "--format",
            "hiera",
            "--passphrase-file",
            &pw,
            "-o",
            &o("sub.yaml"),
        ],
    ] {
        r.kc(T1, &[&subkey[..], how].concat(), true);
    }
    std::fs::write(out.join("artifact.tar.gz"), b"release\n").unwrap();
    r.kc(
        T1,
        &[
            "--json",
            "sign",
            "--key",
            &o("ci-subkey.asc"),
            &o("artifact.tar.gz"),
        ],
        true,
    );
    // The roots authorise the new key in the signed vault policy (Alice
    // signs with her own secret key; nothing of it may be printed).
    r.kc(T1, &["--json", "policy", "propose"], true);
    r.kc(
        T1,
        &[
            "policy",
            "sign",
            "--with-key",
            root.secret.to_str().unwrap(),
        ],
        true,
    );
    r.kc(T1, &["policy", "status"], true);
    r.kc(T1, &["--json", "verify", &o("artifact.tar.gz")], true);
    r.kc(
        T1,
        &["extend", &fpr, "--until", "2027-08-01", "--identity", &id],
        true,
    );
    r.kc(
        T1,
        &[
            &["--json"][..],
            &rotate_subkey_args(&fpr, "compromised", "drill", &id),
        ]
        .concat(),
        true,
    );
    r.kc(T1, &["--json", "escrow", "verify", "--identity", &id], true);
    r.kc(
        T1,
        &["escrow", "verify", "--identity", bob_ssh.to_str().unwrap()],
        true,
    );
    r.kc(
        T1,
        &strs(&roster_add_args(
            "Carol",
            "carol@example.org",
            &carol_r,
            None,
        )),
        true,
    );
    r.kc(T1, &["escrow", "rewrap", "--identity", &id], true);
    r.kc(
        T1,
        &[
            "revoke",
            "2026.2",
            "--reason",
            "superseded",
            "--message",
            "replaced by 2027.1",
            "--yes",
            "--identity",
            &id,
        ],
        true,
    );
    r.kc(T1, &["--json", "status"], true);
    r.kc(T1, &["status"], true);
    r.kc(T1, &["audit", "verify"], true);
    r.kc(T1, &["inspect", public.to_str().unwrap()], true);
    r.kc(
        T1,
        &["-v", "--json", "inspect", public.to_str().unwrap()],
        true,
    );
    // Failures that handle secrets: their messages must not carry them.
    let (mallory, _) = r.env.age_identity("mallory");
    r.kc(
        T1,
        &[
            "export",
            "signing-subkey",
            &fpr,
            "--identity",
            mallory.to_str().unwrap(),
            "-o",
            &o("x.asc"),
        ],
        false,
    );
    r.kc(
        T1,
        &[
            "extend",
            &fpr,
            "--until",
            "2027-09-01",
            "--identity",
            mallory.to_str().unwrap(),
        ],
        false,
    );
    r.kc(
        T1,
        &[
            "sign",
            "--key",
            &o("sub-pw.asc"),
            &o("artifact.tar.gz"),
            "--overwrite",
        ],
        false,
    );
    r.kc(
        T1,
        &[
            "--json",
            "export",
            "signing-subkey",
            &fpr,
            "--identity",
            &pw,
            "-o",
            &o("y.asc"),
        ],
        false,
    );

    // 1. Files: only the plain subkey export holds an unencrypted secret,
    // and only the signing subkey's.
    let mut files = files_under(&r.env.vault);
    files.extend(files_under(&out));
    files.extend(files_under(&tmp));
    assert!(files.len() > 20, "{files:?}");
    let mut hits: BTreeMap<PathBuf, Vec<(bool, String)>> = BTreeMap::new();
    for f in &files {
        let bytes = std::fs::read(f).unwrap();
        let s = unencrypted_secrets(&bytes);
        // Armored text inside other text (hiera YAML): scan from the armor.
        let s = if s.is_empty() {
            match bytes.windows(10).position(|w| w == b"-----BEGIN") {
                Some(i) => unencrypted_secrets(&bytes[i..]),
                None => s,
            }
        } else {
            s
        };
        if !s.is_empty() {
            hits.insert(f.clone(), s);
        }
        let text = String::from_utf8_lossy(&bytes);
        assert!(
            !text.contains("AGE-SECRET-KEY-"),
            "{} holds an age identity",
            f.display()
        );
        assert!(
            !text.contains("OPENSSH PRIVATE KEY"),
            "{} holds an SSH key",
            f.display()
        );
        assert!(
            !text.contains(passphrase),
            "{} holds the passphrase",
            f.display()
        );
    }
    let subkey_export = out.join("ci-subkey.asc");
    assert_eq!(
        hits.keys().collect::<Vec<_>>(),
        vec![&subkey_export],
        "{hits:?}"
    );
    let in_export = &hits[&subkey_export];
    assert_eq!(in_export.len(), 1, "{in_export:?}");
    assert!(!in_export[0].0, "the primary secret is in the export");
    eprintln!(
        "secret scan: {} files, {} with an unencrypted secret (the subkey export)",
        files.len(),
        hits.len()
    );

    // 2. Outputs and the audit log: no secret material.
    let tsk = Cert::from_bytes(&age_decrypt(
        &ada,
        &r.env.key_dir_of(&fpr).join("primary.age"),
    ))
    .unwrap();
    let scalar = match tsk.primary_key().key().optional_secret() {
        Some(SecretKeyMaterial::Unencrypted(u)) => u.map(|m| match m {
            // Padded: an MPI drops leading zero bytes, so one seed
            // in 256 would come out 31 bytes long.
            mpi::SecretKeyMaterial::EdDSA { scalar } => scalar.value_padded(32).to_vec(),
            other => panic!("unexpected {other:?}"),
        }),
        _ => panic!("the escrowed key is not unencrypted inside age"),
    };
    assert_eq!(scalar.len(), 32);
    let hex_lower = hex(&scalar);
    let hex_upper = hex_lower.to_uppercase();
    let b64 = base64(&scalar);
    let ada_secret = std::fs::read_to_string(&ada).unwrap();
    let ada_secret = ada_secret
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap();
    let audit = std::fs::read_to_string(r.env.vault.join("audit.log")).unwrap();
    let mut scanned = r.printed.clone();
    scanned.push(audit);
    for text in &scanned {
        for (what, secret) in [
            ("primary scalar (hex)", hex_lower.as_str()),
            ("primary scalar (HEX)", hex_upper.as_str()),
            ("primary scalar (base64)", b64.as_str()),
            ("age identity", ada_secret),
            ("passphrase", passphrase),
            ("armored secret key", "PRIVATE KEY BLOCK"),
            ("age identity prefix", "AGE-SECRET-KEY-"),
        ] {
            assert!(!text.contains(secret), "{what} in:\n{text}");
        }
    }
    eprintln!(
        "output scan: {} outputs and the audit log, 0 secrets",
        r.printed.len()
    );
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn base64(b: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut s = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..=c.len() {
            s.push(A[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    s
}

/// The process holding the primary secret (stopped at a vault write by the
/// debug-build failpoint) has a core-dump limit of 0.
#[test]
fn core_dumps_are_off_while_the_secret_is_held() {
    let env = Env::new(T0);
    let roster = env.vault_with_roster();
    let mut checked = 0;
    for args in [
        vec!["generate", "--cycle", "next"],
        vec![
            "extend",
            "2027.1",
            "--until",
            "2027-08-01",
            "--identity",
            roster.age_id.to_str().unwrap(),
        ],
    ] {
        let mut child = std::process::Command::new(BIN)
            .env("KEYCYCLE_HOME", trust_home())
            .arg("--batch")
            .arg("--vault")
            .arg(&env.vault)
            .args(["--time", T0])
            .args(&args)
            .env("KEYCYCLE_CRASH_AT", "1")
            .env("KEYCYCLE_CRASH_MODE", "stop")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let pid = child.id();
        let mut stopped = false;
        for _ in 0..400 {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat.split(") ").nth(1).is_some_and(|s| s.starts_with('T')) {
                stopped = true;
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        assert!(stopped, "{args:?} never reached its first vault write");
        let limits = std::fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
        let core = limits
            .lines()
            .find(|l| l.starts_with("Max core file size"))
            .unwrap();
        let fields: Vec<&str> = core.split_whitespace().collect();
        assert_eq!(&fields[4..6], &["0", "0"], "{args:?}: {core}");
        child.kill().unwrap();
        child.wait().unwrap();
        checked += 1;
        // Let the real command run so the next one has a key.
        env.ok(&args);
    }
    assert_eq!(checked, 2);
}

trait KeyDirOf {
    fn key_dir_of(&self, fpr: &str) -> PathBuf;
}

impl KeyDirOf for Env {
    fn key_dir_of(&self, fpr: &str) -> PathBuf {
        std::fs::read_dir(self.vault.join("keys"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with(&fpr[fpr.len() - 16..]))
            .unwrap()
    }
}
