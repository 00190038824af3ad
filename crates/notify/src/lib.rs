//! Yiwang notifications, beside the outbox and usable by every domain: the messages (SMS, email), the
//! senders that deliver them (the log sender, an SMTP relay, a router that sends SMS and email through
//! different senders), the templates that turn a template name and parameters into text, and the
//! `notify.sms` / `notify.email` outbox jobs.
//!
//! A domain that notifies someone writes the job with [`enqueue`] in its own transaction, next to the
//! state change and its audit entry, so the message goes out exactly when the change is committed. The
//! job payload is sealed ([`MessageSeal`], the identity domain's PII key in the server), because job rows
//! are kept and neither the recipient nor a one-time code may rest in plain text. The server registers
//! [`register_notify_handlers`] on its worker with the configured [`MessageSender`].

pub mod message;
pub mod outbox;
pub mod smtp;
pub mod template;

pub use message::{
    Email, LogSender, MessageSender, RoutingSender, SendError, SendFuture, Sms, mask_email,
};
pub use outbox::{
    EMAIL_JOB, MessageSeal, OutboxMessage, Recipient, SMS_JOB, email_of, enqueue, open_message,
    register_notify_handlers, seal_message, sms_of,
};
pub use smtp::{SmtpConfig, SmtpConfigError, SmtpCredentials, SmtpSender, SmtpTls};
pub use template::{NOTICE_TEMPLATE, RESET_TEMPLATE, render_message};
