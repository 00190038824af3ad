//! Urgings (督办) and the disclosure figures: counts are aggregated in SQL (`SUM(CASE …)`, portable),
//! rates are computed from them in [`crate::service`].

use chrono::{DateTime, NaiveDate, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, count, date, fetch_all, fetch_one, fetch_required, get_date,
    get_opt_ts, get_ts, ts,
};
use yiwang_identity::model::{DepartmentId, StaffId};
use yiwang_kernel::{PageRequest, RegionCode};

use super::{corrupt, exec, region_prefix};
use crate::RatingError;
use crate::model::{DisclosedBad, Level, MonthFigures, RectStatus, SubjectKind, Urging, UrgingId};

// ---------------------------------------------------------------------------------------------
// Urgings

/// A new urging.
#[derive(Debug, Clone)]
pub struct NewUrgingRow<'a> {
    pub subject_kind: SubjectKind,
    pub subject_id: i64,
    pub department: DepartmentId,
    pub region_code: &'a str,
    pub note: &'a str,
    pub reply_due_on: NaiveDate,
    pub urged_by: StaffId,
    pub now: DateTime<Utc>,
}

pub async fn insert_urging<C: ConnectionTrait>(
    conn: &C,
    u: &NewUrgingRow<'_>,
) -> Result<UrgingId, RatingError> {
    fetch_required(
        conn,
        "INSERT INTO urgings (subject_kind, subject_id, department_id, region_code, note,
             reply_due_on, urged_by, urged_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
        [
            u.subject_kind.code().into(),
            u.subject_id.into(),
            u.department.get().into(),
            u.region_code.into(),
            u.note.into(),
            date(u.reply_due_on).into(),
            u.urged_by.get().into(),
            ts(u.now).into(),
        ],
        |row| Ok::<_, RatingError>(UrgingId::new(row.try_get("", "id")?)),
    )
    .await
}

const URGING_COLUMNS: &str = "id, subject_kind, subject_id, department_id, note, reply_due_on,
    urged_by, urged_at, reply, replied_by, replied_at";

fn urging_from_row(row: &QueryResult) -> Result<Urging, RatingError> {
    let kind: String = row.try_get("", "subject_kind")?;
    Ok(Urging {
        id: UrgingId::new(row.try_get("", "id")?),
        subject_kind: SubjectKind::from_code(&kind).ok_or_else(|| corrupt("subject")(kind))?,
        subject_id: row.try_get("", "subject_id")?,
        department_id: DepartmentId::new(row.try_get("", "department_id")?),
        note: row.try_get("", "note")?,
        reply_due_on: get_date(row, "reply_due_on")?,
        urged_by: StaffId::new(row.try_get("", "urged_by")?),
        urged_at: get_ts(row, "urged_at")?,
        reply: row.try_get("", "reply")?,
        replied_by: row
            .try_get::<Option<i64>>("", "replied_by")?
            .map(StaffId::new),
        replied_at: get_opt_ts(row, "replied_at")?,
    })
}

pub async fn urging<C: ConnectionTrait>(
    conn: &C,
    id: UrgingId,
) -> Result<Option<Urging>, RatingError> {
    fetch_one(
        conn,
        &format!("SELECT {URGING_COLUMNS} FROM urgings WHERE id = $1"),
        [id.get().into()],
        urging_from_row,
    )
    .await
}

/// Records the department's reply (conditional: not answered yet).
pub async fn reply_urging<C: ConnectionTrait>(
    conn: &C,
    id: UrgingId,
    reply: &str,
    by: StaffId,
    now: DateTime<Utc>,
) -> Result<bool, RatingError> {
    Ok(exec(
        conn,
        "UPDATE urgings SET reply = $2, replied_by = $3, replied_at = $4
         WHERE id = $1 AND reply IS NULL",
        [
            id.get().into(),
            reply.into(),
            by.get().into(),
            ts(now).into(),
        ],
    )
    .await?
        == 1)
}

/// A department's urgings, unanswered first, then newest first (its 问责 record).
pub async fn urgings_of_department<C: ConnectionTrait>(
    conn: &C,
    department: DepartmentId,
    page: PageRequest,
) -> Result<(Vec<Urging>, u64), RatingError> {
    let total = count(
        conn,
        "SELECT COUNT(*) AS n FROM urgings WHERE department_id = $1",
        [department.get().into()],
    )
    .await?;
    let items = fetch_all(
        conn,
        &format!(
            "SELECT {URGING_COLUMNS} FROM urgings WHERE department_id = $1
             ORDER BY CASE WHEN reply IS NULL THEN 0 ELSE 1 END, urged_at DESC, id DESC
             LIMIT $2 OFFSET $3"
        ),
        [
            department.get().into(),
            (page.limit() as i64).into(),
            (page.offset() as i64).into(),
        ],
        urging_from_row,
    )
    .await?;
    Ok((items, total))
}

/// The urgings of one subject, oldest first.
pub async fn urgings_of_subject<C: ConnectionTrait>(
    conn: &C,
    kind: SubjectKind,
    id: i64,
) -> Result<Vec<Urging>, RatingError> {
    fetch_all(
        conn,
        &format!(
            "SELECT {URGING_COLUMNS} FROM urgings WHERE subject_kind = $1 AND subject_id = $2
             ORDER BY urged_at, id LIMIT 200"
        ),
        [kind.code().into(), id.into()],
        urging_from_row,
    )
    .await
}

// ---------------------------------------------------------------------------------------------
// Figures

/// The counting columns shared by every grouping: ratings by level, all, and 差评 rectified by
/// their deadline. Excluded ratings (appeal upheld) are filtered out by the caller's `WHERE`.
const FIGURE_COLUMNS: &str = "
    COALESCE(SUM(CASE WHEN r.level = 1 THEN 1 ELSE 0 END), 0) AS l1,
    COALESCE(SUM(CASE WHEN r.level = 2 THEN 1 ELSE 0 END), 0) AS l2,
    COALESCE(SUM(CASE WHEN r.level = 3 THEN 1 ELSE 0 END), 0) AS l3,
    COALESCE(SUM(CASE WHEN r.level = 4 THEN 1 ELSE 0 END), 0) AS l4,
    COALESCE(SUM(CASE WHEN r.level = 5 THEN 1 ELSE 0 END), 0) AS l5,
    COUNT(*) AS total,
    COALESCE(SUM(CASE WHEN r.level >= 4 AND x.rectified_at IS NOT NULL
        AND x.rectified_at <= x.rectify_due_at THEN 1 ELSE 0 END), 0) AS on_time";

fn figures_from_row(row: &QueryResult, month: &str) -> Result<MonthFigures, RatingError> {
    let mut by_level = [0_u64; 5];
    for (i, slot) in by_level.iter_mut().enumerate() {
        *slot = row.try_get::<i64>("", &format!("l{}", i + 1))?.max(0) as u64;
    }
    let total = row.try_get::<i64>("", "total")?.max(0) as u64;
    Ok(MonthFigures {
        month: month.to_owned(),
        key: row.try_get("", "key")?,
        name: row.try_get("", "name")?,
        by_level,
        total,
        satisfaction_rate: satisfaction_rate(&by_level),
        bad: by_level[3] + by_level[4],
        rectified_on_time: row.try_get::<i64>("", "on_time")?.max(0) as u64,
    })
}

/// 满意率 = (非常满意 + 满意) / all ratings counted (excluded ratings are not counted at all);
/// `None` without ratings.
pub fn satisfaction_rate(by_level: &[u64; 5]) -> Option<f64> {
    let total: u64 = by_level.iter().sum();
    (total > 0).then(|| (by_level[0] + by_level[1]) as f64 / total as f64)
}

/// One line per department within the region that has ratings in the month, by department code.
pub async fn department_figures<C: ConnectionTrait>(
    conn: &C,
    month: &str,
    within: &RegionCode,
) -> Result<Vec<MonthFigures>, RatingError> {
    fetch_all(
        conn,
        &format!(
            "SELECT d.code AS key, d.name AS name, {FIGURE_COLUMNS}
             FROM ratings r
             JOIN departments d ON d.id = r.department_id
             LEFT JOIN rating_rectifications x ON x.rating_id = r.id
             WHERE r.month = $1 AND r.excluded = 0 AND r.region_code LIKE $2
             GROUP BY d.code, d.name
             ORDER BY d.code"
        ),
        [month.into(), region_prefix(within).into()],
        |row| figures_from_row(row, month),
    )
    .await
}

/// One department's figures in a month (zeros without ratings).
pub async fn one_department_figures<C: ConnectionTrait>(
    conn: &C,
    month: &str,
    department: DepartmentId,
) -> Result<MonthFigures, RatingError> {
    fetch_required(
        conn,
        &format!(
            "SELECT d.code AS key, d.name AS name, {FIGURE_COLUMNS}
             FROM departments d
             LEFT JOIN ratings r ON r.department_id = d.id AND r.month = $1 AND r.excluded = 0
             LEFT JOIN rating_rectifications x ON x.rating_id = r.id
             WHERE d.id = $2
             GROUP BY d.code, d.name"
        ),
        [month.into(), department.get().into()],
        |row| {
            let mut f = figures_from_row(row, month)?;
            // COUNT(*) counts the department's own row when it has no ratings.
            f.total = f.by_level.iter().sum();
            Ok::<_, RatingError>(f)
        },
    )
    .await
}

/// One line per region (the departments' region codes) within `within`, by region code.
pub async fn region_figures<C: ConnectionTrait>(
    conn: &C,
    month: &str,
    within: &RegionCode,
) -> Result<Vec<MonthFigures>, RatingError> {
    fetch_all(
        conn,
        &format!(
            "SELECT g.code AS key, g.name AS name, {FIGURE_COLUMNS}
             FROM ratings r
             JOIN regions g ON g.code = r.region_code
             LEFT JOIN rating_rectifications x ON x.rating_id = r.id
             WHERE r.month = $1 AND r.excluded = 0 AND r.region_code LIKE $2
             GROUP BY g.code, g.name
             ORDER BY g.code"
        ),
        [month.into(), region_prefix(within).into()],
        |row| figures_from_row(row, month),
    )
    .await
}

/// The total of a region and everything within it for a month.
pub async fn region_total<C: ConnectionTrait>(
    conn: &C,
    month: &str,
    region: &RegionCode,
) -> Result<MonthFigures, RatingError> {
    fetch_required(
        conn,
        &format!(
            "SELECT $2 AS key, COALESCE((SELECT name FROM regions WHERE code = $2), '') AS name,
                 {FIGURE_COLUMNS}
             FROM ratings r
             LEFT JOIN rating_rectifications x ON x.rating_id = r.id
             WHERE r.month = $1 AND r.excluded = 0 AND r.region_code LIKE $3"
        ),
        [
            month.into(),
            region.as_str().into(),
            region_prefix(region).into(),
        ],
        |row| figures_from_row(row, month),
    )
    .await
}

/// The 差评 of a month within a region (optionally one department) with their rectification,
/// raters masked, newest first. Excluded ratings are not disclosed.
pub async fn disclosed_bad<C: ConnectionTrait>(
    conn: &C,
    month: &str,
    within: &RegionCode,
    department: Option<DepartmentId>,
    page: PageRequest,
) -> Result<(Vec<DisclosedBad>, u64), RatingError> {
    let filter = "r.month = $1 AND r.excluded = 0 AND r.level >= 4 AND r.region_code LIKE $2
         AND ($3 = 0 OR r.department_id = $3)";
    let dept = department.map_or(0, DepartmentId::get);
    let total = count(
        conn,
        &format!("SELECT COUNT(*) AS n FROM ratings r WHERE {filter}"),
        [month.into(), region_prefix(within).into(), dept.into()],
    )
    .await?;
    let items = fetch_all(
        conn,
        &format!(
            "SELECT r.rated_at, d.name AS department_name, r.event_label, r.level, r.tags, r.body,
                 r.rater_name_masked, x.status, x.rectify_due_on, x.rectify_due_at, x.rectified_at,
                 x.rectify_note
             FROM ratings r
             JOIN departments d ON d.id = r.department_id
             JOIN rating_rectifications x ON x.rating_id = r.id
             WHERE {filter}
             ORDER BY r.rated_at DESC, r.id DESC LIMIT $4 OFFSET $5"
        ),
        [
            month.into(),
            region_prefix(within).into(),
            dept.into(),
            (page.limit() as i64).into(),
            (page.offset() as i64).into(),
        ],
        |row| {
            let level: i64 = row.try_get("", "level")?;
            let tags: String = row.try_get("", "tags")?;
            let status: String = row.try_get("", "status")?;
            let rectified_at = get_opt_ts(row, "rectified_at")?;
            let due = get_ts(row, "rectify_due_at")?;
            Ok::<_, RatingError>(DisclosedBad {
                rated_at: get_ts(row, "rated_at")?,
                department_name: row.try_get("", "department_name")?,
                event_label: row.try_get("", "event_label")?,
                level: u8::try_from(level)
                    .ok()
                    .and_then(Level::new)
                    .ok_or_else(|| corrupt("level")(level.to_string()))?,
                tags: serde_json::from_str(&tags).map_err(|e| corrupt("tags")(e.to_string()))?,
                text: row.try_get("", "body")?,
                rater_name: row.try_get("", "rater_name_masked")?,
                status: RectStatus::from_code(&status).ok_or_else(|| corrupt("status")(status))?,
                rectify_due_on: get_date(row, "rectify_due_on")?,
                rectified_at,
                rectify_note: row.try_get("", "rectify_note")?,
                on_time: rectified_at.is_some_and(|at| at <= due),
            })
        },
    )
    .await?;
    Ok((items, total))
}
