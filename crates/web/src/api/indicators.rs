//! Performance indicators (绩效) over JSON for staff: every indicator of a month or a date range
//! grouped by department, region or item, and the month's scoreboard (JSON or CSV). The figures
//! and who may see which departments are the ratings service's (`Ratings::indicators`,
//! `Ratings::scoreboard`); this module parses and bounds the query and adds the rates to the counts.

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use yiwang_ratings::indicators::{
    Dimension, IndicatorReport, Indicators, Period, ScoreLine, Scoreboard, Trend,
};

use crate::api::ratings::month_param;
use crate::api::{ApiErrorBody, ApiQuery};
use crate::error::AppError;
use crate::extract::ApiStaff;
use crate::page::csv_download;
use crate::state::AppState;

/// Length of a day, `YYYY-MM-DD`.
pub const DAY_CHARS: usize = 10;
/// Longest department code a caller may send.
pub const DEPARTMENT_CHARS: usize = 32;
/// Longest `by` (`department`, `region`, `item`) and `format` (`json`, `csv`).
pub const WORD_CHARS: usize = 10;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/indicators", get(indicators))
        .route("/api/v1/indicators/scoreboard", get(scoreboard))
}

fn invalid(field: &str, message: &str) -> AppError {
    crate::error::invalid(field, "rating_bad_range", message)
}

/// A query text, trimmed, refused above `max` characters.
fn bounded<'a>(
    value: Option<&'a str>,
    field: &str,
    max: usize,
    what: &str,
) -> Result<&'a str, AppError> {
    let value = value.map_or("", str::trim);
    if value.chars().nth(max).is_some() {
        return Err(invalid(field, what));
    }
    Ok(value)
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct IndicatorQuery {
    /// `department` (default), `region` or `item`.
    pub by: Option<String>,
    /// A month `YYYY-MM` (default: this month), unless `from` and `to` are given.
    pub month: Option<String>,
    /// First day `YYYY-MM-DD` of a range (at most 366 days), with `to`.
    pub from: Option<String>,
    /// Last day `YYYY-MM-DD` of a range, with `from`.
    pub to: Option<String>,
    /// One department's code (within the caller's scope).
    pub department: Option<String>,
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ScoreboardQuery {
    /// The month `YYYY-MM` (default: this month).
    pub month: Option<String>,
    /// `json` (default) or `csv` (UTF-8 with a byte-order mark).
    pub format: Option<String>,
}

/// The counts of one group and its rates (each rate `null` when its denominator is 0; formulas in
/// docs/api.md and `yiwang_ratings::indicators::Indicators`).
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorsOut {
    /// Department code, region code or item code; empty for the total.
    pub key: String,
    pub name: String,
    /// Cases submitted in the period.
    pub received: u64,
    /// Of them applied online.
    pub online: u64,
    /// Of them 即办件.
    pub instant: u64,
    /// Cases concluded in the period.
    pub concluded: u64,
    /// Of them decided by the decision deadline.
    pub on_time: u64,
    /// Of them concluded without a 补正.
    pub first_time: u64,
    pub ratings: u64,
    /// Ratings at levels 1–2.
    pub satisfied: u64,
    /// 差评: ratings at levels 4–5.
    pub bad: u64,
    /// 差评 rectified by their deadline.
    pub bad_on_time: u64,
    /// Bookings of days in the period that were due.
    pub bookings_due: u64,
    pub no_shows: u64,
    pub tickets_called: u64,
    /// 按时办结率 = on_time / concluded.
    pub on_time_rate: Option<f64>,
    /// 一次办结率 = first_time / concluded.
    pub first_time_rate: Option<f64>,
    /// 网办率 = online / received.
    pub online_share: Option<f64>,
    /// 即办件占比 = instant / received.
    pub instant_share: Option<f64>,
    /// Average handling time (accepted → decided) in days.
    pub avg_handling_days: Option<f64>,
    /// Average time the deadline allowed, in days.
    pub avg_allowed_days: Option<f64>,
    /// 满意率 = satisfied / ratings.
    pub satisfaction_rate: Option<f64>,
    /// 差评按时整改率 = bad_on_time / bad.
    pub bad_on_time_rate: Option<f64>,
    /// 爽约率 = no_shows / bookings_due.
    pub no_show_rate: Option<f64>,
    /// Mean wait from taking a ticket to its call, seconds.
    pub wait_avg_secs: Option<f64>,
    /// Nearest-rank 90th percentile of the waits, seconds.
    pub wait_p90_secs: Option<i64>,
    /// 综合得分 0–100: the mean of the on-time, first-time, online and satisfaction rates that exist.
    pub score: Option<f64>,
}

impl From<&Indicators> for IndicatorsOut {
    fn from(i: &Indicators) -> Self {
        Self {
            key: i.key.clone(),
            name: i.name.clone(),
            received: i.received,
            online: i.online,
            instant: i.instant,
            concluded: i.concluded,
            on_time: i.on_time,
            first_time: i.first_time,
            ratings: i.ratings,
            satisfied: i.satisfied,
            bad: i.bad,
            bad_on_time: i.bad_on_time,
            bookings_due: i.bookings_due,
            no_shows: i.no_shows,
            tickets_called: i.tickets_called,
            on_time_rate: i.on_time_rate(),
            first_time_rate: i.first_time_rate(),
            online_share: i.online_share(),
            instant_share: i.instant_share(),
            avg_handling_days: i.avg_handling_days(),
            avg_allowed_days: i.avg_allowed_days(),
            satisfaction_rate: i.satisfaction_rate(),
            bad_on_time_rate: i.bad_on_time_rate(),
            no_show_rate: i.no_show_rate(),
            wait_avg_secs: i.wait_avg_secs,
            wait_p90_secs: i.wait_p90_secs,
            score: i.composite(),
        }
    }
}

/// Indicators of a period per group, with the total of all groups.
#[derive(Debug, Serialize, ToSchema)]
pub struct IndicatorReportOut {
    /// First day, `YYYY-MM-DD`.
    pub from: String,
    /// Last day, `YYYY-MM-DD`.
    pub to: String,
    /// `department`, `region` or `item`.
    pub by: String,
    pub rows: Vec<IndicatorsOut>,
    pub total: IndicatorsOut,
}

impl From<&IndicatorReport> for IndicatorReportOut {
    fn from(r: &IndicatorReport) -> Self {
        Self {
            from: r.period.from.format("%Y-%m-%d").to_string(),
            to: r.period.to.format("%Y-%m-%d").to_string(),
            by: r.dimension.code().to_owned(),
            rows: r.rows.iter().map(IndicatorsOut::from).collect(),
            total: IndicatorsOut::from(&r.total),
        }
    }
}

/// One department on the scoreboard.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreLineOut {
    /// 1-based; departments without a score share the last rank.
    pub rank: usize,
    pub score: Option<f64>,
    pub previous_score: Option<f64>,
    /// `up` (rose by more than half a point), `down` or `level`.
    pub trend: String,
    pub indicators: IndicatorsOut,
}

impl From<&ScoreLine> for ScoreLineOut {
    fn from(l: &ScoreLine) -> Self {
        Self {
            rank: l.rank,
            score: l.score,
            previous_score: l.previous_score,
            trend: match l.trend {
                Trend::Up => "up",
                Trend::Down => "down",
                Trend::Level => "level",
            }
            .to_owned(),
            indicators: IndicatorsOut::from(&l.indicators),
        }
    }
}

/// Departments ranked by their score for a month, with the trend against the month before.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScoreboardOut {
    pub month: String,
    pub previous_month: String,
    pub lines: Vec<ScoreLineOut>,
}

impl From<&Scoreboard> for ScoreboardOut {
    fn from(b: &Scoreboard) -> Self {
        Self {
            month: b.month.clone(),
            previous_month: b.previous_month.clone(),
            lines: b.lines.iter().map(ScoreLineOut::from).collect(),
        }
    }
}

/// The period of a query: `from` and `to` when either is given, else `month` (default this month).
fn period_of(state: &AppState, query: &IndicatorQuery) -> Result<Period, AppError> {
    let from = bounded(
        query.from.as_deref(),
        "from",
        DAY_CHARS,
        "from is YYYY-MM-DD",
    )?;
    let to = bounded(query.to.as_deref(), "to", DAY_CHARS, "to is YYYY-MM-DD")?;
    if from.is_empty() && to.is_empty() {
        let month = month_param(state, query.month.as_deref())?;
        return Ok(Period::month(&month)?);
    }
    Ok(Period::parse_range(from, to)?)
}

/// Every indicator of the caller's departments over a month or a date range, per department,
/// region or item. Platform administrators see everything; supervisors and auditors their region;
/// a department's staff their own department.
#[utoipa::path(get, path = "/api/v1/indicators", tag = "indicators", params(IndicatorQuery),
    responses((status = 200, body = IndicatorReportOut),
        (status = 403, body = ApiErrorBody, description = "not a role that sees indicators, or a department outside the caller's scope"),
        (status = 422, body = ApiErrorBody, description = "`field` is `by`, `month`, `from`, `to`, `range` or `department`")))]
async fn indicators(
    State(state): State<AppState>,
    who: ApiStaff,
    ApiQuery(query): ApiQuery<IndicatorQuery>,
) -> Result<Json<IndicatorReportOut>, AppError> {
    let by_text = bounded(
        query.by.as_deref(),
        "by",
        WORD_CHARS,
        "by is department, region or item",
    )?;
    let by = if by_text.is_empty() {
        Dimension::Department
    } else {
        Dimension::parse(by_text)
            .ok_or_else(|| invalid("by", "by is department, region or item"))?
    };
    let department = bounded(
        query.department.as_deref(),
        "department",
        DEPARTMENT_CHARS,
        "department is a department code",
    )?;
    let period = period_of(&state, &query)?;
    let report = state
        .ratings()
        .indicators(
            &who.principal,
            by,
            period,
            (!department.is_empty()).then_some(department),
        )
        .await?;
    Ok(Json(IndicatorReportOut::from(&report)))
}

/// The scoreboard of a month: the caller's departments ranked by 综合得分 with trend arrows
/// against the previous month; `format=csv` for the file.
#[utoipa::path(get, path = "/api/v1/indicators/scoreboard", tag = "indicators", params(ScoreboardQuery),
    responses((status = 200, body = ScoreboardOut, description = "JSON, or `text/csv` with `format=csv`"),
        (status = 403, body = ApiErrorBody, description = "not a role that sees indicators"),
        (status = 422, body = ApiErrorBody, description = "`field` is `month` or `format`")))]
async fn scoreboard(
    State(state): State<AppState>,
    who: ApiStaff,
    ApiQuery(query): ApiQuery<ScoreboardQuery>,
) -> Result<Response, AppError> {
    let format = bounded(
        query.format.as_deref(),
        "format",
        WORD_CHARS,
        "format is json or csv",
    )?;
    let csv = match format {
        "" | "json" => false,
        "csv" => true,
        _ => return Err(invalid("format", "format is json or csv")),
    };
    let month = month_param(&state, query.month.as_deref())?;
    let board = state.ratings().scoreboard(&who.principal, &month).await?;
    if !csv {
        return Ok(Json(ScoreboardOut::from(&board)).into_response());
    }
    Ok(csv_download(
        board.to_csv(),
        &format!("scoreboard-{}.csv", board.month),
    ))
}
