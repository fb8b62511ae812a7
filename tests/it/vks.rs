//! keys.openpgp.org (VKS) strips third-party certifications and
//! unverified user IDs from every key: the fetch-back after `publish`
//! reports that as expected when the server speaks VKS, and as missing
//! signatures (a failure) when an HKP server does the same.

use crate::common::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use openpgp::parse::Parse;
use openpgp::serialize::SerializeInto;
use sequoia_openpgp as openpgp;

const LATER: &str = "2026-09-02T00:00:00Z";

/// A loopback keyserver that keeps keys without their user IDs (so
/// without certifications), as keys.openpgp.org does for unverified
/// addresses; with `vks`, it also answers `/vks/v1/by-fingerprint/`.
fn stripping_server(vks: bool) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let stored: Arc<Mutex<Option<Vec<u8>>>> = Arc::default();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut line = String::new();
            r.read_line(&mut line).unwrap();
            let mut len = 0;
            loop {
                let mut h = String::new();
                r.read_line(&mut h).unwrap();
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                if h == "\r\n" || h.is_empty() {
                    break;
                }
            }
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let (status, answer) = if line.starts_with("POST /pks/add") {
                let text = url::form_urlencoded::parse(&body)
                    .find(|(k, _)| k == "keytext")
                    .unwrap()
                    .1
                    .into_owned();
                let cert = openpgp::Cert::from_bytes(text.as_bytes()).unwrap();
                let kept = cert.retain_userids(|_| false);
                *stored.lock().unwrap() = Some(kept.armored().to_vec().unwrap());
                ("200 OK", Vec::new())
            } else if path.starts_with("/pks/lookup") || (vks && path.starts_with("/vks/v1/")) {
                match stored.lock().unwrap().clone() {
                    Some(k) => ("200 OK", k),
                    None => ("404 Not Found", Vec::new()),
                }
            } else {
                ("404 Not Found", Vec::new())
            };
            let _ = write!(
                s,
                "HTTP/1.1 {status}\r\nContent-Type: application/pgp-keys\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                answer.len()
            );
            let _ = s.write_all(&answer);
        }
    });
    format!("hkp://127.0.0.1:{port}")
}

/// A vault key certified by its root Ada (imported as an attestation).
fn certified_key() -> Keyed {
    let (k, ada, _bob) = vault_with_signed_key("2026-08-01T12:00:00Z");
    let cert = k.env.key_dir().join("cert.asc");
    let certified = k.env.path("certified.asc");
    k.env
        .cmd_at(LATER)
        .args(["certify", cert.to_str().unwrap(), "--with-key"])
        .arg(&ada.secret)
        .args(["--fingerprint", &k.fpr[24..], "-o"])
        .arg(&certified)
        .assert()
        .success();
    k.env
        .cmd_at(LATER)
        .args(["attestations", "import"])
        .arg(&certified)
        .assert()
        .success();
    k
}

#[test]
fn a_vks_server_stripping_certifications_is_expected_an_hkp_server_doing_it_fails() {
    let k = certified_key();
    let vks = stripping_server(true);
    let out = k.env.run_at(
        LATER,
        &["publish", &k.fpr, "--keyserver", &vks, "--timeout", "5"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("stripped by a VKS server, as it does for every key"),
        "{stdout}"
    );
    assert!(stdout.contains("every revocation is there"), "{stdout}");
    // The same stripping by a server without the VKS API: a failure.
    let hkp = stripping_server(false);
    let err =
        one_refusal(
            &k.env
                .fails(&["publish", &k.fpr, "--keyserver", &hkp, "--timeout", "5"]),
        );
    assert!(err.contains("missing after upload"), "{err}");
}
