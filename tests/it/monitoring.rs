//! Monitoring (issue 24, §3 Metrics): `status --format openmetrics` in
//! Prometheus' exposition format, judged by `promtool check metrics`, its
//! values those of `status --json`; the alert rules of
//! examples/monitoring/ judged by `promtool test rules`.

use std::collections::BTreeMap;
use std::process::{Command, Stdio};

use crate::common::*;

const T: &str = "2026-08-15T10:00:00Z";

/// `status --format openmetrics` at `at`.
fn metrics(env: &Env, at: &str) -> String {
    env.ok_at(at, &["status", "--format", "openmetrics"])
}

/// `promtool check metrics` on `text`: whether it passes, and what it said.
fn promtool_check(text: &str) -> (bool, String) {
    require("promtool");
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success() && said.trim().is_empty(), said)
}

/// The samples: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, i64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| {
            let (series, value) = l.rsplit_once(' ').unwrap();
            (series.to_string(), value.parse().unwrap())
        })
        .collect()
}

fn ts(iso: &serde_json::Value) -> i64 {
    chrono::DateTime::parse_from_rfc3339(iso.as_str().unwrap())
        .unwrap()
        .timestamp()
}

#[test]
fn promtool_accepts_the_metrics_and_they_match_the_json() {
    let env = Env::new(T);
    env.vault_with_ada();
    env.generate("current");
    env.generate("next");
    let text = metrics(&env, T);
    let (ok, said) = promtool_check(&text);
    assert!(ok, "promtool check metrics:\n{said}\n{text}");
    assert_eq!(text, metrics(&env, T), "deterministic");
    let m = samples(&text);
    let json: serde_json::Value = serde_json::from_str(&env.ok(&["--json", "status"])).unwrap();
    let keys = json["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    for k in keys {
        let labels = format!(
            "{{cycle=\"{}\",fingerprint=\"{}\"}}",
            k["cycle"].as_str().unwrap(),
            k["fingerprint"].as_str().unwrap()
        );
        let get = |name: &str| m[&format!("keycycle_{name}{labels}")];
        assert_eq!(get("key_creation_timestamp_seconds"), ts(&k["created"]));
        assert_eq!(get("key_expiry_timestamp_seconds"), ts(&k["expires"]));
        assert_eq!(get("key_revoked"), i64::from(k.get("revocation").is_some()));
        let current = i64::from(k["cycle"] == json["current_cycle"]);
        assert_eq!(get("key_current_cycle"), current);
        let by = k["attestations"]["by"].as_array().unwrap().len() as i64;
        assert_eq!(get("key_root_attestations"), by);
        let changes = k["unpublished"]["changes"].as_array().unwrap().len() as i64;
        assert_eq!(get("key_unpublished_changes"), changes);
    }
    assert!(
        m.contains_key("keycycle_audit_last_entry_timestamp_seconds"),
        "{text}"
    );
    assert!(
        m.contains_key("keycycle_policy_expiry_timestamp_seconds"),
        "{text}"
    );
}

#[test]
fn the_next_key_window_and_whether_its_key_exists() {
    let env = Env::new(T);
    env.vault_with_ada();
    env.generate("current");
    let before = samples(&metrics(&env, T));
    let present = |m: &BTreeMap<String, i64>| {
        m.iter()
            .find(|(k, _)| k.starts_with("keycycle_next_key_present{"))
            .map(|(_, v)| *v)
    };
    assert_eq!(present(&before), Some(0), "{before:?}");
    let start = before
        .iter()
        .find(|(k, _)| k.starts_with("keycycle_next_key_window_start_timestamp_seconds{"))
        .map(|(_, v)| *v)
        .unwrap();
    let end = before
        .iter()
        .find(|(k, _)| k.starts_with("keycycle_next_key_window_end_timestamp_seconds{"))
        .map(|(_, v)| *v)
        .unwrap();
    assert!(start <= end, "{before:?}");
    env.generate("next");
    assert_eq!(present(&samples(&metrics(&env, T))), Some(1));
}

#[test]
fn format_json_is_the_json_and_text_the_text() {
    let env = Env::new(T);
    env.vault_with_ada();
    env.generate("current");
    assert_eq!(
        env.ok(&["status", "--format", "json"]),
        env.ok(&["--json", "status"])
    );
    assert_eq!(env.ok(&["status", "--format", "text"]), env.ok(&["status"]));
    let out = env.fails(&["--json", "status", "--format", "openmetrics"]);
    one_refusal(&out);
}

/// examples/monitoring/ in the repository.
fn examples() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/monitoring")
}

#[test]
fn the_alert_rules_pass_their_promtool_tests() {
    require("promtool");
    let out = Command::new("promtool")
        .args(["test", "rules", "keycycle.rules.test.yml"])
        .current_dir(examples())
        .output()
        .unwrap();
    assert_ok(&out);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("SUCCESS"), "{said}");
}

#[test]
fn the_alert_rules_read_metrics_keycycle_writes() {
    let env = Env::new(T);
    env.vault_with_ada();
    env.generate("current");
    let text = metrics(&env, T);
    let rules = std::fs::read_to_string(examples().join("keycycle.rules.yml")).unwrap();
    let mut named = 0;
    for word in rules.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        if word.starts_with("keycycle_") {
            named += 1;
            assert!(text.contains(&format!("# TYPE {word} gauge")), "{word}");
        }
    }
    assert!(named >= 5, "{rules}");
}

#[test]
fn the_service_and_timer_pass_systemd_analyze_verify() {
    let found = Command::new("sh")
        .args(["-c", "command -v systemd-analyze"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !found {
        eprintln!("systemd-analyze is not installed (it comes with systemd): not checked");
        return;
    }
    let out = Command::new("systemd-analyze")
        .args([
            "verify",
            "./keycycle-metrics.service",
            "./keycycle-metrics.timer",
        ])
        .current_dir(examples())
        .output()
        .unwrap();
    assert_ok(&out);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.trim().is_empty(), "{said}");
    // Written atomically: into a temporary file, then renamed.
    let unit = std::fs::read_to_string(examples().join("keycycle-metrics.service")).unwrap();
    assert!(
        unit.contains("status --format openmetrics > \"$$tmp\""),
        "{unit}"
    );
    assert!(unit.contains("mv \"$$tmp\""), "{unit}");
}
