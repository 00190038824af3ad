//! Rating a service event: by the person served (logged in, or through a one-use SMS link), or by
//! staff entering a phone rating on their behalf; 追评; SMS invitations; a person's own ratings.
//!
//! A 差评 (level 4–5) opens its rectification task in the same transaction.

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use yiwang_appointments::model::{BookingId, ResourceId, TicketId};
use yiwang_cases::model::CaseId;
use yiwang_db::{ConnectionTrait, DatabaseTransaction};
use yiwang_identity::IdentityError;
use yiwang_identity::model::{DepartmentId, PersonId, Role, StaffId};
use yiwang_identity::policy::Principal;
use yiwang_kernel::{Page, PageRequest, china_date, end_of_china_day, new_public_id};
use yiwang_notify::{NOTICE_TEMPLATE, OutboxMessage, Recipient};

use super::{
    MAX_TAGS, MAX_TEXT_CHARS, Ratings, TABLET_MINUTES, actor, bounded, fresh_rng, person_of,
    record_in, staff_of,
};
use crate::RatingError;
use crate::model::{
    Channel, EventKind, EventRef, Level, NewRating, RatingView, Tag, mask_name, month_of,
};
use crate::repo::{self, NewRatingRow, NewTaskRow};
use crate::token;

/// What a service event says about itself: who was served and who answers for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventFacts {
    pub event: EventRef,
    /// The person served (the one who may rate).
    pub served: PersonId,
    pub department: DepartmentId,
    pub region_code: String,
    pub item_name: String,
    pub hall_id: Option<i64>,
    pub window_id: Option<i64>,
    /// The staff member who served, when known (a counter registration).
    pub served_by: Option<StaffId>,
    /// What was rated, in words.
    pub label: String,
}

/// What a person submits through an SMS link (the event and person come from the token).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LinkRating {
    pub level: u8,
    pub tags: Vec<String>,
    pub text: String,
}

/// Resolves an event on `conn`: `None` when it does not exist or has not ended with a service
/// (a case not concluded, a ticket not served, a booking not kept, any request until that module
/// exists).
pub async fn resolve_event<C: ConnectionTrait>(
    conn: &C,
    event: EventRef,
) -> Result<Option<EventFacts>, RatingError> {
    Ok(match event.kind {
        EventKind::Case => yiwang_cases::reads::case_facts_in(conn, CaseId::new(event.id))
            .await?
            .filter(yiwang_cases::reads::CaseFacts::is_concluded)
            .map(|c| EventFacts {
                event,
                served: c.applicant,
                department: c.department,
                region_code: c.region_code,
                label: format!("{}（{}）", c.item_name, c.case_no.unwrap_or_default()),
                item_name: c.item_name,
                hall_id: None,
                window_id: None,
                served_by: c.registered_by,
            }),
        EventKind::Ticket => {
            yiwang_appointments::reads::ticket_facts_in(conn, TicketId::new(event.id))
                .await?
                .filter(yiwang_appointments::reads::TicketFacts::is_served)
                .and_then(|t| {
                    let served = t.person?;
                    Some(EventFacts {
                        event,
                        served,
                        department: t.department,
                        region_code: t.region_code,
                        label: format!(
                            "{} {} {}号",
                            t.hall_name,
                            t.window_name.as_deref().unwrap_or(""),
                            t.number
                        ),
                        item_name: t.category_name,
                        hall_id: Some(t.hall.get()),
                        window_id: t.window.map(ResourceId::get),
                        served_by: None,
                    })
                })
        }
        EventKind::Booking => {
            yiwang_appointments::reads::booking_facts_in(conn, BookingId::new(event.id))
                .await?
                .filter(yiwang_appointments::reads::BookingFacts::is_kept)
                .map(|b| EventFacts {
                    event,
                    served: b.person,
                    department: b.department,
                    region_code: b.region_code,
                    label: format!("{} {} 预约{}", b.group_name, b.resource_name, b.code),
                    item_name: b.item_code.unwrap_or_default(),
                    hall_id: Some(b.group.get()),
                    window_id: Some(b.resource.get()),
                    served_by: None,
                })
        }
        // 诉求 (requests) have no module yet: nothing to resolve.
        EventKind::Request => None,
    })
}

/// Level, tags and text checked against the fixed lists and bounds; tags normalised to codes.
fn checked(level: u8, tags: &[String], text: &str) -> Result<(Level, Vec<String>), RatingError> {
    let level = Level::new(level).ok_or(RatingError::BadLevel)?;
    if tags.len() > MAX_TAGS {
        return Err(RatingError::TooManyTags(MAX_TAGS));
    }
    bounded("text", text.trim(), MAX_TEXT_CHARS)?;
    let mut codes: Vec<String> = Vec::with_capacity(tags.len());
    for given in tags {
        if given.chars().nth(40).is_some() {
            return Err(RatingError::UnknownTag("…".to_owned()));
        }
        let tag = Tag::find(given).ok_or_else(|| RatingError::UnknownTag(given.clone()))?;
        if !tag.fits(level) {
            return Err(RatingError::TagNotForLevel {
                tag: tag.code.to_owned(),
                level: level.code(),
            });
        }
        if !codes.iter().any(|c| c == tag.code) {
            codes.push(tag.code.to_owned());
        }
    }
    Ok((level, codes))
}

/// Who entered a rating and how.
struct Entry<'a> {
    person: PersonId,
    channel: Channel,
    entered_by: Option<StaffId>,
    actor: &'a str,
    source: &'a str,
}

impl Ratings {
    /// Rates an event as the person served (channels web, mobile, the window tablet, the API).
    /// Another person's event, an event not ended and a missing event are all `event_not_found`;
    /// a second rating is `already_rated`. A 差评 opens its rectification task.
    #[tracing::instrument(skip_all, err)]
    pub async fn rate(
        &self,
        principal: &Principal,
        input: &NewRating,
        channel: Channel,
        source: &str,
    ) -> Result<RatingView, RatingError> {
        let person = person_of(principal)?;
        if matches!(channel, Channel::Sms | Channel::Phone) {
            // Those channels have their own entry points (the link, the staff form).
            return Err(IdentityError::Forbidden.into());
        }
        let who = actor(principal);
        let tx = self.db.begin().await?;
        let view = self
            .create_in(
                &tx,
                input,
                &Entry {
                    person,
                    channel,
                    entered_by: None,
                    actor: &who,
                    source,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Rates through an SMS link without logging in. The token names the event and the person; a
    /// tampered or expired token is refused, and a token is good for one rating only.
    #[tracing::instrument(skip_all, err)]
    pub async fn rate_by_link(
        &self,
        link_token: &str,
        input: &LinkRating,
        source: &str,
    ) -> Result<RatingView, RatingError> {
        let now = self.clock.now();
        let claims = token::verify(&self.config.link_key, link_token, now)?;
        let hash = token::token_hash(link_token);
        let tx = self.db.begin().await?;
        if repo::token_used(&tx, &hash).await? {
            return Err(RatingError::TokenUsed);
        }
        let who = format!("person-id:{}", claims.person);
        let view = self
            .create_in(
                &tx,
                &NewRating {
                    event: claims.event,
                    level: input.level,
                    tags: input.tags.clone(),
                    text: input.text.clone(),
                },
                &Entry {
                    person: claims.person,
                    channel: Channel::Sms,
                    entered_by: None,
                    actor: &who,
                    source,
                },
            )
            .await?;
        if !repo::use_token(&tx, &hash, view.id, now).await? {
            return Err(RatingError::TokenUsed);
        }
        tx.commit().await?;
        Ok(view)
    }

    /// What an SMS link offers before rating: the event's label and whether it can still be used.
    pub async fn link_event(&self, link_token: &str) -> Result<EventFacts, RatingError> {
        let now = self.clock.now();
        let claims = token::verify(&self.config.link_key, link_token, now)?;
        let conn = self.db.conn();
        if repo::token_used(conn, &token::token_hash(link_token)).await? {
            return Err(RatingError::TokenUsed);
        }
        resolve_event(conn, claims.event)
            .await?
            .filter(|f| f.served == claims.person)
            .ok_or(RatingError::EventNotFound)
    }

    /// What a window's rating tablet (评价器) offers: the ticket served to the end at the window
    /// most recently, within [`TABLET_MINUTES`], taken under an account and not yet rated; `None`
    /// when there is none. The tablet runs on the session of a staff member of the hall's
    /// department; the person just served taps their rating on it.
    pub async fn tablet_offer(
        &self,
        principal: &Principal,
        window: ResourceId,
    ) -> Result<Option<EventFacts>, RatingError> {
        let staff = staff_of(principal)?;
        let conn = self.db.conn();
        let since = self.clock.now() - Duration::minutes(TABLET_MINUTES);
        let Some(ticket) =
            yiwang_appointments::reads::last_served_at_window_in(conn, window, since).await?
        else {
            return Ok(None);
        };
        if ticket.department != staff.department {
            return Err(IdentityError::Forbidden.into());
        }
        let event = EventRef {
            kind: EventKind::Ticket,
            id: ticket.id.get(),
        };
        let Some(facts) = resolve_event(conn, event).await? else {
            // Taken without an account: nobody to record the rating for.
            return Ok(None);
        };
        if repo::rating_of(conn, event, facts.served).await?.is_some() {
            return Ok(None);
        }
        Ok(Some(facts))
    }

    /// Records the rating tapped on a window's tablet for the ticket it offered (channel
    /// `tablet`). Only the ticket [`tablet_offer`](Self::tablet_offer) offers now may be rated:
    /// another ticket, or one served longer ago, is `event_not_found`.
    #[tracing::instrument(skip_all, err)]
    pub async fn rate_at_tablet(
        &self,
        principal: &Principal,
        window: ResourceId,
        input: &NewRating,
        source: &str,
    ) -> Result<RatingView, RatingError> {
        let offered = self
            .tablet_offer(principal, window)
            .await?
            .ok_or(RatingError::EventNotFound)?;
        if offered.event != input.event {
            return Err(RatingError::EventNotFound);
        }
        let who = format!("{}:tablet", actor(principal));
        let tx = self.db.begin().await?;
        let view = self
            .create_in(
                &tx,
                input,
                &Entry {
                    person: offered.served,
                    channel: Channel::Tablet,
                    entered_by: None,
                    actor: &who,
                    source,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// Staff enter a rating given on the phone, on behalf of the person served (window staff,
    /// hotline operators, department administrators). The staff member is recorded.
    #[tracing::instrument(skip_all, err)]
    pub async fn rate_by_phone(
        &self,
        principal: &Principal,
        person: PersonId,
        input: &NewRating,
        source: &str,
    ) -> Result<RatingView, RatingError> {
        let staff = staff_of(principal)?;
        if ![
            Role::WindowStaff,
            Role::HotlineOperator,
            Role::DepartmentAdmin,
        ]
        .into_iter()
        .any(|r| staff.has(r))
        {
            return Err(IdentityError::Forbidden.into());
        }
        let who = actor(principal);
        let tx = self.db.begin().await?;
        let view = self
            .create_in(
                &tx,
                input,
                &Entry {
                    person,
                    channel: Channel::Phone,
                    entered_by: Some(staff.id),
                    actor: &who,
                    source,
                },
            )
            .await?;
        tx.commit().await?;
        Ok(view)
    }

    /// A phone rating for an event named by its reference: the person is the one served by it.
    /// Window staff and department administrators enter ratings of their own department's
    /// events; hotline operators (the 12345 centre) of any department's. Another department's
    /// event is `event_not_found` like a missing one.
    #[tracing::instrument(skip_all, err)]
    pub async fn rate_by_phone_for_event(
        &self,
        principal: &Principal,
        input: &NewRating,
        source: &str,
    ) -> Result<RatingView, RatingError> {
        let staff = staff_of(principal)?;
        let facts = resolve_event(self.db.conn(), input.event)
            .await?
            .ok_or(RatingError::EventNotFound)?;
        if facts.department != staff.department && !staff.has(Role::HotlineOperator) {
            return Err(RatingError::EventNotFound);
        }
        self.rate_by_phone(principal, facts.served, input, source)
            .await
    }

    async fn create_in(
        &self,
        tx: &DatabaseTransaction,
        input: &NewRating,
        entry: &Entry<'_>,
    ) -> Result<RatingView, RatingError> {
        let (level, tags) = checked(input.level, &input.tags, &input.text)?;
        let text = input.text.trim();
        let now = self.clock.now();
        let facts = resolve_event(tx, input.event)
            .await?
            .filter(|f| f.served == entry.person)
            .ok_or(RatingError::EventNotFound)?;
        let person = yiwang_identity::reads::person_in(tx, entry.person)
            .await?
            .ok_or(RatingError::EventNotFound)?;
        let mut rng = fresh_rng();
        let public_id = new_public_id(&mut rng);
        let today = china_date(now);
        let id = repo::insert_rating(
            tx,
            &NewRatingRow {
                public_id: &public_id,
                event: facts.event,
                person: entry.person,
                rater_name_masked: &mask_name(&person.name),
                rater_mobile_masked: &person.mobile_masked,
                department: facts.department,
                region_code: &facts.region_code,
                item_name: &facts.item_name,
                hall_id: facts.hall_id,
                window_id: facts.window_id,
                served_by: facts.served_by,
                event_label: &facts.label,
                level,
                tags: &tags,
                body: text,
                channel: entry.channel,
                entered_by: entry.entered_by,
                month: &month_of(today),
                rated_at: now,
            },
        )
        .await?
        .ok_or(RatingError::AlreadyRated)?;
        record_in(
            tx,
            now,
            entry.actor,
            "rating.rate",
            format!("rating:{public_id}"),
            entry.source,
            json!({
                "event": { "kind": facts.event.kind.code(), "id": facts.event.id },
                "level": level.code(), "tags": tags, "channel": entry.channel.code(),
                "entered_by": entry.entered_by.map(StaffId::get),
            }),
        )
        .await?;
        if level.is_bad() {
            let contact_due_on = self
                .calendar
                .add_working_days(today, self.config.contact_days);
            let rectify_due_on = self
                .calendar
                .add_working_days(today, self.config.rectify_days);
            let task = repo::insert_task(
                tx,
                &NewTaskRow {
                    rating: id,
                    department: facts.department,
                    region_code: &facts.region_code,
                    contact_due_on,
                    contact_due_at: end_of_china_day(contact_due_on),
                    rectify_due_on,
                    rectify_due_at: end_of_china_day(rectify_due_on),
                    now,
                },
            )
            .await?;
            record_in(
                tx,
                now,
                "system",
                "rating.rectification_open",
                format!("rectification:{task}"),
                entry.source,
                json!({
                    "rating": public_id, "department": facts.department.get(),
                    "contact_due_on": contact_due_on.to_string(),
                    "rectify_due_on": rectify_due_on.to_string(),
                }),
            )
            .await?;
            self.tell_rater(
                tx,
                entry.person,
                "您的评价已收到",
                &format!(
                    "【一网通办】您对“{}”的评价已收到，承办部门将于{}前与您联系核实，并于{}前完成整改。",
                    facts.label,
                    contact_due_on.format("%Y年%m月%d日"),
                    rectify_due_on.format("%Y年%m月%d日")
                ),
                now,
            )
            .await?;
        }
        repo::rating(tx, id)
            .await?
            .ok_or_else(|| RatingError::Corrupt("a rating just written is gone".to_owned()))
    }

    /// An SMS to the rater through the outbox (nothing when they have no mobile on record).
    pub(crate) async fn tell_rater(
        &self,
        tx: &DatabaseTransaction,
        person: PersonId,
        subject: &str,
        text: &str,
        now: DateTime<Utc>,
    ) -> Result<(), RatingError> {
        let Some(mobile) = yiwang_identity::reads::person_mobile_in(tx, &self.pii, person).await?
        else {
            return Ok(());
        };
        yiwang_notify::enqueue(
            tx,
            now,
            self.pii.as_ref(),
            &OutboxMessage::new(
                Recipient::Sms(&mobile),
                NOTICE_TEMPLATE,
                json!({ "subject": subject, "text": text }),
            ),
            &mut fresh_rng(),
        )
        .await?;
        Ok(())
    }

    /// 追评: the person adds one follow-up comment to their rating within the configured period.
    #[tracing::instrument(skip_all, err)]
    pub async fn add_follow_up(
        &self,
        principal: &Principal,
        rating: &str,
        text: &str,
        source: &str,
    ) -> Result<RatingView, RatingError> {
        let person = person_of(principal)?;
        let text = super::note("follow_up", text)?;
        bounded("follow_up", text, MAX_TEXT_CHARS)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let view = repo::rating_by_public_id(&tx, rating)
            .await?
            .filter(|r| r.person == person)
            .ok_or(RatingError::RatingNotFound)?;
        if view.follow_up.is_some() {
            return Err(RatingError::FollowUpGiven);
        }
        if now > view.rated_at + Duration::days(i64::from(self.config.follow_up_days)) {
            return Err(RatingError::FollowUpClosed);
        }
        if !repo::set_follow_up(&tx, view.id, text, now).await? {
            return Err(RatingError::FollowUpGiven);
        }
        record_in(
            &tx,
            now,
            &actor(principal),
            "rating.follow_up",
            format!("rating:{}", view.public_id),
            source,
            json!({ "chars": text.chars().count() }),
        )
        .await?;
        let stored = repo::rating(&tx, view.id)
            .await?
            .ok_or(RatingError::RatingNotFound)?;
        tx.commit().await?;
        Ok(stored)
    }

    /// The person's own ratings, newest first.
    pub async fn my_ratings(
        &self,
        principal: &Principal,
        page: PageRequest,
    ) -> Result<Page<RatingView>, RatingError> {
        let person = person_of(principal)?;
        let (items, total) = repo::ratings_of_person(self.db.conn(), person, page).await?;
        Ok(Page::new(items, total, page))
    }

    /// The person's rating of an event, if they rated it (pages offer "rate" or show the rating).
    pub async fn my_rating_of(
        &self,
        principal: &Principal,
        event: EventRef,
    ) -> Result<Option<RatingView>, RatingError> {
        let person = person_of(principal)?;
        repo::rating_of(self.db.conn(), event, person).await
    }

    /// The event a person may rate, for the rating form: its facts when it has ended and the person
    /// was served in it; anything else is `event_not_found`.
    pub async fn rateable(
        &self,
        principal: &Principal,
        event: EventRef,
    ) -> Result<EventFacts, RatingError> {
        let person = person_of(principal)?;
        resolve_event(self.db.conn(), event)
            .await?
            .filter(|f| f.served == person)
            .ok_or(RatingError::EventNotFound)
    }

    /// The tags that fit a level, for the form.
    pub fn tags_for(level: u8) -> Result<Vec<&'static Tag>, RatingError> {
        Ok(Tag::for_level(
            Level::new(level).ok_or(RatingError::BadLevel)?,
        ))
    }

    /// A signed SMS rating link for the person served by an event (the platform or staff).
    pub fn link_token(&self, event: EventRef, person: PersonId) -> String {
        let expires = self.clock.now() + Duration::days(i64::from(self.config.link_days));
        token::sign(&self.config.link_key, event, person, expires)
    }

    /// Invites the person served by an ended event to rate it by SMS (outbox), with a one-use
    /// link. The platform (after a case concludes or a ticket is served) or staff of the
    /// responsible department. Returns the token (for the caller's records and tests).
    #[tracing::instrument(skip_all, err)]
    pub async fn invite_by_sms(
        &self,
        principal: &Principal,
        event: EventRef,
        source: &str,
    ) -> Result<String, RatingError> {
        self.invite(principal, event, source).await
    }

    /// The platform's invitation after a case is concluded (the `cases.concluded` job): `false`
    /// when there is nothing to do — the event is already rated, or gone or no longer ended.
    #[tracing::instrument(skip_all, err)]
    pub async fn invite_on_conclusion(&self, event: EventRef) -> Result<bool, RatingError> {
        match self.invite(&Principal::System, event, "worker").await {
            Ok(_) => Ok(true),
            Err(RatingError::AlreadyRated | RatingError::EventNotFound) => Ok(false),
            Err(error) => Err(error),
        }
    }

    async fn invite(
        &self,
        principal: &Principal,
        event: EventRef,
        source: &str,
    ) -> Result<String, RatingError> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let facts = resolve_event(&tx, event)
            .await?
            .ok_or(RatingError::EventNotFound)?;
        match principal {
            Principal::System => {}
            Principal::Staff(s)
                if s.department == facts.department
                    && super::HANDLING_ROLES.into_iter().any(|r| s.has(r)) => {}
            Principal::Anonymous => return Err(IdentityError::Unauthenticated.into()),
            _ => return Err(IdentityError::Forbidden.into()),
        }
        if repo::rating_of(&tx, event, facts.served).await?.is_some() {
            return Err(RatingError::AlreadyRated);
        }
        let link = self.link_token(event, facts.served);
        self.tell_rater(
            &tx,
            facts.served,
            "请评价本次服务",
            &format!(
                "【一网通办】请对“{}”的服务作出评价：{}{}",
                facts.label, self.config.link_base, link
            ),
            now,
        )
        .await?;
        record_in(
            &tx,
            now,
            &actor(principal),
            "rating.invite",
            format!("{}:{}", event.kind.code(), event.id),
            source,
            json!({ "channel": "sms" }),
        )
        .await?;
        tx.commit().await?;
        Ok(link)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yiwang_kernel::ErrorCode as _;

    #[test]
    fn checks_level_tags_and_text() {
        let tags = |t: &[&str]| t.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let (level, codes) =
            checked(5, &tags(&["超时办理", "poor_attitude", "态度差"]), "").unwrap();
        assert_eq!(level, Level::VERY_DISSATISFIED);
        assert_eq!(codes, vec!["overdue", "poor_attitude"]);
        assert_eq!(
            checked(5, &tags(&["一次办好"]), "").unwrap_err().code(),
            "rating_tag_not_for_level"
        );
        assert_eq!(
            checked(1, &tags(&["多次跑动"]), "").unwrap_err().code(),
            "rating_tag_not_for_level"
        );
        assert_eq!(
            checked(1, &tags(&["好"]), "").unwrap_err().code(),
            "rating_unknown_tag"
        );
        assert_eq!(checked(0, &[], "").unwrap_err().code(), "rating_bad_level");
        assert_eq!(checked(6, &[], "").unwrap_err().code(), "rating_bad_level");
        assert!(checked(3, &[], &"字".repeat(500)).is_ok());
        assert_eq!(
            checked(3, &[], &"字".repeat(501)).unwrap_err().code(),
            "rating_text_too_long"
        );
        assert_eq!(
            checked(3, &tags(&["efficient"; 9]), "").unwrap_err().code(),
            "rating_too_many_tags"
        );
    }
}
