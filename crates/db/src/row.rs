//! The row toolkit every repository uses: reading typed columns, fetching one or all rows through a
//! mapping function, counting, and LIKE patterns that behave the same on both backends.
//!
//! Every function takes any [`ConnectionTrait`], so a read runs on the pool or inside an open
//! transaction alike. Column readers return [`DbError`]; a domain's mapping function converts with `?`
//! (each domain error has `From<DbError>`).

use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::{ConnectionTrait, QueryResult, Value};

use crate::{DbError, parse_ts, stmt, ts};

/// The stored form of a calendar day (`2026-02-14`), fixed width so text order is day order.
const DATE_FORMAT: &str = "%Y-%m-%d";

/// An instant column (stored by [`ts`]).
pub fn get_ts(row: &QueryResult, column: &str) -> Result<DateTime<Utc>, DbError> {
    parse_ts(&row.try_get::<String>("", column)?)
}

/// A nullable instant column.
pub fn get_opt_ts(row: &QueryResult, column: &str) -> Result<Option<DateTime<Utc>>, DbError> {
    row.try_get::<Option<String>>("", column)?
        .as_deref()
        .map(parse_ts)
        .transpose()
}

/// The parameter value of an optional instant: its stored text, or SQL NULL.
pub fn opt_ts(at: Option<DateTime<Utc>>) -> Value {
    at.map(ts).into()
}

/// The stored text of a calendar day.
pub fn date(day: NaiveDate) -> String {
    day.format(DATE_FORMAT).to_string()
}

/// The parameter value of an optional day: its stored text, or SQL NULL.
pub fn opt_date(day: Option<NaiveDate>) -> Value {
    day.map(date).into()
}

/// Parse a day's stored text.
pub fn parse_date(text: &str) -> Result<NaiveDate, DbError> {
    NaiveDate::parse_from_str(text, DATE_FORMAT)
        .map_err(|e| DbError::Corrupt(format!("bad date {text:?}: {e}")))
}

/// A calendar-day column (stored by [`date`]).
pub fn get_date(row: &QueryResult, column: &str) -> Result<NaiveDate, DbError> {
    parse_date(&row.try_get::<String>("", column)?)
}

/// A nullable calendar-day column.
pub fn get_opt_date(row: &QueryResult, column: &str) -> Result<Option<NaiveDate>, DbError> {
    row.try_get::<Option<String>>("", column)?
        .as_deref()
        .map(parse_date)
        .transpose()
}

/// The number a `SELECT COUNT(*) …` (or any query whose first column is a count) gives; 0 without a row.
pub async fn count<C: ConnectionTrait + ?Sized>(
    conn: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
) -> Result<u64, DbError> {
    let n = match conn.query_one_raw(stmt(conn, sql, values)).await? {
        Some(row) => row.try_get_by_index::<i64>(0)?,
        None => 0,
    };
    // A count is never negative; a negative first column is a caller's mistake, read as nothing.
    Ok(u64::try_from(n).unwrap_or(0))
}

/// The first row of a query, mapped; `None` when there is none.
pub async fn fetch_one<C, T, E>(
    conn: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
    map: impl FnOnce(&QueryResult) -> Result<T, E>,
) -> Result<Option<T>, E>
where
    C: ConnectionTrait + ?Sized,
    E: From<DbError>,
{
    let row = conn
        .query_one_raw(stmt(conn, sql, values))
        .await
        .map_err(|e| E::from(DbError::from(e)))?;
    row.as_ref().map(map).transpose()
}

/// The first row of a query that must give one (an `INSERT … RETURNING`, a row just locked), mapped. No
/// row is [`DbError::Corrupt`] naming the statement.
pub async fn fetch_required<C, T, E>(
    conn: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
    map: impl FnOnce(&QueryResult) -> Result<T, E>,
) -> Result<T, E>
where
    C: ConnectionTrait + ?Sized,
    E: From<DbError>,
{
    fetch_one(conn, sql, values, map)
        .await?
        .ok_or_else(|| E::from(no_row(sql)))
}

/// Every row of a query, mapped, in the query's order.
pub async fn fetch_all<C, T, E>(
    conn: &C,
    sql: &str,
    values: impl IntoIterator<Item = Value>,
    map: impl FnMut(&QueryResult) -> Result<T, E>,
) -> Result<Vec<T>, E>
where
    C: ConnectionTrait + ?Sized,
    E: From<DbError>,
{
    let rows = conn
        .query_all_raw(stmt(conn, sql, values))
        .await
        .map_err(|e| E::from(DbError::from(e)))?;
    rows.iter().map(map).collect()
}

/// The error for a statement that had to give a row and did not, naming the statement by its start.
fn no_row(sql: &str) -> DbError {
    let mut start: String = sql.split_whitespace().take(6).collect::<Vec<_>>().join(" ");
    if sql.split_whitespace().nth(6).is_some() {
        start.push_str(" …");
    }
    DbError::Corrupt(format!("no row from `{start}`"))
}

/// `text` with LIKE's wildcards (`%`, `_`) and the escape character (`\`) escaped, for use with
/// `ESCAPE '\'` (see [`like_sql`]).
pub fn escape_like(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 4);
    for c in text.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The pattern matching values that contain `text` (escaped), for [`like_sql`].
pub fn like_contains(text: &str) -> String {
    format!("%{}%", escape_like(text))
}

/// The pattern matching values that start with `text` (escaped), for [`like_sql`].
pub fn like_prefix(text: &str) -> String {
    format!("{}%", escape_like(text))
}

/// `LOWER(column) LIKE LOWER($n) ESCAPE '\'`: a LIKE condition that is case-insensitive on both
/// backends (PostgreSQL's LIKE is case-sensitive, SQLite's only for non-ASCII). Both sides go through
/// the same database `LOWER`, so a value always matches its own text whatever the backend's notion of
/// case: ASCII letters fold on both, other letters as the backend folds them, CJK has no case.
pub fn like_sql(column: &str, placeholder: usize) -> String {
    format!("LOWER({column}) LIKE LOWER(${placeholder}) ESCAPE '\\'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards_and_the_escape_character() {
        assert_eq!(escape_like("100%_a\\b"), "100\\%\\_a\\\\b");
        assert_eq!(like_contains("合肥_市"), "%合肥\\_市%");
        assert_eq!(like_prefix("3401%"), "3401\\%%");
        assert_eq!(like_contains(""), "%%");
        assert_eq!(
            like_sql("d.name", 3),
            "LOWER(d.name) LIKE LOWER($3) ESCAPE '\\'"
        );
    }

    #[test]
    fn dates_round_trip_in_fixed_width() {
        let day = NaiveDate::from_ymd_opt(2026, 2, 4).unwrap_or_default();
        assert_eq!(date(day), "2026-02-04");
        assert_eq!(parse_date("2026-02-04").ok(), Some(day));
        assert!(parse_date("2026-2-30").is_err());
        assert_eq!(opt_date(None), Value::String(None));
        assert_eq!(opt_ts(None), Value::String(None));
    }

    #[test]
    fn missing_rows_name_their_statement() {
        let short = no_row("INSERT INTO t (a) VALUES ($1) RETURNING id").to_string();
        assert!(
            short.contains("`INSERT INTO t (a) VALUES ($1) …`"),
            "{short}"
        );
        let tiny = no_row("SELECT 1").to_string();
        assert!(tiny.contains("`SELECT 1`"), "{tiny}");
    }
}
