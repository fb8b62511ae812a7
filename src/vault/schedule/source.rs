//! Where the schedule comes from: the embedded data, an openstack/releases
//! checkout the configuration names, or `[[schedule.cycles]]`; and reading
//! the files it names.

use super::series::{unsafe_id, EMBEDDED_SCHEDULES, EMBEDDED_SERIES};
use super::{Cycle, Schedule};
use crate::base::clock;
use crate::base::error::{Error, IoContext, Result};
use crate::base::fs::fsx;
use crate::vault::config::{Config, ScheduleSource};

/// A file the configuration names: its text, read through links (it may
/// be an openstack/releases checkout outside the vault) but only from a
/// regular file; errors show none of it.
fn read_named(path: &std::path::Path) -> Result<String> {
    let meta = std::fs::metadata(path).with_path(path)?;
    if !meta.is_file() {
        return Err(Error::input(
            format!("{}: is not a regular file", crate::base::text::path(path)),
            "point [schedule] series_status / schedules_dir at openstack/releases' data files",
        ));
    }
    std::fs::read_to_string(path).with_path(path)
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
                .map_err(|e| e.context(crate::base::text::path(path)))?
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
}
