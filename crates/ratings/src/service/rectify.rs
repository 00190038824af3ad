//! 差评 rectification: the department verifies and contacts the rater, rectifies, records the
//! 回访 and closes; it may appeal (申诉) once, and a supervisor — never the one who filed it —
//! upholds (the rating leaves the figures) or rejects it. The overdue sweep raises the 电子监察
//! warning once per task. Raters' identities are shown in full only to staff handling the task.

use chrono::{DateTime, Utc};
use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_identity::IdentityError;
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_kernel::{Page, PageRequest, RegionCode};

use super::{HANDLING_ROLES, Ratings, actor, note, record_in, staff_of, supervises};
use crate::RatingError;
use crate::machine::{self, Action, Facts, Relation};
use crate::model::{
    Appeal, AppealGround, FollowUpResult, HandlerView, RectStatus, Rectification, RectificationId,
};
use crate::repo::{self, TaskScope};

/// Staff of the task's department with a handling role.
fn handles(staff: &StaffPrincipal, task: &Rectification) -> bool {
    staff.department == task.rating.department_id
        && HANDLING_ROLES.into_iter().any(|r| staff.has(r))
}

fn region_of(task: &Rectification) -> Result<RegionCode, RatingError> {
    RegionCode::parse(&task.rating.region_code)
        .map_err(|e| RatingError::Corrupt(format!("rating region: {e}")))
}

impl Ratings {
    /// Loads a task for a staff member who may see it: its department's handlers, supervisors over
    /// its region. Anyone else gets `rectification_not_found`, as for a missing task.
    async fn visible_task(
        &self,
        tx: &DatabaseTransaction,
        staff: &StaffPrincipal,
        id: RectificationId,
    ) -> Result<Rectification, RatingError> {
        let task = repo::task(tx, id)
            .await?
            .ok_or(RatingError::RectificationNotFound)?;
        if handles(staff, &task) || supervises(staff, &region_of(&task)?) {
            Ok(task)
        } else {
            Err(RatingError::RectificationNotFound)
        }
    }

    /// Runs one action of the machine on a task and writes its effects, history line, audit entry
    /// and outbox rows.
    #[expect(
        clippy::too_many_arguments,
        reason = "the action with its actor, task and note"
    )]
    async fn act_in(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        staff: &StaffPrincipal,
        task: &Rectification,
        action: Action,
        filed_appeal: bool,
        text: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<machine::Effects, RatingError> {
        let relation = Relation {
            handles: handles(staff, task),
            supervises: supervises(staff, &region_of(task)?),
            filed_appeal,
        };
        let effects = machine::decide(
            Facts {
                status: task.status,
                appeal: task.appeal,
                followed_up: task.follow_up_result.is_some(),
            },
            action,
            relation,
        )?;
        if !repo::apply(tx, task, &effects, text, Some(staff.id), now).await? {
            return Err(RatingError::Conflict);
        }
        let who = actor(principal);
        repo::insert_task_event(
            tx,
            task.id,
            now,
            &who,
            action.code(),
            effects.from,
            effects.to,
            text,
        )
        .await?;
        record_in(
            tx,
            now,
            &who,
            &format!("rectification.{}", action.code()),
            format!("rectification:{}", task.id),
            source,
            json!({
                "rating": task.rating.public_id, "from": effects.from.code(),
                "to": effects.to.code(), "appeal": effects.appeal.code(),
                "follow_up": effects.follow_up.map(FollowUpResult::code),
            }),
        )
        .await?;
        if effects.exclude_rating {
            repo::exclude_rating(tx, task.rating.id).await?;
        }
        Ok(effects)
    }

    /// One department action (核实, 整改, 回访, 办结) with its note; returns the task as stored.
    async fn department_action(
        &self,
        principal: &Principal,
        id: RectificationId,
        action: Action,
        text: &str,
        source: &str,
    ) -> Result<Rectification, RatingError> {
        let staff = staff_of(principal)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let task = self.visible_task(&tx, staff, id).await?;
        let effects = self
            .act_in(
                &tx, principal, staff, &task, action, false, text, source, now,
            )
            .await?;
        let message = match effects.to {
            RectStatus::Rectified => Some(format!(
                "【一网通办】您对“{}”的评价已整改：{}",
                task.rating.event_label, text
            )),
            RectStatus::Closed => Some(format!(
                "【一网通办】您对“{}”的评价已办结，感谢您的监督。",
                task.rating.event_label
            )),
            _ => None,
        };
        if let Some(message) = message {
            self.tell_rater(&tx, task.rating.person, "差评整改进展", &message, now)
                .await?;
        }
        let stored = repo::task(&tx, id)
            .await?
            .ok_or(RatingError::RectificationNotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// 核实: the rating is verified and the rater contacted (note required).
    pub async fn verify(
        &self,
        principal: &Principal,
        id: RectificationId,
        contact_note: &str,
        source: &str,
    ) -> Result<Rectification, RatingError> {
        let text = note("contact_note", contact_note)?;
        self.department_action(principal, id, Action::Verify, text, source)
            .await
    }

    /// 整改: what was done (note required).
    pub async fn rectify(
        &self,
        principal: &Principal,
        id: RectificationId,
        rectify_note: &str,
        source: &str,
    ) -> Result<Rectification, RatingError> {
        let text = note("rectify_note", rectify_note)?;
        self.department_action(principal, id, Action::Rectify, text, source)
            .await
    }

    /// 回访: the rater was asked again; their answer is recorded (note required).
    pub async fn follow_up(
        &self,
        principal: &Principal,
        id: RectificationId,
        result: FollowUpResult,
        follow_up_note: &str,
        source: &str,
    ) -> Result<Rectification, RatingError> {
        let text = note("follow_up_note", follow_up_note)?;
        self.department_action(principal, id, Action::FollowUp(result), text, source)
            .await
    }

    /// 办结: only once the 回访 result is recorded.
    pub async fn close(
        &self,
        principal: &Principal,
        id: RectificationId,
        source: &str,
    ) -> Result<Rectification, RatingError> {
        self.department_action(principal, id, Action::Close, "", source)
            .await
    }

    /// 申诉: the department says the 差评 is malicious or unrelated, with its reason (once).
    #[tracing::instrument(skip_all, err)]
    pub async fn appeal(
        &self,
        principal: &Principal,
        id: RectificationId,
        ground: AppealGround,
        reason: &str,
        source: &str,
    ) -> Result<Appeal, RatingError> {
        let staff = staff_of(principal)?;
        let reason = note("reason", reason)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let task = self.visible_task(&tx, staff, id).await?;
        self.act_in(
            &tx,
            principal,
            staff,
            &task,
            Action::Appeal,
            false,
            reason,
            source,
            now,
        )
        .await?;
        repo::insert_appeal(&tx, &task, ground, reason, staff.id, now).await?;
        let appeal = repo::appeal_of(&tx, id)
            .await?
            .ok_or_else(|| RatingError::Corrupt("an appeal just written is gone".to_owned()))?;
        tx.commit().await?;
        Ok(appeal)
    }

    /// A supervisor over the department's region (or a platform administrator) decides the
    /// pending appeal; whoever filed it cannot. Upheld: the task ends and the rating leaves every
    /// figure. Rejected: nothing else changes.
    #[tracing::instrument(skip_all, err)]
    pub async fn decide_appeal(
        &self,
        principal: &Principal,
        id: RectificationId,
        uphold: bool,
        decision_note: &str,
        source: &str,
    ) -> Result<Appeal, RatingError> {
        let staff = staff_of(principal)?;
        let text = note("decision_note", decision_note)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let task = self.visible_task(&tx, staff, id).await?;
        let appeal = repo::appeal_of(&tx, id).await?;
        let filed_by_me = appeal.as_ref().is_some_and(|a| a.filed_by == staff.id);
        let effects = self
            .act_in(
                &tx,
                principal,
                staff,
                &task,
                Action::DecideAppeal { uphold },
                filed_by_me,
                text,
                source,
                now,
            )
            .await?;
        let appeal = appeal.ok_or(RatingError::AppealNotPending)?;
        if !repo::decide_appeal(&tx, appeal.id, effects.appeal, staff.id, text, now).await? {
            return Err(RatingError::Conflict);
        }
        let stored = repo::appeal_of(&tx, id)
            .await?
            .ok_or(RatingError::AppealNotPending)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// One task for staff: handlers of its department see the rater's name and mobile in full
    /// (to contact them); supervisors see them masked. Anyone else: not found.
    pub async fn rectification(
        &self,
        principal: &Principal,
        id: RectificationId,
    ) -> Result<HandlerView, RatingError> {
        let staff = staff_of(principal)?;
        let tx = self.db.begin().await?;
        let task = self.visible_task(&tx, staff, id).await?;
        let (rater_name, rater_mobile) = if handles(staff, &task) {
            let person = yiwang_identity::reads::person_in(&tx, task.rating.person)
                .await?
                .ok_or_else(|| RatingError::Corrupt("the rater is gone".to_owned()))?;
            let mobile =
                yiwang_identity::reads::person_mobile_in(&tx, &self.pii, task.rating.person)
                    .await?
                    .map_or_else(String::new, |m| m.as_str().to_owned());
            (person.name, mobile)
        } else {
            (
                task.rating.rater_name.clone(),
                task.rating.rater_mobile.clone(),
            )
        };
        let history = repo::task_events(&tx, id).await?;
        let appeal = repo::appeal_of(&tx, id).await?;
        tx.commit().await?;
        Ok(HandlerView {
            task,
            rater_name,
            rater_mobile,
            history,
            appeal,
        })
    }

    /// The staff member's department's rectification inbox (open tasks first by deadline, or all).
    pub async fn department_tasks(
        &self,
        principal: &Principal,
        open_only: bool,
        page: PageRequest,
    ) -> Result<Page<Rectification>, RatingError> {
        let staff = staff_of(principal)?;
        if !HANDLING_ROLES.into_iter().any(|r| staff.has(r)) {
            return Err(IdentityError::Forbidden.into());
        }
        let (items, total) = repo::tasks(
            self.db.conn(),
            TaskScope::Department(staff.department),
            open_only,
            page,
        )
        .await?;
        Ok(Page::new(items, total, page))
    }

    /// Every task within the supervisor's region.
    pub async fn region_tasks(
        &self,
        principal: &Principal,
        open_only: bool,
        page: PageRequest,
    ) -> Result<Page<Rectification>, RatingError> {
        let staff = staff_of(principal)?;
        if !supervises(staff, &staff.region) {
            return Err(IdentityError::Forbidden.into());
        }
        let (items, total) = repo::tasks(
            self.db.conn(),
            TaskScope::Region(&staff.region),
            open_only,
            page,
        )
        .await?;
        Ok(Page::new(items, total, page))
    }

    /// Pending appeals within the supervisor's region, oldest first.
    pub async fn pending_appeals(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Vec<(Appeal, Rectification)>, RatingError> {
        let staff = staff_of(principal)?;
        if !supervises(staff, &staff.region) {
            return Err(IdentityError::Forbidden.into());
        }
        repo::pending_appeals(self.db.conn(), &staff.region, page).await
    }

    /// 电子监察: open tasks within the supervisor's region past a deadline now, oldest deadline
    /// first (at most [`OVERDUE_BATCH`](super::OVERDUE_BATCH)).
    pub async fn overdue(&self, principal: &Principal) -> Result<Vec<Rectification>, RatingError> {
        let staff = staff_of(principal)?;
        if !supervises(staff, &staff.region) {
            return Err(IdentityError::Forbidden.into());
        }
        repo::overdue_tasks(
            self.db.conn(),
            &staff.region,
            self.clock.now(),
            super::OVERDUE_BATCH,
        )
        .await
    }

    /// The overdue sweep (every node, every minute, like the cases' deadline sweep): each task that
    /// passed a deadline gets its warning once (`overdue_at`, conditional), with an audit entry and
    /// a [`NOTIFY_JOB`](super::NOTIFY_JOB) outbox row. Returns how many were warned.
    #[tracing::instrument(skip_all, err)]
    pub async fn sweep_overdue(&self) -> Result<usize, RatingError> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let due = repo::unwarned_overdue(&tx, now, super::OVERDUE_BATCH).await?;
        let mut warned = 0;
        for task in &due {
            if !repo::mark_overdue(&tx, task.id, now).await? {
                continue;
            }
            record_in(
                &tx,
                now,
                "system",
                "rectification.overdue",
                format!("rectification:{}", task.id),
                "worker",
                json!({
                    "department": task.rating.department_id.get(),
                    "status": task.status.code(),
                    "contact_due_on": task.contact_due_on.to_string(),
                    "rectify_due_on": task.rectify_due_on.to_string(),
                }),
            )
            .await?;
            warned += 1;
        }
        tx.commit().await?;
        Ok(warned)
    }
}
