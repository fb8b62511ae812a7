//! The user ID a cycle's key gets (the cycle a user ID names is
//! `cert::cycle_from_uid`).

use super::Cycle;
use crate::vault::config::Config;

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
