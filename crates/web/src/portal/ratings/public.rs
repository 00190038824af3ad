//! The public disclosure (好差评公开): per month and region, ratings by level, the satisfaction
//! rate, 差评 and those rectified on time, per region and department, and the 差评 with their
//! rectification (raters masked).

use askama::Template;
use axum::extract::{Query, State};
use axum::response::Response;
use serde::Deserialize;
use yiwang_ratings::model::{Level, MonthFigures};

use super::{level_name, page_request, status_name, tag_labels};
use crate::api::ratings::{month_param, region_or_platform};
use crate::error::AppError;
use crate::page::PageCtx;
use crate::portal::catalog::{PageLink, pager};
use crate::portal::render;
use crate::state::AppState;

/// A line of figures.
#[derive(Debug)]
pub struct FigureRow {
    pub name: String,
    pub by_level: Vec<u64>,
    pub total: u64,
    pub rate: String,
    pub bad: u64,
    pub on_time: u64,
}

fn figure_row(f: &MonthFigures) -> FigureRow {
    FigureRow {
        name: f.name.clone(),
        by_level: f.by_level.to_vec(),
        total: f.total,
        rate: f
            .satisfaction_rate
            .map_or_else(|| "—".to_owned(), |r| format!("{:.1}%", r * 100.0)),
        bad: f.bad,
        on_time: f.rectified_on_time,
    }
}

/// A disclosed 差评.
#[derive(Debug)]
pub struct BadRow {
    pub rated_at: String,
    pub department: String,
    pub event: String,
    pub level: &'static str,
    pub tags: String,
    pub text: String,
    pub rater: String,
    pub status: &'static str,
    pub due: String,
    pub rectify_note: String,
    pub on_time: bool,
    pub rectified: bool,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub(super) struct DisclosureQuery {
    region: Option<String>,
    month: Option<String>,
    page: Option<u32>,
}

#[derive(Template)]
#[template(path = "ratings/disclosure.html")]
pub(super) struct DisclosurePage {
    page: PageCtx,
    month: String,
    region: String,
    levels: Vec<&'static str>,
    total: FigureRow,
    regions: Vec<FigureRow>,
    departments: Vec<FigureRow>,
    bad: Vec<BadRow>,
    bad_total: u64,
    pager: Vec<PageLink>,
}

pub(super) async fn disclosure(
    State(state): State<AppState>,
    page: PageCtx,
    Query(query): Query<DisclosureQuery>,
) -> Result<Response, AppError> {
    let region = region_or_platform(&state, query.region.as_deref())?;
    let month = month_param(&state, query.month.as_deref())?;
    let ratings = state.ratings();
    let figures = ratings.disclosure(&region, &month).await?;
    let bad = ratings
        .disclosed_bad(&region, &month, None, page_request(query.page)?)
        .await?;
    let tr = page.tr;
    let params = vec![
        ("region", region.as_str().to_owned()),
        ("month", month.clone()),
    ];
    render(&DisclosurePage {
        levels: (1..=5_u8)
            .filter_map(Level::new)
            .map(|l| level_name(tr, l))
            .collect(),
        total: figure_row(&figures.total),
        regions: figures.regions.iter().map(figure_row).collect(),
        departments: figures.departments.iter().map(figure_row).collect(),
        bad: bad
            .items
            .iter()
            .map(|b| BadRow {
                rated_at: page.local_time(&b.rated_at),
                department: b.department_name.clone(),
                event: b.event_label.clone(),
                level: level_name(tr, b.level),
                tags: tag_labels(tr, &b.tags),
                text: b.text.clone(),
                rater: b.rater_name.clone(),
                status: status_name(tr, b.status),
                due: b.rectify_due_on.to_string(),
                rectify_note: b.rectify_note.clone(),
                on_time: b.on_time,
                rectified: b.rectified_at.is_some(),
            })
            .collect(),
        bad_total: bad.total,
        pager: pager("/ratings", &params, &bad),
        month,
        region: region.as_str().to_owned(),
        page,
    })
}
