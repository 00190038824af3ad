//! The `notify.sms` and `notify.email` outbox jobs: written sealed in the caller's transaction, opened,
//! rendered and delivered by the worker.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use rand::CryptoRng;
use serde_json::json;
use yiwang_db::jobs::{self, Job, NewJob, Worker};
use yiwang_db::{ConnectionTrait, DbError};
use yiwang_kernel::Mobile;

use crate::message::{Email, MessageSender, SendError, Sms};
use crate::template::render_message;

/// The job kind that sends an SMS.
pub const SMS_JOB: &str = "notify.sms";
/// The job kind that sends an email.
pub const EMAIL_JOB: &str = "notify.email";

/// Seals message payloads at rest. The server's is the identity domain's PII protector, so messages are
/// sealed under the configured PII key; the seal binds its own purpose, so a sealed message cannot be
/// passed off as another sealed field.
pub trait MessageSeal: Send + Sync + fmt::Debug {
    /// Encrypt a message's JSON text.
    fn seal_text(&self, text: &str, rng: &mut impl CryptoRng) -> String;
    /// Decrypt what [`MessageSeal::seal_text`] produced; the error says why it does not open.
    fn open_text(&self, sealed: &str) -> Result<String, String>;
}

/// Callers hold their seal in an `Arc`, shared with the worker.
impl<S: MessageSeal + ?Sized> MessageSeal for Arc<S> {
    fn seal_text(&self, text: &str, rng: &mut impl CryptoRng) -> String {
        self.as_ref().seal_text(text, rng)
    }

    fn open_text(&self, sealed: &str) -> Result<String, String> {
        self.as_ref().open_text(sealed)
    }
}

/// Seal an outbox message (`{"to", "template", "params"}`) into a job payload `{"sealed": "<hex>"}`.
pub fn seal_message<S: MessageSeal + ?Sized>(
    seal: &S,
    message: &serde_json::Value,
    rng: &mut impl CryptoRng,
) -> serde_json::Value {
    json!({ "sealed": seal.seal_text(&message.to_string(), rng) })
}

/// Open a sealed job payload back into the message.
pub fn open_message<S: MessageSeal + ?Sized>(
    seal: &S,
    payload: &serde_json::Value,
) -> Result<serde_json::Value, SendError> {
    let sealed = payload
        .get("sealed")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| SendError::Malformed("the message is not sealed".to_owned()))?;
    let text = seal
        .open_text(sealed)
        .map_err(|e| SendError::Malformed(format!("the message does not open: {e}")))?;
    serde_json::from_str(&text)
        .map_err(|e| SendError::Malformed(format!("the message is not JSON: {e}")))
}

/// Who receives a message, which also chooses the channel.
#[derive(Clone, Copy)]
pub enum Recipient<'a> {
    Sms(&'a Mobile),
    Email(&'a str),
}

impl fmt::Debug for Recipient<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Recipient::Sms(mobile) => f.debug_tuple("Sms").field(mobile).finish(),
            Recipient::Email(to) => f
                .debug_tuple("Email")
                .field(&crate::message::mask_email(to))
                .finish(),
        }
    }
}

/// A message to write to the outbox: recipient, template and the template's parameters.
#[derive(Clone)]
pub struct OutboxMessage<'a> {
    pub to: Recipient<'a>,
    pub template: &'a str,
    pub params: serde_json::Value,
    /// Attempts before the job fails for good; [`NewJob::DEFAULT_MAX_ATTEMPTS`] unless set. A message
    /// that is useless after a while (a one-time code) should give up sooner.
    pub max_attempts: u32,
}

impl fmt::Debug for OutboxMessage<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The parameters may hold a one-time code.
        f.debug_struct("OutboxMessage")
            .field("to", &self.to)
            .field("template", &self.template)
            .finish_non_exhaustive()
    }
}

impl<'a> OutboxMessage<'a> {
    pub fn new(to: Recipient<'a>, template: &'a str, params: serde_json::Value) -> Self {
        Self {
            to,
            template,
            params,
            max_attempts: NewJob::DEFAULT_MAX_ATTEMPTS,
        }
    }

    #[must_use]
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts;
        self
    }
}

/// Write a message job in the caller's transaction (or connection), sealed with `seal`, so it is sent
/// if and only if the caller commits. Returns the job's id.
#[tracing::instrument(skip_all, err, fields(template = message.template))]
pub async fn enqueue<C: ConnectionTrait, S: MessageSeal + ?Sized>(
    conn: &C,
    now: DateTime<Utc>,
    seal: &S,
    message: &OutboxMessage<'_>,
    rng: &mut impl CryptoRng,
) -> Result<i64, DbError> {
    let (kind, to) = match message.to {
        Recipient::Sms(mobile) => (SMS_JOB, mobile.as_str()),
        Recipient::Email(address) => (EMAIL_JOB, address),
    };
    let payload = seal_message(
        seal,
        &json!({ "to": to, "template": message.template, "params": message.params }),
        rng,
    );
    let job = NewJob::new(kind, payload).max_attempts(message.max_attempts);
    jobs::enqueue(conn, now, &job).await?.ok_or_else(|| {
        DbError::Corrupt("a message job without a dedupe key was not written".to_owned())
    })
}

fn payload_field<'a>(job: &'a Job, name: &str) -> Result<&'a serde_json::Value, SendError> {
    job.payload
        .get(name)
        .ok_or_else(|| SendError::Malformed(format!("job {} has no {name:?}", job.id)))
}

fn payload_text(job: &Job, name: &str) -> Result<String, SendError> {
    payload_field(job, name)?
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| SendError::Malformed(format!("job {}: {name:?} is not text", job.id)))
}

/// Parse a sealed `notify.sms` job: `{"to": "<mobile>", "template": "…", "params": {…}}` inside.
pub fn sms_of<S: MessageSeal + ?Sized>(job: &Job, seal: &S) -> Result<Sms, SendError> {
    let job = &Job {
        payload: open_message(seal, &job.payload)?,
        ..job.clone()
    };
    let to = Mobile::parse(&payload_text(job, "to")?)
        .map_err(|e| SendError::Malformed(format!("job {}: to: {e}", job.id)))?;
    let (_, text) = render_message(
        &payload_text(job, "template")?,
        payload_field(job, "params")?,
    )?;
    Ok(Sms { to, text })
}

/// Parse a sealed `notify.email` job: `{"to": "<address>", "template": "…", "params": {…}}` inside.
pub fn email_of<S: MessageSeal + ?Sized>(job: &Job, seal: &S) -> Result<Email, SendError> {
    let job = &Job {
        payload: open_message(seal, &job.payload)?,
        ..job.clone()
    };
    let to = payload_text(job, "to")?;
    if !to.contains('@') {
        return Err(SendError::Malformed(format!(
            "job {}: to is not an email address",
            job.id
        )));
    }
    let (subject, text) = render_message(
        &payload_text(job, "template")?,
        payload_field(job, "params")?,
    )?;
    Ok(Email { to, subject, text })
}

/// Register the `notify.sms` and `notify.email` handlers, opening sealed messages with `seal` and
/// delivering through `sender`.
pub fn register_notify_handlers<S: MessageSeal + 'static>(
    worker: &mut Worker,
    sender: Arc<dyn MessageSender>,
    seal: Arc<S>,
) {
    let sms_sender = Arc::clone(&sender);
    let sms_seal = Arc::clone(&seal);
    worker.register(SMS_JOB, move |job: Job| {
        let sender = Arc::clone(&sms_sender);
        let seal = Arc::clone(&sms_seal);
        async move {
            let sms = sms_of(&job, seal.as_ref()).map_err(|e| e.to_string())?;
            sender.send_sms(&sms).await.map_err(|e| e.to_string())
        }
    });
    worker.register(EMAIL_JOB, move |job: Job| {
        let sender = Arc::clone(&sender);
        let seal = Arc::clone(&seal);
        async move {
            let email = email_of(&job, seal.as_ref()).map_err(|e| e.to_string())?;
            sender.send_email(&email).await.map_err(|e| e.to_string())
        }
    });
}
