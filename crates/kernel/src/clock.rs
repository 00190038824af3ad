//! Time: the [`Clock`] every component receives instead of reading the system time, and the
//! conversions to China local time (UTC+08:00, no daylight saving) that deadlines and opening
//! hours are defined in.
//!
//! [`SystemClock`] is the only place in the code base that reads the system time; tests use
//! [`TestClock`] so that deadlines, release times and expiry can be checked to the second.

use std::sync::{Arc, Mutex, PoisonError};

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeDelta, Utc};

/// A source of the current instant.
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// The current instant in UTC.
    fn now(&self) -> DateTime<Utc>;
}

/// The clock most code receives: cheap to clone, shareable across threads.
pub type SharedClock = Arc<dyn Clock>;

/// The real wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl SystemClock {
    /// A [`SharedClock`] reading the system time.
    pub fn shared() -> SharedClock {
        Arc::new(Self)
    }
}

impl Clock for SystemClock {
    #[expect(
        clippy::disallowed_methods,
        reason = "the one place the system clock is read"
    )]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until a test moves it.
///
/// Clones share the same instant, so a test can keep one handle and give another (or a
/// [`SharedClock`] made by [`TestClock::shared`]) to the code under test.
#[derive(Debug, Clone)]
pub struct TestClock {
    now: Arc<Mutex<DateTime<Utc>>>,
}

impl TestClock {
    /// A clock fixed at `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// Move the clock to `now` (backwards is allowed: tests may need it).
    pub fn set(&self, now: DateTime<Utc>) {
        *self.lock() = now;
    }

    /// Move the clock forward (or backward, with a negative duration).
    pub fn advance(&self, by: chrono::Duration) {
        let mut now = self.lock();
        *now += by;
    }

    /// A [`SharedClock`] that shares this clock's instant.
    pub fn shared(&self) -> SharedClock {
        Arc::new(self.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A panic while holding the lock cannot leave a `DateTime` half-written, so a poisoned
        // lock still holds a valid instant.
        self.now.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

const CHINA_OFFSET_SECONDS: i32 = 8 * 3600;

// Evaluated at compile time, so the `panic!` can never run.
const CHINA_OFFSET: FixedOffset = match FixedOffset::east_opt(CHINA_OFFSET_SECONDS) {
    Some(offset) => offset,
    None => panic!("+08:00 is a valid offset"),
};

/// China Standard Time, UTC+08:00 (the whole country, all year).
pub fn china_offset() -> FixedOffset {
    CHINA_OFFSET
}

/// The calendar date in China at instant `dt`.
pub fn china_date(dt: DateTime<Utc>) -> NaiveDate {
    dt.with_timezone(&CHINA_OFFSET).date_naive()
}

/// The instant of a China local date and time.
pub fn china_local_to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    // A fixed offset has exactly one UTC instant per local time; saturate at chrono's range
    // edges rather than fail.
    local
        .checked_sub_signed(TimeDelta::seconds(i64::from(CHINA_OFFSET_SECONDS)))
        .unwrap_or(NaiveDateTime::MIN)
        .and_utc()
}

/// The last second (23:59:59 China time) of `date`: when a period ending on that day expires.
pub fn end_of_china_day(date: NaiveDate) -> DateTime<Utc> {
    china_local_to_utc(date.and_time(LAST_SECOND))
}

const LAST_SECOND: NaiveTime = match NaiveTime::from_hms_opt(23, 59, 59) {
    Some(time) => time,
    None => panic!("23:59:59 is a valid time"),
};

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn test_clock_is_shared_between_clones() {
        let start = Utc.with_ymd_and_hms(2026, 2, 13, 1, 0, 0).unwrap();
        let clock = TestClock::new(start);
        let shared = clock.shared();
        assert_eq!(shared.now(), start);
        clock.advance(chrono::Duration::hours(3));
        assert_eq!(shared.now(), start + chrono::Duration::hours(3));
        let later = Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap();
        clock.clone().set(later);
        assert_eq!(clock.now(), later);
        assert_eq!(shared.now(), later);
    }

    #[test]
    fn system_clock_moves() {
        let clock = SystemClock::shared();
        let a = clock.now();
        assert!(clock.now() >= a);
    }

    #[test]
    fn china_date_crosses_midnight_at_16_utc() {
        let before = Utc.with_ymd_and_hms(2026, 2, 13, 15, 59, 59).unwrap();
        let after = Utc.with_ymd_and_hms(2026, 2, 13, 16, 0, 0).unwrap();
        assert_eq!(
            china_date(before),
            NaiveDate::from_ymd_opt(2026, 2, 13).unwrap()
        );
        assert_eq!(
            china_date(after),
            NaiveDate::from_ymd_opt(2026, 2, 14).unwrap()
        );
        assert_eq!(china_offset().local_minus_utc(), 8 * 3600);
    }

    #[test]
    fn end_of_china_day_is_15_59_59_utc() {
        let date = NaiveDate::from_ymd_opt(2026, 2, 24).unwrap();
        assert_eq!(
            end_of_china_day(date),
            Utc.with_ymd_and_hms(2026, 2, 24, 15, 59, 59).unwrap()
        );
        assert_eq!(china_date(end_of_china_day(date)), date);
    }
}
