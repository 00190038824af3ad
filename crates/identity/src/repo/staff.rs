//! SQL for staff, posts and roles.

use chrono::{DateTime, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, fetch_all, fetch_one, fetch_required, get_opt_ts, stmt, ts,
};

use crate::IdentityError;
use crate::model::{AccountStatus, DepartmentId, Post, PostId, Role, Staff, StaffId};

/// A staff row with its secrets, for log-in.
#[derive(Debug, Clone)]
pub struct StaffCredentials {
    pub staff: Staff,
    pub password_hash: String,
    pub locked_until: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone)]
pub struct NewStaffRow<'a> {
    pub public_id: &'a str,
    pub department_id: DepartmentId,
    pub employee_no: &'a str,
    pub name: &'a str,
    pub mobile_enc: &'a str,
    pub mobile_index: &'a str,
    pub mobile_masked: &'a str,
    pub password_hash: &'a str,
}

const STAFF_COLUMNS: &str = "s.id, s.public_id, s.department_id, d.code AS department_code, d.region_code, \
     s.employee_no, s.name, s.mobile_masked, s.status, s.password_hash, s.locked_until";

#[tracing::instrument(skip_all, err)]
pub async fn employee_no_or_mobile_taken<C: ConnectionTrait>(
    conn: &C,
    employee_no: &str,
    mobile_index: &str,
) -> Result<Option<&'static str>, IdentityError> {
    let found: Option<String> = fetch_one(
        conn,
        "SELECT employee_no FROM staff WHERE employee_no = $1 OR mobile_index = $2 LIMIT 1",
        [employee_no.into(), mobile_index.into()],
        |row| row.try_get("", "employee_no").map_err(IdentityError::from),
    )
    .await?;
    Ok(found.map(|taken| {
        if taken == employee_no {
            "employee_no"
        } else {
            "mobile"
        }
    }))
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_staff<C: ConnectionTrait>(
    conn: &C,
    row: &NewStaffRow<'_>,
    now: DateTime<Utc>,
) -> Result<StaffId, IdentityError> {
    let id: i64 = fetch_required(
            conn,
            "INSERT INTO staff (public_id, department_id, employee_no, name, mobile_enc, mobile_index, mobile_masked,
                 password_hash, status, failed_logins, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'active', 0, $9, $9) RETURNING id",
            [
                row.public_id.into(),
                row.department_id.get().into(),
                row.employee_no.into(),
                row.name.into(),
                row.mobile_enc.into(),
                row.mobile_index.into(),
                row.mobile_masked.into(),
                row.password_hash.into(),
                ts(now).into(),
            ],
            |row| row.try_get("", "id").map_err(yiwang_db::DbError::from),
        )
        .await
        .map_err(|e| super::duplicate_or(e, "employee_no"))?;
    Ok(StaffId::new(id))
}

/// Replace a staff member's roles.
#[tracing::instrument(skip_all, err)]
pub async fn set_roles<C: ConnectionTrait>(
    conn: &C,
    id: StaffId,
    roles: &[Role],
) -> Result<(), IdentityError> {
    conn.execute_raw(stmt(
        conn,
        "DELETE FROM staff_roles WHERE staff_id = $1",
        [id.get().into()],
    ))
    .await?;
    for role in roles {
        conn.execute_raw(stmt(
            conn,
            "INSERT INTO staff_roles (staff_id, role) VALUES ($1, $2)",
            [id.get().into(), role.code().into()],
        ))
        .await?;
    }
    Ok(())
}

/// Replace a staff member's posts.
#[tracing::instrument(skip_all, err)]
pub async fn set_posts<C: ConnectionTrait>(
    conn: &C,
    id: StaffId,
    posts: &[PostId],
) -> Result<(), IdentityError> {
    conn.execute_raw(stmt(
        conn,
        "DELETE FROM staff_posts WHERE staff_id = $1",
        [id.get().into()],
    ))
    .await?;
    for post in posts {
        conn.execute_raw(stmt(
            conn,
            "INSERT INTO staff_posts (staff_id, post_id) VALUES ($1, $2)",
            [id.get().into(), post.get().into()],
        ))
        .await?;
    }
    Ok(())
}

async fn complete<C: ConnectionTrait>(
    conn: &C,
    row: &QueryResult,
) -> Result<StaffCredentials, IdentityError> {
    let id = StaffId::new(row.try_get("", "id")?);
    let role_rows = conn
        .query_all_raw(stmt(
            conn,
            "SELECT role FROM staff_roles WHERE staff_id = $1",
            [id.get().into()],
        ))
        .await?;
    let mut roles: Vec<Role> = role_rows
        .iter()
        .filter_map(|r| {
            r.try_get::<String>("", "role")
                .ok()
                .and_then(|t| Role::parse(&t))
        })
        .collect();
    roles.sort();
    let mut posts = fetch_all(
        conn,
        "SELECT p.id, p.code, p.name, p.duties FROM staff_posts sp JOIN posts p ON p.id = sp.post_id
         WHERE sp.staff_id = $1",
        [id.get().into()],
        post_from_row,
    )
    .await?;
    posts.sort_by(|a, b| a.code.as_bytes().cmp(b.code.as_bytes()));
    let status: String = row.try_get("", "status")?;
    Ok(StaffCredentials {
        staff: Staff {
            id,
            public_id: row.try_get("", "public_id")?,
            department_id: DepartmentId::new(row.try_get("", "department_id")?),
            department_code: row.try_get("", "department_code")?,
            region_code: row.try_get("", "region_code")?,
            employee_no: row.try_get("", "employee_no")?,
            name: row.try_get("", "name")?,
            mobile_masked: row.try_get("", "mobile_masked")?,
            roles,
            posts,
            status: if status == "active" {
                AccountStatus::Active
            } else {
                AccountStatus::Disabled
            },
        },
        password_hash: row.try_get("", "password_hash")?,
        locked_until: get_opt_ts(row, "locked_until")?,
    })
}

#[tracing::instrument(skip_all, err)]
pub async fn staff_by_id<C: ConnectionTrait>(
    conn: &C,
    id: StaffId,
) -> Result<Option<Staff>, IdentityError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            &format!("SELECT {STAFF_COLUMNS} FROM staff s JOIN departments d ON d.id = s.department_id WHERE s.id = $1"),
            [id.get().into()],
        ))
        .await?;
    match row {
        Some(row) => Ok(Some(complete(conn, &row).await?.staff)),
        None => Ok(None),
    }
}

#[tracing::instrument(skip_all, err)]
pub async fn staff_by_public_id<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
) -> Result<Option<Staff>, IdentityError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            &format!("SELECT {STAFF_COLUMNS} FROM staff s JOIN departments d ON d.id = s.department_id WHERE s.public_id = $1"),
            [public_id.into()],
        ))
        .await?;
    match row {
        Some(row) => Ok(Some(complete(conn, &row).await?.staff)),
        None => Ok(None),
    }
}

#[tracing::instrument(skip_all, err)]
pub async fn credentials_by_employee_no<C: ConnectionTrait>(
    conn: &C,
    employee_no: &str,
) -> Result<Option<StaffCredentials>, IdentityError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            &format!("SELECT {STAFF_COLUMNS} FROM staff s JOIN departments d ON d.id = s.department_id WHERE s.employee_no = $1"),
            [employee_no.into()],
        ))
        .await?;
    match row {
        Some(row) => Ok(Some(complete(conn, &row).await?)),
        None => Ok(None),
    }
}

/// Staff of a department, by employee number.
#[tracing::instrument(skip_all, err)]
pub async fn staff_of_department<C: ConnectionTrait>(
    conn: &C,
    department: DepartmentId,
) -> Result<Vec<Staff>, IdentityError> {
    let rows = conn
        .query_all_raw(stmt(
            conn,
            &format!("SELECT {STAFF_COLUMNS} FROM staff s JOIN departments d ON d.id = s.department_id WHERE s.department_id = $1"),
            [department.get().into()],
        ))
        .await?;
    let mut staff = Vec::with_capacity(rows.len());
    for row in &rows {
        staff.push(complete(conn, row).await?.staff);
    }
    staff.sort_by(|a, b| a.employee_no.as_bytes().cmp(b.employee_no.as_bytes()));
    Ok(staff)
}

fn post_from_row(row: &QueryResult) -> Result<Post, IdentityError> {
    Ok(Post {
        id: PostId::new(row.try_get("", "id")?),
        code: row.try_get("", "code")?,
        name: row.try_get("", "name")?,
        duties: row.try_get("", "duties")?,
    })
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_post<C: ConnectionTrait>(
    conn: &C,
    department: DepartmentId,
    code: &str,
    name: &str,
    duties: &str,
    now: DateTime<Utc>,
) -> Result<Option<PostId>, IdentityError> {
    fetch_one(
        conn,
        "INSERT INTO posts (department_id, code, name, duties, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (department_id, code) DO NOTHING RETURNING id",
        [department.get().into(), code.into(), name.into(), duties.into(), ts(now).into()],
        |r| {
            r.try_get::<i64>("", "id")
                .map(PostId::new)
                .map_err(IdentityError::from)
        },
    )
    .await
}

#[tracing::instrument(skip_all, err)]
pub async fn posts_of_department<C: ConnectionTrait>(
    conn: &C,
    department: DepartmentId,
) -> Result<Vec<Post>, IdentityError> {
    let mut posts = fetch_all(
        conn,
        "SELECT id, code, name, duties FROM posts WHERE department_id = $1",
        [department.get().into()],
        post_from_row,
    )
    .await?;
    posts.sort_by(|a, b| a.code.as_bytes().cmp(b.code.as_bytes()));
    Ok(posts)
}
