//! 督办 / 催办: a supervisor urges the responsible department about a rectification or a case
//! (requests when that module lands) with a note and a reply deadline in working days; the
//! department replies once; each department's urgings are its 问责 record.

use serde_json::json;
use yiwang_cases::model::CaseId;
use yiwang_identity::IdentityError;
use yiwang_identity::model::DepartmentId;
use yiwang_identity::policy::Principal;
use yiwang_kernel::{Page, PageRequest, RegionCode, china_date};

use super::{
    HANDLING_ROLES, MAX_REPLY_DAYS, Ratings, actor, note, record_in, staff_of, supervises,
};
use crate::RatingError;
use crate::model::{RectificationId, SubjectKind, Urging, UrgingId};
use crate::repo::{self, NewUrgingRow};

impl Ratings {
    /// A supervisor over the subject's region urges its department. A subject outside the
    /// supervisor's region answers like a missing one (`event_not_found`).
    #[tracing::instrument(skip_all, err)]
    pub async fn urge(
        &self,
        principal: &Principal,
        subject_kind: SubjectKind,
        subject_id: i64,
        urge_note: &str,
        reply_days: u32,
        source: &str,
    ) -> Result<Urging, RatingError> {
        let staff = staff_of(principal)?;
        if !supervises(staff, &staff.region) {
            return Err(IdentityError::Forbidden.into());
        }
        let text = note("note", urge_note)?;
        if reply_days == 0 || reply_days > MAX_REPLY_DAYS {
            return Err(RatingError::BadReplyDays(MAX_REPLY_DAYS));
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let (department, region_code): (DepartmentId, String) = match subject_kind {
            SubjectKind::Rectification => {
                let task = repo::task(&tx, RectificationId::new(subject_id))
                    .await?
                    .ok_or(RatingError::EventNotFound)?;
                (task.rating.department_id, task.rating.region_code)
            }
            SubjectKind::Case => {
                let case = yiwang_cases::reads::case_facts_in(&tx, CaseId::new(subject_id))
                    .await?
                    .filter(|c| c.case_no.is_some())
                    .ok_or(RatingError::EventNotFound)?;
                (case.department, case.region_code)
            }
            // 诉求 have no module yet.
            SubjectKind::Request => return Err(RatingError::EventNotFound),
        };
        let region = RegionCode::parse(&region_code)
            .map_err(|e| RatingError::Corrupt(format!("subject region: {e}")))?;
        if !supervises(staff, &region) {
            return Err(RatingError::EventNotFound);
        }
        let reply_due_on = self.calendar.add_working_days(china_date(now), reply_days);
        let id = repo::insert_urging(
            &tx,
            &NewUrgingRow {
                subject_kind,
                subject_id,
                department,
                region_code: &region_code,
                note: text,
                reply_due_on,
                urged_by: staff.id,
                now,
            },
        )
        .await?;
        record_in(
            &tx,
            now,
            &actor(principal),
            "urging.urge",
            format!("urging:{id}"),
            source,
            json!({
                "subject": { "kind": subject_kind.code(), "id": subject_id },
                "department": department.get(), "reply_due_on": reply_due_on.to_string(),
            }),
        )
        .await?;
        let stored = repo::urging(&tx, id)
            .await?
            .ok_or(RatingError::UrgingNotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The urged department replies (once): its handlers only; anyone else `urging_not_found`.
    #[tracing::instrument(skip_all, err)]
    pub async fn reply_urging(
        &self,
        principal: &Principal,
        id: UrgingId,
        reply: &str,
        source: &str,
    ) -> Result<Urging, RatingError> {
        let staff = staff_of(principal)?;
        let text = note("reply", reply)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let urging = repo::urging(&tx, id)
            .await?
            .filter(|u| {
                u.department_id == staff.department
                    && HANDLING_ROLES.into_iter().any(|r| staff.has(r))
            })
            .ok_or(RatingError::UrgingNotFound)?;
        if urging.reply.is_some() || !repo::reply_urging(&tx, id, text, staff.id, now).await? {
            return Err(RatingError::UrgingReplied);
        }
        record_in(
            &tx,
            now,
            &actor(principal),
            "urging.reply",
            format!("urging:{id}"),
            source,
            json!({ "on_time": china_date(now) <= urging.reply_due_on }),
        )
        .await?;
        let stored = repo::urging(&tx, id)
            .await?
            .ok_or(RatingError::UrgingNotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// A department's urgings (unanswered first): its own staff, or supervisors over its region.
    pub async fn department_urgings(
        &self,
        principal: &Principal,
        department: DepartmentId,
        page: PageRequest,
    ) -> Result<Page<Urging>, RatingError> {
        let staff = staff_of(principal)?;
        let conn = self.db.conn();
        let dept = repo::department(conn, department)
            .await?
            .ok_or(RatingError::UrgingNotFound)?;
        if staff.department != dept.id && !supervises(staff, &dept.region) {
            return Err(IdentityError::Forbidden.into());
        }
        let (items, total) = repo::urgings_of_department(conn, department, page).await?;
        Ok(Page::new(items, total, page))
    }

    /// The urgings of one subject (its page shows them), for staff who may see the department's.
    pub async fn subject_urgings(
        &self,
        principal: &Principal,
        subject_kind: SubjectKind,
        subject_id: i64,
    ) -> Result<Vec<Urging>, RatingError> {
        let staff = staff_of(principal)?;
        let conn = self.db.conn();
        let urgings = repo::urgings_of_subject(conn, subject_kind, subject_id).await?;
        let Some(first) = urgings.first() else {
            return Ok(urgings);
        };
        let dept = repo::department(conn, first.department_id)
            .await?
            .ok_or(RatingError::UrgingNotFound)?;
        if staff.department != dept.id && !supervises(staff, &dept.region) {
            return Err(IdentityError::Forbidden.into());
        }
        Ok(urgings)
    }
}
