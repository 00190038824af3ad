//! SQL of bookings, idempotency answers, the waitlist and suspensions.

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_db::{
    Backend, ConnectionTrait, DbError, QueryResult, Value, count, date, fetch_all, fetch_one,
    fetch_required, get_date, get_opt_ts, get_ts, stmt, ts,
};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::PersonId;

use super::{Result, corrupt, from_json, get_u32, to_u32, unique_or};
use crate::error::AppointmentError;
use crate::model::{
    Booking, BookingCode, BookingDetails, BookingId, BookingPolicy, BookingStatus, GroupId,
    GroupKind, ResourceId, Slot, SlotId, Suspension, WaitlistEntry, WaitlistId, WaitlistStatus,
};

// ------------------------------------------------------------------ bookings

const BOOKING_COLUMNS: &str = "b.id, b.code, b.slot_id, b.group_id, b.resource_id, b.department_id, \
     b.person_id, b.day, b.starts_at, b.ends_at, b.item_code, b.status, b.via_waitlist, b.created_at, \
     b.cancelled_at, b.checked_in_at";

fn booking_from_row(row: &QueryResult) -> Result<Booking> {
    let status: String = row.try_get("", "status")?;
    Ok(Booking {
        id: BookingId::new(row.try_get("", "id")?),
        code: BookingCode::stored(row.try_get("", "code")?),
        slot_id: SlotId::new(row.try_get("", "slot_id")?),
        group_id: GroupId::new(row.try_get("", "group_id")?),
        resource_id: ResourceId::new(row.try_get("", "resource_id")?),
        department_id: DepartmentId::new(row.try_get("", "department_id")?),
        person_id: PersonId::new(row.try_get("", "person_id")?),
        day: get_date(row, "day")?,
        starts_at: get_ts(row, "starts_at")?,
        ends_at: get_ts(row, "ends_at")?,
        item_code: row.try_get("", "item_code")?,
        status: BookingStatus::parse(&status).ok_or_else(|| corrupt("booking status", &status))?,
        via_waitlist: row.try_get::<i64>("", "via_waitlist")? != 0,
        created_at: get_ts(row, "created_at")?,
        cancelled_at: get_opt_ts(row, "cancelled_at")?,
        checked_in_at: get_opt_ts(row, "checked_in_at")?,
    })
}

/// A booking row before it is stored.
#[derive(Debug, Clone)]
pub struct NewBooking<'a> {
    pub code: &'a BookingCode,
    pub slot: &'a Slot,
    pub department: DepartmentId,
    pub person: PersonId,
    pub item_code: Option<&'a str>,
    pub live_key: &'a str,
    pub via_waitlist: bool,
}

fn booking_values(new: &NewBooking<'_>, now: DateTime<Utc>) -> Vec<Value> {
    vec![
        new.code.as_str().into(),
        new.slot.id.get().into(),
        new.slot.group_id.get().into(),
        new.slot.resource_id.get().into(),
        new.department.get().into(),
        new.person.get().into(),
        date(new.slot.day).into(),
        ts(new.slot.starts_at).into(),
        ts(new.slot.ends_at).into(),
        new.item_code.map(str::to_owned).into(),
        new.live_key.into(),
        i64::from(new.via_waitlist).into(),
        ts(now).into(),
    ]
}

const INSERT_BOOKING: &str = "INSERT INTO appt_bookings (code, slot_id, group_id, resource_id, \
     department_id, person_id, day, starts_at, ends_at, item_code, status, live_key, via_waitlist, \
     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'booked', $11, $12, $13, $13)";

/// Insert a booking. A unique violation surfaces as an error the caller maps
/// (`appt_bookings_live_key`: already booked that day; `code`: pick another code).
#[tracing::instrument(skip_all, err)]
pub async fn insert_booking<C: ConnectionTrait>(
    conn: &C,
    new: &NewBooking<'_>,
    now: DateTime<Utc>,
) -> Result<BookingId> {
    let value: i64 = fetch_required(
        conn,
        &format!("{INSERT_BOOKING} RETURNING id"),
        booking_values(new, now),
        |r| r.try_get("", "id").map_err(DbError::from),
    )
    .await?;
    Ok(BookingId::new(value))
}

/// Insert a booking unless it collides with a unique index (the person already holds a booking that
/// day, or the code is taken): `None` then, and the transaction stays usable.
#[tracing::instrument(skip_all, err)]
pub async fn insert_booking_if_free<C: ConnectionTrait>(
    conn: &C,
    new: &NewBooking<'_>,
    now: DateTime<Utc>,
) -> Result<Option<BookingId>> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            &format!("{INSERT_BOOKING} ON CONFLICT DO NOTHING RETURNING id"),
            booking_values(new, now),
        ))
        .await?;
    row.map(|r| Ok(BookingId::new(r.try_get("", "id")?)))
        .transpose()
}

#[tracing::instrument(skip_all, err)]
pub async fn live_key_taken<C: ConnectionTrait>(conn: &C, key: &str) -> Result<bool> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT id FROM appt_bookings WHERE live_key = $1",
            [key.into()],
        ))
        .await?;
    Ok(row.is_some())
}

#[tracing::instrument(skip_all, err)]
pub async fn booking_by_id<C: ConnectionTrait>(conn: &C, id: BookingId) -> Result<Option<Booking>> {
    fetch_one(
        conn,
        &format!("SELECT {BOOKING_COLUMNS} FROM appt_bookings b WHERE b.id = $1"),
        [id.get().into()],
        booking_from_row,
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn booking_by_code<C: ConnectionTrait>(
    conn: &C,
    code: &BookingCode,
) -> Result<Option<Booking>> {
    fetch_one(
        conn,
        &format!("SELECT {BOOKING_COLUMNS} FROM appt_bookings b WHERE b.code = $1"),
        [code.as_str().into()],
        booking_from_row,
    )
    .await
}

const DETAILS_FROM: &str = "appt_bookings b JOIN appt_groups g ON g.id = b.group_id \
     JOIN appt_resources r ON r.id = b.resource_id";
const DETAILS_COLUMNS: &str = "g.code AS group_code, g.name AS group_name, g.kind AS group_kind, \
     g.address AS group_address, g.policy AS group_policy, r.name AS resource_name, r.title AS resource_title";

fn details_from_row(row: &QueryResult) -> Result<BookingDetails> {
    let booking = booking_from_row(row)?;
    let kind: String = row.try_get("", "group_kind")?;
    let policy: BookingPolicy =
        from_json("group policy", &row.try_get::<String>("", "group_policy")?)?;
    Ok(BookingDetails {
        cancel_until: booking.starts_at
            - chrono::Duration::minutes(i64::from(policy.cancel_cutoff_minutes)),
        booking,
        group_code: row.try_get("", "group_code")?,
        group_name: row.try_get("", "group_name")?,
        group_kind: GroupKind::parse(&kind).ok_or_else(|| corrupt("group kind", &kind))?,
        address: row.try_get("", "group_address")?,
        resource_name: row.try_get("", "resource_name")?,
        resource_title: row.try_get("", "resource_title")?,
    })
}

#[tracing::instrument(skip_all, err)]
pub async fn booking_details<C: ConnectionTrait>(
    conn: &C,
    id: BookingId,
) -> Result<Option<BookingDetails>> {
    fetch_one(
        conn,
        &format!("SELECT {BOOKING_COLUMNS}, {DETAILS_COLUMNS} FROM {DETAILS_FROM} WHERE b.id = $1"),
        [id.get().into()],
        details_from_row,
    )
    .await
}

/// A person's bookings, newest slot first.
#[tracing::instrument(skip_all, err)]
pub async fn bookings_of_person<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    limit: i64,
) -> Result<Vec<BookingDetails>> {
    fetch_all(
        conn,
        &format!(
            "SELECT {BOOKING_COLUMNS}, {DETAILS_COLUMNS} FROM {DETAILS_FROM}
             WHERE b.person_id = $1 ORDER BY b.starts_at DESC, b.id DESC LIMIT $2"
        ),
        [person.get().into(), limit.into()],
        details_from_row,
    )
    .await
}

/// A group's bookings of a day in slot order.
#[tracing::instrument(skip_all, err)]
pub async fn bookings_of_group_day<C: ConnectionTrait>(
    conn: &C,
    group: GroupId,
    day: NaiveDate,
) -> Result<Vec<BookingDetails>> {
    fetch_all(
        conn,
        &format!(
            "SELECT {BOOKING_COLUMNS}, {DETAILS_COLUMNS} FROM {DETAILS_FROM}
             WHERE b.group_id = $1 AND b.day = $2 ORDER BY b.starts_at, b.id"
        ),
        [group.get().into(), date(day).into()],
        details_from_row,
    )
    .await
}

/// Move a booking from one of `from` to `to` in one conditional statement; cancelling clears the
/// live key so the person may book that day again. Returns whether the booking was in `from`.
#[tracing::instrument(skip_all, err)]
pub async fn set_booking_status<C: ConnectionTrait>(
    conn: &C,
    id: BookingId,
    from: BookingStatus,
    to: BookingStatus,
    now: DateTime<Utc>,
) -> Result<bool> {
    let extra = match to {
        BookingStatus::Cancelled => ", live_key = NULL, cancelled_at = $1",
        BookingStatus::CheckedIn => ", checked_in_at = $1",
        BookingStatus::NoShow => ", no_show_at = $1",
        BookingStatus::Booked | BookingStatus::Served => "",
    };
    let result = conn
        .execute_raw(stmt(
            conn,
            &format!(
                "UPDATE appt_bookings SET status = $2, updated_at = $1{extra} WHERE id = $3 AND status = $4"
            ),
            [
                ts(now).into(),
                to.code().into(),
                id.get().into(),
                from.code().into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Bookings still `booked` whose slot ended by `ended_by` (no-show candidates), oldest first.
#[tracing::instrument(skip_all, err)]
pub async fn ended_bookings<C: ConnectionTrait>(
    conn: &C,
    ended_by: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Booking>> {
    fetch_all(
        conn,
        &format!(
            "SELECT {BOOKING_COLUMNS} FROM appt_bookings b
             WHERE b.status = 'booked' AND b.ends_at <= $1 ORDER BY b.ends_at, b.id LIMIT $2"
        ),
        [ts(ended_by).into(), limit.into()],
        booking_from_row,
    )
    .await
}

/// No-shows of a person at a department for slots starting at or after `since`.
#[tracing::instrument(skip_all, err)]
pub async fn count_no_shows<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    department: DepartmentId,
    since: DateTime<Utc>,
) -> Result<u32> {
    let n = count(
        conn,
        "SELECT COUNT(*) AS n FROM appt_bookings
         WHERE person_id = $1 AND department_id = $2 AND status = 'no_show' AND starts_at >= $3",
        vec![
            person.get().into(),
            department.get().into(),
            ts(since).into(),
        ],
    )
    .await?;
    Ok(to_u32(n))
}

// ------------------------------------------------------------------ idempotency

#[tracing::instrument(skip_all, err)]
pub async fn idempotency_answer<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    key: &str,
) -> Result<Option<(String, BookingId)>> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT request_hash, booking_id FROM appt_idempotency WHERE person_id = $1 AND idem_key = $2",
            [person.get().into(), key.into()],
        ))
        .await?;
    row.map(|r| {
        Ok((
            r.try_get("", "request_hash")?,
            BookingId::new(r.try_get("", "booking_id")?),
        ))
    })
    .transpose()
}

#[tracing::instrument(skip_all, err)]
pub async fn store_idempotency<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    key: &str,
    request_hash: &str,
    booking: BookingId,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO appt_idempotency (person_id, idem_key, request_hash, booking_id, created_at)
         VALUES ($1, $2, $3, $4, $5)",
        [
            person.get().into(),
            key.into(),
            request_hash.into(),
            booking.get().into(),
            ts(now).into(),
        ],
    ))
    .await?;
    Ok(())
}

// ------------------------------------------------------------------ waitlist

const WAITLIST_COLUMNS: &str = "w.id, w.slot_id, w.person_id, w.item_code, w.status, w.booking_id, \
     w.created_at, CASE WHEN w.status = 'waiting' THEN (SELECT COUNT(*) FROM appt_waitlist o \
     WHERE o.slot_id = w.slot_id AND o.status = 'waiting' AND o.id <= w.id) END AS position";

fn waitlist_from_row(row: &QueryResult) -> Result<WaitlistEntry> {
    let status: String = row.try_get("", "status")?;
    Ok(WaitlistEntry {
        id: WaitlistId::new(row.try_get("", "id")?),
        slot_id: SlotId::new(row.try_get("", "slot_id")?),
        person_id: PersonId::new(row.try_get("", "person_id")?),
        item_code: row.try_get("", "item_code")?,
        status: WaitlistStatus::parse(&status)
            .ok_or_else(|| corrupt("waitlist status", &status))?,
        booking_id: row
            .try_get::<Option<i64>>("", "booking_id")?
            .map(BookingId::new),
        position: row
            .try_get::<Option<i64>>("", "position")?
            .map(|p| u32::try_from(p.max(0)).unwrap_or(u32::MAX)),
        created_at: get_ts(row, "created_at")?,
    })
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_waitlist<C: ConnectionTrait>(
    conn: &C,
    slot: SlotId,
    person: PersonId,
    item_code: Option<&str>,
    now: DateTime<Utc>,
) -> Result<WaitlistId> {
    let value: i64 = fetch_required(
        conn,
        "INSERT INTO appt_waitlist (slot_id, person_id, item_code, status, created_at, updated_at)
         VALUES ($1, $2, $3, 'waiting', $4, $4) RETURNING id",
        [
            slot.get().into(),
            person.get().into(),
            item_code.map(str::to_owned).into(),
            ts(now).into(),
        ],
        |r| r.try_get("", "id").map_err(DbError::from),
    )
    .await
    .map_err(|e| unique_or(e, || AppointmentError::AlreadyWaitlisted))?;
    Ok(WaitlistId::new(value))
}

#[tracing::instrument(skip_all, err)]
pub async fn waitlist_length<C: ConnectionTrait>(conn: &C, slot: SlotId) -> Result<u32> {
    let n = count(
        conn,
        "SELECT COUNT(*) AS n FROM appt_waitlist WHERE slot_id = $1 AND status = 'waiting'",
        vec![slot.get().into()],
    )
    .await?;
    Ok(to_u32(n))
}

/// Entries still waiting for a slot, first come first.
#[tracing::instrument(skip_all, err)]
pub async fn waiting_entries<C: ConnectionTrait>(
    conn: &C,
    slot: SlotId,
) -> Result<Vec<WaitlistEntry>> {
    fetch_all(
        conn,
        &format!(
            "SELECT {WAITLIST_COLUMNS} FROM appt_waitlist w
             WHERE w.slot_id = $1 AND w.status = 'waiting' ORDER BY w.id"
        ),
        [slot.get().into()],
        waitlist_from_row,
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn waitlist_entry<C: ConnectionTrait>(
    conn: &C,
    id: WaitlistId,
) -> Result<Option<WaitlistEntry>> {
    fetch_one(
        conn,
        &format!("SELECT {WAITLIST_COLUMNS} FROM appt_waitlist w WHERE w.id = $1"),
        [id.get().into()],
        waitlist_from_row,
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn waitlist_of_person<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
) -> Result<Vec<WaitlistEntry>> {
    fetch_all(
        conn,
        &format!(
            "SELECT {WAITLIST_COLUMNS} FROM appt_waitlist w WHERE w.person_id = $1 ORDER BY w.id DESC LIMIT 100"
        ),
        [person.get().into()],
        waitlist_from_row,
    )
    .await
}

/// Move a waiting entry on (conditional on it still waiting).
#[tracing::instrument(skip_all, err)]
pub async fn close_waitlist_entry<C: ConnectionTrait>(
    conn: &C,
    id: WaitlistId,
    to: WaitlistStatus,
    booking: Option<BookingId>,
    now: DateTime<Utc>,
) -> Result<bool> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE appt_waitlist SET status = $1, booking_id = $2, updated_at = $3
             WHERE id = $4 AND status = 'waiting'",
            [
                to.code().into(),
                booking.map(BookingId::get).into(),
                ts(now).into(),
                id.get().into(),
            ],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Expire waiting entries of slots that start by `by` (no place can free up any more).
#[tracing::instrument(skip_all, err)]
pub async fn expire_waitlists<C: ConnectionTrait>(conn: &C, by: DateTime<Utc>) -> Result<u64> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE appt_waitlist SET status = 'expired', updated_at = $1
             WHERE status = 'waiting' AND slot_id IN (SELECT id FROM appt_slots WHERE starts_at <= $1)",
            [ts(by).into()],
        ))
        .await?;
    Ok(result.rows_affected())
}

// ------------------------------------------------------------------ suspensions

fn suspension_from_row(row: &QueryResult) -> Result<Suspension> {
    Ok(Suspension {
        person_id: PersonId::new(row.try_get("", "person_id")?),
        department_id: DepartmentId::new(row.try_get("", "department_id")?),
        starts_at: get_ts(row, "starts_at")?,
        ends_at: get_ts(row, "ends_at")?,
        no_shows: get_u32(row, "no_shows")?,
    })
}

/// The suspension in force at `now` that ends last, if any.
#[tracing::instrument(skip_all, err)]
pub async fn active_suspension<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    department: DepartmentId,
    now: DateTime<Utc>,
) -> Result<Option<Suspension>> {
    fetch_one(
        conn,
        "SELECT person_id, department_id, starts_at, ends_at, no_shows FROM appt_suspensions
         WHERE person_id = $1 AND department_id = $2 AND starts_at <= $3 AND ends_at > $3
         ORDER BY ends_at DESC LIMIT 1",
        [person.get().into(), department.get().into(), ts(now).into()],
        suspension_from_row,
    )
    .await
}

/// When the person's latest suspension at the department started (no-shows before it are spent).
#[tracing::instrument(skip_all, err)]
pub async fn last_suspension_start<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    department: DepartmentId,
) -> Result<Option<DateTime<Utc>>> {
    fetch_one(
        conn,
        "SELECT starts_at FROM appt_suspensions WHERE person_id = $1 AND department_id = $2
         ORDER BY starts_at DESC LIMIT 1",
        [person.get().into(), department.get().into()],
        |r| get_ts(r, "starts_at").map_err(AppointmentError::from),
    )
    .await
}

/// Hold the no-show rule of one person at one department until the transaction ends. On PostgreSQL,
/// two transactions recording no-shows of the same person (two nodes sweeping, or a desk and a sweep)
/// would each count without the other's row and both suspend, or neither; this transaction-scoped
/// advisory lock makes the second count after the first has committed. SQLite's single writer
/// (`BEGIN IMMEDIATE`) already serialises them.
#[tracing::instrument(skip_all, err)]
pub async fn lock_no_show_rule<C: ConnectionTrait>(
    conn: &C,
    backend: Backend,
    person: PersonId,
    department: DepartmentId,
) -> Result<()> {
    if backend == Backend::Postgres {
        conn.query_one_raw(stmt(
            conn,
            "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))",
            [format!("appt-no-show:{person}:{department}").into()],
        ))
        .await?;
    }
    Ok(())
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_suspension<C: ConnectionTrait>(
    conn: &C,
    suspension: &Suspension,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO appt_suspensions (person_id, department_id, starts_at, ends_at, no_shows, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)",
        [
            suspension.person_id.get().into(),
            suspension.department_id.get().into(),
            ts(suspension.starts_at).into(),
            ts(suspension.ends_at).into(),
            i64::from(suspension.no_shows).into(),
            ts(now).into(),
        ],
    ))
    .await?;
    Ok(())
}
