//! openstack/releases' YAML: `series_status.yaml` (the series, their
//! release ids and release dates) and a series' schedule file (its start
//! week), and the copy of that data shipped with keycycle.

use chrono::Duration;
use serde::Deserialize;

use super::calendar::monday_after;
use super::{Cycle, Schedule};
use crate::base::clock;
use crate::base::error::{Error, Result};
use crate::base::fs::fsx;

/// The openstack/releases data shipped with keycycle.
pub(super) const EMBEDDED_SERIES: &str = include_str!("../../../data/series_status.yaml");
pub(super) const EMBEDDED_SCHEDULES: &[(&str, &str)] = &[
    (
        "dalmatian",
        include_str!("../../../data/schedules/dalmatian.yaml"),
    ),
    ("epoxy", include_str!("../../../data/schedules/epoxy.yaml")),
    (
        "flamingo",
        include_str!("../../../data/schedules/flamingo.yaml"),
    ),
    (
        "gazpacho",
        include_str!("../../../data/schedules/gazpacho.yaml"),
    ),
    (
        "hibiscus",
        include_str!("../../../data/schedules/hibiscus.yaml"),
    ),
    ("indri", include_str!("../../../data/schedules/indri.yaml")),
];

#[derive(Deserialize)]
struct Series {
    name: String,
    #[serde(rename = "release-id")]
    release_id: Option<serde_yaml_ng::Value>,
    #[serde(rename = "initial-release")]
    initial_release: Option<String>,
}

#[derive(Deserialize)]
struct SeriesSchedule {
    #[serde(rename = "start-week")]
    start_week: Option<String>,
}

/// The error for a cycle id (or series name) that is not one safe file
/// name: see [`fsx::is_safe_component`].
pub(super) fn unsafe_id(what: &str, id: &str) -> Error {
    Error::input(
        format!(
            "{what} \"{}\" is not one file name (it names files in the vault)",
            crate::base::text::shown_short(id)
        ),
        "use letters, digits, '.', '_', '-' or '+', not starting with '.'",
    )
}

/// `indri` → `Indri`.
fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

impl Schedule {
    /// Parse openstack/releases' `series_status.yaml`; `schedule_for(name)`
    /// returns the text of that series' schedule file, if there is one.
    pub fn parse_series_status(
        text: &str,
        schedule_for: impl Fn(&str) -> Option<String>,
    ) -> Result<Vec<Cycle>> {
        // The parser's message without what it quotes: the file may be
        // anything the configuration names (an identity, say).
        let series: Vec<Series> = serde_yaml_ng::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((1, 1), |l| (l.line(), l.column()));
            Error::input(
                format!(
                    "not a series_status.yaml: line {line}, column {column}: {}",
                    crate::base::error::quoteless(&e.to_string())
                ),
                "give openstack/releases' data/series_status.yaml: a list of series with name and initial-release",
            )
        })?;
        let mut dated = Vec::new();
        for (n, s) in series.into_iter().enumerate() {
            let Some(release) = s.initial_release.as_deref() else {
                continue;
            };
            let release = clock::parse_date(release).map_err(|_| {
                Error::input(
                    format!("series {}: initial-release is not a date", n + 1),
                    "write the date as YYYY-MM-DD, e.g. 2027-03-24",
                )
            })?;
            let id = match s.release_id {
                Some(serde_yaml_ng::Value::String(id)) => id,
                Some(serde_yaml_ng::Value::Number(n)) => n.to_string(),
                _ => s.name.to_lowercase(),
            };
            // The id and the name become file names (ceremony records,
            // key directories, a series' schedule file).
            for (what, v) in [("release-id", &id), ("name", &s.name)] {
                if !fsx::is_safe_component(v) {
                    return Err(unsafe_id(&format!("series {}: {what}", n + 1), v));
                }
            }
            let start = schedule_for(&s.name)
                .and_then(|t| serde_yaml_ng::from_str::<SeriesSchedule>(&t).ok())
                .and_then(|sch| sch.start_week)
                .and_then(|w| clock::parse_date(&w).ok());
            dated.push((id, capitalise(&s.name), release, start));
        }
        dated.sort_by_key(|d| d.2);
        let mut cycles: Vec<Cycle> = Vec::with_capacity(dated.len());
        for (id, name, release, start) in dated {
            let start = start.unwrap_or_else(|| match cycles.last() {
                Some(prev) => monday_after(prev.release),
                None => release - Duration::weeks(26),
            });
            cycles.push(Cycle {
                id,
                name: Some(name),
                start,
                release,
                projected: false,
            });
        }
        if cycles.is_empty() {
            return Err(Error::input(
                "the schedule holds no cycle with an initial-release date",
                "check the series_status.yaml you gave",
            ));
        }
        Ok(cycles)
    }
}
