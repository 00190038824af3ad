//! Legal deadlines of a case on the working-day calendar, and the 电子监察 warning levels.
//!
//! - Pre-review within 5 working days of submission (行政许可法 Art. 32).
//! - Decision within the item's promised limit, else its legal limit, else 20 working days (Art. 42),
//!   counted from acceptance; extended once by 10 working days; periods of special procedure and of
//!   waiting for a supplement during review do not count (Art. 45): the deadline moves by the working
//!   days the clock stood still.
//! - Yellow and red warnings when few working days remain (configurable).

use chrono::{DateTime, NaiveDate, Utc};
use serde::Deserialize;
use yiwang_kernel::{TimeLimit, WorkCalendar, china_date, end_of_china_day};

use crate::model::Warning;

/// The configurable numbers of deadline supervision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeadlinePolicy {
    /// Working days to accept, decline or ask for a supplement (Art. 32: 5).
    pub accept_days: u32,
    /// Decision limit when the item states none (Art. 42: 20).
    pub default_decision_days: u32,
    /// The one extension (Art. 42: 10).
    pub extension_days: u32,
    /// Working days to hand the result over after the decision (Art. 44: 10).
    pub delivery_days: u32,
    /// Natural days the applicant has to supply missing materials before the case is returned.
    pub supplement_days: u32,
    /// Yellow when this many working days or fewer remain.
    pub yellow_days: u32,
    /// Red when this many working days or fewer remain (0: the deadline is today).
    pub red_days: u32,
}

impl Default for DeadlinePolicy {
    fn default() -> Self {
        Self {
            accept_days: 5,
            default_decision_days: 20,
            extension_days: 10,
            delivery_days: 10,
            supplement_days: 30,
            yellow_days: 3,
            red_days: 1,
        }
    }
}

/// Deadlines computed on one calendar under one policy.
#[derive(Debug, Clone)]
pub struct Deadlines {
    pub calendar: WorkCalendar,
    pub policy: DeadlinePolicy,
}

impl Deadlines {
    pub fn new(calendar: WorkCalendar, policy: DeadlinePolicy) -> Self {
        Self { calendar, policy }
    }

    /// When pre-review must be done for an application submitted (or resubmitted) at `at`.
    pub fn accept_due(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        self.calendar
            .deadline(at, TimeLimit::working_days(self.policy.accept_days))
    }

    /// When the decision is due for a case accepted at `at` under the item's limits.
    pub fn decision_due(
        &self,
        at: DateTime<Utc>,
        promised: Option<TimeLimit>,
        legal: Option<TimeLimit>,
    ) -> DateTime<Utc> {
        let limit = promised
            .or(legal)
            .unwrap_or_else(|| TimeLimit::working_days(self.policy.default_decision_days));
        self.calendar.deadline(at, limit)
    }

    /// When the applicant's supplement period ends.
    pub fn supplement_due(&self, at: DateTime<Utc>) -> DateTime<Utc> {
        self.calendar
            .deadline(at, TimeLimit::natural_days(self.policy.supplement_days))
    }

    /// A deadline moved by `days` working days (an extension, or a stopped clock).
    pub fn moved(&self, due: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        end_of_china_day(self.calendar.add_working_days(china_date(due), days))
    }

    /// Working days the clock stood still from `from` to `to`: the working days after the day it
    /// stopped, up to and including the day it restarted (a clock stopped and restarted on the same
    /// day loses nothing).
    pub fn stopped_days(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> u32 {
        self.calendar
            .working_days_between(china_date(from), china_date(to))
            .max(0) as u32
    }

    /// A step's due time when its post has `days` working days from `at`.
    pub fn step_due(&self, at: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        self.calendar.deadline(at, TimeLimit::working_days(days))
    }

    /// Working days left until `due` seen at `now` (0 on the last day, negative once past).
    pub fn remaining_days(&self, now: DateTime<Utc>, due: DateTime<Utc>) -> i64 {
        if now > due {
            return -1
                - self
                    .calendar
                    .working_days_between(china_date(due), china_date(now))
                    .max(0);
        }
        self.calendar
            .working_days_between(china_date(now), china_date(due))
    }

    /// The warning level of a running deadline.
    pub fn warning(&self, now: DateTime<Utc>, due: Option<DateTime<Utc>>) -> Warning {
        let Some(due) = due else {
            return Warning::None;
        };
        if now > due {
            return Warning::Overdue;
        }
        let left = self.remaining_days(now, due);
        if left <= i64::from(self.policy.red_days) {
            Warning::Red
        } else if left <= i64::from(self.policy.yellow_days) {
            Warning::Yellow
        } else {
            Warning::None
        }
    }

    /// China-local date of an instant (for notices).
    pub fn date_of(at: DateTime<Utc>) -> NaiveDate {
        china_date(at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yiwang_kernel::china_local_to_utc;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        china_local_to_utc(
            NaiveDate::from_ymd_opt(y, m, d)
                .unwrap()
                .and_hms_opt(h, 0, 0)
                .unwrap(),
        )
    }

    fn day_of(t: DateTime<Utc>) -> NaiveDate {
        china_date(t)
    }

    #[test]
    fn spring_festival_2026_and_its_weekend_working_days() {
        let d = Deadlines::new(WorkCalendar::builtin(), DeadlinePolicy::default());
        // Submitted Thursday 12 Feb 2026: working days 13 (Fri), 14 (Sat, 调休 working day),
        // then the holiday 15–23 Feb, then 24, 25, 26 → the fifth working day is Thu 26 Feb.
        let due = d.accept_due(at(2026, 2, 12, 10));
        assert_eq!(day_of(due), NaiveDate::from_ymd_opt(2026, 2, 26).unwrap());
        // 20 working days from Friday 13 Feb: 14, 24, 25, 26, 27, 28 (Sat, working), 2 Mar … → 19 Mar.
        let decision = d.decision_due(at(2026, 2, 13, 9), None, None);
        assert_eq!(
            day_of(decision),
            NaiveDate::from_ymd_opt(2026, 3, 19).unwrap()
        );
        // Promised limit wins over the legal one.
        let promised = d.decision_due(
            at(2026, 2, 13, 9),
            Some(TimeLimit::working_days(3)),
            Some(TimeLimit::working_days(20)),
        );
        assert_eq!(
            day_of(promised),
            NaiveDate::from_ymd_opt(2026, 2, 25).unwrap()
        );
        // A clock stopped on 13 Feb and restarted on 24 Feb stood still for 2 working days (14, 24).
        assert_eq!(d.stopped_days(at(2026, 2, 13, 9), at(2026, 2, 24, 9)), 2);
        assert_eq!(
            day_of(d.moved(promised, 2)),
            NaiveDate::from_ymd_opt(2026, 2, 27).unwrap()
        );
    }

    #[test]
    fn warning_levels() {
        let d = Deadlines::new(WorkCalendar::builtin(), DeadlinePolicy::default());
        let due = end_of_china_day(NaiveDate::from_ymd_opt(2026, 3, 20).unwrap());
        assert_eq!(d.warning(at(2026, 3, 10, 9), Some(due)), Warning::None);
        assert_eq!(d.warning(at(2026, 3, 17, 9), Some(due)), Warning::Yellow);
        assert_eq!(d.warning(at(2026, 3, 19, 9), Some(due)), Warning::Red);
        assert_eq!(d.warning(at(2026, 3, 20, 23), Some(due)), Warning::Red);
        assert_eq!(d.warning(at(2026, 3, 21, 9), Some(due)), Warning::Overdue);
        assert_eq!(d.warning(at(2026, 3, 21, 9), None), Warning::None);
        assert!(d.remaining_days(at(2026, 3, 23, 9), due) < 0);
    }
}
