//! Resetting a forgotten password with a code sent by SMS (through `yiwang-notify`'s outbox job).
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
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rand::{CryptoRng, RngExt as _};
use serde_json::json;
use yiwang_db::Db;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_kernel::{Mobile, ResidentId, SharedClock};
use yiwang_notify::{OutboxMessage, Recipient};

use crate::IdentityError;
use crate::model::ClientMeta;
use crate::password::{self, PasswordCost};
use crate::pii::{PiiField, PiiProtector};
use crate::repo::{self, PersonIndex, PersonRow, RevokeWhich, credentials};
use crate::service::account::login_subject;

// The notification parts that lived here before `yiwang-notify` existed, at their old paths so
// callers compile unchanged while they move to the new crate.
pub use yiwang_notify::{
    EMAIL_JOB, Email, LogSender, MessageSender, NOTICE_TEMPLATE, RESET_TEMPLATE, RoutingSender,
    SMS_JOB, SendError, SendFuture, Sms, email_of, mask_email, open_message,
    register_notify_handlers, render_message, seal_message, sms_of,
};

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
        let mobile = Mobile::parse(&mobile)
            .map_err(|e| IdentityError::Corrupt(format!("the stored mobile number: {e}")))?;
        let minutes = self.policy.code_ttl.num_minutes();
        // Recipient and code are sealed inside the job: job rows are kept, and neither may rest in
        // plain text.
        yiwang_notify::enqueue(
            &tx,
            now,
            self.pii.as_ref(),
            &OutboxMessage::new(
                Recipient::Sms(&mobile),
                RESET_TEMPLATE,
                json!({ "code": code, "minutes": minutes }),
            )
            // A code is useless after it expires; retrying longer would only confuse.
            .max_attempts(4),
            rng,
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
        // The code proved the phone: waits that guessing put on the account's identifiers end too.
        let subjects = [
            login_subject(
                PersonIndex::Mobile,
                &self.pii.blind_index(PiiField::Mobile, &mobile),
            ),
            login_subject(
                PersonIndex::ResidentId,
                &self.pii.blind_index(PiiField::ResidentId, &rid),
            ),
        ];
        repo::safety::clear_subjects(&tx, &[&subjects[0], &subjects[1]]).await?;
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
