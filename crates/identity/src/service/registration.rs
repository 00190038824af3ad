//! Registering a person without telling anybody which resident IDs or mobile numbers have accounts.
//!
//! * First the mobile number is proven: [`Accounts::request_registration_code`] answers the same in
//!   every case. A number without an account gets a 6-digit code by SMS (through `yiwang-notify`'s
//!   outbox, sealed like password-reset codes); a number that already has an account gets, instead, an
//!   SMS telling its owner that someone tried to register with it. Either way only the phone's holder
//!   learns anything. At most [`MAX_CODES_PER_HOUR`] messages per number per rolling hour.
//! * Then [`Accounts::register_person_with_code`] checks the code (newest code of the number only,
//!   [`CODE_TTL_MINUTES`] minutes, dead after [`MAX_CODE_ATTEMPTS`] wrong tries, single use) before
//!   looking at anything else. A resident ID that already has an account is told only now, to someone
//!   who holds a phone, and the ID's owner gets an SMS about the attempt.
//!
//! Each step writes its rows, outbox jobs and audit entry in one transaction.

use chrono::Duration;
use rand::{CryptoRng, RngExt as _};
use serde_json::json;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_kernel::Mobile;
use yiwang_notify::{NOTICE_TEMPLATE, OutboxMessage, Recipient};

use crate::IdentityError;
use crate::model::{ClientMeta, Person, Registration};
use crate::password;
use crate::pii::PiiField;
use crate::repo::{self, NewPersonRow, PersonIndex, safety};
use crate::service::account::{Accounts, random_hex};

/// How long a registration code works.
pub const CODE_TTL_MINUTES: i64 = 10;
/// Wrong codes after which a code is dead.
pub const MAX_CODE_ATTEMPTS: i64 = 5;
/// Messages (codes or attempt notices) per mobile number per rolling hour.
pub const MAX_CODES_PER_HOUR: i64 = 3;

/// What a code request did. Callers must answer every outcome the same way; the distinction exists
/// for logs and tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationCodeSent {
    /// A code was stored and sent.
    Sent,
    /// The number has an account: its owner was told of the attempt, no code exists.
    AlreadyRegistered,
    /// The hourly limit was reached; nothing was written.
    Throttled,
}

fn code_invalid() -> IdentityError {
    IdentityError::Invalid {
        field: "code",
        code: "registration_code_invalid",
        message: "the code is wrong, has expired or was already used; request a new code"
            .to_owned(),
    }
}

/// The stored hash of a code, bound to the number so equal codes of two numbers differ.
fn code_hash(mobile_index: &str, code: &str) -> String {
    yiwang_kernel::crypto::sm3_hex(format!("yiwang/registration/{mobile_index}/{code}").as_bytes())
}

/// Stored for an attempt notice: no 6-digit code hashes to it, so it also supersedes earlier codes.
const NO_CODE: &str = "-";

fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0_u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn attempt_notice(what: &str) -> serde_json::Value {
    json!({
        "subject": "【一网通办】注册提醒",
        "text": format!(
            "【一网通办】有人尝试用您的{what}注册新账号。您已有账号，可直接登录；忘记密码请使用“找回密码”。如非本人操作，请忽略。"
        ),
    })
}

impl Accounts {
    /// Send a registration code to a mobile number (or, when it has an account, a notice to its
    /// owner). See the module documentation.
    #[tracing::instrument(skip_all, err)]
    pub async fn request_registration_code(
        &self,
        mobile: &Mobile,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<RegistrationCodeSent, IdentityError> {
        let now = self.clock.now();
        let index = self.pii.blind_index(PiiField::Mobile, mobile.as_str());
        let code = format!("{:06}", rng.random_range(0..1_000_000_u32));
        let tx = self.db.begin().await?;
        if safety::registration_codes_since(&tx, &index, now - Duration::hours(1)).await?
            >= MAX_CODES_PER_HOUR
        {
            tracing::info!("registration code throttled");
            return Ok(RegistrationCodeSent::Throttled);
        }
        let expires_at = now + Duration::minutes(CODE_TTL_MINUTES);
        let owner = repo::person_by_index(&tx, PersonIndex::Mobile, &index).await?;
        let (hash, params, action, resource, outcome) = match &owner {
            Some(row) => (
                NO_CODE.to_owned(),
                attempt_notice("手机号"),
                "person.registration_attempted",
                format!("person:{}", row.person.public_id),
                RegistrationCodeSent::AlreadyRegistered,
            ),
            None => (
                code_hash(&index, &code),
                json!({
                    "subject": "【一网通办】注册验证码",
                    "text": format!(
                        "【一网通办】您的验证码为{code}，{CODE_TTL_MINUTES}分钟内有效，用于注册账号。如非本人操作，请忽略。"
                    ),
                }),
                "person.registration_code_sent",
                format!("mobile:{}", mobile.masked()),
                RegistrationCodeSent::Sent,
            ),
        };
        let id =
            safety::insert_registration_code(&tx, &index, &hash, expires_at, &meta.ip, now).await?;
        yiwang_notify::enqueue(
            &tx,
            now,
            self.pii.as_ref(),
            &OutboxMessage::new(Recipient::Sms(mobile), NOTICE_TEMPLATE, params).max_attempts(4),
            rng,
        )
        .await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new("anonymous", action, &resource, &meta.ip)
                .detail(json!({ "registration_code": id, "mobile": mobile.masked() })),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(outcome)
    }

    /// Register a person whose mobile number is proven by the code sent to it.
    #[tracing::instrument(skip_all, err)]
    pub async fn register_person_with_code(
        &self,
        reg: &Registration,
        code: &str,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Person, IdentityError> {
        let code = code.trim();
        let now = self.clock.now();
        let mobile_index = self.pii.blind_index(PiiField::Mobile, reg.mobile.as_str());
        let Some(stored) = safety::latest_registration_code(self.db.conn(), &mobile_index).await?
        else {
            return Err(code_invalid());
        };
        if stored.used_at.is_some()
            || stored.expires_at <= now
            || stored.attempts >= MAX_CODE_ATTEMPTS
        {
            return Err(code_invalid());
        }
        let well_formed = code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit());
        if !well_formed || !same_secret(&code_hash(&mobile_index, code), &stored.code_hash) {
            let tx = self.db.begin().await?;
            safety::record_registration_attempt(&tx, stored.id).await?;
            tx.commit().await.map_err(yiwang_db::DbError::from)?;
            return Err(code_invalid());
        }
        let rid_index = self
            .pii
            .blind_index(PiiField::ResidentId, reg.resident_id.as_str());
        let password_hash = password::hash(&reg.password, self.cost, rng).await?;
        let public_id = random_hex(rng, 16);
        let rid_enc = self
            .pii
            .seal(PiiField::ResidentId, reg.resident_id.as_str(), rng);
        let mobile_enc = self.pii.seal(PiiField::Mobile, reg.mobile.as_str(), rng);
        let tx = self.db.begin().await?;
        // Conditional: of two requests racing with the same code, only one gets on.
        if !safety::use_registration_code(&tx, stored.id, MAX_CODE_ATTEMPTS, now).await? {
            return Err(code_invalid());
        }
        match repo::person_conflict(&tx, &rid_index, &mobile_index).await? {
            // Registered meanwhile (a code is never sent to a number with an account).
            Some("mobile") => return Err(code_invalid()),
            Some(field) => {
                // The caller holds the phone, so telling them is no longer an oracle for strangers;
                // the ID's owner hears of it.
                if let Some(owner) =
                    repo::person_by_index(&tx, PersonIndex::ResidentId, &rid_index).await?
                {
                    let owner_mobile = self.pii.open(PiiField::Mobile, &owner.mobile_enc)?;
                    let owner_mobile = Mobile::parse(&owner_mobile).map_err(|e| {
                        IdentityError::Corrupt(format!("the stored mobile number: {e}"))
                    })?;
                    yiwang_notify::enqueue(
                        &tx,
                        now,
                        self.pii.as_ref(),
                        &OutboxMessage::new(
                            Recipient::Sms(&owner_mobile),
                            NOTICE_TEMPLATE,
                            attempt_notice("身份证号"),
                        )
                        .max_attempts(4),
                        rng,
                    )
                    .await?;
                    audit::append(
                        &tx,
                        now,
                        &AuditEvent::new(
                            "anonymous",
                            "person.registration_attempted",
                            format!("person:{}", owner.person.public_id),
                            &meta.ip,
                        )
                        .detail(json!({ "with": "resident_id", "mobile": reg.mobile.masked() })),
                    )
                    .await?;
                }
                tx.commit().await.map_err(yiwang_db::DbError::from)?;
                return Err(IdentityError::Duplicate { field });
            }
            None => {}
        }
        let row = NewPersonRow {
            public_id: &public_id,
            name: reg.name.as_str(),
            resident_id_enc: &rid_enc,
            resident_id_index: &rid_index,
            resident_id_masked: &reg.resident_id.masked(),
            mobile_enc: &mobile_enc,
            mobile_index: &mobile_index,
            mobile_masked: &reg.mobile.masked(),
            password_hash: &password_hash,
        };
        let person = self.insert_person_in(&tx, &row, reg, meta, now).await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(person)
    }
}
