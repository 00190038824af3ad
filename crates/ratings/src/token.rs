//! SMS rating links: a signed token per event and person with an expiry, checked without a log-in.
//!
//! `r1.<event kind>.<event id>.<person id>.<expiry, unix seconds>.<HMAC-SM3 hex>` where the MAC is
//! over `yiwang-rating-link/1\n<kind>\n<event id>\n<person id>\n<expiry>` under the configured key.
//! The token is used once: its SM3 hash is stored with the rating it produced
//! (`rating_used_tokens`), so a second use is refused even within its period.

use chrono::{DateTime, Utc};
use yiwang_identity::model::PersonId;
use yiwang_kernel::{hmac_sm3, sm3_hex};

use crate::RatingError;
use crate::model::{EventKind, EventRef};

const PREFIX: &str = "r1";
/// Longest token text looked at; anything longer is refused unread.
pub const MAX_TOKEN_CHARS: usize = 200;

/// What a valid token says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkClaims {
    pub event: EventRef,
    pub person: PersonId,
    pub expires_at: DateTime<Utc>,
}

fn statement(event: EventRef, person: PersonId, expires: i64) -> String {
    format!(
        "yiwang-rating-link/1\n{}\n{}\n{}\n{expires}",
        event.kind.code(),
        event.id,
        person.get()
    )
}

fn mac(key: &[u8], text: &str) -> String {
    hex::encode(hmac_sm3(key, text.as_bytes()))
}

/// Signs a link for `person` to rate `event` until `expires_at`.
pub fn sign(key: &[u8], event: EventRef, person: PersonId, expires_at: DateTime<Utc>) -> String {
    let expires = expires_at.timestamp();
    let tag = mac(key, &statement(event, person, expires));
    format!(
        "{PREFIX}.{}.{}.{}.{expires}.{tag}",
        event.kind.code(),
        event.id,
        person.get()
    )
}

/// Checks a token's form, MAC (constant-time comparison) and expiry at `now`.
pub fn verify(key: &[u8], token: &str, now: DateTime<Utc>) -> Result<LinkClaims, RatingError> {
    if token.len() > MAX_TOKEN_CHARS {
        return Err(RatingError::TokenInvalid);
    }
    let parts: Vec<&str> = token.trim().split('.').collect();
    let [prefix, kind, id, person, expires, tag] = parts.as_slice() else {
        return Err(RatingError::TokenInvalid);
    };
    if *prefix != PREFIX {
        return Err(RatingError::TokenInvalid);
    }
    let kind = EventKind::from_code(kind).ok_or(RatingError::TokenInvalid)?;
    let id: i64 = id.parse().map_err(|_| RatingError::TokenInvalid)?;
    let person = PersonId::new(person.parse().map_err(|_| RatingError::TokenInvalid)?);
    let expires: i64 = expires.parse().map_err(|_| RatingError::TokenInvalid)?;
    let event = EventRef { kind, id };
    let expected = mac(key, &statement(event, person, expires));
    let same = expected.len() == tag.len()
        && expected
            .bytes()
            .zip(tag.bytes())
            .fold(0_u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        return Err(RatingError::TokenInvalid);
    }
    let expires_at = DateTime::from_timestamp(expires, 0).ok_or(RatingError::TokenInvalid)?;
    if now > expires_at {
        return Err(RatingError::TokenExpired);
    }
    Ok(LinkClaims {
        event,
        person,
        expires_at,
    })
}

/// The stored form of a used token.
pub fn token_hash(token: &str) -> String {
    sm3_hex(token.trim().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use yiwang_kernel::ErrorCode as _;

    #[test]
    fn signs_verifies_and_refuses_changes() {
        let key = b"0123456789abcdef0123456789abcdef";
        let now = Utc.with_ymd_and_hms(2026, 3, 2, 2, 0, 0).single().unwrap();
        let event = EventRef {
            kind: EventKind::Case,
            id: 42,
        };
        let token = sign(key, event, PersonId::new(7), now + Duration::days(7));
        let claims = verify(key, &token, now).unwrap();
        assert_eq!((claims.event, claims.person), (event, PersonId::new(7)));
        // Every single-character change is refused.
        for (i, c) in token.char_indices() {
            let replacement = if c == '1' { '2' } else { '1' };
            let mut changed = token.clone();
            changed.replace_range(i..i + c.len_utf8(), &replacement.to_string());
            assert!(verify(key, &changed, now).is_err(), "{changed}");
        }
        assert_eq!(
            verify(b"another key", &token, now).unwrap_err().code(),
            "rating_token_invalid"
        );
        assert_eq!(
            verify(key, &token, now + Duration::days(8))
                .unwrap_err()
                .code(),
            "rating_token_expired"
        );
        assert!(verify(key, "", now).is_err());
        assert!(verify(key, &"x".repeat(500), now).is_err());
    }
}
