//! What keycycle tells people to run rejects what keycycle rejects (issue
//! 21, item 6). gpg exits 0 and prints `VALIDSIG` for a signature by a
//! revoked or expired key, so a check that greps `VALIDSIG … FPR` passes a
//! release signed with a compromised key. Every gpg check keycycle ships —
//! the key page's (`keycycle::publish::page::gpg_check`) and each runbook line with
//! `--status-fd 1 --verify` — is run here as written against a good
//! signature, a revoked key's, an expired key's and a modified file: only
//! the first passes.

use crate::common::*;
use std::path::Path;

use openpgp::cert::prelude::*;
use openpgp::serialize::Serialize;
use sequoia_openpgp as openpgp;

const NOW: &str = "2026-10-01T00:00:00Z";
const SIGNED: &str = "2026-03-01T00:00:00Z";

/// A key made 2026-01-01 (expiring `expires` days later), its secret key
/// armored, and its fingerprint.
fn key(days: Option<u64>) -> (Cert, Vec<u8>) {
    let mut b = CertBuilder::general_purpose(Some("Release <release@example.org>"))
        .set_creation_time(system_time("2026-01-01T00:00:00Z"));
    b = b.set_validity_period(days.map(|d| std::time::Duration::from_secs(d * 86_400)));
    let (cert, _) = b.generate().unwrap();
    let mut tsk = Vec::new();
    cert.as_tsk().armored().serialize(&mut tsk).unwrap();
    (cert, tsk)
}

struct Case {
    name: &'static str,
    gpg: Gpg,
    fpr: String,
    artifact: std::path::PathBuf,
    announcement: std::path::PathBuf,
}

/// Sign with gpg at SIGNED; then revoke the key or modify the files.
fn case(env: &Env, name: &'static str, days: Option<u64>, revoke: bool, modify: bool) -> Case {
    let (cert, tsk) = key(days);
    let signer = Gpg::at(SIGNED);
    signer.ok(&["--import"], Some(&tsk));
    let artifact = env.path(&format!("{name}.tar.gz"));
    std::fs::write(&artifact, name.as_bytes()).unwrap();
    let a = artifact.to_str().unwrap();
    signer.ok(
        &["--armor", "--detach-sign", "-o", &format!("{a}.asc"), a],
        None,
    );
    let announcement = env.path(&format!("{name}-announcement.txt"));
    let text = env.path(&format!("{name}-text.txt"));
    std::fs::write(&text, b"New key.\n").unwrap();
    signer.ok(
        &[
            "--clearsign",
            "-o",
            announcement.to_str().unwrap(),
            text.to_str().unwrap(),
        ],
        None,
    );
    let public = if revoke {
        hard_revoked(&cert, "2026-06-01T00:00:00Z")
    } else {
        cert.clone().strip_secret_key_material()
    };
    if modify {
        std::fs::write(&artifact, b"tampered").unwrap();
        let body = std::fs::read_to_string(&announcement)
            .unwrap()
            .replace("New key.", "New keys.");
        std::fs::write(&announcement, body).unwrap();
    }
    let gpg = Gpg::at(NOW);
    let mut pubbytes = Vec::new();
    public.armored().serialize(&mut pubbytes).unwrap();
    gpg.ok(&["--import"], Some(&pubbytes));
    Case {
        name,
        gpg,
        fpr: cert.fingerprint().to_hex(),
        artifact,
        announcement,
    }
}

/// Run `line` in bash as a reader would, gpg's clock at NOW.
fn passes(line: &str, c: &Case, vars: &[(&str, &Path)]) -> bool {
    let script = format!(
        "set -euo pipefail\ngpg() {{ command gpg --batch --no-tty --faked-system-time {}! \"$@\"; }}\n{line}\n",
        epoch(NOW)
    );
    let mut cmd = std::process::Command::new("bash");
    cmd.arg("-c")
        .arg(script)
        .env("GNUPGHOME", c.gpg.home.path())
        .env("TZ", "UTC")
        .env("FPR", &c.fpr);
    for (k, v) in vars {
        cmd.env(k, v);
    }
    cmd.output().unwrap().status.success()
}

#[test]
fn every_shipped_gpg_check_passes_only_a_good_signature() {
    require("gpg");
    let env = Env::new(NOW);
    let cases = [
        case(&env, "good", None, false, false),
        case(&env, "revoked", None, true, false),
        case(&env, "expired", Some(200), false, false),
        case(&env, "modified", None, false, true),
    ];
    // The lines: the key page's, and every runbook's.
    let mut lines: Vec<(String, String)> = vec![(
        "key page".into(),
        keycycle::publish::page::gpg_check("\"$ARTIFACT.asc\"", "\"$ARTIFACT\"", "\"$FPR\""),
    )];
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("runbooks");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        // The fingerprint checks (a line that counts two `GOODSIG`s, for
        // the two keys of an announcement, needs no fingerprint).
        let checks = text
            .lines()
            .filter(|l| l.contains("--status-fd 1 --verify") && l.contains("VALIDSIG"));
        for l in checks {
            lines.push((
                p.file_name().unwrap().to_string_lossy().into(),
                l.to_string(),
            ));
        }
    }
    assert!(lines.len() >= 3, "{lines:?}");
    for (from, line) in &lines {
        for c in &cases {
            let sig = format!("{}.asc", c.artifact.display());
            let vars: [(&str, &Path); 3] = [
                ("ARTIFACT", &c.artifact),
                ("ANNOUNCEMENT", &c.announcement),
                ("SIG", Path::new(&sig)),
            ];
            assert_eq!(
                passes(line, c, &vars),
                c.name == "good",
                "{from}: `{line}` on the {} case",
                c.name
            );
        }
    }
    // The old check passed the revoked key's signature: the reason for all
    // this.
    let old = "gpg --status-fd 1 --verify \"$ARTIFACT.asc\" \"$ARTIFACT\" 2>/dev/null | grep \"^\\[GNUPG:\\] VALIDSIG .* $FPR\\$\"";
    let revoked = &cases[1];
    assert!(passes(old, revoked, &[("ARTIFACT", &revoked.artifact)]));
}
