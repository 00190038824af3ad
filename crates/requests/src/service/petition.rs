//! Petitions (信访): the petition office (staff of the routed department) decides on acceptance,
//! replies in writing, decides reviews; a supervisor approves the one extension; the petitioner
//! asks for 复查 and 复核. Every step is a written document and moves the deadlines
//! ([`crate::petition`]); the request record follows (accepted → 办理中, not accepted or replied
//! → 已办结).

use chrono::{DateTime, Utc};
use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_identity::IdentityError;
use yiwang_identity::policy::Principal;

use super::{
    MAX_TEXT_CHARS, Requests, SWEEP_BATCH, actor, handles_for, record_in, required, supervises,
};
use crate::RequestError;
use crate::model::{Letter, LetterKind, Petition, RequestId, Status};
use crate::petition::{self, PetitionAction, PetitionFacts};
use crate::repo;

fn letter_of(action: PetitionAction) -> LetterKind {
    match action {
        PetitionAction::Accept => LetterKind::Acceptance,
        PetitionAction::Decline => LetterKind::NonAcceptance,
        PetitionAction::Extend => LetterKind::Extension,
        PetitionAction::Reply => LetterKind::Reply,
        PetitionAction::AskReview => LetterKind::ReviewRequest,
        PetitionAction::DecideReview => LetterKind::ReviewDecision,
        PetitionAction::AskReReview => LetterKind::ReReviewRequest,
        PetitionAction::DecideReReview => LetterKind::ReReviewDecision,
    }
}

impl Requests {
    /// One petition step with its written document (required).
    #[tracing::instrument(skip_all, err)]
    pub async fn petition_step(
        &self,
        principal: &Principal,
        id: RequestId,
        action: PetitionAction,
        document: &str,
        source: &str,
    ) -> Result<Petition, RequestError> {
        let document = required("document", document, MAX_TEXT_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let request = repo::request(&tx, id)
            .await?
            .ok_or(RequestError::NotFound)?;
        let current = repo::petition(&tx, id)
            .await?
            .ok_or(RequestError::PetitionNotFound)?;
        let allowed = match principal {
            Principal::Person(p) => action.by_petitioner() && request.person == Some(*p),
            Principal::Staff(s) if action == PetitionAction::Extend => {
                supervises(s, &request.region_code)
            }
            Principal::Staff(s) => !action.by_petitioner() && handles_for(s, current.department),
            _ => false,
        };
        if !allowed {
            let sees = match principal {
                Principal::Person(p) => request.person == Some(*p),
                Principal::Staff(s) => {
                    handles_for(s, current.department) || supervises(s, &request.region_code)
                }
                _ => false,
            };
            return Err(if sees {
                IdentityError::Forbidden.into()
            } else {
                RequestError::PetitionNotFound
            });
        }
        let facts = PetitionFacts {
            stage: current.stage,
            decide_due_at: current.decide_due_at,
            conclude_due_at: current.conclude_due_at,
            extended: current.extended,
            request_until: current.request_until,
            review_due_at: current.review_due_at,
        };
        let next = petition::decide(facts, action, now, &self.calendar, &self.config.petition)?;
        if !repo::update_petition(&tx, &current, &next, now).await? {
            return Err(RequestError::Conflict);
        }
        let who = actor(principal);
        repo::insert_letter(&tx, id, letter_of(action), document, &who, now).await?;
        let status = match action {
            PetitionAction::Accept => Some(Status::Handling),
            PetitionAction::Decline | PetitionAction::Reply => Some(Status::Concluded),
            _ => None,
        };
        let to = status.unwrap_or(request.status);
        if let Some(status) = status
            && !repo::set_status(&tx, &request, status, Some(current.department), now).await?
        {
            return Err(RequestError::Conflict);
        }
        repo::insert_event(
            &tx,
            id,
            now,
            &who,
            action.code(),
            request.status,
            to,
            document,
        )
        .await?;
        record_in(
            &tx,
            now,
            &who,
            &format!("request.{}", action.code()),
            format!("request:{}", request.public_id),
            source,
            json!({
                "from": current.stage.code(), "to": next.stage.code(),
                "conclude_due_at": next.conclude_due_at.map(|d| d.to_rfc3339()),
                "review_due_at": next.review_due_at.map(|d| d.to_rfc3339()),
            }),
        )
        .await?;
        let stored = repo::petition(&tx, id)
            .await?
            .ok_or(RequestError::PetitionNotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The sweep's part: petitions past their current stage's deadline are marked once per
    /// stage, with a history line, an audit entry and a notice (电子监察).
    pub(crate) async fn mark_overdue_petitions_in(
        &self,
        tx: &DatabaseTransaction,
        now: DateTime<Utc>,
    ) -> Result<u32, RequestError> {
        let mut marked = 0;
        for petition in repo::overdue_petitions(tx, now, SWEEP_BATCH).await? {
            if !repo::mark_petition_overdue(tx, &petition).await? {
                continue;
            }
            let Some(request) = repo::request(tx, petition.request).await? else {
                continue;
            };
            repo::insert_event(
                tx,
                request.id,
                now,
                "system",
                "petition_overdue",
                request.status,
                request.status,
                petition.stage.zh(),
            )
            .await?;
            record_in(
                tx,
                now,
                "system",
                "request.petition_overdue",
                format!("request:{}", request.public_id),
                "system:sweep",
                json!({ "stage": petition.stage.code(), "department": petition.department.get() }),
            )
            .await?;
            marked += 1;
        }
        Ok(marked)
    }

    /// A petition with its documents, for the petitioner, the office or a supervisor.
    pub async fn petition(
        &self,
        principal: &Principal,
        id: RequestId,
    ) -> Result<(Petition, Vec<Letter>), RequestError> {
        let tx = self.db.begin().await?;
        let request = repo::request(&tx, id)
            .await?
            .ok_or(RequestError::NotFound)?;
        let current = repo::petition(&tx, id)
            .await?
            .ok_or(RequestError::PetitionNotFound)?;
        let sees = match principal {
            Principal::Person(p) => request.person == Some(*p),
            Principal::Staff(s) => {
                handles_for(s, current.department) || supervises(s, &request.region_code)
            }
            _ => false,
        };
        if !sees {
            return Err(RequestError::PetitionNotFound);
        }
        let letters = repo::letters(&tx, id).await?;
        tx.commit().await?;
        Ok((current, letters))
    }
}
