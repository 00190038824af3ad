//! The closed loop: the hotline centre dispatches (派单, with 协办 departments), reassigns (改派),
//! concludes (办结, or 直接办结 on the call), visits (回访) and merges duplicates; the lead
//! department signs for (签收), returns (退单, with a reason, within its limit), replies (答复) and
//! asks for extensions (延期) that a supervisor approves; 协办 departments give opinions; the
//! submitter rates (评价). The sweep marks near-due and overdue requests once each.
//!
//! Departments only ever receive a [`DepartmentView`], which has no field for the submitter.

use chrono::{DateTime, Utc};
use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_identity::IdentityError;
use yiwang_identity::model::DepartmentId;
use yiwang_identity::pii::PiiField;
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_kernel::TimeLimit;

use super::{
    MAX_NOTE_CHARS, MAX_TEXT_CHARS, Requests, SWEEP_BATCH, actor, dispatches, handles_for,
    record_in, required, supervises,
};
use crate::RequestError;
use crate::machine::{self, Action, Context, Effects, Facts, Relation};
use crate::model::{
    AssignmentRole, Channel, DepartmentEvent, DepartmentView, DispatcherView, Request, RequestId,
    Status, VisitResult,
};
use crate::repo::{self, SweepMark};
use crate::similar::jaccard;

/// A possible duplicate and its similarity to the request.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Duplicate {
    pub id: RequestId,
    pub similarity: f64,
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub near_due: u32,
    pub overdue: u32,
    /// Mediation levels sent up (or ended at the district) for being overdue.
    pub escalated: u32,
    /// Petitions past the deadline of their current stage (marked once per stage).
    pub petitions_overdue: u32,
}

/// What happens to the lead (主办) department.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
enum LeadChange {
    #[default]
    Keep,
    /// Dispatched or reassigned to this department.
    To(DepartmentId),
    /// Returned (退单): no lead until reassigned.
    Clear,
}

/// What an action changes besides the machine's effects.
#[derive(Debug, Clone, Copy, Default)]
struct Extra<'a> {
    lead: LeadChange,
    assists: &'a [DepartmentId],
    reply: Option<&'a str>,
    merged_into: Option<RequestId>,
    /// Why open assignments end (退单, 改派, merged).
    end_assignments: Option<&'a str>,
}

fn relation(principal: &Principal, request: &Request) -> Relation {
    match principal {
        Principal::Staff(s) => Relation {
            dispatches: dispatches(s, &request.region_code),
            leads: request.lead_department.is_some_and(|d| handles_for(s, d)),
            supervises: supervises(s, &request.region_code),
            submitted: false,
        },
        Principal::Person(p) => Relation {
            submitted: request.person == Some(*p),
            ..Relation::default()
        },
        _ => Relation::default(),
    }
}

impl Requests {
    fn context(&self, request: &Request, now: DateTime<Utc>) -> Context<'_> {
        Context {
            now,
            calendar: &self.calendar,
            limit: self.config.limits.of(request.urgency),
            return_window: self.config.return_window,
        }
    }

    /// Loads a request the principal may act on or see; anyone else gets `request_not_found`.
    async fn visible(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        id: RequestId,
    ) -> Result<Request, RequestError> {
        let request = repo::request(tx, id).await?.ok_or(RequestError::NotFound)?;
        let seen = match principal {
            Principal::Staff(s) => {
                dispatches(s, &request.region_code)
                    || supervises(s, &request.region_code)
                    || repo::is_assigned(tx, id, s.department).await?
                    || request.lead_department == Some(s.department)
            }
            Principal::Person(p) => request.person == Some(*p),
            Principal::System => true,
            Principal::Anonymous => false,
        };
        if seen {
            Ok(request)
        } else {
            Err(RequestError::NotFound)
        }
    }

    /// Runs one action of the machine and writes its effects, history line, audit entry and
    /// outbox row.
    #[expect(
        clippy::too_many_arguments,
        reason = "the action with its actor, request, extras and note"
    )]
    async fn act_in(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        request: &Request,
        action: Action,
        extra: Extra<'_>,
        note: &str,
        source: &str,
        now: DateTime<Utc>,
    ) -> Result<Effects, RequestError> {
        if request.channel == Channel::Petition {
            // Petitions follow their own statutory steps (`petition_step`), not the 12345 loop.
            return Err(RequestError::WrongState {
                status: request.status,
                action: "handled outside the petition steps",
            });
        }
        let effects = machine::decide(
            Facts {
                status: request.status,
                kind: request.kind,
                due_at: request.due_at,
                return_until: request.return_until,
                extension: request.extension,
            },
            action,
            relation(principal, request),
            &self.context(request, now),
        )?;
        let lead = match extra.lead {
            LeadChange::Keep => request.lead_department,
            LeadChange::To(department) => Some(department),
            LeadChange::Clear => None,
        };
        if !repo::apply(
            tx,
            request,
            &effects,
            lead,
            extra.reply,
            extra.merged_into,
            now,
        )
        .await?
        {
            return Err(RequestError::Conflict);
        }
        if let Some(reason) = extra.end_assignments {
            repo::end_assignments(tx, request.id, reason, now).await?;
        }
        if let LeadChange::To(lead) = extra.lead {
            repo::insert_assignment(tx, request.id, lead, AssignmentRole::Lead, now).await?;
        }
        for assist in extra.assists {
            repo::insert_assignment(tx, request.id, *assist, AssignmentRole::Assist, now).await?;
        }
        let who = actor(principal);
        repo::insert_event(
            tx,
            request.id,
            now,
            &who,
            action.code(),
            effects.from,
            effects.to,
            note,
        )
        .await?;
        record_in(
            tx,
            now,
            &who,
            &format!("request.{}", action.code()),
            format!("request:{}", request.public_id),
            source,
            json!({
                "from": effects.from.code(), "to": effects.to.code(),
                "lead": lead.map(DepartmentId::get),
                "due_at": effects.due_at.map(|d| d.to_rfc3339()),
                "merged_into": extra.merged_into.map(RequestId::get),
            }),
        )
        .await?;
        Ok(effects)
    }

    /// One action in its own transaction; returns the request as stored.
    async fn act(
        &self,
        principal: &Principal,
        id: RequestId,
        action: Action,
        extra: Extra<'_>,
        note: &str,
        source: &str,
    ) -> Result<Request, RequestError> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let request = self.visible(&tx, principal, id).await?;
        self.act_in(&tx, principal, &request, action, extra, note, source, now)
            .await?;
        let stored = repo::request(&tx, id)
            .await?
            .ok_or(RequestError::NotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Checks the departments of an assignment exist and differ.
    async fn check_departments(
        tx: &DatabaseTransaction,
        lead: DepartmentId,
        assists: &[DepartmentId],
    ) -> Result<(), RequestError> {
        let all: Vec<DepartmentId> = std::iter::once(lead)
            .chain(assists.iter().copied())
            .collect();
        for (i, d) in all.iter().enumerate() {
            if all[..i].contains(d) {
                return Err(RequestError::SameDepartment);
            }
            if !repo::department_exists(tx, *d).await? {
                return Err(RequestError::UnknownDepartment);
            }
        }
        Ok(())
    }

    /// 派单: to the given lead department, or the one the routing rules name, with 协办
    /// departments. The handling limit of the urgency starts now.
    #[tracing::instrument(skip_all, err)]
    pub async fn dispatch(
        &self,
        principal: &Principal,
        id: RequestId,
        lead: Option<DepartmentId>,
        assists: &[DepartmentId],
        note: &str,
        source: &str,
    ) -> Result<Request, RequestError> {
        super::bounded("note", note, MAX_NOTE_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let request = self.visible(&tx, principal, id).await?;
        let lead = match lead {
            Some(lead) => lead,
            None => super::catalog::route_in(&tx, &request.category, &request.region_code)
                .await?
                .ok_or_else(|| RequestError::NoRoute {
                    category: request.category.clone(),
                    region: request.region_code.clone(),
                })?,
        };
        Self::check_departments(&tx, lead, assists).await?;
        let extra = Extra {
            lead: LeadChange::To(lead),
            assists,
            ..Extra::default()
        };
        self.act_in(
            &tx,
            principal,
            &request,
            Action::Dispatch,
            extra,
            note.trim(),
            source,
            now,
        )
        .await?;
        let stored = repo::request(&tx, id)
            .await?
            .ok_or(RequestError::NotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// 改派: to another lead department, with the reason; the limit keeps running.
    #[tracing::instrument(skip_all, err)]
    pub async fn reassign(
        &self,
        principal: &Principal,
        id: RequestId,
        lead: DepartmentId,
        reason: &str,
        source: &str,
    ) -> Result<Request, RequestError> {
        let reason = required("reason", reason, MAX_NOTE_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let request = self.visible(&tx, principal, id).await?;
        if request.lead_department == Some(lead) {
            return Err(RequestError::SameDepartment);
        }
        Self::check_departments(&tx, lead, &[]).await?;
        let ended = format!("改派：{reason}");
        let extra = Extra {
            lead: LeadChange::To(lead),
            end_assignments: Some(&ended),
            ..Extra::default()
        };
        self.act_in(
            &tx,
            principal,
            &request,
            Action::Reassign,
            extra,
            reason,
            source,
            now,
        )
        .await?;
        let stored = repo::request(&tx, id)
            .await?
            .ok_or(RequestError::NotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// 退单: the lead department gives the request back with its reason, within the limit.
    #[tracing::instrument(skip_all, err)]
    pub async fn return_request(
        &self,
        principal: &Principal,
        id: RequestId,
        reason: &str,
        source: &str,
    ) -> Result<Request, RequestError> {
        let reason = required("reason", reason, MAX_NOTE_CHARS)?;
        let ended = format!("退单：{reason}");
        let extra = Extra {
            lead: LeadChange::Clear,
            end_assignments: Some(&ended),
            ..Extra::default()
        };
        self.act(principal, id, Action::Return, extra, reason, source)
            .await
    }

    /// 签收.
    pub async fn sign(
        &self,
        principal: &Principal,
        id: RequestId,
        source: &str,
    ) -> Result<Request, RequestError> {
        self.act(principal, id, Action::Sign, Extra::default(), "", source)
            .await
    }

    /// 答复: the lead department's answer to the submitter.
    #[tracing::instrument(skip_all, err)]
    pub async fn reply(
        &self,
        principal: &Principal,
        id: RequestId,
        reply: &str,
        source: &str,
    ) -> Result<Request, RequestError> {
        let reply = required("reply", reply, MAX_TEXT_CHARS)?;
        let extra = Extra {
            reply: Some(reply),
            ..Extra::default()
        };
        self.act(principal, id, Action::Reply, extra, "", source)
            .await
    }

    /// 办结 after the reply.
    pub async fn conclude(
        &self,
        principal: &Principal,
        id: RequestId,
        note: &str,
        source: &str,
    ) -> Result<Request, RequestError> {
        super::bounded("note", note, MAX_NOTE_CHARS)?;
        self.act(
            principal,
            id,
            Action::Conclude,
            Extra::default(),
            note.trim(),
            source,
        )
        .await
    }

    /// 直接办结: the operator answered a consultation on the call; the answer is the reply.
    #[tracing::instrument(skip_all, err)]
    pub async fn conclude_on_call(
        &self,
        principal: &Principal,
        id: RequestId,
        answer: &str,
        source: &str,
    ) -> Result<Request, RequestError> {
        let answer = required("answer", answer, MAX_TEXT_CHARS)?;
        let extra = Extra {
            reply: Some(answer),
            ..Extra::default()
        };
        self.act(principal, id, Action::ConcludeOnCall, extra, "", source)
            .await
    }

    /// 回访: the submitter's satisfaction; unsatisfied sends it back to the lead (重办).
    pub async fn visit(
        &self,
        principal: &Principal,
        id: RequestId,
        result: VisitResult,
        note: &str,
        source: &str,
    ) -> Result<Request, RequestError> {
        super::bounded("note", note, MAX_NOTE_CHARS)?;
        self.act(
            principal,
            id,
            Action::Visit(result),
            Extra::default(),
            note.trim(),
            source,
        )
        .await
    }

    /// 评价 by the submitter (1–5), closing the loop.
    pub async fn rate(
        &self,
        principal: &Principal,
        id: RequestId,
        level: u8,
        comment: &str,
        source: &str,
    ) -> Result<Request, RequestError> {
        super::bounded("comment", comment, MAX_NOTE_CHARS)?;
        self.act(
            principal,
            id,
            Action::Rate(level),
            Extra::default(),
            comment.trim(),
            source,
        )
        .await
    }

    /// 延期申请: the lead department asks for more working days, with the reason.
    #[tracing::instrument(skip_all, err)]
    pub async fn request_extension(
        &self,
        principal: &Principal,
        id: RequestId,
        working_days: u32,
        reason: &str,
        source: &str,
    ) -> Result<Request, RequestError> {
        let max = self.config.max_extension_days;
        if working_days == 0 || working_days > max {
            return Err(RequestError::BadExtension(max));
        }
        let reason = required("reason", reason, MAX_NOTE_CHARS)?;
        self.act(
            principal,
            id,
            Action::RequestExtension(TimeLimit::working_days(working_days)),
            Extra::default(),
            reason,
            source,
        )
        .await
    }

    /// 延期审批 by a supervisor over the region.
    pub async fn decide_extension(
        &self,
        principal: &Principal,
        id: RequestId,
        approve: bool,
        note: &str,
        source: &str,
    ) -> Result<Request, RequestError> {
        super::bounded("note", note, MAX_NOTE_CHARS)?;
        self.act(
            principal,
            id,
            Action::DecideExtension { approve },
            Extra::default(),
            note.trim(),
            source,
        )
        .await
    }

    /// A 协办 department's opinion for the lead.
    #[tracing::instrument(skip_all, err)]
    pub async fn assist_opinion(
        &self,
        principal: &Principal,
        id: RequestId,
        opinion: &str,
        source: &str,
    ) -> Result<(), RequestError> {
        let staff = super::staff_of(principal)?;
        let opinion = required("opinion", opinion, MAX_TEXT_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let request = self.visible(&tx, principal, id).await?;
        if !handles_for(staff, staff.department) || !request.status.is_open() {
            return Err(IdentityError::Forbidden.into());
        }
        if !repo::set_opinion(&tx, id, staff.department, opinion).await? {
            return Err(IdentityError::Forbidden.into());
        }
        let who = actor(principal);
        repo::insert_event(
            &tx,
            id,
            now,
            &who,
            "assist_opinion",
            request.status,
            request.status,
            opinion,
        )
        .await?;
        record_in(
            &tx,
            now,
            &who,
            "request.assist_opinion",
            format!("request:{}", request.public_id),
            source,
            json!({ "department": staff.department.get() }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Possible duplicates of a request, for the hotline centre.
    pub async fn duplicates(
        &self,
        principal: &Principal,
        id: RequestId,
    ) -> Result<Vec<Duplicate>, RequestError> {
        let staff = super::staff_of(principal)?;
        let tx = self.db.begin().await?;
        let request = self.visible(&tx, principal, id).await?;
        if !dispatches(staff, &request.region_code) {
            return Err(RequestError::NotFound);
        }
        let ids = self.similar_in(&tx, &request).await?;
        let mut found = Vec::with_capacity(ids.len());
        for other in ids {
            if let Some(o) = repo::request(&tx, other).await? {
                found.push(Duplicate {
                    id: other,
                    similarity: similarity(&request, &o),
                });
            }
        }
        tx.commit().await?;
        Ok(found)
    }

    /// Merges `duplicate` into `into`: same community and category, created within the
    /// duplicate window of each other, similar text. The duplicate ends as 已合并.
    #[tracing::instrument(skip_all, err)]
    pub async fn merge(
        &self,
        principal: &Principal,
        duplicate: RequestId,
        into: RequestId,
        source: &str,
    ) -> Result<Request, RequestError> {
        if duplicate == into {
            return Err(RequestError::NotDuplicate);
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let dup = self.visible(&tx, principal, duplicate).await?;
        let main = self.visible(&tx, principal, into).await?;
        let gap = (dup.created_at - main.created_at).abs();
        if main.status == Status::Merged
            || dup.region_code != main.region_code
            || dup.category != main.category
            || gap > self.config.duplicate_window
            || similarity(&dup, &main) < self.config.duplicate_threshold
        {
            return Err(RequestError::NotDuplicate);
        }
        let extra = Extra {
            merged_into: Some(into),
            end_assignments: Some("合并"),
            ..Extra::default()
        };
        self.act_in(
            &tx,
            principal,
            &dup,
            Action::Merge,
            extra,
            &main.public_id,
            source,
            now,
        )
        .await?;
        repo::insert_event(
            &tx,
            into,
            now,
            &actor(principal),
            "merged_in",
            main.status,
            main.status,
            &dup.public_id,
        )
        .await?;
        let stored = repo::request(&tx, duplicate)
            .await?
            .ok_or(RequestError::NotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// What a handling department, a supervisor or the centre sees of a request: never the
    /// submitter. Anyone else: not found.
    pub async fn department_view(
        &self,
        principal: &Principal,
        id: RequestId,
    ) -> Result<DepartmentView, RequestError> {
        super::staff_of(principal)?;
        let tx = self.db.begin().await?;
        let request = self.visible(&tx, principal, id).await?;
        let assignments = repo::assignments(&tx, id).await?;
        let history = repo::events(&tx, id)
            .await?
            .into_iter()
            .map(|e| DepartmentEvent {
                at: e.at,
                action: e.action,
                from: e.from,
                to: e.to,
                note: e.note,
            })
            .collect();
        tx.commit().await?;
        Ok(DepartmentView {
            id: request.id,
            public_id: request.public_id,
            channel: request.channel,
            kind: request.kind,
            category: request.category,
            region_code: request.region_code,
            urgency: request.urgency,
            title: request.title,
            body: request.body,
            location: request.location,
            grid: request.grid,
            status: request.status,
            due_at: request.due_at,
            return_until: request.return_until,
            reply: request.reply,
            assignments,
            history,
        })
    }

    /// The whole record for the hotline centre, the contact mobile in full (to call back); the
    /// read of personal data is audited.
    pub async fn dispatcher_view(
        &self,
        principal: &Principal,
        id: RequestId,
        source: &str,
    ) -> Result<DispatcherView, RequestError> {
        let staff = super::staff_of(principal)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let request = repo::request(&tx, id)
            .await?
            .ok_or(RequestError::NotFound)?;
        if !dispatches(staff, &request.region_code) {
            return Err(RequestError::NotFound);
        }
        let contact_mobile = match repo::contact_mobile_enc(&tx, id).await? {
            Some(sealed) => Some(self.pii.open(PiiField::Mobile, &sealed)?),
            None => match request.person {
                Some(person) => yiwang_identity::reads::person_mobile_in(&tx, &self.pii, person)
                    .await?
                    .map(|m| m.as_str().to_owned()),
                None => None,
            },
        };
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                actor(principal),
                "request.read_contact",
                format!("request:{}", request.public_id),
                source,
            ),
        )
        .await?;
        let assignments = repo::assignments(&tx, id).await?;
        let history = repo::events(&tx, id).await?;
        tx.commit().await?;
        Ok(DispatcherView {
            request,
            contact_mobile,
            assignments,
            history,
        })
    }

    /// The submitter's own request (a person), or the centre's (staff who dispatch there).
    pub async fn request(
        &self,
        principal: &Principal,
        id: RequestId,
    ) -> Result<Request, RequestError> {
        let tx = self.db.begin().await?;
        let request = self.visible(&tx, principal, id).await?;
        if let Principal::Staff(s) = principal
            && !dispatches(s, &request.region_code)
        {
            return Err(RequestError::NotFound);
        }
        tx.commit().await?;
        Ok(request)
    }

    /// A person's own requests, newest first (at most 200).
    pub async fn mine(&self, principal: &Principal) -> Result<Vec<Request>, RequestError> {
        match principal {
            Principal::Person(p) => repo::requests_of_person(self.db.conn(), *p, 200).await,
            Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
            _ => Err(IdentityError::Forbidden.into()),
        }
    }

    /// The open requests the staff member's department leads, by deadline.
    pub async fn inbox(&self, principal: &Principal) -> Result<Vec<DepartmentView>, RequestError> {
        let staff: &StaffPrincipal = super::staff_of(principal)?;
        let ids: Vec<RequestId> = repo::department_inbox(self.db.conn(), staff.department)
            .await?
            .into_iter()
            .map(|r| r.id)
            .collect();
        let mut views = Vec::with_capacity(ids.len());
        for id in ids {
            views.push(self.department_view(principal, id).await?);
        }
        Ok(views)
    }

    /// Marks open requests near their limit (临期) and past it (超期) once each, and escalates
    /// overdue mediation levels; each mark is a history line, an audit entry and a notice.
    #[tracing::instrument(skip_all, err)]
    pub async fn sweep(&self) -> Result<SweepReport, RequestError> {
        let now = self.clock.now();
        let mut report = SweepReport::default();
        let tx = self.db.begin().await?;
        for (kind, until) in [
            (SweepMark::Overdue, now),
            (SweepMark::Warned, now + self.config.warn_before),
        ] {
            for request in repo::due_unmarked(&tx, kind, until, SWEEP_BATCH).await? {
                if kind == SweepMark::Overdue {
                    // Past its limit it is no longer "near" it: no later near-due notice.
                    repo::mark(&tx, request.id, SweepMark::Warned, now).await?;
                }
                if !repo::mark(&tx, request.id, kind, now).await? {
                    continue;
                }
                repo::insert_event(
                    &tx,
                    request.id,
                    now,
                    "system",
                    kind.code(),
                    request.status,
                    request.status,
                    "",
                )
                .await?;
                record_in(
                    &tx,
                    now,
                    "system",
                    &format!("request.{}", kind.code()),
                    format!("request:{}", request.public_id),
                    "system:sweep",
                    json!({
                        "due_at": request.due_at.map(|d| d.to_rfc3339()),
                        "lead": request.lead_department.map(DepartmentId::get),
                    }),
                )
                .await?;
                match kind {
                    SweepMark::Overdue => report.overdue += 1,
                    SweepMark::Warned => report.near_due += 1,
                }
            }
        }
        report.escalated = self.escalate_overdue_in(&tx, now).await?;
        report.petitions_overdue = self.mark_overdue_petitions_in(&tx, now).await?;
        tx.commit().await?;
        Ok(report)
    }
}

/// Similarity of two requests' titles and bodies.
fn similarity(a: &Request, b: &Request) -> f64 {
    jaccard(
        &format!("{}{}", a.title, a.body),
        &format!("{}{}", b.title, b.body),
    )
}
