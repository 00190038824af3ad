//! All SQL of requests, portable between SQLite and PostgreSQL, every function generic over the
//! connection so it runs on the pool or inside the caller's transaction. This file: the request
//! record, assignments and history; `catalog.rs`: categories, routes, regions and departments;
//! `mediation.rs`: mediations and agreements; `petition.rs`: petitions and their letters.

mod catalog;
mod grid;
mod knowledge;
mod mediation;
mod open311;
mod petition;

pub use catalog::*;
pub use grid::*;
pub use knowledge::*;
pub use mediation::*;
pub use open311::*;
pub use petition::*;

use chrono::{DateTime, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, Value, fetch_all, fetch_one, fetch_required, get_opt_ts, get_ts,
    opt_ts, stmt, ts,
};
use yiwang_identity::model::{DepartmentId, PersonId, StaffId};
use yiwang_kernel::{TimeLimit, TimeUnit};

use crate::RequestError;
use crate::machine::Effects;
use crate::model::{
    Assignment, AssignmentRole, Channel, GridId, Request, RequestEvent, RequestId, RequestKind,
    Status, Urgency, VisitResult,
};

pub(crate) fn corrupt(what: &'static str) -> impl Fn(String) -> RequestError {
    move |e| RequestError::Corrupt(format!("{what}: {e}"))
}

pub(crate) async fn exec<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<u64, RequestError> {
    Ok(conn
        .execute_raw(stmt(conn, sql, values))
        .await?
        .rows_affected())
}

fn parse_code<T>(
    row: &QueryResult,
    column: &'static str,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<T, RequestError> {
    let code: String = row.try_get("", column)?;
    parse(&code).ok_or_else(|| corrupt(column)(code))
}

// ---------------------------------------------------------------------------------------------
// Requests

/// A request to store.
#[derive(Debug, Clone)]
pub struct NewRequestRow<'a> {
    pub public_id: &'a str,
    pub channel: Channel,
    pub kind: RequestKind,
    pub category: &'a str,
    pub region_code: &'a str,
    pub urgency: Urgency,
    pub title: &'a str,
    pub body: &'a str,
    pub location: &'a str,
    /// (longitude, latitude) in microdegrees.
    pub coordinates: Option<(i64, i64)>,
    pub grid: Option<GridId>,
    pub person: Option<PersonId>,
    pub contact_name: &'a str,
    pub contact_mobile_enc: Option<String>,
    pub contact_mobile_masked: &'a str,
    pub received_by: Option<StaffId>,
    pub now: DateTime<Utc>,
}

pub async fn insert_request<C: ConnectionTrait>(
    conn: &C,
    r: &NewRequestRow<'_>,
) -> Result<RequestId, RequestError> {
    fetch_required(
        conn,
        "INSERT INTO requests (public_id, channel, kind, category_code, region_code, urgency, title,
             body, location, person_id, contact_name, contact_mobile_enc, contact_mobile_masked,
             received_by, status, created_at, updated_at, lon_micro, lat_micro, grid_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'received', $15, $15,
             $16, $17, $18)
         RETURNING id",
        [
            r.public_id.into(),
            r.channel.code().into(),
            r.kind.code().into(),
            r.category.into(),
            r.region_code.into(),
            r.urgency.code().into(),
            r.title.into(),
            r.body.into(),
            r.location.into(),
            r.person.map(PersonId::get).into(),
            r.contact_name.into(),
            r.contact_mobile_enc.clone().into(),
            r.contact_mobile_masked.into(),
            r.received_by.map(StaffId::get).into(),
            ts(r.now).into(),
            r.coordinates.map(|c| c.0).into(),
            r.coordinates.map(|c| c.1).into(),
            r.grid.map(GridId::get).into(),
        ],
        |row| Ok::<_, RequestError>(RequestId::new(row.try_get("", "id")?)),
    )
    .await
}

const REQUEST_COLUMNS: &str = "id, public_id, channel, kind, category_code, region_code, urgency,
    title, body, location, lon_micro, lat_micro, grid_id, person_id, contact_name, contact_mobile_masked, received_by, status,
    lead_department_id, due_at, return_until, extension_pending, extension_amount, extension_unit,
    reply, replied_at, concluded_at, visit_result, rating, merged_into, warned_at, overdue_at,
    revision, created_at, updated_at";

fn request_from_row(row: &QueryResult) -> Result<Request, RequestError> {
    let pending: i64 = row.try_get("", "extension_pending")?;
    let extension = if pending == 0 {
        None
    } else {
        let amount: i64 = row.try_get("", "extension_amount")?;
        let unit = parse_code(row, "extension_unit", TimeUnit::from_code)?;
        Some(TimeLimit::new(
            u32::try_from(amount).map_err(|e| corrupt("extension amount")(e.to_string()))?,
            unit,
        ))
    };
    let visit: Option<String> = row.try_get("", "visit_result")?;
    let rating: Option<i64> = row.try_get("", "rating")?;
    Ok(Request {
        id: RequestId::new(row.try_get("", "id")?),
        public_id: row.try_get("", "public_id")?,
        channel: parse_code(row, "channel", Channel::from_code)?,
        kind: parse_code(row, "kind", RequestKind::from_code)?,
        category: row.try_get("", "category_code")?,
        region_code: row.try_get("", "region_code")?,
        urgency: parse_code(row, "urgency", Urgency::from_code)?,
        title: row.try_get("", "title")?,
        body: row.try_get("", "body")?,
        location: row.try_get("", "location")?,
        coordinates: match (
            row.try_get::<Option<i64>>("", "lon_micro")?,
            row.try_get::<Option<i64>>("", "lat_micro")?,
        ) {
            (Some(lon), Some(lat)) => Some((lon, lat)),
            _ => None,
        },
        grid: row.try_get::<Option<i64>>("", "grid_id")?.map(GridId::new),
        person: row
            .try_get::<Option<i64>>("", "person_id")?
            .map(PersonId::new),
        contact_name: row.try_get("", "contact_name")?,
        contact_mobile_masked: row.try_get("", "contact_mobile_masked")?,
        received_by: row
            .try_get::<Option<i64>>("", "received_by")?
            .map(StaffId::new),
        status: parse_code(row, "status", Status::from_code)?,
        lead_department: row
            .try_get::<Option<i64>>("", "lead_department_id")?
            .map(DepartmentId::new),
        due_at: get_opt_ts(row, "due_at")?,
        return_until: get_opt_ts(row, "return_until")?,
        extension,
        reply: row.try_get("", "reply")?,
        replied_at: get_opt_ts(row, "replied_at")?,
        concluded_at: get_opt_ts(row, "concluded_at")?,
        visit_result: visit
            .map(|v| VisitResult::from_code(&v).ok_or_else(|| corrupt("visit result")(v)))
            .transpose()?,
        rating: rating
            .map(|r| u8::try_from(r).map_err(|e| corrupt("rating")(e.to_string())))
            .transpose()?,
        merged_into: row
            .try_get::<Option<i64>>("", "merged_into")?
            .map(RequestId::new),
        warned_at: get_opt_ts(row, "warned_at")?,
        overdue_at: get_opt_ts(row, "overdue_at")?,
        revision: row.try_get("", "revision")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

pub async fn request<C: ConnectionTrait>(
    conn: &C,
    id: RequestId,
) -> Result<Option<Request>, RequestError> {
    fetch_one(
        conn,
        &format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE id = $1"),
        [id.get().into()],
        request_from_row,
    )
    .await
}

pub async fn request_by_public_id<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
) -> Result<Option<Request>, RequestError> {
    fetch_one(
        conn,
        &format!("SELECT {REQUEST_COLUMNS} FROM requests WHERE public_id = $1"),
        [public_id.into()],
        request_from_row,
    )
    .await
}

/// The sealed contact mobile of a request, if one was given.
pub async fn contact_mobile_enc<C: ConnectionTrait>(
    conn: &C,
    id: RequestId,
) -> Result<Option<String>, RequestError> {
    Ok(fetch_one(
        conn,
        "SELECT contact_mobile_enc FROM requests WHERE id = $1",
        [id.get().into()],
        |row| Ok::<_, RequestError>(row.try_get::<Option<String>>("", "contact_mobile_enc")?),
    )
    .await?
    .flatten())
}

/// Requests of the same region and category created since `since` (not merged, not `except`):
/// the candidates of duplicate detection, newest first.
pub async fn similar_candidates<C: ConnectionTrait>(
    conn: &C,
    region_code: &str,
    category: &str,
    since: DateTime<Utc>,
    except: RequestId,
) -> Result<Vec<Request>, RequestError> {
    fetch_all(
        conn,
        &format!(
            "SELECT {REQUEST_COLUMNS} FROM requests
             WHERE region_code = $1 AND category_code = $2 AND created_at >= $3 AND id <> $4
               AND status <> 'merged'
             ORDER BY created_at DESC, id DESC LIMIT 200"
        ),
        [
            region_code.into(),
            category.into(),
            ts(since).into(),
            except.get().into(),
        ],
        request_from_row,
    )
    .await
}

/// Writes a machine's effects if nobody changed the request meanwhile (its revision).
pub async fn apply<C: ConnectionTrait>(
    conn: &C,
    request: &Request,
    effects: &Effects,
    lead: Option<DepartmentId>,
    reply: Option<&str>,
    merged_into: Option<RequestId>,
    now: DateTime<Utc>,
) -> Result<bool, RequestError> {
    let replied = (effects.to == Status::Replied && effects.from != Status::Replied).then_some(now);
    let concluded =
        (effects.to == Status::Concluded && effects.from != Status::Concluded).then_some(now);
    let changed = exec(
        conn,
        "UPDATE requests SET
             status = $3, lead_department_id = $4, due_at = $5, return_until = $6,
             extension_pending = $7, extension_amount = $8, extension_unit = $9,
             reply = COALESCE($10, reply), replied_at = COALESCE($11, replied_at),
             concluded_at = COALESCE($12, concluded_at),
             visit_result = COALESCE($13, visit_result), rating = COALESCE($14, rating),
             merged_into = COALESCE($15, merged_into),
             revision = revision + 1, updated_at = $16
         WHERE id = $1 AND revision = $2",
        [
            request.id.get().into(),
            request.revision.into(),
            effects.to.code().into(),
            lead.map(DepartmentId::get).into(),
            opt_ts(effects.due_at),
            opt_ts(effects.return_until),
            i64::from(effects.extension.is_some()).into(),
            effects.extension.map(|l| i64::from(l.amount)).into(),
            effects.extension.map(|l| l.unit.code().to_owned()).into(),
            reply.map(str::to_owned).into(),
            opt_ts(replied),
            opt_ts(concluded),
            effects.visit.map(|v| v.code().to_owned()).into(),
            effects.rating.map(i64::from).into(),
            merged_into.map(RequestId::get).into(),
            ts(now).into(),
        ],
    )
    .await?;
    Ok(changed == 1)
}

/// Marks the status directly (a petition or a mediation moves its request); revision-checked.
pub async fn set_status<C: ConnectionTrait>(
    conn: &C,
    request: &Request,
    status: Status,
    lead: Option<DepartmentId>,
    now: DateTime<Utc>,
) -> Result<bool, RequestError> {
    let concluded = (status.is_concluded() && !request.status.is_concluded()).then_some(now);
    let changed = exec(
        conn,
        "UPDATE requests SET status = $3, lead_department_id = COALESCE($4, lead_department_id),
             concluded_at = COALESCE($5, concluded_at), revision = revision + 1, updated_at = $6
         WHERE id = $1 AND revision = $2",
        [
            request.id.get().into(),
            request.revision.into(),
            status.code().into(),
            lead.map(DepartmentId::get).into(),
            opt_ts(concluded),
            ts(now).into(),
        ],
    )
    .await?;
    Ok(changed == 1)
}

#[expect(
    clippy::too_many_arguments,
    reason = "one history line: request, time, actor, action, states and note"
)]
pub async fn insert_event<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
    at: DateTime<Utc>,
    actor: &str,
    action: &str,
    from: Status,
    to: Status,
    note: &str,
) -> Result<(), RequestError> {
    exec(
        conn,
        "INSERT INTO request_events (request_id, at, actor, action, from_status, to_status, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            request.get().into(),
            ts(at).into(),
            actor.into(),
            action.into(),
            from.code().into(),
            to.code().into(),
            note.into(),
        ],
    )
    .await?;
    Ok(())
}

pub async fn events<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
) -> Result<Vec<RequestEvent>, RequestError> {
    fetch_all(
        conn,
        "SELECT at, actor, action, from_status, to_status, note FROM request_events
         WHERE request_id = $1 ORDER BY id",
        [request.get().into()],
        |row| {
            Ok(RequestEvent {
                at: get_ts(row, "at")?,
                actor: row.try_get("", "actor")?,
                action: row.try_get("", "action")?,
                from: parse_code(row, "from_status", Status::from_code)?,
                to: parse_code(row, "to_status", Status::from_code)?,
                note: row.try_get("", "note")?,
            })
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Assignments (主办 / 协办)

pub async fn insert_assignment<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
    department: DepartmentId,
    role: AssignmentRole,
    now: DateTime<Utc>,
) -> Result<(), RequestError> {
    exec(
        conn,
        "INSERT INTO request_assignments (request_id, department_id, role, assigned_at)
         VALUES ($1, $2, $3, $4)",
        [
            request.get().into(),
            department.get().into(),
            role.code().into(),
            ts(now).into(),
        ],
    )
    .await?;
    Ok(())
}

/// Ends every open assignment of a request (退单, 改派, merge) with the reason.
pub async fn end_assignments<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<u64, RequestError> {
    exec(
        conn,
        "UPDATE request_assignments SET ended_at = $2, end_reason = $3
         WHERE request_id = $1 AND ended_at IS NULL",
        [request.get().into(), ts(now).into(), reason.into()],
    )
    .await
}

/// Records a 协办 department's opinion on its open assignment; false when it has none.
pub async fn set_opinion<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
    department: DepartmentId,
    opinion: &str,
) -> Result<bool, RequestError> {
    Ok(exec(
        conn,
        "UPDATE request_assignments SET opinion = $3
         WHERE request_id = $1 AND department_id = $2 AND role = 'assist' AND ended_at IS NULL",
        [
            request.get().into(),
            department.get().into(),
            opinion.into(),
        ],
    )
    .await?
        == 1)
}

pub async fn assignments<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
) -> Result<Vec<Assignment>, RequestError> {
    fetch_all(
        conn,
        "SELECT a.department_id, d.name, a.role, a.assigned_at, a.ended_at, a.end_reason, a.opinion
         FROM request_assignments a JOIN departments d ON d.id = a.department_id
         WHERE a.request_id = $1 ORDER BY a.id",
        [request.get().into()],
        |row| {
            Ok(Assignment {
                department: DepartmentId::new(row.try_get("", "department_id")?),
                department_name: row.try_get("", "name")?,
                role: parse_code(row, "role", AssignmentRole::from_code)?,
                assigned_at: get_ts(row, "assigned_at")?,
                ended_at: get_opt_ts(row, "ended_at")?,
                end_reason: row.try_get("", "end_reason")?,
                opinion: row.try_get("", "opinion")?,
            })
        },
    )
    .await
}

/// A department holds an open assignment (主办 or 协办) on the request.
pub async fn is_assigned<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
    department: DepartmentId,
) -> Result<bool, RequestError> {
    Ok(fetch_one(
        conn,
        "SELECT 1 AS one FROM request_assignments
         WHERE request_id = $1 AND department_id = $2 AND ended_at IS NULL",
        [request.get().into(), department.get().into()],
        |_| Ok::<_, RequestError>(()),
    )
    .await?
    .is_some())
}

/// A person's own requests, newest first.
pub async fn requests_of_person<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    limit: u64,
) -> Result<Vec<Request>, RequestError> {
    fetch_all(
        conn,
        &format!(
            "SELECT {REQUEST_COLUMNS} FROM requests WHERE person_id = $1
             ORDER BY created_at DESC, id DESC LIMIT {limit}"
        ),
        [person.get().into()],
        request_from_row,
    )
    .await
}

/// Open requests of a department as 主办, by deadline.
pub async fn department_inbox<C: ConnectionTrait>(
    conn: &C,
    department: DepartmentId,
) -> Result<Vec<Request>, RequestError> {
    fetch_all(
        conn,
        &format!(
            "SELECT {REQUEST_COLUMNS} FROM requests
             WHERE lead_department_id = $1 AND status IN ('dispatched', 'handling')
             ORDER BY due_at, id LIMIT 500"
        ),
        [department.get().into()],
        request_from_row,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Deadline sweep

/// Open requests whose limit ends by `until` and that were not yet marked in `column`
/// (`warned_at` or `overdue_at`), oldest deadline first.
pub async fn due_unmarked<C: ConnectionTrait>(
    conn: &C,
    column: SweepMark,
    until: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Request>, RequestError> {
    fetch_all(
        conn,
        &format!(
            "SELECT {REQUEST_COLUMNS} FROM requests
             WHERE status IN ('received', 'dispatched', 'handling') AND due_at IS NOT NULL
               AND due_at <= $1 AND {col} IS NULL
             ORDER BY due_at, id LIMIT {limit}",
            col = column.column()
        ),
        [ts(until).into()],
        request_from_row,
    )
    .await
}

/// Which sweep mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SweepMark {
    /// 临期 warning.
    Warned,
    /// 超期.
    Overdue,
}

impl SweepMark {
    fn column(self) -> &'static str {
        match self {
            SweepMark::Warned => "warned_at",
            SweepMark::Overdue => "overdue_at",
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            SweepMark::Warned => "near_due",
            SweepMark::Overdue => "overdue",
        }
    }
}

/// Sets the mark once; false when another sweep set it first.
pub async fn mark<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
    column: SweepMark,
    now: DateTime<Utc>,
) -> Result<bool, RequestError> {
    Ok(exec(
        conn,
        &format!(
            "UPDATE requests SET {col} = $2 WHERE id = $1 AND {col} IS NULL",
            col = column.column()
        ),
        [request.get().into(), ts(now).into()],
    )
    .await?
        == 1)
}
