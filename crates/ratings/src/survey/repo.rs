//! All SQL of surveys, portable between SQLite and PostgreSQL, every function generic over the
//! connection so it runs on the pool or inside the caller's transaction.

use chrono::{DateTime, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, count, fetch_all, fetch_one, fetch_required, get_opt_date,
    get_opt_ts, get_ts, opt_date, stmt, ts,
};
use yiwang_identity::model::{DepartmentId, PersonId, StaffId};
use yiwang_kernel::PageRequest;

use super::SurveyError;
use super::model::{
    Answers, Audience, AudienceKind, Definition, Response, SurveyId, SurveyStatus, SurveyView,
};

fn corrupt(what: &'static str) -> impl Fn(String) -> SurveyError {
    move |e| SurveyError::Corrupt(format!("{what}: {e}"))
}

fn non_negative(row: &QueryResult, column: &str) -> Result<u64, SurveyError> {
    let n: i64 = row.try_get("", column)?;
    u64::try_from(n).map_err(|e| corrupt("count")(e.to_string()))
}

async fn exec<C: ConnectionTrait>(
    conn: &C,
    sql: &str,
    values: impl IntoIterator<Item = yiwang_db::Value>,
) -> Result<u64, SurveyError> {
    Ok(conn
        .execute_raw(stmt(conn, sql, values))
        .await?
        .rows_affected())
}

const SURVEY_COLUMNS: &str = "s.id, s.public_id, s.department_id, d.name AS department_name, \
     s.title, s.intro, s.definition, s.status, s.audience, s.audience_target, s.served_from, \
     s.served_until, s.invited, s.responses, s.revision, s.created_at, s.published_at, s.closed_at";

/// A stored survey and its revision (for the conditional update of a draft).
#[derive(Debug, Clone)]
pub struct SurveyRow {
    pub view: SurveyView,
    pub revision: i64,
}

fn survey_from_row(row: &QueryResult) -> Result<SurveyRow, SurveyError> {
    let definition: String = row.try_get("", "definition")?;
    let definition: Definition =
        serde_json::from_str(&definition).map_err(|e| corrupt("definition")(e.to_string()))?;
    let status: String = row.try_get("", "status")?;
    let audience: String = row.try_get("", "audience")?;
    Ok(SurveyRow {
        view: SurveyView {
            id: SurveyId::new(row.try_get("", "id")?),
            public_id: row.try_get("", "public_id")?,
            department: DepartmentId::new(row.try_get("", "department_id")?),
            department_name: row.try_get("", "department_name")?,
            title: row.try_get("", "title")?,
            intro: row.try_get("", "intro")?,
            definition,
            status: SurveyStatus::from_code(&status).ok_or_else(|| corrupt("status")(status))?,
            audience: Audience {
                kind: AudienceKind::from_code(&audience)
                    .ok_or_else(|| corrupt("audience")(audience))?,
                target: row.try_get("", "audience_target")?,
                from: get_opt_date(row, "served_from")?,
                until: get_opt_date(row, "served_until")?,
            },
            invited: non_negative(row, "invited")?,
            responses: non_negative(row, "responses")?,
            created_at: get_ts(row, "created_at")?,
            published_at: get_opt_ts(row, "published_at")?,
            closed_at: get_opt_ts(row, "closed_at")?,
        },
        revision: row.try_get("", "revision")?,
    })
}

fn definition_json(definition: &Definition) -> Result<String, SurveyError> {
    serde_json::to_string(definition).map_err(|e| corrupt("definition")(e.to_string()))
}

/// Stores a new draft.
pub async fn insert_survey<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
    department: DepartmentId,
    title: &str,
    intro: &str,
    created_by: StaffId,
    now: DateTime<Utc>,
) -> Result<SurveyId, SurveyError> {
    fetch_required(
        conn,
        "INSERT INTO surveys (public_id, department_id, title, intro, definition, status,
             created_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'draft', $6, $7, $7) RETURNING id",
        [
            public_id.into(),
            department.get().into(),
            title.into(),
            intro.into(),
            definition_json(&Definition::default())?.into(),
            created_by.get().into(),
            ts(now).into(),
        ],
        |row| Ok::<_, SurveyError>(SurveyId::new(row.try_get("", "id")?)),
    )
    .await
}

pub async fn survey_by_public_id<C: ConnectionTrait>(
    conn: &C,
    public_id: &str,
) -> Result<Option<SurveyRow>, SurveyError> {
    fetch_one(
        conn,
        &format!(
            "SELECT {SURVEY_COLUMNS} FROM surveys s JOIN departments d ON d.id = s.department_id
             WHERE s.public_id = $1"
        ),
        [public_id.into()],
        survey_from_row,
    )
    .await
}

pub async fn survey<C: ConnectionTrait>(
    conn: &C,
    id: SurveyId,
) -> Result<Option<SurveyRow>, SurveyError> {
    fetch_one(
        conn,
        &format!(
            "SELECT {SURVEY_COLUMNS} FROM surveys s JOIN departments d ON d.id = s.department_id
             WHERE s.id = $1"
        ),
        [id.get().into()],
        survey_from_row,
    )
    .await
}

/// A department's surveys (every department's with `None`), newest first, and their number.
pub async fn surveys_of<C: ConnectionTrait>(
    conn: &C,
    department: Option<DepartmentId>,
    page: PageRequest,
) -> Result<(Vec<SurveyView>, u64), SurveyError> {
    let dept = department.map_or(0, DepartmentId::get);
    let total = count(
        conn,
        "SELECT COUNT(*) FROM surveys WHERE ($1 = 0 OR department_id = $1)",
        [dept.into()],
    )
    .await?;
    let rows = fetch_all(
        conn,
        &format!(
            "SELECT {SURVEY_COLUMNS} FROM surveys s JOIN departments d ON d.id = s.department_id
             WHERE ($1 = 0 OR s.department_id = $1)
             ORDER BY s.created_at DESC, s.id DESC LIMIT $2 OFFSET $3"
        ),
        [
            dept.into(),
            i64::try_from(page.limit()).unwrap_or(i64::MAX).into(),
            i64::try_from(page.offset()).unwrap_or(i64::MAX).into(),
        ],
        |row| survey_from_row(row).map(|r| r.view),
    )
    .await?;
    Ok((rows, total))
}

/// Open public surveys, newest first (at most `limit`).
pub async fn open_public<C: ConnectionTrait>(
    conn: &C,
    limit: u64,
) -> Result<Vec<SurveyView>, SurveyError> {
    fetch_all(
        conn,
        &format!(
            "SELECT {SURVEY_COLUMNS} FROM surveys s JOIN departments d ON d.id = s.department_id
             WHERE s.status = 'open' AND s.audience = 'public'
             ORDER BY s.published_at DESC, s.id DESC LIMIT $1"
        ),
        [i64::try_from(limit).unwrap_or(i64::MAX).into()],
        |row| survey_from_row(row).map(|r| r.view),
    )
    .await
}

/// Replaces a draft's definition if nobody changed it meanwhile (`revision`); `false` otherwise.
pub async fn update_draft<C: ConnectionTrait>(
    conn: &C,
    id: SurveyId,
    revision: i64,
    definition: &Definition,
    now: DateTime<Utc>,
) -> Result<bool, SurveyError> {
    Ok(exec(
        conn,
        "UPDATE surveys SET definition = $1, revision = revision + 1, updated_at = $2
         WHERE id = $3 AND revision = $4 AND status = 'draft'",
        [
            definition_json(definition)?.into(),
            ts(now).into(),
            id.get().into(),
            revision.into(),
        ],
    )
    .await?
        == 1)
}

/// Opens a draft for answers with its audience; `false` when it is no longer a draft.
pub async fn open<C: ConnectionTrait>(
    conn: &C,
    id: SurveyId,
    revision: i64,
    audience: &Audience,
    now: DateTime<Utc>,
) -> Result<bool, SurveyError> {
    Ok(exec(
        conn,
        "UPDATE surveys SET status = 'open', audience = $1, audience_target = $2,
             served_from = $3, served_until = $4, published_at = $5, updated_at = $5,
             revision = revision + 1
         WHERE id = $6 AND revision = $7 AND status = 'draft'",
        [
            audience.kind.code().into(),
            audience.target.into(),
            opt_date(audience.from),
            opt_date(audience.until),
            ts(now).into(),
            id.get().into(),
            revision.into(),
        ],
    )
    .await?
        == 1)
}

/// Records how many people were invited.
pub async fn set_invited<C: ConnectionTrait>(
    conn: &C,
    id: SurveyId,
    invited: u64,
) -> Result<(), SurveyError> {
    exec(
        conn,
        "UPDATE surveys SET invited = $1 WHERE id = $2",
        [
            i64::try_from(invited).unwrap_or(i64::MAX).into(),
            id.get().into(),
        ],
    )
    .await?;
    Ok(())
}

/// Closes an open survey; `false` when it is not open.
pub async fn close<C: ConnectionTrait>(
    conn: &C,
    id: SurveyId,
    now: DateTime<Utc>,
) -> Result<bool, SurveyError> {
    Ok(exec(
        conn,
        "UPDATE surveys SET status = 'closed', closed_at = $1, updated_at = $1,
             revision = revision + 1
         WHERE id = $2 AND status = 'open'",
        [ts(now).into(), id.get().into()],
    )
    .await?
        == 1)
}

/// Counts one more response if the survey is open and below `max`; `false` otherwise.
pub async fn count_response<C: ConnectionTrait>(
    conn: &C,
    id: SurveyId,
    max: u64,
) -> Result<bool, SurveyError> {
    Ok(exec(
        conn,
        "UPDATE surveys SET responses = responses + 1
         WHERE id = $1 AND status = 'open' AND responses < $2",
        [
            id.get().into(),
            i64::try_from(max).unwrap_or(i64::MAX).into(),
        ],
    )
    .await?
        == 1)
}

/// Stores a response; `false` when this respondent already answered (the unique constraint).
pub async fn insert_response<C: ConnectionTrait>(
    conn: &C,
    id: SurveyId,
    respondent: &str,
    answers: &Answers,
    channel: &str,
    now: DateTime<Utc>,
) -> Result<bool, SurveyError> {
    let answers = serde_json::to_string(answers).map_err(|e| corrupt("answers")(e.to_string()))?;
    Ok(fetch_one(
        conn,
        "INSERT INTO survey_responses (survey_id, respondent, answers, channel, answered_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (survey_id, respondent) DO NOTHING RETURNING id",
        [
            id.get().into(),
            respondent.into(),
            answers.into(),
            channel.into(),
            ts(now).into(),
        ],
        |row| Ok::<_, SurveyError>(row.try_get::<i64>("", "id")?),
    )
    .await?
    .is_some())
}

/// Whether this respondent answered the survey.
pub async fn has_answered<C: ConnectionTrait>(
    conn: &C,
    id: SurveyId,
    respondent: &str,
) -> Result<bool, SurveyError> {
    Ok(count(
        conn,
        "SELECT COUNT(*) FROM survey_responses WHERE survey_id = $1 AND respondent = $2",
        [id.get().into(), respondent.into()],
    )
    .await?
        > 0)
}

/// Every response, newest first (bounded by the survey's response limit).
pub async fn responses<C: ConnectionTrait>(
    conn: &C,
    id: SurveyId,
) -> Result<Vec<Response>, SurveyError> {
    fetch_all(
        conn,
        "SELECT answers, channel, answered_at FROM survey_responses WHERE survey_id = $1
         ORDER BY answered_at DESC, id DESC",
        [id.get().into()],
        |row| {
            let answers: String = row.try_get("", "answers")?;
            Ok::<_, SurveyError>(Response {
                answers: serde_json::from_str(&answers)
                    .map_err(|e| corrupt("answers")(e.to_string()))?,
                channel: row.try_get("", "channel")?,
                answered_at: get_ts(row, "answered_at")?,
            })
        },
    )
    .await
}

/// Stores an invitation; `false` when the person was already invited to this survey.
pub async fn insert_invitation<C: ConnectionTrait>(
    conn: &C,
    id: SurveyId,
    person: PersonId,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, SurveyError> {
    Ok(fetch_one(
        conn,
        "INSERT INTO survey_invitations (survey_id, person_id, token_hash, invited_at)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (survey_id, person_id) DO NOTHING RETURNING id",
        [
            id.get().into(),
            person.get().into(),
            token_hash.into(),
            ts(now).into(),
        ],
        |row| Ok::<_, SurveyError>(row.try_get::<i64>("", "id")?),
    )
    .await?
    .is_some())
}

/// An invitation by its token's hash: the survey, the person, and whether it was used.
pub async fn invitation<C: ConnectionTrait>(
    conn: &C,
    token_hash: &str,
) -> Result<Option<(SurveyId, PersonId, bool)>, SurveyError> {
    fetch_one(
        conn,
        "SELECT survey_id, person_id, used_at FROM survey_invitations WHERE token_hash = $1",
        [token_hash.into()],
        |row| {
            Ok::<_, SurveyError>((
                SurveyId::new(row.try_get("", "survey_id")?),
                PersonId::new(row.try_get("", "person_id")?),
                get_opt_ts(row, "used_at")?.is_some(),
            ))
        },
    )
    .await
}

/// Marks an invitation used; `false` when it already was.
pub async fn use_invitation<C: ConnectionTrait>(
    conn: &C,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, SurveyError> {
    Ok(exec(
        conn,
        "UPDATE survey_invitations SET used_at = $1 WHERE token_hash = $2 AND used_at IS NULL",
        [ts(now).into(), token_hash.into()],
    )
    .await?
        == 1)
}
