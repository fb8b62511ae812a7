//! The cycle schedule: embedded, from a series_status.yaml path, or custom.

use crate::common::*;

fn cycles(env: &Env, args: &[&str]) -> serde_json::Value {
    let mut a = vec!["--json", "cycles"];
    a.extend_from_slice(args);
    serde_json::from_str(&env.ok(&a)).unwrap()
}

fn find<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["cycles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {report}"))
}

#[test]
fn embedded_schedule_without_a_vault() {
    let env = Env::new("2026-08-01");
    let r = cycles(&env, &[]);
    assert_eq!(r["current"], "2026.2");
    let indri = find(&r, "2027.1");
    assert_eq!(indri["name"], "Indri");
    assert_eq!(indri["start"], "2026-10-05");
    assert_eq!(indri["release"], "2027-03-24");
    assert_eq!(indri["create_from"], "2026-08-10");
    assert_eq!(indri["create_by"], "2026-10-05");
    assert_eq!(indri["expires"], "2027-05-28T00:00:00Z");
    assert_eq!(indri["projected"], false);
    assert_eq!(find(&r, "2027.2")["projected"], true);
    let all = cycles(&env, &["--all"]);
    assert!(all["cycles"].as_array().unwrap().len() > 30);
    assert_eq!(find(&all, "newton")["name"], "Newton");
    // The human table marks the current cycle and projected ones.
    let text = env.ok(&["cycles"]);
    assert!(text.contains("*  2026.2"), "{text}");
    assert!(text.contains("(projected)"), "{text}");
}

#[test]
fn a_series_status_file_given_by_path() {
    let env = Env::new("2026-08-01");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/schedule");
    let r = cycles(
        &env,
        &[
            "--series-status",
            &format!("{dir}/series_status.yaml"),
            "--schedules",
            &format!("{dir}/schedules"),
        ],
    );
    assert_eq!(find(&r, "2027.1")["start"], "2026-10-05");
    // Without the schedule files, a cycle starts the Monday after the previous release.
    let r = cycles(
        &env,
        &["--series-status", &format!("{dir}/series_status.yaml")],
    );
    assert_eq!(find(&r, "2027.1")["start"], "2026-10-05");
    assert_eq!(find(&r, "2026.2")["start"], "2026-04-06");
    // Not YAML of the right shape: a one-line error.
    let bad = env.path("bad.yaml");
    std::fs::write(&bad, "name: [not, a, list\n").unwrap();
    let out = env
        .cmd()
        .args(["cycles", "--series-status"])
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(e.starts_with("error: ") && e.contains("hint: "), "{e}");
}

#[test]
fn a_custom_schedule_in_the_config() {
    let env = Env::new("2030-02-01");
    env.ok(&["init"]);
    let path = env.vault.join("keycycle.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let custom = text.replace("source = \"embedded\"", "source = \"custom\"")
        + "\n[[schedule.cycles]]\nid = \"2030a\"\nname = \"Alpha\"\nstart = 2030-01-06\nrelease = 2030-04-01\n\n[[schedule.cycles]]\nid = \"2030b\"\nname = \"Beta\"\nstart = 2030-04-07\nrelease = 2030-07-01\n";
    let custom = custom
        .replace(
            "organisation = \"OpenStack Infra\"",
            "organisation = \"Example Infra\"",
        )
        .replace("infra-root@openstack.org", "root@example.org");
    std::fs::write(&path, custom).unwrap();
    let r = cycles(&env, &[]);
    assert_eq!(r["current"], "2030a");
    // The next (projected) cycle starts the Monday after 2030-07-01 (itself a
    // Monday): 2030-07-08, + 60 days.
    assert_eq!(find(&r, "2030b")["expires"], "2030-09-06T00:00:00Z");
    let (_, rcpt) = env.age_identity("x");
    let out: serde_json::Value = serde_json::from_str(&env.ok(&[
        "--json",
        "generate",
        "--cycle",
        "next",
        "--escrow-recipient",
        &rcpt,
    ]))
    .unwrap();
    assert_eq!(
        out["user_id"],
        "Example Infra (2030b/Beta Cycle) <root@example.org>"
    );
    assert_eq!(out["expires"], "2030-09-06T00:00:00Z");
}
