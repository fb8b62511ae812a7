//! The calendar: resolving a cycle by name or by time, the observed
//! cadence and the projection past the known data, and what the expiry
//! policy derives for a cycle.

use chrono::{Datelike, Duration, NaiveDate, Weekday};

use super::{Cycle, CyclePlan, Schedule};
use crate::base::clock::{self, Time};
use crate::base::error::{Error, Result};
use crate::vault::config::ExpiryPolicy;

/// The first Monday strictly after `d`: OpenStack's cycles start the
/// Monday after the previous release.
pub(super) fn monday_after(d: NaiveDate) -> NaiveDate {
    let mut n = d + Duration::days(1);
    while n.weekday() != Weekday::Mon {
        n += Duration::days(1);
    }
    n
}

/// The release id after `id` (`2026.2` → `2027.1`), for release ids.
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
    /// Append `count` projected cycles at the observed cadence.
    pub(super) fn project(&mut self, count: usize) {
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
