//! API tokens for a person's machine clients: named, scoped, optionally expiring, revocable.
//!
//! The secret (`ywt_` + 64 hex digits) is shown once when the token is created; only its SM3 hash is
//! stored. A token acts for its person only within its scopes, and only while it is neither revoked nor
//! expired and the person's account is active.

use std::fmt;

use chrono::{DateTime, Duration, Utc};
use rand::CryptoRng;
use serde::Serialize;
use serde_json::json;
use yiwang_db::Db;
use yiwang_db::audit::{self, AuditEvent};
use yiwang_kernel::SharedClock;

use crate::IdentityError;
use crate::model::{Account, AuthSession, ClientMeta, PersonId};
use crate::repo::{self, credentials};
use crate::service::account::random_hex;

/// The prefix that tells an API token from a session token.
pub const TOKEN_PREFIX: &str = "ywt_";
/// Live tokens a person may hold at once.
pub const MAX_LIVE_TOKENS: i64 = 20;
/// Longest token name, in characters.
pub const MAX_NAME_CHARS: usize = 60;

/// What a token may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum Scope {
    /// Read the person's own profile (`GET /api/v1/me`).
    #[serde(rename = "profile:read")]
    ProfileRead,
    /// List the person's sessions (`GET /api/v1/me/sessions`).
    #[serde(rename = "sessions:read")]
    SessionsRead,
}

impl Scope {
    pub const ALL: [Scope; 2] = [Scope::ProfileRead, Scope::SessionsRead];

    pub fn as_str(self) -> &'static str {
        match self {
            Scope::ProfileRead => "profile:read",
            Scope::SessionsRead => "sessions:read",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Scope::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

/// A request to create a token, as submitted.
#[derive(Debug, Clone, Default)]
pub struct RawNewToken {
    pub name: String,
    pub scopes: Vec<String>,
    /// Days until it expires (1–365); `None` for a token that lasts until revoked.
    pub expires_in_days: Option<i64>,
}

/// A token request, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub name: String,
    /// Sorted, without duplicates, never empty.
    pub scopes: Vec<Scope>,
    pub expires_in_days: Option<i64>,
}

impl NewToken {
    pub fn parse(raw: &RawNewToken) -> Result<Self, IdentityError> {
        let name = raw.name.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() || name.chars().count() > MAX_NAME_CHARS {
            return Err(IdentityError::Invalid {
                field: "name",
                code: "token_name_invalid",
                message: format!("the name must have 1 to {MAX_NAME_CHARS} characters"),
            });
        }
        if name.chars().any(char::is_control) {
            return Err(IdentityError::Invalid {
                field: "name",
                code: "token_name_invalid",
                message: "the name must not contain control characters".to_owned(),
            });
        }
        let mut scopes = Vec::with_capacity(raw.scopes.len());
        for text in &raw.scopes {
            let scope = Scope::parse(text.trim()).ok_or_else(|| IdentityError::Invalid {
                field: "scopes",
                code: "token_scope_unknown",
                message: format!(
                    "unknown scope {text:?}; known scopes: {}",
                    Scope::ALL.map(Scope::as_str).join(", ")
                ),
            })?;
            scopes.push(scope);
        }
        scopes.sort_unstable();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(IdentityError::Invalid {
                field: "scopes",
                code: "token_scopes_empty",
                message: "choose at least one scope".to_owned(),
            });
        }
        if let Some(days) = raw.expires_in_days
            && !(1..=365).contains(&days)
        {
            return Err(IdentityError::Invalid {
                field: "expires_in_days",
                code: "token_expiry_invalid",
                message: "the expiry must be from 1 to 365 days".to_owned(),
            });
        }
        Ok(Self {
            name,
            scopes,
            expires_in_days: raw.expires_in_days,
        })
    }
}

/// A token as its owner sees it in a list (never the secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub scopes: Vec<Scope>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

/// A new token: its description and the secret, shown this once.
#[derive(Clone)]
pub struct CreatedToken {
    pub info: TokenInfo,
    pub secret: String,
}

impl fmt::Debug for CreatedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedToken")
            .field("info", &self.info)
            .finish_non_exhaustive()
    }
}

/// Who an authenticated token acts for, and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenAuth {
    pub person: PersonId,
    /// The token's public id.
    pub token_id: String,
    pub scopes: Vec<Scope>,
    /// The SM3 hash of the secret.
    pub token_hash: String,
}

impl TokenAuth {
    pub fn allows(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }
}

/// API tokens, built once by the server.
#[derive(Clone)]
pub struct ApiTokens {
    db: Db,
    clock: SharedClock,
}

impl fmt::Debug for ApiTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiTokens").finish_non_exhaustive()
    }
}

fn person_of(session: &AuthSession) -> Result<PersonId, IdentityError> {
    match session.account {
        Account::Person(id) => Ok(id),
        // Staff act through their sessions only.
        Account::Staff(_) => Err(IdentityError::Forbidden),
    }
}

fn scopes_text(scopes: &[Scope]) -> String {
    scopes
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

fn parse_scopes(text: &str) -> Result<Vec<Scope>, IdentityError> {
    text.split_whitespace()
        .map(|s| {
            Scope::parse(s).ok_or_else(|| IdentityError::Corrupt(format!("token scope {s:?}")))
        })
        .collect()
}

fn info_of(row: credentials::TokenRow) -> Result<TokenInfo, IdentityError> {
    Ok(TokenInfo {
        scopes: parse_scopes(&row.scopes)?,
        id: row.public_id,
        name: row.name,
        created_at: row.created_at,
        expires_at: row.expires_at,
        last_used_at: row.last_used_at,
        revoked_at: row.revoked_at,
    })
}

/// Whether text has the shape of an API token (`ywt_` + 64 hex digits).
pub fn looks_like_token(text: &str) -> bool {
    text.strip_prefix(TOKEN_PREFIX)
        .is_some_and(|hex| hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
}

impl ApiTokens {
    pub fn new(db: Db, clock: SharedClock) -> Self {
        Self { db, clock }
    }

    /// Create a token for the session's person.
    #[tracing::instrument(skip_all, err)]
    pub async fn create(
        &self,
        session: &AuthSession,
        request: &NewToken,
        meta: &ClientMeta,
        rng: &mut (impl CryptoRng + Send),
    ) -> Result<CreatedToken, IdentityError> {
        let person = person_of(session)?;
        let now = self.clock.now();
        let secret = format!("{TOKEN_PREFIX}{}", random_hex(rng, 32));
        let public_id = random_hex(rng, 8);
        let expires_at = request.expires_in_days.map(|d| now + Duration::days(d));
        let scopes = scopes_text(&request.scopes);
        let tx = self.db.begin().await?;
        if credentials::live_token_count(&tx, person, now).await? >= MAX_LIVE_TOKENS {
            return Err(IdentityError::Invalid {
                field: "name",
                code: "token_limit_reached",
                message: format!(
                    "you already have {MAX_LIVE_TOKENS} active tokens; revoke one first"
                ),
            });
        }
        credentials::insert_token(
            &tx,
            &credentials::NewTokenRow {
                public_id: &public_id,
                token_hash: &yiwang_kernel::crypto::sm3_hex(secret.as_bytes()),
                person,
                name: &request.name,
                scopes: &scopes,
                expires_at,
            },
            now,
        )
        .await?;
        let actor = actor(&tx, person).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                &actor,
                "token.create",
                format!("token:{public_id}"),
                &meta.ip,
            )
            .detail(json!({
                "name": request.name,
                "scopes": scopes,
                "expires_at": expires_at.map(yiwang_db::ts),
            })),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(CreatedToken {
            info: TokenInfo {
                id: public_id,
                name: request.name.clone(),
                scopes: request.scopes.clone(),
                created_at: now,
                expires_at,
                last_used_at: None,
                revoked_at: None,
            },
            secret,
        })
    }

    /// The session's person's tokens, newest first.
    #[tracing::instrument(skip_all, err)]
    pub async fn list(&self, session: &AuthSession) -> Result<Vec<TokenInfo>, IdentityError> {
        let person = person_of(session)?;
        credentials::person_tokens(self.db.conn(), person)
            .await?
            .into_iter()
            .map(info_of)
            .collect()
    }

    /// Revoke one of the session's person's tokens. Another person's token id is "not found".
    #[tracing::instrument(skip_all, err)]
    pub async fn revoke(
        &self,
        session: &AuthSession,
        token_id: &str,
        meta: &ClientMeta,
    ) -> Result<(), IdentityError> {
        let person = person_of(session)?;
        let now = self.clock.now();
        let tx = self.db.begin().await?;
        if !credentials::revoke_token(&tx, person, token_id, now).await? {
            return Err(IdentityError::Invalid {
                field: "id",
                code: "token_not_found",
                message: "no such active token of yours".to_owned(),
            });
        }
        let actor = actor(&tx, person).await?;
        audit::append(
            &tx,
            now,
            &AuditEvent::new(
                &actor,
                "token.revoke",
                format!("token:{token_id}"),
                &meta.ip,
            ),
        )
        .await?;
        tx.commit().await.map_err(yiwang_db::DbError::from)?;
        Ok(())
    }

    /// The person and scopes of a live token; records its use. Anything else is `Unauthenticated`.
    #[tracing::instrument(skip_all, err)]
    pub async fn authenticate(&self, secret: &str) -> Result<TokenAuth, IdentityError> {
        if !looks_like_token(secret) {
            return Err(IdentityError::Unauthenticated);
        }
        let hash = yiwang_kernel::crypto::sm3_hex(secret.as_bytes());
        let found = credentials::touch_token(self.db.conn(), &hash, self.clock.now()).await?;
        let Some((person, token_id, scopes)) = found else {
            return Err(IdentityError::Unauthenticated);
        };
        Ok(TokenAuth {
            person,
            token_id,
            scopes: parse_scopes(&scopes)?,
            token_hash: hash,
        })
    }
}

async fn actor(
    tx: &yiwang_db::DatabaseTransaction,
    person: PersonId,
) -> Result<String, IdentityError> {
    let row = repo::person_by_id(tx, person)
        .await?
        .ok_or(IdentityError::Unauthenticated)?;
    Ok(format!("person:{}", row.person.public_id))
}
