//! Three-level mediation (三级调处) of a dispute: the hotline centre opens it at the community of
//! the request; the mediating department at each level (found by the routing rules for the
//! request's category at exactly that level's region) records an agreement (调解协议) or sends it
//! up; overdue levels are sent up by the sweep. Unresolved at the district, it ends 调解不成.
//! An agreement or the end at the district concludes the request (then 回访 and 评价 follow).

use chrono::{DateTime, Utc};
use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_identity::model::DepartmentId;
use yiwang_identity::policy::Principal;

use super::{
    MAX_NOTE_CHARS, MAX_TEXT_CHARS, Requests, SWEEP_BATCH, actor, dispatches, handles_for,
    record_in, required, staff_of, supervises,
};
use crate::RequestError;
use crate::mediation::{region_at, unresolved};
use crate::model::{
    Agreement, Mediation, MediationId, MediationLevel, MediationOutcome, Request, RequestId, Status,
};
use crate::repo;

impl Requests {
    /// The mediating department of `level` for the request: a routing rule for its category (or
    /// a parent category) at exactly that level's region.
    async fn mediator_in(
        tx: &DatabaseTransaction,
        request: &Request,
        level: MediationLevel,
    ) -> Result<DepartmentId, RequestError> {
        let region =
            region_at(&request.region_code, level).ok_or(RequestError::NoMediator(level))?;
        let mut next = Some(request.category.clone());
        let mut depth = 0;
        while let Some(code) = next.take() {
            depth += 1;
            if depth > 12 {
                break;
            }
            if let Some(department) = repo::route(tx, &code, &region).await? {
                return Ok(department);
            }
            next = repo::category(tx, &code).await?.and_then(|c| c.parent);
        }
        Err(RequestError::NoMediator(level))
    }

    /// Opens a level and moves the request to it; writes the history line, audit and notice.
    #[expect(
        clippy::too_many_arguments,
        reason = "the level with its actor, request and note"
    )]
    async fn open_level_in(
        &self,
        tx: &DatabaseTransaction,
        who: &str,
        request: &Request,
        level: MediationLevel,
        department: DepartmentId,
        note: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<MediationId, RequestError> {
        let due = self.calendar.deadline(now, self.config.mediation.of(level));
        let id = repo::insert_mediation(tx, request.id, level, department, now, due)
            .await?
            .ok_or(RequestError::MediationExists)?;
        if !repo::set_status(tx, request, Status::Handling, Some(department), now).await? {
            return Err(RequestError::Conflict);
        }
        repo::insert_event(
            tx,
            request.id,
            now,
            who,
            &format!("mediate_{}", level.code()),
            request.status,
            Status::Handling,
            note,
        )
        .await?;
        record_in(
            tx,
            now,
            who,
            "request.mediation_open",
            format!("request:{}", request.public_id),
            source,
            json!({ "level": level.code(), "department": department.get(), "due_at": due.to_rfc3339() }),
        )
        .await?;
        Ok(id)
    }

    /// Opens mediation of a received dispute at its community.
    #[tracing::instrument(skip_all, err)]
    pub async fn start_mediation(
        &self,
        principal: &Principal,
        id: RequestId,
        source: &str,
    ) -> Result<Mediation, RequestError> {
        let staff = staff_of(principal)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let request = repo::request(&tx, id)
            .await?
            .ok_or(RequestError::NotFound)?;
        if !dispatches(staff, &request.region_code) {
            return Err(RequestError::NotFound);
        }
        if request.status != Status::Received {
            return Err(RequestError::WrongState {
                status: request.status,
                action: "mediated",
            });
        }
        if !repo::mediations_of(&tx, id).await?.is_empty() {
            return Err(RequestError::MediationExists);
        }
        let level = MediationLevel::Community;
        let department = Self::mediator_in(&tx, &request, level).await?;
        let mid = self
            .open_level_in(
                &tx,
                &actor(principal),
                &request,
                level,
                department,
                "",
                source,
                now,
            )
            .await?;
        let stored = repo::mediation(&tx, mid)
            .await?
            .ok_or(RequestError::MediationNotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Ends an open level without agreement: sends it up one level, or ends it 调解不成 at the
    /// district (concluding the request). Returns the next level, if any.
    async fn escalate_in(
        &self,
        tx: &DatabaseTransaction,
        who: &str,
        mediation: &Mediation,
        note: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Mediation>, RequestError> {
        let (outcome, next) = unresolved(mediation.level);
        let request = repo::request(tx, mediation.request)
            .await?
            .ok_or(RequestError::NotFound)?;
        // Resolved before anything is written, so a missing rule changes nothing.
        let next = match next {
            Some(level) => Some((level, Self::mediator_in(tx, &request, level).await?)),
            None => None,
        };
        if !repo::end_mediation(tx, mediation.id, outcome, note, now).await? {
            return Err(RequestError::MediationEnded);
        }
        if let Some((level, department)) = next {
            let id = self
                .open_level_in(tx, who, &request, level, department, note, source, now)
                .await?;
            Ok(repo::mediation(tx, id).await?)
        } else {
            self.conclude_mediation_in(tx, who, &request, outcome, note, source, now)
                .await?;
            Ok(None)
        }
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the outcome with its actor, request and note"
    )]
    async fn conclude_mediation_in(
        &self,
        tx: &DatabaseTransaction,
        who: &str,
        request: &Request,
        outcome: MediationOutcome,
        note: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<(), RequestError> {
        if !repo::set_status(tx, request, Status::Concluded, None, now).await? {
            return Err(RequestError::Conflict);
        }
        repo::insert_event(
            tx,
            request.id,
            now,
            who,
            &format!("mediation_{}", outcome.code()),
            request.status,
            Status::Concluded,
            note,
        )
        .await?;
        record_in(
            tx,
            now,
            who,
            &format!("request.mediation_{}", outcome.code()),
            format!("request:{}", request.public_id),
            source,
            json!({ "outcome": outcome.code() }),
        )
        .await
    }

    /// Loads an open level for staff of its mediating department (or a supervisor over the
    /// request's region).
    async fn open_level_for(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        id: MediationId,
    ) -> Result<Mediation, RequestError> {
        let staff = staff_of(principal)?;
        let mediation = repo::mediation(tx, id)
            .await?
            .ok_or(RequestError::MediationNotFound)?;
        let request = repo::request(tx, mediation.request)
            .await?
            .ok_or(RequestError::NotFound)?;
        if !handles_for(staff, mediation.department) && !supervises(staff, &request.region_code) {
            return Err(RequestError::MediationNotFound);
        }
        if mediation.ended_at.is_some() {
            return Err(RequestError::MediationEnded);
        }
        Ok(mediation)
    }

    /// The mediating department could not settle the dispute: up one level, with the reason.
    #[tracing::instrument(skip_all, err)]
    pub async fn escalate(
        &self,
        principal: &Principal,
        id: MediationId,
        reason: &str,
        source: &str,
    ) -> Result<Option<Mediation>, RequestError> {
        let reason = required("reason", reason, MAX_NOTE_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let mediation = self.open_level_for(&tx, principal, id).await?;
        let next = self
            .escalate_in(&tx, &actor(principal), &mediation, reason, source, now)
            .await?;
        tx.commit().await?;
        Ok(next)
    }

    /// 调解协议: the parties agreed; the level ends and the request is concluded.
    #[tracing::instrument(skip_all, err)]
    pub async fn record_agreement(
        &self,
        principal: &Principal,
        id: MediationId,
        parties: &str,
        terms: &str,
        source: &str,
    ) -> Result<Agreement, RequestError> {
        let staff = staff_of(principal)?;
        let parties = required("parties", parties, MAX_NOTE_CHARS)?;
        let terms = required("terms", terms, MAX_TEXT_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let mediation = self.open_level_for(&tx, principal, id).await?;
        if !repo::end_mediation(&tx, id, MediationOutcome::Agreed, terms, now).await? {
            return Err(RequestError::MediationEnded);
        }
        repo::insert_agreement(&tx, &mediation, parties, terms, staff.id, now).await?;
        let request = repo::request(&tx, mediation.request)
            .await?
            .ok_or(RequestError::NotFound)?;
        self.conclude_mediation_in(
            &tx,
            &actor(principal),
            &request,
            MediationOutcome::Agreed,
            terms,
            source,
            now,
        )
        .await?;
        let agreement = repo::agreement_of(&tx, mediation.request)
            .await?
            .ok_or_else(|| RequestError::Corrupt("an agreement just written is gone".to_owned()))?;
        tx.commit().await?;
        Ok(agreement)
    }

    /// Every level of a request's mediation, lowest first, with its agreement if any.
    pub async fn mediation_record(
        &self,
        principal: &Principal,
        id: RequestId,
    ) -> Result<(Vec<Mediation>, Option<Agreement>), RequestError> {
        let staff = staff_of(principal)?;
        let tx = self.db.begin().await?;
        let request = repo::request(&tx, id)
            .await?
            .ok_or(RequestError::NotFound)?;
        let levels = repo::mediations_of(&tx, id).await?;
        let involved = levels.iter().any(|m| m.department == staff.department);
        if !involved
            && !dispatches(staff, &request.region_code)
            && !supervises(staff, &request.region_code)
        {
            return Err(RequestError::NotFound);
        }
        let agreement = repo::agreement_of(&tx, id).await?;
        tx.commit().await?;
        Ok((levels, agreement))
    }

    /// The sweep's part: overdue levels go up (or end at the district).
    pub(crate) async fn escalate_overdue_in(
        &self,
        tx: &DatabaseTransaction,
        now: DateTime<Utc>,
    ) -> Result<u32, RequestError> {
        let mut escalated = 0;
        for mediation in repo::overdue_mediations(tx, now, SWEEP_BATCH).await? {
            match self
                .escalate_in(
                    tx,
                    "system",
                    &mediation,
                    "超期自动上报",
                    "system:sweep",
                    now,
                )
                .await
            {
                Ok(_) => escalated += 1,
                // A missing routing rule is configuration to fix; the other levels go on.
                Err(RequestError::NoMediator(level)) => tracing::warn!(
                    target: "yiwang::requests",
                    mediation = mediation.id.get(),
                    level = level.code(),
                    "no mediating department for the next level"
                ),
                Err(e) => return Err(e),
            }
        }
        Ok(escalated)
    }
}
