//! The working-day calendar and legal time limits (时限).
//!
//! China moves weekend days around public holidays (调休), so "20 working days" cannot be
//! computed from weekdays alone. The calendar is data, one TOML file per year as published by
//! the State Council (see `crates/kernel/calendar/2026.toml`):
//!
//! ```toml
//! year = 2026
//! source = "国务院办公厅关于2026年部分节假日安排的通知（2025年11月4日发布）"
//! workdays = [2026-01-04, 2026-02-14]   # weekend days that are working days
//!
//! [[holiday]]
//! name = "春节"
//! from = 2026-02-15
//! to = 2026-02-23                       # inclusive; omit `to` for a one-day holiday
//! ```
//!
//! The years shipped with the release are embedded ([`WorkCalendar::builtin`]); an
//! administrator adds or corrects a year without a release by putting a file in a directory
//! loaded with [`WorkCalendar::load_dir`].
//!
//! **Years without a file** fall back to Monday–Friday working days. Deadlines that run into
//! such a year are therefore only as good as that assumption; load the year's file as soon as
//! the notice is published (usually in November of the year before).
//!
//! All dates here are China local dates; [`WorkCalendar::deadline`] converts from and to UTC
//! instants.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, TimeDelta, Utc, Weekday};
use serde::{Deserialize, Serialize};

use crate::clock::{china_date, end_of_china_day};
use crate::error::ErrorCode;

const BUILTIN: [&str; 2] = [
    include_str!("../calendar/2025.toml"),
    include_str!("../calendar/2026.toml"),
];

/// Range of years a calendar file may describe.
const YEARS: std::ops::RangeInclusive<i32> = 1900..=9999;

/// Why a calendar file was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CalendarError {
    /// Not valid TOML, or fields missing, misspelt or of the wrong type.
    #[error("calendar file is not valid: {message}")]
    Parse {
        /// The TOML parser's explanation, with line and column.
        message: String,
    },
    /// `year` outside 1900–9999.
    #[error("calendar year {year} is out of range (1900 to 9999)")]
    YearOutOfRange {
        /// The year given.
        year: i32,
    },
    /// A value that should be a plain date (`2026-02-15`) has a time or offset, or does not
    /// exist.
    #[error("{field} must be a date like 2026-02-15, got {value}")]
    NotADate {
        /// Which field, e.g. `holiday "春节" from` or `workdays[2]`.
        field: String,
        /// The value as written.
        value: String,
    },
    /// A date outside the year the file describes.
    #[error(
        "{field} is {date}, which is outside the calendar's year {year}; a holiday crossing the new year is split between the two years' files"
    )]
    DateOutsideYear {
        /// The file's year.
        year: i32,
        /// Which field.
        field: String,
        /// The date given.
        date: NaiveDate,
    },
    /// A holiday that ends before it starts.
    #[error("holiday \"{name}\" starts on {from}, after it ends on {to}")]
    FromAfterTo {
        /// The holiday's name.
        name: String,
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
    /// A date listed both as a working day and inside a holiday.
    #[error("{date} is listed as a working day but lies in the holiday \"{holiday}\"")]
    WorkdayInHoliday {
        /// The date.
        date: NaiveDate,
        /// The holiday's name.
        holiday: String,
    },
    /// `workdays` lists weekend days worked in exchange (调休); a weekday there is a mistake.
    #[error("{date} is listed as a weekend working day but is a {weekday}")]
    WorkdayNotWeekend {
        /// The date.
        date: NaiveDate,
        /// Its weekday.
        weekday: Weekday,
    },
    /// Two files in one directory describe the same year.
    #[error("calendar year {year} is described by both {} and {}", first.display(), second.display())]
    DuplicateYear {
        /// The year.
        year: i32,
        /// The first file (in name order).
        first: PathBuf,
        /// The second file.
        second: PathBuf,
    },
    /// A file or directory could not be read.
    #[error("cannot read {}: {message}", path.display())]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's explanation.
        message: String,
    },
    /// An error in a particular file.
    #[error("{}: {source}", path.display())]
    InFile {
        /// The file.
        path: PathBuf,
        /// What is wrong in it.
        source: Box<CalendarError>,
    },
}

impl ErrorCode for CalendarError {
    fn code(&self) -> &'static str {
        match self {
            Self::Parse { .. } => "calendar_parse",
            Self::YearOutOfRange { .. } => "calendar_year_out_of_range",
            Self::NotADate { .. } => "calendar_not_a_date",
            Self::DateOutsideYear { .. } => "calendar_date_outside_year",
            Self::FromAfterTo { .. } => "calendar_from_after_to",
            Self::WorkdayInHoliday { .. } => "calendar_workday_in_holiday",
            Self::WorkdayNotWeekend { .. } => "calendar_workday_not_weekend",
            Self::DuplicateYear { .. } => "calendar_duplicate_year",
            Self::Io { .. } => "calendar_io",
            Self::InFile { source, .. } => source.code(),
        }
    }
}

/// A public holiday period, both ends inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Holiday {
    /// Its name as published, e.g. `春节`.
    pub name: String,
    /// First day off.
    pub from: NaiveDate,
    /// Last day off.
    pub to: NaiveDate,
}

impl Holiday {
    /// Whether `date` is one of the holiday's days.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.from <= date && date <= self.to
    }
}

/// One validated year of the calendar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarYear {
    year: i32,
    source: String,
    holidays: Vec<Holiday>,
    workdays: BTreeSet<NaiveDate>,
    /// Every day of every holiday, for lookups.
    days_off: BTreeSet<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawYear {
    year: i32,
    source: String,
    #[serde(default)]
    workdays: Vec<toml::value::Datetime>,
    #[serde(default, rename = "holiday")]
    holidays: Vec<RawHoliday>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name: String,
    from: toml::value::Datetime,
    to: Option<toml::value::Datetime>,
}

impl CalendarYear {
    /// Parses and validates one year's file (format in the [module docs](self)).
    pub fn from_toml_str(text: &str) -> Result<Self, CalendarError> {
        let raw: RawYear = toml::from_str(text).map_err(|e| CalendarError::Parse {
            message: e.to_string().trim_end().to_owned(),
        })?;
        let year = raw.year;
        if !YEARS.contains(&year) {
            return Err(CalendarError::YearOutOfRange { year });
        }
        let in_year = |field: String, value: &toml::value::Datetime| {
            let date = plain_date(value).ok_or_else(|| CalendarError::NotADate {
                field: field.clone(),
                value: value.to_string(),
            })?;
            if date.year() == year {
                Ok(date)
            } else {
                Err(CalendarError::DateOutsideYear { year, field, date })
            }
        };

        let mut holidays = Vec::with_capacity(raw.holidays.len());
        let mut days_off = BTreeSet::new();
        for h in raw.holidays {
            let from = in_year(format!("holiday \"{}\" from", h.name), &h.from)?;
            let to = match &h.to {
                Some(to) => in_year(format!("holiday \"{}\" to", h.name), to)?,
                None => from,
            };
            if from > to {
                return Err(CalendarError::FromAfterTo {
                    name: h.name,
                    from,
                    to,
                });
            }
            days_off.extend(from.iter_days().take_while(|d| *d <= to));
            holidays.push(Holiday {
                name: h.name,
                from,
                to,
            });
        }
        holidays.sort_by_key(|h| h.from);

        let mut workdays = BTreeSet::new();
        for (i, value) in raw.workdays.iter().enumerate() {
            let date = in_year(format!("workdays[{i}]"), value)?;
            if let Some(h) = holidays.iter().find(|h| h.contains(date)) {
                return Err(CalendarError::WorkdayInHoliday {
                    date,
                    holiday: h.name.clone(),
                });
            }
            if is_weekday(date) {
                return Err(CalendarError::WorkdayNotWeekend {
                    date,
                    weekday: date.weekday(),
                });
            }
            workdays.insert(date);
        }

        Ok(Self {
            year,
            source: raw.source,
            holidays,
            workdays,
            days_off,
        })
    }

    /// The year described.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// Where the data comes from (the State Council notice).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The holidays, in date order.
    pub fn holidays(&self) -> &[Holiday] {
        &self.holidays
    }

    /// The weekend days that are working days, in date order.
    pub fn workdays(&self) -> impl Iterator<Item = NaiveDate> + '_ {
        self.workdays.iter().copied()
    }

    /// Whether `date` (which must lie in this year) is a working day.
    fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.workdays.contains(&date) {
            true
        } else if self.days_off.contains(&date) {
            false
        } else {
            is_weekday(date)
        }
    }
}

/// A TOML local date (no time, no offset) that exists.
fn plain_date(value: &toml::value::Datetime) -> Option<NaiveDate> {
    if value.time.is_some() || value.offset.is_some() {
        return None;
    }
    let d = value.date?;
    NaiveDate::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
}

fn is_weekday(date: NaiveDate) -> bool {
    !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

fn last_day_of_year(year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, 12, 31).unwrap_or(NaiveDate::MAX)
}

/// Monday–Friday days `d` with `after < d <= to` (requires `after <= to`), in constant time
/// plus at most six steps.
fn count_weekdays(after: NaiveDate, to: NaiveDate) -> i64 {
    let days = (to - after).num_days();
    let weeks = days / 7;
    let mut count = weeks * 5;
    let mut d = after + TimeDelta::days(weeks * 7);
    while d < to {
        d = d.succ_opt().unwrap_or(NaiveDate::MAX);
        if is_weekday(d) {
            count += 1;
        }
    }
    count
}

/// The working-day calendar: the loaded years, Monday–Friday elsewhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkCalendar {
    years: BTreeMap<i32, CalendarYear>,
}

impl WorkCalendar {
    /// A calendar with no years loaded: every year is Monday–Friday.
    pub fn new() -> Self {
        Self::default()
    }

    /// The years shipped with this release (2025 and 2026).
    pub fn builtin() -> Self {
        // The embedded files are checked by the `builtin_covers_shipped_years` test, so a
        // parse failure cannot reach a release; skipping keeps this constructor infallible.
        BUILTIN
            .iter()
            .filter_map(|text| CalendarYear::from_toml_str(text).ok())
            .fold(Self::new(), Self::with_year)
    }

    /// Parses and validates one year's file; see [`CalendarYear::from_toml_str`].
    pub fn from_toml_str(text: &str) -> Result<CalendarYear, CalendarError> {
        CalendarYear::from_toml_str(text)
    }

    /// The calendar with `year` added, replacing any data for the same year.
    #[must_use]
    pub fn with_year(mut self, year: CalendarYear) -> Self {
        self.insert_year(year);
        self
    }

    /// Adds `year`, returning the data it replaces.
    pub fn insert_year(&mut self, year: CalendarYear) -> Option<CalendarYear> {
        self.years.insert(year.year, year)
    }

    /// Adds (or replaces) every year described by a `*.toml` file in `dir`. Nothing is
    /// changed unless every file is valid; two files for the same year are an error.
    pub fn load_dir(mut self, dir: &Path) -> Result<Self, CalendarError> {
        let io_error = |path: &Path, e: &std::io::Error| CalendarError::Io {
            path: path.to_owned(),
            message: e.to_string(),
        };
        let mut paths = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(|e| io_error(dir, &e))? {
            let path = entry.map_err(|e| io_error(dir, &e))?.path();
            let is_toml = path
                .extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("toml"));
            if is_toml && path.is_file() {
                paths.push(path);
            }
        }
        paths.sort();

        let mut loaded: BTreeMap<i32, (PathBuf, CalendarYear)> = BTreeMap::new();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| io_error(&path, &e))?;
            let year =
                CalendarYear::from_toml_str(&text).map_err(|source| CalendarError::InFile {
                    path: path.clone(),
                    source: Box::new(source),
                })?;
            if let Some((first, _)) = loaded.get(&year.year) {
                return Err(CalendarError::DuplicateYear {
                    year: year.year,
                    first: first.clone(),
                    second: path,
                });
            }
            loaded.insert(year.year, (path, year));
        }
        for (_, year) in loaded.into_values() {
            self.insert_year(year);
        }
        Ok(self)
    }

    /// The loaded years, ascending.
    pub fn years(&self) -> Vec<i32> {
        self.years.keys().copied().collect()
    }

    /// Whether `year` has calendar data (otherwise it counts Monday–Friday).
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains_key(&year)
    }

    /// The data for `year`, if loaded.
    pub fn year(&self, year: i32) -> Option<&CalendarYear> {
        self.years.get(&year)
    }

    /// Whether `date` is a working day. Years not loaded count Monday–Friday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        match self.years.get(&date.year()) {
            Some(year) => year.is_working_day(date),
            None => is_weekday(date),
        }
    }

    /// The holiday `date` falls in, if any.
    pub fn holiday_on(&self, date: NaiveDate) -> Option<&Holiday> {
        self.years
            .get(&date.year())?
            .holidays
            .iter()
            .find(|h| h.contains(date))
    }

    /// The `n`-th working day after `start`; `start` itself never counts, and `n = 0` returns
    /// `start`. Saturates at the last date chrono can represent.
    pub fn add_working_days(&self, start: NaiveDate, n: u32) -> NaiveDate {
        let mut remaining = i64::from(n);
        let mut cursor = start;
        while remaining > 0 {
            let Some(next) = cursor.succ_opt() else {
                return NaiveDate::MAX;
            };
            let year_end = last_day_of_year(next.year());
            if let Some(year) = self.years.get(&next.year()) {
                for day in next.iter_days().take_while(|d| *d <= year_end) {
                    if year.is_working_day(day) {
                        remaining -= 1;
                        if remaining == 0 {
                            return day;
                        }
                    }
                }
            } else {
                let available = count_weekdays(cursor, year_end);
                if available >= remaining {
                    // Jump whole weeks (5 working days each), then step.
                    let weeks = (remaining - 1) / 5;
                    let mut day = cursor + TimeDelta::days(weeks * 7);
                    remaining -= weeks * 5;
                    while remaining > 0 {
                        day = day.succ_opt().unwrap_or(NaiveDate::MAX);
                        if is_weekday(day) {
                            remaining -= 1;
                        }
                    }
                    return day;
                }
                remaining -= available;
            }
            cursor = year_end;
        }
        cursor
    }

    /// The number of working days `d` with `from < d <= to`; negative when `to < from`.
    ///
    /// Consistent with [`add_working_days`](Self::add_working_days):
    /// `working_days_between(s, add_working_days(s, n)) == n`.
    pub fn working_days_between(&self, from: NaiveDate, to: NaiveDate) -> i64 {
        if to < from {
            return -self.working_days_between(to, from);
        }
        let mut total = 0;
        let mut cursor = from;
        while cursor < to {
            let Some(next) = cursor.succ_opt() else {
                break;
            };
            let segment_end = last_day_of_year(next.year()).min(to);
            total += match self.years.get(&next.year()) {
                Some(year) => next
                    .iter_days()
                    .take_while(|d| *d <= segment_end)
                    .filter(|d| year.is_working_day(*d))
                    .count() as i64,
                None => count_weekdays(cursor, segment_end),
            };
            cursor = segment_end;
        }
        total
    }

    /// `date` if it is a working day, else the next working day.
    pub fn next_working_day_on_or_after(&self, date: NaiveDate) -> NaiveDate {
        if self.is_working_day(date) {
            date
        } else {
            self.add_working_days(date, 1)
        }
    }

    /// When a time limit that starts at `start` expires.
    ///
    /// - Working days: at the end (23:59:59 China time) of the `amount`-th working day after
    ///   the China-local date of `start`; the start day never counts.
    /// - Natural days: at the end of the local date `amount` days after the start date; if
    ///   that day is not a working day, the period ends at the end of the next working day
    ///   (期间届满日是法定节假日的，以节假日后的第一日为期间届满的日期).
    /// - Months: at the end of the same day of the month `amount` months later (the last day
    ///   of the month if shorter), with the same roll-forward.
    /// - Hours: exactly `amount` hours after `start`.
    pub fn deadline(&self, start: DateTime<Utc>, limit: TimeLimit) -> DateTime<Utc> {
        let start_date = china_date(start);
        let last_day = match limit.unit {
            TimeUnit::Hours => {
                return start
                    .checked_add_signed(TimeDelta::hours(i64::from(limit.amount)))
                    .unwrap_or(DateTime::<Utc>::MAX_UTC);
            }
            TimeUnit::WorkingDays => self.add_working_days(start_date, limit.amount),
            TimeUnit::NaturalDays => self.next_working_day_on_or_after(
                start_date
                    .checked_add_days(Days::new(u64::from(limit.amount)))
                    .unwrap_or(NaiveDate::MAX),
            ),
            TimeUnit::Months => self.next_working_day_on_or_after(
                start_date
                    .checked_add_months(Months::new(limit.amount))
                    .unwrap_or(NaiveDate::MAX),
            ),
        };
        end_of_china_day(last_day)
    }
}

/// The unit of a time limit (时限单位).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TimeUnit {
    /// 工作日.
    WorkingDays,
    /// 自然日.
    NaturalDays,
    /// 小时.
    Hours,
    /// 月.
    Months,
}

impl TimeUnit {
    /// Every unit, for forms and lookups.
    pub const ALL: [TimeUnit; 4] = [
        Self::WorkingDays,
        Self::NaturalDays,
        Self::Hours,
        Self::Months,
    ];

    /// Stable snake_case code, as serialized and stored.
    pub fn code(self) -> &'static str {
        match self {
            Self::WorkingDays => "working_days",
            Self::NaturalDays => "natural_days",
            Self::Hours => "hours",
            Self::Months => "months",
        }
    }

    /// The unit for a stored code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|unit| unit.code() == code)
    }

    /// The Chinese name used in guides (GB/T 39046 time-limit units).
    pub fn zh_name(self) -> &'static str {
        match self {
            Self::WorkingDays => "工作日",
            Self::NaturalDays => "自然日",
            Self::Hours => "小时",
            Self::Months => "月",
        }
    }
}

impl fmt::Display for TimeUnit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A time limit such as 20 working days (法定时限 or 承诺时限).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeLimit {
    /// How many units.
    pub amount: u32,
    /// Which unit.
    pub unit: TimeUnit,
}

impl TimeLimit {
    /// A limit of `amount` `unit`s.
    pub fn new(amount: u32, unit: TimeUnit) -> Self {
        Self { amount, unit }
    }

    /// `amount` working days.
    pub fn working_days(amount: u32) -> Self {
        Self::new(amount, TimeUnit::WorkingDays)
    }

    /// `amount` natural days.
    pub fn natural_days(amount: u32) -> Self {
        Self::new(amount, TimeUnit::NaturalDays)
    }

    /// `amount` hours.
    pub fn hours(amount: u32) -> Self {
        Self::new(amount, TimeUnit::Hours)
    }

    /// `amount` months.
    pub fn months(amount: u32) -> Self {
        Self::new(amount, TimeUnit::Months)
    }

    /// The limit as written in a guide: `20个工作日`, `30个自然日`, `2小时`, `3个月`.
    pub fn zh_label(&self) -> String {
        match self.unit {
            TimeUnit::Hours => format!("{}小时", self.amount),
            unit => format!("{}个{}", self.amount, unit.zh_name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    /// An instant given in China local time.
    fn cn(y: i32, m: u32, day: u32, h: u32, min: u32, s: u32) -> DateTime<Utc> {
        crate::clock::china_offset()
            .with_ymd_and_hms(y, m, day, h, min, s)
            .unwrap()
            .with_timezone(&Utc)
    }

    fn cal() -> WorkCalendar {
        WorkCalendar::builtin()
    }

    #[test]
    fn builtin_covers_shipped_years() {
        for text in BUILTIN {
            CalendarYear::from_toml_str(text).unwrap();
        }
        let cal = cal();
        assert_eq!(cal.years(), vec![2025, 2026]);
        assert!(cal.covers(2026) && !cal.covers(2027));
        let y2026 = cal.year(2026).unwrap();
        assert!(y2026.source().contains("国务院办公厅"));
        assert_eq!(y2026.holidays().len(), 7);
        assert_eq!(y2026.workdays().count(), 6);
        // 2025 and 2026 each have 248 working days.
        assert_eq!(
            cal.working_days_between(d(2024, 12, 31), d(2025, 12, 31)),
            248
        );
        assert_eq!(
            cal.working_days_between(d(2025, 12, 31), d(2026, 12, 31)),
            248
        );
    }

    #[test]
    fn spring_festival_2026() {
        let cal = cal();
        // Friday → the Saturday before the festival is a working day.
        assert_eq!(cal.add_working_days(d(2026, 2, 13), 1), d(2026, 2, 14));
        // From that Saturday, the next working day is after the nine days off.
        assert_eq!(cal.add_working_days(d(2026, 2, 14), 1), d(2026, 2, 24));
        assert_eq!(cal.add_working_days(d(2026, 2, 10), 20), d(2026, 3, 16));
        assert_eq!(cal.working_days_between(d(2026, 2, 10), d(2026, 3, 16)), 20);
        assert_eq!(
            cal.working_days_between(d(2026, 3, 16), d(2026, 2, 10)),
            -20
        );
        assert_eq!(cal.holiday_on(d(2026, 2, 18)).unwrap().name, "春节");
        assert!(cal.holiday_on(d(2026, 2, 24)).is_none());
        for day in d(2026, 2, 15).iter_days().take(9) {
            assert!(!cal.is_working_day(day), "{day}");
        }
        assert_eq!(
            cal.next_working_day_on_or_after(d(2026, 2, 15)),
            d(2026, 2, 24)
        );
        assert_eq!(
            cal.next_working_day_on_or_after(d(2026, 2, 24)),
            d(2026, 2, 24)
        );
    }

    #[test]
    fn national_day_2025() {
        let cal = cal();
        assert_eq!(cal.add_working_days(d(2025, 9, 30), 1), d(2025, 10, 9));
        // Sunday 28 September and Saturday 11 October are working days.
        assert_eq!(cal.add_working_days(d(2025, 9, 26), 1), d(2025, 9, 28));
        assert_eq!(cal.add_working_days(d(2025, 9, 26), 5), d(2025, 10, 10));
        assert_eq!(cal.add_working_days(d(2025, 10, 10), 1), d(2025, 10, 11));
        assert_eq!(cal.add_working_days(d(2025, 9, 22), 20), d(2025, 10, 24));
        assert!(!cal.is_working_day(d(2025, 10, 8)));
        assert_eq!(
            cal.holiday_on(d(2025, 10, 6)).unwrap().name,
            "国庆节、中秋节"
        );
    }

    #[test]
    fn weekend_working_days() {
        let cal = cal();
        assert!(cal.is_working_day(d(2026, 1, 4))); // Sunday
        assert!(cal.is_working_day(d(2026, 2, 28))); // Saturday
        assert!(!cal.is_working_day(d(2026, 2, 21))); // Saturday in the festival
        assert!(!cal.is_working_day(d(2026, 3, 7))); // ordinary Saturday
        assert!(cal.is_working_day(d(2026, 3, 9))); // ordinary Monday
        assert!(!cal.is_working_day(d(2026, 10, 1)));
        // The empty calendar knows nothing of 调休.
        assert!(!WorkCalendar::new().is_working_day(d(2026, 1, 4)));
        assert!(WorkCalendar::new().is_working_day(d(2026, 10, 1)));
    }

    #[test]
    fn year_boundaries() {
        let cal = cal();
        // 1–3 January 2026 off, Sunday 4 January worked.
        assert_eq!(cal.add_working_days(d(2025, 12, 31), 1), d(2026, 1, 4));
        assert_eq!(cal.add_working_days(d(2025, 12, 30), 3), d(2026, 1, 5));
        // 2027 is not loaded: Monday–Friday, so 1 January 2027 (Friday) counts.
        assert_eq!(cal.add_working_days(d(2026, 12, 30), 3), d(2027, 1, 4));
        assert!(cal.is_working_day(d(2027, 1, 1)));
        assert_eq!(cal.working_days_between(d(2026, 12, 30), d(2027, 1, 4)), 3);
        // Far into unloaded years the week-jumping path agrees with stepping.
        let far = cal.add_working_days(d(2026, 12, 31), 5 * 52 * 10);
        assert_eq!(cal.working_days_between(d(2026, 12, 31), far), 5 * 52 * 10);
        assert!(cal.is_working_day(far));
        assert_eq!(cal.add_working_days(d(2026, 2, 2), 0), d(2026, 2, 2));
        // Saturates instead of overflowing.
        assert_eq!(
            cal.add_working_days(d(2026, 1, 1), u32::MAX),
            NaiveDate::MAX
        );
    }

    #[test]
    fn loads_an_extra_year_from_a_directory() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("2027.toml"),
            r#"
                year = 2027
                source = "test"
                workdays = [2027-01-02]
                [[holiday]]
                name = "元旦"
                from = 2027-01-01
            "#,
        )
        .unwrap();
        std::fs::write(dir.path().join("README.md"), "not a calendar").unwrap();
        let cal = cal().load_dir(dir.path()).unwrap();
        assert_eq!(cal.years(), vec![2025, 2026, 2027]);
        assert!(!cal.is_working_day(d(2027, 1, 1)));
        assert!(cal.is_working_day(d(2027, 1, 2)));
        assert_eq!(cal.add_working_days(d(2026, 12, 30), 2), d(2027, 1, 2));
        assert_eq!(cal.add_working_days(d(2026, 12, 30), 3), d(2027, 1, 4));

        // A file for a year already loaded replaces it.
        std::fs::write(
            dir.path().join("2026.toml"),
            "year = 2026\nsource = \"override\"\n",
        )
        .unwrap();
        let cal = cal.load_dir(dir.path()).unwrap();
        assert_eq!(cal.year(2026).unwrap().source(), "override");
        assert!(cal.is_working_day(d(2026, 2, 16)));
    }

    #[test]
    fn directory_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "year = 2027\nsource = \"a\"\n").unwrap();
        std::fs::write(dir.path().join("b.toml"), "year = 2027\nsource = \"b\"\n").unwrap();
        let e = cal().load_dir(dir.path()).unwrap_err();
        assert_eq!(e.code(), "calendar_duplicate_year");
        assert!(e.to_string().contains("a.toml") && e.to_string().contains("b.toml"));

        std::fs::remove_file(dir.path().join("b.toml")).unwrap();
        std::fs::write(
            dir.path().join("c.toml"),
            "year = 2028\nsource = \"c\"\nworkdays = [2027-01-02]\n",
        )
        .unwrap();
        let e = cal().load_dir(dir.path()).unwrap_err();
        assert_eq!(e.code(), "calendar_date_outside_year");
        assert!(e.to_string().contains("c.toml: workdays[0] is 2027-01-02"));

        let e = cal().load_dir(&dir.path().join("missing")).unwrap_err();
        assert_eq!(e.code(), "calendar_io");
    }

    fn parse_err(text: &str) -> CalendarError {
        CalendarYear::from_toml_str(text).unwrap_err()
    }

    #[test]
    fn bad_files_are_rejected_with_clear_messages() {
        let e = parse_err("year = 2026\nsource = \"x\"\nworkdays = [2025-12-28]\n");
        assert_eq!(
            e,
            CalendarError::DateOutsideYear {
                year: 2026,
                field: "workdays[0]".into(),
                date: d(2025, 12, 28)
            }
        );
        assert_eq!(e.code(), "calendar_date_outside_year");

        let e = parse_err(
            "year = 2026\nsource = \"x\"\n[[holiday]]\nname = \"春节\"\nfrom = 2026-02-23\nto = 2026-02-15\n",
        );
        assert_eq!(
            e.to_string(),
            "holiday \"春节\" starts on 2026-02-23, after it ends on 2026-02-15"
        );
        assert_eq!(e.code(), "calendar_from_after_to");

        let e = parse_err(
            "year = 2026\nsource = \"x\"\nworkdays = [2026-02-21]\n[[holiday]]\nname = \"春节\"\nfrom = 2026-02-15\nto = 2026-02-23\n",
        );
        assert_eq!(
            e.to_string(),
            "2026-02-21 is listed as a working day but lies in the holiday \"春节\""
        );
        assert_eq!(e.code(), "calendar_workday_in_holiday");

        let e = parse_err("year = 2026\nsource = \"x\"\nworkdays = [2026-02-16]\n");
        assert_eq!(
            e.to_string(),
            "2026-02-16 is listed as a weekend working day but is a Mon"
        );

        let e = parse_err(
            "year = 2026\nsource = \"x\"\n[[holiday]]\nname = \"春节\"\nfrom = 2026-02-15T08:00:00\n",
        );
        assert_eq!(e.code(), "calendar_not_a_date");
        assert!(
            e.to_string()
                .starts_with("holiday \"春节\" from must be a date")
        );

        let e = parse_err("year = 2026\nsource = \"x\"\nholidays = []\n");
        assert_eq!(e.code(), "calendar_parse");
        assert!(e.to_string().contains("holidays"), "{e}");

        let e = parse_err("year = 2026\n");
        assert!(e.to_string().contains("source"), "{e}");

        let e = parse_err("year = 2026\nsource = \"x\"\nworkdays = [\"2026-01-04\"]\n");
        assert_eq!(e.code(), "calendar_parse");

        let e = parse_err("year = 20260\nsource = \"x\"\n");
        assert_eq!(e.code(), "calendar_year_out_of_range");

        let e = parse_err("year = 2026\nsource = \"x\"\n[[holiday]\n");
        assert_eq!(e.code(), "calendar_parse");
        assert!(e.to_string().contains("line 3"), "{e}");
    }

    #[test]
    fn deadlines() {
        let cal = cal();
        // Working days: end of the n-th working day after the local start date.
        assert_eq!(
            cal.deadline(cn(2026, 2, 13, 10, 0, 0), TimeLimit::working_days(1)),
            cn(2026, 2, 14, 23, 59, 59)
        );
        // 01:00 on Saturday 14 February in China is still Friday in UTC: China's date counts.
        assert_eq!(
            cal.deadline(cn(2026, 2, 14, 1, 0, 0), TimeLimit::working_days(1)),
            cn(2026, 2, 24, 23, 59, 59)
        );
        assert_eq!(
            cal.deadline(cn(2026, 2, 10, 9, 30, 0), TimeLimit::working_days(20)),
            cn(2026, 3, 16, 23, 59, 59)
        );
        // Natural days ending in a holiday roll to the next working day.
        assert_eq!(
            cal.deadline(cn(2026, 2, 10, 9, 0, 0), TimeLimit::natural_days(5)),
            cn(2026, 2, 24, 23, 59, 59)
        );
        assert_eq!(
            cal.deadline(cn(2026, 3, 2, 9, 0, 0), TimeLimit::natural_days(10)),
            cn(2026, 3, 12, 23, 59, 59)
        );
        // Natural days ending on an ordinary Sunday roll to Monday.
        assert_eq!(
            cal.deadline(cn(2026, 3, 2, 9, 0, 0), TimeLimit::natural_days(13)),
            cn(2026, 3, 16, 23, 59, 59)
        );
        // Months: same day of month, clamped; 28 February 2026 is a Saturday but a working day.
        assert_eq!(
            cal.deadline(cn(2026, 1, 31, 9, 0, 0), TimeLimit::months(1)),
            cn(2026, 2, 28, 23, 59, 59)
        );
        assert_eq!(
            cal.deadline(cn(2026, 9, 1, 9, 0, 0), TimeLimit::months(1)),
            cn(2026, 10, 8, 23, 59, 59)
        );
        assert_eq!(
            cal.deadline(cn(2025, 8, 31, 9, 0, 0), TimeLimit::months(1)),
            cn(2025, 9, 30, 23, 59, 59)
        );
        // Hours: exact.
        let start = cn(2026, 2, 13, 22, 15, 7);
        assert_eq!(
            cal.deadline(start, TimeLimit::hours(2)),
            start + TimeDelta::hours(2)
        );
        assert_eq!(
            cal.deadline(start, TimeLimit::working_days(0)),
            cn(2026, 2, 13, 23, 59, 59)
        );
    }

    #[test]
    fn time_units() {
        assert_eq!(TimeUnit::WorkingDays.code(), "working_days");
        assert_eq!(TimeUnit::WorkingDays.zh_name(), "工作日");
        assert_eq!(TimeUnit::NaturalDays.zh_name(), "自然日");
        assert_eq!(TimeUnit::Hours.zh_name(), "小时");
        assert_eq!(TimeUnit::Months.zh_name(), "月");
        for unit in TimeUnit::ALL {
            assert_eq!(TimeUnit::from_code(unit.code()), Some(unit));
            assert_eq!(
                serde_json::to_string(&unit).unwrap(),
                format!("\"{}\"", unit.code())
            );
        }
        assert_eq!(TimeUnit::from_code("days"), None);
        let limit: TimeLimit =
            serde_json::from_str(r#"{"amount": 20, "unit": "working_days"}"#).unwrap();
        assert_eq!(limit, TimeLimit::working_days(20));
        assert_eq!(limit.zh_label(), "20个工作日");
        assert_eq!(TimeLimit::hours(2).zh_label(), "2小时");
        assert_eq!(TimeLimit::months(3).zh_label(), "3个月");
    }

    fn any_date() -> impl Strategy<Value = NaiveDate> {
        // 2024 (unloaded) through 2027 (unloaded), around the two loaded years.
        (0_u64..(4 * 366)).prop_map(|n| d(2024, 1, 1) + Days::new(n))
    }

    proptest! {
        #[test]
        fn add_then_between_round_trips(start in any_date(), n in 0_u32..600) {
            let cal = cal();
            let end = cal.add_working_days(start, n);
            prop_assert_eq!(cal.working_days_between(start, end), i64::from(n));
            prop_assert_eq!(cal.working_days_between(end, start), -i64::from(n));
            if n >= 1 {
                prop_assert!(cal.is_working_day(end));
                prop_assert!(end > start);
            }
        }

        #[test]
        fn monotonic_in_n(start in any_date(), n in 0_u32..600) {
            let cal = cal();
            prop_assert!(cal.add_working_days(start, n) < cal.add_working_days(start, n + 1));
        }

        #[test]
        fn between_matches_day_by_day_count(a in any_date(), b in any_date()) {
            let cal = cal();
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let stepped = lo
                .iter_days()
                .skip(1)
                .take_while(|day| *day <= hi)
                .filter(|day| cal.is_working_day(*day))
                .count() as i64;
            prop_assert_eq!(cal.working_days_between(lo, hi), stepped);
        }

        #[test]
        fn next_working_day_is_working_and_not_earlier(day in any_date()) {
            let cal = cal();
            let next = cal.next_working_day_on_or_after(day);
            prop_assert!(next >= day);
            prop_assert!(cal.is_working_day(next));
            prop_assert!(day.iter_days().take_while(|x| *x < next).all(|x| !cal.is_working_day(x)));
        }
    }
}
