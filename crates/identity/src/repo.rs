//! All SQL of the identity domain. Table rows never leave this module; callers get model types.

use chrono::{DateTime, Utc};
use yiwang_db::{ConnectionTrait, QueryResult, stmt, ts};
use yiwang_kernel::{RegionCode, Uscc};

use crate::IdentityError;
use crate::model::{Department, DepartmentId, DepartmentKind, NewDepartment, Region, RegionLevel};

/// Insert or update a region. Returns true when a row was created or changed.
#[tracing::instrument(skip_all, err)]
pub async fn upsert_region<C: ConnectionTrait>(
    conn: &C,
    region: &Region,
    sort_key: i64,
) -> Result<bool, IdentityError> {
    let existing = conn
        .query_one_raw(stmt(
            conn,
            "SELECT name, level, parent_code, sort_key FROM regions WHERE code = $1",
            [region.code.clone().into()],
        ))
        .await?;
    if let Some(row) = &existing {
        let same = row.try_get::<String>("", "name")? == region.name
            && row.try_get::<String>("", "level")? == region.level.code()
            && row.try_get::<Option<String>>("", "parent_code")? == region.parent_code
            && row.try_get::<i64>("", "sort_key")? == sort_key;
        if same {
            return Ok(false);
        }
    }
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO regions (code, name, level, parent_code, sort_key) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (code) DO UPDATE SET name = excluded.name, level = excluded.level,
             parent_code = excluded.parent_code, sort_key = excluded.sort_key",
        [
            region.code.clone().into(),
            region.name.clone().into(),
            region.level.code().into(),
            region.parent_code.clone().into(),
            sort_key.into(),
        ],
    ))
    .await?;
    Ok(true)
}

/// What an upsert did to a department.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Upserted {
    Created(DepartmentId),
    Updated(DepartmentId),
    Unchanged(DepartmentId),
}

/// Insert or update a department by its code.
#[tracing::instrument(skip_all, err)]
pub async fn upsert_department<C: ConnectionTrait>(
    conn: &C,
    dept: &NewDepartment,
    now: DateTime<Utc>,
) -> Result<Upserted, IdentityError> {
    let former = serde_json::to_string(&dept.former_names).unwrap_or_else(|_| "[]".to_owned());
    if let Some(existing) = department_by_code(conn, &dept.code).await? {
        let unchanged = existing.name == dept.name
            && existing.short_name == dept.short_name
            && existing.region_code == dept.region_code
            && existing.uscc == dept.uscc
            && existing.kind == dept.kind
            && existing.former_names == dept.former_names
            && existing.phone == dept.phone
            && existing.address == dept.address;
        if unchanged {
            return Ok(Upserted::Unchanged(existing.id));
        }
        conn.execute_raw(stmt(
            conn,
            "UPDATE departments SET name = $1, short_name = $2, region_code = $3, uscc = $4, kind = $5,
                 former_names = $6, phone = $7, address = $8, updated_at = $9
             WHERE id = $10",
            [
                dept.name.clone().into(),
                dept.short_name.clone().into(),
                dept.region_code.as_str().into(),
                dept.uscc.as_str().into(),
                dept.kind.code().into(),
                former.into(),
                dept.phone.clone().into(),
                dept.address.clone().into(),
                ts(now).into(),
                existing.id.get().into(),
            ],
        ))
        .await?;
        return Ok(Upserted::Updated(existing.id));
    }
    let row = conn
        .query_one_raw(stmt(
            conn,
            "INSERT INTO departments (code, name, short_name, region_code, uscc, kind, former_names, phone, address, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
            [
                dept.code.clone().into(),
                dept.name.clone().into(),
                dept.short_name.clone().into(),
                dept.region_code.as_str().into(),
                dept.uscc.as_str().into(),
                dept.kind.code().into(),
                former.into(),
                dept.phone.clone().into(),
                dept.address.clone().into(),
                ts(now).into(),
            ],
        ))
        .await?
        .ok_or_else(|| IdentityError::InvalidOrgData {
            entry: dept.code.clone(),
            reason: "insert returned no id".to_owned(),
        })?;
    Ok(Upserted::Created(DepartmentId::new(row.try_get("", "id")?)))
}

const DEPARTMENT_COLUMNS: &str =
    "id, code, name, short_name, region_code, uscc, kind, former_names, phone, address";

#[tracing::instrument(skip_all, err)]
pub async fn department_by_code<C: ConnectionTrait>(
    conn: &C,
    code: &str,
) -> Result<Option<Department>, IdentityError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            &format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE code = $1"),
            [code.into()],
        ))
        .await?;
    row.as_ref().map(department_from_row).transpose()
}

/// Departments whose region code starts with `region_prefix` (empty for all), ordered by region then code.
#[tracing::instrument(skip_all, err)]
pub async fn list_departments<C: ConnectionTrait>(
    conn: &C,
    region_prefix: &str,
) -> Result<Vec<Department>, IdentityError> {
    let rows = conn
        .query_all_raw(stmt(
            conn,
            &format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE region_code LIKE $1"),
            [format!("{region_prefix}%").into()],
        ))
        .await?;
    let departments = rows
        .iter()
        .map(department_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sorted(departments))
}

/// Region, then code, compared as bytes: database collations disagree on punctuation such as '-'.
fn sorted(mut departments: Vec<Department>) -> Vec<Department> {
    departments.sort_by(|a, b| {
        (a.region_code.as_str(), a.code.as_bytes())
            .cmp(&(b.region_code.as_str(), b.code.as_bytes()))
    });
    departments
}

fn department_from_row(row: &QueryResult) -> Result<Department, IdentityError> {
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        IdentityError::Db(yiwang_db::DbError::Corrupt(format!(
            "department {what}: {e}"
        )))
    };
    let region: String = row.try_get("", "region_code")?;
    let uscc: String = row.try_get("", "uscc")?;
    let kind: String = row.try_get("", "kind")?;
    let former: String = row.try_get("", "former_names")?;
    Ok(Department {
        id: DepartmentId::new(row.try_get("", "id")?),
        code: row.try_get("", "code")?,
        name: row.try_get("", "name")?,
        short_name: row.try_get("", "short_name")?,
        region_code: RegionCode::parse(&region).map_err(|e| corrupt("region", &e))?,
        uscc: Uscc::parse(&uscc).map_err(|e| corrupt("uscc", &e))?,
        kind: DepartmentKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        former_names: serde_json::from_str(&former).map_err(|e| corrupt("former_names", &e))?,
        phone: row.try_get("", "phone")?,
        address: row.try_get("", "address")?,
    })
}

/// Children of a region node (or the roots when `parent` is `None`), in their given order.
#[tracing::instrument(skip_all, err)]
pub async fn region_children<C: ConnectionTrait>(
    conn: &C,
    parent: Option<&str>,
) -> Result<Vec<Region>, IdentityError> {
    let rows = match parent {
        Some(code) => {
            conn.query_all_raw(stmt(
                conn,
                "SELECT code, name, level, parent_code FROM regions WHERE parent_code = $1 ORDER BY sort_key, code",
                [code.into()],
            ))
            .await?
        }
        None => {
            conn.query_all_raw(stmt(
                conn,
                "SELECT code, name, level, parent_code FROM regions WHERE parent_code IS NULL ORDER BY sort_key, code",
                [],
            ))
            .await?
        }
    };
    rows.iter().map(region_from_row).collect()
}

#[tracing::instrument(skip_all, err)]
pub async fn region_by_code<C: ConnectionTrait>(
    conn: &C,
    code: &str,
) -> Result<Option<Region>, IdentityError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT code, name, level, parent_code FROM regions WHERE code = $1",
            [code.into()],
        ))
        .await?;
    row.as_ref().map(region_from_row).transpose()
}

fn region_from_row(row: &QueryResult) -> Result<Region, IdentityError> {
    let level: String = row.try_get("", "level")?;
    Ok(Region {
        code: row.try_get("", "code")?,
        name: row.try_get("", "name")?,
        level: RegionLevel::parse(&level).ok_or_else(|| {
            IdentityError::Db(yiwang_db::DbError::Corrupt(format!(
                "region level {level:?}"
            )))
        })?,
        parent_code: row.try_get("", "parent_code")?,
    })
}

/// Counts of stored regions per level and of departments.
#[tracing::instrument(skip_all, err)]
pub async fn org_counts<C: ConnectionTrait>(
    conn: &C,
) -> Result<(Vec<(String, i64)>, i64), IdentityError> {
    let rows = conn
        .query_all_raw(stmt(
            conn,
            "SELECT level, COUNT(*) AS n FROM regions GROUP BY level ORDER BY level",
            [],
        ))
        .await?;
    let mut levels = Vec::with_capacity(rows.len());
    for row in rows {
        levels.push((row.try_get("", "level")?, row.try_get("", "n")?));
    }
    let departments = conn
        .query_one_raw(stmt(conn, "SELECT COUNT(*) AS n FROM departments", []))
        .await?
        .map(|row| row.try_get::<i64>("", "n"))
        .transpose()?
        .unwrap_or(0);
    Ok((levels, departments))
}

/// `%text%` for LIKE, with the wildcard characters in `text` escaped (use with `ESCAPE '\'`).
fn like_pattern(text: &str) -> String {
    // Lower-cased here and LOWER() in SQL: LIKE is case-insensitive for ASCII on SQLite but not on PostgreSQL.
    let escaped = text
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}

/// Departments whose name, short name or former names contain `text`.
#[tracing::instrument(skip_all, err)]
pub async fn search_departments<C: ConnectionTrait>(
    conn: &C,
    text: &str,
    limit: i64,
) -> Result<Vec<Department>, IdentityError> {
    let rows = conn
        .query_all_raw(stmt(
            conn,
            &format!(
                "SELECT {DEPARTMENT_COLUMNS} FROM departments
                 WHERE LOWER(name) LIKE $1 ESCAPE '\\' OR LOWER(short_name) LIKE $1 ESCAPE '\\' OR LOWER(former_names) LIKE $1 ESCAPE '\\'
                 ORDER BY region_code LIMIT $2"
            ),
            [like_pattern(text).into(), limit.into()],
        ))
        .await?;
    let departments = rows
        .iter()
        .map(department_from_row)
        .collect::<Result<Vec<_>, _>>()?;
    Ok(sorted(departments))
}

/// Regions whose name contains `text`, higher levels first.
#[tracing::instrument(skip_all, err)]
pub async fn search_regions<C: ConnectionTrait>(
    conn: &C,
    text: &str,
    limit: i64,
) -> Result<Vec<Region>, IdentityError> {
    let rows = conn
        .query_all_raw(stmt(
            conn,
            "SELECT code, name, level, parent_code FROM regions WHERE LOWER(name) LIKE $1 ESCAPE '\\'
             ORDER BY LENGTH(code), code LIMIT $2",
            [like_pattern(text).into(), limit.into()],
        ))
        .await?;
    rows.iter().map(region_from_row).collect()
}
