//! Appointment and queue types: resource groups (halls, hospital departments), resources (windows,
//! doctors), opening hours, slots, release and booking rules, bookings with their short codes, the
//! waitlist, suspensions, queue categories and tickets.
//!
//! A booking and a queue ticket are one model seen at two moments: a booking checks in at the hall as a
//! ticket in the appointment lane, and finishing that ticket marks the booking served.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use rand::CryptoRng;
use serde::{Deserialize, Serialize};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::PersonId;
use yiwang_kernel::{WorkCalendar, china_local_to_utc};

yiwang_kernel::define_id!(pub GroupId);
yiwang_kernel::define_id!(pub ResourceId);
yiwang_kernel::define_id!(pub SlotId);
yiwang_kernel::define_id!(pub BookingId);
yiwang_kernel::define_id!(pub WaitlistId);
yiwang_kernel::define_id!(pub CategoryId);
yiwang_kernel::define_id!(pub TicketId);

/// An enum stored and exchanged as a stable snake_case code.
macro_rules! coded {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "&'static str")]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn code(self) -> &'static str {
                match self { $($name::$variant => $code),+ }
            }

            pub fn parse(code: &str) -> Option<Self> {
                match code { $($code => Some($name::$variant),)+ _ => None }
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;
            fn try_from(code: String) -> Result<Self, String> {
                Self::parse(&code).ok_or_else(|| format!("unknown {} {code:?}", stringify!($name)))
            }
        }

        impl From<$name> for &'static str {
            fn from(value: $name) -> Self {
                value.code()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

coded!(
    /// What a resource group is.
    GroupKind {
        /// A service hall (政务服务大厅): its resources are windows.
        Hall = "hall",
        /// A hospital department (科室): its resources are doctors.
        HospitalDepartment = "hospital_department",
    }
);

coded!(
    ResourceKind {
        /// 窗口: a hall counter.
        Window = "window",
        /// 医生: a doctor's clinic.
        Doctor = "doctor",
    }
);

coded!(
    /// How days ahead are counted.
    DayCount { WorkingDays = "working_days", NaturalDays = "natural_days" }
);

coded!(
    /// Which bookings "one booking per person per day" counts together.
    LimitScope {
        /// One per group (hall or hospital department) and day — the hospital rule.
        Group = "group",
        /// One per resource (window, doctor) and day.
        Resource = "resource",
        /// One per service item and day (the hall rule); bookings without an item count per group.
        Item = "item",
        /// No daily limit; a person still holds at most one place in a slot.
        Slot = "slot",
    }
);

coded!(
    /// Which days a schedule opens.
    DayRule {
        /// Working days of the calendar (调休 Saturdays included, holidays excluded).
        WorkingDays = "working_days",
        /// Every day (hospital clinics open at weekends).
        EveryDay = "every_day",
    }
);

coded!(
    BookingStatus {
        Booked = "booked",
        Cancelled = "cancelled",
        CheckedIn = "checked_in",
        NoShow = "no_show",
        Served = "served",
    }
);

coded!(
    WaitlistStatus {
        Waiting = "waiting",
        /// Booked into a place freed by a cancellation.
        Promoted = "promoted",
        /// The person left the waitlist.
        Left = "left",
        /// The slot's cancellation cut-off passed without a place freeing up.
        Expired = "expired",
        /// Passed over when a place freed (already booked that day, or suspended).
        Passed = "passed",
    }
);

coded!(
    /// Priority lanes of the queue.
    Lane {
        /// Checked in with a booking: called first.
        Appointment = "appointment",
        Elderly = "elderly",
        Disabled = "disabled",
        Normal = "normal",
    }
);

impl Lane {
    /// Lower is called first: appointment, then elderly and disabled together, then everyone else.
    pub fn rank(self) -> i64 {
        match self {
            Lane::Appointment => 0,
            Lane::Elderly | Lane::Disabled => 1,
            Lane::Normal => 2,
        }
    }
}

coded!(
    TicketStatus {
        Waiting = "waiting",
        Called = "called",
        Serving = "serving",
        Done = "done",
        /// 过号: called, did not come; may be recalled the same day.
        Skipped = "skipped",
        /// Sent on to another window or category (a new ticket continues it).
        Transferred = "transferred",
        /// Still open at the end of the day.
        Abandoned = "abandoned",
    }
);

impl TicketStatus {
    /// Whether the ticket still waits for or occupies a window.
    pub fn is_open(self) -> bool {
        matches!(
            self,
            TicketStatus::Waiting | TicketStatus::Called | TicketStatus::Serving
        )
    }
}

coded!(
    /// First level of the queue categories.
    Audience { Personal = "personal", Enterprise = "enterprise" }
);

/// When slots of a day are released (放号): `days_ahead` days (working or natural) before the day, at
/// `at` China time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseRule {
    pub days_ahead: u32,
    pub counting: DayCount,
    pub at: NaiveTime,
}

impl ReleaseRule {
    /// The date whose release time opens `day`.
    pub fn release_date(&self, day: NaiveDate, calendar: &WorkCalendar) -> NaiveDate {
        match self.counting {
            DayCount::NaturalDays => day
                .checked_sub_signed(Duration::days(i64::from(self.days_ahead)))
                .unwrap_or(NaiveDate::MIN),
            DayCount::WorkingDays => {
                // Step back one working day at a time; the result is the date from which `day` is
                // `days_ahead` working days ahead.
                let mut cursor = day;
                for _ in 0..self.days_ahead {
                    let mut guard = 0;
                    loop {
                        cursor = cursor.pred_opt().unwrap_or(NaiveDate::MIN);
                        guard += 1;
                        if calendar.is_working_day(cursor) || guard > 60 {
                            break;
                        }
                    }
                }
                cursor
            }
        }
    }

    /// The instant the slots of `day` are released.
    pub fn release_at(&self, day: NaiveDate, calendar: &WorkCalendar) -> DateTime<Utc> {
        china_local_to_utc(self.release_date(day, calendar).and_time(self.at))
    }

    /// The last day whose slots are released by the end of `today` (how far ahead to generate).
    pub fn horizon(&self, today: NaiveDate, calendar: &WorkCalendar) -> NaiveDate {
        match self.counting {
            DayCount::NaturalDays => today
                .checked_add_signed(Duration::days(i64::from(self.days_ahead)))
                .unwrap_or(NaiveDate::MAX),
            DayCount::WorkingDays => {
                let last = calendar.add_working_days(today, self.days_ahead);
                // Non-working days just before the next working day may be released too (clinics
                // open at weekends); they come before `last + 1 working day`.
                calendar
                    .add_working_days(last, 1)
                    .pred_opt()
                    .unwrap_or(last)
            }
        }
    }
}

/// Repeated no-shows suspend booking: `limit` no-shows within `within_days` → `suspend_days` without
/// booking at the department. `limit = 0` turns the rule off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoShowRule {
    pub limit: u32,
    pub within_days: u32,
    pub suspend_days: u32,
}

impl Default for NoShowRule {
    fn default() -> Self {
        Self {
            limit: 3,
            within_days: 90,
            suspend_days: 30,
        }
    }
}

/// Queue rules of a group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueuePolicy {
    /// Handling time assumed per ticket until enough tickets have been handled to measure it.
    pub default_handling_minutes: u32,
    /// How many recently handled tickets of a category the average handling time is taken over.
    pub handling_sample: u32,
    /// A booking may check in from this many minutes before its slot starts…
    pub checkin_early_minutes: u32,
    /// …until this many minutes after it started; later it takes an ordinary ticket.
    pub checkin_late_minutes: u32,
    /// Ticket numbers of checked-in bookings start with this prefix (Y001).
    pub appointment_prefix: String,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        Self {
            default_handling_minutes: 10,
            handling_sample: 50,
            checkin_early_minutes: 60,
            checkin_late_minutes: 30,
            appointment_prefix: "Y".to_owned(),
        }
    }
}

/// The booking rules of a group (GLOSSARY §6 gives the defaults; every value is configurable).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BookingPolicy {
    pub release: ReleaseRule,
    /// The first bookable day counted from today (1 = from tomorrow).
    pub earliest_days_ahead: u32,
    /// Booking closes this many minutes before a slot starts.
    pub booking_cutoff_minutes: u32,
    /// Cancelling is allowed until this many minutes before a slot starts.
    pub cancel_cutoff_minutes: u32,
    pub one_per_day: LimitScope,
    pub no_show: NoShowRule,
    /// A booking not checked in this many minutes after its slot ends is a no-show.
    pub no_show_grace_minutes: u32,
    /// The reminder is sent this many minutes before the slot (none when `None` or already past).
    pub reminder_minutes_before: Option<u32>,
    /// Longest waitlist per slot; 0 turns the waitlist off.
    pub waitlist_max: u32,
    #[serde(default)]
    pub queue: QueuePolicy,
}

impl BookingPolicy {
    /// Hall appointments: from the next day up to 5 working days ahead, one booking per person per
    /// item per day, cancel at least 2 hours before, no-shows recorded (3 in 90 days suspend for 30).
    pub fn hall() -> Self {
        Self {
            release: ReleaseRule {
                days_ahead: 5,
                counting: DayCount::WorkingDays,
                at: NaiveTime::MIN,
            },
            earliest_days_ahead: 1,
            booking_cutoff_minutes: 0,
            cancel_cutoff_minutes: 120,
            one_per_day: LimitScope::Item,
            no_show: NoShowRule::default(),
            no_show_grace_minutes: 0,
            reminder_minutes_before: Some(24 * 60),
            waitlist_max: 20,
            queue: QueuePolicy::default(),
        }
    }

    /// Hospital appointments: slots of day D released at 07:00 seven days ahead, same-day booking
    /// until 30 minutes before, one booking per patient per department per day, 3 no-shows in 90
    /// days suspend booking for 30 days, cancellations go back to the pool or the waitlist.
    pub fn hospital() -> Self {
        Self {
            release: ReleaseRule {
                days_ahead: 7,
                counting: DayCount::NaturalDays,
                at: NaiveTime::from_hms_opt(7, 0, 0).unwrap_or(NaiveTime::MIN),
            },
            earliest_days_ahead: 0,
            booking_cutoff_minutes: 30,
            cancel_cutoff_minutes: 120,
            one_per_day: LimitScope::Group,
            no_show: NoShowRule::default(),
            no_show_grace_minutes: 0,
            reminder_minutes_before: Some(24 * 60),
            waitlist_max: 20,
            queue: QueuePolicy {
                default_handling_minutes: 8,
                ..QueuePolicy::default()
            },
        }
    }

    pub fn for_kind(kind: GroupKind) -> Self {
        match kind {
            GroupKind::Hall => Self::hall(),
            GroupKind::HospitalDepartment => Self::hospital(),
        }
    }

    /// Every broken rule (empty when the policy is usable).
    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if self.release.days_ahead > 60 {
            problems.push(Problem::new(
                "release.days_ahead",
                "policy_release_too_far",
                "slots cannot be released more than 60 days ahead",
            ));
        }
        if self.earliest_days_ahead > self.release.days_ahead {
            problems.push(Problem::new(
                "earliest_days_ahead",
                "policy_window_empty",
                "the first bookable day lies beyond the release horizon",
            ));
        }
        if self.no_show.limit > 0
            && (self.no_show.within_days == 0 || self.no_show.suspend_days == 0)
        {
            problems.push(Problem::new(
                "no_show",
                "policy_no_show_rule",
                "a no-show limit needs a period and a suspension length",
            ));
        }
        if self.queue.default_handling_minutes == 0 {
            problems.push(Problem::new(
                "queue.default_handling_minutes",
                "policy_handling_time",
                "the default handling time must be at least one minute",
            ));
        }
        if !valid_prefix(&self.queue.appointment_prefix) {
            problems.push(Problem::new(
                "queue.appointment_prefix",
                "ticket_prefix_invalid",
                "a ticket prefix is 1 to 3 capital letters",
            ));
        }
        problems
    }
}

/// 1 to 3 ASCII capital letters.
pub fn valid_prefix(prefix: &str) -> bool {
    (1..=3).contains(&prefix.len()) && prefix.bytes().all(|b| b.is_ascii_uppercase())
}

/// One input problem.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    pub code: &'static str,
    pub message: String,
}

impl Problem {
    pub fn new(field: &str, code: &'static str, message: &str) -> Self {
        Self {
            field: field.to_owned(),
            code,
            message: message.to_owned(),
        }
    }
}

/// An opening period of a day, China local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub start: NaiveTime,
    pub end: NaiveTime,
}

/// A resource's opening hours: which days, the periods of each day, slot length and places per slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    pub days: DayRule,
    pub periods: Vec<Period>,
    pub slot_minutes: u32,
    /// Places per slot.
    pub capacity: u32,
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    #[serde(default)]
    pub valid_until: Option<NaiveDate>,
}

impl Schedule {
    /// Office hours of a hall: working days 9:00–12:00 and 13:30–17:00 (China time).
    pub fn office_hours(slot_minutes: u32, capacity: u32) -> Self {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        Self {
            days: DayRule::WorkingDays,
            periods: vec![
                Period {
                    start: t(9, 0),
                    end: t(12, 0),
                },
                Period {
                    start: t(13, 30),
                    end: t(17, 0),
                },
            ],
            slot_minutes,
            capacity,
            valid_from: None,
            valid_until: None,
        }
    }

    pub fn problems(&self) -> Vec<Problem> {
        let mut problems = Vec::new();
        if !(5..=240).contains(&self.slot_minutes) {
            problems.push(Problem::new(
                "slot_minutes",
                "schedule_slot_length",
                "a slot lasts between 5 and 240 minutes",
            ));
        }
        if self.capacity > 10_000 {
            problems.push(Problem::new(
                "capacity",
                "schedule_capacity",
                "a slot has at most 10000 places",
            ));
        }
        if self.periods.is_empty() {
            problems.push(Problem::new(
                "periods",
                "schedule_no_periods",
                "a schedule needs at least one opening period",
            ));
        }
        let mut sorted = self.periods.clone();
        sorted.sort_by_key(|p| p.start);
        for (i, p) in sorted.iter().enumerate() {
            if p.end <= p.start {
                problems.push(Problem::new(
                    "periods",
                    "schedule_period_order",
                    "a period must end after it starts",
                ));
            }
            if i > 0 && p.start < sorted[i - 1].end {
                problems.push(Problem::new(
                    "periods",
                    "schedule_period_overlap",
                    "opening periods may not overlap",
                ));
            }
        }
        if let (Some(from), Some(until)) = (self.valid_from, self.valid_until)
            && until < from
        {
            problems.push(Problem::new(
                "valid_until",
                "schedule_dates",
                "the schedule ends before it starts",
            ));
        }
        problems
    }

    /// Whether the schedule opens on `day`.
    pub fn opens_on(&self, day: NaiveDate, calendar: &WorkCalendar) -> bool {
        self.valid_from.is_none_or(|f| day >= f)
            && self.valid_until.is_none_or(|u| day <= u)
            && match self.days {
                DayRule::WorkingDays => calendar.is_working_day(day),
                DayRule::EveryDay => true,
            }
    }

    /// The slots (start, end) of `day`, in order; a period's last slot ends by the period's end.
    pub fn slots_on(
        &self,
        day: NaiveDate,
        calendar: &WorkCalendar,
    ) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.opens_on(day, calendar) || self.slot_minutes == 0 {
            return Vec::new();
        }
        let length = Duration::minutes(i64::from(self.slot_minutes));
        let mut periods = self.periods.clone();
        periods.sort_by_key(|p| p.start);
        let mut slots = Vec::new();
        for period in periods {
            let end = china_local_to_utc(day.and_time(period.end));
            let mut start = china_local_to_utc(day.and_time(period.start));
            while start + length <= end {
                slots.push((start, start + length));
                start += length;
            }
        }
        slots
    }
}

/// A hall or a hospital department: the unit bookings are limited and queues are run in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub id: GroupId,
    pub code: String,
    pub kind: GroupKind,
    pub name: String,
    pub department_id: DepartmentId,
    pub address: String,
    pub policy: BookingPolicy,
}

/// A group before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewGroup {
    pub code: String,
    pub kind: GroupKind,
    pub name: String,
    pub address: String,
    /// The group's rules; the defaults of its kind when `None`.
    pub policy: Option<BookingPolicy>,
}

/// A window or a doctor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Resource {
    pub id: ResourceId,
    pub group_id: GroupId,
    pub code: String,
    pub kind: ResourceKind,
    pub name: String,
    /// A doctor's title (主任医师); empty for windows.
    pub title: String,
    /// Service items a window handles (empty: any).
    pub items: Vec<String>,
    /// Queue categories the window or desk calls.
    pub categories: Vec<String>,
    pub schedule: Option<Schedule>,
    pub active: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewResource {
    pub code: String,
    pub kind: Option<ResourceKind>,
    pub name: String,
    pub title: String,
    pub items: Vec<String>,
    pub categories: Vec<String>,
}

/// A bookable time of a resource with its places.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Slot {
    pub id: SlotId,
    pub resource_id: ResourceId,
    pub group_id: GroupId,
    pub day: NaiveDate,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub release_at: DateTime<Utc>,
    pub capacity: u32,
    pub booked: u32,
}

impl Slot {
    pub fn remaining(&self) -> u32 {
        self.capacity.saturating_sub(self.booked)
    }

    pub fn is_released(&self, now: DateTime<Utc>) -> bool {
        self.release_at <= now
    }
}

/// A slot as listed for booking, with its resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SlotView {
    pub slot: Slot,
    pub resource_code: String,
    pub resource_name: String,
    pub resource_title: String,
}

/// The short code a booking is shown and checked in with: 8 characters without look-alikes
/// (no 0/O, 1/I).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct BookingCode(String);

impl BookingCode {
    pub const ALPHABET: &'static [u8; 32] = b"23456789ABCDEFGHJKLMNPQRSTUVWXYZ";
    pub const LEN: usize = 8;

    /// A random code (40 bits).
    pub fn generate(rng: &mut impl CryptoRng) -> Self {
        let mut bytes = [0_u8; Self::LEN];
        rng.fill_bytes(&mut bytes);
        Self(
            bytes
                .iter()
                .map(|b| char::from(Self::ALPHABET[usize::from(b % 32)]))
                .collect(),
        )
    }

    /// A code as typed: case, spaces and dashes do not matter.
    pub fn parse(input: &str) -> Option<Self> {
        let code: String = input
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (code.len() == Self::LEN && code.bytes().all(|b| Self::ALPHABET.contains(&b)))
            .then_some(Self(code))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// For code read back from the database.
    pub(crate) fn stored(code: String) -> Self {
        Self(code)
    }
}

impl std::fmt::Display for BookingCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Booking {
    pub id: BookingId,
    pub code: BookingCode,
    pub slot_id: SlotId,
    pub group_id: GroupId,
    pub resource_id: ResourceId,
    pub department_id: DepartmentId,
    #[serde(skip)]
    pub person_id: PersonId,
    pub day: NaiveDate,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub item_code: Option<String>,
    pub status: BookingStatus,
    /// Booked into a place freed by a cancellation.
    pub via_waitlist: bool,
    pub created_at: DateTime<Utc>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub checked_in_at: Option<DateTime<Utc>>,
}

/// A booking with the names a page, message or calendar file shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BookingDetails {
    pub booking: Booking,
    pub group_code: String,
    pub group_name: String,
    pub group_kind: GroupKind,
    pub address: String,
    pub resource_name: String,
    pub resource_title: String,
    /// Until when the booking may still be cancelled.
    pub cancel_until: DateTime<Utc>,
}

/// A booking request as a handler parsed it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BookRequest {
    pub slot: Option<SlotId>,
    /// The service item booked for (halls); checked against the window's items.
    pub item_code: Option<String>,
    /// The client's `Idempotency-Key`: the same key with the same request gives the same answer.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaitlistEntry {
    pub id: WaitlistId,
    pub slot_id: SlotId,
    #[serde(skip)]
    pub person_id: PersonId,
    pub item_code: Option<String>,
    pub status: WaitlistStatus,
    pub booking_id: Option<BookingId>,
    /// Place in the line (1 = next), for entries still waiting.
    pub position: Option<u32>,
    pub created_at: DateTime<Utc>,
}

/// Booking suspended at a department after repeated no-shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suspension {
    #[serde(skip)]
    pub person_id: PersonId,
    pub department_id: DepartmentId,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub no_shows: u32,
}

/// A queue category: personal or enterprise, then theme.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Category {
    pub id: CategoryId,
    pub group_id: GroupId,
    pub code: String,
    pub name: String,
    pub audience: Audience,
    pub theme: String,
    pub prefix: String,
    pub position: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCategory {
    pub code: String,
    pub name: String,
    pub audience: Audience,
    pub theme: String,
    pub prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Ticket {
    pub id: TicketId,
    pub group_id: GroupId,
    pub day: NaiveDate,
    /// What is called out and shown: prefix and number (A012, Y003).
    pub number: String,
    pub category_id: CategoryId,
    pub category_code: String,
    pub lane: Lane,
    pub status: TicketStatus,
    #[serde(skip)]
    pub person_id: Option<PersonId>,
    pub booking_id: Option<BookingId>,
    pub window_id: Option<ResourceId>,
    pub target_window_id: Option<ResourceId>,
    pub transferred_from: Option<TicketId>,
    pub calls: u32,
    pub taken_at: DateTime<Utc>,
    pub queued_at: DateTime<Utc>,
    pub called_at: Option<DateTime<Utc>>,
    pub serving_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// A ticket as printed and shown: with the people ahead and the estimated wait.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketView {
    pub ticket: Ticket,
    pub category_name: String,
    pub window_name: Option<String>,
    /// Waiting tickets called before this one (0 once called).
    pub ahead: u32,
    pub estimated_wait_minutes: u32,
}

/// A request for a ticket at the hall's machine or desk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketRequest {
    pub category: String,
    pub lane: Lane,
    /// The person, when known (logged in, or their ID card was read).
    pub person: Option<PersonId>,
}

/// Where a ticket is transferred to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTarget {
    /// Another window, which calls it next among its own.
    Window(ResourceId),
    /// Another category (any window serving it).
    Category(String),
}

/// What a hall's board shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Board {
    pub group_id: GroupId,
    pub day: NaiveDate,
    /// Changes whenever the queue changes.
    pub version: u64,
    /// The ticket each window has called or is serving.
    pub calling: Vec<BoardCall>,
    /// Waiting tickets and the estimated wait of a new ticket, per category.
    pub queues: Vec<BoardQueue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardCall {
    pub number: String,
    pub window_id: ResourceId,
    pub window_name: String,
    pub status: TicketStatus,
    pub called_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardQueue {
    pub category: String,
    pub name: String,
    pub waiting: u32,
    pub estimated_wait_minutes: u32,
}

/// What changed on a board, sent to this process's subscribers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BoardEvent {
    pub group_id: GroupId,
    pub version: u64,
    pub kind: BoardEventKind,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum BoardEventKind {
    /// A ticket was called (or called again) to a window: the board announces it.
    Called {
        number: String,
        window_id: ResourceId,
        window_name: String,
    },
    /// Anything else (a ticket taken, finished, skipped, transferred…): re-read the board.
    Changed,
}

/// One line of the daily statistics.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StatsRow {
    /// The window's or category's code.
    pub code: String,
    pub name: String,
    /// Tickets taken in the category, or called at the window.
    pub tickets: u32,
    /// Tickets finished (done).
    pub served: u32,
    pub skipped: u32,
    pub abandoned: u32,
    pub transferred: u32,
    /// From taking the ticket (queueing) to the first call, over called tickets.
    pub average_wait_seconds: Option<f64>,
    /// From starting to serve to finishing, over done tickets.
    pub average_handling_seconds: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DailyStats {
    pub group_id: GroupId,
    pub day: NaiveDate,
    pub by_window: Vec<StatsRow>,
    pub by_category: Vec<StatsRow>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn codes_are_unambiguous_and_parse_as_typed() {
        let mut rng = StdRng::seed_from_u64(3);
        let code = BookingCode::generate(&mut rng);
        assert_eq!(code.as_str().len(), 8);
        assert!(!code.as_str().contains(['0', 'O', '1', 'I']));
        let typed = code.as_str().to_ascii_lowercase();
        let typed = format!("{}-{}", &typed[..4], &typed[4..]);
        assert_eq!(BookingCode::parse(&typed), Some(code));
        assert_eq!(BookingCode::parse("ABCD0EFG"), None);
        assert_eq!(BookingCode::parse("ABC"), None);
    }

    #[test]
    fn release_dates_count_working_or_natural_days() {
        let calendar = WorkCalendar::builtin();
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let hospital = BookingPolicy::hospital().release;
        assert_eq!(hospital.release_date(d(3, 10), &calendar), d(3, 3));
        let hall = BookingPolicy::hall().release;
        // Friday 2026-03-06 is five working days after Saturday 2026-02-28 (a 调休 working day).
        assert_eq!(hall.release_date(d(3, 6), &calendar), d(2, 28));
        // Across the National Day holiday (10/1–10/7; Saturday 10/10 is a working day).
        assert_eq!(hall.release_date(d(10, 10), &calendar), d(9, 28));
        assert_eq!(calendar.add_working_days(d(9, 28), 5), d(10, 10));
        assert!(hall.horizon(d(3, 2), &calendar) >= d(3, 9));
    }

    #[test]
    fn schedules_cut_periods_into_slots() {
        let calendar = WorkCalendar::builtin();
        let schedule = Schedule::office_hours(30, 3);
        assert!(schedule.problems().is_empty());
        let monday = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let slots = schedule.slots_on(monday, &calendar);
        assert_eq!(slots.len(), 6 + 7);
        assert_eq!(slots[0].0.to_rfc3339(), "2026-03-02T01:00:00+00:00");
        let sunday = NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
        assert!(schedule.slots_on(sunday, &calendar).is_empty());
        // 调休: Saturday 2026-02-28 is a working day.
        let saturday = NaiveDate::from_ymd_opt(2026, 2, 28).unwrap();
        assert_eq!(schedule.slots_on(saturday, &calendar).len(), 13);
        let mut bad = schedule.clone();
        bad.periods[1].start = NaiveTime::from_hms_opt(11, 0, 0).unwrap();
        assert!(!bad.problems().is_empty());
    }

    #[test]
    fn lanes_rank_appointment_then_elderly_and_disabled() {
        assert!(Lane::Appointment.rank() < Lane::Elderly.rank());
        assert_eq!(Lane::Elderly.rank(), Lane::Disabled.rank());
        assert!(Lane::Disabled.rank() < Lane::Normal.rank());
        assert!(BookingPolicy::hall().problems().is_empty());
        assert!(BookingPolicy::hospital().problems().is_empty());
    }
}
