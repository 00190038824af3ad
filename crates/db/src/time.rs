//! The one stored form of an instant: UTC, fixed width, microseconds (`2026-02-14T08:30:00.000000Z`).
//! Fixed width makes text order equal time order on both backends.

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::DbError;

const FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6fZ";

pub fn ts(at: DateTime<Utc>) -> String {
    at.format(FORMAT).to_string()
}

pub fn parse_ts(text: &str) -> Result<DateTime<Utc>, DbError> {
    NaiveDateTime::parse_from_str(text, FORMAT)
        .map(|naive| naive.and_utc())
        .map_err(|e| DbError::Corrupt(format!("bad timestamp {text:?}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn round_trips_and_sorts_as_text() {
        let a = Utc
            .with_ymd_and_hms(2026, 2, 14, 8, 30, 0)
            .single()
            .unwrap_or_default();
        let b = a + chrono::Duration::microseconds(1);
        assert_eq!(parse_ts(&ts(a)).ok(), Some(a));
        assert!(ts(a) < ts(b));
        assert_eq!(ts(a), "2026-02-14T08:30:00.000000Z");
        assert!(parse_ts("yesterday").is_err());
    }
}
