//! Appointment and queue tests on SQLite and (when configured) PostgreSQL: release times and
//! cut-offs, one booking per day, idempotency, waitlist, no-shows and suspension, reminders, the
//! calendar file, the queue (priority lanes, windows, transfer, skip and recall, estimated waits,
//! board, statistics) and the flash crowd.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::many_single_char_names,
    reason = "tests fail loudly; people in a scenario are p, q, r"
)]

mod booking;
mod flash;
mod queue;
mod support;
