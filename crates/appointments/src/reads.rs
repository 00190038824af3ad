//! The appointment and queue data other domains read: the cross-domain boundary.
//!
//! Ratings (好差评) ask who was served by a queue ticket or a kept booking and which department,
//! hall and window answer for it. Each function takes any connection, so the caller reads inside
//! its own open transaction.

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_db::{ConnectionTrait, DbError, QueryResult, fetch_one, get_date, get_opt_ts};
use yiwang_identity::model::{DepartmentId, PersonId};

use crate::model::{BookingId, GroupId, ResourceId, TicketId};

/// A hall ticket as a service event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketFacts {
    pub id: TicketId,
    /// The ticket number shown to the visitor (`A001`).
    pub number: String,
    pub day: NaiveDate,
    /// The person who took the ticket, when it was taken under an account.
    pub person: Option<PersonId>,
    /// The hall and the department that runs it, with its region code.
    pub hall: GroupId,
    pub hall_name: String,
    pub department: DepartmentId,
    pub region_code: String,
    /// The window that served it.
    pub window: Option<ResourceId>,
    pub window_name: Option<String>,
    /// The queue category's name (the service asked for).
    pub category_name: String,
    /// Status code (`done` once served).
    pub status: String,
    pub finished_at: Option<DateTime<Utc>>,
}

impl TicketFacts {
    /// Served to the end at a window (not skipped, transferred on or abandoned).
    pub fn is_served(&self) -> bool {
        self.status == "done"
    }
}

/// A booking as a service event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingFacts {
    pub id: BookingId,
    pub code: String,
    pub person: PersonId,
    pub group: GroupId,
    pub group_name: String,
    pub department: DepartmentId,
    pub region_code: String,
    pub resource: ResourceId,
    pub resource_name: String,
    pub item_code: Option<String>,
    pub day: NaiveDate,
    /// Status code (`served` once the appointment was kept and served).
    pub status: String,
}

impl BookingFacts {
    /// Kept: the person came and was served.
    pub fn is_kept(&self) -> bool {
        self.status == "served"
    }
}

fn ticket_from_row(row: &QueryResult) -> Result<TicketFacts, DbError> {
    Ok(TicketFacts {
        id: TicketId::new(row.try_get("", "id")?),
        number: row.try_get("", "number")?,
        day: get_date(row, "day")?,
        person: row
            .try_get::<Option<i64>>("", "person_id")?
            .map(PersonId::new),
        hall: GroupId::new(row.try_get("", "group_id")?),
        hall_name: row.try_get("", "group_name")?,
        department: DepartmentId::new(row.try_get("", "department_id")?),
        region_code: row.try_get("", "region_code")?,
        window: row
            .try_get::<Option<i64>>("", "window_id")?
            .map(ResourceId::new),
        window_name: row.try_get("", "window_name")?,
        category_name: row.try_get("", "category_name")?,
        status: row.try_get("", "status")?,
        finished_at: get_opt_ts(row, "finished_at")?,
    })
}

/// The facts of one ticket, or `None` when there is no such ticket.
pub async fn ticket_facts_in<C: ConnectionTrait>(
    conn: &C,
    id: TicketId,
) -> Result<Option<TicketFacts>, DbError> {
    fetch_one(
        conn,
        "SELECT t.id, t.number, t.day, t.person_id, t.group_id, g.name AS group_name,
                g.department_id, d.region_code, t.window_id, w.name AS window_name,
                c.name AS category_name, t.status, t.finished_at
         FROM appt_tickets t
         JOIN appt_groups g ON g.id = t.group_id
         JOIN departments d ON d.id = g.department_id
         JOIN appt_categories c ON c.id = t.category_id
         LEFT JOIN appt_resources w ON w.id = t.window_id
         WHERE t.id = $1",
        [id.get().into()],
        ticket_from_row,
    )
    .await
}

fn booking_from_row(row: &QueryResult) -> Result<BookingFacts, DbError> {
    Ok(BookingFacts {
        id: BookingId::new(row.try_get("", "id")?),
        code: row.try_get("", "code")?,
        person: PersonId::new(row.try_get("", "person_id")?),
        group: GroupId::new(row.try_get("", "group_id")?),
        group_name: row.try_get("", "group_name")?,
        department: DepartmentId::new(row.try_get("", "department_id")?),
        region_code: row.try_get("", "region_code")?,
        resource: ResourceId::new(row.try_get("", "resource_id")?),
        resource_name: row.try_get("", "resource_name")?,
        item_code: row.try_get("", "item_code")?,
        day: get_date(row, "day")?,
        status: row.try_get("", "status")?,
    })
}

/// The facts of one booking, or `None` when there is no such booking.
pub async fn booking_facts_in<C: ConnectionTrait>(
    conn: &C,
    id: BookingId,
) -> Result<Option<BookingFacts>, DbError> {
    fetch_one(
        conn,
        "SELECT b.id, b.code, b.person_id, b.group_id, g.name AS group_name, b.department_id,
                d.region_code, b.resource_id, r.name AS resource_name, b.item_code, b.day, b.status
         FROM appt_bookings b
         JOIN appt_groups g ON g.id = b.group_id
         JOIN departments d ON d.id = b.department_id
         JOIN appt_resources r ON r.id = b.resource_id
         WHERE b.id = $1",
        [id.get().into()],
        booking_from_row,
    )
    .await
}
