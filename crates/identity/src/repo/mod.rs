//! All SQL of the identity domain. Table rows never leave this module; callers get model types.

pub mod credentials;
pub mod enterprise;
pub mod region_paths;
pub mod safety;
pub mod staff;

use chrono::{DateTime, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, count, fetch_all, fetch_one, fetch_required, get_opt_ts, get_ts,
    like_contains, like_sql, stmt, ts,
};
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
    fetch_one(
        conn,
        &format!("SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE code = $1"),
        [code.into()],
        department_from_row,
    )
    .await
}

/// Departments whose region code starts with `region_prefix` (empty for all), ordered by region then code.
#[tracing::instrument(skip_all, err)]
pub async fn list_departments<C: ConnectionTrait>(
    conn: &C,
    region_prefix: &str,
) -> Result<Vec<Department>, IdentityError> {
    // Region codes are digits: a plain (escaped) prefix keeps the index on region_code usable.
    let departments = fetch_all(
        conn,
        &format!(
            "SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE region_code LIKE $1 ESCAPE '\\'"
        ),
        [yiwang_db::like_prefix(region_prefix).into()],
        department_from_row,
    )
    .await?;
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
    match parent {
        Some(code) => {
            fetch_all(
                conn,
                "SELECT code, name, level, parent_code FROM regions WHERE parent_code = $1 ORDER BY sort_key, code",
                [code.into()],
                region_from_row,
            )
            .await
        }
        None => {
            fetch_all(
                conn,
                "SELECT code, name, level, parent_code FROM regions WHERE parent_code IS NULL ORDER BY sort_key, code",
                [],
                region_from_row,
            )
            .await
        }
    }
}

#[tracing::instrument(skip_all, err)]
pub async fn region_by_code<C: ConnectionTrait>(
    conn: &C,
    code: &str,
) -> Result<Option<Region>, IdentityError> {
    fetch_one(
        conn,
        "SELECT code, name, level, parent_code FROM regions WHERE code = $1",
        [code.into()],
        region_from_row,
    )
    .await
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
    let levels = fetch_all(
        conn,
        "SELECT level, COUNT(*) AS n FROM regions GROUP BY level ORDER BY level",
        [],
        |row| -> Result<_, IdentityError> {
            Ok((row.try_get("", "level")?, row.try_get("", "n")?))
        },
    )
    .await?;
    let departments = count(conn, "SELECT COUNT(*) FROM departments", []).await?;
    Ok((levels, i64::try_from(departments).unwrap_or(i64::MAX)))
}

/// Departments whose name, short name or former names contain `text`.
#[tracing::instrument(skip_all, err)]
pub async fn search_departments<C: ConnectionTrait>(
    conn: &C,
    text: &str,
    limit: i64,
) -> Result<Vec<Department>, IdentityError> {
    let departments = fetch_all(
        conn,
        &format!(
            "SELECT {DEPARTMENT_COLUMNS} FROM departments WHERE {} OR {} OR {}
             ORDER BY region_code LIMIT $2",
            like_sql("name", 1),
            like_sql("short_name", 1),
            like_sql("former_names", 1),
        ),
        [like_contains(text).into(), limit.into()],
        department_from_row,
    )
    .await?;
    Ok(sorted(departments))
}

/// Regions whose name contains `text`, higher levels first.
#[tracing::instrument(skip_all, err)]
pub async fn search_regions<C: ConnectionTrait>(
    conn: &C,
    text: &str,
    limit: i64,
) -> Result<Vec<Region>, IdentityError> {
    fetch_all(
        conn,
        &format!(
            "SELECT code, name, level, parent_code FROM regions WHERE {}
             ORDER BY LENGTH(code), code LIMIT $2",
            like_sql("name", 1)
        ),
        [like_contains(text).into(), limit.into()],
        region_from_row,
    )
    .await
}

// ------------------------------------------------------------------ persons

/// A person row as stored: sealed identifiers stay sealed here; the service opens them.
#[derive(Debug, Clone)]
pub struct PersonRow {
    pub person: crate::model::Person,
    pub resident_id_enc: String,
    pub mobile_enc: String,
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: Option<DateTime<Utc>>,
}

/// The values of a new person row, identifiers already sealed and indexed.
#[derive(Debug, Clone)]
pub struct NewPersonRow<'a> {
    pub public_id: &'a str,
    pub name: &'a str,
    pub resident_id_enc: &'a str,
    pub resident_id_index: &'a str,
    pub resident_id_masked: &'a str,
    pub mobile_enc: &'a str,
    pub mobile_index: &'a str,
    pub mobile_masked: &'a str,
    pub password_hash: &'a str,
}

const PERSON_COLUMNS: &str = "id, public_id, name, resident_id_masked, mobile_masked, status, created_at, \
     resident_id_enc, mobile_enc, password_hash, failed_logins, locked_until";

/// Which unique index a new person collides with, if any.
#[tracing::instrument(skip_all, err)]
pub async fn person_conflict<C: ConnectionTrait>(
    conn: &C,
    resident_id_index: &str,
    mobile_index: &str,
) -> Result<Option<&'static str>, IdentityError> {
    let found: Option<String> = fetch_one(
        conn,
        "SELECT resident_id_index FROM persons WHERE resident_id_index = $1 OR mobile_index = $2 LIMIT 1",
        [resident_id_index.into(), mobile_index.into()],
        |row| row.try_get("", "resident_id_index").map_err(IdentityError::from),
    )
    .await?;
    Ok(found.map(|index| {
        if index == resident_id_index {
            "resident_id"
        } else {
            "mobile"
        }
    }))
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_person<C: ConnectionTrait>(
    conn: &C,
    row: &NewPersonRow<'_>,
    now: DateTime<Utc>,
) -> Result<crate::model::PersonId, IdentityError> {
    let id: i64 = fetch_required(
            conn,
            "INSERT INTO persons (public_id, name, resident_id_enc, resident_id_index, resident_id_masked,
                 mobile_enc, mobile_index, mobile_masked, password_hash, status, failed_logins,
                 password_changed_at, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', 0, $10, $10, $10) RETURNING id",
            [
                row.public_id.into(),
                row.name.into(),
                row.resident_id_enc.into(),
                row.resident_id_index.into(),
                row.resident_id_masked.into(),
                row.mobile_enc.into(),
                row.mobile_index.into(),
                row.mobile_masked.into(),
                row.password_hash.into(),
                ts(now).into(),
            ],
            |row| row.try_get("", "id").map_err(yiwang_db::DbError::from),
        )
        .await
        // A concurrent registration won the race for the same identifier; the constraint says which.
        .map_err(|e| duplicate_or(e, "resident_id"))?;
    Ok(crate::model::PersonId::new(id))
}

fn person_row(row: &QueryResult) -> Result<PersonRow, IdentityError> {
    let status: String = row.try_get("", "status")?;
    Ok(PersonRow {
        person: crate::model::Person {
            id: crate::model::PersonId::new(row.try_get("", "id")?),
            public_id: row.try_get("", "public_id")?,
            name: row.try_get("", "name")?,
            resident_id_masked: row.try_get("", "resident_id_masked")?,
            mobile_masked: row.try_get("", "mobile_masked")?,
            status: if status == "active" {
                crate::model::AccountStatus::Active
            } else {
                crate::model::AccountStatus::Disabled
            },
            created_at: get_ts(row, "created_at")?,
        },
        resident_id_enc: row.try_get("", "resident_id_enc")?,
        mobile_enc: row.try_get("", "mobile_enc")?,
        password_hash: row.try_get("", "password_hash")?,
        failed_logins: row.try_get("", "failed_logins")?,
        locked_until: get_opt_ts(row, "locked_until")?,
    })
}

/// Find a person by one of the blind indexes (`resident_id_index` or `mobile_index`).
#[tracing::instrument(skip_all, err)]
pub async fn person_by_index<C: ConnectionTrait>(
    conn: &C,
    column: PersonIndex,
    index: &str,
) -> Result<Option<PersonRow>, IdentityError> {
    let column = match column {
        PersonIndex::ResidentId => "resident_id_index",
        PersonIndex::Mobile => "mobile_index",
    };
    fetch_one(
        conn,
        &format!("SELECT {PERSON_COLUMNS} FROM persons WHERE {column} = $1"),
        [index.into()],
        person_row,
    )
    .await
}

/// A person by public id (masked view).
#[tracing::instrument(skip_all, err)]
pub async fn person_by_public_id<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
) -> Result<Option<crate::model::Person>, IdentityError> {
    fetch_one(
        conn,
        &format!("SELECT {PERSON_COLUMNS} FROM persons WHERE public_id = $1"),
        [public_id.into()],
        |row| person_row(row).map(|r| r.person),
    )
    .await
}

#[derive(Debug, Clone, Copy)]
pub enum PersonIndex {
    ResidentId,
    Mobile,
}

#[tracing::instrument(skip_all, err)]
pub async fn person_by_id<C: ConnectionTrait>(
    conn: &C,
    id: crate::model::PersonId,
) -> Result<Option<PersonRow>, IdentityError> {
    fetch_one(
        conn,
        &format!("SELECT {PERSON_COLUMNS} FROM persons WHERE id = $1"),
        [id.get().into()],
        person_row,
    )
    .await
}

/// The table holding an account's credentials (a fixed name, never input).
fn credentials_table(account: crate::model::Account) -> &'static str {
    match account {
        crate::model::Account::Person(_) => "persons",
        crate::model::Account::Staff(_) => "staff",
    }
}

/// Count a failed log-in of a person or staff member; sets the lock (and returns its end) when the count
/// reaches `max_failures`. One statement per step, so concurrent attempts never lose a count.
#[tracing::instrument(skip_all, err)]
pub async fn record_failed_login<C: ConnectionTrait>(
    conn: &C,
    account: crate::model::Account,
    max_failures: i64,
    lock_until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, IdentityError> {
    let table = credentials_table(account);
    let failures: i64 = fetch_required(
        conn,
        &format!(
            "UPDATE {table} SET failed_logins = failed_logins + 1, updated_at = $2 WHERE id = $1 RETURNING failed_logins"
        ),
        [account.id().into(), ts(now).into()],
        |row| row.try_get("", "failed_logins").map_err(IdentityError::from),
    )
    .await?;
    if failures >= max_failures {
        conn.execute_raw(stmt(
            conn,
            &format!("UPDATE {table} SET failed_logins = 0, locked_until = $2 WHERE id = $1"),
            [account.id().into(), ts(lock_until).into()],
        ))
        .await?;
        return Ok(Some(lock_until));
    }
    Ok(None)
}

/// Clear the failure count after a good password, unless a lock is in force. Returns false when locked.
#[tracing::instrument(skip_all, err)]
pub async fn clear_failed_logins_unless_locked<C: ConnectionTrait>(
    conn: &C,
    account: crate::model::Account,
    now: DateTime<Utc>,
) -> Result<bool, IdentityError> {
    let table = credentials_table(account);
    let result = conn
        .execute_raw(stmt(
            conn,
            &format!(
                "UPDATE {table} SET failed_logins = 0, locked_until = NULL
                 WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)"
            ),
            [account.id().into(), ts(now).into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}

/// A unique-constraint violation as the field it concerns: `mobile` when the mobile index clashed, else
/// `other` (the insert's own unique key).
pub(crate) fn duplicate_or(error: yiwang_db::DbError, other: &'static str) -> IdentityError {
    if error.is_unique_violation() {
        let field = if error.to_string().contains("mobile_index") {
            "mobile"
        } else {
            other
        };
        IdentityError::Duplicate { field }
    } else {
        IdentityError::Db(error)
    }
}

#[tracing::instrument(skip_all, err)]
pub async fn reset_failed_logins<C: ConnectionTrait>(
    conn: &C,
    id: crate::model::PersonId,
) -> Result<(), IdentityError> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE persons SET failed_logins = 0, locked_until = NULL WHERE id = $1",
        [id.get().into()],
    ))
    .await?;
    Ok(())
}

#[tracing::instrument(skip_all, err)]
pub async fn set_password<C: ConnectionTrait>(
    conn: &C,
    id: crate::model::PersonId,
    password_hash: &str,
    now: DateTime<Utc>,
) -> Result<(), IdentityError> {
    conn.execute_raw(stmt(
        conn,
        "UPDATE persons SET password_hash = $2, password_changed_at = $3, updated_at = $3 WHERE id = $1",
        [id.get().into(), password_hash.into(), ts(now).into()],
    ))
    .await?;
    Ok(())
}

// ------------------------------------------------------------------ sessions

#[derive(Debug, Clone)]
pub struct NewSessionRow<'a> {
    pub token_hash: &'a str,
    pub account_kind: &'static str,
    pub account_id: i64,
    pub public_id: &'a str,
    pub csrf_token: &'a str,
    pub idle_expires_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub ip: &'a str,
    pub user_agent: &'a str,
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_session<C: ConnectionTrait>(
    conn: &C,
    row: &NewSessionRow<'_>,
    now: DateTime<Utc>,
) -> Result<(), IdentityError> {
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO sessions (token_hash, account_kind, account_id, public_id, csrf_token, created_at,
             last_seen_at, idle_expires_at, expires_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $6, $7, $8, $9, $10)",
        [
            row.token_hash.into(),
            row.account_kind.into(),
            row.account_id.into(),
            row.public_id.into(),
            row.csrf_token.into(),
            ts(now).into(),
            ts(row.idle_expires_at).into(),
            ts(row.expires_at).into(),
            row.ip.into(),
            row.user_agent.into(),
        ],
    ))
    .await?;
    Ok(())
}

/// A live session by token hash, sliding its idle expiry; `None` when absent, revoked or expired.
#[tracing::instrument(skip_all, err)]
pub async fn touch_session<C: ConnectionTrait>(
    conn: &C,
    token_hash: &str,
    now: DateTime<Utc>,
    idle_until: DateTime<Utc>,
) -> Result<Option<(String, i64, String, String)>, IdentityError> {
    fetch_one(
        conn,
        "UPDATE sessions SET last_seen_at = $2,
                 idle_expires_at = CASE WHEN $3 < expires_at THEN $3 ELSE expires_at END
             WHERE token_hash = $1 AND revoked_at IS NULL AND idle_expires_at > $2 AND expires_at > $2
                 AND (account_kind <> 'person' OR EXISTS (SELECT 1 FROM persons p WHERE p.id = account_id AND p.status = 'active'))
                 AND (account_kind <> 'staff' OR EXISTS (SELECT 1 FROM staff s WHERE s.id = account_id AND s.status = 'active'))
             RETURNING account_kind, account_id, public_id, csrf_token",
        [token_hash.into(), ts(now).into(), ts(idle_until).into()],
        |r| -> Result<_, IdentityError> {
            Ok((
                r.try_get("", "account_kind")?,
                r.try_get("", "account_id")?,
                r.try_get("", "public_id")?,
                r.try_get("", "csrf_token")?,
            ))
        },
    )
    .await
}

/// Live sessions of an account, newest first.
#[tracing::instrument(skip_all, err)]
pub async fn live_sessions<C: ConnectionTrait>(
    conn: &C,
    account_kind: &str,
    account_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<(crate::model::SessionInfo, String)>, IdentityError> {
    fetch_all(
        conn,
        "SELECT public_id, token_hash, created_at, last_seen_at, idle_expires_at, expires_at, ip, user_agent
         FROM sessions
         WHERE account_kind = $1 AND account_id = $2 AND revoked_at IS NULL
             AND idle_expires_at > $3 AND expires_at > $3
         ORDER BY created_at DESC",
        [account_kind.into(), account_id.into(), ts(now).into()],
        |r| -> Result<_, IdentityError> {
            let idle = get_ts(r, "idle_expires_at")?;
            let absolute = get_ts(r, "expires_at")?;
            Ok((
                crate::model::SessionInfo {
                    public_id: r.try_get("", "public_id")?,
                    created_at: get_ts(r, "created_at")?,
                    last_seen_at: get_ts(r, "last_seen_at")?,
                    expires_at: idle.min(absolute),
                    ip: r.try_get("", "ip")?,
                    user_agent: r.try_get("", "user_agent")?,
                    current: false,
                },
                r.try_get("", "token_hash")?,
            ))
        },
    )
    .await
}

/// Revoke live sessions of an account: one (by public id), all, or all but one token hash. Returns how many.
#[tracing::instrument(skip_all, err)]
pub async fn revoke_sessions<C: ConnectionTrait>(
    conn: &C,
    account_kind: &str,
    account_id: i64,
    which: RevokeWhich<'_>,
    now: DateTime<Utc>,
) -> Result<u64, IdentityError> {
    let (filter, extra): (&str, Option<String>) = match which {
        RevokeWhich::One(public_id) => ("AND public_id = $4", Some(public_id.to_owned())),
        RevokeWhich::AllBut(token_hash) => ("AND token_hash <> $4", Some(token_hash.to_owned())),
        RevokeWhich::All => ("", None),
    };
    let mut values: Vec<yiwang_db::Value> =
        vec![account_kind.into(), account_id.into(), ts(now).into()];
    if let Some(extra) = extra {
        values.push(extra.into());
    }
    let result = conn
        .execute_raw(stmt(
            conn,
            &format!(
                "UPDATE sessions SET revoked_at = $3
                 WHERE account_kind = $1 AND account_id = $2 AND revoked_at IS NULL
                     AND idle_expires_at > $3 AND expires_at > $3 {filter}"
            ),
            values,
        ))
        .await?;
    Ok(result.rows_affected())
}

#[derive(Debug, Clone, Copy)]
pub enum RevokeWhich<'a> {
    One(&'a str),
    AllBut(&'a str),
    All,
}

/// Revoke the session with this token hash (logging out).
#[tracing::instrument(skip_all, err)]
pub async fn revoke_token<C: ConnectionTrait>(
    conn: &C,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, IdentityError> {
    let result = conn
        .execute_raw(stmt(
            conn,
            "UPDATE sessions SET revoked_at = $2 WHERE token_hash = $1 AND revoked_at IS NULL",
            [token_hash.into(), ts(now).into()],
        ))
        .await?;
    Ok(result.rows_affected() == 1)
}
