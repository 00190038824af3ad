//! All SQL of appointments and the queue. Rows never leave this module; callers get model types.
//!
//! Places in a slot move only through single conditional statements ([`take_place`],
//! [`give_back_place`]); the one-per-day rule is the unique index over `live_key`.

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_db::{
    Backend, ConnectionTrait, DbError, QueryResult, Value, count, date, fetch_all, fetch_one,
    fetch_required, get_date, get_opt_ts, get_ts, stmt, ts,
};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::PersonId;

use crate::error::AppointmentError;
use crate::model::{
    Audience, Booking, BookingCode, BookingDetails, BookingId, BookingPolicy, BookingStatus,
    Category, CategoryId, Group, GroupId, GroupKind, Lane, NewCategory, NewGroup, NewResource,
    Resource, ResourceId, ResourceKind, Schedule, Slot, SlotId, SlotView, Suspension, Ticket,
    TicketId, TicketStatus, WaitlistEntry, WaitlistId, WaitlistStatus,
};

type Result<T> = std::result::Result<T, AppointmentError>;

// ------------------------------------------------------------------ helpers

fn corrupt(what: &str, value: &str) -> AppointmentError {
    AppointmentError::Corrupt(format!("{what} {value:?}"))
}

fn get_u32(row: &QueryResult, column: &str) -> Result<u32> {
    Ok(u32::try_from(row.try_get::<i64>("", column)?.max(0)).unwrap_or(u32::MAX))
}

fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| AppointmentError::Corrupt(e.to_string()))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| AppointmentError::Corrupt(format!("{what}: {e}")))
}

/// Whether a database error is a unique violation whose message names `index`.
pub(crate) fn violates(error: &AppointmentError, index: &str) -> bool {
    match error {
        AppointmentError::Db(e) => e.is_unique_violation() && e.to_string().contains(index),
        _ => false,
    }
}

fn unique_or(e: DbError, taken: impl FnOnce() -> AppointmentError) -> AppointmentError {
    if e.is_unique_violation() {
        taken()
    } else {
        AppointmentError::from(e)
    }
}

/// A count as the `u32` the model uses (saturating).
fn to_u32(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// ------------------------------------------------------------------ groups

const GROUP_COLUMNS: &str = "id, code, kind, name, department_id, address, policy";

fn group_from_row(row: &QueryResult) -> Result<Group> {
    let kind: String = row.try_get("", "kind")?;
    Ok(Group {
        id: GroupId::new(row.try_get("", "id")?),
        code: row.try_get("", "code")?,
        kind: GroupKind::parse(&kind).ok_or_else(|| corrupt("group kind", &kind))?,
        name: row.try_get("", "name")?,
        department_id: DepartmentId::new(row.try_get("", "department_id")?),
        address: row.try_get("", "address")?,
        policy: from_json("group policy", &row.try_get::<String>("", "policy")?)?,
    })
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_group<C: ConnectionTrait>(
    conn: &C,
    new: &NewGroup,
    department: DepartmentId,
    policy: &BookingPolicy,
    now: DateTime<Utc>,
) -> Result<GroupId> {
    let value: i64 = fetch_required(
        conn,
        "INSERT INTO appt_groups (code, kind, name, department_id, address, policy, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
        [
            new.code.clone().into(),
            new.kind.code().into(),
            new.name.clone().into(),
            department.get().into(),
            new.address.clone().into(),
            json(policy)?.into(),
            ts(now).into(),
        ],
        |r| r.try_get("", "id").map_err(DbError::from),
    )
    .await
    .map_err(|e| unique_or(e, || AppointmentError::CodeTaken(new.code.clone())))?;
    Ok(GroupId::new(value))
}

#[tracing::instrument(skip_all, err)]
pub async fn group_by_id<C: ConnectionTrait>(conn: &C, id: GroupId) -> Result<Option<Group>> {
    fetch_one(
        conn,
        &format!("SELECT {GROUP_COLUMNS} FROM appt_groups WHERE id = $1"),
        [id.get().into()],
        group_from_row,
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn group_by_code<C: ConnectionTrait>(conn: &C, code: &str) -> Result<Option<Group>> {
    fetch_one(
        conn,
        &format!("SELECT {GROUP_COLUMNS} FROM appt_groups WHERE code = $1"),
        [code.into()],
        group_from_row,
    )
    .await
}

/// Every group, or a department's, in code order.
#[tracing::instrument(skip_all, err)]
pub async fn groups<C: ConnectionTrait>(
    conn: &C,
    department: Option<DepartmentId>,
) -> Result<Vec<Group>> {
    let rows = match department {
        Some(d) => {
            conn.query_all_raw(stmt(
                conn,
                &format!(
                    "SELECT {GROUP_COLUMNS} FROM appt_groups WHERE department_id = $1 ORDER BY code"
                ),
                [d.get().into()],
            ))
            .await?
        }
        None => {
            conn.query_all_raw(stmt(
                conn,
                &format!("SELECT {GROUP_COLUMNS} FROM appt_groups ORDER BY code"),
                [],
            ))
            .await?
        }
    };
    rows.iter().map(group_from_row).collect()
}

#[tracing::instrument(skip_all, err)]
pub async fn update_policy<C: ConnectionTrait>(
    conn: &C,
    group: GroupId,
    policy: &BookingPolicy,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE appt_groups SET policy = $1, updated_at = $2 WHERE id = $3",
        [json(policy)?.into(), ts(now).into(), group.get().into()],
    ))
    .await?;
    Ok(())
}

/// Move a group's board version on; returns the new version.
#[tracing::instrument(skip_all, err)]
pub async fn bump_board<C: ConnectionTrait>(conn: &C, group: GroupId) -> Result<u64> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "UPDATE appt_groups SET board_version = board_version + 1 WHERE id = $1 RETURNING board_version",
            [group.get().into()],
        ))
        .await?
        .ok_or(AppointmentError::GroupNotFound)?;
    Ok(row.try_get::<i64>("", "board_version")?.max(0) as u64)
}

#[tracing::instrument(skip_all, err)]
pub async fn board_version<C: ConnectionTrait>(conn: &C, group: GroupId) -> Result<u64> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT board_version FROM appt_groups WHERE id = $1",
            [group.get().into()],
        ))
        .await?
        .ok_or(AppointmentError::GroupNotFound)?;
    Ok(row.try_get::<i64>("", "board_version")?.max(0) as u64)
}

// ------------------------------------------------------------------ resources

const RESOURCE_COLUMNS: &str =
    "id, group_id, code, kind, name, title, items, categories, schedule, active";

fn resource_from_row(row: &QueryResult) -> Result<Resource> {
    let kind: String = row.try_get("", "kind")?;
    Ok(Resource {
        id: ResourceId::new(row.try_get("", "id")?),
        group_id: GroupId::new(row.try_get("", "group_id")?),
        code: row.try_get("", "code")?,
        kind: ResourceKind::parse(&kind).ok_or_else(|| corrupt("resource kind", &kind))?,
        name: row.try_get("", "name")?,
        title: row.try_get("", "title")?,
        items: from_json("resource items", &row.try_get::<String>("", "items")?)?,
        categories: from_json(
            "resource categories",
            &row.try_get::<String>("", "categories")?,
        )?,
        schedule: row
            .try_get::<Option<String>>("", "schedule")?
            .map(|s| from_json::<Schedule>("schedule", &s))
            .transpose()?,
        active: row.try_get::<i64>("", "active")? != 0,
    })
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_resource<C: ConnectionTrait>(
    conn: &C,
    group: GroupId,
    kind: ResourceKind,
    new: &NewResource,
    now: DateTime<Utc>,
) -> Result<ResourceId> {
    let value: i64 = fetch_required(
        conn,
        "INSERT INTO appt_resources (group_id, code, kind, name, title, items, categories, active, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 1, $8, $8) RETURNING id",
        [
            group.get().into(),
            new.code.clone().into(),
            kind.code().into(),
            new.name.clone().into(),
            new.title.clone().into(),
            json(&new.items)?.into(),
            json(&new.categories)?.into(),
            ts(now).into(),
        ],
        |r| r.try_get("", "id").map_err(DbError::from),
    )
    .await
    .map_err(|e| unique_or(e, || AppointmentError::CodeTaken(new.code.clone())))?;
    Ok(ResourceId::new(value))
}

#[tracing::instrument(skip_all, err)]
pub async fn resource_by_id<C: ConnectionTrait>(
    conn: &C,
    id: ResourceId,
) -> Result<Option<Resource>> {
    fetch_one(
        conn,
        &format!("SELECT {RESOURCE_COLUMNS} FROM appt_resources WHERE id = $1"),
        [id.get().into()],
        resource_from_row,
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn resources_of<C: ConnectionTrait>(conn: &C, group: GroupId) -> Result<Vec<Resource>> {
    fetch_all(
        conn,
        &format!("SELECT {RESOURCE_COLUMNS} FROM appt_resources WHERE group_id = $1 ORDER BY code"),
        [group.get().into()],
        resource_from_row,
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn update_resource<C: ConnectionTrait>(
    conn: &C,
    id: ResourceId,
    schedule: Option<&Schedule>,
    categories: &[String],
    items: &[String],
    active: bool,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE appt_resources SET schedule = $1, categories = $2, items = $3, active = $4, updated_at = $5
         WHERE id = $6",
        [
            schedule.map(json).transpose()?.into(),
            json(&categories)?.into(),
            json(&items)?.into(),
            i64::from(active).into(),
            ts(now).into(),
            id.get().into(),
        ],
    ))
    .await?;
    Ok(())
}

// ------------------------------------------------------------------ slots

const SLOT_COLUMNS: &str = "s.id, s.resource_id, s.group_id, s.day, s.starts_at, s.ends_at, s.release_at, s.capacity, s.booked";

fn slot_from_row(row: &QueryResult) -> Result<Slot> {
    Ok(Slot {
        id: SlotId::new(row.try_get("", "id")?),
        resource_id: ResourceId::new(row.try_get("", "resource_id")?),
        group_id: GroupId::new(row.try_get("", "group_id")?),
        day: get_date(row, "day")?,
        starts_at: get_ts(row, "starts_at")?,
        ends_at: get_ts(row, "ends_at")?,
        release_at: get_ts(row, "release_at")?,
        capacity: get_u32(row, "capacity")?,
        booked: get_u32(row, "booked")?,
    })
}

/// A slot unless one already starts at that time for the resource. Returns whether it was created.
#[expect(clippy::too_many_arguments, reason = "one column each")]
#[tracing::instrument(skip_all, err)]
pub async fn insert_slot_if_absent<C: ConnectionTrait>(
    conn: &C,
    resource: ResourceId,
    group: GroupId,
    day: NaiveDate,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    release_at: DateTime<Utc>,
    capacity: u32,
    now: DateTime<Utc>,
) -> Result<bool> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "INSERT INTO appt_slots (resource_id, group_id, day, starts_at, ends_at, release_at, capacity, booked, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, 0, $8)
             ON CONFLICT (resource_id, starts_at) DO NOTHING RETURNING id",
            [
                resource.get().into(),
                group.get().into(),
                date(day).into(),
                ts(starts_at).into(),
                ts(ends_at).into(),
                ts(release_at).into(),
                i64::from(capacity).into(),
                ts(now).into(),
            ],
        ))
        .await?;
    Ok(row.is_some())
}

#[tracing::instrument(skip_all, err)]
pub async fn slot_by_id<C: ConnectionTrait>(conn: &C, id: SlotId) -> Result<Option<Slot>> {
    fetch_one(
        conn,
        &format!("SELECT {SLOT_COLUMNS} FROM appt_slots s WHERE s.id = $1"),
        [id.get().into()],
        slot_from_row,
    )
    .await
}

fn slot_view_from_row(row: &QueryResult) -> Result<SlotView> {
    Ok(SlotView {
        slot: slot_from_row(row)?,
        resource_code: row.try_get("", "resource_code")?,
        resource_name: row.try_get("", "resource_name")?,
        resource_title: row.try_get("", "resource_title")?,
    })
}

/// Slots of a group from `from` to `to` (inclusive) in time order; with `released_by`, only those
/// released by then and not yet started.
#[tracing::instrument(skip_all, err)]
pub async fn slots_of_group<C: ConnectionTrait>(
    conn: &C,
    group: GroupId,
    from: NaiveDate,
    to: NaiveDate,
    released_by: Option<DateTime<Utc>>,
) -> Result<Vec<SlotView>> {
    let base = format!(
        "SELECT {SLOT_COLUMNS}, r.code AS resource_code, r.name AS resource_name, r.title AS resource_title
         FROM appt_slots s JOIN appt_resources r ON r.id = s.resource_id
         WHERE s.group_id = $1 AND s.day >= $2 AND s.day <= $3 AND r.active = 1"
    );
    let mut values: Vec<Value> = vec![group.get().into(), date(from).into(), date(to).into()];
    let sql = match released_by {
        Some(now) => {
            values.push(ts(now).into());
            format!(
                "{base} AND s.release_at <= $4 AND s.starts_at > $4 ORDER BY s.starts_at, r.code"
            )
        }
        None => format!("{base} ORDER BY s.starts_at, r.code"),
    };
    let rows = conn.query_all_raw(stmt(conn, &sql, values)).await?;
    rows.iter().map(slot_view_from_row).collect()
}

/// The (resource, day) pairs of a group that already have slots between `from` and `to`.
#[tracing::instrument(skip_all, err)]
pub async fn slot_days<C: ConnectionTrait>(
    conn: &C,
    group: GroupId,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(ResourceId, NaiveDate)>> {
    let rows = conn
        .query_all_raw(stmt(
            conn,
            "SELECT DISTINCT resource_id, day FROM appt_slots WHERE group_id = $1 AND day >= $2 AND day <= $3",
            [group.get().into(), date(from).into(), date(to).into()],
        ))
        .await?;
    rows.iter()
        .map(|r| {
            Ok((
                ResourceId::new(r.try_get("", "resource_id")?),
                get_date(r, "day")?,
            ))
        })
        .collect()
}

/// Take one place: one statement that succeeds only while places remain and the slot is released.
/// Returns the places booked (this one included) and the capacity, or `None` when none was left.
#[tracing::instrument(skip_all, err)]
pub async fn take_place<C: ConnectionTrait>(
    conn: &C,
    slot: SlotId,
    now: DateTime<Utc>,
) -> Result<Option<(u32, u32)>> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "UPDATE appt_slots SET booked = booked + 1
             WHERE id = $1 AND booked < capacity AND release_at <= $2
             RETURNING booked, capacity",
            [slot.get().into(), ts(now).into()],
        ))
        .await?;
    row.map(|r| Ok((get_u32(&r, "booked")?, get_u32(&r, "capacity")?)))
        .transpose()
}

#[tracing::instrument(skip_all, err)]
pub async fn give_back_place<C: ConnectionTrait>(conn: &C, slot: SlotId) -> Result<bool> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE appt_slots SET booked = booked - 1 WHERE id = $1 AND booked > 0",
            [slot.get().into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Days of a group with slots not yet released (their release time follows the group's rule).
#[tracing::instrument(skip_all, err)]
pub async fn unreleased_days<C: ConnectionTrait>(
    conn: &C,
    group: GroupId,
    now: DateTime<Utc>,
) -> Result<Vec<NaiveDate>> {
    fetch_all(
        conn,
        "SELECT DISTINCT day FROM appt_slots WHERE group_id = $1 AND release_at > $2 ORDER BY day",
        [group.get().into(), ts(now).into()],
        |r| get_date(r, "day").map_err(AppointmentError::from),
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn set_release_at<C: ConnectionTrait>(
    conn: &C,
    group: GroupId,
    day: NaiveDate,
    release_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<()> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE appt_slots SET release_at = $1 WHERE group_id = $2 AND day = $3 AND release_at > $4",
        [
            ts(release_at).into(),
            group.get().into(),
            date(day).into(),
            ts(now).into(),
        ],
    ))
    .await?;
    Ok(())
}

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
