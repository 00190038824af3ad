//! Material files and their attachment to cases.

use chrono::{DateTime, Utc};
use yiwang_db::{ConnectionTrait, QueryResult, parse_ts, stmt, ts};
use yiwang_identity::model::PersonId;

use super::inserted;
use crate::CaseError;
use crate::model::{CaseId, CaseMaterial, FileId, MaterialFile};

const FILE_COLUMNS: &str = "f.id, f.public_id, f.owner_person_id, f.name, f.content_type, f.size, f.digest, f.storage_key, f.created_at";

fn file_from_row(row: &QueryResult) -> Result<MaterialFile, CaseError> {
    Ok(MaterialFile {
        id: FileId::new(row.try_get("", "id")?),
        public_id: row.try_get("", "public_id")?,
        owner: PersonId::new(row.try_get("", "owner_person_id")?),
        name: row.try_get("", "name")?,
        content_type: row.try_get("", "content_type")?,
        size: row.try_get::<i64>("", "size")?.max(0) as u64,
        digest: row.try_get("", "digest")?,
        storage_key: row.try_get("", "storage_key")?,
        created_at: parse_ts(&row.try_get::<String>("", "created_at")?)?,
    })
}

pub async fn insert_file<C: ConnectionTrait>(
    conn: &C,
    file: &MaterialFile,
) -> Result<FileId, CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "INSERT INTO material_files (public_id, owner_person_id, name, content_type, size, digest, storage_key,
                 created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
            [
                file.public_id.as_str().into(),
                file.owner.get().into(),
                file.name.as_str().into(),
                file.content_type.as_str().into(),
                (file.size as i64).into(),
                file.digest.as_str().into(),
                file.storage_key.as_str().into(),
                ts(file.created_at).into(),
            ],
        ))
        .await?;
    let row = inserted(row)?;
    Ok(FileId::new(row.try_get("", "id")?))
}

pub async fn file_by_public_id<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
) -> Result<Option<MaterialFile>, CaseError> {
    conn.query_one_raw(stmt(
        conn,
        &format!("SELECT {FILE_COLUMNS} FROM material_files f WHERE f.public_id = $1"),
        [public_id.into()],
    ))
    .await?
    .as_ref()
    .map(file_from_row)
    .transpose()
}

/// A person's kept files, newest first (to reuse in a new application).
pub async fn files_of_person<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
    limit: u32,
) -> Result<Vec<MaterialFile>, CaseError> {
    conn.query_all_raw(stmt(
        conn,
        &format!(
            "SELECT {FILE_COLUMNS} FROM material_files f WHERE f.owner_person_id = $1
             ORDER BY f.created_at DESC, f.id DESC LIMIT $2"
        ),
        [person.get().into(), i64::from(limit).into()],
    ))
    .await?
    .iter()
    .map(file_from_row)
    .collect()
}

/// How many files a person keeps and their total size.
pub async fn usage_of_person<C: ConnectionTrait>(
    conn: &C,
    person: PersonId,
) -> Result<(u64, u64), CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(size), 0) AS BIGINT) AS bytes FROM material_files
             WHERE owner_person_id = $1",
            [person.get().into()],
        ))
        .await?;
    let Some(row) = row else {
        return Ok((0, 0));
    };
    let files: i64 = row.try_get("", "n")?;
    let bytes: i64 = row.try_get("", "bytes")?;
    Ok((files.max(0) as u64, bytes.max(0) as u64))
}

/// Whether any file row points at a stored object (identical contents share one object).
pub async fn storage_key_in_use<C: ConnectionTrait>(
    conn: &C,
    storage_key: &str,
) -> Result<bool, CaseError> {
    Ok(conn
        .query_one_raw(stmt(
            conn,
            "SELECT 1 AS x FROM material_files WHERE storage_key = $1 LIMIT 1",
            [storage_key.into()],
        ))
        .await?
        .is_some())
}

/// Files attached to no case and kept since before a time, oldest first.
pub async fn unattached_files_before<C: ConnectionTrait>(
    conn: &C,
    before: DateTime<Utc>,
    limit: u32,
) -> Result<Vec<MaterialFile>, CaseError> {
    conn.query_all_raw(stmt(
        conn,
        &format!(
            "SELECT {FILE_COLUMNS} FROM material_files f WHERE f.created_at < $1
             AND NOT EXISTS (SELECT 1 FROM case_materials cm WHERE cm.file_id = f.id)
             ORDER BY f.created_at, f.id LIMIT $2"
        ),
        [ts(before).into(), i64::from(limit).into()],
    ))
    .await?
    .iter()
    .map(file_from_row)
    .collect()
}

/// Delete a file row unless it was attached meanwhile; true when deleted.
pub async fn delete_unattached_file<C: ConnectionTrait>(
    conn: &C,
    file: FileId,
) -> Result<bool, CaseError> {
    let r = conn
        .execute_raw(stmt(
            conn,
            "DELETE FROM material_files WHERE id = $1
             AND NOT EXISTS (SELECT 1 FROM case_materials WHERE file_id = $1)",
            [file.get().into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

/// Attach a file to a case as a material; attaching the same file twice is a no-op.
pub async fn attach_material<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
    material: &str,
    file: FileId,
    now: DateTime<Utc>,
) -> Result<(), CaseError> {
    conn.execute_raw(stmt(
        conn,
        "INSERT INTO case_materials (case_id, material, file_id, attached_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (case_id, material, file_id) DO NOTHING",
        [
            case.get().into(),
            material.into(),
            file.get().into(),
            ts(now).into(),
        ],
    ))
    .await?;
    Ok(())
}

pub async fn detach_material<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
    material: &str,
    file: FileId,
) -> Result<bool, CaseError> {
    let r = conn
        .execute_raw(stmt(
            conn,
            "DELETE FROM case_materials WHERE case_id = $1 AND material = $2 AND file_id = $3",
            [case.get().into(), material.into(), file.get().into()],
        ))
        .await?;
    Ok(r.rows_affected() == 1)
}

pub async fn materials_of_case<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
) -> Result<Vec<CaseMaterial>, CaseError> {
    conn.query_all_raw(stmt(
        conn,
        &format!(
            "SELECT cm.material, {FILE_COLUMNS} FROM case_materials cm
             JOIN material_files f ON f.id = cm.file_id WHERE cm.case_id = $1
             ORDER BY cm.attached_at, f.id"
        ),
        [case.get().into()],
    ))
    .await?
    .iter()
    .map(|r| {
        Ok(CaseMaterial {
            material: r.try_get("", "material")?,
            file: file_from_row(r)?,
        })
    })
    .collect()
}

/// Whether a case has a file (staff and applicant may download only files of cases they may see).
pub async fn case_has_file<C: ConnectionTrait>(
    conn: &C,
    case: CaseId,
    file: FileId,
) -> Result<bool, CaseError> {
    Ok(conn
        .query_one_raw(stmt(
            conn,
            "SELECT 1 AS x FROM case_materials WHERE case_id = $1 AND file_id = $2",
            [case.get().into(), file.get().into()],
        ))
        .await?
        .is_some())
}
