//! The rating figures of the performance indicators (绩效): per department, region or item over
//! any range of instants, with the disclosure's definitions (ratings with an upheld appeal left
//! out; 差评 = levels 4–5; rectified on time = `rectified_at ≤ rectify_due_at`). One grouped query.

use chrono::{DateTime, Utc};
use yiwang_db::{ConnectionTrait, QueryResult, fetch_all, ts};
use yiwang_identity::model::DepartmentId;

use crate::RatingError;

/// How rating figures are grouped (the same keys as the cases' and appointments' aggregates).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RatingGroup {
    Department,
    Region,
    /// By the rated case's item code (ratings of cases only).
    Item,
}

/// Rating counts of one group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RatingAggregate {
    pub key: String,
    pub name: String,
    /// Ratings counted (not excluded).
    pub total: u64,
    /// 非常满意 + 满意 (levels 1–2).
    pub satisfied: u64,
    /// 差评 (levels 4–5).
    pub bad: u64,
    /// 差评 rectified by their rectification deadline.
    pub bad_on_time: u64,
}

fn n(row: &QueryResult, column: &str) -> Result<u64, RatingError> {
    Ok(row.try_get::<Option<i64>>("", column)?.unwrap_or(0).max(0) as u64)
}

/// Ratings given in `[from, until)` within the region prefix (optionally one department), grouped.
pub async fn rating_aggregates<C: ConnectionTrait>(
    conn: &C,
    by: RatingGroup,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
    region_prefix: &str,
    department: Option<DepartmentId>,
) -> Result<Vec<RatingAggregate>, RatingError> {
    let (key, name, join) = match by {
        RatingGroup::Department => ("d.code", "d.name", ""),
        RatingGroup::Region => (
            "r.region_code",
            "COALESCE(g.name, r.region_code)",
            "LEFT JOIN regions g ON g.code = r.region_code",
        ),
        RatingGroup::Item => (
            "c.item_code",
            "c.item_name",
            "JOIN cases c ON r.event_kind = 'case' AND c.id = r.event_id",
        ),
    };
    fetch_all(
        conn,
        &format!(
            "SELECT {key} AS key, MAX({name}) AS name, COUNT(*) AS total,
                 SUM(CASE WHEN r.level <= 2 THEN 1 ELSE 0 END) AS satisfied,
                 SUM(CASE WHEN r.level >= 4 THEN 1 ELSE 0 END) AS bad,
                 SUM(CASE WHEN r.level >= 4 AND x.rectified_at IS NOT NULL
                     AND x.rectified_at <= x.rectify_due_at THEN 1 ELSE 0 END) AS bad_on_time
             FROM ratings r
             JOIN departments d ON d.id = r.department_id
             LEFT JOIN rating_rectifications x ON x.rating_id = r.id
             {join}
             WHERE r.rated_at >= $1 AND r.rated_at < $2 AND r.excluded = 0
                 AND r.region_code LIKE $3 AND ($4 = 0 OR r.department_id = $4)
             GROUP BY {key} ORDER BY {key}"
        ),
        [
            ts(from).into(),
            ts(until).into(),
            region_prefix.into(),
            department.map_or(0, DepartmentId::get).into(),
        ],
        |row| {
            Ok::<_, RatingError>(RatingAggregate {
                key: row.try_get("", "key")?,
                name: row.try_get("", "name")?,
                total: n(row, "total")?,
                satisfied: n(row, "satisfied")?,
                bad: n(row, "bad")?,
                bad_on_time: n(row, "bad_on_time")?,
            })
        },
    )
    .await
}

/// The departments within the region prefix (optionally one), by code: every one gets a line on
/// the scoreboard, with or without figures. At most 2,000.
pub async fn departments_within<C: ConnectionTrait>(
    conn: &C,
    region_prefix: &str,
    department: Option<DepartmentId>,
) -> Result<Vec<(String, String)>, RatingError> {
    fetch_all(
        conn,
        "SELECT code, name FROM departments WHERE region_code LIKE $1 AND ($2 = 0 OR id = $2)
         ORDER BY code LIMIT 2000",
        [
            region_prefix.into(),
            department.map_or(0, DepartmentId::get).into(),
        ],
        |row| Ok::<_, RatingError>((row.try_get("", "code")?, row.try_get("", "name")?)),
    )
    .await
}
