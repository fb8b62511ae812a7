//! Attestation and publication against real GnuPG roots and a real HKP
//! keyserver (sks on loopback, started by scripts/test.sh).

use crate::common::*;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use openpgp::parse::Parse;
use openpgp::serialize::SerializeInto;
use openpgp::Cert;
use sequoia_openpgp as openpgp;

const GEN: &str = "2026-08-01T12:00:00Z";
const LATER: &str = "2026-09-02T00:00:00Z";

struct Ceremony {
    env: Env,
    roots: Vec<GpgRoot>,
    age_id: PathBuf,
    fpr: String,
    cert: PathBuf,
}

/// A vault with `n` roots (real gpg keys on the roster) and the Indri key.
fn ceremony(n: usize) -> Ceremony {
    let env = Env::new(GEN);
    env.ok(&["init"]);
    let names = ["Alice", "Bob", "Carol", "Dave", "Erin"];
    let mut roots = Vec::new();
    let mut age_id = PathBuf::new();
    for name in &names[..n] {
        let root = gpg_root(&env, name);
        let (id, r) = env.age_identity(name);
        age_id = id;
        let email = format!("{}@example.org", name.to_lowercase());
        env.roster_add_root(name, &email, &root.public, &r);
        roots.push(root);
    }
    let json: serde_json::Value =
        serde_json::from_str(&env.ok(&["--json", "generate", "--cycle", "next"])).unwrap();
    let cert = env.key_dir().join("cert.asc");
    Ceremony {
        fpr: json["fingerprint"].as_str().unwrap().into(),
        env,
        roots,
        age_id,
        cert,
    }
}

fn status(c: &Ceremony) -> serde_json::Value {
    let out = c.env.run_at(LATER, &["--json", "status", "2027.1"]);
    serde_json::from_slice(&out.stdout).unwrap()
}

fn import(c: &Ceremony, files: &[&Path]) -> serde_json::Value {
    let mut cmd = c.env.cmd_at(LATER);
    cmd.args(["--json", "attestations", "import"]).args(files);
    let out = cmd.output().unwrap();
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn three_of_three_roots_reach_majority() {
    let c = ceremony(3);
    let files: Vec<PathBuf> = c
        .roots
        .iter()
        .map(|r| r.certify(&c.env, &c.cert, &c.fpr))
        .collect();
    let refs: Vec<&Path> = files.iter().map(|p| p.as_path()).collect();
    let report = import(&c, &refs);
    let accepted = report["certifications"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["outcome"] == "accepted")
        .count();
    assert_eq!(accepted, 3, "{report}");
    let s = status(&c);
    let a = &s["keys"][0]["attestations"];
    assert_eq!(a["of"], 3);
    assert_eq!(a["by"].as_array().unwrap().len(), 3);
    assert_eq!(a["majority"], true);
    // gpg agrees that the vault's cert carries three valid certifications.
    let gpg = Gpg::at(LATER);
    for r in &c.roots {
        gpg.ok(&["--import", r.public.to_str().unwrap()], None);
    }
    gpg.ok(&["--import", c.cert.to_str().unwrap()], None);
    let sigs = gpg.ok(&["--check-sigs", "--with-colons", &c.fpr], None);
    let certs = sigs
        .lines()
        .filter(|l| l.starts_with("sig:!:") && l.contains(":10x:"))
        .count();
    assert_eq!(certs, 3, "three valid class-10 certifications: {sigs}");
}

#[test]
fn two_of_five_is_below_majority_and_names_the_missing() {
    let c = ceremony(5);
    let a = c.roots[0].certify(&c.env, &c.cert, &c.fpr);
    let b = c.roots[1].certify(&c.env, &c.cert, &c.fpr);
    import(&c, &[&a, &b]);
    let s = status(&c);
    let at = &s["keys"][0]["attestations"];
    assert_eq!(at["of"], 5);
    assert_eq!(at["by"], serde_json::json!(["Alice", "Bob"]));
    assert_eq!(at["missing"], serde_json::json!(["Carol", "Dave", "Erin"]));
    assert_eq!(at["majority"], false);
    let out = c.env.run_at(LATER, &["status", "--check", "2027.1"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("2 of 5 roots, majority not reached; missing: Carol, Dave, Erin"),
        "{text}"
    );
}

#[test]
fn tampered_rejected_outsider_flagged_and_imports_are_idempotent() {
    let c = ceremony(2);
    let good = c.roots[0].certify(&c.env, &c.cert, &c.fpr);
    // One flipped byte in Bob's certification.
    let bob = c.roots[1].certify(&c.env, &c.cert, &c.fpr);
    let cert = Cert::from_file(&bob).unwrap();
    let sig = cert
        .userids()
        .next()
        .unwrap()
        .certifications()
        .next()
        .unwrap()
        .clone();
    let mut bytes = cert.to_vec().unwrap();
    let sig_bytes = openpgp::Packet::from(sig).to_vec().unwrap();
    let pos = bytes
        .windows(sig_bytes.len())
        .position(|w| w == sig_bytes.as_slice())
        .unwrap();
    bytes[pos + sig_bytes.len() - 1] ^= 0x01;
    let tampered = c.env.path("tampered.pgp");
    std::fs::write(&tampered, &bytes).unwrap();
    // Mallory is not on the roster; her export carries her own cert too.
    let mallory = gpg_root(&c.env, "Mallory");
    mallory.certify(&c.env, &c.cert, &c.fpr);
    let outsider = c.env.path("mallory.asc");
    std::fs::write(
        &outsider,
        mallory
            .gpg
            .ok(&["--armor", "--export", &c.fpr, &mallory.fpr], None),
    )
    .unwrap();

    let report = import(&c, &[&good, &tampered, &outsider]);
    let outcomes: Vec<(String, String)> = report["certifications"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["outcome"].as_str().unwrap().to_string(),
                f["reason"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    assert!(
        outcomes.iter().any(|(o, _)| o == "accepted"),
        "{outcomes:?}"
    );
    assert!(
        outcomes
            .iter()
            .any(|(o, r)| o == "rejected" && r.contains("does not verify")),
        "{outcomes:?}"
    );
    assert!(
        outcomes.iter().any(|(o, _)| o == "outside-roster"),
        "{outcomes:?}"
    );
    let s = status(&c);
    assert_eq!(
        s["keys"][0]["attestations"]["by"],
        serde_json::json!(["Alice"])
    );
    // The same files again: nothing changes.
    let before = snapshot(&c.env.vault);
    let again = import(&c, &[&good, &tampered, &outsider]);
    assert!(again["updated"].as_array().unwrap().is_empty(), "{again}");
    let vault_files = snapshot(&c.env.vault);
    let key_dir = c.env.key_dir();
    for (p, v) in &before {
        if p.starts_with(&key_dir) {
            assert_eq!(Some(v), vault_files.get(p), "{} changed", p.display());
        }
    }
}

fn sks_recv(fpr: &str) -> (Gpg, String) {
    let gpg = Gpg::from_keyserver(fpr, LATER);
    let sigs = gpg.ok(&["--check-sigs", "--with-colons", fpr], None);
    (gpg, sigs)
}

#[test]
fn cross_sign_publish_and_fetch_back_from_a_real_keyserver() {
    let ks = keyserver();
    let c = ceremony(3);
    // The previous cycle's key, in the same vault, certifies the new one.
    let prev = c
        .env
        .run_at("2026-03-01", &["--json", "generate", "--cycle", "2026.2"]);
    assert_ok(&prev);
    let prev: serde_json::Value = serde_json::from_slice(&prev.stdout).unwrap();
    let out = c
        .env
        .run_at(GEN, &cross_sign_args(c.age_id.to_str().unwrap()));
    assert_ok(&out);
    assert_eq!(status(&c)["keys"][0]["cross_signed"], true);
    // Two roots certify and import; the third sends hers to the keyserver.
    let cert = c.env.cert_of("2027.1");
    let a = c.roots[0].certify(&c.env, &cert, &c.fpr);
    let b = c.roots[1].certify(&c.env, &cert, &c.fpr);
    import(&c, &[&a, &b]);
    let out = c
        .env
        .run_at(LATER, &["--json", "publish", "2027.1", "--keyserver", &ks]);
    assert_ok(&out);
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["servers"][0]["ok"], true, "{report}");
    // A fresh gpg home receives every root's certification and the
    // cross-signature, all valid.
    let (gpg, sigs) = sks_recv(&c.fpr);
    gpg.ok(
        &[
            "--import",
            c.roots[0].public.to_str().unwrap(),
            c.roots[1].public.to_str().unwrap(),
        ],
        None,
    );
    let prev_cert = c.env.cert_of("2026.2");
    gpg.ok(&["--import", prev_cert.to_str().unwrap()], None);
    let sigs2 = gpg.ok(&["--check-sigs", "--with-colons", &c.fpr], None);
    let good: Vec<&str> = sigs2
        .lines()
        .filter(|l| l.starts_with("sig:!:") && l.contains(":10x:"))
        .collect();
    assert_eq!(
        good.len(),
        3,
        "2 roots + cross-signature: {sigs2}\n(before issuers: {sigs})"
    );
    assert!(
        sigs2
            .lines()
            .filter(|l| l.starts_with("sig:"))
            .all(|l| l.starts_with("sig:!:")),
        "{sigs2}"
    );
    assert!(
        sigs2.contains(&prev["fingerprint"].as_str().unwrap()[24..]),
        "cross-signature present"
    );
    // Nothing secret went up.
    let url = format!(
        "{}/pks/lookup?op=get&options=mr&search=0x{}",
        ks.replace("hkp://", "http://"),
        c.fpr
    );
    let served = http_get(&url);
    assert!(served.contains("BEGIN PGP PUBLIC KEY BLOCK") && !served.contains("PRIVATE"));
    let served_cert = Cert::from_bytes(served.as_bytes()).unwrap();
    assert!(!served_cert.is_tsk());
    // The third root sends her certification to the keyserver; fetch picks it up.
    c.roots[2].certify(&c.env, &cert, &c.fpr);
    c.roots[2]
        .gpg
        .ok(&["--keyserver", &ks, "--send-keys", &c.fpr], None);
    let out = c
        .env
        .cmd_at(LATER)
        // A dead keyserver first: reported, skipped, the live one used.
        .args([
            "--json",
            "attestations",
            "fetch",
            "--keyserver",
            "hkp://127.0.0.1:1",
            "--keyserver",
            &ks,
        ])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(
        err.contains("127.0.0.1:1") && err.contains("skipped"),
        "{err}"
    );
    let s = status(&c);
    assert_eq!(
        s["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["cycle"] == "2027.1")
            .unwrap()["attestations"]["by"]
            .as_array()
            .unwrap()
            .len(),
        3,
        "{s}"
    );
    // The publication is recorded.
    let state = std::fs::read_to_string(cert.parent().unwrap().join("state.toml")).unwrap();
    assert!(state.contains(&ks), "{state}");
}

fn http_get(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn keyserver_faults_fail_clearly_and_leave_the_vault_unchanged() {
    let c = ceremony(1);
    let cases = [
        (Fault::Closed, "nothing listening"),
        (Fault::Http500, "HTTP 500"),
        (Fault::AddFailed, "Add failed"),
        (Fault::Silent, "never answers"),
    ];
    for (fault, what) in cases {
        let (url, _) = fake_server(fault);
        let before = snapshot(&c.env.vault);
        let start = std::time::Instant::now();
        let out = c.env.run_at(
            LATER,
            &["publish", "2027.1", "--timeout", "1", "--keyserver", &url],
        );
        let e = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{what}");
        assert_ne!(out.status.code(), Some(101), "{what}: {e}");
        assert!(
            e.starts_with(&format!("error: {url}")),
            "{what}: the error names the server: {e}"
        );
        assert!(e.contains("hint:"), "{what}: {e}");
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "{what}: bounded"
        );
        assert_eq!(before, snapshot(&c.env.vault), "{what}: vault changed");
        if what == "Add failed" {
            assert!(e.contains("refused"), "{e}");
        }
    }
}

#[test]
fn certify_checks_the_fingerprint() {
    let c = ceremony(1);
    let me = gpg_root(&c.env, "Frank");
    let secret = c.env.path("frank-secret.asc");
    std::fs::write(
        &secret,
        me.gpg
            .ok(&["--armor", "--export-secret-keys", &me.fpr], None),
    )
    .unwrap();
    let target = c.cert.to_str().unwrap();
    let wrong = "0000 1111 2222 3333 4444  5555 6666 7777 8888 9999";
    let out = c
        .env
        .cmd_at(LATER)
        .args(["certify", target, "--with-key"])
        .arg(&secret)
        .args(["--fingerprint", wrong])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not match"));
    let out = c
        .env
        .cmd_at(LATER)
        .args(["certify", target, "--with-key"])
        .arg(&secret)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("pass --fingerprint"));
    let certified = c.env.path("certified.asc");
    let last4 = &c.fpr[24..];
    c.env
        .cmd_at(LATER)
        .args(["certify", target, "--with-key"])
        .arg(&secret)
        .args(["--fingerprint", last4, "-o"])
        .arg(&certified)
        .assert()
        .success();
    // gpg sees Frank's valid certification.
    let gpg = Gpg::at(LATER);
    gpg.ok(
        &[
            "--import",
            me.public.to_str().unwrap(),
            certified.to_str().unwrap(),
        ],
        None,
    );
    let sigs = gpg.ok(&["--check-sigs", "--with-colons", &c.fpr], None);
    assert!(
        sigs.lines()
            .any(|l| l.starts_with("sig:!:") && l.contains(&me.fpr[24..])),
        "{sigs}"
    );
}

#[test]
fn party_sheet_and_wkd() {
    let c = ceremony(2);
    let root = c.roots[0].public.to_str().unwrap().to_string();
    let text = c.env.ok(&["party", "sheet", "2027.1", &root]);
    assert!(text.contains("  1  [ ]"), "{text}");
    assert!(text.contains("OpenStack Infra (2027.1/Indri Cycle) <infra-root@openstack.org>"));
    let grouped = c
        .fpr
        .as_bytes()
        .chunks(4)
        .map(|g| std::str::from_utf8(g).unwrap())
        .collect::<Vec<_>>();
    assert!(
        text.contains(&format!(
            "{}  {}",
            grouped[..5].join(" "),
            grouped[5..].join(" ")
        )),
        "{text}"
    );
    assert!(text.contains("SHA-256 of the list above: "));
    assert_eq!(
        text,
        c.env.ok(&["party", "sheet", "2027.1", &root]),
        "deterministic"
    );
    let md = c
        .env
        .ok(&["party", "sheet", "--format", "markdown", "2027.1", &root]);
    assert!(md.contains("| 1 |") && md.contains("| 2 |"), "{md}");
    let wkd = c.env.path("wkd");
    c.env
        .cmd_at(LATER)
        .args(["publish", "2027.1", "--no-keyserver", "--wkd"])
        .arg(&wkd)
        .assert()
        .success();
    let hu = wkd.join(".well-known/openpgpkey/openstack.org/hu");
    let files: Vec<_> = std::fs::read_dir(&hu).unwrap().collect();
    assert_eq!(files.len(), 1);
    let cert = Cert::from_file(files[0].as_ref().unwrap().path()).unwrap();
    assert_eq!(cert.fingerprint().to_hex(), c.fpr);
    assert!(!cert.is_tsk());
}

#[test]
fn revoke_with_publish_reaches_the_keyserver() {
    let ks = keyserver();
    let c = ceremony(1);
    c.env
        .cmd_at(LATER)
        .args(["publish", "2027.1", "--keyserver", &ks])
        .assert()
        .success();
    let out = c
        .env
        .cmd_at(LATER)
        .args(REVOKE_SUPERSEDED)
        .arg("--identity")
        .arg(&c.age_id)
        .args(["--publish", "--keyserver", &ks])
        .output()
        .unwrap();
    assert_ok(&out);
    let gpg = Gpg::at(LATER);
    gpg.ok(&["--keyserver", &ks, "--recv-keys", &c.fpr], None);
    let listing = gpg.ok(&["--list-keys", "--with-colons", &c.fpr], None);
    assert!(
        listing.lines().any(|l| l.starts_with("pub:r:")),
        "{listing}"
    );
}
