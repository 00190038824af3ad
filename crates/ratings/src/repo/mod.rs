//! All SQL of ratings, portable between SQLite and PostgreSQL, every function generic over the
//! connection so it runs on the pool or inside the caller's transaction. This file: ratings,
//! rectifications, appeals and used links; `stats.rs`: urgings and the disclosure figures.

mod indicators;
mod stats;

pub use indicators::*;
pub use stats::*;

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, Value, count, date, fetch_all, fetch_one, fetch_required,
    get_date, get_opt_ts, get_ts, opt_ts, stmt, ts,
};
use yiwang_identity::model::{DepartmentId, PersonId, StaffId};
use yiwang_kernel::{PageRequest, RegionCode};

use crate::RatingError;
use crate::machine::Effects;
use crate::model::{
    Appeal, AppealGround, AppealId, AppealState, Channel, EventKind, EventRef, FollowUpResult,
    Level, RatingId, RatingView, RectEvent, RectStatus, Rectification, RectificationId,
};

pub(crate) fn corrupt(what: &'static str) -> impl Fn(String) -> RatingError {
    move |e| RatingError::Corrupt(format!("{what}: {e}"))
}

pub(crate) async fn exec<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<u64, RatingError> {
    Ok(conn
        .execute_raw(stmt(conn, sql, values))
        .await?
        .rows_affected())
}

/// The `LIKE` prefix of everything within a region: a province's two digits, a city's four, a
/// county's six.
pub fn region_prefix(region: &RegionCode) -> String {
    let code = region.as_str();
    let digits = if region.is_province() {
        2
    } else if region.is_city() {
        4
    } else {
        6
    };
    format!("{}%", &code[..digits])
}

// ---------------------------------------------------------------------------------------------
// Departments (the organisation's shared table)

/// A department as ratings name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dept {
    pub id: DepartmentId,
    pub code: String,
    pub name: String,
    pub region: RegionCode,
}

fn dept_from_row(row: &QueryResult) -> Result<Dept, RatingError> {
    let region: String = row.try_get("", "region_code")?;
    Ok(Dept {
        id: DepartmentId::new(row.try_get("", "id")?),
        code: row.try_get("", "code")?,
        name: row.try_get("", "name")?,
        region: RegionCode::parse(&region)
            .map_err(|e| corrupt("department region")(e.to_string()))?,
    })
}

pub async fn department<C: ConnectionTrait>(
    conn: &C,
    id: DepartmentId,
) -> Result<Option<Dept>, RatingError> {
    fetch_one(
        conn,
        "SELECT id, code, name, region_code FROM departments WHERE id = $1",
        [id.get().into()],
        dept_from_row,
    )
    .await
}

pub async fn department_by_code<C: ConnectionTrait>(
    conn: &C,
    code: &str,
) -> Result<Option<Dept>, RatingError> {
    fetch_one(
        conn,
        "SELECT id, code, name, region_code FROM departments WHERE code = $1",
        [code.into()],
        dept_from_row,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Ratings

/// A rating to store.
#[derive(Debug, Clone)]
pub struct NewRatingRow<'a> {
    pub public_id: &'a str,
    pub event: EventRef,
    pub person: PersonId,
    pub rater_name_masked: &'a str,
    pub rater_mobile_masked: &'a str,
    pub department: DepartmentId,
    pub region_code: &'a str,
    pub item_name: &'a str,
    pub hall_id: Option<i64>,
    pub window_id: Option<i64>,
    pub served_by: Option<StaffId>,
    pub event_label: &'a str,
    pub level: Level,
    pub tags: &'a [String],
    pub body: &'a str,
    pub channel: Channel,
    pub entered_by: Option<StaffId>,
    pub month: &'a str,
    pub rated_at: DateTime<Utc>,
}

/// Stores a rating; `None` when this person already rated this event (一次一评, the unique index).
pub async fn insert_rating<C: ConnectionTrait>(
    conn: &C,
    r: &NewRatingRow<'_>,
) -> Result<Option<RatingId>, RatingError> {
    let tags = serde_json::to_string(r.tags).map_err(|e| corrupt("tags")(e.to_string()))?;
    fetch_one(
        conn,
        "INSERT INTO ratings (public_id, event_kind, event_id, person_id, rater_name_masked,
             rater_mobile_masked, department_id, region_code, item_name, hall_id, window_id,
             served_by, event_label, level, tags, body, channel, entered_by, month, rated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
             $19, $20)
         ON CONFLICT (event_kind, event_id, person_id) DO NOTHING
         RETURNING id",
        [
            r.public_id.into(),
            r.event.kind.code().into(),
            r.event.id.into(),
            r.person.get().into(),
            r.rater_name_masked.into(),
            r.rater_mobile_masked.into(),
            r.department.get().into(),
            r.region_code.into(),
            r.item_name.into(),
            r.hall_id.into(),
            r.window_id.into(),
            r.served_by.map(StaffId::get).into(),
            r.event_label.into(),
            i64::from(r.level.code()).into(),
            tags.into(),
            r.body.into(),
            r.channel.code().into(),
            r.entered_by.map(StaffId::get).into(),
            r.month.into(),
            ts(r.rated_at).into(),
        ],
        |row| Ok::<_, RatingError>(RatingId::new(row.try_get("", "id")?)),
    )
    .await
}

const RATING_COLUMNS: &str = "r.id, r.public_id, r.event_kind, r.event_id, r.person_id,
    r.rater_name_masked, r.rater_mobile_masked, r.department_id, d.name AS department_name,
    r.region_code, r.item_name, r.event_label, r.level, r.tags, r.body, r.channel, r.entered_by,
    r.rated_at, r.follow_up, r.follow_up_at, r.excluded";

pub(crate) fn rating_from_row(row: &QueryResult) -> Result<RatingView, RatingError> {
    let kind: String = row.try_get("", "event_kind")?;
    let channel: String = row.try_get("", "channel")?;
    let level: i64 = row.try_get("", "level")?;
    let tags: String = row.try_get("", "tags")?;
    Ok(RatingView {
        id: RatingId::new(row.try_get("", "id")?),
        public_id: row.try_get("", "public_id")?,
        event: EventRef {
            kind: EventKind::from_code(&kind).ok_or_else(|| corrupt("event kind")(kind))?,
            id: row.try_get("", "event_id")?,
        },
        event_label: row.try_get("", "event_label")?,
        level: u8::try_from(level)
            .ok()
            .and_then(Level::new)
            .ok_or_else(|| corrupt("level")(level.to_string()))?,
        tags: serde_json::from_str(&tags).map_err(|e| corrupt("tags")(e.to_string()))?,
        text: row.try_get("", "body")?,
        channel: Channel::from_code(&channel).ok_or_else(|| corrupt("channel")(channel))?,
        rater_name: row.try_get("", "rater_name_masked")?,
        rater_mobile: row.try_get("", "rater_mobile_masked")?,
        person: PersonId::new(row.try_get("", "person_id")?),
        department_id: DepartmentId::new(row.try_get("", "department_id")?),
        department_name: row.try_get("", "department_name")?,
        region_code: row.try_get("", "region_code")?,
        item_name: row.try_get("", "item_name")?,
        rated_at: get_ts(row, "rated_at")?,
        follow_up: row.try_get("", "follow_up")?,
        follow_up_at: get_opt_ts(row, "follow_up_at")?,
        excluded: row.try_get::<i64>("", "excluded")? != 0,
        entered_by: row
            .try_get::<Option<i64>>("", "entered_by")?
            .map(StaffId::new),
    })
}

pub async fn rating<C: ConnectionTrait>(
    conn: &C,
    id: RatingId,
) -> Result<Option<RatingView>, RatingError> {
    fetch_one(
        conn,
        &format!(
            "SELECT {RATING_COLUMNS} FROM ratings r JOIN departments d ON d.id = r.department_id
             WHERE r.id = $1"
        ),
        [id.get().into()],
        rating_from_row,
    )
    .await
}

pub async fn rating_by_public_id<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
) -> Result<Option<RatingView>, RatingError> {
    fetch_one(
        conn,
        &format!(
            "SELECT {RATING_COLUMNS} FROM ratings r JOIN departments d ON d.id = r.department_id
             WHERE r.public_id = $1"
        ),
        [public_id.into()],
        rating_from_row,
    )
    .await
}

/// A person's ratings, newest first.
pub async fn ratings_of_person<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    page: PageRequest,
) -> Result<(Vec<RatingView>, u64), RatingError> {
    let total = count(
        conn,
        "SELECT COUNT(*) AS n FROM ratings WHERE person_id = $1",
        [person.get().into()],
    )
    .await?;
    let items = fetch_all(
        conn,
        &format!(
            "SELECT {RATING_COLUMNS} FROM ratings r JOIN departments d ON d.id = r.department_id
             WHERE r.person_id = $1 ORDER BY r.rated_at DESC, r.id DESC LIMIT $2 OFFSET $3"
        ),
        [
            person.get().into(),
            (page.limit() as i64).into(),
            (page.offset() as i64).into(),
        ],
        rating_from_row,
    )
    .await?;
    Ok((items, total))
}

/// A department's ratings in a month, newest first (raters masked).
pub async fn ratings_of_department<C: ConnectionTrait>(
    conn: &C,
    department: DepartmentId,
    month: &str,
    page: PageRequest,
) -> Result<(Vec<RatingView>, u64), RatingError> {
    let total = count(
        conn,
        "SELECT COUNT(*) AS n FROM ratings WHERE department_id = $1 AND month = $2",
        [department.get().into(), month.into()],
    )
    .await?;
    let items = fetch_all(
        conn,
        &format!(
            "SELECT {RATING_COLUMNS} FROM ratings r JOIN departments d ON d.id = r.department_id
             WHERE r.department_id = $1 AND r.month = $2
             ORDER BY r.rated_at DESC, r.id DESC LIMIT $3 OFFSET $4"
        ),
        [
            department.get().into(),
            month.into(),
            (page.limit() as i64).into(),
            (page.offset() as i64).into(),
        ],
        rating_from_row,
    )
    .await?;
    Ok((items, total))
}

/// The rating of an event by a person, if any.
pub async fn rating_of<C: ConnectionTrait>(
    conn: &C,
    event: EventRef,
    person: PersonId,
) -> Result<Option<RatingView>, RatingError> {
    fetch_one(
        conn,
        &format!(
            "SELECT {RATING_COLUMNS} FROM ratings r JOIN departments d ON d.id = r.department_id
             WHERE r.event_kind = $1 AND r.event_id = $2 AND r.person_id = $3"
        ),
        [
            event.kind.code().into(),
            event.id.into(),
            person.get().into(),
        ],
        rating_from_row,
    )
    .await
}

/// Adds the one follow-up comment (conditional: none yet).
pub async fn set_follow_up<C: ConnectionTrait>(
    conn: &C,
    id: RatingId,
    text: &str,
    now: DateTime<Utc>,
) -> Result<bool, RatingError> {
    Ok(exec(
        conn,
        "UPDATE ratings SET follow_up = $2, follow_up_at = $3 WHERE id = $1 AND follow_up IS NULL",
        [id.get().into(), text.into(), ts(now).into()],
    )
    .await?
        == 1)
}

pub async fn exclude_rating<C: ConnectionTrait>(conn: &C, id: RatingId) -> Result<(), RatingError> {
    exec(
        conn,
        "UPDATE ratings SET excluded = 1 WHERE id = $1",
        [id.get().into()],
    )
    .await?;
    Ok(())
}

/// Records a used rating link; `false` when it was used before.
pub async fn use_token<C: ConnectionTrait>(
    conn: &C,
    hash: &str,
    rating: RatingId,
    now: DateTime<Utc>,
) -> Result<bool, RatingError> {
    Ok(fetch_one(
        conn,
        "INSERT INTO rating_used_tokens (token_hash, rating_id, used_at) VALUES ($1, $2, $3)
         ON CONFLICT (token_hash) DO NOTHING RETURNING token_hash",
        [hash.into(), rating.get().into(), ts(now).into()],
        |_| Ok::<_, RatingError>(()),
    )
    .await?
    .is_some())
}

pub async fn token_used<C: ConnectionTrait>(conn: &C, hash: &str) -> Result<bool, RatingError> {
    Ok(count(
        conn,
        "SELECT COUNT(*) AS n FROM rating_used_tokens WHERE token_hash = $1",
        [hash.into()],
    )
    .await?
        > 0)
}

// ---------------------------------------------------------------------------------------------
// Rectifications

/// A new rectification task with its deadlines.
#[derive(Debug, Clone)]
pub struct NewTaskRow<'a> {
    pub rating: RatingId,
    pub department: DepartmentId,
    pub region_code: &'a str,
    pub contact_due_on: NaiveDate,
    pub contact_due_at: DateTime<Utc>,
    pub rectify_due_on: NaiveDate,
    pub rectify_due_at: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

pub async fn insert_task<C: ConnectionTrait>(
    conn: &C,
    t: &NewTaskRow<'_>,
) -> Result<RectificationId, RatingError> {
    fetch_required(
        conn,
        "INSERT INTO rating_rectifications (rating_id, department_id, region_code, status,
             contact_due_on, contact_due_at, rectify_due_on, rectify_due_at, created_at, updated_at)
         VALUES ($1, $2, $3, 'verifying', $4, $5, $6, $7, $8, $8)
         RETURNING id",
        [
            t.rating.get().into(),
            t.department.get().into(),
            t.region_code.into(),
            date(t.contact_due_on).into(),
            ts(t.contact_due_at).into(),
            date(t.rectify_due_on).into(),
            ts(t.rectify_due_at).into(),
            ts(t.now).into(),
        ],
        |row| Ok::<_, RatingError>(RectificationId::new(row.try_get("", "id")?)),
    )
    .await
}

const TASK_COLUMNS: &str = "x.id AS task_id, x.status, x.contact_due_on, x.contact_due_at,
    x.rectify_due_on, x.rectify_due_at, x.contacted_at, x.contact_note, x.rectified_at,
    x.rectify_note, x.follow_up_result, x.follow_up_note, x.followed_up_at, x.closed_at, x.appeal,
    x.overdue_at, x.revision";

pub(crate) fn task_from_row(row: &QueryResult) -> Result<Rectification, RatingError> {
    let status: String = row.try_get("", "status")?;
    let appeal: String = row.try_get("", "appeal")?;
    let result: Option<String> = row.try_get("", "follow_up_result")?;
    Ok(Rectification {
        id: RectificationId::new(row.try_get("", "task_id")?),
        rating: rating_from_row(row)?,
        status: RectStatus::from_code(&status).ok_or_else(|| corrupt("status")(status))?,
        contact_due_on: get_date(row, "contact_due_on")?,
        rectify_due_on: get_date(row, "rectify_due_on")?,
        contact_due_at: get_ts(row, "contact_due_at")?,
        rectify_due_at: get_ts(row, "rectify_due_at")?,
        contacted_at: get_opt_ts(row, "contacted_at")?,
        contact_note: row.try_get("", "contact_note")?,
        rectified_at: get_opt_ts(row, "rectified_at")?,
        rectify_note: row.try_get("", "rectify_note")?,
        follow_up_result: result
            .map(|r| FollowUpResult::from_code(&r).ok_or_else(|| corrupt("follow-up")(r)))
            .transpose()?,
        follow_up_note: row.try_get("", "follow_up_note")?,
        followed_up_at: get_opt_ts(row, "followed_up_at")?,
        closed_at: get_opt_ts(row, "closed_at")?,
        appeal: AppealState::from_code(&appeal).ok_or_else(|| corrupt("appeal")(appeal))?,
        overdue_at: get_opt_ts(row, "overdue_at")?,
        revision: row.try_get("", "revision")?,
    })
}

fn task_select(filter: &str) -> String {
    format!(
        "SELECT {TASK_COLUMNS}, {RATING_COLUMNS}
         FROM rating_rectifications x
         JOIN ratings r ON r.id = x.rating_id
         JOIN departments d ON d.id = r.department_id
         {filter}"
    )
}

pub async fn task<C: ConnectionTrait>(
    conn: &C,
    id: RectificationId,
) -> Result<Option<Rectification>, RatingError> {
    fetch_one(
        conn,
        &task_select("WHERE x.id = $1"),
        [id.get().into()],
        task_from_row,
    )
    .await
}

pub async fn task_of_rating<C: ConnectionTrait>(
    conn: &C,
    rating: RatingId,
) -> Result<Option<Rectification>, RatingError> {
    fetch_one(
        conn,
        &task_select("WHERE x.rating_id = $1"),
        [rating.get().into()],
        task_from_row,
    )
    .await
}

/// Which tasks a list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskScope<'a> {
    /// One department's tasks (its rectification inbox).
    Department(DepartmentId),
    /// Every department within a region (supervisors).
    Region(&'a RegionCode),
}

/// Tasks of a scope, open ones only or all, oldest deadline first.
pub async fn tasks<C: ConnectionTrait>(
    conn: &C,
    scope: TaskScope<'_>,
    open_only: bool,
    page: PageRequest,
) -> Result<(Vec<Rectification>, u64), RatingError> {
    let (mut filter, key): (String, Value) = match scope {
        TaskScope::Department(d) => ("WHERE x.department_id = $1".to_owned(), d.get().into()),
        TaskScope::Region(r) => (
            "WHERE x.region_code LIKE $1".to_owned(),
            region_prefix(r).into(),
        ),
    };
    if open_only {
        filter.push_str(" AND x.status <> 'closed'");
    }
    let total = count(
        conn,
        &format!("SELECT COUNT(*) AS n FROM rating_rectifications x {filter}"),
        [key.clone()],
    )
    .await?;
    let items = fetch_all(
        conn,
        &task_select(&format!(
            "{filter} ORDER BY x.rectify_due_at, x.id LIMIT $2 OFFSET $3"
        )),
        [
            key,
            (page.limit() as i64).into(),
            (page.offset() as i64).into(),
        ],
        task_from_row,
    )
    .await?;
    Ok((items, total))
}

/// Open tasks within a region past a deadline at `now` (电子监察): contact not made by its day or
/// not rectified by its day.
pub async fn overdue_tasks<C: ConnectionTrait>(
    conn: &C,
    region: &RegionCode,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Rectification>, RatingError> {
    fetch_all(
        conn,
        &task_select(
            "WHERE x.region_code LIKE $1 AND (
                 (x.status = 'verifying' AND (x.contact_due_at < $2 OR x.rectify_due_at < $2))
                 OR (x.status = 'rectifying' AND x.rectify_due_at < $2))
             ORDER BY x.rectify_due_at, x.id LIMIT $3",
        ),
        [
            region_prefix(region).into(),
            ts(now).into(),
            (limit as i64).into(),
        ],
        task_from_row,
    )
    .await
}

/// Overdue open tasks not yet warned about, any region (the sweep).
pub async fn unwarned_overdue<C: ConnectionTrait>(
    conn: &C,
    now: DateTime<Utc>,
    limit: u64,
) -> Result<Vec<Rectification>, RatingError> {
    fetch_all(
        conn,
        &task_select(
            "WHERE x.overdue_at IS NULL AND (
                 (x.status = 'verifying' AND (x.contact_due_at < $1 OR x.rectify_due_at < $1))
                 OR (x.status = 'rectifying' AND x.rectify_due_at < $1))
             ORDER BY x.id LIMIT $2",
        ),
        [ts(now).into(), (limit as i64).into()],
        task_from_row,
    )
    .await
}

pub async fn mark_overdue<C: ConnectionTrait>(
    conn: &C,
    id: RectificationId,
    now: DateTime<Utc>,
) -> Result<bool, RatingError> {
    Ok(exec(
        conn,
        "UPDATE rating_rectifications SET overdue_at = $2 WHERE id = $1 AND overdue_at IS NULL",
        [id.get().into(), ts(now).into()],
    )
    .await?
        == 1)
}

/// Writes an action's effects under the revision read; `false` when the task changed meanwhile.
pub async fn apply<C: ConnectionTrait>(
    conn: &C,
    task: &Rectification,
    effects: &Effects,
    note: &str,
    actor: Option<StaffId>,
    now: DateTime<Utc>,
) -> Result<bool, RatingError> {
    let at = Some(now);
    let contacted = (effects.from == RectStatus::Verifying && effects.to == RectStatus::Rectifying)
        .then_some(());
    let rectified = (effects.to == RectStatus::Rectified).then_some(());
    let sql = "UPDATE rating_rectifications SET
             status = $3, appeal = $4,
             contacted_at = COALESCE($5, contacted_at),
             contact_note = CASE WHEN $5 IS NULL THEN contact_note ELSE $6 END,
             rectified_at = COALESCE($7, rectified_at),
             rectify_note = CASE WHEN $7 IS NULL THEN rectify_note ELSE $6 END,
             follow_up_result = COALESCE($8, follow_up_result),
             follow_up_note = CASE WHEN $8 IS NULL THEN follow_up_note ELSE $6 END,
             followed_up_at = CASE WHEN $8 IS NULL THEN followed_up_at ELSE $9 END,
             closed_at = COALESCE($10, closed_at),
             closed_as = COALESCE($11, closed_as),
             last_actor = COALESCE($12, last_actor),
             revision = revision + 1, updated_at = $9
         WHERE id = $1 AND revision = $2";
    let changed = exec(
        conn,
        sql,
        [
            task.id.get().into(),
            task.revision.into(),
            effects.to.code().into(),
            effects.appeal.code().into(),
            opt_ts(contacted.and(at)),
            note.into(),
            opt_ts(rectified.and(at)),
            effects.follow_up.map(|r| r.code().to_owned()).into(),
            ts(now).into(),
            opt_ts(effects.closed_as.and(at)),
            effects.closed_as.map(|c| c.code().to_owned()).into(),
            actor.map(StaffId::get).into(),
        ],
    )
    .await?;
    Ok(changed == 1)
}

#[expect(clippy::too_many_arguments, reason = "one history line's columns")]
pub async fn insert_task_event<C: ConnectionTrait>(
    conn: &C,
    task: RectificationId,
    now: DateTime<Utc>,
    actor: &str,
    action: &str,
    from: RectStatus,
    to: RectStatus,
    note: &str,
) -> Result<(), RatingError> {
    exec(
        conn,
        "INSERT INTO rating_rectification_events (rectification_id, at, actor, action, from_status,
             to_status, note)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
        [
            task.get().into(),
            ts(now).into(),
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

pub async fn task_events<C: ConnectionTrait>(
    conn: &C,
    task: RectificationId,
) -> Result<Vec<RectEvent>, RatingError> {
    fetch_all(
        conn,
        "SELECT at, actor, action, from_status, to_status, note FROM rating_rectification_events
         WHERE rectification_id = $1 ORDER BY id LIMIT 200",
        [task.get().into()],
        |row| {
            let from: String = row.try_get("", "from_status")?;
            let to: String = row.try_get("", "to_status")?;
            Ok::<_, RatingError>(RectEvent {
                at: get_ts(row, "at")?,
                actor: row.try_get("", "actor")?,
                action: row.try_get("", "action")?,
                from: RectStatus::from_code(&from).ok_or_else(|| corrupt("status")(from))?,
                to: RectStatus::from_code(&to).ok_or_else(|| corrupt("status")(to))?,
                note: row.try_get("", "note")?,
            })
        },
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Appeals

pub async fn insert_appeal<C: ConnectionTrait>(
    conn: &C,
    task: &Rectification,
    ground: AppealGround,
    reason: &str,
    by: StaffId,
    now: DateTime<Utc>,
) -> Result<AppealId, RatingError> {
    fetch_required(
        conn,
        "INSERT INTO rating_appeals (rectification_id, rating_id, ground, reason, filed_by, filed_at,
             status)
         VALUES ($1, $2, $3, $4, $5, $6, 'pending') RETURNING id",
        [
            task.id.get().into(),
            task.rating.id.get().into(),
            ground.code().into(),
            reason.into(),
            by.get().into(),
            ts(now).into(),
        ],
        |row| Ok::<_, RatingError>(AppealId::new(row.try_get("", "id")?)),
    )
    .await
}

const APPEAL_COLUMNS: &str = "a.id AS appeal_id, a.rectification_id, a.ground, a.reason,
    a.filed_by, a.filed_at, a.status AS appeal_status, a.decided_by, a.decided_at, a.decision_note";

fn appeal_from_row(row: &QueryResult) -> Result<Appeal, RatingError> {
    let ground: String = row.try_get("", "ground")?;
    let status: String = row.try_get("", "appeal_status")?;
    Ok(Appeal {
        id: AppealId::new(row.try_get("", "appeal_id")?),
        rectification_id: RectificationId::new(row.try_get("", "rectification_id")?),
        ground: AppealGround::from_code(&ground).ok_or_else(|| corrupt("ground")(ground))?,
        reason: row.try_get("", "reason")?,
        filed_by: StaffId::new(row.try_get("", "filed_by")?),
        filed_at: get_ts(row, "filed_at")?,
        status: AppealState::from_code(&status).ok_or_else(|| corrupt("appeal")(status))?,
        decided_by: row
            .try_get::<Option<i64>>("", "decided_by")?
            .map(StaffId::new),
        decided_at: get_opt_ts(row, "decided_at")?,
        decision_note: row.try_get("", "decision_note")?,
    })
}

pub async fn appeal_of<C: ConnectionTrait>(
    conn: &C,
    task: RectificationId,
) -> Result<Option<Appeal>, RatingError> {
    fetch_one(
        conn,
        &format!("SELECT {APPEAL_COLUMNS} FROM rating_appeals a WHERE a.rectification_id = $1"),
        [task.get().into()],
        appeal_from_row,
    )
    .await
}

/// Decides a pending appeal (conditional on it still pending).
pub async fn decide_appeal<C: ConnectionTrait>(
    conn: &C,
    id: AppealId,
    status: AppealState,
    by: StaffId,
    note: &str,
    now: DateTime<Utc>,
) -> Result<bool, RatingError> {
    Ok(exec(
        conn,
        "UPDATE rating_appeals SET status = $2, decided_by = $3, decided_at = $4, decision_note = $5
         WHERE id = $1 AND status = 'pending'",
        [
            id.get().into(),
            status.code().into(),
            by.get().into(),
            ts(now).into(),
            note.into(),
        ],
    )
    .await?
        == 1)
}

/// Pending appeals of tasks within a region, oldest first.
pub async fn pending_appeals<C: ConnectionTrait>(
    conn: &C,
    region: &RegionCode,
    page: PageRequest,
) -> Result<Vec<(Appeal, Rectification)>, RatingError> {
    fetch_all(
        conn,
        &format!(
            "SELECT {TASK_COLUMNS}, {RATING_COLUMNS}, {APPEAL_COLUMNS}
             FROM rating_rectifications x
             JOIN ratings r ON r.id = x.rating_id
             JOIN departments d ON d.id = r.department_id
             JOIN rating_appeals a ON a.rectification_id = x.id
             WHERE x.region_code LIKE $1 AND a.status = 'pending'
             ORDER BY a.filed_at, a.id LIMIT $2 OFFSET $3"
        ),
        [
            region_prefix(region).into(),
            (page.limit() as i64).into(),
            (page.offset() as i64).into(),
        ],
        |row| Ok::<_, RatingError>((appeal_from_row(row)?, task_from_row(row)?)),
    )
    .await
}
