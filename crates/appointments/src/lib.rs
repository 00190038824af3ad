//! Yiwang appointments (预约 / 号源 / 放号) and the service-hall queue (取号叫号), one model: a booking
//! checks in at the hall as a ticket in the appointment lane.
//!
//! - [`model`]: groups (halls, hospital departments), resources (windows, doctors), schedules, release
//!   and booking rules, slots, bookings, waitlist, suspensions, queue categories and tickets.
//! - [`repo`]: all SQL.
//! - [`service`]: set-up, booking under flash crowds, cancellation and waitlist, no-shows, maintenance
//!   ([`Appointments`]).
//! - [`queue`]: tickets, windows, board, estimated waits, daily statistics.
//! - [`notify`]: reminders and waitlist notices through the outbox ([`Notifier`]).
//! - [`ics`]: a booking as an iCalendar file.

pub mod error;
pub mod ics;
pub mod model;
pub mod notify;
pub mod queue;
pub mod reads;
pub mod repo;
pub mod service;

pub use error::AppointmentError;
pub use notify::{LogNotifier, Notice, NoticeKind, Notifier, register_handlers};
pub use service::{Appointments, AppointmentsConfig, ContentionStats, Origin};
