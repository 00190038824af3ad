//! A booking as an iCalendar file (RFC 5545): one VEVENT in UTC times, text escaped, lines ended with
//! CRLF and folded at 75 octets without splitting a UTF-8 character.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

use crate::model::{BookingDetails, BookingStatus, GroupKind};

/// Longest content line, in octets, before folding (RFC 5545 §3.1).
const LINE_OCTETS: usize = 75;

fn utc(at: DateTime<Utc>) -> String {
    at.format("%Y%m%dT%H%M%SZ").to_string()
}

/// Escape a TEXT value (RFC 5545 §3.3.11).
pub fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            other => out.push(other),
        }
    }
    out
}

/// One content line, folded: no physical line longer than 75 octets, continuation lines starting
/// with one space, every line ended with CRLF.
pub fn fold_line(line: &str) -> String {
    let mut out = String::with_capacity(line.len() + line.len() / 64 * 3 + 2);
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > LINE_OCTETS {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
    out
}

/// The calendar file of a booking; `stamp` is when the file is made (DTSTAMP).
pub fn calendar(details: &BookingDetails, stamp: DateTime<Utc>) -> String {
    let booking = &details.booking;
    let place = match details.group_kind {
        GroupKind::Hall => format!("{} {}", details.group_name, details.resource_name),
        GroupKind::HospitalDepartment if details.resource_title.is_empty() => {
            format!("{} {}", details.group_name, details.resource_name)
        }
        GroupKind::HospitalDepartment => format!(
            "{} {}（{}）",
            details.group_name, details.resource_name, details.resource_title
        ),
    };
    let mut description = format!("预约码：{}", booking.code);
    if let Some(item) = &booking.item_code {
        let _ = write!(description, "\n事项：{item}");
    }
    let _ = write!(
        description,
        "\n请按时到达并凭预约码签到。\n{} 前可取消预约。",
        crate::notify::china_time(details.cancel_until)
    );
    let cancelled = booking.status == BookingStatus::Cancelled;
    let mut lines = vec![
        "BEGIN:VCALENDAR".to_owned(),
        "VERSION:2.0".to_owned(),
        "PRODID:-//Yiwang//Appointments//ZH".to_owned(),
        "CALSCALE:GREGORIAN".to_owned(),
        format!("METHOD:{}", if cancelled { "CANCEL" } else { "PUBLISH" }),
        "BEGIN:VEVENT".to_owned(),
        format!("UID:booking-{}@yiwang", booking.code),
        format!("DTSTAMP:{}", utc(stamp)),
        format!("DTSTART:{}", utc(booking.starts_at)),
        format!("DTEND:{}", utc(booking.ends_at)),
        format!("SUMMARY:{}", escape_text(&format!("预约：{place}"))),
    ];
    if !details.address.is_empty() {
        lines.push(format!("LOCATION:{}", escape_text(&details.address)));
    }
    lines.push(format!("DESCRIPTION:{}", escape_text(&description)));
    lines.push(format!(
        "STATUS:{}",
        if cancelled { "CANCELLED" } else { "CONFIRMED" }
    ));
    lines.push(format!("SEQUENCE:{}", u8::from(cancelled)));
    if !cancelled {
        lines.extend([
            "BEGIN:VALARM".to_owned(),
            "ACTION:DISPLAY".to_owned(),
            "TRIGGER:-PT1H".to_owned(),
            format!("DESCRIPTION:{}", escape_text(&format!("预约提醒：{place}"))),
            "END:VALARM".to_owned(),
        ]);
    }
    lines.extend(["END:VEVENT".to_owned(), "END:VCALENDAR".to_owned()]);
    lines.iter().map(|l| fold_line(l)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folds_at_75_octets_on_character_boundaries() {
        let line = format!("DESCRIPTION:{}", "预约码".repeat(40));
        let folded = fold_line(&line);
        assert!(folded.ends_with("\r\n"));
        for physical in folded.trim_end_matches("\r\n").split("\r\n") {
            assert!(physical.len() <= 75, "{} octets", physical.len());
        }
        let unfolded = folded.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, line);
        assert_eq!(fold_line("SHORT"), "SHORT\r\n");
    }

    #[test]
    fn escapes_text_values() {
        assert_eq!(escape_text("a,b;c\\d\ne"), "a\\,b\\;c\\\\d\\ne");
    }
}
