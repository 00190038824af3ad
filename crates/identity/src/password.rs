//! Passwords: argon2id hashes in PHC form and the rules a new password must meet.

use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::CryptoRng;

use crate::IdentityError;

/// argon2id cost. The default follows OWASP's recommendation (19 MiB, 2 passes); tests use a cheap one.
#[derive(Debug, Clone, Copy)]
pub struct PasswordCost {
    pub memory_kib: u32,
    pub iterations: u32,
}

impl Default for PasswordCost {
    fn default() -> Self {
        Self {
            memory_kib: 19 * 1024,
            iterations: 2,
        }
    }
}

impl PasswordCost {
    /// Fast enough for test suites; never use in production.
    pub const TEST: PasswordCost = PasswordCost {
        memory_kib: 256,
        iterations: 1,
    };

    fn hasher(self) -> Result<Argon2<'static>, IdentityError> {
        let params = Params::new(self.memory_kib, self.iterations, 1, None)
            .map_err(|e| IdentityError::Config(format!("password cost: {e}")))?;
        Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
    }
}

pub const MIN_LEN: usize = 8;
pub const MAX_LEN: usize = 64;

/// Why a new password is refused; the codes are message keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordProblem {
    TooShort,
    TooLong,
    TooSimple,
    ContainsIdentifier,
}

impl PasswordProblem {
    pub fn code(self) -> &'static str {
        match self {
            PasswordProblem::TooShort => "password_too_short",
            PasswordProblem::TooLong => "password_too_long",
            PasswordProblem::TooSimple => "password_too_simple",
            PasswordProblem::ContainsIdentifier => "password_contains_identifier",
        }
    }

    pub fn message(self) -> String {
        match self {
            PasswordProblem::TooShort => {
                format!("the password must have at least {MIN_LEN} characters")
            }
            PasswordProblem::TooLong => {
                format!("the password must have at most {MAX_LEN} characters")
            }
            PasswordProblem::TooSimple => {
                "the password must mix at least two of: letters, digits, other characters"
                    .to_owned()
            }
            PasswordProblem::ContainsIdentifier => {
                "the password must not contain your ID number or mobile number".to_owned()
            }
        }
    }
}

/// Check a new password against the rules; `identifiers` are values it must not contain.
pub fn check_rules(password: &str, identifiers: &[&str]) -> Result<(), PasswordProblem> {
    let len = password.chars().count();
    if len < MIN_LEN {
        return Err(PasswordProblem::TooShort);
    }
    if len > MAX_LEN {
        return Err(PasswordProblem::TooLong);
    }
    let letters = password.chars().any(char::is_alphabetic);
    let digits = password.chars().any(|c| c.is_ascii_digit());
    let others = password.chars().any(|c| !c.is_alphanumeric());
    if [letters, digits, others].iter().filter(|b| **b).count() < 2 {
        return Err(PasswordProblem::TooSimple);
    }
    // Any six consecutive characters of an identifier count (birth dates, phone tails).
    let lower = password.to_lowercase();
    let contains_part = |id: &str| {
        let chars: Vec<char> = id.to_lowercase().chars().collect();
        chars
            .windows(6)
            .any(|w| lower.contains(&w.iter().collect::<String>()))
    };
    if identifiers.iter().any(|id| contains_part(id)) {
        return Err(PasswordProblem::ContainsIdentifier);
    }
    Ok(())
}

/// Hash a password (argon2id, random 16-byte salt) on a blocking thread: argon2 is slow on purpose and
/// must not stall the async runtime's workers. The salt is drawn here, so the caller's generator stays on
/// the caller's thread.
pub async fn hash(
    password: &str,
    cost: PasswordCost,
    rng: &mut impl CryptoRng,
) -> Result<String, IdentityError> {
    let mut salt = [0_u8; 16];
    rng.fill_bytes(&mut salt);
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || hash_with_salt(&password, cost, &salt))
        .await
        .map_err(|e| IdentityError::Config(format!("password hashing did not finish: {e}")))?
}

fn hash_with_salt(
    password: &str,
    cost: PasswordCost,
    salt: &[u8],
) -> Result<String, IdentityError> {
    let hash = cost
        .hasher()?
        .hash_password_with_salt(password.as_bytes(), salt)
        .map_err(|e| IdentityError::Config(format!("password hashing failed: {e}")))?;
    Ok(hash.to_string())
}

/// A stored-hash look-alike at the given cost, checked against when a log-in names no account so that the
/// answer takes as long as for a real one. Verifying runs argon2 with its parameters and can match no
/// password; it is written out rather than computed, so building it costs nothing on any thread.
pub fn dummy_hash(cost: PasswordCost) -> Result<String, IdentityError> {
    // Validates the cost the same way a real hash would.
    cost.hasher()?;
    // Salt: "yiwang-dummy-salt"; output: 32 zero bytes (base64 without padding, as PHC strings are).
    let dummy = format!(
        "$argon2id$v=19$m={},t={},p=1$eWl3YW5nLWR1bW15LXNhbHQ${}",
        cost.memory_kib,
        cost.iterations,
        "A".repeat(43)
    );
    PasswordHash::new(&dummy)
        .map_err(|e| IdentityError::Config(format!("dummy password hash: {e}")))?;
    Ok(dummy)
}

/// Whether a password matches a stored hash (its own parameters are used), checked on a blocking
/// thread like [`hash`].
pub async fn verify(password: &str, stored: String) -> bool {
    let password = password.to_owned();
    tokio::task::spawn_blocking(move || verify_now(&password, &stored))
        .await
        .unwrap_or(false)
}

fn verify_now(password: &str, stored: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(stored) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn rules_say_what_is_wrong() {
        assert_eq!(check_rules("a1b2c3", &[]), Err(PasswordProblem::TooShort));
        assert_eq!(
            check_rules(&"a1".repeat(40), &[]),
            Err(PasswordProblem::TooLong)
        );
        assert_eq!(
            check_rules("abcdefghij", &[]),
            Err(PasswordProblem::TooSimple)
        );
        assert_eq!(
            check_rules("1234567890", &[]),
            Err(PasswordProblem::TooSimple)
        );
        assert_eq!(
            check_rules("gov19491231x", &["11010519491231002X"]),
            Err(PasswordProblem::ContainsIdentifier)
        );
        assert_eq!(
            check_rules("pw-138001380", &["13800138000"]),
            Err(PasswordProblem::ContainsIdentifier)
        );
        assert_eq!(check_rules("康巴什2026办事", &["13800138000"]), Ok(()));
        assert_eq!(
            check_rules("Yiwang#2026", &["11010519491231002X", "13800138000"]),
            Ok(())
        );
    }

    #[tokio::test]
    async fn hashes_are_argon2id_and_verify() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(1);
        let stored = hash("Yiwang#2026", PasswordCost::TEST, &mut rng)
            .await
            .unwrap();
        assert!(stored.starts_with("$argon2id$v=19$"));
        assert!(verify("Yiwang#2026", stored.clone()).await);
        assert!(!verify("yiwang#2026", stored.clone()).await);
        assert!(!verify("Yiwang#2026", "not a hash".to_owned()).await);
        let again = hash("Yiwang#2026", PasswordCost::TEST, &mut rng)
            .await
            .unwrap();
        assert_ne!(stored, again, "salted");
    }

    #[test]
    fn the_dummy_hash_parses_at_the_given_cost_and_matches_nothing() {
        let dummy = dummy_hash(PasswordCost::TEST).unwrap();
        let parsed = PasswordHash::new(&dummy).unwrap();
        assert_eq!(parsed.algorithm.as_str(), "argon2id");
        let params = Params::try_from(&parsed).unwrap();
        assert_eq!(params.m_cost(), PasswordCost::TEST.memory_kib);
        assert_eq!(params.t_cost(), PasswordCost::TEST.iterations);
        assert_eq!(parsed.hash.map(|h| h.len()), Some(32));
        assert!(!verify_now("no such account", &dummy));
        assert!(!verify_now("", &dummy));
        let real = hash_with_salt("Yiwang#2026", PasswordCost::TEST, b"yiwang-dummy-salt").unwrap();
        assert_eq!(
            real.rsplit_once('$').map(|(head, _)| head.to_owned()),
            dummy.rsplit_once('$').map(|(head, _)| head.to_owned()),
            "same algorithm, version, parameters and salt as a real hash"
        );
    }
}
