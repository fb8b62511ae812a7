//! The Features subpacket advertises what the key's readers can decrypt:
//! a v4 key says SEIPDv1 (with MDC) only, so RFC 9580 senders do not
//! encrypt to its encryption subkey in SEIPDv2, which GnuPG 2.2/2.4 cannot
//! read. Extending the key keeps it so.

use crate::common::*;

use openpgp::parse::Parse;
use sequoia_openpgp as openpgp;

const T: &str = "2026-08-01T12:00:00Z";

/// Every self-signature of `cert.asc` that carries Features: (v1, v2).
fn advertised(cert: &std::path::Path) -> Vec<(String, bool, bool)> {
    let cert = openpgp::Cert::from_file(cert).unwrap();
    assert_eq!(cert.primary_key().key().version(), 4);
    let primary = cert.primary_key().self_signatures().map(|s| ("direct", s));
    let uids = cert
        .userids()
        .flat_map(|u| u.self_signatures().map(|s| ("user ID", s)));
    primary
        .chain(uids)
        .filter_map(|(what, s)| {
            let f = s.features()?;
            let at = openpgp::types::Timestamp::try_from(s.signature_creation_time()?).unwrap();
            Some((
                format!("{what} {at}"),
                f.supports_seipdv1(),
                f.supports_seipdv2(),
            ))
        })
        .collect()
}

#[test]
fn a_v4_key_advertises_seipdv1_only_and_keeps_it_when_extended() {
    let env = Env::new(T);
    let roster = env.vault_with_roster();
    env.ok(&["generate", "--cycle", "indri", "--encryption-subkey"]);
    let cert = env.key_dir().join("cert.asc");
    let before = advertised(&cert);
    assert!(!before.is_empty(), "the user ID binding carries Features");
    for (what, v1, v2) in &before {
        assert!(*v1 && !*v2, "{what}: SEIPDv1 only, got v1={v1} v2={v2}");
    }
    env.cmd_at("2026-09-01")
        .args(["extend", "indri", "--until", "2027-08-01", "--identity"])
        .arg(&roster.age_id)
        .assert()
        .success();
    let after = advertised(&cert);
    assert!(after.len() > before.len(), "extend made new bindings");
    for (what, v1, v2) in &after {
        assert!(*v1 && !*v2, "{what}: SEIPDv1 only, got v1={v1} v2={v2}");
    }
    // gpg reads the same: features 01 (MDC), never 09.
    let packets = Gpg::at("2026-09-01").ok(&["--list-packets", cert.to_str().unwrap()], None);
    assert!(packets.contains("(features: 01)"), "{packets}");
    assert!(!packets.contains("(features: 09)"), "{packets}");
}
