//! One request record from every channel. Who may use a channel:
//!
//! - web, 小微企业专区: a logged-in person, or anyone leaving a mobile to be called back;
//! - 12345 hotline: a hotline operator entering the caller's mobile;
//! - grid report: a grid worker, with the location and coordinates inside one of their grids;
//! - online petition (信访): a logged-in person (petitions are signed); it opens the petition's
//!   deadlines at once, routed to the responsible department;
//! - API: the system (a partner system's client), with the caller's mobile.

use chrono::{DateTime, Utc};
use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_identity::IdentityError;
use yiwang_identity::model::{PersonId, Role, StaffId};
use yiwang_identity::pii::PiiField;
use yiwang_identity::policy::Principal;
use yiwang_kernel::{Mobile, new_public_id};

use super::catalog::route_in;
use super::grids::grid_at_in;
use super::{
    MAX_NOTE_CHARS, MAX_TEXT_CHARS, MAX_TITLE_CHARS, Requests, actor, bounded, fresh_rng,
    record_in, required, within,
};
use crate::RequestError;
use crate::grid::Point;
use crate::model::{Channel, NewRequest, Request, RequestId, RequestKind, Status, Urgency};
use crate::petition::PetitionFacts;
use crate::repo::{self, NewRequestRow};
use crate::similar::jaccard;

/// A stored request and the earlier ones it may duplicate (for the dispatcher to merge).
#[derive(Debug, Clone, PartialEq)]
pub struct Submitted {
    pub request: Request,
    pub possible_duplicates: Vec<RequestId>,
}

/// Who submits through which channel, once checked.
struct Submitter {
    person: Option<PersonId>,
    staff: Option<StaffId>,
    mobile_required: bool,
}

fn submitter(
    principal: &Principal,
    channel: Channel,
    region: &str,
) -> Result<Submitter, RequestError> {
    let citizen = |mobile_required| match principal {
        Principal::Person(p) => Ok(Submitter {
            person: Some(*p),
            staff: None,
            mobile_required: false,
        }),
        Principal::Anonymous if mobile_required => Ok(Submitter {
            person: None,
            staff: None,
            mobile_required: true,
        }),
        Principal::Anonymous => Err(RequestError::Identity(IdentityError::Unauthenticated)),
        _ => Err(RequestError::ChannelNotAllowed),
    };
    match channel {
        Channel::Web | Channel::SmallBusiness => citizen(true),
        Channel::Petition => citizen(false),
        Channel::Hotline => match principal {
            Principal::Staff(s) if s.has(Role::HotlineOperator) => Ok(Submitter {
                person: None,
                staff: Some(s.id),
                mobile_required: true,
            }),
            _ => Err(RequestError::ChannelNotAllowed),
        },
        Channel::Grid => match principal {
            Principal::Staff(s) if s.has(Role::GridWorker) => {
                if within(&s.region, region) {
                    Ok(Submitter {
                        person: None,
                        staff: Some(s.id),
                        mobile_required: false,
                    })
                } else {
                    Err(RequestError::Identity(IdentityError::Forbidden))
                }
            }
            _ => Err(RequestError::ChannelNotAllowed),
        },
        Channel::Api => match principal {
            Principal::System => Ok(Submitter {
                person: None,
                staff: None,
                mobile_required: true,
            }),
            _ => Err(RequestError::ChannelNotAllowed),
        },
    }
}

impl Requests {
    /// Receives (受理) one request. Nothing is written when any field is refused.
    #[tracing::instrument(skip_all, err)]
    pub async fn submit(
        &self,
        principal: &Principal,
        channel: Channel,
        new: &NewRequest,
        source: &str,
    ) -> Result<Submitted, RequestError> {
        let tx = self.db.begin().await?;
        let submitted = self.submit_in(&tx, principal, channel, new, source).await?;
        tx.commit().await?;
        Ok(submitted)
    }

    /// [`Self::submit`] inside the caller's transaction (an Open311 post links the request to its
    /// client in the same transaction).
    pub(crate) async fn submit_in(
        &self,
        tx: &DatabaseTransaction,
        principal: &Principal,
        channel: Channel,
        new: &NewRequest,
        source: &str,
    ) -> Result<Submitted, RequestError> {
        let kind = new.kind.ok_or(RequestError::UnknownKind)?;
        let urgency = new.urgency.unwrap_or(Urgency::Normal);
        let region = new.region.trim();
        let who = submitter(principal, channel, region)?;
        let title = required("title", &new.title, MAX_TITLE_CHARS)?;
        let body = required("body", &new.body, MAX_TEXT_CHARS)?;
        let location = new.location.trim();
        bounded("location", location, MAX_NOTE_CHARS)?;
        if channel == Channel::Grid && location.is_empty() {
            return Err(RequestError::Required("location"));
        }
        let contact_name = new.contact_name.trim();
        bounded("contact_name", contact_name, MAX_NOTE_CHARS)?;
        let point = new
            .coordinates
            .map(|(lon, lat)| Point::parse(lon, lat))
            .transpose()?;
        if channel == Channel::Grid && point.is_none() {
            return Err(RequestError::Required("coordinates"));
        }
        let mobile = match new.contact_mobile.trim() {
            "" if who.mobile_required => return Err(RequestError::MobileRequired),
            "" => None,
            text => Some(Mobile::parse(text).map_err(|_| RequestError::BadMobile)?),
        };
        let now = self.clock.now();
        if repo::category(tx, &new.category).await?.is_none() {
            return Err(RequestError::UnknownCategory(new.category.clone()));
        }
        if repo::region(tx, region).await?.is_none() {
            return Err(RequestError::UnknownRegion(region.to_owned()));
        }
        let grid = match point {
            Some(point) => grid_at_in(tx, point).await?,
            None => None,
        };
        if channel == Channel::Grid {
            let mine = match (&grid, who.staff) {
                (Some(g), Some(staff)) => repo::works_in(tx, g.id, staff).await?,
                _ => false,
            };
            if !mine {
                return Err(RequestError::OutsideMyGrid);
            }
        }
        let petition_office = if channel == Channel::Petition {
            Some(route_in(tx, &new.category, region).await?.ok_or_else(|| {
                RequestError::NoRoute {
                    category: new.category.clone(),
                    region: region.to_owned(),
                }
            })?)
        } else {
            None
        };
        let mut rng = fresh_rng();
        let public_id = new_public_id(&mut rng);
        let id = repo::insert_request(
            tx,
            &NewRequestRow {
                public_id: &public_id,
                channel,
                kind,
                category: &new.category,
                region_code: region,
                urgency,
                title,
                body,
                location,
                coordinates: point.map(Point::micro),
                grid: grid.as_ref().map(|g| g.id),
                person: who.person,
                contact_name,
                contact_mobile_enc: mobile
                    .as_ref()
                    .map(|m| self.pii.seal(PiiField::Mobile, m.as_str(), &mut rng)),
                contact_mobile_masked: &mobile.as_ref().map(Mobile::masked).unwrap_or_default(),
                received_by: who.staff,
                now,
            },
        )
        .await?;
        let who_acts = actor(principal);
        repo::insert_event(
            tx,
            id,
            now,
            &who_acts,
            "receive",
            Status::Received,
            Status::Received,
            channel.zh(),
        )
        .await?;
        if let Some(office) = petition_office {
            let facts = PetitionFacts::submitted(now, &self.calendar, &self.config.petition);
            repo::insert_petition(tx, id, office, &facts, now).await?;
        }
        record_in(
            tx,
            now,
            &who_acts,
            "request.receive",
            format!("request:{public_id}"),
            source,
            json!({
                "channel": channel.code(), "kind": kind.code(), "category": new.category,
                "region": region, "urgency": urgency.code(),
            }),
        )
        .await?;
        let request = repo::request(tx, id).await?.ok_or(RequestError::NotFound)?;
        let possible_duplicates = self.similar_in(tx, &request).await?;
        Ok(Submitted {
            request,
            possible_duplicates,
        })
    }

    /// Earlier requests of the same region and category within the duplicate window whose text is
    /// similar enough, most similar first.
    pub(crate) async fn similar_in(
        &self,
        tx: &DatabaseTransaction,
        request: &Request,
    ) -> Result<Vec<RequestId>, RequestError> {
        let since: DateTime<Utc> = request.created_at - self.config.duplicate_window;
        let text = format!("{}{}", request.title, request.body);
        let mut scored: Vec<(f64, RequestId)> = repo::similar_candidates(
            tx,
            &request.region_code,
            &request.category,
            since,
            request.id,
        )
        .await?
        .into_iter()
        .filter(|c| c.created_at <= request.created_at && c.kind != RequestKind::Praise)
        .map(|c| (jaccard(&text, &format!("{}{}", c.title, c.body)), c.id))
        .filter(|(score, _)| *score >= self.config.duplicate_threshold)
        .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        Ok(scored.into_iter().map(|(_, id)| id).collect())
    }
}
