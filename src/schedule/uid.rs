//! Cycles in user IDs: the user ID a cycle's key gets, and the cycle a
//! user ID names.

use super::Cycle;
use crate::config::Config;

/// The user ID of `cycle`'s key, from the configured template.
pub fn user_id(config: &Config, cycle: &Cycle) -> String {
    config
        .uid_template
        .replace("{organisation}", &config.organisation)
        .replace("{email}", &config.email)
        .replace("{cycle}", &cycle.label())
        .replace("{id}", &cycle.id)
        .replace("{name}", cycle.name.as_deref().unwrap_or(&cycle.id))
}

/// Cycle names in user IDs: `(2026.2/Hibiscus Cycle)`, `(Epoxy Cycle)`,
/// `(Newton Cycle)`. Returns (release id, name).
pub fn cycle_from_uid(uid: &str) -> Option<(Option<String>, String)> {
    static RE: std::sync::OnceLock<Option<regex::Regex>> = std::sync::OnceLock::new();
    if !uid.contains("ycle)") {
        return None;
    }
    let re = RE
        .get_or_init(|| regex::Regex::new(r"\((?:(\d{4}\.\d+)/)?([A-Za-z]+) [Cc]ycle\)").ok())
        .as_ref()?;
    let caps = re.captures(uid)?;
    Some((
        caps.get(1).map(|m| m.as_str().to_string()),
        caps[2].to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uid_cycles() {
        assert_eq!(
            cycle_from_uid("OpenStack Infra (2026.2/Hibiscus Cycle) <infra-root@openstack.org>"),
            Some((Some("2026.2".into()), "Hibiscus".into()))
        );
        assert_eq!(
            cycle_from_uid("OpenStack Infra (Epoxy Cycle) <infra-root@openstack.org>"),
            Some((None, "Epoxy".into()))
        );
        assert_eq!(cycle_from_uid("Alice <a@example.org>"), None);
    }
}
