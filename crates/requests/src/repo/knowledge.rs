//! The knowledge base (知识库).

use chrono::{DateTime, Utc};
use yiwang_db::{ConnectionTrait, QueryResult, fetch_all, fetch_one, fetch_required, get_ts, ts};

use super::exec;
use crate::RequestError;
use crate::model::{KnowledgeEntry, KnowledgeId};

const COLUMNS: &str = "id, category_code, question, answer, revision, updated_at";

fn entry_from_row(row: &QueryResult) -> Result<KnowledgeEntry, RequestError> {
    Ok(KnowledgeEntry {
        id: KnowledgeId::new(row.try_get("", "id")?),
        category: row.try_get("", "category_code")?,
        question: row.try_get("", "question")?,
        answer: row.try_get("", "answer")?,
        revision: row.try_get("", "revision")?,
        updated_at: get_ts(row, "updated_at")?,
    })
}

pub async fn insert_entry<C: ConnectionTrait>(
    conn: &C,
    category: &str,
    question: &str,
    answer: &str,
    author: &str,
    now: DateTime<Utc>,
) -> Result<KnowledgeId, RequestError> {
    fetch_required(
        conn,
        "INSERT INTO request_knowledge (category_code, question, answer, author, created_at,
             updated_at)
         VALUES ($1, $2, $3, $4, $5, $5)
         RETURNING id",
        [
            category.into(),
            question.into(),
            answer.into(),
            author.into(),
            ts(now).into(),
        ],
        |row| Ok::<_, RequestError>(KnowledgeId::new(row.try_get("", "id")?)),
    )
    .await
}

/// Rewrites an entry if nobody changed it since `revision`.
pub async fn update_entry<C: ConnectionTrait>(
    conn: &C,
    id: KnowledgeId,
    revision: i64,
    question: &str,
    answer: &str,
    author: &str,
    now: DateTime<Utc>,
) -> Result<bool, RequestError> {
    Ok(exec(
        conn,
        "UPDATE request_knowledge SET question = $3, answer = $4, author = $5,
             revision = revision + 1, updated_at = $6
         WHERE id = $1 AND revision = $2",
        [
            id.get().into(),
            revision.into(),
            question.into(),
            answer.into(),
            author.into(),
            ts(now).into(),
        ],
    )
    .await?
        == 1)
}

pub async fn entry<C: ConnectionTrait>(
    conn: &C,
    id: KnowledgeId,
) -> Result<Option<KnowledgeEntry>, RequestError> {
    fetch_one(
        conn,
        &format!("SELECT {COLUMNS} FROM request_knowledge WHERE id = $1"),
        [id.get().into()],
        entry_from_row,
    )
    .await
}

/// The entries of one category, by id.
pub async fn entries_of<C: ConnectionTrait>(
    conn: &C,
    category: &str,
) -> Result<Vec<KnowledgeEntry>, RequestError> {
    fetch_all(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM request_knowledge WHERE category_code = $1 ORDER BY id LIMIT 1000"
        ),
        [category.into()],
        entry_from_row,
    )
    .await
}
