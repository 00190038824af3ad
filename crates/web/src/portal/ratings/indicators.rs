//! The performance indicators (绩效) and the scoreboard for staff: `/staff/indicators` shows
//! every indicator of a month or a date range per department, region or item (each with its
//! formula and unit, "—" when undefined), the month's scoreboard with its trend arrows, and two
//! SVG charts drawn here (`charts.rs`); `/staff/indicators/scoreboard.csv` is the scoreboard's
//! file. Who sees which departments is the service's decision (`Ratings::indicators`).

use askama::Template;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use yiwang_ratings::RatingError;
use yiwang_ratings::indicators::{Dimension, Indicators, Period, Scoreboard, Trend};

use super::charts::{BarChart, Row, Series};
use crate::api::ratings::this_month;
use crate::error::AppError;
use crate::extract::PageStaff;
use crate::i18n::Tr;
use crate::page::PageCtx;
use crate::portal::form::FormErrors;
use crate::portal::render;
use crate::state::AppState;

/// Longest accepted `month` (`YYYY-MM`), `from` / `to` (`YYYY-MM-DD`) and department code.
const MONTH_CHARS: usize = 7;
const DAY_CHARS: usize = 10;
const DEPT_CHARS: usize = 32;

/// How an indicator's value is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unit {
    Count,
    Percent,
    Hours,
    Minutes,
}

impl Unit {
    fn code(self) -> &'static str {
        match self {
            Self::Count => "count",
            Self::Percent => "percent",
            Self::Hours => "hours",
            Self::Minutes => "minutes",
        }
    }
}

const HOUR_SECS: f64 = 3_600.0;

/// How an indicator's value is read from a line of counts.
type Value = fn(&Indicators) -> Option<f64>;

/// Every indicator the page shows, in order: its code (locale keys `rating.page.ind.name.*`
/// and `rating.page.ind.formula.*`), unit and value.
#[expect(
    clippy::cast_precision_loss,
    reason = "counts and seconds of one period are far below 2^52"
)]
const INDICATORS: &[(&str, Unit, Value)] = &[
    ("received", Unit::Count, |i| Some(i.received as f64)),
    ("concluded", Unit::Count, |i| Some(i.concluded as f64)),
    ("on_time", Unit::Percent, Indicators::on_time_rate),
    ("handling", Unit::Hours, |i| {
        (i.timed > 0).then(|| i.handling_secs as f64 / i.timed as f64 / HOUR_SECS)
    }),
    ("allowed", Unit::Hours, |i| {
        (i.timed > 0).then(|| i.allowed_secs as f64 / i.timed as f64 / HOUR_SECS)
    }),
    ("handling_ratio", Unit::Percent, Indicators::handling_ratio),
    ("first_time", Unit::Percent, Indicators::first_time_rate),
    ("online", Unit::Percent, Indicators::online_share),
    ("instant", Unit::Percent, Indicators::instant_share),
    ("ratings", Unit::Count, |i| Some(i.ratings as f64)),
    ("satisfaction", Unit::Percent, Indicators::satisfaction_rate),
    ("bad", Unit::Count, |i| Some(i.bad as f64)),
    ("bad_on_time", Unit::Percent, Indicators::bad_on_time_rate),
    ("no_show", Unit::Percent, Indicators::no_show_rate),
    ("wait_avg", Unit::Minutes, |i| {
        i.wait_avg_secs.map(|s| s / 60.0)
    }),
    ("wait_p90", Unit::Minutes, |i| {
        i.wait_p90_secs.map(|s| s as f64 / 60.0)
    }),
];

/// A value as the page shows it: counts whole, rates in percent with one decimal, times with
/// one decimal; "—" when undefined.
fn shown(unit: Unit, value: Option<f64>) -> String {
    match (unit, value) {
        (_, None) => "—".to_owned(),
        (Unit::Count, Some(v)) => format!("{v:.0}"),
        (Unit::Percent, Some(v)) => format!("{:.1}%", v * 100.0),
        (Unit::Hours | Unit::Minutes, Some(v)) => format!("{v:.1}"),
    }
}

/// A column of the indicator table.
#[derive(Debug)]
pub struct Column {
    pub code: &'static str,
    pub name: &'static str,
    pub unit: &'static str,
    pub formula: &'static str,
}

/// A line of the indicator table.
#[derive(Debug)]
pub struct Line {
    pub key: String,
    pub name: String,
    pub cells: Vec<Cell>,
}

/// A figure with its column's name and unit (shown before it when the table is stacked on a
/// narrow screen).
#[derive(Debug)]
pub struct Cell {
    pub label: String,
    pub value: String,
}

fn line(columns: &[Column], i: &Indicators, name: String) -> Line {
    Line {
        key: i.key.clone(),
        name,
        cells: INDICATORS
            .iter()
            .zip(columns)
            .map(|((_, unit, value), column)| Cell {
                label: format!("{}（{}）", column.name, column.unit),
                value: shown(*unit, value(i)),
            })
            .collect(),
    }
}

/// A line of the scoreboard.
#[derive(Debug)]
pub struct ScoreRow {
    pub rank: usize,
    pub code: String,
    pub name: String,
    pub score: String,
    pub previous: String,
    pub arrow: &'static str,
    pub trend: &'static str,
    pub trend_code: &'static str,
}

fn score(value: Option<f64>) -> String {
    value.map_or_else(|| "—".to_owned(), |v| format!("{v:.1}"))
}

fn trend_code(trend: Trend) -> &'static str {
    match trend {
        Trend::Up => "up",
        Trend::Down => "down",
        Trend::Level => "level",
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct IndicatorQuery {
    month: Option<String>,
    from: Option<String>,
    to: Option<String>,
    by: Option<String>,
    dept: Option<String>,
}

/// What the visitor asked for, kept for the form.
#[derive(Debug, Default)]
pub struct Asked {
    pub month: String,
    pub from: String,
    pub to: String,
    pub by: &'static str,
    pub dept: String,
}

#[derive(Template)]
#[template(path = "ratings/indicators.html")]
pub(super) struct IndicatorsPage {
    page: PageCtx,
    asked: Asked,
    dimensions: Vec<(&'static str, &'static str)>,
    errors: FormErrors,
    /// The period shown (`2026-02` or `2026-01-01 – 2026-03-31`), empty when refused.
    period: String,
    columns: Vec<Column>,
    lines: Vec<Line>,
    total: Option<Line>,
    board: Option<Board>,
    rates_chart: String,
}

/// The scoreboard section.
#[derive(Debug)]
pub struct Board {
    pub month: String,
    pub previous_month: String,
    pub rows: Vec<ScoreRow>,
    pub chart: String,
    pub csv_href: String,
}

fn text(value: Option<&String>) -> String {
    value.map(|v| v.trim().to_owned()).unwrap_or_default()
}

/// The message of a refused period on its field: `month`, `from`, `to`, else `to` for a
/// range that is too long or out of the years the platform knows.
fn period_error(tr: Tr, field: &str) -> FormErrors {
    match field {
        "month" | "from" | "to" => FormErrors::one(
            field,
            tr.t(&format!("rating.page.indicators.bad_{field}"))
                .to_owned(),
        ),
        _ => FormErrors::one("to", tr.t("rating.page.indicators.bad_range").to_owned()),
    }
}

/// The period asked for, or the field to answer on.
fn parse_period(asked: &Asked, this_month: &str) -> Result<Period, &'static str> {
    let bad = |e: RatingError| match e {
        RatingError::BadRange(field) => field,
        _ => "month",
    };
    if !asked.from.is_empty() || !asked.to.is_empty() {
        if asked.from.chars().count() > DAY_CHARS {
            return Err("from");
        }
        if asked.to.chars().count() > DAY_CHARS {
            return Err("to");
        }
        return Period::parse_range(&asked.from, &asked.to).map_err(bad);
    }
    let month = if asked.month.is_empty() {
        this_month
    } else {
        asked.month.as_str()
    };
    if month.chars().count() > MONTH_CHARS {
        return Err("month");
    }
    Period::month(month).map_err(bad)
}

fn dimension_name(tr: Tr, by: Dimension) -> &'static str {
    tr.t(&format!("rating.page.indicators.by.{}", by.code()))
}

pub(super) async fn page(
    State(state): State<AppState>,
    page: PageCtx,
    caller: PageStaff,
    Query(query): Query<IndicatorQuery>,
) -> Result<Response, AppError> {
    let tr = page.tr;
    let by_text = text(query.by.as_ref());
    let by = if by_text.is_empty() {
        Some(Dimension::Department)
    } else {
        Dimension::parse(&by_text)
    };
    let mut asked = Asked {
        month: text(query.month.as_ref()),
        from: text(query.from.as_ref()),
        to: text(query.to.as_ref()),
        by: by.unwrap_or(Dimension::Department).code(),
        dept: text(query.dept.as_ref()),
    };
    let this_month = this_month(&state);
    let dimensions = [Dimension::Department, Dimension::Region, Dimension::Item]
        .into_iter()
        .map(|d| (d.code(), dimension_name(tr, d)))
        .collect();
    let refused = if by.is_none() {
        Some(FormErrors::one(
            "by",
            tr.t("rating.page.indicators.bad_by").to_owned(),
        ))
    } else if asked.dept.chars().count() > DEPT_CHARS {
        Some(FormErrors::one(
            "dept",
            tr.t("rating.page.indicators.bad_dept").to_owned(),
        ))
    } else {
        None
    };
    let period = match refused {
        Some(errors) => Err(errors),
        None => parse_period(&asked, &this_month).map_err(|field| period_error(tr, field)),
    };
    let period = match period {
        Ok(p) => p,
        Err(errors) => {
            // Refused input: the form with the message on its field, and nothing else.
            let mut response = render(&IndicatorsPage {
                page,
                asked,
                dimensions,
                errors,
                period: String::new(),
                columns: Vec::new(),
                lines: Vec::new(),
                total: None,
                board: None,
                rates_chart: String::new(),
            })?;
            *response.status_mut() = StatusCode::UNPROCESSABLE_ENTITY;
            return Ok(response);
        }
    };
    let by = by.unwrap_or(Dimension::Department);
    let month = period.as_month();
    if asked.from.is_empty() && asked.to.is_empty() {
        asked.month = month.clone().unwrap_or_default();
    }
    let dept = (!asked.dept.is_empty()).then_some(asked.dept.as_str());
    let ratings = state.ratings();
    let report = ratings
        .indicators(&caller.principal, by, period, dept)
        .await?;
    let board = match &month {
        Some(m) if dept.is_none() => {
            Some(board(tr, &ratings.scoreboard(&caller.principal, m).await?))
        }
        _ => None,
    };
    let columns: Vec<Column> = INDICATORS
        .iter()
        .map(|&(code, unit, _)| Column {
            code,
            name: tr.t(&format!("rating.page.ind.name.{code}")),
            unit: tr.t(&format!("rating.page.ind.unit.{}", unit.code())),
            formula: tr.t(&format!("rating.page.ind.formula.{code}")),
        })
        .collect();
    let named = |i: &Indicators| {
        if i.name.is_empty() {
            if i.key.is_empty() {
                tr.t("rating.page.indicators.unnamed").to_owned()
            } else {
                i.key.clone()
            }
        } else {
            i.name.clone()
        }
    };
    let rates_chart = if by == Dimension::Department && !report.rows.is_empty() {
        BarChart {
            id: "rates-chart",
            title: tr.t("rating.page.indicators.rates_chart"),
            description: tr.t("rating.page.indicators.rates_chart_desc"),
            series: vec![
                Series {
                    name: tr.t("rating.page.ind.name.on_time").to_owned(),
                    class: "a",
                },
                Series {
                    name: tr.t("rating.page.ind.name.satisfaction").to_owned(),
                    class: "b",
                },
            ],
            rows: report
                .rows
                .iter()
                .map(|i| Row {
                    label: named(i),
                    values: vec![
                        i.on_time_rate().map(|r| r * 100.0),
                        i.satisfaction_rate().map(|r| r * 100.0),
                    ],
                })
                .collect(),
            max: 100.0,
            suffix: "%",
            decimals: 1,
        }
        .render()
    } else {
        String::new()
    };
    let period_text = month.unwrap_or_else(|| format!("{} – {}", period.from, period.to));
    render(&IndicatorsPage {
        lines: report
            .rows
            .iter()
            .map(|i| line(&columns, i, named(i)))
            .collect(),
        total: Some(line(
            &columns,
            &report.total,
            tr.t("rating.page.indicators.total").to_owned(),
        )),
        page,
        asked,
        dimensions,
        errors: FormErrors::default(),
        period: period_text,
        columns,
        board,
        rates_chart,
    })
}

fn board(tr: Tr, scoreboard: &Scoreboard) -> Board {
    let rows: Vec<ScoreRow> = scoreboard
        .lines
        .iter()
        .map(|l| ScoreRow {
            rank: l.rank,
            code: l.indicators.key.clone(),
            name: l.indicators.name.clone(),
            score: score(l.score),
            previous: score(l.previous_score),
            arrow: l.trend.arrow(),
            trend: tr.t(&format!(
                "rating.page.indicators.trend.{}",
                trend_code(l.trend)
            )),
            trend_code: trend_code(l.trend),
        })
        .collect();
    let chart = BarChart {
        id: "score-chart",
        title: &tr.fmt(
            "rating.page.indicators.score_chart",
            &[("month", &scoreboard.month)],
        ),
        description: tr.t("rating.page.indicators.score_chart_desc"),
        series: vec![Series {
            name: tr.t("rating.page.indicators.score").to_owned(),
            class: "a",
        }],
        rows: scoreboard
            .lines
            .iter()
            .map(|l| Row {
                label: l.indicators.name.clone(),
                values: vec![l.score],
            })
            .collect(),
        max: 100.0,
        suffix: "",
        decimals: 1,
    }
    .render();
    Board {
        csv_href: format!(
            "/staff/indicators/scoreboard.csv?month={}",
            scoreboard.month
        ),
        month: scoreboard.month.clone(),
        previous_month: scoreboard.previous_month.clone(),
        rows,
        chart,
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct CsvQuery {
    month: Option<String>,
}

/// The scoreboard of a month as CSV (UTF-8 with a byte-order mark).
pub(super) async fn scoreboard_csv(
    State(state): State<AppState>,
    caller: PageStaff,
    Query(query): Query<CsvQuery>,
) -> Result<Response, AppError> {
    let month = match text(query.month.as_ref()) {
        m if m.is_empty() => this_month(&state),
        m if m.chars().count() > MONTH_CHARS => {
            return Err(RatingError::BadRange("month").into());
        }
        m => m,
    };
    let board = state
        .ratings()
        .scoreboard(&caller.principal, &month)
        .await?;
    Ok(crate::page::csv_download(
        board.to_csv(),
        &format!("scoreboard-{}.csv", board.month),
    ))
}
