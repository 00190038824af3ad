//! Workflow definitions, the posts they name, and case numbers.

use chrono::{DateTime, Utc};
use yiwang_catalog::model::ItemId;
use yiwang_db::{ConnectionTrait, QueryResult, parse_ts, stmt, ts};
use yiwang_identity::DepartmentId;
use yiwang_identity::model::PostId;

use super::inserted;
use crate::CaseError;
use crate::model::{Workflow, WorkflowId};
use crate::workflow::{PostRef, ResolvedPost, WorkflowDef};

/// Resolve `department-code/post-code` names to posts.
#[tracing::instrument(skip_all, err)]
pub async fn resolve_posts<C: ConnectionTrait>(
    conn: &C,
    refs: &[PostRef],
) -> Result<Vec<(PostRef, ResolvedPost)>, CaseError> {
    let mut out = Vec::new();
    for r in refs {
        let row = conn
            .query_one_raw(stmt(
                conn,
                "SELECT p.id, p.department_id FROM posts p JOIN departments d ON d.id = p.department_id
                 WHERE d.code = $1 AND p.code = $2",
                [r.department.as_str().into(), r.post.as_str().into()],
            ))
            .await?;
        if let Some(row) = row {
            out.push((
                r.clone(),
                ResolvedPost {
                    department_id: DepartmentId::new(row.try_get("", "department_id")?),
                    post_id: PostId::new(row.try_get("", "id")?),
                },
            ));
        }
    }
    Ok(out)
}

/// The names of posts (`department-code/post-code`) and of their departments, for showing a
/// definition; posts that do not exist are left out.
pub async fn post_names<C: ConnectionTrait>(
    conn: &C,
    refs: &[PostRef],
) -> Result<Vec<(PostRef, String, String)>, CaseError> {
    let mut out = Vec::new();
    for r in refs {
        let row = conn
            .query_one_raw(stmt(
                conn,
                "SELECT p.name, d.short_name FROM posts p JOIN departments d ON d.id = p.department_id
                 WHERE d.code = $1 AND p.code = $2",
                [r.department.as_str().into(), r.post.as_str().into()],
            ))
            .await?;
        if let Some(row) = row {
            out.push((
                r.clone(),
                row.try_get("", "name")?,
                row.try_get("", "short_name")?,
            ));
        }
    }
    Ok(out)
}

/// The name of a post, for tasks.
pub async fn post_name<C: ConnectionTrait>(conn: &C, post: PostId) -> Result<String, CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT name FROM posts WHERE id = $1",
            [post.get().into()],
        ))
        .await?;
    Ok(row
        .map(|r| r.try_get::<String>("", "name"))
        .transpose()?
        .unwrap_or_default())
}

#[tracing::instrument(skip_all, err)]
pub async fn insert_workflow<C: ConnectionTrait>(
    conn: &C,
    item: ItemId,
    definition: &WorkflowDef,
    now: DateTime<Utc>,
    by: &str,
) -> Result<(WorkflowId, u32), CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "SELECT COALESCE(MAX(version_no), 0) AS n FROM case_workflows WHERE item_id = $1",
            [item.get().into()],
        ))
        .await?;
    let next = row.map_or(Ok(0), |r| r.try_get::<i64>("", "n"))? + 1;
    let row = conn
        .query_one_raw(stmt(
            conn,
            "INSERT INTO case_workflows (item_id, version_no, definition, published_at, published_by)
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
            [
                item.get().into(),
                next.into(),
                definition.to_json().into(),
                ts(now).into(),
                by.into(),
            ],
        ))
        .await?;
    let row = inserted(row)?;
    Ok((WorkflowId::new(row.try_get("", "id")?), next as u32))
}

fn workflow_from_row(row: &QueryResult) -> Result<Workflow, CaseError> {
    let text: String = row.try_get("", "definition")?;
    Ok(Workflow {
        id: WorkflowId::new(row.try_get("", "id")?),
        item_id: ItemId::new(row.try_get("", "item_id")?),
        version_no: row.try_get::<i64>("", "version_no")? as u32,
        definition: WorkflowDef::from_json(&text)
            .map_err(|p| CaseError::Corrupt(format!("stored workflow: {}", p.message)))?,
        published_at: parse_ts(&row.try_get::<String>("", "published_at")?)?,
        published_by: row.try_get("", "published_by")?,
    })
}

const WORKFLOW_COLUMNS: &str = "id, item_id, version_no, definition, published_at, published_by";

pub async fn latest_workflow<C: ConnectionTrait>(
    conn: &C,
    item: ItemId,
) -> Result<Option<Workflow>, CaseError> {
    conn.query_one_raw(stmt(
        conn,
        &format!(
            "SELECT {WORKFLOW_COLUMNS} FROM case_workflows WHERE item_id = $1
             ORDER BY version_no DESC LIMIT 1"
        ),
        [item.get().into()],
    ))
    .await?
    .as_ref()
    .map(workflow_from_row)
    .transpose()
}

pub async fn workflow_by_id<C: ConnectionTrait>(
    conn: &C,
    id: WorkflowId,
) -> Result<Option<Workflow>, CaseError> {
    conn.query_one_raw(stmt(
        conn,
        &format!("SELECT {WORKFLOW_COLUMNS} FROM case_workflows WHERE id = $1"),
        [id.get().into()],
    ))
    .await?
    .as_ref()
    .map(workflow_from_row)
    .transpose()
}

pub async fn workflows_of_item<C: ConnectionTrait>(
    conn: &C,
    item: ItemId,
) -> Result<Vec<Workflow>, CaseError> {
    conn.query_all_raw(stmt(
        conn,
        &format!(
            "SELECT {WORKFLOW_COLUMNS} FROM case_workflows WHERE item_id = $1 ORDER BY version_no DESC"
        ),
        [item.get().into()],
    ))
    .await?
    .iter()
    .map(workflow_from_row)
    .collect()
}

/// Items that have a workflow, with the newest version number (for the admin list).
pub async fn items_with_workflows<C: ConnectionTrait>(
    conn: &C,
) -> Result<Vec<(ItemId, u32)>, CaseError> {
    conn.query_all_raw(stmt(
        conn,
        "SELECT item_id, MAX(version_no) AS n FROM case_workflows GROUP BY item_id ORDER BY item_id",
        [],
    ))
    .await?
    .iter()
    .map(|r| {
        Ok((
            ItemId::new(r.try_get("", "item_id")?),
            r.try_get::<i64>("", "n")? as u32,
        ))
    })
    .collect()
}

// ---------------------------------------------------------------------------------------------
// Case numbers

/// The next number of a prefix (one atomic upsert: concurrent submissions never share a number).
pub async fn next_sequence<C: ConnectionTrait>(conn: &C, prefix: &str) -> Result<i64, CaseError> {
    let row = conn
        .query_one_raw(stmt(
            conn,
            "INSERT INTO case_sequences (prefix, last_value) VALUES ($1, 1)
             ON CONFLICT (prefix) DO UPDATE SET last_value = case_sequences.last_value + 1
             RETURNING last_value",
            [prefix.into()],
        ))
        .await?
        .ok_or_else(|| CaseError::Corrupt("sequence upsert returned nothing".to_owned()))?;
    Ok(row.try_get("", "last_value")?)
}
