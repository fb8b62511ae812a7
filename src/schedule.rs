//! The cycle schedule: which development cycles exist, when each starts and
//! is released, and from that when a cycle's key should be made and when it
//! expires. Cycles past the known data are projected at the observed cadence.

use chrono::{Datelike, Duration, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use crate::clock::{self, Time};
use crate::config::{Config, ExpiryPolicy, ScheduleSource};
use crate::error::{Error, IoContext, Result};
use crate::fs::fsx;

/// One development cycle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cycle {
    /// Release id (`2027.1`), or the lower-case series name for cycles
    /// that predate release ids (`zed`).
    pub id: String,
    /// Series name (`Indri`); unknown for projected cycles.
    pub name: Option<String>,
    /// First day of development.
    pub start: NaiveDate,
    /// Release date.
    pub release: NaiveDate,
    /// Not in the published data: extrapolated at the observed cadence.
    pub projected: bool,
}

impl Cycle {
    /// `2027.1/Indri`, `Zed` (no release id) or `2027.2` (no name yet).
    pub fn label(&self) -> String {
        match &self.name {
            Some(name) if name.to_lowercase() == self.id => name.clone(),
            Some(name) => format!("{}/{}", self.id, name),
            None => self.id.clone(),
        }
    }

    /// Whether `spec` (an id or a name, any case) names this cycle.
    pub fn matches(&self, spec: &str) -> bool {
        let spec = spec.trim().to_lowercase();
        self.id.to_lowercase() == spec
            || self.name.as_deref().map(str::to_lowercase).as_deref() == Some(spec.as_str())
            || self.label().to_lowercase() == spec
    }
}

/// What the policy derives for one cycle.
#[derive(Debug, Clone, Serialize)]
pub struct CyclePlan {
    #[serde(flatten)]
    pub cycle: Cycle,
    /// Earliest day the key should be made.
    pub create_from: NaiveDate,
    /// Latest day the key should be made.
    pub create_by: NaiveDate,
    /// When the key for this cycle expires.
    #[serde(with = "crate::clock::serde_iso")]
    pub expires: Time,
}

/// The ordered list of cycles and the expiry policy applied to it.
#[derive(Debug, Clone)]
pub struct Schedule {
    cycles: Vec<Cycle>,
    policy: ExpiryPolicy,
}

/// The openstack/releases data shipped with keycycle.
const EMBEDDED_SERIES: &str = include_str!("../data/series_status.yaml");
const EMBEDDED_SCHEDULES: &[(&str, &str)] = &[
    (
        "dalmatian",
        include_str!("../data/schedules/dalmatian.yaml"),
    ),
    ("epoxy", include_str!("../data/schedules/epoxy.yaml")),
    ("flamingo", include_str!("../data/schedules/flamingo.yaml")),
    ("gazpacho", include_str!("../data/schedules/gazpacho.yaml")),
    ("hibiscus", include_str!("../data/schedules/hibiscus.yaml")),
    ("indri", include_str!("../data/schedules/indri.yaml")),
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

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// The first Monday strictly after `d`: OpenStack's cycles start the
/// Monday after the previous release.
fn monday_after(d: NaiveDate) -> NaiveDate {
    let mut n = d + Duration::days(1);
    while n.weekday() != Weekday::Mon {
        n += Duration::days(1);
    }
    n
}

/// The error for a cycle id (or series name) that is not one safe file
/// name: see [`fsx::is_safe_component`].
fn unsafe_id(what: &str, id: &str) -> Error {
    Error::input(
        format!(
            "{what} \"{}\" is not one file name (it names files in the vault)",
            crate::text::shown_short(id)
        ),
        "use letters, digits, '.', '_', '-' or '+', not starting with '.'",
    )
}

/// A file the configuration names: its text, read through links (it may
/// be an openstack/releases checkout outside the vault) but only from a
/// regular file; errors show none of it.
fn read_named(path: &std::path::Path) -> Result<String> {
    let meta = std::fs::metadata(path).with_path(path)?;
    if !meta.is_file() {
        return Err(Error::input(
            format!("{}: is not a regular file", crate::text::path(path)),
            "point [schedule] series_status / schedules_dir at openstack/releases' data files",
        ));
    }
    std::fs::read_to_string(path).with_path(path)
}

fn next_release_id(id: &str) -> Option<String> {
    let (year, half) = id.split_once('.')?;
    let year: u32 = year.parse().ok()?;
    match half {
        "1" => Some(format!("{year}.2")),
        "2" => Some(format!("{}.1", year + 1)),
        _ => None,
    }
}

impl Schedule {
    /// The schedule the configuration asks for, with projections.
    pub fn from_config(config: &Config) -> Result<Schedule> {
        let s = &config.schedule;
        let mut cycles = match s.source {
            ScheduleSource::Embedded => Self::parse_series_status(EMBEDDED_SERIES, |name| {
                EMBEDDED_SCHEDULES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, text)| text.to_string())
            })?,
            ScheduleSource::SeriesStatus => {
                let path = s.series_status.as_deref().ok_or_else(|| {
                    Error::input(
                        "schedule source is series-status but no series_status path is set",
                        "set [schedule] series_status = \"path/to/series_status.yaml\"",
                    )
                })?;
                let text = read_named(path)?;
                let dir = s.schedules_dir.clone();
                Self::parse_series_status(&text, |name| {
                    let dir = dir.as_deref()?;
                    [
                        dir.join(format!("{name}.yaml")),
                        dir.join(name).join("schedule.yaml"),
                    ]
                    .iter()
                    .find_map(|p| read_named(p).ok())
                })
                .map_err(|e| e.context(crate::text::path(path)))?
            }
            ScheduleSource::Custom => s
                .cycles
                .iter()
                .map(|c| {
                    if !fsx::is_safe_component(&c.id) {
                        return Err(unsafe_id("[[schedule.cycles]] id", &c.id));
                    }
                    Ok(Cycle {
                        id: c.id.clone(),
                        name: c.name.clone(),
                        start: clock::parse_date(&c.start.to_string())?,
                        release: clock::parse_date(&c.release.to_string())?,
                        projected: false,
                    })
                })
                .collect::<Result<Vec<_>>>()?,
        };
        cycles.sort_by_key(|c| c.release);
        let mut schedule = Schedule {
            cycles,
            policy: config.expiry.clone(),
        };
        schedule.project(s.projected as usize + 1);
        Ok(schedule)
    }

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
                    crate::error::quoteless(&e.to_string())
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

    /// The observed cadence: the median of the last six release intervals,
    /// rounded to whole weeks.
    pub fn cadence(&self) -> Duration {
        let mut gaps: Vec<i64> = self
            .cycles
            .iter()
            .filter(|c| !c.projected)
            .collect::<Vec<_>>()
            .windows(2)
            .map(|w| (w[1].release - w[0].release).num_days())
            .collect();
        let n = gaps.len();
        let mut recent = gaps.split_off(n.saturating_sub(6));
        recent.sort_unstable();
        let median = recent.get(recent.len() / 2).copied().unwrap_or(182);
        Duration::weeks(((median as f64) / 7.0).round().max(1.0) as i64)
    }

    fn project(&mut self, count: usize) {
        let cadence = self.cadence();
        for _ in 0..count {
            let last = self.cycles.last().expect("schedules are never empty");
            let id = next_release_id(&last.id)
                .unwrap_or_else(|| format!("{}+1", last.id.trim_end_matches("+1")));
            let next = Cycle {
                id,
                name: None,
                start: monday_after(last.release),
                release: last.release + cadence,
                projected: true,
            };
            self.cycles.push(next);
        }
    }

    /// All cycles, oldest first.
    pub fn cycles(&self) -> &[Cycle] {
        &self.cycles
    }

    /// The expiry policy in force.
    pub fn policy(&self) -> &ExpiryPolicy {
        &self.policy
    }

    fn index_at(&self, at: Time) -> Result<usize> {
        let day = at.date_naive();
        self.cycles
            .iter()
            .rposition(|c| c.start <= day)
            .ok_or_else(|| {
                Error::input(
                    format!(
                        "{} is before the first cycle in the schedule",
                        clock::day(at)
                    ),
                    "check --time",
                )
            })
    }

    /// Resolve a cycle: a release id, a series name, `current` or `next`.
    pub fn resolve(&self, spec: &str, at: Time) -> Result<&Cycle> {
        let idx = match spec.trim().to_lowercase().as_str() {
            "current" => self.index_at(at)?,
            "next" => self.index_at(at)? + 1,
            "previous" => self.index_at(at)?.checked_sub(1).ok_or_else(|| {
                Error::input("there is no cycle before the current one", "check --time")
            })?,
            _ => self
                .cycles
                .iter()
                .position(|c| c.matches(spec))
                .ok_or_else(|| match self.closest(spec) {
                    Some(near) => Error::input(
                        format!("unknown cycle '{spec}'"),
                        format!("did you mean '{near}'? (`keycycle cycles --all` lists them)"),
                    ),
                    None => Error::input(
                        format!("unknown cycle '{spec}'"),
                        "run `keycycle cycles --all` to list them; give a release id (2027.1), a series name (indri), current or next",
                    ),
                })?,
        };
        self.cycles.get(idx).ok_or_else(|| {
            Error::input(
                format!("cycle '{spec}' is past the end of the schedule"),
                "raise [schedule] projected in keycycle.toml",
            )
        })
    }

    /// The cycle word nearest to a mistyped `spec` (`indir` → `indri`,
    /// `nxet` → `next`): at most two edits away, transpositions counting
    /// as one, and fewer edits than the word has letters.
    fn closest(&self, spec: &str) -> Option<String> {
        let spec = spec.trim().to_lowercase();
        let words = ["current", "next", "previous"].map(String::from);
        let names = self
            .cycles
            .iter()
            .flat_map(|c| {
                [
                    Some(c.id.to_lowercase()),
                    c.name.as_deref().map(str::to_lowercase),
                ]
            })
            .flatten();
        words
            .into_iter()
            .chain(names)
            .map(|w| (strsim::damerau_levenshtein(&spec, &w), w))
            .filter(|(d, w)| *d <= 2 && *d < w.chars().count().min(spec.chars().count()))
            .min_by_key(|(d, _)| *d)
            .map(|(_, w)| w)
    }

    fn position(&self, cycle: &Cycle) -> usize {
        self.cycles
            .iter()
            .position(|c| c == cycle)
            .expect("cycle comes from this schedule")
    }

    /// The cycle after `cycle`, if the schedule reaches that far.
    pub fn successor(&self, cycle: &Cycle) -> Option<&Cycle> {
        self.cycles.get(self.position(cycle) + 1)
    }

    /// The cycle before `cycle`.
    pub fn predecessor(&self, cycle: &Cycle) -> Option<&Cycle> {
        self.position(cycle)
            .checked_sub(1)
            .and_then(|i| self.cycles.get(i))
    }

    /// When a key for `cycle` expires: the start of the next cycle plus
    /// the overlap, at midnight UTC.
    pub fn expiry(&self, cycle: &Cycle) -> Result<Time> {
        let next = self.successor(cycle).ok_or_else(|| {
            Error::input(
                format!(
                    "no cycle after {} to compute its key's expiry from",
                    cycle.label()
                ),
                "raise [schedule] projected in keycycle.toml",
            )
        })?;
        Ok(clock::start_of_day(
            next.start + Duration::days(self.policy.overlap_days.into()),
        ))
    }

    /// Everything the policy derives for `cycle`.
    pub fn plan(&self, cycle: &Cycle) -> Result<CyclePlan> {
        let expires = self.expiry(cycle)?;
        let create_from = cycle.start - Duration::days(self.policy.create_lead_days.into());
        let mut create_by = cycle.start;
        if let Some(prev) = self.predecessor(cycle) {
            let prev_expiry = self.expiry(prev)?.date_naive();
            let limit =
                prev_expiry - Duration::days(self.policy.min_days_before_previous_expiry.into());
            create_by = create_by.min(limit);
        }
        Ok(CyclePlan {
            cycle: cycle.clone(),
            create_from,
            create_by: create_by.max(create_from),
            expires,
        })
    }
}

/// Cycle names in user IDs: `(2026.2/Hibiscus Cycle)`, `(Epoxy Cycle)`,
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn embedded() -> Schedule {
        Schedule::from_config(&Config::default()).unwrap()
    }

    fn t(s: &str) -> Time {
        clock::parse_time(s).unwrap()
    }

    #[test]
    fn embedded_data_has_the_openstack_series() {
        let s = embedded();
        let indri = s.resolve("2027.1", t("2026-01-01")).unwrap();
        assert_eq!(indri.name.as_deref(), Some("Indri"));
        assert_eq!(indri.start.to_string(), "2026-10-05");
        assert_eq!(indri.release.to_string(), "2027-03-24");
        assert!(!indri.projected);
        let zed = s.resolve("Zed", t("2026-01-01")).unwrap();
        assert_eq!(zed.id, "zed");
        assert_eq!(zed.label(), "Zed");
        assert_eq!(indri.label(), "2027.1/Indri");
    }

    #[test]
    fn current_and_next_follow_time() {
        let s = embedded();
        assert_eq!(s.resolve("current", t("2026-10-04")).unwrap().id, "2026.2");
        assert_eq!(s.resolve("next", t("2026-10-04")).unwrap().id, "2027.1");
        assert_eq!(s.resolve("current", t("2026-10-05")).unwrap().id, "2027.1");
        assert_eq!(s.resolve("next", t("2026-10-05")).unwrap().id, "2027.2");
        assert!(s.resolve("next", t("2026-10-05")).unwrap().projected);
    }

    #[test]
    fn projection_continues_release_ids_at_the_cadence() {
        let s = embedded();
        assert_eq!(s.cadence(), Duration::weeks(26));
        let p = s.resolve("2027.2", t("2026-01-01")).unwrap();
        assert_eq!(p.start.to_string(), "2027-03-29");
        assert_eq!(p.release.to_string(), "2027-09-22");
        assert!(s.resolve("2028.1", t("2026-01-01")).unwrap().projected);
    }

    #[test]
    fn expiry_is_next_start_plus_overlap() {
        let s = embedded();
        let hibiscus = s.resolve("hibiscus", t("2026-01-01")).unwrap();
        // Indri starts 2026-10-05; +60 days.
        assert_eq!(clock::day(s.expiry(hibiscus).unwrap()), "2026-12-04");
        let plan = s.plan(hibiscus).unwrap();
        assert_eq!(plan.create_by.to_string(), "2026-04-06");
        assert_eq!(plan.create_from.to_string(), "2026-02-09");
    }

    #[test]
    fn real_key_expiries_fall_in_the_policy_range() {
        // The real Antelope..Hibiscus keys expired 40-83 days after their
        // release; the default policy lands inside that range.
        let s = embedded();
        for id in [
            "2023.1", "2023.2", "2024.1", "2024.2", "2025.1", "2025.2", "2026.1", "2026.2",
        ] {
            let c = s.resolve(id, t("2026-01-01")).unwrap();
            let after = (s.expiry(c).unwrap().date_naive() - c.release).num_days();
            assert!((40..=83).contains(&after), "{id}: {after}");
        }
    }

    proptest! {
        #[test]
        fn resolution_is_a_function_of_time(secs in 1_500_000_000i64..1_840_000_000) {
            let s = embedded();
            let at = chrono::DateTime::from_timestamp(secs, 0).unwrap();
            let cur = s.resolve("current", at).unwrap().clone();
            let next = s.resolve("next", at).unwrap().clone();
            prop_assert!(cur.start <= at.date_naive());
            prop_assert!(next.start > at.date_naive());
            prop_assert_eq!(s.successor(&cur), Some(&next));
            // Every key expires after its own release and after the next start.
            let exp = s.expiry(&cur).unwrap().date_naive();
            prop_assert!(exp > cur.release);
            prop_assert!(exp > next.start);
        }
    }
}
