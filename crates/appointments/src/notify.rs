//! Messages about bookings: reminders before the slot and notices of a waitlist place, delivered
//! through the outbox. Jobs carry only the booking id; the handler reads the booking when it runs (a
//! booking cancelled meanwhile gets no reminder) and hands a [`Notice`] to a [`Notifier`], which the
//! server plugs in (SMS through the identity crate's sender, with the person's number; or the
//! [`LogNotifier`]).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use yiwang_db::jobs::{Job, Worker};
use yiwang_identity::model::PersonId;
use yiwang_kernel::china_offset;

use crate::model::{BookingDetails, BookingId, BookingStatus};
use crate::service::{Appointments, PROMOTED_JOB, REMIND_JOB, SWEEP_JOB};

/// What a notice is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeKind {
    /// The booking is coming up.
    Reminder,
    /// A place freed by a cancellation was booked for the waitlisted person.
    WaitlistBooked,
}

/// A message for one person about one booking, with its text in Chinese (the language of SMS in
/// China).
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub kind: NoticeKind,
    pub person: PersonId,
    pub booking: BookingId,
    pub starts_at: DateTime<Utc>,
    pub text: String,
}

impl fmt::Debug for Notice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The text holds the booking code, which checks the booking in: keep it out of logs.
        f.debug_struct("Notice")
            .field("kind", &self.kind)
            .field("person", &self.person)
            .field("booking", &self.booking)
            .finish_non_exhaustive()
    }
}

pub type NotifyFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Delivers notices; an error fails the job, which the queue retries with backoff.
pub trait Notifier: Send + Sync + fmt::Debug {
    fn notify<'a>(&'a self, notice: &'a Notice) -> NotifyFuture<'a>;
}

/// Logs each notice instead of sending it (demo and test installations).
#[derive(Debug, Clone, Copy, Default)]
pub struct LogNotifier;

impl Notifier for LogNotifier {
    fn notify<'a>(&'a self, notice: &'a Notice) -> NotifyFuture<'a> {
        Box::pin(async move {
            tracing::info!(kind = ?notice.kind, person = %notice.person, booking = %notice.booking,
                "appointment notice (log notifier, not delivered)");
            Ok(())
        })
    }
}

/// `3月10日 09:30` in China time.
pub fn china_time(at: DateTime<Utc>) -> String {
    at.with_timezone(&china_offset())
        .format("%-m月%-d日 %H:%M")
        .to_string()
}

fn place(details: &BookingDetails) -> String {
    if details.resource_title.is_empty() {
        format!("{}{}", details.group_name, details.resource_name)
    } else {
        format!(
            "{}{}（{}）",
            details.group_name, details.resource_name, details.resource_title
        )
    }
}

/// The notice of a booking, or `None` when there is nothing to say any more (cancelled, or already
/// checked in).
pub fn notice(kind: NoticeKind, details: &BookingDetails) -> Option<Notice> {
    let booking = &details.booking;
    if booking.status != BookingStatus::Booked {
        return None;
    }
    let when = china_time(booking.starts_at);
    let address = if details.address.is_empty() {
        String::new()
    } else {
        format!("地址：{}。", details.address)
    };
    let text = match kind {
        NoticeKind::Reminder => format!(
            "【一网】您预约的{}将于{when}开始，预约码{}，请提前到达并签到。{address}如不能前往，请于{}前取消。",
            place(details),
            booking.code,
            china_time(details.cancel_until),
        ),
        NoticeKind::WaitlistBooked => format!(
            "【一网】候补成功：已为您预约{} {when}，预约码{}。{address}如不能前往，请于{}前取消。",
            place(details),
            booking.code,
            china_time(details.cancel_until),
        ),
    };
    Some(Notice {
        kind,
        person: booking.person_id,
        booking: booking.id,
        starts_at: booking.starts_at,
        text,
    })
}

fn booking_of(job: &Job) -> Result<BookingId, String> {
    job.payload
        .get("booking_id")
        .and_then(serde_json::Value::as_i64)
        .map(BookingId::new)
        .ok_or_else(|| format!("job {}: no booking_id", job.id))
}

async fn deliver(
    service: &Appointments,
    notifier: &dyn Notifier,
    kind: NoticeKind,
    job: &Job,
) -> Result<(), String> {
    let id = booking_of(job)?;
    let details = service
        .booking_for_job(id)
        .await
        .map_err(|e| e.to_string())?;
    match details.as_ref().and_then(|d| notice(kind, d)) {
        Some(notice) => notifier.notify(&notice).await,
        // Cancelled, checked in or gone: nothing to send, and nothing to retry.
        None => Ok(()),
    }
}

/// Register the appointment jobs on a worker: reminders and waitlist notices go to `notifier`; the
/// sweep job runs [`Appointments::run_maintenance`].
pub fn register_handlers(worker: &mut Worker, service: Appointments, notifier: Arc<dyn Notifier>) {
    for (kind, notice_kind, notifier) in [
        (REMIND_JOB, NoticeKind::Reminder, Arc::clone(&notifier)),
        (PROMOTED_JOB, NoticeKind::WaitlistBooked, notifier),
    ] {
        let service = service.clone();
        worker.register(kind, move |job: Job| {
            let service = service.clone();
            let notifier = Arc::clone(&notifier);
            async move { deliver(&service, notifier.as_ref(), notice_kind, &job).await }
        });
    }
    worker.register(SWEEP_JOB, move |_job: Job| {
        let service = service.clone();
        async move {
            service
                .run_maintenance()
                .await
                .map(|_| ())
                .map_err(|e| e.to_string())
        }
    });
}
