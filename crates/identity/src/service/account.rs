//! Accounts of natural persons: registration, log-in with throttling and lock-out, sessions (idle and
//! absolute expiry, list, log out everywhere), password change, and the owner's own profile.
//!
//! Every state change commits with its audit entry in one transaction.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use rand::CryptoRng;
use serde_json::json;
use yiwang_db::Db;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_kernel::{Mobile, ResidentId, SharedClock};

use crate::IdentityError;
use crate::model::{
    Account, AuthSession, ClientMeta, FieldError, OwnProfile, Person, PersonId, Registration,
    SessionInfo,
};
use crate::password::{self, PasswordCost};
use crate::pii::{PiiField, PiiProtector};
use crate::repo::{self, NewPersonRow, NewSessionRow, PersonIndex, RevokeWhich};
use crate::service::register::{EnterpriseRegister, NoRegister};

/// Session and lock-out rules.
#[derive(Debug, Clone, Copy)]
pub struct SessionPolicy {
    /// A session unused for this long ends.
    pub idle: Duration,
    /// A session ends this long after log-in, however active.
    pub absolute: Duration,
    /// Wrong current passwords in a row, from a logged-in session, before the account is locked.
    pub max_failures: i64,
    /// How long such a lock lasts.
    pub lockout: Duration,
    /// Wrong log-ins for one identifier from one address answered at once; each further one makes the
    /// next attempt from that address wait (see [`SessionPolicy::delay_after`]).
    pub free_failures: i64,
    /// The wait after the first failure past the free ones; it doubles with each further failure.
    pub first_delay: Duration,
    /// The longest wait.
    pub max_delay: Duration,
}

impl SessionPolicy {
    /// How long log-ins for one identifier from one address wait after `failures` wrong attempts,
    /// if they do.
    pub fn delay_after(&self, failures: i64) -> Option<Duration> {
        let past = failures - self.free_failures;
        if past <= 0 {
            return None;
        }
        // 2^20 times any sensible first delay is past any sensible maximum.
        let doublings = u32::try_from(past - 1).unwrap_or(u32::MAX).min(20);
        let factor = 1_i32 << doublings;
        Some((self.first_delay * factor).min(self.max_delay))
    }
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle: Duration::minutes(30),
            absolute: Duration::hours(12),
            max_failures: 5,
            lockout: Duration::minutes(15),
            free_failures: 4,
            first_delay: Duration::seconds(30),
            max_delay: Duration::minutes(15),
        }
    }
}

/// The identity domain's dependencies, built once by the server.
#[derive(Clone)]
pub struct Accounts {
    pub(crate) db: Db,
    pub(crate) clock: SharedClock,
    pub(crate) pii: Arc<PiiProtector>,
    pub(crate) cost: PasswordCost,
    pub(crate) policy: SessionPolicy,
    pub(crate) dummy_hash: Arc<str>,
    pub(crate) register: Arc<dyn EnterpriseRegister>,
}

impl std::fmt::Debug for Accounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Accounts")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

/// What a log-in attempt found, for [`Accounts::finish_login`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoginAttempt<'a> {
    pub account: Account,
    /// What the log-in named (see `login_subject`): the throttle's key.
    pub subject: &'a str,
    /// The audit resource, e.g. `person:<public id>`.
    pub resource: &'a str,
    pub locked_until: Option<DateTime<Utc>>,
    pub active: bool,
    pub password_matches: bool,
}

/// A successful log-in: the session and the secret token for its cookie or bearer header.
#[derive(Debug, Clone)]
pub struct LoggedIn {
    pub person: Person,
    pub session: AuthSession,
    /// Shown to the client once; only its hash is stored.
    pub token: String,
    pub expires_at: DateTime<Utc>,
}

pub fn token_hash(token: &str) -> String {
    yiwang_kernel::crypto::sm3_hex(token.as_bytes())
}

pub(crate) fn random_hex(rng: &mut impl CryptoRng, bytes: usize) -> String {
    let mut buf = vec![0_u8; bytes];
    rng.fill_bytes(&mut buf);
    hex::encode(buf)
}

/// The log-in throttle's key for a person's identifier (its blind index, never the identifier).
pub(crate) fn login_subject(column: PersonIndex, index: &str) -> String {
    match column {
        PersonIndex::Mobile => format!("person-mobile:{index}"),
        PersonIndex::ResidentId => format!("person-rid:{index}"),
    }
}

/// What a login string identifies.
enum LoginId {
    Mobile(Mobile),
    ResidentId(ResidentId),
}

fn parse_login(login: &str) -> Result<LoginId, IdentityError> {
    if let Ok(mobile) = Mobile::parse(login) {
        return Ok(LoginId::Mobile(mobile));
    }
    if let Ok(id) = ResidentId::parse(login) {
        return Ok(LoginId::ResidentId(id));
    }
    Err(IdentityError::Invalid {
        field: "login",
        code: "login_invalid",
        message: "enter your mobile number or resident ID number".to_owned(),
    })
}

impl Accounts {
    pub fn new(
        db: Db,
        clock: SharedClock,
        pii: Arc<PiiProtector>,
        cost: PasswordCost,
        policy: SessionPolicy,
    ) -> Result<Self, IdentityError> {
        let dummy_hash = password::dummy_hash(cost)?.into();
        Ok(Self {
            db,
            clock,
            pii,
            cost,
            policy,
            dummy_hash,
            register: Arc::new(NoRegister),
        })
    }

    /// The same services checking enterprise claims against `register` (by default every claim waits
    /// for a clerk).
    #[must_use]
    pub fn with_register(&self, register: Arc<dyn EnterpriseRegister>) -> Self {
        Self {
            register,
            ..self.clone()
        }
    }

    pub fn policy(&self) -> SessionPolicy {
        self.policy
    }

    /// The same services reading another clock (demo set-up replays weeks of activity on a clock it
    /// moves; everything else stays shared).
    #[must_use]
    pub fn with_clock(&self, clock: SharedClock) -> Self {
        Self {
            clock,
            ..self.clone()
        }
    }

    /// Register a natural person whose mobile number the caller has verified itself (demo set-up, the
    /// command line, tests). A resident ID or mobile already registered is refused, naming which; the
    /// public routes use [`Accounts::register_person_with_code`] instead, which tells nothing before the
    /// mobile number is proven.
    #[tracing::instrument(skip_all, err)]
    pub async fn register_person(
        &self,
        reg: &Registration,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<Person, IdentityError> {
        let now = self.clock.now();
        let rid_index = self
            .pii
            .blind_index(PiiField::ResidentId, reg.resident_id.as_str());
        let mobile_index = self.pii.blind_index(PiiField::Mobile, reg.mobile.as_str());
        let password_hash = password::hash(&reg.password, self.cost, rng).await?;
        let public_id = random_hex(rng, 16);
        let rid_enc = self
            .pii
            .seal(PiiField::ResidentId, reg.resident_id.as_str(), rng);
        let mobile_enc = self.pii.seal(PiiField::Mobile, reg.mobile.as_str(), rng);
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
        let tx = self.db.begin().await?;
        if let Some(field) = repo::person_conflict(&tx, &rid_index, &mobile_index).await? {
            return Err(IdentityError::Duplicate { field });
        }
        let person = self.insert_person_in(&tx, &row, reg, meta, now).await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(person)
    }

    /// Store a checked registration with its audit entry, inside the caller's transaction.
    pub(crate) async fn insert_person_in(
        &self,
        tx: &yiwang_db::DatabaseTransaction,
        row: &NewPersonRow<'_>,
        reg: &Registration,
        meta: &ClientMeta,
        now: DateTime<Utc>,
    ) -> Result<Person, IdentityError> {
        let id = repo::insert_person(tx, row, now).await?;
        let resource = format!("person:{}", row.public_id);
        audit::append(
            tx,
            now,
            &AuditEvent::new(&resource, "person.register", &resource, &meta.ip).detail(
                json!({ "resident_id": reg.resident_id.masked(), "mobile": reg.mobile.masked() }),
            ),
        )
        .await?;
        Ok(repo::person_by_id(tx, id)
            .await?
            .ok_or_else(|| IdentityError::Corrupt("new person not found".to_owned()))?
            .person)
    }

    /// Log in with a mobile number or resident ID and a password.
    #[tracing::instrument(skip_all, err)]
    pub async fn login(
        &self,
        login: &str,
        password: &str,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<LoggedIn, IdentityError> {
        let now = self.clock.now();
        let (column, index) = match parse_login(login)? {
            LoginId::Mobile(m) => (
                PersonIndex::Mobile,
                self.pii.blind_index(PiiField::Mobile, m.as_str()),
            ),
            LoginId::ResidentId(id) => (
                PersonIndex::ResidentId,
                self.pii.blind_index(PiiField::ResidentId, id.as_str()),
            ),
        };
        // The password is checked outside any transaction (it is slow on purpose, and on SQLite a write
        // transaction would hold the single write lock meanwhile), and before the lock and status are
        // looked at, so that answers and timing are the same for every kind of account.
        // Keyed by what was typed, not by the account, so an identifier nobody has is throttled
        // exactly like one that belongs to an account.
        let subject = login_subject(column, &index);
        self.throttle_wait(&subject, &meta.ip, now).await?;
        let row = repo::person_by_index(self.db.conn(), column, &index).await?;
        let stored = row
            .as_ref()
            .map_or_else(|| self.dummy_hash.to_string(), |r| r.password_hash.clone());
        let matches = verify_off_thread(password, stored).await;
        let Some(row) = row else {
            return Err(self.unknown_login_failed(&subject, meta, now).await);
        };
        let resource = format!("person:{}", row.person.public_id);
        let (session, token) = self
            .finish_login(
                LoginAttempt {
                    account: Account::Person(row.person.id),
                    subject: &subject,
                    resource: &resource,
                    locked_until: row.locked_until,
                    active: row.person.status == crate::model::AccountStatus::Active,
                    password_matches: matches,
                },
                meta,
                rng,
                now,
            )
            .await?;
        Ok(LoggedIn {
            person: row.person,
            session,
            token,
            expires_at: now + self.policy.absolute,
        })
    }

    /// Refuse at once, without looking at the password, while log-ins for `subject` from `ip` wait.
    pub(crate) async fn throttle_wait(
        &self,
        subject: &str,
        ip: &str,
        now: DateTime<Utc>,
    ) -> Result<(), IdentityError> {
        match repo::safety::blocked_until(self.db.conn(), subject, ip).await? {
            Some(until) if until > now => Err(IdentityError::TooManyAttempts { until }),
            _ => Ok(()),
        }
    }

    /// Count a failure for `subject` from `ip`, making the next attempts wait when due; returns
    /// until when, if they do.
    async fn count_failure(
        &self,
        tx: &yiwang_db::DatabaseTransaction,
        subject: &str,
        ip: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<DateTime<Utc>>, IdentityError> {
        let failures = repo::safety::record_failure(tx, subject, ip, now).await?;
        let Some(delay) = self.policy.delay_after(failures) else {
            return Ok(None);
        };
        let until = now + delay;
        repo::safety::block(tx, subject, ip, until).await?;
        Ok(Some(until))
    }

    /// A log-in naming no account: counted like a wrong password, so the answers (and the waits that
    /// follow) are the same as for an account.
    pub(crate) async fn unknown_login_failed(
        &self,
        subject: &str,
        meta: &ClientMeta,
        now: DateTime<Utc>,
    ) -> IdentityError {
        let counted = async {
            let tx = self.db.begin().await?;
            let until = self.count_failure(&tx, subject, &meta.ip, now).await?;
            tx.commit().await.map_err(yiwang_db::DbError::from)?;
            Ok::<_, IdentityError>(until)
        };
        match counted.await {
            Ok(Some(until)) => IdentityError::TooManyAttempts { until },
            Ok(None) => IdentityError::BadCredentials,
            Err(e) => e,
        }
    }

    /// The half of log-in shared by persons and staff, after the password was checked. A wrong
    /// password is counted per identifier and address (never locking the account for anybody else);
    /// only a caller who knows the password learns that the account is locked or disabled. Each
    /// outcome writes its audit entry in the same transaction.
    pub(crate) async fn finish_login(
        &self,
        attempt: LoginAttempt<'_>,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
        now: DateTime<Utc>,
    ) -> Result<(AuthSession, String), IdentityError> {
        let tx = self.db.begin().await?;
        if !attempt.password_matches {
            let until = self
                .count_failure(&tx, attempt.subject, &meta.ip, now)
                .await?;
            audit::append(
                &tx,
                now,
                &AuditEvent::new(
                    "anonymous",
                    "session.login_failed",
                    attempt.resource,
                    &meta.ip,
                )
                .detail(json!({ "wait_until": until.map(yiwang_db::ts) })),
            )
            .await?;
            tx.commit().await.map_err(yiwang_db::DbError::from)?;
            return Err(match until {
                Some(until) => IdentityError::TooManyAttempts { until },
                None => IdentityError::BadCredentials,
            });
        }
        if let Some(until) = attempt.locked_until.filter(|until| *until > now) {
            return Err(IdentityError::LockedOut { until });
        }
        if !attempt.active {
            return Err(IdentityError::Disabled);
        }
        // Conditional: a wait set by concurrent wrong guesses since the check still holds.
        if !repo::safety::clear_unless_blocked(&tx, attempt.subject, &meta.ip, now).await? {
            let until = repo::safety::blocked_until(&tx, attempt.subject, &meta.ip)
                .await?
                .unwrap_or(now + self.policy.first_delay);
            return Err(IdentityError::TooManyAttempts { until });
        }
        if !repo::clear_failed_logins_unless_locked(&tx, attempt.account, now).await? {
            return Err(IdentityError::LockedOut {
                until: now + self.policy.lockout,
            });
        }
        let token = random_hex(rng, 32);
        let session = self
            .start_session(&tx, attempt.account, &token, meta, rng, now)
            .await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                attempt.resource,
                "session.create",
                attempt.resource,
                &meta.ip,
            )
            .detail(json!({ "session": session.public_id, "user_agent": meta.user_agent })),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok((session, token))
    }

    pub(crate) async fn start_session(
        &self,
        tx: &yiwang_db::DatabaseTransaction,
        account: Account,
        token: &str,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
        now: DateTime<Utc>,
    ) -> Result<AuthSession, IdentityError> {
        let hash = token_hash(token);
        let public_id = random_hex(rng, 8);
        let csrf = random_hex(rng, 16);
        repo::insert_session(
            tx,
            &NewSessionRow {
                token_hash: &hash,
                account_kind: account.kind(),
                account_id: account.id(),
                public_id: &public_id,
                csrf_token: &csrf,
                idle_expires_at: now + self.policy.idle,
                expires_at: now + self.policy.absolute,
                ip: &meta.ip,
                user_agent: &truncate(&meta.user_agent, 300),
            },
            now,
        )
        .await?;
        Ok(AuthSession {
            account,
            public_id,
            csrf_token: csrf,
            token_hash: hash,
        })
    }

    /// The session a token belongs to, if it is live; using it extends its idle expiry.
    #[tracing::instrument(skip_all, err)]
    pub async fn authenticate(&self, token: &str) -> Result<AuthSession, IdentityError> {
        if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(IdentityError::Unauthenticated);
        }
        let now = self.clock.now();
        let hash = token_hash(token);
        let found = repo::touch_session(self.db.conn(), &hash, now, now + self.policy.idle).await?;
        let Some((kind, account_id, public_id, csrf_token)) = found else {
            return Err(IdentityError::Unauthenticated);
        };
        let account = match kind.as_str() {
            "person" => Account::Person(PersonId::new(account_id)),
            "staff" => Account::Staff(crate::model::StaffId::new(account_id)),
            other => {
                return Err(IdentityError::Corrupt(format!(
                    "session account kind {other:?}"
                )));
            }
        };
        Ok(AuthSession {
            account,
            public_id,
            csrf_token,
            token_hash: hash,
        })
    }

    /// End the current session.
    #[tracing::instrument(skip_all, err)]
    pub async fn logout(
        &self,
        session: &AuthSession,
        meta: &ClientMeta,
    ) -> Result<(), IdentityError> {
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if repo::revoke_token(&tx, &session.token_hash, now).await? {
            let actor = self.actor(&tx, session.account).await?;
            audit::append(
                &tx,
                now,
                &AuditEvent::new(&actor, "session.logout", &actor, &meta.ip)
                    .detail(json!({ "session": session.public_id })),
            )
            .await?;
        }
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(())
    }

    /// End every session of the account, including (when `keep_current` is false) this one.
    #[tracing::instrument(skip_all, err)]
    pub async fn logout_everywhere(
        &self,
        session: &AuthSession,
        keep_current: bool,
        meta: &ClientMeta,
    ) -> Result<u64, IdentityError> {
        let now = self.clock.now();
        let account = session.account;
        let tx = self.db.begin().await?;
        let which = if keep_current {
            RevokeWhich::AllBut(&session.token_hash)
        } else {
            RevokeWhich::All
        };
        let ended = repo::revoke_sessions(&tx, account.kind(), account.id(), which, now).await?;
        let actor = self.actor(&tx, session.account).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(&actor, "session.logout_everywhere", &actor, &meta.ip)
                .detail(json!({ "ended": ended })),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(ended)
    }

    /// End one of the account's own sessions by its public id.
    #[tracing::instrument(skip_all, err)]
    pub async fn end_session(
        &self,
        session: &AuthSession,
        public_id: &str,
        meta: &ClientMeta,
    ) -> Result<(), IdentityError> {
        let now = self.clock.now();
        let account = session.account;
        let tx = self.db.begin().await?;
        // Scoped to the caller's own account: another person's session id matches nothing.
        let ended = repo::revoke_sessions(
            &tx,
            account.kind(),
            account.id(),
            RevokeWhich::One(public_id),
            now,
        )
        .await?;
        if ended == 0 {
            return Err(IdentityError::Invalid {
                field: "session",
                code: "session_not_found",
                message: "no such session of yours is active".to_owned(),
            });
        }
        let actor = self.actor(&tx, session.account).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(&actor, "session.revoke", &actor, &meta.ip)
                .detail(json!({ "session": public_id })),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(())
    }

    /// The account's live sessions, the current one marked.
    pub async fn sessions(&self, session: &AuthSession) -> Result<Vec<SessionInfo>, IdentityError> {
        let account = session.account;
        let rows = repo::live_sessions(
            self.db.conn(),
            account.kind(),
            account.id(),
            self.clock.now(),
        )
        .await?;
        Ok(rows
            .into_iter()
            .map(|(mut info, hash)| {
                info.current = hash == session.token_hash;
                info
            })
            .collect())
    }

    /// The session's person as shown in pages (identifiers masked; nothing decrypted).
    pub async fn person(&self, session: &AuthSession) -> Result<Person, IdentityError> {
        let id = person_of(session)?;
        Ok(repo::person_by_id(self.db.conn(), id)
            .await?
            .ok_or(IdentityError::Unauthenticated)?
            .person)
    }

    /// The owner's own profile, identifiers decrypted.
    #[tracing::instrument(skip_all, err)]
    pub async fn own_profile(&self, session: &AuthSession) -> Result<OwnProfile, IdentityError> {
        let id = person_of(session)?;
        let row = repo::person_by_id(self.db.conn(), id)
            .await?
            .ok_or(IdentityError::Unauthenticated)?;
        let rid = self.pii.open(PiiField::ResidentId, &row.resident_id_enc)?;
        let mobile = self.pii.open(PiiField::Mobile, &row.mobile_enc)?;
        Ok(OwnProfile {
            person: row.person,
            resident_id: ResidentId::parse(&rid)
                .map_err(|e| IdentityError::Corrupt(e.to_string()))?,
            mobile: Mobile::parse(&mobile).map_err(|e| IdentityError::Corrupt(e.to_string()))?,
        })
    }

    /// Change the password after checking the current one; every other session is ended.
    #[tracing::instrument(skip_all, err)]
    pub async fn change_password(
        &self,
        session: &AuthSession,
        current: &str,
        new: &str,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<(), IdentityError> {
        let profile = self.own_profile(session).await?;
        let row = repo::person_by_id(self.db.conn(), profile.person.id)
            .await?
            .ok_or(IdentityError::Unauthenticated)?;
        if !verify_off_thread(current, row.password_hash.clone()).await {
            // Counted like a failed log-in, so a stolen session cannot guess the password forever.
            let now = self.clock.now();
            let tx = self.db.begin().await?;
            let locked = repo::record_failed_login(
                &tx,
                Account::Person(row.person.id),
                self.policy.max_failures,
                now + self.policy.lockout,
                now,
            )
            .await?;
            tx.commit().await.map_err(yiwang_db::DbError::from)?;
            if let Some(until) = locked {
                return Err(IdentityError::LockedOut { until });
            }
            return Err(IdentityError::Invalid {
                field: "current_password",
                code: "current_password_wrong",
                message: "the current password is wrong".to_owned(),
            });
        }
        password::check_rules(
            new,
            &[profile.resident_id.as_str(), profile.mobile.as_str()],
        )
        .map_err(|p| IdentityError::Invalid {
            field: "new_password",
            code: p.code(),
            message: p.message(),
        })?;
        let hash = password::hash(new, self.cost, rng).await?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        repo::set_password(&tx, profile.person.id, &hash, now).await?;
        let ended = repo::revoke_sessions(
            &tx,
            "person",
            profile.person.id.get(),
            RevokeWhich::AllBut(&session.token_hash),
            now,
        )
        .await?;
        let tokens = repo::credentials::revoke_all_tokens(&tx, profile.person.id, now).await?;
        let actor = format!("person:{}", profile.person.public_id);
        audit::append(
            &tx,
            now,
            &AuditEvent::new(&actor, "person.password_change", &actor, &meta.ip)
                .detail(json!({ "other_sessions_ended": ended, "tokens_revoked": tokens })),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(())
    }

    async fn actor(
        &self,
        tx: &yiwang_db::DatabaseTransaction,
        account: Account,
    ) -> Result<String, IdentityError> {
        match account {
            Account::Person(id) => {
                let row = repo::person_by_id(tx, id)
                    .await?
                    .ok_or(IdentityError::Unauthenticated)?;
                Ok(format!("person:{}", row.person.public_id))
            }
            Account::Staff(id) => {
                let staff = repo::staff::staff_by_id(tx, id)
                    .await?
                    .ok_or(IdentityError::Unauthenticated)?;
                Ok(format!("staff:{}", staff.public_id))
            }
        }
    }
}

/// Check a password on a blocking thread: argon2 is deliberately slow and must not stall the runtime.
pub(crate) async fn verify_off_thread(password: &str, stored: String) -> bool {
    password::verify(password, stored).await
}

/// The person behind a session; staff sessions are refused (they have no personal profile here).
pub fn person_of(session: &AuthSession) -> Result<PersonId, IdentityError> {
    match session.account {
        Account::Person(id) => Ok(id),
        Account::Staff(_) => Err(IdentityError::Forbidden),
    }
}

/// Turn parse problems into the error the API reports (the first problem).
pub fn first_problem(errors: &[FieldError]) -> IdentityError {
    errors
        .first()
        .map_or(IdentityError::Forbidden, |e| IdentityError::Invalid {
            field: e.field,
            code: e.code,
            message: e.message.clone(),
        })
}

fn truncate(text: &str, max: usize) -> String {
    text.chars().take(max).collect()
}
