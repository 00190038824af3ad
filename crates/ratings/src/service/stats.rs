//! Public disclosure (公开): per department and per region, per month — ratings by level, the
//! satisfaction rate, 差评 and how many were rectified on time — and each 差评 with its
//! rectification, raters masked. Open to everyone (the figures and masked lists are public).
//!
//! 满意率 = (非常满意 + 满意) / all ratings of the month, both without ratings whose appeal was
//! upheld. A 差评 is rectified on time when `rectified_at` ≤ the end (China time) of its
//! rectification day.

use chrono::NaiveDate;
use serde::Serialize;
use yiwang_identity::model::DepartmentId;
use yiwang_kernel::{Page, PageRequest, RegionCode};

use super::Ratings;
use crate::RatingError;
use crate::model::{DisclosedBad, MonthFigures};
use crate::repo;

/// The figures of a region for a month: the total, each region within it and each department.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Disclosure {
    pub month: String,
    pub total: MonthFigures,
    pub regions: Vec<MonthFigures>,
    pub departments: Vec<MonthFigures>,
}

/// Parses `YYYY-MM` (2000-01 … 2099-12); anything else is `rating_bad_range`.
pub fn parse_month(month: &str) -> Result<String, RatingError> {
    let month = month.trim();
    if month.len() != 7 {
        return Err(RatingError::BadRange("month"));
    }
    let day = NaiveDate::parse_from_str(&format!("{month}-01"), "%Y-%m-%d")
        .map_err(|_| RatingError::BadRange("month"))?;
    if !(2000..=2099).contains(&chrono::Datelike::year(&day)) {
        return Err(RatingError::BadRange("month"));
    }
    Ok(month.to_owned())
}

impl Ratings {
    /// The disclosed figures of a region (and everything within it) for a month.
    pub async fn disclosure(
        &self,
        region: &RegionCode,
        month: &str,
    ) -> Result<Disclosure, RatingError> {
        let month = parse_month(month)?;
        let conn = self.db.conn();
        Ok(Disclosure {
            total: repo::region_total(conn, &month, region).await?,
            regions: repo::region_figures(conn, &month, region).await?,
            departments: repo::department_figures(conn, &month, region).await?,
            month,
        })
    }

    /// One department's figures for a month (zeros without ratings).
    pub async fn department_figures(
        &self,
        department: DepartmentId,
        month: &str,
    ) -> Result<MonthFigures, RatingError> {
        let month = parse_month(month)?;
        let conn = self.db.conn();
        repo::department(conn, department)
            .await?
            .ok_or(RatingError::BadRange("department"))?;
        repo::one_department_figures(conn, &month, department).await
    }

    /// The 差评 of a month within a region (optionally one department) with their rectification,
    /// raters masked, newest first.
    pub async fn disclosed_bad(
        &self,
        region: &RegionCode,
        month: &str,
        department: Option<DepartmentId>,
        page: PageRequest,
    ) -> Result<Page<DisclosedBad>, RatingError> {
        let month = parse_month(month)?;
        let (items, total) =
            repo::disclosed_bad(self.db.conn(), &month, region, department, page).await?;
        Ok(Page::new(items, total, page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_are_bounded() {
        assert_eq!(parse_month("2026-02").unwrap(), "2026-02");
        for bad in [
            "2026-13",
            "2026-2",
            "26-02",
            "1999-12",
            "2026-02-01",
            "",
            "二〇二六",
        ] {
            assert!(parse_month(bad).is_err(), "{bad}");
        }
    }
}
