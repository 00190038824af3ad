//! Abuse limits on the web edge, on the shared limiter of `yiwang_db::limits`: every node on one
//! database counts together, so a second node does not double what an address may do.
//!
//! Each [`Scope`] has its own [`Rule`] (configurable, defaults documented on [`LimitRules`]). A caller
//! over a limit gets 429 with `Retry-After` and a message in their language ([`AppError::Throttled`]).
//! Log-ins and progress queries count only failures (guessing is what is slowed down); tickets,
//! registrations and uploads count every attempt.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
pub use yiwang_db::limits::Rule;
use yiwang_db::limits::{Decision, Limiter, MemoryLimiter};

use yiwang_identity::policy::Principal;

use crate::error::AppError;

/// What is being limited; the name is the limiter's scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Failed log-ins per address (on top of the per-account delay in identity).
    Login,
    /// Registrations per address.
    Register,
    /// Registration codes asked for per address (each is an SMS; identity also caps codes per number).
    RegisterCode,
    /// Queue tickets from the kiosk API per address (or device).
    Ticket,
    /// Failed progress queries (case number + query code) per address, page and API alike.
    Progress,
    /// Uploads per address.
    UploadAddress,
    /// Uploads per account.
    UploadAccount,
    /// Public licence verifications (page and API) per address: anonymous reads that each check a
    /// signature and query the revocations.
    Verify,
    /// Answers to public surveys per address (one per browser is kept by a cookie; this bounds
    /// how fast cookies can be thrown away).
    Survey,
}

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Scope::Login => "login",
            Scope::Register => "register",
            Scope::RegisterCode => "register_code",
            Scope::Ticket => "ticket",
            Scope::Progress => "progress",
            Scope::UploadAddress => "upload_address",
            Scope::UploadAccount => "upload_account",
            Scope::Verify => "verify",
            Scope::Survey => "survey",
        }
    }
}

/// The rule of each scope. Defaults: 20 failed log-ins per address per 15 minutes; 10 registrations
/// per address per hour and 10 registration codes (SMS) per address per hour; 30 tickets per address per 10 minutes; 20 failed progress queries per address
/// per 15 minutes; 60 uploads per address and 30 per account per 10 minutes; 120 licence
/// verifications per address per minute; 30 public survey answers per address per 10 minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LimitRules {
    pub login: Rule,
    pub register: Rule,
    pub register_code: Rule,
    pub ticket: Rule,
    pub progress: Rule,
    pub upload_address: Rule,
    pub upload_account: Rule,
    pub verify: Rule,
    pub survey: Rule,
}

impl Default for LimitRules {
    fn default() -> Self {
        Self {
            login: Rule::new(20, 15 * 60),
            register: Rule::new(10, 60 * 60),
            register_code: Rule::new(10, 60 * 60),
            ticket: Rule::new(30, 10 * 60),
            progress: Rule::new(20, 15 * 60),
            upload_address: Rule::new(60, 10 * 60),
            upload_account: Rule::new(30, 10 * 60),
            verify: Rule::new(120, 60),
            survey: Rule::new(30, 10 * 60),
        }
    }
}

impl LimitRules {
    pub fn rule(&self, scope: Scope) -> Rule {
        match scope {
            Scope::Login => self.login,
            Scope::Register => self.register,
            Scope::RegisterCode => self.register_code,
            Scope::Ticket => self.ticket,
            Scope::Progress => self.progress,
            Scope::UploadAddress => self.upload_address,
            Scope::UploadAccount => self.upload_account,
            Scope::Verify => self.verify,
            Scope::Survey => self.survey,
        }
    }
}

/// The limiter and its rules, held by the application state.
#[derive(Debug, Clone)]
pub struct Throttles {
    limiter: Arc<dyn Limiter>,
    rules: LimitRules,
}

impl Default for Throttles {
    /// In one process's memory: for tests and tools; the server passes the database limiter.
    fn default() -> Self {
        Self::new(Arc::new(MemoryLimiter::new()), LimitRules::default())
    }
}

impl Throttles {
    pub fn new(limiter: Arc<dyn Limiter>, rules: LimitRules) -> Self {
        Self { limiter, rules }
    }

    pub fn rules(&self) -> &LimitRules {
        &self.rules
    }

    /// Count an attempt; 429 when it is over the scope's limit.
    pub async fn hit(&self, scope: Scope, key: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        let decision = self
            .limiter
            .hit(scope.name(), key, self.rules.rule(scope), now)
            .await?;
        refuse(decision, now)
    }

    /// Refuse (429) when the key has used up its attempts, without counting this one.
    pub async fn check(&self, scope: Scope, key: &str, now: DateTime<Utc>) -> Result<(), AppError> {
        let decision = self
            .limiter
            .peek(scope.name(), key, self.rules.rule(scope), now)
            .await?;
        refuse(decision, now)
    }

    /// Count a failure (log-in, progress guess) that [`Throttles::check`] will see.
    pub async fn record_failure(
        &self,
        scope: Scope,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<(), AppError> {
        self.limiter
            .hit(scope.name(), key, self.rules.rule(scope), now)
            .await?;
        Ok(())
    }
}

/// Count a queue ticket against the address, or against the device's account when the machine
/// logs in (a kiosk credential); staff at the desk are not limited.
pub async fn guard_ticket(
    state: &crate::state::AppState,
    address: &str,
    principal: &Principal,
) -> Result<(), AppError> {
    let key = match principal {
        Principal::Staff(_) => return Ok(()),
        Principal::Person(id) => format!("person:{id}"),
        _ => address.to_owned(),
    };
    state
        .throttles()
        .hit(Scope::Ticket, &key, state.clock().now())
        .await
}

/// Count a request for a registration code (an SMS) against the address.
pub async fn guard_register_code(
    state: &crate::state::AppState,
    address: &str,
) -> Result<(), AppError> {
    state
        .throttles()
        .hit(Scope::RegisterCode, address, state.clock().now())
        .await
}

/// Count a registration against the address.
pub async fn guard_register(state: &crate::state::AppState, address: &str) -> Result<(), AppError> {
    state
        .throttles()
        .hit(Scope::Register, address, state.clock().now())
        .await
}

/// Count an upload against the address and, for a logged-in caller, the account.
pub async fn guard_upload(
    state: &crate::state::AppState,
    address: &str,
    principal: &Principal,
) -> Result<(), AppError> {
    let now = state.clock().now();
    state
        .throttles()
        .hit(Scope::UploadAddress, address, now)
        .await?;
    let account = match principal {
        Principal::Person(id) => format!("person:{id}"),
        Principal::Staff(staff) => format!("staff:{}", staff.public_id),
        _ => return Ok(()),
    };
    state
        .throttles()
        .hit(Scope::UploadAccount, &account, now)
        .await
}

/// Count a page form's files as an upload (a form saved without files is not one).
pub async fn guard_form_upload(
    state: &crate::state::AppState,
    address: &str,
    principal: &Principal,
    form: &crate::upload::MultiUpload,
) -> Result<(), AppError> {
    if form.files.is_empty() {
        return Ok(());
    }
    guard_upload(state, address, principal).await
}

/// Count a public licence verification against the address.
pub async fn guard_verify(state: &crate::state::AppState, address: &str) -> Result<(), AppError> {
    state
        .throttles()
        .hit(Scope::Verify, address, state.clock().now())
        .await
}

/// Count an answer to a public survey against the address.
pub async fn guard_survey(state: &crate::state::AppState, address: &str) -> Result<(), AppError> {
    state
        .throttles()
        .hit(Scope::Survey, address, state.clock().now())
        .await
}

fn refuse(decision: Decision, now: DateTime<Utc>) -> Result<(), AppError> {
    match decision {
        Decision::Allowed => Ok(()),
        Decision::Limited { retry_after_secs } => Err(AppError::Throttled {
            until: now + Duration::seconds(i64::try_from(retry_after_secs).unwrap_or(i64::MAX / 2)),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[tokio::test]
    async fn refuses_over_the_limit_until_the_window_ends() {
        let throttles = Throttles::new(
            Arc::new(MemoryLimiter::new()),
            LimitRules {
                register: Rule::new(2, 600),
                ..LimitRules::default()
            },
        );
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap();
        throttles
            .hit(Scope::Register, "10.0.0.1", t0)
            .await
            .unwrap();
        throttles
            .hit(Scope::Register, "10.0.0.1", t0)
            .await
            .unwrap();
        match throttles.hit(Scope::Register, "10.0.0.1", t0).await {
            Err(AppError::Throttled { until }) => assert_eq!(until, t0 + Duration::minutes(10)),
            other => panic!("expected a refusal, got {other:?}"),
        }
        throttles
            .hit(Scope::Register, "10.0.0.2", t0)
            .await
            .unwrap();
        throttles
            .hit(Scope::Register, "10.0.0.1", t0 + Duration::minutes(10))
            .await
            .unwrap();
    }
}
