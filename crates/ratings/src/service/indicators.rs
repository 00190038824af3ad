//! The performance indicators (绩效) and the scoreboard for staff. Who sees what: a platform
//! administrator everything; supervisors and auditors their region and everything within it;
//! a department's window staff, approvers and administrators their own department. Everyone else
//! (citizens, other roles) is refused. Every figure is read by SQL aggregates on one connection.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use yiwang_appointments::reads as appt_reads;
use yiwang_cases::reads as case_reads;
use yiwang_identity::IdentityError;
use yiwang_identity::model::{DepartmentId, Role};
use yiwang_identity::policy::Principal;
use yiwang_kernel::china_local_to_utc;

use super::{HANDLING_ROLES, Ratings, staff_of};
use crate::RatingError;
use crate::indicators::{Dimension, IndicatorReport, Indicators, Period, Scoreboard};
use crate::repo::{self, RatingGroup, region_prefix};

/// What a staff member may see: a region prefix (`LIKE`), optionally one department.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorScope {
    pub region_prefix: String,
    pub department: Option<DepartmentId>,
}

fn start_of(day: NaiveDate) -> chrono::DateTime<chrono::Utc> {
    china_local_to_utc(day.and_time(chrono::NaiveTime::MIN))
}

impl Ratings {
    /// The scope of the caller's figures, narrowed to one department by code when asked (a
    /// department outside the caller's scope is refused like a forbidden action).
    pub async fn indicator_scope(
        &self,
        who: &Principal,
        department: Option<&str>,
    ) -> Result<IndicatorScope, RatingError> {
        let staff = staff_of(who)?;
        let conn = self.db.conn();
        let mut scope = if staff.has(Role::PlatformAdmin) {
            IndicatorScope {
                region_prefix: "%".to_owned(),
                department: None,
            }
        } else if staff.has(Role::Supervisor) || staff.has(Role::Auditor) {
            IndicatorScope {
                region_prefix: region_prefix(&staff.region),
                department: None,
            }
        } else if HANDLING_ROLES.iter().any(|r| staff.has(*r)) {
            IndicatorScope {
                region_prefix: "%".to_owned(),
                department: Some(staff.department),
            }
        } else {
            return Err(IdentityError::Forbidden.into());
        };
        if let Some(code) = department {
            let dept = repo::department_by_code(conn, code)
                .await?
                .ok_or(IdentityError::Forbidden)?;
            let inside = match scope.department {
                Some(own) => own == dept.id,
                None => {
                    scope.region_prefix == "%"
                        || dept
                            .region
                            .as_str()
                            .starts_with(scope.region_prefix.trim_end_matches('%'))
                }
            };
            if !inside {
                return Err(IdentityError::Forbidden.into());
            }
            scope.department = Some(dept.id);
        }
        Ok(scope)
    }

    /// The indicators of the caller's scope over a period, grouped.
    pub async fn indicators(
        &self,
        who: &Principal,
        by: Dimension,
        period: Period,
        department: Option<&str>,
    ) -> Result<IndicatorReport, RatingError> {
        let scope = self.indicator_scope(who, department).await?;
        self.report(&scope, by, period).await
    }

    /// The scoreboard of a month (`YYYY-MM`) over the caller's departments, with the trend
    /// against the previous month.
    pub async fn scoreboard(
        &self,
        who: &Principal,
        month: &str,
    ) -> Result<Scoreboard, RatingError> {
        let scope = self.indicator_scope(who, None).await?;
        let period = Period::month(month)?;
        let previous = period
            .previous_month()
            .ok_or(RatingError::BadRange("month"))?;
        let now = self.report(&scope, Dimension::Department, period).await?;
        let before = self.report(&scope, Dimension::Department, previous).await?;
        Ok(Scoreboard::rank(
            period.as_month().unwrap_or_default(),
            previous.as_month().unwrap_or_default(),
            now.rows,
            &before.rows,
        ))
    }

    async fn report(
        &self,
        scope: &IndicatorScope,
        by: Dimension,
        period: Period,
    ) -> Result<IndicatorReport, RatingError> {
        let conn = self.db.conn();
        let from = start_of(period.from);
        let until = start_of(
            period
                .to
                .checked_add_days(Days::new(1))
                .ok_or(RatingError::BadRange("to"))?,
        );
        let (case_by, appt_by, rating_by) = match by {
            Dimension::Department => (
                case_reads::AggregateBy::Department,
                appt_reads::AggregateBy::Department,
                RatingGroup::Department,
            ),
            Dimension::Region => (
                case_reads::AggregateBy::Region,
                appt_reads::AggregateBy::Region,
                RatingGroup::Region,
            ),
            Dimension::Item => (
                case_reads::AggregateBy::Item,
                appt_reads::AggregateBy::Item,
                RatingGroup::Item,
            ),
        };
        let mut rows: BTreeMap<String, Indicators> = BTreeMap::new();
        if by == Dimension::Department {
            for (code, name) in
                repo::departments_within(conn, &scope.region_prefix, scope.department).await?
            {
                rows.insert(code.clone(), Indicators::named(&code, &name));
            }
        }
        let line = |rows: &mut BTreeMap<String, Indicators>, key: &str, name: &str| {
            let l = rows
                .entry(key.to_owned())
                .or_insert_with(|| Indicators::named(key, name));
            if l.name.is_empty() {
                name.clone_into(&mut l.name);
            }
        };
        let cases = case_reads::case_aggregates_in(
            conn,
            case_by,
            &case_reads::AggregateScope {
                from,
                until,
                region_prefix: scope.region_prefix.clone(),
                department: scope.department,
            },
        )
        .await?;
        for c in cases {
            line(&mut rows, &c.key, &c.name);
            if let Some(l) = rows.get_mut(&c.key) {
                l.received = c.received;
                l.online = c.online;
                l.instant = c.instant;
                l.concluded = c.concluded;
                l.on_time = c.on_time;
                l.first_time = c.first_time;
                l.timed = c.timed;
                l.handling_secs = c.handling_secs;
                l.allowed_secs = c.allowed_secs;
            }
        }
        for r in repo::rating_aggregates(
            conn,
            rating_by,
            from,
            until,
            &scope.region_prefix,
            scope.department,
        )
        .await?
        {
            line(&mut rows, &r.key, &r.name);
            if let Some(l) = rows.get_mut(&r.key) {
                l.ratings = r.total;
                l.satisfied = r.satisfied;
                l.bad = r.bad;
                l.bad_on_time = r.bad_on_time;
            }
        }
        let days = appt_reads::DayScope {
            from: period.from,
            to: period.to,
            region_prefix: scope.region_prefix.clone(),
            department: scope.department,
        };
        for b in appt_reads::booking_aggregates_in(conn, appt_by, &days).await? {
            // Bookings without an item have nothing to say per item.
            if by == Dimension::Item && b.key.is_empty() {
                continue;
            }
            line(&mut rows, &b.key, &b.name);
            if let Some(l) = rows.get_mut(&b.key) {
                l.bookings_due = b.due;
                l.no_shows = b.no_show;
            }
        }
        let mut all_waits = Vec::new();
        for w in appt_reads::ticket_waits_in(conn, appt_by, &days).await? {
            line(&mut rows, &w.key, &w.name);
            if let Some(l) = rows.get_mut(&w.key) {
                l.set_waits(&w.waits);
            }
            all_waits.extend(w.waits);
        }
        all_waits.sort_unstable();
        let mut total = Indicators::named("", "");
        for l in rows.values() {
            total.add_counts(l);
        }
        total.set_waits(&all_waits);
        Ok(IndicatorReport {
            period,
            dimension: by,
            rows: rows.into_values().collect(),
            total,
        })
    }
}
