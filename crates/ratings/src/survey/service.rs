//! Survey use cases. Every state change runs in one transaction: authorize → load → the rules
//! ([`super::model`]) → rows + audit entry (+ SMS invitations through the outbox).
//!
//! Who may do what: a department administrator builds, publishes, closes and reads the results of
//! their department's surveys (a platform administrator those of every department; a supervisor
//! reads the results of surveys within their region). Anyone answers an open public survey once
//! (per person when logged in, per browser otherwise — the browser's id is a signed nonce kept in a
//! cookie by the web edge, which also throttles by address); an invited person answers through
//! their one-use link.

use std::sync::Arc;

use chrono::{Duration, NaiveTime, Utc};
use serde_json::json;
use yiwang_appointments::model::GroupId;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::{DatabaseTransaction, Db};
use yiwang_identity::IdentityError;
use yiwang_identity::model::{DepartmentId, PersonId, Role};
use yiwang_identity::pii::PiiProtector;
use yiwang_identity::policy::{Principal, StaffPrincipal};
use yiwang_kernel::{
    Page, PageRequest, SharedClock, china_date, china_local_to_utc, hmac_sm3, new_public_id,
    sm3_hex,
};
use yiwang_notify::{NOTICE_TEMPLATE, OutboxMessage, Recipient};

use super::SurveyError;
use super::model::{
    Answers, Audience, AudienceKind, MAX_INTRO_CHARS, MAX_INVITES, MAX_PERIOD_DAYS, MAX_RESPONSES,
    MAX_TITLE_CHARS, NewQuestion, Response, SurveyResults, SurveyStatus, SurveyView,
    compute_results, optional_text, required_text,
};
use super::repo::{self, SurveyRow};

/// Longest invitation token or browser cookie looked at; anything longer is refused unread.
pub const MAX_TOKEN_CHARS: usize = 120;
const INVITE_PREFIX: &str = "sv1.";
const BROWSER_STATEMENT: &str = "yiwang-survey-browser/1\n";

/// How a response came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AnswerChannel {
    Web,
    Api,
}

impl AnswerChannel {
    fn code(self) -> &'static str {
        match self {
            AnswerChannel::Web => "web",
            AnswerChannel::Api => "api",
        }
    }
}

/// Who answers a public survey.
#[derive(Debug, Clone, Copy)]
pub enum Respondent<'a> {
    /// A logged-in person.
    Person(PersonId),
    /// A browser without a log-in: its verified id ([`Surveys::browser_id`]).
    Browser(&'a str),
}

/// A publication: the survey and, for an invited audience, the links sent (for the caller's
/// records and tests; only their hashes are stored).
#[derive(Debug, Clone)]
pub struct Published {
    pub survey: SurveyView,
    pub links: Vec<String>,
}

/// The surveys service. Cheap to clone.
#[derive(Clone)]
pub struct Surveys {
    db: Db,
    clock: SharedClock,
    pii: Arc<PiiProtector>,
    key: Arc<Vec<u8>>,
    link_base: String,
}

impl std::fmt::Debug for Surveys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Surveys")
            .field("key", &"<redacted>")
            .field("link_base", &self.link_base)
            .finish_non_exhaustive()
    }
}

fn actor(principal: &Principal) -> String {
    match principal {
        Principal::Staff(s) => s.actor(),
        Principal::Person(p) => format!("person-id:{p}"),
        Principal::System => "system".to_owned(),
        Principal::Anonymous => "anonymous".to_owned(),
    }
}

fn staff_of(principal: &Principal) -> Result<&StaffPrincipal, SurveyError> {
    match principal {
        Principal::Staff(s) => Ok(s),
        Principal::Anonymous => Err(IdentityError::Unauthenticated.into()),
        _ => Err(IdentityError::Forbidden.into()),
    }
}

/// Builds, publishes and closes: the department's administrator, or a platform administrator.
fn manages(staff: &StaffPrincipal, survey: &SurveyView) -> bool {
    staff.has(Role::PlatformAdmin)
        || (staff.has(Role::DepartmentAdmin) && staff.department == survey.department)
}

async fn audit_in(
    tx: &DatabaseTransaction,
    now: chrono::DateTime<Utc>,
    actor: &str,
    action: &str,
    survey: &str,
    source: &str,
    detail: serde_json::Value,
) -> Result<(), SurveyError> {
    audit::append(
        tx,
        now,
        &AuditEvent::new(actor, action, format!("survey:{survey}"), source).detail(detail),
    )
    .await?;
    Ok(())
}

fn bounded_id(public_id: &str) -> Result<&str, SurveyError> {
    if public_id.len() > 64 {
        Err(SurveyError::NotFound)
    } else {
        Ok(public_id)
    }
}

impl Surveys {
    /// `key` signs browser ids (HMAC-SM3); `link_base` is the address an invitation points to,
    /// the token appended.
    pub fn new(
        db: Db,
        clock: SharedClock,
        pii: Arc<PiiProtector>,
        key: Vec<u8>,
        link_base: String,
    ) -> Self {
        Self {
            db,
            clock,
            pii,
            key: Arc::new(key),
            link_base,
        }
    }

    pub fn now(&self) -> chrono::DateTime<Utc> {
        self.clock.now()
    }

    // ----------------------------------------------------------------------------- browsers

    /// A new browser id for a cookie: `<nonce>.<HMAC-SM3 hex>`.
    pub fn new_browser_cookie(&self) -> String {
        let mut nonce = [0_u8; 16];
        rand::Rng::fill_bytes(&mut rand::rng(), &mut nonce);
        let nonce = hex::encode(nonce);
        let mac = hex::encode(hmac_sm3(
            &self.key,
            format!("{BROWSER_STATEMENT}{nonce}").as_bytes(),
        ));
        format!("{nonce}.{mac}")
    }

    /// The verified id of a browser cookie (`None` when it is not one this platform signed).
    pub fn browser_id(&self, cookie: &str) -> Option<String> {
        if cookie.len() > MAX_TOKEN_CHARS {
            return None;
        }
        let (nonce, mac) = cookie.split_once('.')?;
        if nonce.len() != 32 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let expected = hex::encode(hmac_sm3(
            &self.key,
            format!("{BROWSER_STATEMENT}{nonce}").as_bytes(),
        ));
        let same = expected.len() == mac.len()
            && expected
                .bytes()
                .zip(mac.bytes())
                .fold(0_u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        same.then(|| sm3_hex(nonce.as_bytes()))
    }

    // ----------------------------------------------------------------------------- building

    async fn managed(
        &self,
        conn: &impl yiwang_db::ConnectionTrait,
        principal: &Principal,
        public_id: &str,
    ) -> Result<SurveyRow, SurveyError> {
        let staff = staff_of(principal)?;
        let row = repo::survey_by_public_id(conn, bounded_id(public_id)?)
            .await?
            .ok_or(SurveyError::NotFound)?;
        if !manages(staff, &row.view) {
            return Err(SurveyError::NotFound);
        }
        Ok(row)
    }

    /// Starts a draft in the staff member's department, or (a platform administrator) in the
    /// department given.
    #[tracing::instrument(skip_all, err)]
    pub async fn create(
        &self,
        principal: &Principal,
        department: Option<DepartmentId>,
        title: &str,
        intro: &str,
        source: &str,
    ) -> Result<SurveyView, SurveyError> {
        let staff = staff_of(principal)?;
        let department = match department {
            Some(d) if staff.has(Role::PlatformAdmin) => d,
            Some(d) if d == staff.department && staff.has(Role::DepartmentAdmin) => d,
            None if staff.has(Role::DepartmentAdmin) || staff.has(Role::PlatformAdmin) => {
                staff.department
            }
            _ => return Err(IdentityError::Forbidden.into()),
        };
        let title = required_text("title", title, MAX_TITLE_CHARS)?;
        let intro = optional_text("intro", intro, MAX_INTRO_CHARS)?;
        let now = self.clock.now();
        let public_id = new_public_id(&mut rand::make_rng::<rand::rngs::StdRng>());
        let tx = self.db.begin().await?;
        let id =
            repo::insert_survey(&tx, &public_id, department, &title, &intro, staff.id, now).await?;
        audit_in(
            &tx,
            now,
            &actor(principal),
            "survey.create",
            &public_id,
            source,
            json!({ "title": title }),
        )
        .await?;
        let view = repo::survey(&tx, id)
            .await?
            .ok_or_else(|| SurveyError::Corrupt("a survey just written is gone".to_owned()))?;
        tx.commit().await?;
        Ok(view.view)
    }

    /// A survey for the staff who manage it.
    pub async fn for_staff(
        &self,
        principal: &Principal,
        public_id: &str,
    ) -> Result<SurveyView, SurveyError> {
        Ok(self
            .managed(self.db.conn(), principal, public_id)
            .await?
            .view)
    }

    /// The surveys of the staff member's department (every department's for a platform
    /// administrator), newest first.
    pub async fn list(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<SurveyView>, SurveyError> {
        let staff = staff_of(principal)?;
        let department = if staff.has(Role::PlatformAdmin) {
            None
        } else if staff.has(Role::DepartmentAdmin) {
            Some(staff.department)
        } else {
            return Err(IdentityError::Forbidden.into());
        };
        let (items, total) = repo::surveys_of(self.db.conn(), department, page).await?;
        Ok(Page::new(items, total, page))
    }

    /// Adds a question to a draft (at the end of its section; a new section when the title is new).
    #[tracing::instrument(skip_all, err)]
    pub async fn add_question(
        &self,
        principal: &Principal,
        public_id: &str,
        question: &NewQuestion,
        source: &str,
    ) -> Result<SurveyView, SurveyError> {
        self.change_draft(principal, public_id, source, "survey.add_question", |d| {
            d.add(question).map(|key| json!({ "question": key }))
        })
        .await
    }

    /// Removes a question from a draft.
    #[tracing::instrument(skip_all, err)]
    pub async fn remove_question(
        &self,
        principal: &Principal,
        public_id: &str,
        key: &str,
        source: &str,
    ) -> Result<SurveyView, SurveyError> {
        self.change_draft(
            principal,
            public_id,
            source,
            "survey.remove_question",
            |d| d.remove(key).map(|()| json!({ "question": key })),
        )
        .await
    }

    async fn change_draft(
        &self,
        principal: &Principal,
        public_id: &str,
        source: &str,
        action: &str,
        change: impl FnOnce(&mut super::model::Definition) -> Result<serde_json::Value, SurveyError>,
    ) -> Result<SurveyView, SurveyError> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let row = self.managed(&tx, principal, public_id).await?;
        if row.view.status != SurveyStatus::Draft {
            return Err(SurveyError::WrongState(row.view.status, "changed"));
        }
        let mut definition = row.view.definition.clone();
        let detail = change(&mut definition)?;
        definition.check()?;
        if !repo::update_draft(&tx, row.view.id, row.revision, &definition, now).await? {
            return Err(SurveyError::Conflict);
        }
        audit_in(
            &tx,
            now,
            &actor(principal),
            action,
            &row.view.public_id,
            source,
            detail,
        )
        .await?;
        let view = repo::survey(&tx, row.view.id)
            .await?
            .ok_or(SurveyError::NotFound)?;
        tx.commit().await?;
        Ok(view.view)
    }

    /// Opens a draft: to the public, or to the people served by an item (cases concluded) or at a
    /// hall (tickets served, bookings kept) in a past period, each invited by SMS with a one-use
    /// link in the same transaction.
    #[tracing::instrument(skip_all, err)]
    pub async fn publish(
        &self,
        principal: &Principal,
        public_id: &str,
        audience: &Audience,
        source: &str,
    ) -> Result<Published, SurveyError> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let row = self.managed(&tx, principal, public_id).await?;
        let survey = &row.view;
        if survey.status != SurveyStatus::Draft {
            return Err(SurveyError::WrongState(survey.status, "published"));
        }
        if survey.definition.question_count() == 0 {
            return Err(SurveyError::Empty);
        }
        let audience = self
            .checked_audience(&tx, principal, survey, audience)
            .await?;
        if !repo::open(&tx, survey.id, row.revision, &audience, now).await? {
            return Err(SurveyError::Conflict);
        }
        let links = self.invite(&tx, survey, &audience, now).await?;
        repo::set_invited(&tx, survey.id, links.len() as u64).await?;
        audit_in(
            &tx,
            now,
            &actor(principal),
            "survey.publish",
            &survey.public_id,
            source,
            json!({
                "audience": audience.kind.code(),
                "target": audience.target,
                "invited": links.len(),
            }),
        )
        .await?;
        let view = repo::survey(&tx, survey.id)
            .await?
            .ok_or(SurveyError::NotFound)?;
        tx.commit().await?;
        Ok(Published {
            survey: view.view,
            links,
        })
    }

    async fn checked_audience(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        survey: &SurveyView,
        audience: &Audience,
    ) -> Result<Audience, SurveyError> {
        if audience.kind == AudienceKind::Public {
            return Ok(Audience::public());
        }
        let target = audience.target.ok_or(SurveyError::BadAudience("target"))?;
        let (Some(from), Some(until)) = (audience.from, audience.until) else {
            return Err(SurveyError::BadAudience("period"));
        };
        let today = china_date(self.clock.now());
        if from > until || until > today || (until - from).num_days() >= MAX_PERIOD_DAYS {
            return Err(SurveyError::BadAudience("period"));
        }
        let department = match audience.kind {
            AudienceKind::Item => yiwang_cases::reads::item_department_in(tx, target).await?,
            AudienceKind::Hall => {
                yiwang_appointments::reads::hall_in(tx, GroupId::new(target)).await?
            }
            AudienceKind::Public => None,
        };
        let Some((_, department)) = department else {
            return Err(SurveyError::BadAudience("target"));
        };
        let platform = matches!(principal, Principal::Staff(s) if s.has(Role::PlatformAdmin));
        if department != survey.department && !platform {
            return Err(SurveyError::BadAudience("target"));
        }
        Ok(Audience {
            kind: audience.kind,
            target: Some(target),
            from: Some(from),
            until: Some(until),
        })
    }

    async fn invite(
        &self,
        tx: &DatabaseTransaction,
        survey: &SurveyView,
        audience: &Audience,
        now: chrono::DateTime<Utc>,
    ) -> Result<Vec<String>, SurveyError> {
        let (Some(target), Some(from), Some(until)) =
            (audience.target, audience.from, audience.until)
        else {
            return Ok(Vec::new());
        };
        let limit = MAX_INVITES as u64 + 1;
        let people = match audience.kind {
            AudienceKind::Item => {
                let start = china_local_to_utc(from.and_time(NaiveTime::MIN));
                let end = china_local_to_utc((until + Duration::days(1)).and_time(NaiveTime::MIN));
                yiwang_cases::reads::people_served_by_item_in(tx, target, start, end, limit).await?
            }
            AudienceKind::Hall => {
                yiwang_appointments::reads::people_served_at_hall_in(
                    tx,
                    GroupId::new(target),
                    from,
                    until,
                    limit,
                )
                .await?
            }
            AudienceKind::Public => Vec::new(),
        };
        if people.len() > MAX_INVITES {
            return Err(SurveyError::TooManyInvites(MAX_INVITES));
        }
        if people.is_empty() {
            return Err(SurveyError::BadAudience("nobody"));
        }
        let mut rng = rand::make_rng::<rand::rngs::StdRng>();
        let mut links = Vec::with_capacity(people.len());
        for person in people {
            let mut secret = [0_u8; 24];
            rand::Rng::fill_bytes(&mut rng, &mut secret);
            let token = format!("{INVITE_PREFIX}{}", hex::encode(secret));
            if !repo::insert_invitation(tx, survey.id, person, &sm3_hex(token.as_bytes()), now)
                .await?
            {
                continue;
            }
            if let Some(mobile) =
                yiwang_identity::reads::person_mobile_in(tx, &self.pii, person).await?
            {
                yiwang_notify::enqueue(
                    tx,
                    now,
                    self.pii.as_ref(),
                    &OutboxMessage::new(
                        Recipient::Sms(&mobile),
                        NOTICE_TEMPLATE,
                        json!({
                            "subject": "服务测评邀请",
                            "text": format!(
                                "【一网通办】{}邀请您参加“{}”：{}{}",
                                survey.department_name, survey.title, self.link_base, token
                            ),
                        }),
                    ),
                    &mut rng,
                )
                .await?;
            }
            links.push(token);
        }
        Ok(links)
    }

    /// Closes an open survey: no more answers; the results stay.
    #[tracing::instrument(skip_all, err)]
    pub async fn close(
        &self,
        principal: &Principal,
        public_id: &str,
        source: &str,
    ) -> Result<SurveyView, SurveyError> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let row = self.managed(&tx, principal, public_id).await?;
        if !repo::close(&tx, row.view.id, now).await? {
            return Err(SurveyError::WrongState(row.view.status, "closed"));
        }
        audit_in(
            &tx,
            now,
            &actor(principal),
            "survey.close",
            &row.view.public_id,
            source,
            json!({ "responses": row.view.responses }),
        )
        .await?;
        let view = repo::survey(&tx, row.view.id)
            .await?
            .ok_or(SurveyError::NotFound)?;
        tx.commit().await?;
        Ok(view.view)
    }

    // ----------------------------------------------------------------------------- answering

    /// A survey as respondents see it: open or closed (a draft is not found).
    pub async fn published(&self, public_id: &str) -> Result<SurveyView, SurveyError> {
        let row = repo::survey_by_public_id(self.db.conn(), bounded_id(public_id)?)
            .await?
            .ok_or(SurveyError::NotFound)?;
        if row.view.status == SurveyStatus::Draft {
            return Err(SurveyError::NotFound);
        }
        Ok(row.view)
    }

    /// Open public surveys, newest first.
    pub async fn open_public(&self, limit: u64) -> Result<Vec<SurveyView>, SurveyError> {
        repo::open_public(self.db.conn(), limit.min(100)).await
    }

    fn respondent_key(respondent: Respondent<'_>) -> String {
        match respondent {
            Respondent::Person(p) => format!("person:{p}"),
            Respondent::Browser(id) => format!("browser:{id}"),
        }
    }

    /// Whether this respondent already answered the survey.
    pub async fn has_answered(
        &self,
        survey: &SurveyView,
        respondent: Respondent<'_>,
    ) -> Result<bool, SurveyError> {
        repo::has_answered(self.db.conn(), survey.id, &Self::respondent_key(respondent)).await
    }

    /// Answers an open public survey, once per person or browser.
    #[tracing::instrument(skip_all, err)]
    pub async fn answer(
        &self,
        public_id: &str,
        respondent: Respondent<'_>,
        answers: &Answers,
        channel: AnswerChannel,
        source: &str,
    ) -> Result<(), SurveyError> {
        let tx = self.db.begin().await?;
        let row = repo::survey_by_public_id(&tx, bounded_id(public_id)?)
            .await?
            .ok_or(SurveyError::NotFound)?;
        let survey = &row.view;
        match survey.status {
            SurveyStatus::Draft => return Err(SurveyError::NotFound),
            SurveyStatus::Closed => return Err(SurveyError::NotOpen),
            SurveyStatus::Open => {}
        }
        if survey.audience.kind != AudienceKind::Public {
            return Err(SurveyError::InvitationOnly);
        }
        let who = match respondent {
            Respondent::Person(p) => format!("person-id:{p}"),
            Respondent::Browser(_) => "anonymous".to_owned(),
        };
        self.store_in(
            &tx,
            survey,
            &Self::respondent_key(respondent),
            answers,
            channel.code(),
            &who,
            source,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    #[expect(
        clippy::too_many_arguments,
        reason = "the response's parts, each from the caller"
    )]
    async fn store_in(
        &self,
        tx: &DatabaseTransaction,
        survey: &SurveyView,
        respondent: &str,
        answers: &Answers,
        channel: &str,
        who: &str,
        source: &str,
    ) -> Result<(), SurveyError> {
        let now = self.clock.now();
        let answers = survey.definition.check_answers(answers)?;
        if repo::has_answered(tx, survey.id, respondent).await? {
            return Err(SurveyError::AlreadyAnswered);
        }
        if !repo::count_response(tx, survey.id, MAX_RESPONSES).await? {
            return Err(if survey.responses >= MAX_RESPONSES {
                SurveyError::Full
            } else {
                SurveyError::NotOpen
            });
        }
        if !repo::insert_response(tx, survey.id, respondent, &answers, channel, now).await? {
            return Err(SurveyError::AlreadyAnswered);
        }
        audit_in(
            tx,
            now,
            who,
            "survey.answer",
            &survey.public_id,
            source,
            json!({ "channel": channel }),
        )
        .await?;
        Ok(())
    }

    /// The survey an invitation link is for, while it can still be used.
    pub async fn invitation(&self, token: &str) -> Result<SurveyView, SurveyError> {
        let (survey, _) = self.invitation_in(self.db.conn(), token).await?;
        Ok(survey)
    }

    async fn invitation_in(
        &self,
        conn: &impl yiwang_db::ConnectionTrait,
        token: &str,
    ) -> Result<(SurveyView, PersonId), SurveyError> {
        let token = token.trim();
        if token.len() > MAX_TOKEN_CHARS || !token.starts_with(INVITE_PREFIX) {
            return Err(SurveyError::TokenInvalid);
        }
        let (id, person, used) = repo::invitation(conn, &sm3_hex(token.as_bytes()))
            .await?
            .ok_or(SurveyError::TokenInvalid)?;
        if used {
            return Err(SurveyError::AlreadyAnswered);
        }
        let survey = repo::survey(conn, id).await?.ok_or(SurveyError::NotFound)?;
        if survey.view.status != SurveyStatus::Open {
            return Err(SurveyError::NotOpen);
        }
        Ok((survey.view, person))
    }

    /// Answers through an invitation link, without logging in; the link is good for one answer.
    #[tracing::instrument(skip_all, err)]
    pub async fn answer_by_invitation(
        &self,
        token: &str,
        answers: &Answers,
        source: &str,
    ) -> Result<(), SurveyError> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let (survey, person) = self.invitation_in(&tx, token).await?;
        self.store_in(
            &tx,
            &survey,
            &format!("person:{person}"),
            answers,
            "link",
            &format!("person-id:{person}"),
            source,
        )
        .await?;
        if !repo::use_invitation(&tx, &sm3_hex(token.trim().as_bytes()), now).await? {
            return Err(SurveyError::AlreadyAnswered);
        }
        tx.commit().await?;
        Ok(())
    }

    // ----------------------------------------------------------------------------- results

    async fn readable(
        &self,
        principal: &Principal,
        public_id: &str,
    ) -> Result<SurveyView, SurveyError> {
        let staff = staff_of(principal)?;
        let row = repo::survey_by_public_id(self.db.conn(), bounded_id(public_id)?)
            .await?
            .ok_or(SurveyError::NotFound)?;
        let supervises = staff.has(Role::Supervisor)
            && crate::repo::department(self.db.conn(), row.view.department)
                .await
                .ok()
                .flatten()
                .is_some_and(|d| staff.region.contains(&d.region));
        if !(manages(staff, &row.view) || supervises) {
            return Err(SurveyError::NotFound);
        }
        Ok(row.view)
    }

    /// Counts, percentages and averages per question.
    pub async fn results(
        &self,
        principal: &Principal,
        public_id: &str,
    ) -> Result<SurveyResults, SurveyError> {
        let (survey, responses) = self.responses(principal, public_id).await?;
        Ok(SurveyResults {
            questions: compute_results(&survey.definition, &responses),
            responses: responses.len() as u64,
            survey,
        })
    }

    /// Every response, newest first (for the CSV export).
    pub async fn responses(
        &self,
        principal: &Principal,
        public_id: &str,
    ) -> Result<(SurveyView, Vec<Response>), SurveyError> {
        let survey = self.readable(principal, public_id).await?;
        let responses = repo::responses(self.db.conn(), survey.id).await?;
        Ok((survey, responses))
    }
}
