//! Yiwang ratings (好差评): one rating per service event and person (一次一评) — a concluded case, a
//! served hall ticket, a kept appointment, and (through the same interface, once that module
//! lands) a closed citizen request — with levels GB/T 39046 A.8, reason tags per level, free text
//! and one 追评; channels web, mobile, window tablet, one-use SMS links and staff phone entry.
//! Every 差评 (levels 4–5) opens a rectification task on the working-day calendar (待核实 → 整改中 →
//! 已整改 → 回访 → 办结) with appeals (申诉) decided by a supervisor; supervisors urge (督办)
//! departments; the monthly figures and the 差评 list are public, raters masked.
//!
//! - [`model`]: ids, events, levels, tags, channels, states and views.
//! - [`machine`]: the rectification rules as one pure function.
//! - [`token`]: SMS rating links (HMAC-SM3, one use).
//! - [`indicators`]: performance indicators (绩效) and the scoreboard as pure values.
//! - [`service`]: the use cases ([`Ratings`]); [`repo`]: all SQL.
//! - [`survey`]: surveys (测评), built, published, answered and counted ([`Ratings::surveys`]).
//!
//! Other domains are read through their `reads` modules inside this crate's transactions:
//! `yiwang_cases::reads` (who applied, department, item), `yiwang_appointments::reads` (ticket and
//! booking, hall, window), `yiwang_identity::reads` (names and mobiles).

pub mod error;
pub mod indicators;
pub mod machine;
pub mod model;
pub mod repo;
pub mod service;
pub mod survey;
pub mod token;

pub use error::RatingError;
pub use model::{EventKind, EventRef, Level, NewRating, RatingView, Rectification};
pub use service::{NOTIFY_JOB, Ratings, RatingsConfig};

/// Registers the handler of [`NOTIFY_JOB`]: department-facing notices (a task opened or overdue,
/// an urging, an appeal) are written to the log as 电子监察 lines; the pages read the tasks
/// themselves. Messages to raters go through `notify.sms`.
pub fn register_handlers(worker: &mut yiwang_db::jobs::Worker) {
    worker.register(NOTIFY_JOB, |job| async move {
        tracing::info!(target: "yiwang::ratings", payload = %job.payload, "rating notice");
        Ok(())
    });
}

/// Registers the handler of [`yiwang_cases::service::CONCLUDED_JOB`]: the applicant of a concluded
/// case is invited by SMS to rate it (a one-use link). A case already rated, one that is gone or no
/// longer concluded, or an applicant without a mobile number is nothing to do; any other failure
/// is retried like every job. With `invite` off the job is completed without a message.
pub fn register_invitations(worker: &mut yiwang_db::jobs::Worker, ratings: Ratings, invite: bool) {
    worker.register(yiwang_cases::service::CONCLUDED_JOB, move |job| {
        let ratings = ratings.clone();
        async move {
            if !invite {
                return Ok(());
            }
            let case = job
                .payload
                .get("case")
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| format!("job {} has no case id", job.id))?;
            let event = EventRef {
                kind: EventKind::Case,
                id: case,
            };
            ratings
                .invite_on_conclusion(event)
                .await
                .map(|_| ())
                .map_err(|error| error.to_string())
        }
    });
}
