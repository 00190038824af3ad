//! Resetting a forgotten password with a code sent by SMS, and the senders that deliver such messages.
//!
//! * A request names the account by mobile number or resident ID. When the account exists, is active
//!   and is under the hourly limit, one transaction writes the reset code (only its SM3 hash), an outbox
//!   job `notify.sms` carrying the code to the account's stored mobile number, and an audit entry. The
//!   answer is the same in every case, so nobody can learn which numbers have an account.
//! * At most [`RecoveryPolicy::max_per_hour`] codes are issued per person per rolling hour; further
//!   requests write nothing and are answered the same way.
//! * Only the newest code of a person counts (a new code supersedes older ones). It works once, for
//!   [`RecoveryPolicy::code_ttl`], and dies after [`RecoveryPolicy::max_attempts`] wrong tries. Every
//!   failure (wrong, expired, used, dead, unknown account) is the same error on the `code` field, again so
//!   that the answer does not reveal whether an account exists.
//! * A successful reset sets the new password (checked by [`password::check_rules`]), ends every session
//!   of the person and clears the failed-log-in lock-out.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rand::{CryptoRng, RngExt as _};
use serde_json::json;
use yiwang_db::Db;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_db::jobs::{self, Job, NewJob, Worker};
use yiwang_kernel::{Mobile, ResidentId, SharedClock};

use crate::IdentityError;
use crate::model::ClientMeta;
use crate::password::{self, PasswordCost};
use crate::pii::{PiiField, PiiProtector};
use crate::repo::{self, PersonIndex, PersonRow, RevokeWhich, credentials};

/// The job kind that sends an SMS.
pub const SMS_JOB: &str = "notify.sms";
/// The job kind that sends an email.
pub const EMAIL_JOB: &str = "notify.email";
/// The message template of a reset code.
pub const RESET_TEMPLATE: &str = "password_reset";
/// The generic message template: params `subject` and `text`, already rendered by the domain that
/// sends the notice (a case status change, a reminder…) and sent as they are.
pub const NOTICE_TEMPLATE: &str = "notice";

/// Limits of password reset.
#[derive(Debug, Clone, Copy)]
pub struct RecoveryPolicy {
    /// How long a code works.
    pub code_ttl: Duration,
    /// Wrong codes after which a code is dead.
    pub max_attempts: i64,
    /// Codes issued per person per rolling hour.
    pub max_per_hour: i64,
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        Self {
            code_ttl: Duration::minutes(15),
            max_attempts: 5,
            max_per_hour: 3,
        }
    }
}

/// What a reset request did. Callers must answer every outcome the same way; the distinction exists for
/// logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetRequested {
    /// A code was stored and an SMS job written.
    Sent,
    /// No active account has this mobile number or resident ID; nothing was written.
    NoAccount,
    /// The hourly limit was reached; nothing was written.
    Throttled,
}

/// Password reset, built once by the server from the same parts as [`crate::Accounts`].
#[derive(Clone)]
pub struct Recovery {
    db: Db,
    clock: SharedClock,
    pii: Arc<PiiProtector>,
    cost: PasswordCost,
    policy: RecoveryPolicy,
}

impl fmt::Debug for Recovery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Recovery")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

fn code_invalid() -> IdentityError {
    IdentityError::Invalid {
        field: "code",
        code: "reset_code_invalid",
        message: "the code is wrong, has expired or was already used; request a new code"
            .to_owned(),
    }
}

/// The SM3 hash stored for a code, bound to its person so equal codes of two people hash differently.
fn code_hash(person_id: i64, code: &str) -> String {
    yiwang_kernel::crypto::sm3_hex(format!("yiwang/password-reset/{person_id}/{code}").as_bytes())
}

fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// Six random digits, uniformly.
fn random_code(rng: &mut impl CryptoRng) -> String {
    format!("{:06}", rng.random_range(0..1_000_000_u32))
}

impl Recovery {
    pub fn new(
        db: Db,
        clock: SharedClock,
        pii: Arc<PiiProtector>,
        cost: PasswordCost,
        policy: RecoveryPolicy,
    ) -> Self {
        Self {
            db,
            clock,
            pii,
            cost,
            policy,
        }
    }

    pub fn policy(&self) -> RecoveryPolicy {
        self.policy
    }

    /// The person a login string (mobile number or resident ID) names, if any.
    async fn find_person<C: yiwang_db::ConnectionTrait>(
        &self,
        conn: &C,
        login: &str,
    ) -> Result<Option<PersonRow>, IdentityError> {
        let (column, index) = if let Ok(mobile) = Mobile::parse(login) {
            (
                PersonIndex::Mobile,
                self.pii.blind_index(PiiField::Mobile, mobile.as_str()),
            )
        } else if let Ok(id) = ResidentId::parse(login) {
            (
                PersonIndex::ResidentId,
                self.pii.blind_index(PiiField::ResidentId, id.as_str()),
            )
        } else {
            return Err(IdentityError::Invalid {
                field: "login",
                code: "login_invalid",
                message: "enter your mobile number or resident ID number".to_owned(),
            });
        };
        repo::person_by_index(conn, column, &index).await
    }

    /// Ask for a reset code. See the module documentation for what is written and when.
    #[tracing::instrument(skip_all, err)]
    pub async fn request_reset(
        &self,
        login: &str,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<ResetRequested, IdentityError> {
        let now = self.clock.now();
        let code = random_code(rng);
        let tx = self.db.begin().await?;
        let Some(row) = self.find_person(&tx, login).await? else {
            return Ok(ResetRequested::NoAccount);
        };
        if row.person.status != crate::model::AccountStatus::Active {
            return Ok(ResetRequested::NoAccount);
        }
        let issued =
            credentials::resets_since(&tx, row.person.id, now - Duration::hours(1)).await?;
        if issued >= self.policy.max_per_hour {
            tracing::info!(person = %row.person.public_id, "password reset throttled");
            return Ok(ResetRequested::Throttled);
        }
        // The code goes to the number on the account, whichever identifier was entered.
        let mobile = self.pii.open(PiiField::Mobile, &row.mobile_enc)?;
        let expires_at = now + self.policy.code_ttl;
        let reset_id = credentials::insert_reset(
            &tx,
            row.person.id,
            &code_hash(row.person.id.get(), &code),
            expires_at,
            &meta.ip,
            now,
        )
        .await?;
        let minutes = self.policy.code_ttl.num_minutes();
        jobs::enqueue(
            &tx,
            now,
            &NewJob::new(
                SMS_JOB,
                // Recipient and code are sealed: job rows are kept, and neither may rest in plain text.
                seal_message(
                    &self.pii,
                    &json!({
                        "to": mobile,
                        "template": RESET_TEMPLATE,
                        "params": { "code": code, "minutes": minutes },
                    }),
                    rng,
                ),
            )
            // A code is useless after it expires; retrying longer would only confuse.
            .max_attempts(4),
        )
        .await?;
        let resource = format!("person:{}", row.person.public_id);
        audit::append(
            &tx,
            now,
            &AuditEvent::new("anonymous", "person.password_reset_requested", &resource, &meta.ip)
                .detail(json!({ "reset": reset_id, "channel": "sms", "expires_at": yiwang_db::ts(expires_at) })),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(ResetRequested::Sent)
    }

    /// Set a new password with a reset code. On success every session of the person ends and the
    /// log-in lock-out is cleared.
    #[tracing::instrument(skip_all, err)]
    pub async fn reset_password(
        &self,
        login: &str,
        code: &str,
        new_password: &str,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<(), IdentityError> {
        let code = code.trim();
        let now = self.clock.now();
        let row = self
            .find_person(self.db.conn(), login)
            .await?
            .ok_or_else(code_invalid)?;
        let person = row.person.id;
        let Some(reset) = credentials::latest_reset(self.db.conn(), person).await? else {
            return Err(code_invalid());
        };
        let live = |r: &credentials::ResetRow, now: DateTime<Utc>| {
            r.used_at.is_none() && r.expires_at > now && r.attempts < self.policy.max_attempts
        };
        if !live(&reset, now) {
            return Err(code_invalid());
        }
        let resource = format!("person:{}", row.person.public_id);
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        if !well_formed || !same_secret(&code_hash(person.get(), code), &reset.code_hash) {
            let tx = self.db.begin().await?;
            if let Some(attempts) = credentials::record_reset_attempt(&tx, reset.id).await? {
                audit::append(
                    &tx,
                    now,
                    &AuditEvent::new(
                        "anonymous",
                        "person.password_reset_failed",
                        &resource,
                        &meta.ip,
                    )
                    .detail(json!({ "reset": reset.id, "attempts": attempts })),
                )
                .await?;
            }
            tx.commit().await.map_err(yiwang_db::DbError::from)?;
            return Err(code_invalid());
        }
        // The code is right: check the new password before using the code up, so a rejected password
        // can be corrected with the same code.
        let rid = self.pii.open(PiiField::ResidentId, &row.resident_id_enc)?;
        let mobile = self.pii.open(PiiField::Mobile, &row.mobile_enc)?;
        password::check_rules(new_password, &[rid.as_str(), mobile.as_str()]).map_err(|p| {
            IdentityError::Invalid {
                field: "new_password",
                code: p.code(),
                message: p.message(),
            }
        })?;
        let hash = password::hash(new_password, self.cost, rng).await?;
        let tx = self.db.begin().await?;
        // Conditional: of two requests racing with the same code, only one gets here.
        if !credentials::use_reset(&tx, reset.id, self.policy.max_attempts, now).await? {
            return Err(code_invalid());
        }
        repo::set_password(&tx, person, &hash, now).await?;
        repo::reset_failed_logins(&tx, person).await?;
        let ended =
            repo::revoke_sessions(&tx, "person", person.get(), RevokeWhich::All, now).await?;
        // Whoever had the old password may have made tokens with it: they end too.
        let tokens = credentials::revoke_all_tokens(&tx, person, now).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(&resource, "person.password_reset", &resource, &meta.ip).detail(
                json!({ "reset": reset.id, "sessions_ended": ended, "tokens_revoked": tokens }),
            ),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(())
    }
}

// ------------------------------------------------------------------ messages and senders

/// An SMS ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Sms {
    pub to: Mobile,
    pub text: String,
}

impl fmt::Debug for Sms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The text may hold a one-time code; neither it nor the full number belongs in logs.
        f.debug_struct("Sms")
            .field("to", &self.to)
            .finish_non_exhaustive()
    }
}

/// An email ready to send.
#[derive(Clone, PartialEq, Eq)]
pub struct Email {
    pub to: String,
    pub subject: String,
    pub text: String,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("to", &mask_email(&self.to))
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// `z***@example.com`.
pub fn mask_email(address: &str) -> String {
    match address.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// Why a message could not be sent; the job is retried with this as its error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The job payload is not a message this platform knows (a bug or an old job): retrying cannot help.
    #[error("malformed message job: {0}")]
    Malformed(String),
    /// The gateway refused or could not be reached.
    #[error("message gateway: {0}")]
    Gateway(String),
}

pub type SendFuture<'a> = Pin<Box<dyn Future<Output = Result<(), SendError>> + Send + 'a>>;

/// Delivers SMS and email. [`LogSender`] is the default; a real gateway implements this trait.
pub trait MessageSender: Send + Sync + fmt::Debug {
    fn send_sms<'a>(&'a self, sms: &'a Sms) -> SendFuture<'a>;
    fn send_email<'a>(&'a self, email: &'a Email) -> SendFuture<'a>;
}

/// Sends SMS through one sender and email through another, e.g. SMS to the log and email to an SMTP relay.
#[derive(Debug, Clone)]
pub struct RoutingSender {
    sms: Arc<dyn MessageSender>,
    email: Arc<dyn MessageSender>,
}

impl RoutingSender {
    pub fn new(sms: Arc<dyn MessageSender>, email: Arc<dyn MessageSender>) -> Self {
        Self { sms, email }
    }
}

impl MessageSender for RoutingSender {
    fn send_sms<'a>(&'a self, sms: &'a Sms) -> SendFuture<'a> {
        self.sms.send_sms(sms)
    }

    fn send_email<'a>(&'a self, email: &'a Email) -> SendFuture<'a> {
        self.email.send_email(email)
    }
}

/// Writes each message to the log instead of sending it (number or address masked). The text, which may
/// hold a one-time code, is logged only when `show_text` is set — for demo and test installations, where
/// nobody can receive a real SMS.
#[derive(Debug, Clone, Copy, Default)]
pub struct LogSender {
    pub show_text: bool,
}

impl MessageSender for LogSender {
    fn send_sms<'a>(&'a self, sms: &'a Sms) -> SendFuture<'a> {
        Box::pin(async move {
            if self.show_text {
                tracing::info!(to = %sms.to.masked(), text = %sms.text, "SMS (log sender, not delivered)");
            } else {
                tracing::info!(to = %sms.to.masked(), chars = sms.text.chars().count(), "SMS (log sender, not delivered)");
            }
            Ok(())
        })
    }

    fn send_email<'a>(&'a self, email: &'a Email) -> SendFuture<'a> {
        Box::pin(async move {
            if self.show_text {
                tracing::info!(to = %mask_email(&email.to), subject = %email.subject, text = %email.text,
                    "email (log sender, not delivered)");
            } else {
                tracing::info!(to = %mask_email(&email.to), subject = %email.subject, "email (log sender, not delivered)");
            }
            Ok(())
        })
    }
}

/// The text of a template with its parameters, in Chinese (the language of SMS in China).
/// Returns the subject (for email) and the body.
pub fn render_message(
    template: &str,
    params: &serde_json::Value,
) -> Result<(String, String), SendError> {
    let param = |name: &str| -> Result<String, SendError> {
        match params.get(name) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(serde_json::Value::Number(n)) => Ok(n.to_string()),
            _ => Err(SendError::Malformed(format!(
                "template {template:?} needs parameter {name:?}"
            ))),
        }
    };
    match template {
        RESET_TEMPLATE => Ok((
            "【一网通办】重置密码验证码".to_owned(),
            format!(
                "【一网通办】您的验证码为{}，{}分钟内有效，用于重置密码。如非本人操作，请忽略。",
                param("code")?,
                param("minutes")?
            ),
        )),
        NOTICE_TEMPLATE => {
            let (subject, text) = (param("subject")?, param("text")?);
            // An empty notice is a bug in the sending domain; delivering it would only puzzle people.
            if subject.trim().is_empty() || text.trim().is_empty() {
                return Err(SendError::Malformed(format!(
                    "template {template:?} needs a subject and a text that are not empty"
                )));
            }
            Ok((subject, text))
        }
        other => Err(SendError::Malformed(format!("unknown template {other:?}"))),
    }
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

/// Seal an outbox message (`{"to", "template", "params"}`) into a job payload `{"sealed": "<hex>"}`.
pub fn seal_message(
    pii: &PiiProtector,
    message: &serde_json::Value,
    rng: &mut impl CryptoRng,
) -> serde_json::Value {
    json!({ "sealed": pii.seal(PiiField::Message, &message.to_string(), rng) })
}

/// Open a sealed job payload back into the message.
pub fn open_message(
    pii: &PiiProtector,
    payload: &serde_json::Value,
) -> Result<serde_json::Value, SendError> {
    let sealed = payload
        .get("sealed")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| SendError::Malformed("the message is not sealed".to_owned()))?;
    let text = pii
        .open(PiiField::Message, sealed)
        .map_err(|e| SendError::Malformed(format!("the message does not open: {e}")))?;
    serde_json::from_str(&text)
        .map_err(|e| SendError::Malformed(format!("the message is not JSON: {e}")))
}

/// Parse a sealed `notify.sms` job: `{"to": "<mobile>", "template": "…", "params": {…}}` inside.
pub fn sms_of(job: &Job, pii: &PiiProtector) -> Result<Sms, SendError> {
    let job = &Job {
        payload: open_message(pii, &job.payload)?,
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
pub fn email_of(job: &Job, pii: &PiiProtector) -> Result<Email, SendError> {
    let job = &Job {
        payload: open_message(pii, &job.payload)?,
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

/// Register the `notify.sms` and `notify.email` handlers, opening sealed messages with `pii` and
/// delivering through `sender`.
pub fn register_notify_handlers(
    worker: &mut Worker,
    sender: Arc<dyn MessageSender>,
    pii: Arc<PiiProtector>,
) {
    let sms_sender = Arc::clone(&sender);
    let sms_pii = Arc::clone(&pii);
    worker.register(SMS_JOB, move |job: Job| {
        let sender = Arc::clone(&sms_sender);
        let pii = Arc::clone(&sms_pii);
        async move {
            let sms = sms_of(&job, &pii).map_err(|e| e.to_string())?;
            sender.send_sms(&sms).await.map_err(|e| e.to_string())
        }
    });
    worker.register(EMAIL_JOB, move |job: Job| {
        let sender = Arc::clone(&sender);
        let pii = Arc::clone(&pii);
        async move {
            let email = email_of(&job, &pii).map_err(|e| e.to_string())?;
            sender.send_email(&email).await.map_err(|e| e.to_string())
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notice_template_passes_subject_and_text_through() {
        let (subject, text) = render_message(
            NOTICE_TEMPLATE,
            &json!({ "subject": "您的办件已受理", "text": "您申请的事项已受理。\n受理编号：SL2026030200001" }),
        )
        .unwrap();
        assert_eq!(subject, "您的办件已受理");
        assert_eq!(text, "您申请的事项已受理。\n受理编号：SL2026030200001");
        for params in [
            json!({ "subject": "办件" }),
            json!({ "text": "正文" }),
            json!({ "subject": " ", "text": "正文" }),
            json!({ "subject": "办件", "text": "" }),
        ] {
            assert!(
                matches!(
                    render_message(NOTICE_TEMPLATE, &params),
                    Err(SendError::Malformed(_))
                ),
                "{params}"
            );
        }
        // The reset template is unchanged by the new one.
        let (subject, _) =
            render_message(RESET_TEMPLATE, &json!({ "code": "123456", "minutes": 15 })).unwrap();
        assert_eq!(subject, "【一网通办】重置密码验证码");
    }
}
