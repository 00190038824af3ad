//! SQL of queue categories and tickets.

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_db::{
    ConnectionTrait, DbError, QueryResult, Value, count, date, fetch_all, fetch_one,
    fetch_required, get_date, get_opt_ts, get_ts, stmt, ts,
};
use yiwang_identity::model::PersonId;

use super::{Result, corrupt, get_u32, to_u32, unique_or};
use crate::error::AppointmentError;
use crate::model::{
    Audience, BookingId, Category, CategoryId, GroupId, Lane, NewCategory, ResourceId, Ticket,
    TicketId, TicketStatus,
};

// ------------------------------------------------------------------ queue categories

const CATEGORY_COLUMNS: &str = "id, group_id, code, name, audience, theme, prefix, position";

fn category_from_row(row: &QueryResult) -> Result<Category> {
    let audience: String = row.try_get("", "audience")?;
    Ok(Category {
        id: CategoryId::new(row.try_get("", "id")?),
        group_id: GroupId::new(row.try_get("", "group_id")?),
        code: row.try_get("", "code")?,
        name: row.try_get("", "name")?,
        audience: Audience::parse(&audience).ok_or_else(|| corrupt("audience", &audience))?,
        theme: row.try_get("", "theme")?,
        prefix: row.try_get("", "prefix")?,
        position: row.try_get("", "position")?,
    })
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_category<C: ConnectionTrait>(
    conn: &C,
    group: GroupId,
    new: &NewCategory,
    now: DateTime<Utc>,
) -> Result<CategoryId> {
    let value: i64 = fetch_required(
        conn,
        "INSERT INTO appt_categories (group_id, code, name, audience, theme, prefix, position, created_at)
         VALUES ($1, $2, $3, $4, $5, $6,
                 (SELECT COUNT(*) FROM appt_categories WHERE group_id = $1), $7)
         RETURNING id",
        [
            group.get().into(),
            new.code.clone().into(),
            new.name.clone().into(),
            new.audience.code().into(),
            new.theme.clone().into(),
            new.prefix.clone().into(),
            ts(now).into(),
        ],
        |r| r.try_get("", "id").map_err(DbError::from),
    )
    .await
    .map_err(|e| unique_or(e, || AppointmentError::CodeTaken(new.code.clone())))?;
    Ok(CategoryId::new(value))
}

/// A group's categories: personal before enterprise, then in the order they were added (sorted
/// here on explicit keys, not by the database's collation).
#[tracing::instrument(skip_all, err)]
pub async fn categories_of<C: ConnectionTrait>(conn: &C, group: GroupId) -> Result<Vec<Category>> {
    let rows = conn
        .query_all_raw(stmt(
            conn,
            &format!("SELECT {CATEGORY_COLUMNS} FROM appt_categories WHERE group_id = $1"),
            [group.get().into()],
        ))
        .await?;
    let mut categories = rows
        .iter()
        .map(category_from_row)
        .collect::<Result<Vec<_>>>()?;
    categories.sort_by_key(|c| (c.audience != Audience::Personal, c.position, c.id));
    Ok(categories)
}

// ------------------------------------------------------------------ tickets

/// Waiting tickets of the same category called before `ticket` (lane first, then queue time).
#[tracing::instrument(skip_all, err)]
pub async fn waiting_ahead<C: ConnectionTrait>(conn: &C, ticket: &Ticket) -> Result<u32> {
    let n = count(
        conn,
        "SELECT COUNT(*) AS n FROM appt_tickets
         WHERE group_id = $1 AND day = $2 AND status = 'waiting' AND category_id = $3 AND id <> $6
           AND (lane_rank < $4 OR (lane_rank = $4 AND (queued_at < $5 OR (queued_at = $5 AND id < $6))))",
        vec![
            ticket.group_id.get().into(),
            date(ticket.day).into(),
            ticket.category_id.get().into(),
            ticket.lane.rank().into(),
            ts(ticket.queued_at).into(),
            ticket.id.get().into(),
        ],
    )
    .await?;
    Ok(to_u32(n))
}

const TICKET_COLUMNS: &str = "t.id, t.group_id, t.day, t.number, t.category_id, c.code AS category_code, \
     t.lane, t.status, t.person_id, t.booking_id, t.window_id, t.target_window_id, t.transferred_from, \
     t.calls, t.taken_at, t.queued_at, t.called_at, t.serving_at, t.finished_at";
const TICKET_FROM: &str = "appt_tickets t JOIN appt_categories c ON c.id = t.category_id";

fn ticket_from_row(row: &QueryResult) -> Result<Ticket> {
    let lane: String = row.try_get("", "lane")?;
    let status: String = row.try_get("", "status")?;
    let opt_id = |column: &str| -> Result<Option<i64>> { Ok(row.try_get("", column)?) };
    Ok(Ticket {
        id: TicketId::new(row.try_get("", "id")?),
        group_id: GroupId::new(row.try_get("", "group_id")?),
        day: get_date(row, "day")?,
        number: row.try_get("", "number")?,
        category_id: CategoryId::new(row.try_get("", "category_id")?),
        category_code: row.try_get("", "category_code")?,
        lane: Lane::parse(&lane).ok_or_else(|| corrupt("lane", &lane))?,
        status: TicketStatus::parse(&status).ok_or_else(|| corrupt("ticket status", &status))?,
        person_id: opt_id("person_id")?.map(PersonId::new),
        booking_id: opt_id("booking_id")?.map(BookingId::new),
        window_id: opt_id("window_id")?.map(ResourceId::new),
        target_window_id: opt_id("target_window_id")?.map(ResourceId::new),
        transferred_from: opt_id("transferred_from")?.map(TicketId::new),
        calls: get_u32(row, "calls")?,
        taken_at: get_ts(row, "taken_at")?,
        queued_at: get_ts(row, "queued_at")?,
        called_at: get_opt_ts(row, "called_at")?,
        serving_at: get_opt_ts(row, "serving_at")?,
        finished_at: get_opt_ts(row, "finished_at")?,
    })
}

/// The next number for a prefix in a group's day: one upsert, so concurrent takers never share one.
#[tracing::instrument(skip_all, err)]
pub async fn next_ticket_number<C: ConnectionTrait>(
    conn: &C,
    group: GroupId,
    day: NaiveDate,
    prefix: &str,
) -> Result<i64> {
    let value: i64 = fetch_required(
        conn,
        "INSERT INTO appt_ticket_counters (group_id, day, prefix, last_no) VALUES ($1, $2, $3, 1)
         ON CONFLICT (group_id, day, prefix) DO UPDATE SET last_no = appt_ticket_counters.last_no + 1
         RETURNING last_no",
        [group.get().into(), date(day).into(), prefix.into()],
        |r| r.try_get("", "last_no").map_err(DbError::from),
    )
    .await?;
    Ok(value)
}

/// A ticket row before it is stored.
#[derive(Debug, Clone)]
pub struct NewTicket<'a> {
    pub group: GroupId,
    pub day: NaiveDate,
    pub number: &'a str,
    pub category: CategoryId,
    pub lane: Lane,
    pub person: Option<PersonId>,
    pub booking: Option<BookingId>,
    pub target_window: Option<ResourceId>,
    pub transferred_from: Option<TicketId>,
    pub queued_at: DateTime<Utc>,
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_ticket<C: ConnectionTrait>(
    conn: &C,
    new: &NewTicket<'_>,
    now: DateTime<Utc>,
) -> Result<TicketId> {
    let value: i64 = fetch_required(
        conn,
        "INSERT INTO appt_tickets (group_id, day, number, category_id, lane, lane_rank, status, person_id,
             booking_id, target_window_id, transferred_from, calls, taken_at, queued_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'waiting', $7, $8, $9, $10, 0, $11, $12) RETURNING id",
        [
            new.group.get().into(),
            date(new.day).into(),
            new.number.into(),
            new.category.get().into(),
            new.lane.code().into(),
            new.lane.rank().into(),
            new.person.map(PersonId::get).into(),
            new.booking.map(BookingId::get).into(),
            new.target_window.map(ResourceId::get).into(),
            new.transferred_from.map(TicketId::get).into(),
            ts(now).into(),
            ts(new.queued_at).into(),
        ],
        |r| r.try_get("", "id").map_err(DbError::from),
    )
    .await?;
    Ok(TicketId::new(value))
}

#[tracing::instrument(skip_all, err)]
pub async fn ticket_by_id<C: ConnectionTrait>(conn: &C, id: TicketId) -> Result<Option<Ticket>> {
    fetch_one(
        conn,
        &format!("SELECT {TICKET_COLUMNS} FROM {TICKET_FROM} WHERE t.id = $1"),
        [id.get().into()],
        ticket_from_row,
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn ticket_of_booking<C: ConnectionTrait>(
    conn: &C,
    booking: BookingId,
) -> Result<Option<Ticket>> {
    fetch_one(
        conn,
        &format!("SELECT {TICKET_COLUMNS} FROM {TICKET_FROM} WHERE t.booking_id = $1"),
        [booking.get().into()],
        ticket_from_row,
    )
    .await
}

/// Every ticket of a group's day, in the order taken.
#[tracing::instrument(skip_all, err)]
pub async fn tickets_of_day<C: ConnectionTrait>(
    conn: &C,
    group: GroupId,
    day: NaiveDate,
) -> Result<Vec<Ticket>> {
    fetch_all(
        conn,
        &format!(
            "SELECT {TICKET_COLUMNS} FROM {TICKET_FROM} WHERE t.group_id = $1 AND t.day = $2 ORDER BY t.id"
        ),
        [group.get().into(), date(day).into()],
        ticket_from_row,
    )
    .await
}

/// The waiting tickets a window would call, in calling order: those transferred to it, and those of
/// its categories not transferred to another window.
#[tracing::instrument(skip_all, err)]
pub async fn next_for_window<C: ConnectionTrait>(
    conn: &C,
    group: GroupId,
    day: NaiveDate,
    window: ResourceId,
    categories: &[CategoryId],
    limit: i64,
) -> Result<Vec<Ticket>> {
    let mut values: Vec<Value> = vec![
        group.get().into(),
        date(day).into(),
        window.get().into(),
        limit.into(),
    ];
    let category_clause = if categories.is_empty() {
        String::new()
    } else {
        let placeholders: Vec<String> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| {
                values.push(c.get().into());
                format!("${}", i + 5)
            })
            .collect();
        format!(
            " OR (t.target_window_id IS NULL AND t.category_id IN ({}))",
            placeholders.join(", ")
        )
    };
    fetch_all(
        conn,
        &format!(
            "SELECT {TICKET_COLUMNS} FROM {TICKET_FROM}
             WHERE t.group_id = $1 AND t.day = $2 AND t.status = 'waiting'
               AND (t.target_window_id = $3{category_clause})
             ORDER BY t.lane_rank, t.queued_at, t.id LIMIT $4"
        ),
        values,
        ticket_from_row,
    )
    .await
}

/// The ticket a window has called or is serving.
#[tracing::instrument(skip_all, err)]
pub async fn open_at_window<C: ConnectionTrait>(
    conn: &C,
    window: ResourceId,
) -> Result<Option<Ticket>> {
    fetch_one(
        conn,
        &format!(
            "SELECT {TICKET_COLUMNS} FROM {TICKET_FROM}
             WHERE t.window_id = $1 AND t.status IN ('called', 'serving') ORDER BY t.id LIMIT 1"
        ),
        [window.get().into()],
        ticket_from_row,
    )
    .await
}

/// Call a ticket to a window: waiting (or skipped, for a recall of a late comer) → called.
#[tracing::instrument(skip_all, err)]
pub async fn call_ticket<C: ConnectionTrait>(
    conn: &C,
    id: TicketId,
    from: TicketStatus,
    window: ResourceId,
    now: DateTime<Utc>,
) -> Result<bool> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE appt_tickets SET status = 'called', window_id = $1, calls = calls + 1,
                 called_at = COALESCE(called_at, $2), finished_at = NULL
             WHERE id = $3 AND status = $4",
            [
                window.get().into(),
                ts(now).into(),
                id.get().into(),
                from.code().into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Announce a called ticket again.
#[tracing::instrument(skip_all, err)]
pub async fn recall_ticket<C: ConnectionTrait>(conn: &C, id: TicketId) -> Result<bool> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE appt_tickets SET calls = calls + 1 WHERE id = $1 AND status = 'called'",
            [id.get().into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Move a ticket between states, stamping the matching time.
#[tracing::instrument(skip_all, err)]
pub async fn set_ticket_status<C: ConnectionTrait>(
    conn: &C,
    id: TicketId,
    from: &[TicketStatus],
    to: TicketStatus,
    now: DateTime<Utc>,
) -> Result<bool> {
    let stamp = match to {
        TicketStatus::Serving => ", serving_at = $1",
        TicketStatus::Done | TicketStatus::Transferred | TicketStatus::Abandoned => {
            ", finished_at = $1, serving_at = COALESCE(serving_at, called_at)"
        }
        TicketStatus::Skipped => ", finished_at = $1",
        TicketStatus::Waiting | TicketStatus::Called => "",
    };
    let mut values: Vec<Value> = vec![ts(now).into(), to.code().into(), id.get().into()];
    let placeholders: Vec<String> = from
        .iter()
        .enumerate()
        .map(|(i, s)| {
            values.push(s.code().into());
            format!("${}", i + 4)
        })
        .collect();
    let result = conn
        .execute_raw(stmt(
            conn,
            &format!(
                "UPDATE appt_tickets SET status = $2{stamp} WHERE id = $3 AND status IN ({})",
                placeholders.join(", ")
            ),
            values,
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Groups and days with tickets still open before `day` (left at the end of their day).
#[tracing::instrument(skip_all, err)]
pub async fn open_days_before<C: ConnectionTrait>(
    conn: &C,
    day: NaiveDate,
) -> Result<Vec<(GroupId, NaiveDate)>> {
    let rows = conn
        .query_all_raw(stmt(
            conn,
            "SELECT DISTINCT group_id, day FROM appt_tickets
             WHERE day < $1 AND status IN ('waiting', 'called', 'serving') ORDER BY group_id, day",
            [date(day).into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                GroupId::new(r.try_get("", "group_id")?),
                get_date(r, "day")?,
            ))
        })
        .collect()
}

/// Abandon every open ticket of a group's day. Returns how many.
#[tracing::instrument(skip_all, err)]
pub async fn abandon_open<C: ConnectionTrait>(
    conn: &C,
    group: GroupId,
    day: NaiveDate,
    now: DateTime<Utc>,
) -> Result<u64> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE appt_tickets SET status = 'abandoned', finished_at = $1
             WHERE group_id = $2 AND day = $3 AND status IN ('waiting', 'called', 'serving')",
            [ts(now).into(), group.get().into(), date(day).into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

/// (serving started, finished) of the category's most recently finished tickets since `since`.
#[tracing::instrument(skip_all, err)]
pub async fn handling_samples<C: ConnectionTrait>(
    conn: &C,
    category: CategoryId,
    since: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<(DateTime<Utc>, DateTime<Utc>)>> {
    let rows = conn
        .query_all_raw(stmt(
            conn,
            "SELECT serving_at, finished_at FROM appt_tickets
             WHERE category_id = $1 AND status = 'done' AND finished_at >= $2 AND serving_at IS NOT NULL
             ORDER BY finished_at DESC, id DESC LIMIT $3",
            [category.get().into(), ts(since).into(), limit.into()],
        ))
        .await?;
    rows.iter()
        .map(|r| Ok((get_ts(r, "serving_at")?, get_ts(r, "finished_at")?)))
        .collect()
}
