//! All SQL of appointments and the queue. Rows never leave this module; callers get model types.
//! Split by table family: groups, resources and slots here; bookings, waitlist and suspensions in
//! [`bookings`]; queue categories and tickets in [`queue`]. Every function is re-exported here.
//!
//! Places in a slot move only through single conditional statements ([`take_place`],
//! [`give_back_place`]); the one-per-day rule is the unique index over `live_key`.

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_db::{
    ConnectionTrait, DbError, QueryResult, Value, date, fetch_all, fetch_one, fetch_required,
    get_date, get_ts, stmt, ts,
};
use yiwang_identity::DepartmentId;

use crate::error::AppointmentError;
use crate::model::{
    BookingPolicy, Group, GroupId, GroupKind, NewGroup, NewResource, Resource, ResourceId,
    ResourceKind, Schedule, Slot, SlotId, SlotView,
};

mod bookings;
mod queue;

pub use bookings::{
    NewBooking, active_suspension, booking_by_code, booking_by_id, booking_details,
    bookings_of_group_day, bookings_of_person, close_waitlist_entry, count_no_shows,
    ended_bookings, expire_waitlists, idempotency_answer, insert_booking, insert_booking_if_free,
    insert_suspension, insert_waitlist, last_suspension_start, live_key_taken, lock_no_show_rule,
    set_booking_status, store_idempotency, waiting_entries, waitlist_entry, waitlist_length,
    waitlist_of_person,
};
pub use queue::{
    NewTicket, abandon_open, call_ticket, categories_of, handling_samples, insert_category,
    insert_ticket, next_for_window, next_ticket_number, open_at_window, open_days_before,
    recall_ticket, set_ticket_status, ticket_by_id, ticket_of_booking, tickets_of_day,
    waiting_ahead,
};

pub(super) type Result<T> = std::result::Result<T, AppointmentError>;

// ------------------------------------------------------------------ helpers

pub(super) fn corrupt(what: &str, value: &str) -> AppointmentError {
    AppointmentError::Corrupt(format!("{what} {value:?}"))
}

pub(super) fn get_u32(row: &QueryResult, column: &str) -> Result<u32> {
    Ok(u32::try_from(row.try_get::<i64>("", column)?.max(0)).unwrap_or(u32::MAX))
}

pub(super) fn json<T: serde::Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| AppointmentError::Corrupt(e.to_string()))
}

pub(super) fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| AppointmentError::Corrupt(format!("{what}: {e}")))
}

/// Whether a database error is a unique violation whose message names `index`.
pub(crate) fn violates(error: &AppointmentError, index: &str) -> bool {
    match error {
        AppointmentError::Db(e) => e.is_unique_violation() && e.to_string().contains(index),
        _ => false,
    }
}

pub(super) fn unique_or(e: DbError, taken: impl FnOnce() -> AppointmentError) -> AppointmentError {
    if e.is_unique_violation() {
        taken()
    } else {
        AppointmentError::from(e)
    }
}

/// A count as the `u32` the model uses (saturating).
pub(super) fn to_u32(n: u64) -> u32 {
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
