//! `publish --wkd`: both WKD layouts (advanced and direct, each with its
//! policy file), at the hash gpg computes; the `hu/` entry holds only the
//! keys valid at `--time`, the newest first — an expired or revoked
//! cycle's key is pruned.

use crate::common::*;
use std::path::{Path, PathBuf};

use openpgp::parse::{PacketParser, Parse};
use sequoia_openpgp as openpgp;

const EMAIL: &str = "infra-root@openstack.org";

/// gpg's WKD hash of the address's local part.
fn gpg_hash() -> String {
    require("/usr/lib/gnupg/gpg-wks-client");
    let out = std::process::Command::new("/usr/lib/gnupg/gpg-wks-client")
        .args(["--print-wkd-hash", EMAIL])
        .output()
        .unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    s.split_whitespace().next().unwrap().to_string()
}

/// The two entries: advanced, direct.
fn entries(wkd: &Path) -> [PathBuf; 2] {
    let h = gpg_hash();
    [
        wkd.join(format!(".well-known/openpgpkey/openstack.org/hu/{h}")),
        wkd.join(format!(".well-known/openpgpkey/hu/{h}")),
    ]
}

/// The primary fingerprints in a WKD entry, in order.
fn fingerprints(file: &Path) -> Vec<String> {
    openpgp::cert::CertParser::from(PacketParser::from_file(file).unwrap())
        .map(|c| c.unwrap().fingerprint().to_hex())
        .collect()
}

fn publish(env: &Env, at: &str, cycle: &str, wkd: &Path) {
    env.cmd_at(at)
        .args(["publish", cycle, "--no-keyserver", "--wkd"])
        .arg(wkd)
        .assert()
        .success();
}

#[test]
fn both_layouts_hold_the_keys_valid_now_newest_first_and_prune_expired_ones() {
    let env = Env::new("2026-03-01T00:00:00Z");
    env.vault_with_ada();
    let old = env.generate("2026.2")["fingerprint"]
        .as_str()
        .unwrap()
        .to_string();
    let wkd = env.path("wkd");
    publish(&env, "2026-03-02", "2026.2", &wkd);
    for dir in [
        ".well-known/openpgpkey/openstack.org",
        ".well-known/openpgpkey",
    ] {
        assert!(wkd.join(dir).join("policy").is_file(), "{dir}/policy");
    }
    for e in entries(&wkd) {
        assert_eq!(fingerprints(&e), [old.as_str()], "{}", e.display());
    }
    // The next cycle's key, in the overlap: both, the new one first.
    let out = env.run_at(
        "2026-08-15T10:00:00Z",
        &["--json", "generate", "--cycle", "2027.1"],
    );
    assert!(out.status.success());
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let new = j["fingerprint"].as_str().unwrap().to_string();
    publish(&env, "2026-08-16", "2027.1", &wkd);
    for e in entries(&wkd) {
        assert_eq!(
            fingerprints(&e),
            [new.as_str(), old.as_str()],
            "{}",
            e.display()
        );
    }
    // After the old key's expiry (2026-12-04): the new key alone.
    publish(&env, "2026-12-10", "2027.1", &wkd);
    for e in entries(&wkd) {
        assert_eq!(fingerprints(&e), [new.as_str()], "{}", e.display());
    }
}
