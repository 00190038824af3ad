//! Notification tests: the outbox jobs (sealed in the caller's transaction, opened and rendered by the
//! worker) and email over SMTP against a local sink. Database tests run on SQLite and (when configured)
//! PostgreSQL.
#![expect(clippy::unwrap_used, reason = "tests fail loudly")]

mod outbox;
mod smtp;

use chrono::{TimeZone, Utc};
use yiwang_kernel::TestClock;
use yiwang_kernel::crypto::Sm4Key;
use yiwang_notify::MessageSeal;

const MOBILE_A: &str = "13800138000";

fn test_clock() -> TestClock {
    TestClock::new(Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap())
}

/// Seals as the server's PII protector does (SM4-GCM with a purpose label), with a fixed test key.
#[derive(Debug)]
struct TestSeal(Sm4Key);

impl MessageSeal for TestSeal {
    fn seal_text(&self, text: &str, rng: &mut impl rand::CryptoRng) -> String {
        hex::encode(self.0.encrypt_with_aad(text.as_bytes(), b"message", rng))
    }

    fn open_text(&self, sealed: &str) -> Result<String, String> {
        let bytes = hex::decode(sealed).map_err(|e| e.to_string())?;
        let plain = self
            .0
            .decrypt_with_aad(&bytes, b"message")
            .map_err(|_| "does not decrypt".to_owned())?;
        String::from_utf8(plain).map_err(|e| e.to_string())
    }
}

fn test_pii() -> TestSeal {
    TestSeal(Sm4Key::from_bytes(*b"0123456789abcdef"))
}
