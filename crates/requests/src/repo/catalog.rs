//! The category tree (派单目录), routing rules, and the organisation's regions and departments as
//! requests read them.

use chrono::{DateTime, Utc};
use yiwang_db::{ConnectionTrait, fetch_all, fetch_one, ts};
use yiwang_identity::model::DepartmentId;

use super::exec;
use crate::RequestError;
use crate::model::Category;

pub async fn category<C: ConnectionTrait>(
    conn: &C,
    code: &str,
) -> Result<Option<Category>, RequestError> {
    fetch_one(
        conn,
        "SELECT code, name, parent_code FROM request_categories WHERE code = $1",
        [code.into()],
        |row| {
            Ok::<_, RequestError>(Category {
                code: row.try_get("", "code")?,
                name: row.try_get("", "name")?,
                parent: row.try_get("", "parent_code")?,
            })
        },
    )
    .await
}

/// The whole tree, ordered by code (parents before children when codes nest).
pub async fn categories<C: ConnectionTrait>(conn: &C) -> Result<Vec<Category>, RequestError> {
    fetch_all(
        conn,
        "SELECT code, name, parent_code FROM request_categories ORDER BY code",
        [],
        |row| {
            Ok::<_, RequestError>(Category {
                code: row.try_get("", "code")?,
                name: row.try_get("", "name")?,
                parent: row.try_get("", "parent_code")?,
            })
        },
    )
    .await
}

/// Inserts or renames a category.
pub async fn upsert_category<C: ConnectionTrait>(
    conn: &C,
    code: &str,
    name: &str,
    parent: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), RequestError> {
    exec(
        conn,
        "INSERT INTO request_categories (code, name, parent_code, created_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, parent_code = excluded.parent_code",
        [
            code.into(),
            name.into(),
            parent.map(str::to_owned).into(),
            ts(now).into(),
        ],
    )
    .await?;
    Ok(())
}

/// Sets the department responsible for a category in a region (replacing an earlier rule).
pub async fn upsert_route<C: ConnectionTrait>(
    conn: &C,
    category: &str,
    region_code: &str,
    department: DepartmentId,
    now: DateTime<Utc>,
) -> Result<(), RequestError> {
    exec(
        conn,
        "INSERT INTO request_routes (category_code, region_code, department_id, created_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (category_code, region_code) DO UPDATE SET department_id = excluded.department_id",
        [
            category.into(),
            region_code.into(),
            department.get().into(),
            ts(now).into(),
        ],
    )
    .await?;
    Ok(())
}

/// The rule for exactly this category and region.
pub async fn route<C: ConnectionTrait>(
    conn: &C,
    category: &str,
    region_code: &str,
) -> Result<Option<DepartmentId>, RequestError> {
    fetch_one(
        conn,
        "SELECT department_id FROM request_routes WHERE category_code = $1 AND region_code = $2",
        [category.into(), region_code.into()],
        |row| Ok::<_, RequestError>(DepartmentId::new(row.try_get("", "department_id")?)),
    )
    .await
}

/// A region of the organisation tree: its level and parent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegionRow {
    pub code: String,
    pub name: String,
    pub level: String,
    pub parent: Option<String>,
}

pub async fn region<C: ConnectionTrait>(
    conn: &C,
    code: &str,
) -> Result<Option<RegionRow>, RequestError> {
    fetch_one(
        conn,
        "SELECT code, name, level, parent_code FROM regions WHERE code = $1",
        [code.into()],
        |row| {
            Ok::<_, RequestError>(RegionRow {
                code: row.try_get("", "code")?,
                name: row.try_get("", "name")?,
                level: row.try_get("", "level")?,
                parent: row.try_get("", "parent_code")?,
            })
        },
    )
    .await
}

pub async fn department_exists<C: ConnectionTrait>(
    conn: &C,
    id: DepartmentId,
) -> Result<bool, RequestError> {
    Ok(fetch_one(
        conn,
        "SELECT 1 AS one FROM departments WHERE id = $1",
        [id.get().into()],
        |_| Ok::<_, RequestError>(()),
    )
    .await?
    .is_some())
}
