//! The record of a key ceremony, `ceremonies/<cycle>.toml`: which steps
//! finished, with a note each, and the key they are about.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Step;
use crate::base::error::{Error, Result};
use crate::base::fs::{atomic, fsx};
use crate::vault::Vault;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Record {
    pub cycle: String,
    #[serde(default)]
    pub fingerprint: Option<String>,
    /// Finished steps, with a note each (`publish = "hkp://…"`).
    #[serde(default)]
    pub done: BTreeMap<Step, String>,
}

impl Record {
    /// `ceremonies/<cycle>.toml`; the cycle id is one safe file name (the
    /// schedule refuses others; checked again before the path is built).
    fn path(vault: &Vault, cycle: &str) -> Result<std::path::PathBuf> {
        Self::check_cycle(cycle)?;
        let dir = vault.root().join("ceremonies");
        fsx::check_dir(&dir)?;
        Ok(dir.join(format!("{cycle}.toml")))
    }

    /// A cycle id is one safe file name before it becomes part of a path.
    pub(super) fn check_cycle(cycle: &str) -> Result<()> {
        if !fsx::is_safe_component(cycle) {
            return Err(Error::input(
                format!(
                    "cycle id \"{}\" is not one file name",
                    crate::base::text::shown_short(cycle)
                ),
                "use letters, digits, '.', '_', '-' or '+' in cycle ids, not starting with '.'",
            ));
        }
        Ok(())
    }

    /// The record for `cycle`, or a fresh one.
    pub fn load(vault: &Vault, cycle: &str) -> Result<Record> {
        Self::load_from(&Self::path(vault, cycle)?, cycle)
    }

    /// The record in `path` (a regular file), or a fresh one for `cycle`.
    pub(super) fn load_from(path: &std::path::Path, cycle: &str) -> Result<Record> {
        match fsx::read_string_optional(path)? {
            Some(t) => toml::from_str(&t).map_err(|e| {
                let (line, _) = crate::base::error::line_col(&t, e.span().map_or(0, |s| s.start));
                Error::vault(
                    format!(
                        "{}:{line}: {}",
                        crate::base::text::path(path),
                        crate::base::error::quoteless(e.message())
                    ),
                    "restore it from git, or delete it to start the ceremony over",
                )
            }),
            None => Ok(Record {
                cycle: cycle.to_string(),
                ..Record::default()
            }),
        }
    }

    pub fn is_done(&self, step: Step) -> bool {
        self.done.contains_key(&step)
    }

    /// Mark a step finished and write the record atomically.
    pub fn finish(&mut self, vault: &Vault, step: Step, note: impl Into<String>) -> Result<()> {
        self.done.insert(step, note.into());
        let path = Self::path(vault, &self.cycle)?;
        let dir = vault.root().join("ceremonies");
        atomic::create_dir(&dir)?;
        let text = toml::to_string(self).map_err(anyhow::Error::from)?;
        atomic::write(&path, text.as_bytes(), atomic::PUBLIC_MODE)
    }

    /// The first step not yet finished.
    pub fn next_step(&self) -> Option<Step> {
        Step::ALL.into_iter().find(|s| !self.is_done(*s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_record_is_keyed_by_step_names_in_ceremony_order() {
        let mut r = Record {
            cycle: "2027.1".into(),
            fingerprint: Some("ABC".into()),
            ..Record::default()
        };
        r.done.insert(Step::Publish, "hkp://x".into());
        r.done.insert(Step::Generate, "ABC".into());
        r.done.insert(Step::CrossSign, "DEF".into());
        let text = toml::to_string(&r).unwrap();
        let g = text.find("generate").unwrap();
        let c = text.find("cross-sign").unwrap();
        let p = text.find("publish").unwrap();
        assert!(g < c && c < p, "{text}");
        let back: Record = toml::from_str(&text).unwrap();
        assert_eq!(back.done, r.done);
        assert_eq!(back.next_step(), Some(Step::Fingerprint));
        // A record written by an earlier keycycle (string keys) still reads.
        let old = "cycle = \"2027.1\"\n[done]\ngenerate = \"F\"\nexport-public = \"d\"\n";
        let back: Record = toml::from_str(old).unwrap();
        assert!(back.is_done(Step::ExportPublic));
        // An unknown step name is an error, not silently ignored.
        assert!(toml::from_str::<Record>("cycle = \"x\"\n[done]\nbogus = \"\"\n").is_err());
    }
}
