//! `status --format openmetrics`: the report in Prometheus' text
//! exposition format, for node_exporter's textfile collector. Families in
//! a fixed order, keys in the report's order, label values escaped.

use keycycle::status::{self, Report, VaultFigures};

/// One metric family: name, help, and its samples (labels, value).
struct Family {
    name: &'static str,
    help: &'static str,
    samples: Vec<(Vec<(&'static str, String)>, i64)>,
}

/// A label value as the exposition format wants it: `\`, `"` and newline
/// escaped.
pub fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// A family of one sample per key, labelled `cycle` and `fingerprint`.
fn per_key(
    report: &Report,
    name: &'static str,
    help: &'static str,
    value: impl Fn(&status::KeyStatus) -> i64,
) -> Family {
    let samples = report
        .keys
        .iter()
        .map(|k| {
            let labels = vec![
                ("cycle", k.cycle.clone()),
                ("fingerprint", k.fingerprint.clone()),
            ];
            (labels, value(k))
        })
        .collect();
    Family {
        name,
        help,
        samples,
    }
}

/// A family of one unlabelled sample, or none without a value.
fn single(name: &'static str, help: &'static str, value: Option<i64>) -> Family {
    Family {
        name,
        help,
        samples: value.into_iter().map(|v| (Vec::new(), v)).collect(),
    }
}

fn key_families(report: &Report) -> Vec<Family> {
    vec![
        per_key(
            report,
            "keycycle_key_creation_timestamp_seconds",
            "When the key was created.",
            |k| k.created.timestamp(),
        ),
        per_key(
            report,
            "keycycle_key_expiry_timestamp_seconds",
            "When the key expires.",
            |k| k.expires.timestamp(),
        ),
        per_key(
            report,
            "keycycle_key_revoked",
            "Whether the key is revoked (1) or not (0).",
            |k| i64::from(k.revocation.is_some()),
        ),
        per_key(
            report,
            "keycycle_key_current_cycle",
            "Whether the key belongs to the current cycle (1) or not (0).",
            |k| i64::from(k.cycle == report.current_cycle),
        ),
        per_key(
            report,
            "keycycle_key_root_attestations",
            "Roots of the signed policy whose certification of the key verifies.",
            |k| k.attestations.by.len() as i64,
        ),
        per_key(
            report,
            "keycycle_key_root_attestations_needed",
            "Root attestations the key needs: a majority of the roots who can attest.",
            |k| status::attestations_needed(k.attestations.of) as i64,
        ),
        per_key(
            report,
            "keycycle_key_unpublished_changes",
            "Changes to the key not yet published to some target the vault records.",
            |k| k.unpublished.changes.len() as i64,
        ),
    ]
}

fn vault_families(figures: &VaultFigures) -> Vec<Family> {
    let next = |name, help, value: &dyn Fn(&status::NextCycle) -> i64| Family {
        name,
        help,
        samples: figures
            .next
            .iter()
            .map(|n| (vec![("cycle", n.cycle.clone())], value(n)))
            .collect(),
    };
    vec![
        next(
            "keycycle_next_key_window_start_timestamp_seconds",
            "When the window to make the next cycle's key opens.",
            &|n| n.window_start.timestamp(),
        ),
        next(
            "keycycle_next_key_window_end_timestamp_seconds",
            "When the next cycle's key should be made by.",
            &|n| n.window_end.timestamp(),
        ),
        next(
            "keycycle_next_key_present",
            "Whether a trusted key for the next cycle is in the vault (1) or not (0).",
            &|n| i64::from(n.has_key),
        ),
        single(
            "keycycle_policy_expiry_timestamp_seconds",
            "When the signed policy in force expires.",
            figures.policy_expires.map(|t| t.timestamp()),
        ),
        single(
            "keycycle_audit_last_entry_timestamp_seconds",
            "When the newest entry of the vault's audit log was written.",
            figures.last_audit.map(|t| t.timestamp()),
        ),
    ]
}

/// The exposition text: HELP and TYPE for each family with samples.
pub fn render(report: &Report, figures: &VaultFigures) -> String {
    let mut out = String::new();
    let families = key_families(report)
        .into_iter()
        .chain(vault_families(figures));
    for f in families.filter(|f| !f.samples.is_empty()) {
        out.push_str(&format!("# HELP {} {}\n", f.name, f.help));
        out.push_str(&format!("# TYPE {} gauge\n", f.name));
        for (labels, value) in &f.samples {
            let shown: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            if shown.is_empty() {
                out.push_str(&format!("{} {value}\n", f.name));
            } else {
                out.push_str(&format!("{}{{{}}} {value}\n", f.name, shown.join(",")));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn label_values_escaped() {
        assert_eq!(escape("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
        assert_eq!(escape("2027"), "2027");
    }
}
