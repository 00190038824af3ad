//! Public reads of requests (the public list, Open311) and the Open311 clients and their requests.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use yiwang_db::{
    ConnectionTrait, QueryResult, Value, count, fetch_all, fetch_one, fetch_required, get_opt_ts,
    get_ts, ts,
};

use super::{corrupt, exec, parse_code};
use crate::RequestError;
use crate::model::{Channel, Open311Client, PublicRequest, RequestId, RequestKind, Status};

/// Which requests a public read returns. Reports (举报), petitions and merged requests are never
/// public, whatever the filter.
#[derive(Debug, Clone, Default)]
pub struct PublicFilter {
    /// Only these public ids (Open311 `service_request_id`, comma-separated there).
    pub public_ids: Vec<String>,
    pub category: Option<String>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before or at.
    pub to: Option<DateTime<Utc>>,
    /// Only these states; empty: any.
    pub statuses: Vec<Status>,
}

const PUBLIC_FROM: &str = "FROM requests r
    JOIN request_categories c ON c.code = r.category_code
    LEFT JOIN departments d ON d.id = r.lead_department_id
    LEFT JOIN open311_requests o ON o.request_id = r.id
    WHERE r.kind <> 'report' AND r.channel <> 'petition' AND r.status <> 'merged'";

const PUBLIC_COLUMNS: &str = "r.public_id, r.channel, r.kind, r.category_code,
    c.name AS category_name, r.region_code, r.title, r.body, r.location, r.lon_micro, r.lat_micro,
    r.status, d.name AS department_name, r.reply, r.due_at, r.replied_at, r.created_at,
    r.updated_at, o.media_url";

fn public_from_row(row: &QueryResult) -> Result<PublicRequest, RequestError> {
    let lon: Option<i64> = row.try_get("", "lon_micro")?;
    let lat: Option<i64> = row.try_get("", "lat_micro")?;
    // Microdegrees fit an f64 mantissa exactly.
    let coordinates = lon
        .zip(lat)
        .map(|(lon, lat)| (lon as f64 / 1e6, lat as f64 / 1e6));
    Ok(PublicRequest {
        public_id: row.try_get("", "public_id")?,
        channel: parse_code(row, "channel", Channel::from_code)?,
        kind: parse_code(row, "kind", RequestKind::from_code)?,
        category: row.try_get("", "category_code")?,
        category_name: row.try_get("", "category_name")?,
        region_code: row.try_get("", "region_code")?,
        title: row.try_get("", "title")?,
        body: row.try_get("", "body")?,
        location: row.try_get("", "location")?,
        coordinates,
        status: parse_code(row, "status", Status::from_code)?,
        department: row.try_get("", "department_name")?,
        reply: row.try_get("", "reply")?,
        due_at: get_opt_ts(row, "due_at")?,
        replied_at: get_opt_ts(row, "replied_at")?,
        created_at: get_ts(row, "created_at")?,
        updated_at: get_ts(row, "updated_at")?,
        media_url: row
            .try_get::<Option<String>>("", "media_url")?
            .unwrap_or_default(),
    })
}

/// The WHERE clause of a filter after [`PUBLIC_FROM`] and its values.
fn public_where(filter: &PublicFilter) -> (String, Vec<Value>) {
    let mut sql = String::new();
    let mut values: Vec<Value> = Vec::new();
    let mut list = |sql: &mut String, column: &str, items: Vec<Value>| {
        let mut marks = Vec::with_capacity(items.len());
        for item in items {
            values.push(item);
            marks.push(format!("${}", values.len()));
        }
        let _ = write!(sql, " AND {column} IN ({})", marks.join(", "));
    };
    if !filter.public_ids.is_empty() {
        list(
            &mut sql,
            "r.public_id",
            filter
                .public_ids
                .iter()
                .map(|p| p.as_str().into())
                .collect(),
        );
    }
    if !filter.statuses.is_empty() {
        list(
            &mut sql,
            "r.status",
            filter.statuses.iter().map(|s| s.code().into()).collect(),
        );
    }
    if let Some(category) = &filter.category {
        values.push(category.as_str().into());
        let _ = write!(sql, " AND r.category_code = ${}", values.len());
    }
    if let Some(from) = filter.from {
        values.push(ts(from).into());
        let _ = write!(sql, " AND r.created_at >= ${}", values.len());
    }
    if let Some(to) = filter.to {
        values.push(ts(to).into());
        let _ = write!(sql, " AND r.created_at <= ${}", values.len());
    }
    (sql, values)
}

/// Public requests matching the filter, newest first.
pub async fn public_requests<C: ConnectionTrait>(
    conn: &C,
    filter: &PublicFilter,
    limit: u64,
    offset: u64,
) -> Result<Vec<PublicRequest>, RequestError> {
    let (clause, values) = public_where(filter);
    fetch_all(
        conn,
        &format!(
            "SELECT {PUBLIC_COLUMNS} {PUBLIC_FROM}{clause}
             ORDER BY r.created_at DESC, r.id DESC LIMIT {limit} OFFSET {offset}"
        ),
        values,
        public_from_row,
    )
    .await
}

/// How many public requests match the filter.
pub async fn count_public_requests<C: ConnectionTrait>(
    conn: &C,
    filter: &PublicFilter,
) -> Result<u64, RequestError> {
    let (clause, values) = public_where(filter);
    Ok(count(
        conn,
        &format!("SELECT COUNT(*) {PUBLIC_FROM}{clause}"),
        values,
    )
    .await?)
}

fn client_from_row(row: &QueryResult) -> Result<Open311Client, RequestError> {
    Ok(Open311Client {
        id: row.try_get("", "id")?,
        name: row.try_get("", "name")?,
        created_at: get_ts(row, "created_at")?,
    })
}

pub async fn client_by_name<C: ConnectionTrait>(
    conn: &C,
    name: &str,
) -> Result<Option<Open311Client>, RequestError> {
    fetch_one(
        conn,
        "SELECT id, name, created_at FROM open311_clients WHERE name = $1",
        [name.into()],
        client_from_row,
    )
    .await
}

pub async fn client_by_key_hash<C: ConnectionTrait>(
    conn: &C,
    key_hash: &str,
) -> Result<Option<Open311Client>, RequestError> {
    fetch_one(
        conn,
        "SELECT id, name, created_at FROM open311_clients WHERE key_hash = $1",
        [key_hash.into()],
        client_from_row,
    )
    .await
}

pub async fn insert_client<C: ConnectionTrait>(
    conn: &C,
    name: &str,
    key_hash: &str,
    now: DateTime<Utc>,
) -> Result<Open311Client, RequestError> {
    fetch_required(
        conn,
        "INSERT INTO open311_clients (name, key_hash, created_at) VALUES ($1, $2, $3)
         RETURNING id, name, created_at",
        [name.into(), key_hash.into(), ts(now).into()],
        client_from_row,
    )
    .await
}

/// Replaces a client's key (the demo re-keys its client to the key it derives).
pub async fn set_client_key<C: ConnectionTrait>(
    conn: &C,
    id: i64,
    key_hash: &str,
) -> Result<(), RequestError> {
    exec(
        conn,
        "UPDATE open311_clients SET key_hash = $1 WHERE id = $2",
        [key_hash.into(), id.into()],
    )
    .await?;
    Ok(())
}

pub async fn insert_open311_request<C: ConnectionTrait>(
    conn: &C,
    request: RequestId,
    client: i64,
    token: &str,
    media_url: &str,
) -> Result<(), RequestError> {
    exec(
        conn,
        "INSERT INTO open311_requests (request_id, client_id, token, media_url)
         VALUES ($1, $2, $3, $4)",
        [
            request.get().into(),
            client.into(),
            token.into(),
            media_url.into(),
        ],
    )
    .await?;
    Ok(())
}

/// The public id of the request an Open311 token names.
pub async fn public_id_of_token<C: ConnectionTrait>(
    conn: &C,
    token: &str,
) -> Result<Option<String>, RequestError> {
    fetch_one(
        conn,
        "SELECT r.public_id FROM open311_requests o JOIN requests r ON r.id = o.request_id
         WHERE o.token = $1",
        [token.into()],
        |row| {
            row.try_get::<String>("", "public_id")
                .map_err(|e| corrupt("public_id")(e.to_string()))
        },
    )
    .await
}
