//! The service-hall queue (取号叫号): tickets by category or by checking in with a booking code
//! (appointment lane), windows calling, recalling, skipping, serving, transferring and finishing,
//! estimated waits, the board, and daily statistics.
//!
//! Every queue change runs in one transaction that first moves the hall's board version on. That
//! update is also what orders a hall's queue changes: on PostgreSQL it holds the hall's row lock until
//! commit (two windows never call the same ticket, one window never calls two), on SQLite the single
//! writer already does. After the commit, this process's board subscribers are told.

use std::collections::HashMap;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::json;
use yiwang_db::DatabaseTransaction;
use yiwang_identity::IdentityError;
use yiwang_identity::policy::{Action, Principal, authorize};
use yiwang_kernel::china_date;

use crate::error::AppointmentError;
use crate::model::{
    Board, BoardCall, BoardEvent, BoardEventKind, BoardQueue, BookingCode, BookingStatus, Category,
    CategoryId, DailyStats, Group, GroupId, Lane, NewCategory, Resource, ResourceId, ResourceKind,
    StatsRow, Ticket, TicketId, TicketRequest, TicketStatus, TicketView, TransferTarget,
    valid_prefix,
};
use crate::repo::{self, NewTicket};
use crate::service::{Appointments, Origin, actor, audit_entry, commit, staff_may_see};

type Result<T> = std::result::Result<T, AppointmentError>;

/// What a window's console shows besides its current ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowQueue {
    pub group: Group,
    pub window: Resource,
    /// Waiting tickets the window would call, in calling order.
    pub waiting: Vec<Ticket>,
    /// Tickets the window skipped today (they may be recalled).
    pub skipped: Vec<Ticket>,
}

/// Fewer handled tickets than this and the configured default handling time is used.
const MIN_HANDLING_SAMPLES: usize = 3;

async fn rollback(tx: DatabaseTransaction) {
    let _ = tx.rollback().await;
}

fn wrong_state(ticket: &Ticket, action: &'static str) -> AppointmentError {
    AppointmentError::TicketWrongState {
        state: ticket.status.code(),
        action,
    }
}

fn seconds_between(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).num_milliseconds().max(0) as f64 / 1000.0
}

fn average(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// Minutes to wait with `ahead` people in front, `handling` seconds each, `windows` serving.
fn estimate_minutes(ahead: u32, handling_seconds: f64, windows: usize) -> u32 {
    let total = f64::from(ahead) * handling_seconds / windows.max(1) as f64;
    (total / 60.0).ceil() as u32
}

#[derive(Default)]
struct Tally {
    tickets: u32,
    served: u32,
    skipped: u32,
    abandoned: u32,
    transferred: u32,
    waits: Vec<f64>,
    handling: Vec<f64>,
}

impl Tally {
    fn add(&mut self, t: &Ticket) {
        self.tickets += 1;
        match t.status {
            TicketStatus::Done => self.served += 1,
            TicketStatus::Skipped => self.skipped += 1,
            TicketStatus::Abandoned => self.abandoned += 1,
            TicketStatus::Transferred => self.transferred += 1,
            _ => {}
        }
        if let Some(called) = t.called_at {
            self.waits.push(seconds_between(t.taken_at, called));
        }
        if matches!(t.status, TicketStatus::Done | TicketStatus::Transferred)
            && let (Some(start), Some(end)) = (t.serving_at, t.finished_at)
        {
            self.handling.push(seconds_between(start, end));
        }
    }

    fn row(self, code: String, name: String) -> StatsRow {
        StatsRow {
            code,
            name,
            tickets: self.tickets,
            served: self.served,
            skipped: self.skipped,
            abandoned: self.abandoned,
            transferred: self.transferred,
            average_wait_seconds: average(&self.waits),
            average_handling_seconds: average(&self.handling),
        }
    }
}

impl Appointments {
    // ----- set-up -----

    /// Add a queue category to a group (personal or enterprise, then theme), with its ticket prefix.
    #[tracing::instrument(skip_all, err)]
    pub async fn add_category(
        &self,
        principal: &Principal,
        group: GroupId,
        new: &NewCategory,
        origin: &Origin,
    ) -> Result<Category> {
        let group = self.group(group).await?;
        authorize(
            principal,
            &Action::ManageSchedules {
                department: group.department_id,
            },
        )?;
        let new = NewCategory {
            code: new.code.trim().to_owned(),
            name: new.name.trim().to_owned(),
            theme: new.theme.trim().to_owned(),
            prefix: new.prefix.trim().to_owned(),
            ..new.clone()
        };
        let mut problems = Vec::new();
        if !(1..=40).contains(&new.code.len())
            || !new
                .code
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        {
            problems.push(crate::model::Problem::new(
                "code",
                "appt_code_invalid",
                "a code is 1 to 40 lowercase letters, digits, - or _",
            ));
        }
        if new.name.is_empty() || new.name.chars().count() > 100 {
            problems.push(crate::model::Problem::new(
                "name",
                "appt_name_invalid",
                "a name has 1 to 100 characters",
            ));
        }
        if !valid_prefix(&new.prefix) || new.prefix == group.policy.queue.appointment_prefix {
            problems.push(crate::model::Problem::new(
                "prefix",
                "ticket_prefix_invalid",
                "a ticket prefix is 1 to 3 capital letters, not the appointment prefix",
            ));
        }
        if !problems.is_empty() {
            return Err(AppointmentError::Invalid(problems));
        }
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        let id = repo::insert_category(&tx, group.id, &new, now).await?;
        audit_entry(
            &tx,
            now,
            &actor(principal),
            "appointment.category.create",
            &format!("appt_group:{}", group.code),
            origin,
            json!({ "code": new.code, "audience": new.audience.code(), "theme": new.theme, "prefix": new.prefix }),
        )
        .await?;
        commit(tx).await?;
        repo::categories_of(self.db.conn(), group.id)
            .await?
            .into_iter()
            .find(|c| c.id == id)
            .ok_or(AppointmentError::CategoryNotFound)
    }

    // ----- taking tickets -----

    /// Take a ticket. Anyone may take an ordinary one (the hall's machine acts for anonymous
    /// visitors); the elderly and disabled lanes are given by the hall's staff, who see the ID card;
    /// the appointment lane comes only from [`Appointments::check_in`].
    #[tracing::instrument(skip_all, err)]
    pub async fn take_ticket(
        &self,
        principal: &Principal,
        group: GroupId,
        request: &TicketRequest,
        origin: &Origin,
    ) -> Result<TicketView> {
        let group = self.group(group).await?;
        let category = self
            .categories(group.id)
            .await?
            .into_iter()
            .find(|c| c.code == request.category.trim())
            .ok_or(AppointmentError::CategoryNotFound)?;
        let person = match (request.lane, principal) {
            (Lane::Appointment, _) => return Err(AppointmentError::LaneNotAllowed),
            (Lane::Normal, Principal::Person(p)) => Some(*p),
            (Lane::Normal, Principal::Anonymous) => None,
            (_, Principal::Staff(_)) => {
                authorize(
                    principal,
                    &Action::OperateWindow {
                        department: group.department_id,
                    },
                )?;
                request.person
            }
            (Lane::Elderly | Lane::Disabled, Principal::Person(_) | Principal::Anonymous) => {
                return Err(AppointmentError::LaneNotAllowed);
            }
            (_, Principal::System) => return Err(IdentityError::Forbidden.into()),
        };
        let who = actor(principal);
        let id = self
            .retrying(|| async {
                let now = self.clock.now();
                let day = china_date(now);
                let tx = self.db.begin().await?;
                let version = repo::bump_board(&tx, group.id).await?;
                let n = repo::next_ticket_number(&tx, group.id, day, &category.prefix).await?;
                let number = format!("{}{n:03}", category.prefix);
                let id = repo::insert_ticket(
                    &tx,
                    &NewTicket {
                        group: group.id,
                        day,
                        number: &number,
                        category: category.id,
                        lane: request.lane,
                        person,
                        booking: None,
                        target_window: None,
                        transferred_from: None,
                        queued_at: now,
                    },
                    now,
                )
                .await?;
                audit_entry(
                    &tx,
                    now,
                    &who,
                    "queue.ticket.take",
                    &format!("ticket:{id}"),
                    origin,
                    json!({ "number": number, "category": category.code, "lane": request.lane.code() }),
                )
                .await?;
                commit(tx).await?;
                self.changed(group.id, version, BoardEventKind::Changed);
                Ok(id)
            })
            .await?;
        self.ticket(id).await
    }

    /// Check a booking in at its hall on its day with the booking code: a ticket in the appointment
    /// lane (for a doctor's booking, in that doctor's own line). Checking in again returns the same
    /// ticket. The person themself, the hall's machine (anonymous, the code is the proof) or the
    /// hall's staff may do it.
    #[tracing::instrument(skip_all, err)]
    pub async fn check_in(
        &self,
        principal: &Principal,
        group: GroupId,
        code: &str,
        origin: &Origin,
    ) -> Result<TicketView> {
        let group = self.group(group).await?;
        let code = BookingCode::parse(code).ok_or(AppointmentError::BookingNotFound)?;
        let booking = repo::booking_by_code(self.db.conn(), &code)
            .await?
            .ok_or(AppointmentError::BookingNotFound)?;
        match principal {
            Principal::Person(p) if *p != booking.person_id => {
                return Err(AppointmentError::BookingNotFound);
            }
            Principal::Person(_) | Principal::Anonymous => {}
            other => authorize(
                other,
                &Action::OperateWindow {
                    department: group.department_id,
                },
            )?,
        }
        let now = self.clock.now();
        if booking.group_id != group.id || booking.day != china_date(now) {
            return Err(AppointmentError::CheckInWrongPlace);
        }
        match booking.status {
            BookingStatus::Booked => {}
            BookingStatus::CheckedIn => {
                if let Some(ticket) = repo::ticket_of_booking(self.db.conn(), booking.id).await? {
                    return self.view(&group, ticket).await;
                }
            }
            other => {
                return Err(AppointmentError::BookingWrongState {
                    state: other.code(),
                    action: "checked in",
                });
            }
        }
        let queue = &group.policy.queue;
        let opens = booking.starts_at - Duration::minutes(i64::from(queue.checkin_early_minutes));
        if now < opens {
            return Err(AppointmentError::CheckInTooEarly(opens));
        }
        if now > booking.starts_at + Duration::minutes(i64::from(queue.checkin_late_minutes)) {
            return Err(AppointmentError::CheckInTooLate);
        }
        let resource = repo::resource_by_id(self.db.conn(), booking.resource_id)
            .await?
            .ok_or(AppointmentError::ResourceNotFound)?;
        let categories = self.categories(group.id).await?;
        let category = resource
            .categories
            .iter()
            .find_map(|code| categories.iter().find(|c| &c.code == code))
            .or_else(|| categories.first())
            .ok_or(AppointmentError::CategoryNotFound)?;
        // A doctor sees their own patients; a hall window's bookings join the category's line.
        let target = (resource.kind == ResourceKind::Doctor).then_some(resource.id);
        let who = actor(principal);
        let id = self
            .retrying(|| async {
                let now = self.clock.now();
                let tx = self.db.begin().await?;
                let version = repo::bump_board(&tx, group.id).await?;
                if !repo::set_booking_status(
                    &tx,
                    booking.id,
                    BookingStatus::Booked,
                    BookingStatus::CheckedIn,
                    now,
                )
                .await?
                {
                    // Checked in meanwhile (a double tap): the ticket made then is the answer.
                    rollback(tx).await;
                    return repo::ticket_of_booking(self.db.conn(), booking.id)
                        .await?
                        .map(|t| t.id)
                        .ok_or(AppointmentError::BookingWrongState {
                            state: "changed",
                            action: "checked in",
                        });
                }
                let n =
                    repo::next_ticket_number(&tx, group.id, booking.day, &queue.appointment_prefix)
                        .await?;
                let number = format!("{}{n:03}", queue.appointment_prefix);
                let id = repo::insert_ticket(
                    &tx,
                    &NewTicket {
                        group: group.id,
                        day: booking.day,
                        number: &number,
                        category: category.id,
                        lane: Lane::Appointment,
                        person: Some(booking.person_id),
                        booking: Some(booking.id),
                        target_window: target,
                        transferred_from: None,
                        queued_at: now,
                    },
                    now,
                )
                .await?;
                audit_entry(
                    &tx,
                    now,
                    &who,
                    "queue.check_in",
                    &format!("booking:{}", booking.id),
                    origin,
                    json!({ "ticket": id.get(), "number": number }),
                )
                .await?;
                commit(tx).await?;
                self.changed(group.id, version, BoardEventKind::Changed);
                Ok(id)
            })
            .await?;
        self.ticket(id).await
    }

    // ----- windows -----

    /// The window (or doctor's desk), its group, if the principal works it.
    async fn operated_window(
        &self,
        principal: &Principal,
        window: ResourceId,
    ) -> Result<(Group, Resource)> {
        let resource = repo::resource_by_id(self.db.conn(), window)
            .await?
            .ok_or(AppointmentError::ResourceNotFound)?;
        let group = self.group(resource.group_id).await?;
        authorize(
            principal,
            &Action::OperateWindow {
                department: group.department_id,
            },
        )?;
        Ok((group, resource))
    }

    async fn operated_ticket(
        &self,
        principal: &Principal,
        ticket: TicketId,
    ) -> Result<(Group, Ticket)> {
        let ticket = repo::ticket_by_id(self.db.conn(), ticket)
            .await?
            .ok_or(AppointmentError::TicketNotFound)?;
        let group = self.group(ticket.group_id).await?;
        // A ticket is someone's place in the queue: staff of another department learn nothing
        // of it, as for a missing ticket.
        authorize(
            principal,
            &Action::OperateWindow {
                department: group.department_id,
            },
        )
        .map_err(|e| {
            crate::service::hidden(AppointmentError::from(e), AppointmentError::TicketNotFound)
        })?;
        Ok((group, ticket))
    }

    /// Call the next ticket to a window: those transferred to it and those of the categories it
    /// serves, appointment lane first, then elderly and disabled, then the rest, each in queue order.
    /// `None` when nobody waits. The window must have finished (or skipped) its previous ticket.
    #[tracing::instrument(skip_all, err)]
    pub async fn call_next(
        &self,
        principal: &Principal,
        window: ResourceId,
        origin: &Origin,
    ) -> Result<Option<TicketView>> {
        let (group, window) = self.operated_window(principal, window).await?;
        let category_ids: Vec<CategoryId> = self
            .categories(group.id)
            .await?
            .into_iter()
            .filter(|c| window.categories.contains(&c.code))
            .map(|c| c.id)
            .collect();
        let who = actor(principal);
        let called = self
            .retrying(|| async {
                let now = self.clock.now();
                let tx = self.db.begin().await?;
                let version = repo::bump_board(&tx, group.id).await?;
                if let Some(open) = repo::open_at_window(&tx, window.id).await? {
                    rollback(tx).await;
                    return Err(AppointmentError::WindowBusy(open.number));
                }
                let candidates = repo::next_for_window(
                    &tx,
                    group.id,
                    china_date(now),
                    window.id,
                    &category_ids,
                    5,
                )
                .await?;
                let mut chosen = None;
                for ticket in candidates {
                    if repo::call_ticket(&tx, ticket.id, TicketStatus::Waiting, window.id, now)
                        .await?
                    {
                        chosen = Some(ticket);
                        break;
                    }
                }
                let Some(ticket) = chosen else {
                    rollback(tx).await;
                    return Ok(None);
                };
                audit_entry(
                    &tx,
                    now,
                    &who,
                    "queue.call",
                    &format!("ticket:{}", ticket.id),
                    origin,
                    json!({ "number": ticket.number, "window": window.code }),
                )
                .await?;
                commit(tx).await?;
                self.changed(
                    group.id,
                    version,
                    BoardEventKind::Called {
                        number: ticket.number.clone(),
                        window_id: window.id,
                        window_name: window.name.clone(),
                    },
                );
                Ok(Some(ticket.id))
            })
            .await?;
        match called {
            Some(id) => Ok(Some(self.ticket(id).await?)),
            None => Ok(None),
        }
    }

    /// Call a ticket again: announce a called ticket once more, or bring back a skipped ticket of
    /// today whose person arrived late (the window must be free).
    #[tracing::instrument(skip_all, err)]
    pub async fn recall(
        &self,
        principal: &Principal,
        window: ResourceId,
        ticket: TicketId,
        origin: &Origin,
    ) -> Result<TicketView> {
        let (group, window) = self.operated_window(principal, window).await?;
        let ticket = repo::ticket_by_id(self.db.conn(), ticket)
            .await?
            .filter(|t| t.group_id == group.id)
            .ok_or(AppointmentError::TicketNotFound)?;
        let who = actor(principal);
        self.retrying(|| async {
            let now = self.clock.now();
            let tx = self.db.begin().await?;
            let version = repo::bump_board(&tx, group.id).await?;
            let current = repo::ticket_by_id(&tx, ticket.id)
                .await?
                .ok_or(AppointmentError::TicketNotFound)?;
            let done = match current.status {
                TicketStatus::Called if current.window_id == Some(window.id) => {
                    repo::recall_ticket(&tx, current.id).await?
                }
                TicketStatus::Skipped if current.day == china_date(now) => {
                    if let Some(open) = repo::open_at_window(&tx, window.id).await? {
                        rollback(tx).await;
                        return Err(AppointmentError::WindowBusy(open.number));
                    }
                    repo::call_ticket(&tx, current.id, TicketStatus::Skipped, window.id, now)
                        .await?
                }
                _ => false,
            };
            if !done {
                rollback(tx).await;
                return Err(wrong_state(&current, "recalled"));
            }
            audit_entry(
                &tx,
                now,
                &who,
                "queue.recall",
                &format!("ticket:{}", current.id),
                origin,
                json!({ "number": current.number, "window": window.code }),
            )
            .await?;
            commit(tx).await?;
            self.changed(
                group.id,
                version,
                BoardEventKind::Called {
                    number: current.number.clone(),
                    window_id: window.id,
                    window_name: window.name.clone(),
                },
            );
            Ok(())
        })
        .await?;
        self.ticket(ticket.id).await
    }

    /// Move a ticket from one state to another as its window's staff.
    async fn step(
        &self,
        principal: &Principal,
        ticket: TicketId,
        from: &[TicketStatus],
        to: TicketStatus,
        action: &'static str,
        origin: &Origin,
    ) -> Result<TicketView> {
        let (group, ticket) = self.operated_ticket(principal, ticket).await?;
        let who = actor(principal);
        self.retrying(|| async {
            let now = self.clock.now();
            let tx = self.db.begin().await?;
            let version = repo::bump_board(&tx, group.id).await?;
            if !repo::set_ticket_status(&tx, ticket.id, from, to, now).await? {
                rollback(tx).await;
                let current = repo::ticket_by_id(self.db.conn(), ticket.id)
                    .await?
                    .ok_or(AppointmentError::TicketNotFound)?;
                return Err(wrong_state(&current, action));
            }
            if to == TicketStatus::Done {
                self.mark_served(&tx, &ticket, now).await?;
            }
            audit_entry(
                &tx,
                now,
                &who,
                &format!("queue.{}", to.code()),
                &format!("ticket:{}", ticket.id),
                origin,
                json!({ "number": ticket.number }),
            )
            .await?;
            commit(tx).await?;
            self.changed(group.id, version, BoardEventKind::Changed);
            Ok(())
        })
        .await?;
        self.ticket(ticket.id).await
    }

    /// The called person came to the window: serving starts.
    pub async fn start_serving(
        &self,
        principal: &Principal,
        ticket: TicketId,
        origin: &Origin,
    ) -> Result<TicketView> {
        self.step(
            principal,
            ticket,
            &[TicketStatus::Called],
            TicketStatus::Serving,
            "served",
            origin,
        )
        .await
    }

    /// 过号: the called person did not come. They may be recalled later the same day.
    pub async fn skip(
        &self,
        principal: &Principal,
        ticket: TicketId,
        origin: &Origin,
    ) -> Result<TicketView> {
        self.step(
            principal,
            ticket,
            &[TicketStatus::Called],
            TicketStatus::Skipped,
            "skipped",
            origin,
        )
        .await
    }

    /// Done with the ticket (a checked-in booking becomes served).
    pub async fn finish(
        &self,
        principal: &Principal,
        ticket: TicketId,
        origin: &Origin,
    ) -> Result<TicketView> {
        self.step(
            principal,
            ticket,
            &[TicketStatus::Called, TicketStatus::Serving],
            TicketStatus::Done,
            "finished",
            origin,
        )
        .await
    }

    async fn mark_served(
        &self,
        tx: &DatabaseTransaction,
        ticket: &Ticket,
        now: DateTime<Utc>,
    ) -> Result<()> {
        if let Some(booking) = ticket.booking_id {
            repo::set_booking_status(
                tx,
                booking,
                BookingStatus::CheckedIn,
                BookingStatus::Served,
                now,
            )
            .await?;
        }
        Ok(())
    }

    /// Send a called or served ticket on to another window or category. The ticket ends as
    /// `transferred`; a new ticket with the same number and lane waits at the target, keeping its
    /// place by the time first taken. Returns the new ticket.
    #[tracing::instrument(skip_all, err)]
    pub async fn transfer(
        &self,
        principal: &Principal,
        ticket: TicketId,
        target: &TransferTarget,
        origin: &Origin,
    ) -> Result<TicketView> {
        let (group, ticket) = self.operated_ticket(principal, ticket).await?;
        let (category, target_window) = match target {
            TransferTarget::Window(w) => {
                let window = repo::resource_by_id(self.db.conn(), *w)
                    .await?
                    .filter(|r| r.group_id == group.id && r.active)
                    .ok_or(AppointmentError::ResourceNotFound)?;
                (ticket.category_id, Some(window.id))
            }
            TransferTarget::Category(code) => {
                let category = self
                    .categories(group.id)
                    .await?
                    .into_iter()
                    .find(|c| &c.code == code)
                    .ok_or(AppointmentError::CategoryNotFound)?;
                (category.id, None)
            }
        };
        let who = actor(principal);
        let id = self
            .retrying(|| async {
                let now = self.clock.now();
                let tx = self.db.begin().await?;
                let version = repo::bump_board(&tx, group.id).await?;
                if !repo::set_ticket_status(
                    &tx,
                    ticket.id,
                    &[TicketStatus::Called, TicketStatus::Serving],
                    TicketStatus::Transferred,
                    now,
                )
                .await?
                {
                    rollback(tx).await;
                    return Err(wrong_state(&ticket, "transferred"));
                }
                self.mark_served(&tx, &ticket, now).await?;
                let id = repo::insert_ticket(
                    &tx,
                    &NewTicket {
                        group: group.id,
                        day: ticket.day,
                        number: &ticket.number,
                        category,
                        lane: ticket.lane,
                        person: ticket.person_id,
                        booking: None,
                        target_window,
                        transferred_from: Some(ticket.id),
                        queued_at: ticket.queued_at,
                    },
                    now,
                )
                .await?;
                audit_entry(
                    &tx,
                    now,
                    &who,
                    "queue.transfer",
                    &format!("ticket:{}", ticket.id),
                    origin,
                    json!({ "number": ticket.number, "new_ticket": id.get(),
                            "window": target_window.map(ResourceId::get), "category": category.get() }),
                )
                .await?;
                commit(tx).await?;
                self.changed(group.id, version, BoardEventKind::Changed);
                Ok(id)
            })
            .await?;
        self.ticket(id).await
    }

    /// End the hall's day now: every ticket still open is abandoned. Returns how many.
    #[tracing::instrument(skip_all, err)]
    pub async fn close_day(
        &self,
        principal: &Principal,
        group: GroupId,
        origin: &Origin,
    ) -> Result<u64> {
        let group = self.group(group).await?;
        authorize(
            principal,
            &Action::OperateWindow {
                department: group.department_id,
            },
        )?;
        self.abandon(&group, self.today(), &actor(principal), origin)
            .await
    }

    async fn abandon(
        &self,
        group: &Group,
        day: NaiveDate,
        who: &str,
        origin: &Origin,
    ) -> Result<u64> {
        self.retrying(|| async {
            let now = self.clock.now();
            let tx = self.db.begin().await?;
            let version = repo::bump_board(&tx, group.id).await?;
            let n = repo::abandon_open(&tx, group.id, day, now).await?;
            if n == 0 {
                rollback(tx).await;
                return Ok(0);
            }
            audit_entry(
                &tx,
                now,
                who,
                "queue.abandon",
                &format!("appt_group:{}", group.code),
                origin,
                json!({ "day": day.to_string(), "tickets": n }),
            )
            .await?;
            commit(tx).await?;
            self.changed(group.id, version, BoardEventKind::Changed);
            Ok(n)
        })
        .await
    }

    /// Abandon tickets left open on days before today, in every hall.
    pub(crate) async fn abandon_past_days(&self) -> Result<u64> {
        let origin = Origin::new("worker");
        let mut total = 0;
        for (group, day) in repo::open_days_before(self.db.conn(), self.today()).await? {
            let group = self.group(group).await?;
            total += self.abandon(&group, day, "system", &origin).await?;
        }
        Ok(total)
    }

    fn changed(&self, group: GroupId, version: u64, kind: BoardEventKind) {
        self.boards.publish(BoardEvent {
            group_id: group,
            version,
            kind,
        });
    }

    // ----- reading the queue -----

    /// A ticket with the people ahead and the estimated wait (public: it shows no personal data).
    pub async fn ticket(&self, id: TicketId) -> Result<TicketView> {
        let ticket = repo::ticket_by_id(self.db.conn(), id)
            .await?
            .ok_or(AppointmentError::TicketNotFound)?;
        let group = self.group(ticket.group_id).await?;
        self.view(&group, ticket).await
    }

    /// Average handling seconds of a category's recently finished tickets, or the group's default.
    async fn handling_seconds(&self, group: &Group, category: CategoryId) -> Result<f64> {
        let queue = &group.policy.queue;
        let samples = repo::handling_samples(
            self.db.conn(),
            category,
            self.clock.now() - self.config.handling_window,
            i64::from(queue.handling_sample.max(1)),
        )
        .await?;
        let default = f64::from(queue.default_handling_minutes) * 60.0;
        if samples.len() < MIN_HANDLING_SAMPLES {
            return Ok(default);
        }
        let durations: Vec<f64> = samples
            .iter()
            .map(|(start, end)| seconds_between(*start, *end))
            .collect();
        Ok(average(&durations).unwrap_or(default))
    }

    /// Windows in use that call a category.
    fn windows_for(resources: &[Resource], category: &str) -> usize {
        resources
            .iter()
            .filter(|r| r.active && r.categories.iter().any(|c| c == category))
            .count()
    }

    async fn view(&self, group: &Group, ticket: Ticket) -> Result<TicketView> {
        let categories = self.categories(group.id).await?;
        let resources = self.resources(group.id).await?;
        let category_name = categories
            .iter()
            .find(|c| c.id == ticket.category_id)
            .map(|c| c.name.clone())
            .unwrap_or_default();
        let window_name = ticket
            .window_id
            .and_then(|w| resources.iter().find(|r| r.id == w))
            .map(|r| r.name.clone());
        let (ahead, estimated_wait_minutes) = if ticket.status == TicketStatus::Waiting {
            let ahead = repo::waiting_ahead(self.db.conn(), &ticket).await?;
            let handling = self.handling_seconds(group, ticket.category_id).await?;
            // A ticket sent to one window waits for that window alone.
            let windows = if ticket.target_window_id.is_some() {
                1
            } else {
                Self::windows_for(&resources, &ticket.category_code)
            };
            (ahead, estimate_minutes(ahead, handling, windows))
        } else {
            (0, 0)
        };
        Ok(TicketView {
            ticket,
            category_name,
            window_name,
            ahead,
            estimated_wait_minutes,
        })
    }

    /// The ticket a window has called or is serving, for its workbench.
    pub async fn window_ticket(
        &self,
        principal: &Principal,
        window: ResourceId,
    ) -> Result<Option<TicketView>> {
        let (group, window) = self.operated_window(principal, window).await?;
        match repo::open_at_window(self.db.conn(), window.id).await? {
            Some(ticket) => Ok(Some(self.view(&group, ticket).await?)),
            None => Ok(None),
        }
    }

    /// A window's console: its group, the window, and today's tickets it would call (sent to it, or
    /// of its categories and not sent to another window) in queue order, and those it skipped.
    pub async fn window_queue(
        &self,
        principal: &Principal,
        window: ResourceId,
    ) -> Result<WindowQueue> {
        let (group, window) = self.operated_window(principal, window).await?;
        let tickets = repo::tickets_of_day(self.db.conn(), group.id, self.today()).await?;
        let mut waiting = Vec::new();
        let mut skipped = Vec::new();
        for t in tickets {
            match t.status {
                TicketStatus::Waiting
                    if t.target_window_id.map_or_else(
                        || window.categories.contains(&t.category_code),
                        |target| target == window.id,
                    ) =>
                {
                    waiting.push(t);
                }
                TicketStatus::Skipped if t.window_id == Some(window.id) => skipped.push(t),
                _ => {}
            }
        }
        waiting.sort_by_key(|t| (t.lane.rank(), t.queued_at, t.id));
        Ok(WindowQueue {
            group,
            window,
            waiting,
            skipped,
        })
    }

    /// What the hall's board shows now.
    pub async fn board(&self, group: GroupId) -> Result<Board> {
        let group = self.group(group).await?;
        let version = repo::board_version(self.db.conn(), group.id).await?;
        let day = self.today();
        let tickets = repo::tickets_of_day(self.db.conn(), group.id, day).await?;
        let resources = self.resources(group.id).await?;
        let mut calling: Vec<BoardCall> = tickets
            .iter()
            .filter(|t| matches!(t.status, TicketStatus::Called | TicketStatus::Serving))
            .filter_map(|t| {
                let window = resources.iter().find(|r| Some(r.id) == t.window_id)?;
                Some(BoardCall {
                    number: t.number.clone(),
                    window_id: window.id,
                    window_name: window.name.clone(),
                    status: t.status,
                    called_at: t.called_at,
                })
            })
            .collect();
        calling.sort_by_key(|c| std::cmp::Reverse(c.called_at));
        let mut queues = Vec::new();
        for category in self.categories(group.id).await? {
            let waiting = tickets
                .iter()
                .filter(|t| t.category_id == category.id && t.status == TicketStatus::Waiting)
                .count() as u32;
            let handling = self.handling_seconds(&group, category.id).await?;
            let windows = Self::windows_for(&resources, &category.code);
            queues.push(BoardQueue {
                estimated_wait_minutes: estimate_minutes(waiting, handling, windows),
                category: category.code,
                name: category.name,
                waiting,
            });
        }
        Ok(Board {
            group_id: group.id,
            day,
            version,
            calling,
            queues,
        })
    }

    /// A day's statistics per window and per category: tickets, served, skipped, abandoned,
    /// transferred, average wait (taken → first call) and average handling time (serving → done).
    pub async fn daily_stats(
        &self,
        principal: &Principal,
        group: GroupId,
        day: NaiveDate,
    ) -> Result<DailyStats> {
        let group = self.group(group).await?;
        staff_may_see(principal, group.department_id)?;
        let tickets = repo::tickets_of_day(self.db.conn(), group.id, day).await?;
        let resources = self.resources(group.id).await?;
        let categories = self.categories(group.id).await?;
        let mut by_window: HashMap<ResourceId, Tally> = HashMap::new();
        let mut by_category: HashMap<CategoryId, Tally> = HashMap::new();
        for t in &tickets {
            by_category.entry(t.category_id).or_default().add(t);
            if let Some(w) = t.window_id {
                by_window.entry(w).or_default().add(t);
            }
        }
        Ok(DailyStats {
            group_id: group.id,
            day,
            by_window: resources
                .iter()
                .filter_map(|r| {
                    by_window
                        .remove(&r.id)
                        .map(|tally| tally.row(r.code.clone(), r.name.clone()))
                })
                .collect(),
            by_category: categories
                .iter()
                .filter_map(|c| {
                    by_category
                        .remove(&c.id)
                        .map(|tally| tally.row(c.code.clone(), c.name.clone()))
                })
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::estimate_minutes;

    #[test]
    fn estimates_round_up_and_share_across_windows() {
        assert_eq!(estimate_minutes(0, 600.0, 1), 0);
        assert_eq!(estimate_minutes(2, 600.0, 1), 20);
        assert_eq!(estimate_minutes(3, 600.0, 2), 15);
        assert_eq!(estimate_minutes(1, 90.0, 1), 2);
        assert_eq!(estimate_minutes(4, 600.0, 0), 40);
    }
}
