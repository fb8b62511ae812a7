//! `keycycle.toml`: organisation, UID template, cipher suite, expiry policy,
//! schedule source, keyservers. The embedded defaults are OpenStack Infra's.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

use crate::base::error::{line_col, Error, Result};
use crate::cert::make::Suite;

/// The configuration file name inside the vault.
pub const CONFIG_FILE: &str = "keycycle.toml";

/// The file `keycycle init` writes: the defaults, with comments
/// (`data/keycycle.toml`).
pub const DEFAULT_CONFIG: &str = include_str!("../../data/keycycle.toml");

/// The largest `[expiry]` value in days (about 100 years).
pub const MAX_DAYS: u32 = 36_500;
/// The most cycles `[schedule] projected` may add past the known data.
pub const MAX_PROJECTED: u32 = 1_000;

/// The vault layout this keycycle reads and writes. A vault whose
/// keycycle.toml says a higher `format` came from a newer keycycle.
pub const FORMAT: u32 = 1;

fn format_one() -> u32 {
    1
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The vault layout version (see [`FORMAT`]).
    #[serde(default = "format_one")]
    pub format: u32,
    pub organisation: String,
    pub email: String,
    pub uid_template: String,
    #[serde(default)]
    pub cipher_suite: Suite,
    #[serde(default)]
    pub expiry: ExpiryPolicy,
    #[serde(default)]
    pub schedule: ScheduleConfig,
    #[serde(default)]
    pub escrow: EscrowConfig,
    #[serde(default)]
    pub publish: PublishConfig,
    #[serde(default)]
    pub announce: AnnounceConfig,
    #[serde(default)]
    pub policy: PolicyConfig,
}

/// The signed vault policy's own settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PolicyConfig {
    /// How many roots must sign a policy change; never below the escrow
    /// threshold (0: the escrow threshold).
    pub threshold: u8,
}

/// When keys expire and when they should be made.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExpiryPolicy {
    pub overlap_days: u32,
    pub create_lead_days: u32,
    pub min_days_before_previous_expiry: u32,
    pub warn_days: u32,
}

impl Default for ExpiryPolicy {
    fn default() -> Self {
        ExpiryPolicy {
            overlap_days: 60,
            create_lead_days: 56,
            min_days_before_previous_expiry: 30,
            warn_days: 30,
        }
    }
}

/// Where the cycle schedule comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleConfig {
    pub source: ScheduleSource,
    pub series_status: Option<PathBuf>,
    pub schedules_dir: Option<PathBuf>,
    pub projected: u32,
    pub cycles: Vec<CustomCycle>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            source: ScheduleSource::Embedded,
            series_status: None,
            schedules_dir: None,
            projected: 4,
            cycles: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ScheduleSource {
    Embedded,
    SeriesStatus,
    Custom,
}

/// One cycle of a custom schedule.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomCycle {
    pub id: String,
    pub name: Option<String>,
    pub start: toml::value::Datetime,
    pub release: toml::value::Datetime,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EscrowConfig {
    pub threshold: u8,
    /// R of the escrowed revocations (1: any one root).
    pub revocation_threshold: u8,
    pub ladder_interval_days: u32,
}

impl Default for EscrowConfig {
    fn default() -> Self {
        EscrowConfig {
            threshold: 1,
            revocation_threshold: 1,
            ladder_interval_days: 7,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PublishConfig {
    pub keyservers: Vec<String>,
}

impl Default for PublishConfig {
    fn default() -> Self {
        PublishConfig {
            keyservers: vec!["hkps://keyserver.ubuntu.com".into()],
        }
    }
}

/// `keycycle announce`: the wording and where the key is published.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnnounceConfig {
    /// A template replacing the embedded text.
    pub template: Option<PathBuf>,
    /// The key file on the releases site; `{fpr}`: lower-case fingerprint.
    pub releases_url: String,
}

impl Default for AnnounceConfig {
    fn default() -> Self {
        AnnounceConfig {
            template: None,
            releases_url: "https://releases.openstack.org/_static/0x{fpr}.txt".into(),
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config::parse(DEFAULT_CONFIG, Path::new("<embedded>"))
            .expect("the embedded default configuration parses")
    }
}

impl Config {
    /// Parse configuration text; errors name the line and what was expected.
    pub fn parse(text: &str, path: &Path) -> Result<Config> {
        // The version first: a newer vault may hold settings we don't know.
        if let Ok(table) = toml::from_str::<toml::Table>(text) {
            if let Some(v) = table.get("format").and_then(|v| v.as_integer()) {
                if v > i64::from(FORMAT) {
                    return Err(Error::vault(
                        format!(
                            "{}: this vault is format {v}, written by a newer keycycle; this keycycle reads format {FORMAT}",
                            crate::base::text::path(path)
                        ),
                        "upgrade keycycle before touching this vault (nothing was changed)",
                    ));
                }
            }
        }
        // The message without what it quotes from the file.
        let config: Config = toml::from_str(text)
            .map_err(|e| Error::parse(path, text, e.span().map(|s| s.start), e.message()))?;
        config.check(text, path)?;
        Ok(config)
    }

    /// Read and parse `path` (a regular file, not a link: see
    /// [`crate::base::fs::fsx`]).
    pub fn load(path: &Path) -> Result<Config> {
        let text = crate::base::fs::fsx::read_to_string(path)?;
        let mut config = Config::parse(&text, path)?;
        // Relative schedule paths are relative to the config file.
        if let Some(dir) = path.parent() {
            for p in [
                &mut config.schedule.series_status,
                &mut config.schedule.schedules_dir,
                &mut config.announce.template,
            ]
            .into_iter()
            .flatten()
            {
                if p.is_relative() {
                    *p = dir.join(&*p);
                }
            }
        }
        // The template is a vault file (see `check`): no link on the way.
        if let (Some(dir), Some(t)) = (path.parent(), &config.announce.template) {
            crate::base::fs::fsx::check_dirs(dir, t.parent().unwrap_or(dir))?;
        }
        Ok(config)
    }

    fn check(&self, text: &str, path: &Path) -> Result<()> {
        let fail = |key: &str, msg: &str| {
            let offset = text.find(key).unwrap_or(0);
            let (line, column) = line_col(text, offset);
            Err(Error::Config {
                path: path.to_owned(),
                line,
                column,
                msg: msg.to_string(),
            })
        };
        if !self.uid_template.contains('{') {
            return fail("uid_template", "uid_template has no {placeholder}");
        }
        if self.schedule.source == ScheduleSource::SeriesStatus
            && self.schedule.series_status.is_none()
        {
            return fail(
                "source",
                "source = \"series-status\" needs series_status = \"path/to/series_status.yaml\"",
            );
        }
        if self.schedule.source == ScheduleSource::Custom && self.schedule.cycles.is_empty() {
            return fail(
                "source",
                "source = \"custom\" needs at least one [[schedule.cycles]] table",
            );
        }
        if let Some((key, msg)) = self.out_of_bounds() {
            return fail(key, &msg);
        }
        // Cycle ids become file names (ceremonies/<id>.toml, keys/<id>-…).
        for c in &self.schedule.cycles {
            if !crate::base::fs::fsx::is_safe_component(&c.id) {
                let at = text.find(&format!("\"{}\"", c.id)).map(|o| o + 1);
                let (line, column) = line_col(text, at.unwrap_or(0));
                return Err(Error::Config {
                    path: path.to_owned(),
                    line,
                    column,
                    msg: format!(
                        "cycle id \"{}\" is not one file name: use letters, digits, '.', '_', '-' or '+', not starting with '.'",
                        crate::base::text::shown_short(&c.id)
                    ),
                });
            }
        }
        // The template is read and printed: it must be a file of the vault.
        if let Some(t) = &self.announce.template {
            if t.components()
                .any(|c| !matches!(c, std::path::Component::Normal(_)))
            {
                return fail(
                    "template",
                    "[announce] template must be a path inside the vault, relative to keycycle.toml, without '..'",
                );
            }
        }
        if self.escrow.ladder_interval_days == 0 {
            return fail(
                "ladder_interval_days",
                "ladder_interval_days must be at least 1",
            );
        }
        Ok(())
    }

    /// The first `[expiry]` day count or `[schedule] projected` past its
    /// bound, and what to say: past these the date arithmetic of the
    /// schedule overflows or the projection exhausts memory; no real
    /// policy comes near them.
    fn out_of_bounds(&self) -> Option<(&'static str, String)> {
        for (key, value) in [
            ("overlap_days", self.expiry.overlap_days),
            ("create_lead_days", self.expiry.create_lead_days),
            (
                "min_days_before_previous_expiry",
                self.expiry.min_days_before_previous_expiry,
            ),
            ("warn_days", self.expiry.warn_days),
        ] {
            if value > MAX_DAYS {
                return Some((key, format!("{key} must be at most {MAX_DAYS}")));
            }
        }
        if self.schedule.projected > MAX_PROJECTED {
            return Some((
                "projected",
                format!("projected must be at most {MAX_PROJECTED}"),
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_defaults_parse() {
        let c = Config::default();
        assert_eq!(c.organisation, "OpenStack Infra");
        assert_eq!(c.expiry.overlap_days, 60);
    }

    #[test]
    fn a_wrong_type_names_its_line_and_what_was_expected() {
        let text = DEFAULT_CONFIG.replace("overlap_days = 60", "overlap_days = \"sixty\"");
        let e = Config::parse(&text, Path::new("k.toml")).unwrap_err();
        let line = text
            .lines()
            .position(|l| l.contains("sixty"))
            .map(|i| i + 1)
            .unwrap();
        let msg = e.to_string();
        assert!(msg.starts_with(&format!("k.toml:{line}:")), "{msg}");
        assert!(msg.contains("expected"), "{msg}");
    }

    #[test]
    fn absurd_days_and_projections_are_errors_not_panics() {
        // Found by the config fuzz target: these overflowed the schedule's
        // date arithmetic or projected billions of cycles.
        for (from, to) in [
            ("overlap_days = 60", "overlap_days = 4294967295"),
            ("create_lead_days = 56", "create_lead_days = 4000000"),
            ("projected = 4", "projected = 4294967295"),
        ] {
            let text = DEFAULT_CONFIG.replace(from, to);
            let e = Config::parse(&text, Path::new("k.toml")).unwrap_err();
            assert!(e.to_string().contains("must be at most"), "{e}");
        }
    }

    #[test]
    fn unknown_keys_are_errors() {
        let text = format!("{DEFAULT_CONFIG}\n[expiry2]\nx = 1\n");
        assert!(Config::parse(&text, Path::new("k.toml")).is_err());
    }
}
