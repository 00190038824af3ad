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

/// The columns and joins of [`TicketFacts`], before the `WHERE`.
const TICKET_FACTS: &str = "SELECT t.id, t.number, t.day, t.person_id, t.group_id,
        g.name AS group_name, g.department_id, d.region_code, t.window_id,
        w.name AS window_name, c.name AS category_name, t.status, t.finished_at
     FROM appt_tickets t
     JOIN appt_groups g ON g.id = t.group_id
     JOIN departments d ON d.id = g.department_id
     JOIN appt_categories c ON c.id = t.category_id
     LEFT JOIN appt_resources w ON w.id = t.window_id";

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
        &format!("{TICKET_FACTS} WHERE t.id = $1"),
        [id.get().into()],
        ticket_from_row,
    )
    .await
}

/// The ticket served to the end at `window` most recently, finished at or after `since` (the
/// one a window's rating tablet offers), or `None`.
pub async fn last_served_at_window_in<C: ConnectionTrait>(
    conn: &C,
    window: ResourceId,
    since: DateTime<Utc>,
) -> Result<Option<TicketFacts>, DbError> {
    fetch_one(
        conn,
        &format!(
            "{TICKET_FACTS} WHERE t.window_id = $1 AND t.status = 'done' AND t.finished_at >= $2
             ORDER BY t.finished_at DESC, t.id DESC LIMIT 1"
        ),
        [window.get().into(), yiwang_db::ts(since).into()],
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

// ---------------------------------------------------------------------------------------------
// Aggregates for the performance indicators (绩效)

/// How booking and ticket aggregates are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AggregateBy {
    /// By the department's code.
    Department,
    /// By the department's region code.
    Region,
    /// By the booked item's code (bookings only: tickets name no item).
    Item,
}

/// The days `[from, to]` (China dates, inclusive) and departments whose region code starts with
/// `region_prefix` (a `LIKE` pattern), optionally one department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayScope {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub region_prefix: String,
    pub department: Option<DepartmentId>,
}

/// Bookings of one group whose day is in the range.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BookingAggregate {
    pub key: String,
    pub name: String,
    /// Due: the day has come and the booking was not cancelled — served, checked in or no-show.
    pub due: u64,
    pub no_show: u64,
}

/// The queue waits of one group: whole seconds from taking a ticket to its first call, ascending.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketWaits {
    pub key: String,
    pub name: String,
    pub waits: Vec<i64>,
}

/// Most waits one call reads (a year of a large city's halls fits).
pub const MAX_WAIT_ROWS: u64 = 5_000_000;

fn key_columns(by: AggregateBy, table: &str) -> (String, String) {
    match by {
        AggregateBy::Department => ("d.code".to_owned(), "d.name".to_owned()),
        AggregateBy::Region => (
            "d.region_code".to_owned(),
            "COALESCE(rg.name, d.region_code)".to_owned(),
        ),
        AggregateBy::Item => (
            format!("COALESCE({table}.item_code, '')"),
            format!("COALESCE({table}.item_code, '')"),
        ),
    }
}

fn count_of(row: &QueryResult, column: &str) -> Result<u64, DbError> {
    Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0).max(0) as u64)
}

/// Bookings per group whose day is in the range: due (served, checked in, no-show) and no-shows.
/// One grouped query.
pub async fn booking_aggregates_in<C: ConnectionTrait>(
    conn: &C,
    by: AggregateBy,
    scope: &DayScope,
) -> Result<Vec<BookingAggregate>, DbError> {
    let (key, name) = key_columns(by, "b");
    yiwang_db::fetch_all(
        conn,
        &format!(
            "SELECT {key} AS key, MAX({name}) AS name,
                 SUM(CASE WHEN b.status IN ('served', 'checked_in', 'no_show') THEN 1 ELSE 0 END)
                     AS due,
                 SUM(CASE WHEN b.status = 'no_show' THEN 1 ELSE 0 END) AS no_show
             FROM appt_bookings b
             JOIN departments d ON d.id = b.department_id
             LEFT JOIN regions rg ON rg.code = d.region_code
             WHERE b.day >= $1 AND b.day <= $2 AND d.region_code LIKE $3
                 AND ($4 = 0 OR b.department_id = $4)
                 AND b.status IN ('served', 'checked_in', 'no_show')
             GROUP BY {key} ORDER BY {key}"
        ),
        [
            yiwang_db::date(scope.from).into(),
            yiwang_db::date(scope.to).into(),
            scope.region_prefix.clone().into(),
            scope.department.map_or(0, DepartmentId::get).into(),
        ],
        |row| {
            Ok::<_, DbError>(BookingAggregate {
                key: row.try_get("", "key")?,
                name: row.try_get("", "name")?,
                due: count_of(row, "due")?,
                no_show: count_of(row, "no_show")?,
            })
        },
    )
    .await
}

/// The waits of called tickets per group whose day is in the range, each group's ascending:
/// whole seconds from `taken_at` to `called_at` of every ticket called at least once, except
/// the copies a transfer makes (`transferred_from`), so a person's wait counts once. Grouping by
/// item gives nothing (tickets name no item). One ordered query, at most [`MAX_WAIT_ROWS`] rows.
pub async fn ticket_waits_in<C: ConnectionTrait>(
    conn: &C,
    by: AggregateBy,
    scope: &DayScope,
) -> Result<Vec<TicketWaits>, DbError> {
    if by == AggregateBy::Item {
        return Ok(Vec::new());
    }
    let (key, name) = key_columns(by, "t");
    let wait = match yiwang_db::backend_of(conn) {
        yiwang_db::Backend::Sqlite => {
            "CAST(ROUND((julianday(t.called_at) - julianday(t.taken_at)) * 86400) AS BIGINT)"
        }
        yiwang_db::Backend::Postgres => {
            "CAST(ROUND(EXTRACT(EPOCH FROM (CAST(t.called_at AS TIMESTAMPTZ)
                 - CAST(t.taken_at AS TIMESTAMPTZ)))) AS BIGINT)"
        }
    };
    let rows = yiwang_db::fetch_all(
        conn,
        &format!(
            "SELECT {key} AS key, {name} AS name, {wait} AS wait
             FROM appt_tickets t
             JOIN appt_groups gr ON gr.id = t.group_id
             JOIN departments d ON d.id = gr.department_id
             LEFT JOIN regions rg ON rg.code = d.region_code
             WHERE t.day >= $1 AND t.day <= $2 AND d.region_code LIKE $3
                 AND ($4 = 0 OR gr.department_id = $4)
                 AND t.called_at IS NOT NULL AND t.transferred_from IS NULL
             ORDER BY {key}, wait
             LIMIT $5"
        ),
        [
            yiwang_db::date(scope.from).into(),
            yiwang_db::date(scope.to).into(),
            scope.region_prefix.clone().into(),
            scope.department.map_or(0, DepartmentId::get).into(),
            i64::try_from(MAX_WAIT_ROWS).unwrap_or(i64::MAX).into(),
        ],
        |row| {
            Ok::<_, DbError>((
                row.try_get::<String>("", "key")?,
                row.try_get::<String>("", "name")?,
                row.try_get::<i64>("", "wait")?,
            ))
        },
    )
    .await?;
    let mut groups: Vec<TicketWaits> = Vec::new();
    for (key, name, wait) in rows {
        match groups.last_mut() {
            Some(g) if g.key == key => g.waits.push(wait.max(0)),
            _ => groups.push(TicketWaits {
                key,
                name,
                waits: vec![wait.max(0)],
            }),
        }
    }
    Ok(groups)
}

// ---------------------------------------------------------------------------------------------
// The people served (survey invitations)

/// A hall's name and department, or `None` when there is no such hall.
pub async fn hall_in<C: ConnectionTrait>(
    conn: &C,
    hall: GroupId,
) -> Result<Option<(String, DepartmentId)>, DbError> {
    fetch_one(
        conn,
        "SELECT name, department_id FROM appt_groups WHERE id = $1 AND kind = 'hall'",
        [hall.get().into()],
        |row| {
            Ok::<_, DbError>((
                row.try_get("", "name")?,
                DepartmentId::new(row.try_get("", "department_id")?),
            ))
        },
    )
    .await
}

/// The distinct people served at `hall` on the days `from..=until` (China dates): tickets served
/// at a window under an account, and bookings kept; in id order, at most `limit` of them (the
/// caller asks for one more than it accepts to tell "too many").
pub async fn people_served_at_hall_in<C: ConnectionTrait>(
    conn: &C,
    hall: GroupId,
    from: NaiveDate,
    until: NaiveDate,
    limit: u64,
) -> Result<Vec<PersonId>, DbError> {
    yiwang_db::fetch_all(
        conn,
        "SELECT person_id FROM (
             SELECT person_id FROM appt_tickets
             WHERE group_id = $1 AND status = 'done' AND person_id IS NOT NULL
               AND day >= $2 AND day <= $3
             UNION
             SELECT person_id FROM appt_bookings
             WHERE group_id = $1 AND status = 'served' AND day >= $2 AND day <= $3
         ) served ORDER BY person_id LIMIT $4",
        [
            hall.get().into(),
            yiwang_db::date(from).into(),
            yiwang_db::date(until).into(),
            i64::try_from(limit).unwrap_or(i64::MAX).into(),
        ],
        |row| Ok::<_, DbError>(PersonId::new(row.try_get("", "person_id")?)),
    )
    .await
}
