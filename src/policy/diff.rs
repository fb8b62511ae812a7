//! What one policy version changes from another, for the roots who review
//! it before signing (`keycycle policy show`): roots added, removed or
//! changed (every field, recipients in full), keys added, removed or moved
//! to another cycle, and every other field that differs (thresholds, and
//! whatever a later format adds) compared as data, so a new field cannot
//! change unseen. The text is raw: whoever shows it escapes it
//! ([`crate::base::text::shown`]).

use serde::Serialize;

use super::{Policy, PolicyKey, Root};

/// One field's old and new value (`None`: absent).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Field {
    pub name: String,
    pub from: Option<String>,
    pub to: Option<String>,
}

/// One difference between two versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    RootAdded {
        root: Root,
    },
    RootRemoved {
        root: Root,
    },
    /// `name` as the older version has it.
    RootChanged {
        name: String,
        fields: Vec<Field>,
    },
    KeyAdded {
        key: PolicyKey,
    },
    KeyRemoved {
        key: PolicyKey,
    },
    KeyChanged {
        fingerprint: String,
        fields: Vec<Field>,
    },
    /// A field of the policy itself: a threshold, or any other.
    Changed {
        field: Field,
    },
}

/// The fields of the policy compared one by one rather than as data.
const STRUCTURED: &[&str] = &["root", "key", "version", "previous"];

/// Everything `new` changes from `old`; empty when they say the same.
pub fn diff(old: &Policy, new: &Policy) -> Vec<Change> {
    let mut out = roots(&old.roots, &new.roots);
    out.extend(keys(&old.keys, &new.keys));
    let (a, b) = (as_map(old), as_map(new));
    let names: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for name in names {
        if STRUCTURED.contains(&name.as_str()) || a.get(name) == b.get(name) {
            continue;
        }
        out.push(Change::Changed {
            field: Field {
                name: name.clone(),
                from: a.get(name).map(value_text),
                to: b.get(name).map(value_text),
            },
        });
    }
    out
}

/// The policy's fields as data; a field written only when it is not its
/// default (`revocation_threshold`) with that default, so a change from
/// it reads "1 -> 2".
fn as_map(p: &Policy) -> serde_json::Map<String, serde_json::Value> {
    let mut m = match serde_json::to_value(p) {
        Ok(serde_json::Value::Object(m)) => m,
        _ => serde_json::Map::new(),
    };
    m.insert("revocation_threshold".into(), p.revocation_threshold.into());
    m
}

fn value_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

fn field(name: &str, from: Option<&str>, to: Option<&str>) -> Option<Field> {
    (from != to).then(|| Field {
        name: name.into(),
        from: from.map(str::to_string),
        to: to.map(str::to_string),
    })
}

/// Roots paired by name, then by OpenPGP fingerprint; the rest are added
/// or removed.
fn roots(old: &[Root], new: &[Root]) -> Vec<Change> {
    let mut out = Vec::new();
    let mut unmatched: Vec<Option<&Root>> = new.iter().map(Some).collect();
    let mut removed = Vec::new();
    let mut pairs = Vec::new();
    for o in old {
        let by = |same: &dyn Fn(&Root) -> bool| unmatched.iter().position(|n| n.is_some_and(same));
        let i = by(&|n| n.name == o.name).or_else(|| {
            o.fingerprint
                .as_ref()
                .and_then(|f| by(&|n| n.fingerprint.as_ref() == Some(f)))
        });
        match i.and_then(|i| unmatched[i].take()) {
            Some(n) => pairs.push((o, n)),
            None => removed.push(o),
        }
    }
    for (o, n) in pairs {
        let fields: Vec<Field> = [
            field("name", Some(&o.name), Some(&n.name)),
            field("email", Some(&o.email), Some(&n.email)),
            field(
                "OpenPGP",
                o.fingerprint.as_deref(),
                n.fingerprint.as_deref(),
            ),
            field(
                "escrow",
                Some(&o.escrow_recipient),
                Some(&n.escrow_recipient),
            ),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !fields.is_empty() || o != n {
            out.push(Change::RootChanged {
                name: o.name.clone(),
                fields,
            });
        }
    }
    out.extend(
        removed
            .into_iter()
            .map(|r| Change::RootRemoved { root: r.clone() }),
    );
    out.extend(
        unmatched
            .into_iter()
            .flatten()
            .map(|r| Change::RootAdded { root: r.clone() }),
    );
    out
}

/// Keys paired by fingerprint.
fn keys(old: &[PolicyKey], new: &[PolicyKey]) -> Vec<Change> {
    let mut out = Vec::new();
    for o in old {
        match new.iter().find(|n| n.fingerprint == o.fingerprint) {
            None => out.push(Change::KeyRemoved { key: o.clone() }),
            Some(n) if n != o => out.push(Change::KeyChanged {
                fingerprint: o.fingerprint.clone(),
                fields: field("cycle", Some(&o.cycle), Some(&n.cycle))
                    .into_iter()
                    .collect(),
            }),
            Some(_) => {}
        }
    }
    for n in new {
        if !old.iter().any(|o| o.fingerprint == n.fingerprint) {
            out.push(Change::KeyAdded { key: n.clone() });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root(name: &str, fpr: char) -> Root {
        Root {
            name: name.into(),
            email: format!("{}@example.org", name.to_lowercase()),
            fingerprint: Some(fpr.to_string().repeat(40)),
            escrow_recipient: format!("age1{name}"),
        }
    }

    fn policy(roots: Vec<Root>, keys: Vec<PolicyKey>) -> Policy {
        Policy {
            format: 1,
            version: 1,
            previous: None,
            policy_threshold: 1,
            escrow_threshold: 1,
            revocation_threshold: 1,
            expires: None,
            audit_head: None,
            keyservers: Vec::new(),
            announce_template: None,
            roots,
            keys,
        }
    }

    fn key(cycle: &str, fpr: char) -> PolicyKey {
        PolicyKey {
            cycle: cycle.into(),
            fingerprint: fpr.to_string().repeat(40),
            revoked: None,
        }
    }

    #[test]
    fn the_same_policy_changes_nothing() {
        let p = policy(vec![root("Ada", 'A')], vec![key("2027.1", 'C')]);
        let mut next = p.clone();
        next.version = 2;
        next.previous = Some("sha256:00".into());
        assert_eq!(diff(&p, &next), vec![]);
    }

    #[test]
    fn expiry_keyservers_and_revocations_are_changes() {
        let p = policy(vec![root("Ada", 'A')], vec![key("2027.1", 'C')]);
        let mut next = p.clone();
        next.keyservers = vec!["hkp://127.0.0.1:1".into()];
        next.keys[0].revoked = Some("compromised".into());
        let changes = diff(&p, &next);
        assert!(
            changes
                .iter()
                .any(|c| matches!(c, Change::KeyChanged { .. })),
            "{changes:?}"
        );
        assert!(
            changes
                .iter()
                .any(|c| matches!(c, Change::Changed { field } if field.name == "keyservers")),
            "{changes:?}"
        );
    }

    #[test]
    fn every_change_is_named() {
        let old = policy(
            vec![root("Ada", 'A'), root("Bob", 'B')],
            vec![key("2027.1", 'C'), key("2027.2", 'D')],
        );
        let mut ada = root("Ada", 'A');
        ada.escrow_recipient = "age1mallory".into();
        let mut new = policy(
            vec![ada, root("Eve", 'E')],
            vec![key("2027.3", 'C'), key("2028.1", 'F')],
        );
        new.policy_threshold = 2;
        let d = diff(&old, &new);
        assert!(d.contains(&Change::RootChanged {
            name: "Ada".into(),
            fields: vec![Field {
                name: "escrow".into(),
                from: Some("age1Ada".into()),
                to: Some("age1mallory".into()),
            }],
        }));
        assert!(d.contains(&Change::RootRemoved {
            root: root("Bob", 'B')
        }));
        assert!(d.contains(&Change::RootAdded {
            root: root("Eve", 'E')
        }));
        assert!(d.contains(&Change::KeyRemoved {
            key: key("2027.2", 'D')
        }));
        assert!(d.contains(&Change::KeyAdded {
            key: key("2028.1", 'F')
        }));
        assert!(d.iter().any(|c| matches!(c, Change::KeyChanged { .. })));
        assert!(d.contains(&Change::Changed {
            field: Field {
                name: "policy_threshold".into(),
                from: Some("1".into()),
                to: Some("2".into()),
            }
        }));
        assert_eq!(d.len(), 7, "{d:#?}");
    }

    #[test]
    fn the_revocation_threshold_is_a_change_from_its_default() {
        let p = policy(vec![root("Ada", 'A'), root("Bob", 'B')], vec![]);
        let mut next = p.clone();
        next.escrow_threshold = 2;
        next.revocation_threshold = 2;
        let d = diff(&p, &next);
        assert!(
            d.contains(&Change::Changed {
                field: Field {
                    name: "revocation_threshold".into(),
                    from: Some("1".into()),
                    to: Some("2".into()),
                }
            }),
            "{d:#?}"
        );
        assert_eq!(diff(&next, &p).len(), 2, "and back");
    }

    #[test]
    fn a_renamed_root_is_paired_by_fingerprint() {
        let old = policy(vec![root("Ada", 'A')], vec![]);
        let mut renamed = root("Ada", 'A');
        renamed.name = "Ada L.".into();
        let d = diff(&old, &policy(vec![renamed], vec![]));
        assert!(
            matches!(&d[..], [Change::RootChanged { fields, .. }] if fields[0].name == "name"),
            "{d:#?}"
        );
    }
}
